// The desktop app as agents expect it on their desktop, the real app under Xvfb: closing its
// window keeps it in the tray (said once), a notification still arrives and its click shows the
// window; an outpost:// link opens its conversation in the running instance; links in messages go
// to the system's browser (a stand-in registered through the xdg settings), never the window;
// files dropped on or pasted into the composer are sent; start at login writes the login item.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { bin, screenshots } from "../browser/harness.mjs";
import { desktopSession, sleep, standIn, startDunst, until } from "./session.mjs";

let session, server, app, env, dir, tray;
const opened = () => (existsSync(join(dir, "opened")) ? readFileSync(join(dir, "opened"), "utf8").trim().split("\n") : []);

const dunstctl = (...args) => execFileSync("dunstctl", args, { env, encoding: "utf8" });
const displayed = () => Number(dunstctl("count", "displayed").trim());
const history = () => (JSON.parse(dunstctl("history")).data[0] ?? []).map((n) => ({ summary: n.summary.data, body: n.body.data }));
/** Asks the display about (or closes) the app's window, as a window manager would. */
const windowDoes = (command) => JSON.parse(execFileSync("/usr/bin/python3", [fileURLToPath(new URL("./window.py", import.meta.url)), command, "Outpost"], { env, encoding: "utf8" }));

/** The conversation of the contact named `name`, as the server has it. */
async function conversationOf(name) {
  const feed = await server.feed();
  const contact = feed.find((c) => c.entity?.type === "contact" && c.entity.data.name === name);
  return feed.find((c) => c.entity?.type === "conversation" && c.entity.data.contact_id === contact?.entity.data.id)?.entity.data ?? null;
}

before(async () => {
  session = await desktopSession("resident", {
    async beforeApp(e, d) {
      [env, dir] = [e, d];
      // The system's browser: a stand-in that writes down what it was asked to open, made the
      // handler of web, mail and phone links in this session's xdg settings.
      const browser = join(dir, "browser.sh");
      writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${join(dir, "opened")}'\n`);
      chmodSync(browser, 0o755);
      mkdirSync(env.XDG_CONFIG_HOME, { recursive: true });
      mkdirSync(join(env.XDG_DATA_HOME, "applications"), { recursive: true });
      writeFileSync(
        join(env.XDG_DATA_HOME, "applications", "standin-browser.desktop"),
        `[Desktop Entry]\nType=Application\nName=Stand-in browser\nExec=${browser} %u\nMimeType=x-scheme-handler/http;x-scheme-handler/https;x-scheme-handler/mailto;x-scheme-handler/tel;\n`,
      );
      writeFileSync(
        join(env.XDG_CONFIG_HOME, "mimeapps.list"),
        "[Default Applications]\n" + ["http", "https", "mailto", "tel"].map((s) => `x-scheme-handler/${s}=standin-browser.desktop`).join("\n") + "\n",
      );
      const stopDunst = await startDunst(env, dir);
      tray = await standIn("./sni_watcher.py", env);
      return [stopDunst, tray.stop];
    },
  });
  ({ server, app } = session);
  await session.signIn();
  await until("the window is on the display", () => windowDoes("state").viewable);
  // The first sync's summary, out of the way.
  await sleep(1500);
  dunstctl("close-all");
});

after(async () => {
  await session?.stop();
});

test("closing the window keeps Outpost in the tray: said once, notifications still come, a click shows it", async () => {
  // The tray is up once the first screen is painted (closing quits when there is none).
  await until("the tray icon is up", async () => (await tray.ask("state")).items === 1);
  assert.equal(windowDoes("close").sent, true);
  await until("the window is hidden", () => !windowDoes("state").viewable);
  assert.equal(await app.execute("return 1 + 1"), 2, "the app still runs");
  const told = await until("the agent is told where Outpost went", () => {
    dunstctl("close-all");
    return history().find((n) => n.summary === "Outpost is still running");
  });
  assert.match(told.body, /tray/);

  await server.customerWrites("whatsapp", "5511944440001", "Oi, alguém aí?", "Rita Residente");
  await until("the notification is displayed while the window is hidden", () => displayed() === 1, 20_000);
  dunstctl("action", "0");
  await until("the click shows the window", () => windowDoes("state").viewable);
  await app.waitFor(".conversation h2", { text: "Rita Residente" });

  // Closed again: hidden again, and not said twice.
  windowDoes("close");
  await until("hidden again", () => !windowDoes("state").viewable);
  await sleep(800);
  dunstctl("close-all");
  assert.equal(history().filter((n) => n.summary === "Outpost is still running").length, 1, "said once");
});

