// End-to-end: a newcomer's first day, in the window only. On an empty database, import the
// portal's registrations: a file with one bad row is refused with its row and column, the fixed
// file is imported, and the requests wait in Demandes. Then Paramètres: a backup written, a
// decision taken after it, the backup restored with a confirmation (the decision gone, the file
// before it kept aside); the sign-in screen offers the profiles of the file; and an accountant's
// restore is refused with what to do.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, cli, squash } from './app.mjs';

let app;
before(async () => {
  app = await App.start();
});
after(async () => app?.stop());

const header = 'Numéro;Nom;Prénom;Email;Ecole;Formation;Année;Situation;Echéancier;Date demande';
const rows = [
  '22601001;Durand;Léa;lea.durand@etu.uca.fr;ISIMA;P2526_ISI_1A;1;01;3;05/09/2025',
  '22601002;Martin;Éloïse;eloise.martin@etu.uca.fr;POLYTECH;P2526_POL_2A;2;01;6;06/09/2025',
  '22601003;N\'Diaye;Moussa;moussa.ndiaye@etu.uca.fr;ISIMA;P2526_ISI_1A;1;01;1;07/09/2025',
];

test('import the portal\'s registrations from the window: a bad row refused, the fixed file imported', async () => {
  const s = app.s;
  const dir = mkdtempSync(join(tmpdir(), 'regie-e2e-firstday-'));
  const file = join(dir, 'inscriptions.csv');
  const bad = [...rows];
  bad[1] = bad[1].replace('eloise.martin@etu.uca.fr', 'eloise.martin');
  writeFileSync(file, [header, ...bad].join('\r\n') + '\r\n');

  await app.signIn('Claire Comptable');
  // The empty database offers the import first.
  await s.type(await s.waitFor('[data-testid="registrations-file"]'), file);
  const refused = await s.waitForText('[data-testid="registrations-errors"]', (t) => t.includes('ligne'));
  assert.ok(refused.includes('ligne 3, colonne « Email »'), refused);
  assert.ok(refused.includes('eloise.martin'), refused);
  assert.equal((await s.findAll('[data-testid="registrations-import"]')).length, 0, 'no import while a row is bad');
  await app.screenshot('firstday-refused.png');
  assert.equal(cli(app.db, 'students', 'list').length, 0, 'nothing written by the preview');

  // Fixed in the spreadsheet, chosen again.
  writeFileSync(file, [header, ...rows].join('\r\n') + '\r\n');
  await s.type(await s.find('[data-testid="registrations-file"]'), file);
  const preview = await s.waitForText('[data-testid="registrations-preview"]', (t) => t.includes('créera'));
  assert.ok(preview.includes('3 étudiant(s) et 3 demande(s)'), preview);
  await s.click(await s.waitFor('[data-testid="registrations-import"]'));

  // The requests wait in Demandes.
  await s.waitForText('[data-testid="requests-count"]', (t) => t.startsWith('3 demande'));
  await app.screenshot('firstday-imported.png');
  const pending = cli(app.db, 'requests', 'list', '--status', 'pending');
  assert.deepEqual(pending.map((r) => r.student_number).sort(), ['22601001', '22601002', '22601003']);
});

test('a backup restored from Paramètres, with a confirmation, takes out what was done since', async () => {
  const s = app.s;
  await s.click(await s.find('[data-testid="nav-parametres"]'));
  await s.click(await s.waitFor('[data-testid="backup-now"]'));
  const notice = await s.waitForText('[data-testid="backup-notice"]', (t) => t.includes('vérifiée'));
  assert.ok(notice.includes('backups'), notice);
  await s.waitForText('[data-testid="last-backup"]', (t) => t.includes('Dernière sauvegarde'));
  await s.waitForCount('[data-testid="backup-row"]', 1);

  // A decision after the backup.
  const [first] = cli(app.db, 'requests', 'list', '--status', 'pending');
  cli(app.db, 'requests', 'approve', String(first.id));
  assert.equal(cli(app.db, 'requests', 'list', '--status', 'pending').length, 2);

  await s.click(await s.find('[data-testid="restore"]'));
  const question = await s.waitForText('[data-testid="restore-confirm"]', (t) => t.includes('Restaurer la sauvegarde'));
  assert.ok(question.includes("n'y sera plus"), question);
  await app.screenshot('firstday-restore.png');
  // Cancelling changes nothing.
  await s.click(await s.find('[data-testid="restore-no"]'));
  assert.equal((await s.findAll('[data-testid="restore-confirm"]')).length, 0);
  assert.equal(cli(app.db, 'requests', 'list', '--status', 'pending').length, 2);

  await s.click(await s.find('[data-testid="restore"]'));
  await s.click(await s.waitFor('[data-testid="restore-yes"]'));
  const done = squash(await s.waitForText('[data-testid="backup-notice"]', (t) => t.includes('restaurée')));
  assert.ok(done.includes('avant-restauration'), done);
  assert.equal(cli(app.db, 'requests', 'list', '--status', 'pending').length, 3, 'the decision after the backup is gone');
  // The window goes on with the restored file.
  await s.click(await s.find('[data-testid="nav-demandes"]'));
  await s.waitForText('[data-testid="requests-count"]', (t) => t.startsWith('3 demande'));
});

test('the sign-in screen offers the profiles of the file', async () => {
  const s = app.s;
  await s.click(await s.find('[data-testid="sign-out"]'));
  const profile = await s.waitFor('[data-testid="profile"]');
  assert.ok((await s.text(profile)).includes('Claire Comptable'));
  await app.screenshot('firstday-profiles.png');
  await s.click(profile);
  await s.waitForText('[data-testid="user"]', (t) => t.startsWith('Claire Comptable'));
  await s.waitForText('[data-testid="requests-count"]', (t) => t.startsWith('3 demande'));
});

test('an accountant may not restore: the window says why and what to do', async () => {
  const s = app.s;
  await s.click(await s.find('[data-testid="sign-out"]'));
  await app.signIn('Paul Comptable');
  await s.waitForText('[data-testid="user"]', (t) => t.includes('(comptable)'));
  await s.click(await s.find('[data-testid="nav-parametres"]'));
  await s.click(await s.waitFor('[data-testid="restore"]'));
  await s.click(await s.waitFor('[data-testid="restore-yes"]'));
  const error = await s.waitForText('[data-testid="error-message"]', (t) => t.length > 0);
  assert.ok(error.startsWith("Paul Comptable n'est pas responsable financier"), error);
  const hint = await s.text(await s.find('[data-testid="error-hint"]'));
  assert.ok(hint.startsWith('Demandez à un responsable financier'), hint);
  assert.equal(await s.attribute(await s.find('[data-testid="error"]'), 'role'), 'alert');
  await app.screenshot('firstday-forbidden.png');
  assert.equal(cli(app.db, 'requests', 'list', '--status', 'pending').length, 3, 'nothing restored');
});
