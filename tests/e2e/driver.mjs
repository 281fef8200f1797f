// The tests' handle on the real window: WebdriverIO (the client Tauri's guide uses) speaking to
// tauri-driver, with the few waits the tests share. Elements are WebdriverIO's; a missing one
// is an error naming its selector, and every wait names what it waited for.

import { remote } from 'webdriverio';
import { captureScreen } from './screen.mjs';

export class Session {
  /** Starts `application` with `args` under the tauri-driver listening at `base`. */
  static async start(base, application, args) {
    const url = new URL(base);
    const browser = await remote({
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      logLevel: 'error',
      connectionRetryCount: 0,
      capabilities: {
        browserName: 'wry',
        'tauri:options': { application, args },
        // WebKitWebDriver speaks the classic protocol only.
        'wdio:enforceWebDriverClassic': true,
      },
    });
    return new Session(browser);
  }

  constructor(browser) {
    this.browser = browser;
  }

  async find(css) {
    const el = await this.browser.$(css);
    if (!(await el.isExisting())) throw new Error(`${css}: no such element`);
    return el;
  }

  async findAll(css) {
    return Array.from(await this.browser.$$(css));
  }

  /** Polls until `css` is there; returns it. */
  async waitFor(css, ms = 15000) {
    const end = Date.now() + ms;
    for (;;) {
      const el = await this.browser.$(css);
      if (await el.isExisting()) return el;
      if (Date.now() > end) throw new Error(`${css} never appeared`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Polls until exactly `n` elements match `css`. */
  async waitForCount(css, n, ms = 15000) {
    const end = Date.now() + ms;
    let found = [];
    while (Date.now() < end) {
      found = await this.findAll(css);
      if (found.length === n) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${css}: ${found.length} elements, expected ${n}`);
  }

  /** Polls until the text of `css` satisfies `pred`; returns that text. */
  async waitForText(css, pred, ms = 15000) {
    const end = Date.now() + ms;
    let text = '';
    while (Date.now() < end) {
      try {
        text = await this.text(await this.find(css));
        if (pred(text)) return text;
      } catch {
        // not there yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`text of ${css} never matched; last: ${JSON.stringify(text)}`);
  }

  click(el) {
    return el.click();
  }

  /** Types `text` into the element (a file input takes a path). */
  type(el, text) {
    return el.addValue(text);
  }

  text(el) {
    return el.getText();
  }

  attribute(el, name) {
    return el.getAttribute(name);
  }

  /** Presses one key in the window, as a user would. */
  press(key) {
    return this.browser.keys(key);
  }

  /** Runs `script` in the page with plain JSON `args`; returns its result. */
  execute(script, args = []) {
    return this.browser.execute(script, ...args);
  }

  /** Goes to a route of the app (`#/comptes/20260001`), as a link would. */
  async go(hash) {
    const url = await this.browser.getUrl();
    await this.browser.url(url.replace(/#.*$/, hash));
  }

  /** The window as PNG: from the X server's screen when Xvfb keeps it in a file (`screen.mjs`),
   * else WebKitWebDriver's picture. */
  async screenshot() {
    if (process.env.REGIE_E2E_FBDIR) {
      await new Promise((r) => setTimeout(r, 250)); // the last change painted
      return captureScreen();
    }
    return Buffer.from(await this.browser.takeScreenshot(), 'base64');
  }

  end() {
    return this.browser.deleteSession();
  }
}