test("an outpost:// link opens its conversation in the running instance", async () => {
  await server.customerWrites("telegram", "5511944440002", "Quero trocar o endereço", "Lucas Link");
  const c = await until("the conversation at the server", () => conversationOf("Lucas Link"));
  await app.waitFor(".row", { text: "Lucas Link" });
  // A second start with the link (what the desktop does when one is clicked) hands it over and ends.
  const second = spawn(join(bin, "outpost-desktop"), [`outpost://conversation/${c.id}`], { env: { ...env, OUTPOST_DATA_DIR: join(dir, "app") }, stdio: "ignore" });
  const code = await new Promise((r) => second.once("exit", r));
  assert.equal(code, 0, "the second start ends at once");
  await app.waitFor(".conversation h2", { text: "Lucas Link" });
  await until("the window is shown", () => windowDoes("state").viewable);
  // A link to nothing the agent has opens nothing (and says so in the log).
  const stray = spawn(join(bin, "outpost-desktop"), ["outpost://conversation/01234567-89ab-7def-8123-456789abcdef"], { env: { ...env, OUTPOST_DATA_DIR: join(dir, "app") }, stdio: "ignore" });
  await new Promise((r) => stray.once("exit", r));
  await sleep(500);
  await app.waitFor(".conversation h2", { text: "Lucas Link" });
});

test("a link in a message opens in the system's browser, never in the app's window", async () => {
  await server.customerWrites("whatsapp", "5511944440003", "O pedido: https://loja.example/pedido/77 — dúvidas: ajuda@loja.example", "Lara Link");
  await app.waitFor(".row", { text: "Lara Link" });
  await app.execute("[...document.querySelectorAll('.row')].find((r) => r.textContent.includes('Lara Link')).click()");
  await app.waitFor(".bubble a[href^='https://loja.example']");
  const page = await app.execute("return location.href");
  await app.click(await app.find(".bubble a[href^='https://loja.example']"));
  await until("the browser was asked", () => opened().includes("https://loja.example/pedido/77"));
  await app.click(await app.find(".bubble a[href^='mailto:']"));
  await until("the mail app was asked", () => opened().includes("mailto:ajuda@loja.example"));
  assert.equal(await app.execute("return location.href"), page, "the window stays on Outpost");
  // A page that tries to navigate the window away is stopped by the shell.
  await app.execute("location.href = 'https://evil.example/'");
  await sleep(800);
  assert.equal(await app.execute("return location.href"), page, "navigation away is refused");
});

test("a file dropped on the composer and an image pasted into it are sent", async () => {
  await server.customerWrites("web_chat", "visitante_desk", "Pode mandar o comprovante?", "Dora Drop");
  await app.waitFor(".row", { text: "Dora Drop" });
  await app.execute("[...document.querySelectorAll('.row')].find((r) => r.textContent.includes('Dora Drop')).click()");
  await app.waitFor(".conversation h2", { text: "Dora Drop" });
  await app.execute(`
    const box = document.querySelector('.composer-box');
    const drop = new DataTransfer();
    drop.items.add(new File(['%PDF-1.4\\ncomprovante'], 'comprovante.pdf', { type: 'application/pdf' }));
    box.dispatchEvent(new DragEvent('dragover', { dataTransfer: drop, bubbles: true, cancelable: true }));
    box.dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true, cancelable: true }));
    const paste = new DataTransfer();
    const png = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC'), (c) => c.charCodeAt(0));
    paste.items.add(new File([png], 'image.png', { type: 'image/png' }));
    document.querySelector('.composer textarea').dispatchEvent(new ClipboardEvent('paste', { clipboardData: paste, bubbles: true, cancelable: true }));
  `);
  await app.waitFor(".staged li", { text: "image.png" });
  await app.waitFor(".staged li", { text: "comprovante.pdf" });
  await app.keys(await app.find(".composer textarea"), "Segue o comprovante\uE007");
  const sent = await until(
    "the message with both files at the server",
    async () => (await server.feed()).find((c) => c.entity?.type === "message" && c.entity.data?.text === "Segue o comprovante" && c.entity.data.attachments.length === 2),
    20_000,
  );
  assert.deepEqual(sent.entity.data.attachments.map((a) => a.name).sort(), ["comprovante.pdf", "image.png"]);
});

