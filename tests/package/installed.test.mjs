// The Debian package as a newcomer gets it (REGIE_DEB, built by scripts/package): unpacked in a
// clean prefix, its declared dependencies present on this system, its menu entry and icon in
// place, the CLI beside the app; then the installed app started as the menu starts it (no
// argument: its own database in the home folder), driven once in the real window: it signs in,
// offers the portal's registrations first, imports them, and Paramètres shows the day's backup.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, need } from '../e2e/app.mjs';

const deb = need('REGIE_DEB');
const prefix = mkdtempSync(join(tmpdir(), 'regie-installed-'));
let app;

before(() => {
  execFileSync('dpkg-deb', ['-x', deb, prefix]);
});
after(async () => {
  await app?.stop();
  // The unpacked package is 360 MB: not left in the temp folder run after run.
  rmSync(prefix, { recursive: true, force: true });
});

const field = (control, name) => (control.match(new RegExp(`^${name}: (.*)$`, 'm')) ?? [])[1];

test('the package declares what it needs, and installs the app, its menu entry, icon and CLI', () => {
  const control = execFileSync('dpkg-deb', ['-f', deb], { encoding: 'utf8' });
  assert.equal(field(control, 'Package'), 'regie');
  const depends = field(control, 'Depends').split(',').map((d) => d.trim().split(' ')[0]);
  assert.ok(depends.includes('libwebkit2gtk-4.1-0') && depends.includes('libgtk-3-0'), depends.join(', '));
  for (const d of depends) {
    const status = execFileSync('dpkg-query', ['-W', '-f=${Status}', d], { encoding: 'utf8' });
    assert.equal(status, 'install ok installed', `${d} is installed here, as apt would have done`);
  }
  const entry = readFileSync(join(prefix, 'usr/share/applications/regie.desktop'), 'utf8');
  assert.match(entry, /^Name=Régie$/m);
  assert.match(entry, /^Exec=regie-desktop$/m);
  assert.match(entry, /^Categories=.*Finance/m);
  const icon = entry.match(/^Icon=(.*)$/m)[1];
  assert.ok(existsSync(join(prefix, `usr/share/icons/hicolor/128x128/apps/${icon}.png`)), 'the menu has its icon');
  // The CLI beside the app works on its own (no library of the build machine's).
  const cliDb = join(mkdtempSync(join(tmpdir(), 'regie-installed-cli-')), 'regie.sqlite');
  const init = JSON.parse(execFileSync(join(prefix, 'usr/bin/regie'), ['--db', cliDb, 'init', '--json'], { encoding: 'utf8' }));
  assert.equal(init.db_path, cliDb);
});

test('the installed app starts from its menu entry, on its own database, and a first day works', async () => {
  app = await App.start(null, null, join(prefix, 'usr/bin/regie-desktop'));
  const s = app.s;
  await app.signIn('Claire Comptable');
  const where = await s.waitForText('[data-testid="db-path"]', (t) => t.length > 0);
  assert.equal(where, join(app.home, '.local/share/fr.clermont-auvergne-inp.regie/regie.sqlite'));
  const file = join(mkdtempSync(join(tmpdir(), 'regie-installed-reg-')), 'inscriptions.csv');
  writeFileSync(
    file,
    'Numéro;Nom;Prénom;Email;Ecole;Formation;Année;Situation;Echéancier;Date demande\r\n' +
      '22601001;Durand;Léa;lea.durand@etu.uca.fr;ISIMA;P2526_ISI_1A;1;01;3;05/09/2025\r\n',
  );
  await s.type(await s.waitFor('[data-testid="registrations-file"]'), file);
  await s.click(await s.waitFor('[data-testid="registrations-import"]'));
  await s.waitForText('[data-testid="requests-count"]', (t) => t.startsWith('1 demande'));
  await s.click(await s.find('[data-testid="nav-parametres"]'));
  const backup = await s.waitForText('[data-testid="last-backup"]', (t) => t.includes('Dernière sauvegarde'));
  assert.ok(backup.includes(join(app.home, '.local/share/fr.clermont-auvergne-inp.regie/backups/')), backup);
  await app.screenshot('installed.png');
});
