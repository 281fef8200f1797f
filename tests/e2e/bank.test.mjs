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
  // Plain ASCII names: the line search below folds what is typed, not the stored labels.
  for (const st of students.filter((x) => sameName(x) === 1 && /^[A-Za-z' -]+$/.test(x.last_name))) {
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

  // The matched line names its student.
  await s.click(await s.find('[data-testid="count-matched"]'));
  await s.type(await s.find('[data-testid="line-search"]'), `/DE ${unclear.st.last_name}`);
  await s.waitForCount('[data-testid="line-row"]', 1);
  // Clipped cells (label, student) carry their whole text as a title; WebKit's driver reads none.
  const cells = await s.findAll('[data-testid="line-row"] td.clip');
  const titles = await Promise.all(cells.map((c) => s.attribute(c, 'title')));
  assert.deepEqual(titles.slice(1), [`${unclear.st.last_name} ${unclear.st.first_name}`], titles.join(' | '));

  // The bank's own format: a CAMT.053 file is recognised from its content and needs no mapping.
  const camt = `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt><Id>S</Id>
<Ntry><Amt Ccy="EUR">12.34</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>${iso(near)}</Dt></BookgDt><AddtlNtryInf>FRAIS TENUE DE COMPTE</AddtlNtryInf></Ntry>
</Stmt></BkToCstmrStmt></Document>`;
  const xml = join(mkdtempSync(join(tmpdir(), 'regie-e2e-camt-')), 'releve-banque.xml');
  writeFileSync(xml, camt);
  await s.type(await s.find('[data-testid="statement-file"]'), xml);
  const camtPreview = await s.waitForText('[data-testid="statement-preview"]', (t) => t.includes('CAMT.053'));
  assert.ok(camtPreview.includes('1 ligne(s) à importer') && camtPreview.includes('FRAIS TENUE DE COMPTE'), camtPreview);
  await s.click(await s.find('[data-testid="statement-import"]'));
  const camtSummary = await s.waitForText('[data-testid="import-summary"]', (t) => t.includes('releve-banque.xml (CAMT.053)'));
  assert.ok(camtSummary.includes('1 nouvelle(s)'), camtSummary);
  await app.screenshot('bank-camt.png');

  // Paramètres shows the day's backup, written as the app started.
  await key(s, 'g');
  await key(s, 'p');
  const today = new Date();
  const frToday = `${String(today.getDate()).padStart(2, '0')}/${String(today.getMonth() + 1).padStart(2, '0')}/${today.getFullYear()}`;
  const backup = await s.waitForText('[data-testid="last-backup"]', (t) => t.includes('Dernière sauvegarde'));
  assert.ok(backup.includes(`le ${frToday}`) && backup.includes('backups/regie-'), backup);
  await app.screenshot('settings-backup.png');

  // The payment is in the student's account.
  await key(s, 'g');
  await key(s, 'c');
  await s.type(await s.waitFor('[data-testid="student-search"]'), unclear.st.number);
  await s.waitForCount('[data-testid="student-row"]', 1);
  await s.click(await s.find(`[data-testid="student-row"][data-key="${unclear.st.number}"] td`));
  const payments = await s.waitForText('[data-testid="table-payments"]', (t) => t.includes(`/DE ${unclear.st.last_name}`));
  assert.ok(squash(payments).includes(squash(french(unclear.next.left_to_pay))), payments);

  // A match undone from the keyboard: the reason is asked in the page, not by a browser prompt;
  // Échap first leaves everything as it was.
  await key(s, 'g');
  await key(s, 'b');
  await s.click(await s.waitFor('[data-testid="count-matched"]'));
  await s.type(await s.find('[data-testid="line-search"]'), `/DE ${unclear.st.last_name}`);
  await s.waitForCount('[data-testid="line-row"]', 1);
  await s.click(await s.find('[data-testid="line-row"] td'));
  await key(s, 'u');
  await s.waitFor('[data-testid="reason"]');
  await key(s, '\uE00C');
  assert.equal((await s.findAll('[data-testid="reason-dialog"]')).length, 0, 'Échap cancels');
  await key(s, 'u');
  await s.type(await s.waitFor('[data-testid="reason"]'), "virement d'un homonyme");
  await s.click(await s.find('[data-testid="reason-ok"]'));
  await s.waitForText('[data-testid="bank-notice"]', (t) => t.includes('contre-passation'));
  const undone = cli(app.db, 'statements', 'lines').find((l) => l.label.includes(`/DE ${unclear.st.last_name}`) && l.status !== 'matched');
  assert.ok(undone, 'the line is to reconcile again');
});