test("this computer's settings: start at login writes the login item; About says the version and where logs are", async () => {
  await app.execute("[...document.querySelectorAll('.status-bar button')].find((b) => b.textContent === 'This computer').click()");
  await app.waitFor(".desktop-settings [data-testid=version]");
  await app.waitFor(".desktop-settings input[type=url]"); // the settings, read a moment later
  const about = await app.execute("return document.querySelector('.desktop-settings .about').textContent");
  assert.match(about, /0\.1\.0/);
  writeFileSync(join(screenshots, "desktop-this-computer.png"), await app.screenshot());
  assert.match(about, new RegExp(server.base.replace(/[.:/]/g, "\\$&")));
  await app.execute("[...document.querySelectorAll('.desktop-settings label')].find((l) => l.textContent.includes('Start Outpost when I log in')).querySelector('input').click()");
  await app.execute("document.querySelector('.desktop-settings button[type=submit]').click()");
  await app.waitFor(".desktop-settings [role=status]", { text: "Saved" });
  // Where the desktop's session starts programs at login (~/.config/autostart: XDG autostart).
  const items = join(env.HOME, ".config", "autostart");
  const item = await until("the login item", () => existsSync(items) && readdirSync(items).find((f) => f.endsWith(".desktop")));
  const entry = readFileSync(join(items, item), "utf8");
  assert.match(entry, /outpost-desktop/);
  assert.match(entry, /--hidden/, "at login it starts in the tray");
  await app.execute("[...document.querySelectorAll('.desktop-settings label')].find((l) => l.textContent.includes('Start Outpost when I log in')).querySelector('input').click()");
  await app.execute("document.querySelector('.desktop-settings button[type=submit]').click()");
  await until("the login item removed", () => !existsSync(join(items, item)));
});

/**
 * Red pixels (a misspelling's underline) in the composer's box, as the X server shows them
 * (WebKitWebDriver's own screenshot brings the app down once misspellings are marked).
 */
async function redInComposer() {
  const [x, y, w, h] = await app.execute("const r = document.querySelector('.composer textarea').getBoundingClientRect(); return [r.left, r.top, r.width, r.height].map(Math.round)");
  const { red, error } = JSON.parse(execFileSync("/usr/bin/python3", [fileURLToPath(new URL("./window.py", import.meta.url)), "red", "Outpost", x, y, w, h].map(String), { env, encoding: "utf8" }));
  if (error) throw new Error(error);
  return red;
}

test("the composer checks spelling in the interface's language, and in the languages the agent ticks", async () => {
  await app.execute("[...document.querySelectorAll('.desktop-settings button')].find((b) => b.textContent === 'Close')?.click()");
  await app.execute("[...document.querySelectorAll('.row')].find((r) => r.textContent.includes('Dora Drop')).click()");
  const threeLanguages = "Obrigado pelo contato, gracias por escribir, thanks for writing ";
  let composer = await app.find(".composer textarea");
  // The interface is in English: English only (each dictionary takes memory).
  await app.type(composer, threeLanguages);
  await until("Portuguese and Spanish words underlined in English", async () => (await redInComposer()) > 20, 5000);
  await app.cmd("POST", `/element/${composer}/clear`, {});
  // Portuguese and Spanish ticked besides.
  await app.execute("[...document.querySelectorAll('.status-bar button')].find((b) => b.textContent === 'This computer').click()");
  await app.waitFor(".desktop-settings .spelling input");
  for (const name of ["Português (Brasil)", "Español"]) {
    await app.execute(`[...document.querySelectorAll('.desktop-settings .spelling label')].find((l) => l.textContent === ${JSON.stringify(name)}).querySelector('input').click()`);
  }
  await app.execute("document.querySelector('.desktop-settings button[type=submit]').click()");
  await app.waitFor(".desktop-settings [role=status]", { text: "Saved" });
  const kept = JSON.parse(readFileSync(join(dir, "app", "desktop.json"), "utf8"));
  assert.deepEqual(kept.spelling, ["en", "pt-BR", "es"]);
  await app.execute("[...document.querySelectorAll('.desktop-settings button')].find((b) => b.textContent === 'Close').click()");
  composer = await app.find(".composer textarea");
  await app.type(composer, threeLanguages);
  await sleep(800);
  assert.equal(await redInComposer(), 0, "well spelt in three languages: nothing underlined");
  await app.type(composer, "Obrigadu pelo contatto, thanks for writting ");
  await until("the misspelt words are underlined", async () => (await redInComposer()) > 20, 5000);
  await app.cmd("POST", `/element/${composer}/clear`, {});
});
