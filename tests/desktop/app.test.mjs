// The real desktop app: built, run under Xvfb, driven through tauri-driver and WebKitWebDriver.
// It signs in to the demo server, opens a conversation, sends a message and sees it reach Sent.
// A screenshot of each main screen is kept in target/screenshots/desktop-*.png.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { bin, screenshots, start } from "../browser/harness.mjs";
import { ENTER, WebDriver } from "./webdriver.mjs";

let dir, server, xvfb, driver, app;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "outpost-desktop-"));
  server = await start(
    join(bin, "outpost-server"),
    ["demo", "--listen", "127.0.0.1:0", "--data-dir", join(dir, "server"), "--every", "0"],
    /demo on (http:\/\/[0-9.:]+)/,
  );
  const display = `:${90 + Math.floor(Math.random() * 9)}`;
  xvfb = spawn("Xvfb", [display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 800));
  const env = { ...process.env, DISPLAY: display, OUTPOST_DATA_DIR: join(dir, "app"), WEBKIT_DISABLE_COMPOSITING_MODE: "1" };
  // tauri-driver says nothing when ready: its port answering is the sign.
  driver = { child: spawn(process.env.TAURI_DRIVER ?? "tauri-driver", ["--port", "4444"], { env, stdio: "ignore" }) };
  for (let i = 0; i < 50; i++) {
    try {
      await fetch("http://127.0.0.1:4444/status");
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  app = await WebDriver.session("http://127.0.0.1:4444", {
    "tauri:options": { application: join(bin, "outpost-desktop") },
  });
});

after(async () => {
  await app?.quit().catch(() => {});
  driver?.child.kill();
  xvfb?.kill();
  server?.child.kill("SIGINT");
  await new Promise((r) => setTimeout(r, 300));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function shot(name) {
  writeFileSync(join(screenshots, `desktop-${name}.png`), await app.screenshot());
}

test("the desktop app signs in to the demo server, sends a message, and sees it reach Sent", async () => {
  const base = server.match[1];
  await app.waitFor("form");
  await shot("sign-in");
  await app.type(await app.find("input[name=server]"), base);
  await app.type(await app.find("input[name=email]"), "ana.souza0@outpost.example");
  await app.type(await app.find("input[name=password]"), "outpost-demo");
  await app.click(await app.find("button[type=submit]"));
  const row = await app.waitFor(".row");
  await shot("inbox");
  await app.click(row);
  await app.waitFor(".timeline .bubble");
  const composer = await app.find(".composer textarea");
  const text = `Enviado pelo app de desktop ${Date.now()}`;
  await app.keys(composer, text + ENTER);
  await app.waitFor(".bubble.outgoing", { text });
  // The server took it: wired or beyond.
  await app.waitFor(
    ".bubble.outgoing:has(.ticks.wired), .bubble.outgoing:has(.ticks.sent), .bubble.outgoing:has(.ticks.delivered), .bubble.outgoing:has(.ticks.read)",
    { text, timeout: 20_000 },
  );
  await shot("conversation");
  // The Sent folder's button, by its label (the count beside it changes).
  const clicked = await app.execute(
    "const b = [...document.querySelectorAll('nav.sidebar li button')].find((b) => b.querySelector('.label')?.textContent === 'Sent'); b?.click(); return !!b;",
  );
  assert.ok(clicked, "the side bar has a Sent folder");
  await app.waitFor(".folder-row", { text, timeout: 20_000 });
  await shot("sent");
  const csp = await app.execute("return document.querySelectorAll('script:not([src])').length");
  assert.equal(csp, 0, "no inline script in the window");
});
