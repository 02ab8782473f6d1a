// The browser tests' harness: the real server (its binary, demo workspace), the real web
// edition (outpost-web, its binary, with the OS keyring of `cargo xtask test`'s D-Bus session),
// and Debian's Chromium driven by playwright-core. Screenshots go to target/screenshots/.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { deflateSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(join(root, "ui/package.json"));
const { chromium } = require("playwright-core");

export const bin = process.env.OUTPOST_BIN_DIR ?? join(root, "target/debug");
export const screenshots = join(root, "target/screenshots");
mkdirSync(screenshots, { recursive: true });

/** Starts a program and resolves with it once a line of its output matches `ready`. */
export function start(program, args, ready, env = process.env) {
  const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"], env });
  const lines = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${program} did not start:\n${lines.join("\n")}`)), 30_000);
    const onData = (chunk) => {
      for (const line of chunk.toString().split("\n")) {
        lines.push(line);
        const m = line.match(ready);
        if (m) {
          clearTimeout(timer);
          resolve({ child, match: m, lines });
        }
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (c) => lines.push(c.toString()));
    child.on("exit", (code) => reject(new Error(`${program} exited (${code}):\n${lines.join("\n")}`)));
  });
}

/**
 * The demo server (its binary) on loopback with its own data, and what tests ask of it: its
 * feed as an agent sees it, the channels' webhooks (a customer writes), actions as an agent.
 */
export async function demoServer(dir) {
  const startServer = (listen) =>
    start(
      join(bin, "outpost-server"),
      ["demo", "--listen", listen, "--data-dir", join(dir, "server"), "--every", "0"],
      /demo on (http:\/\/[0-9.:]+)/,
    );
  let server = await startServer("127.0.0.1:0");
  const base = server.match[1];
  // Wait for the webhooks list (printed after the agents).
  await new Promise((r) => setTimeout(r, 200));
  const hooks = Object.fromEntries(
    server.lines
      .map((l) => l.match(/^\s+(\w+)\s+POST (http:\/\/\S+\/inbound)/))
      .filter(Boolean)
      .map((m) => [m[1], m[2]]),
  );
  return {
    base,
    hooks,
    /** The server goes away (its process ends, as in a crash or a network cut). */
    async stopServer() {
      const exited = new Promise((r) => server.child.once("exit", r));
      server.child.kill("SIGKILL");
      await exited;
    },
    /** The server comes back on the same address and data. */
    async restartServer() {
      server = await startServer(base.replace("http://", ""));
    },
    /** Signs in as `who` over the API: the token and the agent. */
    async login(who = OWNER) {
      const r = await fetch(`${base}/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(who),
      });
      return r.json();
    },
    /** Polls the server's feed until `find` returns something (or gives up after 10 s). */
    async atServer(what, find, who = OWNER) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const found = find(await this.feed(who));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`not at the server: ${what}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    /** What the server holds for an agent: the whole change feed, as a fresh client sees it. */
    async feed(who = OWNER) {
      const { token } = await this.login(who);
      const changes = [];
      for (let after = 0; ; ) {
        const page = await (await fetch(`${base}/v1/changes?after=${after}&limit=5000`, { headers: { authorization: `Bearer ${token}` } })).json();
        changes.push(...page.changes);
        if (!page.has_more) break;
        after = page.cursor;
      }
      return changes;
    },
    /** A customer writes on a channel, as its provider would post it. */
    async customerWrites(channel, from, text, name = "") {
      const r = await fetch(hooks[channel], {
        method: "POST",
        headers: { "content-type": "application/json", "x-outpost-channel-secret": "outpost-demo-channel" },
        body: JSON.stringify({ from, text, name }),
      });
      if (r.status !== 200) throw new Error(`inbound: ${r.status} ${await r.text()}`);
    },
    /**
     * A call on a test channel, as its simulated provider reports it: it rings (no `outcome`), or
     * it ended (`answered` with `duration_secs`, `missed`, `failed`); `direction` "outgoing" for
     * one the business placed.
     */
    async customerCalls(channel, call) {
      const r = await fetch(hooks[channel].replace(/\/inbound$/, "/calls"), {
        method: "POST",
        headers: { "content-type": "application/json", "x-outpost-channel-secret": "outpost-demo-channel" },
        body: JSON.stringify(call),
      });
      if (r.status !== 200) throw new Error(`call: ${r.status} ${await r.text()}`);
      return r.json();
    },
    /** A customer sends files ({ name, mime, bytes }) with a text: the channel uploads each, then posts the message. */
    async customerSends(channel, from, text, name, files) {
      const secret = { "x-outpost-channel-secret": "outpost-demo-channel" };
      const attachments = [];
      for (const f of files) {
        const file = randomUUID();
        const r = await fetch(hooks[channel].replace(/\/inbound$/, `/files/${file}`), {
          method: "PUT",
          headers: { ...secret, "content-type": f.mime },
          body: f.bytes,
        });
        if (r.status !== 201) throw new Error(`file: ${r.status} ${await r.text()}`);
        attachments.push({ file, name: f.name });
      }
      const r = await fetch(hooks[channel], {
        method: "POST",
        headers: { ...secret, "content-type": "application/json" },
        body: JSON.stringify({ from, text, name, attachments }),
      });
      if (r.status !== 200) throw new Error(`inbound: ${r.status} ${await r.text()}`);
    },
    stop() {
      server.child.kill("SIGINT");
    },
  };
}

export async function world() {
  const dir = mkdtempSync(join(tmpdir(), "outpost-browser-"));
  const server = await demoServer(dir);
  const web = await start(
    join(bin, "outpost-web"),
    ["--listen", "127.0.0.1:0", "--data-dir", join(dir, "web"), "--ui", join(root, "ui/dist")],
    /Outpost is at (http:\/\/\S+)/,
  );
  const browser = await chromium.launch({
    executablePath: process.env.OUTPOST_CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const endServer = server.stop;
  return Object.assign(server, {
    url: web.match[1],
    browser,
    async page(locale = "en-US", colorScheme = "light") {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale, colorScheme });
      const page = await context.newPage();
      page.errors = [];
      page.on("pageerror", (e) => page.errors.push(e.message));
      page.on("dialog", (d) => {
        page.errors.push(`a dialog opened: ${d.message()}`);
        void d.dismiss();
      });
      return page;
    },
    async stop() {
      await browser.close();
      web.child.kill("SIGINT");
      endServer();
      await new Promise((r) => setTimeout(r, 300));
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

export const OWNER = { email: "ana.souza0@outpost.example", password: "outpost-demo" };

/** Opens the app; signs in when it asks (outpost-web keeps its agent signed in between pages). */
export async function signIn(page, w, who = OWNER) {
  await page.goto(w.url);
  await page.locator("form, .workspace").first().waitFor();
  if (await page.locator(".workspace").count()) {
    await page.locator(".row").first().waitFor({ timeout: 30_000 });
    return;
  }
  await page.getByLabel(/server address|endereço|dirección/i).fill(w.base);
  await page.getByLabel(/^email|e-mail|correo/i).fill(who.email);
  await page.getByLabel(/password|senha|contraseña/i).fill(who.password);
  await page.getByRole("button", { name: /sign in|entrar/i }).click();
  await page.locator(".row").first().waitFor({ timeout: 30_000 });
}

export async function shot(page, name) {
  await page.screenshot({ path: join(screenshots, `${name}.png`) });
}

/** Records the browser's notifications as the page makes them, in `window.__notes`
 *  ({title, body, tag, note}); the page may show them (permission granted for its origin). */
export async function recordNotifications(page, w) {
  await page.context().grantPermissions(["notifications"], { origin: new URL(w.url).origin });
  await page.addInitScript(() => {
    const Real = window.Notification;
    window.__notes = [];
    window.Notification = class extends Real {
      constructor(title, options) {
        super(title, options);
        window.__notes.push({ title, body: options?.body, tag: options?.tag, note: this });
      }
    };
  });
}

/** A real PNG of `w`×`h` pixels in one colour (so the preview can be checked as decoded). */
export function png(w, h, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => [r, g, b]).flat())]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

/** Polls `check` (sync or async) until it returns something true, or fails after `timeout` ms. */
export async function until(what, check, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
