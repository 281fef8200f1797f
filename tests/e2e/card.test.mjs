// End-to-end: the card channel in the real window. Import the gateway's export in Cartes (a debit
// refused by the student's bank), see the refused transaction with its reason, find the
// installment in Relances, run the reminders and find the letter written. Then the demo's
// statement before its gateway export: the remittance lines wait in Banque until Cartes imports
// the export, which ties them.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { App, cli, key, rowText } from './app.mjs';

let app;
before(async () => {
  app = await App.start((db) => cli(db, 'demo', '--students', '200'));
});
after(async () => app?.stop());

const today = new Date();
const fr = (d) => `${String(d.getDate()).padStart(2, '0')}/${String(d.getMonth() + 1).padStart(2, '0')}/${d.getFullYear()}`;

test('a refused debit from the gateway export is reminded in Relances', async () => {
  const s = app.s;
  // A student paying by card (an invoice of several installments) with one still open, which
  // the demo's reminders run did not remind (a debit charged back before it, for instance).
  let target = null;
  const reminded = new Set(cli(app.db, 'dunning', 'list').filter((e) => e.level !== 'none').map((e) => `${e.invoice}-${e.installment}`));
  for (const st of cli(app.db, 'students', 'list').filter((x) => Number(x.balance) > 0)) {
    const pos = cli(app.db, 'account', st.number);
    const lines = pos.schedule.filter((l) => l.status !== 'cancelled');
    const open = lines.findIndex((l) => Number(l.left_to_pay) > 0 && l.status !== 'refused');
    if (open > 0 && pos.payments.every((p) => p.method === 'card') && !reminded.has(`${lines[open].invoice_number}-${open + 1}`)) {
      target = { st, line: lines[open], n: open + 1 };
      break;
    }
  }
  assert.ok(target, 'the demo has a card payer with an open installment');
  const amount = target.line.left_to_pay.replace('.', ',');
  const csv = [
    'Date;Heure;Numéro de transaction;Référence commande;Montant;Devise;Type;Statut;Code réponse;Type de carte;E-mail',
    `${fr(today)};06:00:00;E2E-0001;${target.line.invoice_number}-${target.n};${amount};EUR;Débit;Refusé;00151;CB;${target.st.email}`,
  ].join('\r\n');
  const file = join(mkdtempSync(join(tmpdir(), 'regie-e2e-card-')), 'paybox.csv');
  writeFileSync(file, Buffer.from(csv, 'latin1'));

  await app.signIn('Claire Comptable');
  await s.waitFor('[data-testid="nav-cartes"]');
  await key(s, 'g');
  await key(s, 't');
  await s.type(await s.waitFor('[data-testid="card-file"]'), file);
  const preview = await s.waitForText('[data-testid="card-preview"]', (t) => t.includes('transaction(s) à importer'));
  assert.ok(preview.includes('1 transaction(s)'), preview);
  await s.click(await s.find('[data-testid="card-import"]'));
  const summary = await s.waitForText('[data-testid="card-summary"]', (t) => t.includes('1 nouvelle'));
  assert.ok(summary.includes('1 refusée'), summary);
  await s.waitForText('[data-testid="card-row"][data-key="E2E-0001"]', (t) => t.length > 0);
  const row = await rowText(s, '[data-testid="card-row"][data-key="E2E-0001"]');
  assert.ok(row.includes('Refusée : provision insuffisante') && row.includes(target.st.number), row);
  // Every column fits the window, the remittance last; what the row came with is in its detail.
  const overflow = await s.execute(() => {
    const t = document.querySelector('[data-testid="card-transactions"]');
    return t.getBoundingClientRect().right - t.parentElement.getBoundingClientRect().right;
  });
  assert.ok(overflow <= 1, `the transactions overflow their box by ${overflow} px`);
  await s.click(await s.find('[data-testid="card-row"][data-key="E2E-0001"] td'));
  const detail = await s.waitForText('[data-testid="card-detail"]', (t) => t.includes('E2E-0001'));
  for (const part of [`${fr(today)} à 06:00:00`, `référence ${target.line.invoice_number}-${target.n}`, target.st.email, 'code 00151']) {
    assert.ok(detail.includes(part), `${part}: ${detail}`);
  }
  await app.screenshot('cards.png');

  // The remittances come a page at a time (20), the latest first; one clicked shows its
  // transactions alone.
  const range = await s.waitForText('[data-testid="remittances-pager-range"]', (t) => /^(1–20 sur \d+|\d+ ligne\(s\))$/.test(t));
  const remittances = await s.findAll('[data-testid="remittance-row"]');
  assert.ok(remittances.length === Math.min(20, Number(range.match(/\d+/g).at(-1))), range);
  const total = await s.text(await s.find('[data-testid="card-count"]'));
  const number = await s.execute(() => document.querySelector('[data-testid="remittance-row"]').dataset.key);
  assert.match(number, /^\d+$/);
  await s.execute(() => document.querySelector('[data-testid="remittance-row"]').scrollIntoView({ block: 'center' }));
  await s.click(await s.find('[data-testid="remittance-row"] td'));
  const filtered = await s.waitForText('[data-testid="card-count"]', (t) => t !== total);
  const shown = await s.findAll('[data-testid="card-row"]');
  assert.ok(shown.length > 0 && shown.length === Number(filtered.split(' ')[0]), filtered);
  for (const r of shown) assert.ok((await s.text(r)).includes(number), `${number}: ${await s.text(r)}`);

  // Relances: the installment is there, refused, to be reminded now.
  await key(s, 'g');
  await key(s, 'l');
  const key_ = `${target.line.invoice_number}-${target.n}`;
  await s.waitForText(`[data-testid="dunning-row"][data-key="${key_}"]`, (t) => t.length > 0);
  const line = await rowText(s, `[data-testid="dunning-row"][data-key="${key_}"]`);
  assert.ok(line.includes('prélèvement refusé : provision insuffisante'), line);
  // As of a year ago nothing of this year was overdue; back to today, the refusal is there again.
  const setAsOf = (iso) =>
    s.execute(
      `const i = document.querySelector('[data-testid="dunning-as-of"]'); i.value = arguments[0];
       i.dispatchEvent(new Event('input', { bubbles: true })); i.dispatchEvent(new Event('change', { bubbles: true }));`,
      [iso.split('-').reverse().join('/')],
    );
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  const yearAgo = new Date(today.getFullYear() - 1, today.getMonth(), today.getDate());
  await setAsOf(iso(yearAgo));
  const earlier = await s.waitForText('.run', (t) => t.includes(`au ${fr(yearAgo)}`));
  assert.ok(earlier.startsWith('0 échéance'), earlier);
  await s.waitForCount('[data-testid="dunning-row"]', 0);
  await setAsOf(iso(today));
  await s.waitForText(`[data-testid="dunning-row"][data-key="${key_}"]`, (t) => t.length > 0);
  await s.waitForText('.run', (t) => t.includes("aujourd'hui"));
  // The demo's office sent its reminders on the eve of the last debit day: those still unpaid
  // show that first reminder, and two weeks after it are due the second.
  const sent = cli(app.db, 'dunning', 'list').filter((e) => e.level === 'first');
  assert.ok(sent.length > 0, 'the demo reminded some installments still unpaid');
  const [first] = sent;
  const sentKey = `${first.invoice}-${first.installment}`;
  const sentOn = first.reminded_on.split('-').reverse().join('/');
  const due = first.next_level === 'second';
  const before = await rowText(s, `[data-testid="dunning-row"][data-key="${sentKey}"]`);
  assert.ok(before.includes(due ? `1er rappel (${sentOn}) → 2e rappel` : `1er rappel (${sentOn})`) && (due || !before.includes('→')), before);
  await s.click(await s.find('[data-testid="dunning-run"]'));
  const result = await s.waitForText('[data-testid="dunning-result"]', (t) => t.includes('lettre'));
  const pdf = result.split('fichiers : ')[1].split(', ').find((f) => f.endsWith('.pdf'));
  assert.ok(pdf && existsSync(pdf), result);
  // A first run sends the first reminder, however late, and the list says when.
  await s.waitForText(`[data-testid="dunning-row"][data-key="${key_}"]`, (t) => t.includes(`1er rappel (${fr(today)})`));
  const sentAfter = due ? `2e rappel (${fr(today)})` : `1er rappel (${sentOn})`;
  await s.waitForText(`[data-testid="dunning-row"][data-key="${sentKey}"]`, (t) => t.includes(sentAfter));
  await app.screenshot('reminders.png');
  const after = cli(app.db, 'dunning', 'list').find((e) => e.invoice === target.line.invoice_number && e.installment === target.n);
  assert.ok(after.level === 'first' && after.level === after.next_level, `the run raised it: ${JSON.stringify(after)}`);
  assert.equal(after.reminded_on, iso(today));
});

