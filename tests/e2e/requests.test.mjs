// End-to-end: the review queue in the real window. Filter the pending 6-installment requests,
// run the automatic review, see those at or below the threshold rejected, approve another
// request from the keyboard, and find its invoice and schedule in the student's account.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { App, cli, key, need } from './app.mjs';

let app;
before(async () => {
  app = await App.start((db) => cli(db, 'demo', '--students', '300'));
});
after(async () => app?.stop());


async function choose(s, selectId, value) {
  await s.click(await s.find(`[data-testid="${selectId}"] option[value="${value}"]`));
}

test('automatic review, then a keyboard approval that shows in the account', async () => {
  const s = app.s;
  await app.signIn('Claire Comptable');
  await s.click(await s.waitFor('[data-testid="nav-demandes"]'));
  await s.waitFor('[data-testid="request-row"]');

  const before = cli(app.db, 'requests', 'list', '--status', 'pending');
  const settings = cli(app.db, 'settings', 'list');
  const threshold = (school) => Number(settings.find((x) => x.school === school).six_threshold);
  const low = before.filter((r) => r.plan === 'six' && Number(r.amount) <= threshold(r.school));
  assert.ok(low.length > 0, 'the demo has six-installment requests at or below the threshold');

  // Pending six-installment requests only.
  await choose(s, 'filter-plan', 'six');
  const sixShown = before.filter((r) => r.plan === 'six').length;
  await s.waitForText('[data-testid="requests-count"]', (t) => t.startsWith(`${sixShown} demande`));

  // The preview says what would happen; applying it rejects exactly the low ones.
  await s.click(await s.find('[data-testid="auto-review"]'));
  const preview = await s.waitForText('[data-testid="auto-review-preview"]', (t) => t.length > 0);
  assert.ok(preview.includes(`${low.length} demande(s)`), preview);
  await s.click(await s.find('[data-testid="auto-review-run"]'));
  await s.waitForText('[data-testid="notice"]', (t) => t.includes(`${low.length} demande(s) en 6 fois`));
  await s.waitForText('[data-testid="requests-count"]', (t) => t.startsWith(`${sixShown - low.length} demande`));
  await app.screenshot('requests.png');

  const after = cli(app.db, 'requests', 'list');
  const stillLow = after.filter((r) => r.status === 'pending' && r.plan === 'six' && Number(r.amount) <= threshold(r.school));
  assert.equal(stillLow.length, 0, 'no pending six at or below the threshold');
  const rejected = after.filter((r) => r.status === 'rejected');
  assert.deepEqual(rejected.map((r) => r.id).sort((a, b) => a - b), low.map((r) => r.id).sort((a, b) => a - b));
  assert.ok(rejected.every((r) => r.reason.includes('Paiement en 6 fois')));

  // The rejected ones, listed together.
  await choose(s, 'filter-status', 'rejected');
  await s.waitForText('[data-testid="requests-count"]', (t) => t.startsWith(`${low.length} demande`));

  // Back to the pending ones of every plan: take the first one that is clean, approve it with `a`.
  await choose(s, 'filter-status', 'pending');
  await choose(s, 'filter-plan', '');
  await s.waitFor('[data-testid="request-row"]');
  // One that no blocking finding stops ("ne sera pas validée" asks for an override reason).
  const clean = after.find((r) => r.status === 'pending' && r.amount !== '0.00' && r.plan !== 'transfer' && r.findings.every((f) => f.severity !== 'blocking'));
  assert.ok(clean, 'the demo has pending requests without blocking findings');
  const row = await s.waitFor(`[data-testid="request-row"][data-key="${clean.id}"] td:nth-child(2)`);
  await s.click(row); // selects the row and moves the focus off the filters
  const rowKey = await s.attribute(await s.find('[data-testid="request-row"].selected'), 'data-key');
  const chosen = after.find((r) => r.id === Number(rowKey));
  assert.ok(chosen && chosen.status === 'pending');
  await s.waitForText('[data-testid="request-detail"]', (t) => t.includes(chosen.student_number));
  // What the portal declared beyond the situation, as the checks read it.
  await s.waitForText('[data-testid="declared"]', (t) => t.includes('Extra-communautaire'));
  await key(s, 'a');
  const notice = await s.waitForText('[data-testid="notice"]', (t) => t.includes('acceptée'));
  const invoice = chosen.amount === '0.00' ? null : notice.match(/F\d{4}-\d{5}/)?.[0];

  const decided = cli(app.db, 'requests', 'list').find((r) => r.id === chosen.id);
  assert.equal(decided.status, 'approved');

  // Its student's account shows the new invoice and its schedule.
  await key(s, 'g');
  await key(s, 'c');
  await s.type(await s.waitFor('[data-testid="student-search"]'), chosen.student_number);
  await s.waitForCount('[data-testid="student-row"]', 1);
  await s.click(await s.find(`[data-testid="student-row"][data-key="${chosen.student_number}"] td`));
  await s.waitFor('[data-testid="account"]');
  if (invoice) {
    await s.waitForText('[data-testid="table-invoices"]', (t) => t.includes(invoice));
    const position = cli(app.db, 'account', chosen.student_number);
    const scheduleRows = await s.findAll('[data-testid="table-schedule"] tbody tr');
    assert.equal(scheduleRows.length, position.schedule.length);
    assert.ok(position.schedule.length >= 1);
  }
  await app.screenshot('requests-account.png');

  // The student then asks for another plan: the accountant changes it in the window, with a
  // reason; the rest of the invoice is re-planned from today on the same invoice.
  const target = chosen.plan === 'one' ? 'three' : 'one';
  await key(s, 'g');
  await key(s, 'd');
  await choose(s, 'filter-status', 'approved');
  await s.click(await s.waitFor(`[data-testid="request-row"][data-key="${chosen.id}"] td:nth-child(2)`));
  await s.waitForText('[data-testid="request-detail"]', (t) => t.includes(chosen.student_number));
  await s.click(await s.waitFor(`[data-testid="change-plan-${target}"]`));
  await s.type(await s.waitFor('[data-testid="reason"]'), "l'étudiant préfère un autre échéancier");
  await s.click(await s.find('[data-testid="reason-ok"]'));
  await s.waitForText('[data-testid="notice"]', (t) => t.includes('réorganisée'));
  const replanned = cli(app.db, 'requests', 'list').find((r) => r.id === chosen.id);
  assert.equal(replanned.plan, target);
  assert.equal(replanned.status, 'approved');
  const account = cli(app.db, 'account', chosen.student_number);
  assert.equal(account.invoices.length, 1, 'the same invoice');
  assert.equal(account.summary.balance, chosen.amount, 'nothing paid: all of it still due');
  const left = account.schedule.reduce((sum, l) => sum + Math.round(Number(l.left_to_pay) * 100), 0);
  assert.equal(left, Math.round(Number(chosen.amount) * 100));
});

