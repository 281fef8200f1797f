// The office server in the window: on the start screen a finance manager chooses the office's
// PostgreSQL server and signs in with his own login; the window then shows the server's students
// (not the local file's) and his role from the database, and his decisions are logged under it.
// Needs REGIE_TEST_POSTGRES (postgres://user:password@host:port), set by scripts/test.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, cli, need } from './app.mjs';

const base = need('REGIE_TEST_POSTGRES').replace(/\/$/, '');
const name = `e2e_office_${process.pid}`;
const db = `${base}/${name}`;
const login = `marc_${process.pid}`;
const password = 'mot de passe: à l’épreuve@1';
// The address as an office gives it: no user, no password in it.
const address = `postgres://${base.split('@')[1]}/${name}`;

let app;
before(async () => {
  execFileSync('psql', [`${base}/postgres`, '-q', '-c', `CREATE DATABASE ${name}`]);
  cli(db, 'server', 'setup');
  execFileSync(need('REGIE_CLI'), ['--db', db, 'users', 'add', login, '--role', 'finance_manager', '--json'], {
    input: `${password}\n`,
  });
  cli(db, 'demo', '--students', '60');
  app = await App.start();
});
after(async () => app?.stop());

test('a finance manager signs in to the office server with his own login', async () => {
  const s = app.s;
  await s.click(await s.waitFor('[data-testid="where-office"]'));
  await s.type(await s.waitFor('[data-testid="server-url"]'), address);
  await s.type(await s.find('[data-testid="server-login"]'), login);
  await s.type(await s.find('[data-testid="server-password"]'), 'pas le bon');
  await s.click(await s.find('[data-testid="server-connect"]'));
  const refused = await s.waitForText('[data-testid="error"]', (t) => t.length > 0);
  assert.ok(!refused.includes(password), refused);
  // The field was emptied: the password is kept nowhere, not even on the screen.
  await s.type(await s.find('[data-testid="server-password"]'), password);
  await s.click(await s.find('[data-testid="server-connect"]'));
  const who = await s.waitForText('[data-testid="user"]', (t) => t.includes(login));
  assert.ok(who.includes('responsable financier'), who);
  const where = await s.waitForText('[data-testid="db-path"]', (t) => t.includes(name));
  assert.ok(!where.includes('mot'), `no password shown: ${where}`);
  const server = cli(db, 'students', 'list');
  await s.waitForCount('[data-testid="student-row"]', server.length);
  assert.equal(cli(app.db, 'students', 'list').length, 0, 'the local file was not touched');
  await app.screenshot('office-server.png');

  // Another desk imports a registration on the server: this window's list shows it by itself.
  const file = join(mkdtempSync(join(tmpdir(), 'regie-e2e-office-')), 'inscriptions.csv');
  const year = server[0].session.slice(1, 5);
  writeFileSync(
    file,
    Buffer.from(
      `numero;nom;prenom;email;ecole;formation;annee;situation;echeancier;date_demande\r\n` +
        `29999999;Nouvelle;Inès;ines@etu.uca.fr;ISIMA;P${year}_ISI_1A;1;01;3;01/09/20${year.slice(0, 2)}\r\n`,
      'latin1',
    ),
  );
  const t0 = Date.now();
  cli(db, 'import-registrations', file);
  await s.waitForCount('[data-testid="student-row"]', server.length + 1, 5000);
  console.log(`# the other desk's import appeared after ${Date.now() - t0} ms`);
  await s.waitForText('[data-testid="student-row"][data-key="29999999"]', (t) => t.includes('Nouvelle'));
});
