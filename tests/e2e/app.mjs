// Starts the real Régie window on a fresh database file under tauri-driver, for one test file.
// Needs: REGIE_DESKTOP (the built app), REGIE_CLI (the regie binary), TAURI_DRIVER, a DISPLAY.

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from './driver.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const outDir = join(here, 'out');

export function need(name) {
  const v = process.env[name];
  assert.ok(v, `${name} must be set`);
  return v;
}

/** Runs the real CLI on the test's database and parses its JSON. */
export function cli(db, ...args) {
  return JSON.parse(execFileSync(need('REGIE_CLI'), ['--db', db, '--user', 'e2e-cli', ...args, '--json'], { encoding: 'utf8' }));
}

/** "-1630.50" -> "-1 630,50 €", the French display, with spaces normalized by `squash`. */
export function french(amount) {
  const [int, frac] = amount.replace('-', '').split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return `${amount.startsWith('-') ? '-' : ''}${grouped},${frac} €`;
}
export const squash = (s) => s.replace(/[\s\u00a0\u202f]+/g, ' ').trim();

/** A table row's text as a person reads it: the cells cut to their column's width (WebKit's
 *  driver reads none of their text) by their title, which holds it whole. */
export async function rowText(s, css) {
  const text = await s.text(await s.find(css));
  const clipped = await s.findAll(`${css} td.clip`);
  const titles = await Promise.all(clipped.map((c) => s.attribute(c, 'title')));
  return [text, ...titles].join(' | ');
}

/** Presses one key in the window, as a user would (WebDriver actions). */
export async function key(s, k) {
  await s.press(k);
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

export class App {
  /** A fresh database; `prepare(db)` may fill it with the CLI before the window opens. With
   *  `existing`, the window opens that database instead (another desk's view of a file). With
   *  `installed`, that app binary starts as the desktop menu starts it: no argument, on its
   *  default database under the throw-away home. */
  static async start(prepare, existing, installed) {
    const db = existing ?? join(mkdtempSync(join(tmpdir(), 'regie-e2e-')), 'regie.sqlite');
    if (prepare) prepare(db);
    // 4500-4998 holds none of the ports fetch() refuses (5060, 5061, 6000, ...).
    const port = 4500 + Math.floor(Math.random() * 249) * 2;
    const base = `http://127.0.0.1:${port}`;
    // The app writes exports under its home folder: give it a throw-away one.
    const home = mkdtempSync(join(tmpdir(), 'regie-e2e-home-'));
    // Its own process group: WebKitWebDriver and the app it starts are in it, and `stop` ends
    // them all (a window left behind would hold the test runner's output open for ever).
    const driver = spawn(need('TAURI_DRIVER'), ['--port', String(port), '--native-port', String(port + 1)], {
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') },
    });
    try {
      const end = Date.now() + 20000;
      for (;;) {
        try {
          await fetch(`${base}/status`, { signal: AbortSignal.timeout(2000) });
          break;
        } catch (e) {
          if (Date.now() > end) throw new Error(`tauri-driver did not start on ${base}: ${e.cause?.code ?? e.message}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const session = installed
        ? await Session.start(base, installed, [])
        : await Session.start(base, need('REGIE_DESKTOP'), ['--db', db]);
      const app = new App(db, driver, session);
      app.home = home;
      return app;
    } catch (e) {
      killGroup(driver);
      throw e;
    }
  }

  constructor(db, driver, session) {
    this.db = db;
    this.driver = driver;
    this.s = session;
  }

  /** The first-start screen asks who is acting; every decision is recorded under that name. */
  async signIn(name) {
    const input = await this.s.waitFor('[data-testid="sign-in-name"]');
    await this.s.type(input, name);
    await this.s.click(await this.s.find('[data-testid="sign-in"]'));
  }

  async screenshot(file) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, file), await this.s.screenshot());
  }

  async stop() {
    try {
      await this.s.end();
    } catch {
      // the window may already be gone
    }
    killGroup(this.driver);
  }
}
