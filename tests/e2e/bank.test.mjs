// End-to-end: a bank statement in the real window. Import a French `;` CSV through the import
// wizard, see the clear transfer matched and the unclear one waiting with its suggestion, accept
// it from the keyboard, and find the payment in the student's account position.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, cli, key, french, squash } from './app.mjs';

let app;
before(async () => {
  app = await App.start((db) => cli(db, 'demo', '--students', '300'));
});
after(async () => app?.stop());


const iso = (d) => d.toISOString().slice(0, 10);
const fr = (isoDate) => isoDate.split('-').reverse().join('/');

test('import a statement, accept a suggestion with the keyboard, see the payment', async () => {
  const s = app.s;
  // Two students with something left to pay and last names no other student who owes has
  // (only those with open installments are candidates for a transfer).
  const students = cli(app.db, 'students', 'list').filter((x) => Number(x.balance) > 0);
  const sameName = (st) => students.filter((o) => o.last_name === st.last_name).length;
  const owing = [];
  for (const st of students.filter((x) => sameName(x) === 1)) {
    const pos = cli(app.db, 'account', st.number);
    const next = pos.schedule.find((l) => l.status !== 'cancelled' && Number(l.left_to_pay) > 0);
    if (next) owing.push({ st, next });
    if (owing.length === 2) break;
  }
  assert.equal(owing.length, 2, 'the demo has students with open installments');
  // The demo's own statement (transfers, card remittances) is already reconciled.
  const matchedBefore = cli(app.db, 'statements', 'lines', '--status', 'matched').length;
  const [unclear, clear] = owing;
  // The unclear one: only the last name, 40 days off the due date -> to review, with a suggestion.
  const far = new Date(unclear.next.due_date);
  far.setDate(far.getDate() - 40);
  const near = new Date(clear.next.due_date);
  near.setDate(near.getDate() + 2);
  const csv = [
    'Relevé de compte courant;;;',
    'CLERMONT AUVERGNE INP;;;',
    'Date;Libellé;Débit;Crédit',
    `${fr(iso(far))};VIR SEPA RECU /DE ${unclear.st.last_name};;${unclear.next.left_to_pay.replace('.', ',')}`,
    `${fr(iso(near))};VIR SEPA RECU /DE ${clear.st.last_name} ${clear.st.first_name} /MOTIF ${clear.st.school} F.I;;${clear.next.left_to_pay.replace('.', ',')}`,
    `${fr(iso(near))};FRAIS BANCAIRES;4,50;`,
  ].join('\r\n');
  const file = join(mkdtempSync(join(tmpdir(), 'regie-e2e-bank-')), 'releve.csv');
  writeFileSync(file, Buffer.from(csv, 'latin1'));

  await app.signIn('Claire Comptable');
  await s.waitFor('[data-testid="nav-banque"]');
  await key(s, 'g');
  await key(s, 'b');
  await s.type(await s.waitFor('[data-testid="statement-file"]'), file);
  const preview = await s.waitForText('[data-testid="statement-preview"]', (t) => t.includes('ligne(s) à importer'));
  assert.ok(preview.includes('3 ligne(s)'), preview);
  await s.click(await s.find('[data-testid="statement-import"]'));
  const summary = await s.waitForText('[data-testid="import-summary"]', (t) => t.length > 0);
  assert.ok(summary.includes('3 nouvelle(s)') && summary.includes('1 rapprochée(s) automatiquement') && summary.includes('1 à examiner'), summary);

  // The line to review is selected; its suggestion names the student with its reasons.
  const suggestion = await s.waitForText('[data-testid="suggestion"]', (t) => t.includes(unclear.st.number));
  assert.match(suggestion, /nom \d\/\d/);
  await s.click(await s.find('[data-testid="line-row"] td'));
  await key(s, 'y');
  await s.waitForText('[data-testid="bank-notice"]', (t) => t.includes(unclear.st.number));
  await s.waitForText('[data-testid="count-matched"]', (t) => t.includes(String(matchedBefore + 2)));
  await app.screenshot('bank.png');

  // The payment is in the student's account.
  await key(s, 'g');
  await key(s, 'c');
  await s.type(await s.waitFor('[data-testid="student-search"]'), unclear.st.number);
  await s.waitForCount('[data-testid="student-row"]', 1);
  await s.click(await s.find(`[data-testid="student-row"][data-key="${unclear.st.number}"] td`));
  const payments = await s.waitForText('[data-testid="table-payments"]', (t) => t.includes(`/DE ${unclear.st.last_name}`));
  assert.ok(squash(payments).includes(squash(french(unclear.next.left_to_pay))), payments);
});
