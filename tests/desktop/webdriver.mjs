// A small W3C WebDriver client (what tauri-driver speaks): sessions, elements, keys, clicks,
// script and screenshots over plain HTTP.
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class WebDriver {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async session(base, capabilities) {
    const r = await call(base, "POST", "/session", { capabilities: { alwaysMatch: capabilities } });
    return new WebDriver(base, r.sessionId);
  }

  cmd(method, path, body) {
    return call(this.base, method, `/session/${this.id}${path}`, body);
  }

  async find(css) {
    const e = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return e[ELEMENT];
  }

  /** Waits until `css` matches an element (whose text content holds `text`, when given). */
  async waitFor(css, { timeout = 30_000, text } = {}) {
    const deadline = Date.now() + timeout;
    let last;
    for (;;) {
      try {
        if (text === undefined) {
          const found = await this.cmd("POST", "/elements", { using: "css selector", value: css });
          if (found.length) return found[0][ELEMENT];
        } else {
          // The DOM's text, not WebDriver's "visible text" (which leaves out clipped lines).
          const hit = await this.execute(
            "return [...document.querySelectorAll(arguments[0])].some((e) => e.textContent.includes(arguments[1]));",
            [css, text],
          );
          if (hit) return true;
        }
      } catch (e) {
        last = e.message;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${css}${text ? ` with "${text}"` : ""}${last ? ` (last: ${last})` : ""}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  click(id) {
    return this.cmd("POST", `/element/${id}/click`, {});
  }

  async type(id, text) {
    await this.cmd("POST", `/element/${id}/clear`, {});
    return this.cmd("POST", `/element/${id}/value`, { text });
  }

  keys(id, text) {
    return this.cmd("POST", `/element/${id}/value`, { text });
  }

  execute(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  async screenshot() {
    return Buffer.from(await this.cmd("GET", "/screenshot"), "base64");
  }

  quit() {
    return call(this.base, "DELETE", `/session/${this.id}`);
  }
}

async function call(base, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await r.json().catch(() => ({}));
  if (!r.ok || json.value?.error) {
    throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json.value ?? json)}`);
  }
  return json.value ?? json;
}

/** WebDriver's key for Enter. */
export const ENTER = "\uE007";
