// The real desktop app: built, run under Xvfb, driven through tauri-driver and WebKitWebDriver.
// It signs in to the demo server, opens a conversation, sends a message and sees it reach Sent.
// A screenshot of each main screen is kept in target/screenshots/desktop-*.png.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { screenshots } from "../browser/harness.mjs";
import { ENTER } from "./webdriver.mjs";
import { desktopSession } from "./session.mjs";

let session, server, app;

before(async () => {
  session = await desktopSession("desktop");
  ({ server, app } = session);
});

after(async () => {
  await session?.stop();
});

async function shot(name) {
  writeFileSync(join(screenshots, `desktop-${name}.png`), await app.screenshot());
}

test("the desktop app signs in to the demo server, sends a message, and sees it reach Sent", async () => {
  const base = server.base;
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
  // The app's log, in the platform's log folder: what happened, and no password or message text.
  const log = readFileSync(join(session.dir, "data", "dev.outpost.desktop", "logs", "outpost.log"), "utf8");
  assert.match(log, /signed in/);
  assert.match(log, /sync status/);
  assert.ok(!log.includes("outpost-demo"), "no password in the log");
  assert.ok(!log.includes(text), "no message text in the log");
});