test('another desk decided first: the window says who, and changes nothing', async () => {
  const s = app.s;
  await key(s, 'g');
  await key(s, 'd');
  await choose(s, 'filter-status', 'pending');
  await choose(s, 'filter-plan', '');
  const pending = cli(app.db, 'requests', 'list', '--status', 'pending');
  const clean = pending.find((r) => r.amount !== '0.00' && r.plan !== 'transfer' && r.findings.every((f) => f.severity !== 'blocking'));
  assert.ok(clean, 'a pending request without blocking findings');
  await s.click(await s.waitFor(`[data-testid="request-row"][data-key="${clean.id}"] td:nth-child(2)`));
  await s.waitForText('[data-testid="request-detail"]', (t) => t.includes(clean.student_number));
  // Meanwhile, on another desktop sharing the file, Paul rejects it.
  execFileSync(need('REGIE_CLI'), ['--db', app.db, '--user', 'paul', 'requests', 'reject', String(clean.id), '--reason', 'doublon']);
  const invoicesBefore = cli(app.db, 'invoices', 'list').length;
  await key(s, 'a');
  const notice = await s.waitForText('[data-testid="notice"]', (t) => t.includes('conflit'));
  assert.ok(notice.startsWith('0 demande(s) acceptée(s)'), notice);
  assert.ok(notice.includes(`demande ${clean.id} déjà refusée par paul le `), notice);
  // The list shows it as it now is: no longer pending.
  await s.waitForCount(`[data-testid="request-row"][data-key="${clean.id}"]`, 0);
  const now = cli(app.db, 'requests', 'list').find((r) => r.id === clean.id);
  assert.equal(now.status, 'rejected');
  assert.equal(now.reason, 'doublon');
  assert.equal(cli(app.db, 'invoices', 'list').length, invoicesBefore, 'no invoice issued');
  await app.screenshot('requests-conflict.png');
});