test("the statement's remittance lines, imported before the gateway's export, are tied by it", async () => {
  const s = app.s;
  const files = join(dirname(app.db), 'demo-files');
  await key(s, 'g');
  await key(s, 'b');
  await s.type(await s.waitFor('[data-testid="statement-file"]'), join(files, 'releve-a-importer.csv'));
  await s.waitForText('[data-testid="statement-preview"]', (t) => t.includes('ligne(s) à importer'));
  await s.click(await s.find('[data-testid="statement-import"]'));
  await s.waitForText('[data-testid="import-summary"]', (t) => t.length > 0);
  const waiting = cli(app.db, 'statements', 'lines', '--status', 'unmatched').filter((l) => l.label.startsWith('REMISE CB'));
  assert.ok(waiting.length > 0, "the demo's statement credits remittances of the export still to import");
  const unmatched = Number((await s.text(await s.find('[data-testid="count-unmatched"]'))).match(/\d+$/)[0]);
  assert.ok(unmatched >= waiting.length, `${unmatched} unmatched shown`);

  await key(s, 'g');
  await key(s, 't');
  await s.type(await s.waitFor('[data-testid="card-file"]'), join(files, 'paybox-a-importer.csv'));
  await s.waitForText('[data-testid="card-preview"]', (t) => t.includes('transaction(s) à importer'));
  await s.click(await s.find('[data-testid="card-import"]'));
  const summary = await s.waitForText('[data-testid="card-summary"]', (t) => t.includes('paybox-a-importer.csv'));
  assert.ok(summary.includes(`${waiting.length} ligne(s) de remise du relevé rapprochée(s)`), summary);

  await key(s, 'g');
  await key(s, 'b');
  await s.waitForText('[data-testid="count-unmatched"]', (t) => t.endsWith(` ${unmatched - waiting.length}`));
  const tied = cli(app.db, 'statements', 'lines').filter((l) => waiting.some((w) => w.id === l.id));
  assert.ok(tied.every((l) => l.status === 'matched' && l.remittance && !l.student_number), JSON.stringify(tied));
});
