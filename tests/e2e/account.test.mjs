// End-to-end: the real Régie window (built binary, WebKitGTK) under Xvfb, driven by WebDriver.
// An empty database offers the demo; loading it and opening a paying student's account shows
// the same figures as the CLI computes from the same file.
//
// Needs: REGIE_DESKTOP (the built app), REGIE_CLI (the regie binary), TAURI_DRIVER, a DISPLAY.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from './webdriver.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, 'out');
const port = 4444 + Math.floor(Math.random() * 200) * 2;
const base = `http://127.0.0.1:${port}`;
const need = (name) => {
  const v = process.env[name];
  assert.ok(v, `${name} must be set`);
  return v;
};

let driver;
let session;
const db = join(mkdtempSync(join(tmpdir(), 'regie-e2e-')), 'regie.sqlite');

/** The French display of a machine amount ("-1630.50" -> "-1 630,50 €"), spaces normalized. */
function french(amount) {
  const [int, frac] = amount.replace('-', '').split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return `${amount.startsWith('-') ? '-' : ''}${grouped},${frac} €`;
}
const squash = (s) => s.replace(/[\s\u00a0\u202f]+/g, ' ').trim();

before(async () => {
  mkdirSync(outDir, { recursive: true });
  driver = spawn(need('TAURI_DRIVER'), ['--port', String(port), '--native-port', String(port + 1)], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const end = Date.now() + 20000;
  for (;;) {
    try {
      await fetch(`${base}/status`);
      break;
    } catch {
      if (Date.now() > end) throw new Error('tauri-driver did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  session = await Session.start(base, need('REGIE_DESKTOP'), ['--db', db]);
});

after(async () => {
  if (session) {
    try {
      await session.end();
    } catch {
      // the window may already be gone
    }
  }
  driver?.kill();
});

test('an empty database offers the demo, and a demo account shows the ledger figures', async () => {
  const load = await session.waitFor('[data-testid="load-demo"]');
  await session.click(load);
  await session.waitFor('[data-testid="student-row"]', 30000);

  // Pick, with the CLI on the same file, a student who has paid part of a schedule.
  const cli = need('REGIE_CLI');
  const students = JSON.parse(execFileSync(cli, ['--db', db, 'students', 'list', '--json'], { encoding: 'utf8' }));
  const paying = students.find((s) => Number(s.balance) > 0 && s.session);
  assert.ok(paying, 'the demo has a student with something left to pay');
  const expected = JSON.parse(execFileSync(cli, ['--db', db, 'account', paying.number, '--json'], { encoding: 'utf8' }));
  assert.ok(expected.payments.length > 0 && expected.invoices.length > 0);

  const search = await session.find('[data-testid="student-search"]');
  await session.type(search, paying.number);
  // The search narrows the list to that one student; a click opens the account.
  await session.waitForCount('[data-testid="student-row"]', 1);
  const cell = await session.waitFor(`[data-testid="student-row"][data-key="${paying.number}"] td`);
  await session.click(cell);

  await session.waitFor('[data-testid="account"]');
  const name = await session.waitForText('[data-testid="account-name"]', (t) => t.includes(paying.number));
  assert.match(squash(name), new RegExp(paying.last_name));
  const balance = await session.waitForText('[data-testid="summary-balance"]', (t) => t.trim().length > 0);
  assert.equal(squash(balance), squash(french(expected.summary.balance)));
  assert.equal(squash(await session.text(await session.find('[data-testid="summary-debit"]'))), squash(french(expected.summary.debit)));
  assert.equal(squash(await session.text(await session.find('[data-testid="summary-position"]'))), 'Débiteur');
  const invoiceRows = await session.findAll('[data-testid="table-invoices"] tbody tr');
  assert.equal(invoiceRows.length, expected.invoices.length);
  const tableText = squash(await session.text(await session.find('[data-testid="table-invoices"]')));
  assert.ok(tableText.includes(expected.invoices[0].number), tableText);

  writeFileSync(join(outDir, 'account.png'), await session.screenshot());
});
