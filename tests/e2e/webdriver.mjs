// A minimal W3C WebDriver client over fetch, enough to drive the real Régie window through
// tauri-driver (which hands the session to WebKitWebDriver).

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async start(base, application, args) {
    const body = {
      capabilities: {
        alwaysMatch: { browserName: 'wry', 'tauri:options': { application, args } },
      },
    };
    const res = await call(base, 'POST', '/session', body);
    return new Session(base, res.sessionId);
  }

  cmd(method, path, body) {
    return call(this.base, method, `/session/${this.id}${path}`, body);
  }

  async find(css) {
    const el = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return el[ELEMENT];
  }

  async findAll(css) {
    const els = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return els.map((e) => e[ELEMENT]);
  }

  /** Polls until `css` matches (the UI loads asynchronously); fails after `ms`. */
  async waitFor(css, ms = 15000) {
    const end = Date.now() + ms;
    let last;
    while (Date.now() < end) {
      try {
        const found = await this.findAll(css);
        if (found.length > 0) return found[0];
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no element ${css} after ${ms} ms ${last ?? ''}`);
  }

  /** Polls until exactly `n` elements match `css`; returns them. */
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
    return this.cmd('POST', `/element/${el}/click`, {});
  }

  type(el, text) {
    return this.cmd('POST', `/element/${el}/value`, { text });
  }

  text(el) {
    return this.cmd('GET', `/element/${el}/text`);
  }

  /** Runs `script` in the page with plain JSON `args`; returns its result. */
  execute(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  attribute(el, name) {
    return this.cmd('GET', `/element/${el}/attribute/${name}`);
  }

  async screenshot() {
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
  }

  end() {
    return this.cmd('DELETE', '');
  }
}

async function call(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok || (json.value && json.value.error)) {
    throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json.value)}`);
  }
  return json.value;
}
