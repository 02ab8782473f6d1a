// What every test of the real desktop app starts: the demo server, Xvfb, tauri-driver, and the
// app in a WebDriver session (its own data directory). `beforeApp(env)` starts what must run
// before the app does (a notification daemon, a tray). All in the D-Bus session xtask provides.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { bin, demoServer, OWNER, until } from "../browser/harness.mjs";

export { until };
import { WebDriver } from "./webdriver.mjs";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


/**
 * dunst, the session's notification daemon, with `settings` added to its [global] section (no
 * timeout: what it shows stays until the test closes it); resolves once it answers. Returns
 * its stop.
 */
export async function startDunst(env, dir, settings = "") {
  const config = join(dir, "dunstrc");
  writeFileSync(config, `[global]\n${settings}    timeout = 0\n`);
  const dunst = spawn("dunst", ["-config", config], { env, stdio: "ignore" });
  await until("dunst answers", () => {
    try {
      return execFileSync("dunstctl", ["is-paused"], { env, encoding: "utf8" }).trim() === "false";
    } catch {
      return false;
    }
  });
  return () => dunst.kill();
}

/**
 * A stand-in D-Bus service of these tests (a Python script beside this file, GLib): it says
 * {"ready": true} once its name is on the bus, then answers each command with a JSON line.
 */
export async function standIn(script, env) {
  const child = spawn("/usr/bin/python3", [fileURLToPath(new URL(script, import.meta.url))], { env, stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = JSON.parse((await lines.next()).value);
  if (!first.ready) throw new Error(`${script} did not start: ${JSON.stringify(first)}`);
  return {
    async ask(command) {
      child.stdin.write(command + "\n");
      const answer = JSON.parse((await lines.next()).value);
      if (answer.error) throw new Error(`${script}: ${answer.error}`);
      return answer;
    },
    stop: () => child.kill(),
  };
}

export async function desktopSession(name, { beforeApp } = {}) {
  const dir = mkdtempSync(join(tmpdir(), `outpost-${name}-`));
  const server = await demoServer(dir);
  const display = `:${70 + Math.floor(Math.random() * 29)}`;
  const xvfb = spawn("Xvfb", [display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"], { stdio: "ignore" });
  await sleep(800);
  // The app's own folders (its log folder among them), its settings (the outpost:// handler it
  // registers, a login item) and its home under this session's: nothing of the machine's.
  const home = join(dir, "home");
  mkdirSync(home, { recursive: true });
  const env = {
    ...process.env,
    DISPLAY: display,
    HOME: home,
    OUTPOST_DATA_DIR: join(dir, "app"),
    XDG_DATA_HOME: join(dir, "data"),
    XDG_CONFIG_HOME: join(dir, "config"),
    WEBKIT_DISABLE_COMPOSITING_MODE: "1",
  };
  const stops = [];
  if (beforeApp) stops.push(...[await beforeApp(env, dir)].flat().filter(Boolean));
  // tauri-driver says nothing when ready: its port answering is the sign.
  const driver = spawn(process.env.TAURI_DRIVER ?? "tauri-driver", ["--port", "4444"], { env, stdio: process.env.DRIVER_LOG ? "inherit" : "ignore" });
  await until("tauri-driver answers", () => fetch("http://127.0.0.1:4444/status").then(() => true, () => false));
  const app = await WebDriver.session("http://127.0.0.1:4444", {
    "tauri:options": { application: join(bin, "outpost-desktop") },
  });
  return {
    dir,
    server,
    env,
    app,
    /** Signs the app in to the demo server as `who`, and waits for its list. */
    async signIn(who = OWNER) {
      await app.waitFor("form");
      await app.type(await app.find("input[name=server]"), server.base);
      await app.type(await app.find("input[name=email]"), who.email);
      await app.type(await app.find("input[name=password]"), who.password);
      await app.click(await app.find("button[type=submit]"));
      await app.waitFor(".row");
    },
    async stop() {
      await app.quit().catch(() => {});
      driver.kill();
      for (const s of stops) s();
      xvfb.kill();
      server.stop();
      await sleep(300);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
