// End-to-end: an offline session. The office checks its lines to review out into a file; the
// window opened on that file says it is a session and of which office; a line is accepted there
// from the keyboard; back at the office the check-in applies it, and the office's own window
// shows the payment in the student's account.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, cli, key, french, squash } from './app.mjs';

const iso = (d) => d.toISOString().slice(0, 10);
const fr = (isoDate) => isoDate.split('-').reverse().join('/');
const folder = mkdtempSync(join(tmpdir(), 'regie-e2e-session-'));
const office = join(folder, 'bureau.sqlite');

let apps = [];
after(async () => {
  for (const a of apps) await a.stop();
});

/** A student who owes, whose last name no other owing student has, and the next installment. */
function unclearPayer() {
  const owing = cli(office, 'students', 'list').filter((x) => Number(x.balance) > 0);
  for (const st of owing.filter((x) => owing.filter((o) => o.last_name === x.last_name).length === 1)) {
    const next = cli(office, 'account', st.number).schedule.find((l) => l.status !== 'cancelled' && Number(l.left_to_pay) > 0);
    if (next) return { st, next };
  }
  throw new Error('the demo has an owing student');
}

test('check out, accept a line on the laptop, check in, see the payment at the office', async () => {
  cli(office, 'demo', '--students', '300');
  const { st, next } = unclearPayer();
  // Only the last name, 40 days before the due date: a line to review, with its suggestion.
  const when = new Date(next.due_date);
  when.setDate(when.getDate() - 40);
  const csv = ['Date;Libellé;Débit;Crédit', `${fr(iso(when))};VIR SEPA RECU /DE ${st.last_name};;${next.left_to_pay.replace('.', ',')}`].join('\r\n');
  const file = join(folder, 'releve.csv');
  writeFileSync(file, Buffer.from(csv, 'latin1'));
  assert.equal(cli(office, 'statements', 'import', file).to_review, 1);
  const before = cli(office, 'account', st.number);

  // At the office, the lines to review leave for the laptop.
  let desk = await App.start(null, office);
  apps.push(desk);
  await desk.signIn('Claire Comptable');
  await key(desk.s, 'g');
  await key(desk.s, 'b');
  await desk.s.click(await desk.s.waitFor('[data-testid="session-checkout"]'));
  const taken = await desk.s.waitForText('[data-testid="bank-notice"]', (t) => t.includes('ligne(s) sorties dans'));
  const laptop = taken.split('ligne(s) sorties dans ')[1].trim();
  const name = taken.match(/Session (S\S+)/)[1];
  assert.ok(laptop.endsWith('.sqlite'), taken);
  await desk.s.waitForText('[data-testid="session"]', (t) => t.includes(name) && t.includes('hors ligne avec Claire Comptable'));
  await desk.stop();
  apps = [];

  // The laptop: the window says it is a session of this office.
  const away = await App.start(null, laptop);
  apps.push(away);
  const s = away.s;
  await away.signIn('Luc Portable');
  const banner = await s.waitForText('[data-testid="session-banner"]', (t) => t.includes(name));
  assert.ok(banner.includes('bureau.sqlite'), banner);
  await key(s, 'g');
  await key(s, 'b');
  const line = cli(laptop, 'statements', 'lines', '--status', 'to_review').find((l) => l.label.endsWith(`/DE ${st.last_name}`));
  assert.ok(line, 'the line is on the laptop');
  await s.click(await s.waitFor(`[data-testid="line-row"][data-key="${line.id}"] td:nth-child(2)`));
  await s.waitForText('[data-testid="suggestion"]', (t) => t.includes(st.number));
  await key(s, 'y');
  await s.waitForText('[data-testid="bank-notice"]', (t) => t.includes(st.number));
  await away.screenshot('session-laptop.png');
  assert.equal(cli(laptop, 'session', 'info').decisions, 1);
  await away.stop();
  apps = [];

  // Back at the office: the file is checked in from the window.
  desk = await App.start(null, office);
  apps.push(desk);
  const h = desk.s;
  // The office's desk remembers who signed in last.
  await h.waitForText('[data-testid="user"]', (t) => t.includes('Claire Comptable'));
  await key(h, 'g');
  await key(h, 'b');
  await h.type(await h.waitFor('[data-testid="session-checkin"]'), laptop);
  const back = await h.waitForText('[data-testid="bank-notice"]', (t) => t.includes(name));
  assert.ok(back.includes('1 décision(s) reportée(s), 0 déjà reportée(s), 0 conflit(s)'), back);
  const afterwards = cli(office, 'account', st.number);
  assert.equal(
    Math.round(Number(afterwards.summary.balance) * 100),
    Math.round((Number(before.summary.balance) - Number(next.left_to_pay)) * 100),
  );
  // Checked in twice: nothing more.
  assert.equal(cli(office, 'session', 'checkin', laptop).applied, 0);
  await key(h, 'g');
  await key(h, 'c');
  await h.type(await h.waitFor('[data-testid="student-search"]'), st.number);
  await h.waitForCount('[data-testid="student-row"]', 1);
  await h.click(await h.find(`[data-testid="student-row"][data-key="${st.number}"] td`));
  const payments = await h.waitForText('[data-testid="table-payments"]', (t) => t.includes(`/DE ${st.last_name}`));
  assert.ok(squash(payments).includes(squash(french(next.left_to_pay))), payments);
  assert.equal((await h.findAll('[data-testid="session-banner"]')).length, 0, 'the office is no session');
  await desk.screenshot('session-office.png');
});
