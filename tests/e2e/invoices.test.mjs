// End-to-end: documents in the real window. Open the invoices, render one to PDF, see the file
// written (a real PDF), and print a student's account statement from the account screen.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { App, cli, key } from './app.mjs';

let app;
before(async () => {
  app = await App.start((db) => cli(db, 'demo', '--students', '80'));
});
after(async () => app?.stop());


test('render an invoice and a statement to PDF files', async () => {
  const s = app.s;
  const invoices = cli(app.db, 'invoices', 'list');
  assert.ok(invoices.length > 0);
  await app.signIn('Claire Comptable');
  await s.click(await s.waitFor('[data-testid="nav-factures"]'));
  await s.waitFor('[data-testid="invoice-row"]');
  const firstKey = await s.attribute(await s.find('[data-testid="invoice-row"]'), 'data-key');
  assert.equal(firstKey, invoices[0].number);
  await s.click(await s.find('[data-testid="invoice-row"] td:nth-child(2)'));
  const preview = await s.waitForText('[data-testid="invoice-preview"]', (t) => t.includes(invoices[0].number));
  assert.ok(preview.includes('Non soumis à la TVA'), preview);
  await key(s, 'p');
  const notice = await s.waitForText('[data-testid="invoice-notice"]', (t) => t.includes('PDF écrit dans'));
  const file = notice.split('PDF écrit dans ')[1].trim();
  assert.ok(file.endsWith(`${invoices[0].number}.pdf`), file);
  assert.equal(readFileSync(file).subarray(0, 4).toString(), '%PDF');
  await app.screenshot('invoices.png');

  // The account screen prints the statement.
  await s.go(`#/comptes/${invoices[0].student_number}`);
  await s.click(await s.waitFor('[data-testid="print-statement"]'));
  const printed = await s.waitForText('[data-testid="statement-file"]', (t) => t.includes('écrite dans'));
  const statement = printed.split('écrite dans ')[1].trim();
  assert.equal(readFileSync(statement).subarray(0, 4).toString(), '%PDF');
});
