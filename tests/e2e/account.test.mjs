// End-to-end: the real Régie window (built binary, WebKitGTK) under Xvfb, driven by WebDriver.
// On an empty database the user signs in and loads the demo; a paying student's account then
// shows the same figures as the CLI computes from the same file.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App, cli, french, squash } from './app.mjs';

let app;
before(async () => {
  app = await App.start();
});
after(async () => app?.stop());

test('an empty database offers the demo, and a demo account shows the ledger figures', async () => {
  const s = app.s;
  await app.signIn('Claire Comptable');
  await s.click(await s.waitFor('[data-testid="load-demo"]'));
  await s.waitFor('[data-testid="student-row"]', 30000);

  // Pick, with the CLI on the same file, a student who has paid part of a schedule.
  const students = cli(app.db, 'students', 'list');
  const paying = students.find((st) => Number(st.balance) > 0 && st.session);
  assert.ok(paying, 'the demo has a student with something left to pay');
  const expected = cli(app.db, 'account', paying.number);
  assert.ok(expected.payments.length > 0 && expected.invoices.length > 0);

  await s.type(await s.find('[data-testid="student-search"]'), paying.number);
  // The search narrows the list to that one student; a click opens the account.
  await s.waitForCount('[data-testid="student-row"]', 1);
  await s.click(await s.waitFor(`[data-testid="student-row"][data-key="${paying.number}"] td`));

  await s.waitFor('[data-testid="account"]');
  const name = await s.waitForText('[data-testid="account-name"]', (t) => t.includes(paying.number));
  assert.match(squash(name), new RegExp(paying.last_name));
  const balance = await s.waitForText('[data-testid="summary-balance"]', (t) => t.trim().length > 0);
  assert.equal(squash(balance), squash(french(expected.summary.balance)));
  assert.equal(squash(await s.text(await s.find('[data-testid="summary-debit"]'))), squash(french(expected.summary.debit)));
  assert.equal(squash(await s.text(await s.find('[data-testid="summary-position"]'))), 'Débiteur');
  const invoiceRows = await s.findAll('[data-testid="table-invoices"] tbody tr');
  assert.equal(invoiceRows.length, expected.invoices.length);
  const tableText = squash(await s.text(await s.find('[data-testid="table-invoices"]')));
  assert.ok(tableText.includes(expected.invoices[0].number), tableText);

  // The position as the portal shows it: payments with what came back ("Impayé"), totals under
  // each table, the position as an amount.
  const payments = squash(await s.text(await s.find('[data-testid="table-payments"]')));
  assert.ok(payments.includes('Impayé'), payments);
  const totals = squash(await s.text(await s.find('[data-testid="table-payments-totals"]')));
  assert.ok(totals.startsWith('Total') && totals.includes(squash(french(expected.totals.payments_amount))), totals);
  const invoicesTotals = squash(await s.text(await s.find('[data-testid="table-invoices-totals"]')));
  assert.ok(invoicesTotals.includes(squash(french(expected.totals.invoices_incl_vat))), invoicesTotals);
  assert.equal(squash(await s.text(await s.find('[data-testid="summary-position-amount"]'))), squash(french(expected.summary.balance)));

  // The demo was loaded under the signed-in name.
  await app.screenshot('account.png');
});
