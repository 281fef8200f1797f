// End-to-end: the commission in the real window, signed in as a finance manager. Record a full
// exemption; see the credit note and the refund in the result, the dashboard and the account.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App, cli, french, squash } from './app.mjs';

let app;
before(async () => {
  app = await App.start((db) => {
    cli(db, 'demo', '--students', '300');
    cli(db, 'users', 'set-role', 'Fanny Finance', '--role', 'finance_manager');
  });
});
after(async () => app?.stop());

test('a finance manager records a full exemption and sees its consequences', async () => {
  const s = app.s;
  const candidates = cli(app.db, 'exemptions', 'list');
  // Someone who paid more than the standard fee: the exemption gives a credit note and a refund.
  const c = candidates.find((x) => Number(x.paid) > 700 && !x.outcome);
  assert.ok(c, 'the demo has a student who paid beyond the standard fee');

  await app.signIn('Fanny Finance');
  await s.click(await s.waitFor('[data-testid="nav-exonerations"]'));
  await s.click(await s.waitFor(`[data-testid="exemption-row"][data-key="${c.invoice_number}"] td`));
  await s.waitForText('[data-testid="decide"]', (t) => t.includes(c.student_number));
  await s.type(await s.find('[data-testid="outcome-ref"]'), 'CE-2025-09-042');
  await s.type(await s.find('[data-testid="outcome-iban"]'), 'FR76 1007 1630 0000 0010 0383 489');
  await s.click(await s.find('[data-testid="outcome-apply"]'));
  const result = await s.waitForText('[data-testid="outcome-result"]', (t) => t.includes('avoir'));
  const note = result.match(/A\d{4}-\d{5}/)?.[0];
  assert.ok(note, result);

  const position = cli(app.db, 'account', c.student_number);
  const credit = position.credit_notes.find((n) => n.number === note);
  assert.ok(credit, 'the credit note is in the ledger');
  assert.equal(position.refunds.length, 1);
  assert.equal(position.refunds[0].status, 'to_pay');
  // Until the refund is paid the school owes it: the student's account is in credit by that much.
  assert.equal(position.summary.balance, `-${position.refunds[0].amount}`, 'the refund still to pay is owed to the student');
  assert.equal(position.summary.position, 'creditor');
  // The dashboard's totals include it.
  const total = await s.waitForText('[data-testid="report-credit-notes"]', (t) => t.includes('€'));
  assert.equal(squash(total), squash(french(credit.amount)));
  assert.ok(result.includes('à payer'), result);
  assert.equal(squash(await s.text(await s.find('[data-testid="report-refunds-to-pay"]'))), squash(french(position.refunds[0].amount)));
  await s.waitForText('[data-testid="refunds"]', (t) => t.includes('FR76 1007 1630 0000 0010 0383 489') && t.includes('À payer'));
  await app.screenshot('exemptions.png');

  // And in the student's account position.
  await s.go(`#/comptes/${c.student_number}`);
  await s.waitForText('[data-testid="table-credit-notes"]', (t) => t.includes(note));
  await s.waitForText('[data-testid="table-refunds"]', (t) => t.includes('À payer'));

  // The finance manager marks the refund paid: the account is settled.
  await s.click(await s.waitFor('[data-testid="nav-exonerations"]'));
  await s.click(await s.waitFor('[data-testid="refund-pay"]'));
  await s.waitForText('[data-testid="refunds"]', (t) => t.includes('Payé'));
  const settled = cli(app.db, 'account', c.student_number);
  assert.equal(settled.summary.balance, '0.00', 'credit note and paid refund leave nothing owed either way');
  assert.equal(settled.refunds[0].status, 'paid');
});
