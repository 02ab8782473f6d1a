// The desktop app's interactions, in the app itself (WebKitGTK), driven through tauri-driver:
// part of `cargo xtask bench desktop`, which starts this under Xvfb in a D-Bus session with the
// app's data directory (OUTPOST_DATA_DIR: the 1,000,000-message mirror) in the environment.
//
// Usage: node desktop-interactions.mjs APP LONG_CONVERSATION_ID ROUNDS
// Prints one JSON line: {"click": {painted, committed}, "jk": …, "search": …, "listScroll":
// {work, intervals, …}, "longScroll": …} (milliseconds; see in-page.mjs for how each is taken).
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { WebDriver } from "../desktop/webdriver.mjs";
import { install } from "./in-page.mjs";

const [app, longId, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 200);
const WARM_UP = 5;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const port = await freePort();
const driver = spawn(process.env.TAURI_DRIVER ?? "tauri-driver", ["--port", String(port), "--native-port", String(await freePort())], { stdio: "ignore" });
let session = null;
try {
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i += 1) {
    if (await fetch(`${base}/status`).then(() => true, () => false)) break;
    if (i > 300) throw new Error("tauri-driver never answered");
    await sleep(100);
  }
  session = await WebDriver.session(base, { "tauri:options": { application: app } });
  await session.cmd("POST", "/timeouts", { script: 600_000 });
  await session.waitFor(".row[data-id]", { timeout: 60_000 });
  await session.execute(`(${install})();`);
  // One call into the page: resolves with what `body` (source, using __bench) returns.
  const inPage = (body, args = []) =>
    session.cmd("POST", "/execute/async", {
      script: `const done = arguments[arguments.length - 1];
        (async (...args) => { ${body} })(...Array.from(arguments).slice(0, -1))
          .then((value) => done({ value }), (e) => done({ error: String(e) + " " + (e && e.stack) }));`,
      args,
    }).then((r) => {
      if (r.error) throw new Error(r.error);
      return r.value;
    });
  const collect = () => ({ painted: [], committed: [] });
  const keep = (into, result, n) => {
    if (n < WARM_UP) return;
    into.painted.push(result.painted);
    into.committed.push(result.committed);
  };
  // An agent reads between actions: the mark-as-read and the refreshes it causes run then.
  const pause = () => sleep(250);

  const click = collect();
  for (let n = 0; n < rounds + WARM_UP; n += 1) {
    keep(click, await inPage("return __bench.click(args[0]);", [n]), n);
    await pause();
  }

  // j down the list, then k back up, in runs of 20.
  const jk = collect();
  for (let n = 0; n < rounds + WARM_UP; n += 1) {
    const key = Math.floor(n / 20) % 2 === 0 ? "j" : "k";
    keep(jk, await inPage("return __bench.key(args[0]);", [key]), n);
    await pause();
  }

  // Words an agent looks for, typed a letter at a time (each keystroke's hits timed).
  const words = ["pedido", "entrega", "garantia", "cafetera", "Souza", "notebook", "troca", "factura", "Florianópolis", "endereço"];
  const search = collect();
  let typed = 0;
  for (let w = 0; typed < rounds + WARM_UP; w += 1) {
    const word = words[w % words.length];
    for (let i = 1; i <= word.length && typed < rounds + WARM_UP; i += 1) {
      keep(search, await inPage("return __bench.search(args[0]);", [word.slice(0, i)]), typed);
      typed += 1;
      await sleep(80); // a quick typist
    }
    await inPage("return __bench.clearSearch();");
    await sleep(300);
  }

  // The list, scrolled down 40 px a frame (a brisk wheel) for 600 frames.
  const listScroll = await inPage("return __bench.scroll('.rows', 40, 600, null);");

  // The long conversation, opened by its outpost:// link (a second start hands it to this
  // one), then scrolled up from its newest message to its first, 120 px a frame.
  const second = spawn(app, [`outpost://conversation/${longId}`], { stdio: "ignore" });
  await new Promise((resolve) => second.on("exit", resolve));
  await inPage("return __bench.opened(args[0]);", [longId]);
  await sleep(1000);
  const longScroll = await inPage(
    "return __bench.scroll('section.conversation .timeline', -120, 6000, '.timeline li.start');",
  );
  // Read in (the rows in the page are only those near the box).
  const messagesShown = await session.execute("return Number(document.querySelector('.timeline ol')?.dataset.messages ?? 0);");
  const reachedStart = await session.execute("return document.querySelector('.timeline li.start') !== null;");
  console.log(JSON.stringify({ click, jk, search, listScroll, longScroll: { ...longScroll, messagesShown, reachedStart } }));
} finally {
  if (session) await session.quit().catch(() => {});
  driver.kill();
}
