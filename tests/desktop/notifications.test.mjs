// Triage from notifications, end to end: the real desktop app (tauri-driver + WebKitWebDriver,
// under Xvfb), the demo server, and dunst as the session's real notification daemon. A customer
// writes through the channel's webhook; what dunst shows, and what its actions do, is checked
// with dunstctl (its context menu answered by a script standing in for dmenu, choosing the
// action a file names) and at the server. The tray icon registers with a StatusNotifierWatcher
// standing in for the desktop's tray (sni_watcher.py); the badge is read off the bus.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { desktopSession, sleep, standIn, startDunst, until } from "./session.mjs";

let session, server, app, env, dir, tray;
let signals = "";

const dunstctl = (...args) => execFileSync("dunstctl", args, { env, encoding: "utf8" });
const displayed = () => Number(dunstctl("count", "displayed").trim());

/** dunst's closed notifications, newest first, as {id, appname, summary, body}. */
function history() {
  const raw = JSON.parse(dunstctl("history"));
  return (raw.data[0] ?? []).map((n) => ({
    id: n.id.data,
    appname: n.appname.data,
    summary: n.summary.data,
    body: n.body.data,
  }));
}

/** Chooses `label` in the next context menu dunst opens. */
function choose(label) {
  writeFileSync(join(dir, "choose"), label);
}

/** The conversation of the contact named `name`, as the server has it. */
async function conversationOf(name) {
  const feed = await server.feed();
  const contact = feed.find((c) => c.entity?.type === "contact" && c.entity.data.name === name);
  if (!contact) return null;
  return feed.find((c) => c.entity?.type === "conversation" && c.entity.data.contact_id === contact.entity.data.id)?.entity.data ?? null;
}

before(async () => {
  session = await desktopSession("notify", {
    async beforeApp(e, d) {
      [env, dir] = [e, d];
      // dunst with a "dmenu" that answers its context menu with the line naming the chosen action.
      const menu = join(dir, "menu.sh");
      writeFileSync(menu, `#!/bin/sh\ngrep -F "$(cat '${join(dir, "choose")}')" | head -n 1\n`);
      chmodSync(menu, 0o755);
      choose("none");
      const stopDunst = await startDunst(env, dir, `    dmenu = ${menu}\n`);
      // The desktop's tray, and what the app says on the bus about its badge.
      tray = await standIn("./sni_watcher.py", env);
      const monitor = spawn("dbus-monitor", ["--session", "interface='com.canonical.Unity.LauncherEntry'"], { env, stdio: ["ignore", "pipe", "ignore"] });
      monitor.stdout.on("data", (d) => (signals += d.toString()));
      return [stopDunst, tray.stop, () => monitor.kill()];
    },
  });
  ({ server, app } = session);
  await session.signIn();
  // The first sync ends with one summary of what is unread, never a notification per message.
  const summary = await until("the first sync's summary", () => {
    dunstctl("close-all");
    return history().find((n) => n.appname === "Outpost" && /new messages? in \d+ conversations?|^1 new message$/.test(n.body));
  }, 20_000);
  assert.equal(history().filter((n) => n.appname === "Outpost").length, 1, `only the summary: ${summary.body}`);
});

after(async () => {
  await session?.stop();
});

/** Asks the stand-in tray. */
const trayAsks = (command) => tray.ask(command);

/** The last count the app put on its launcher badge. */
function badge() {
  const counts = [...signals.matchAll(/string "count"\s+variant\s+int64 (\d+)/g)];
  return counts.length ? Number(counts.at(-1)[1]) : null;
}

test("the tray icon shows the unread count, the badge too, and its menu sets availability", async () => {
  // What the server says is unread in open conversations, as the desktop counts it.
  const feed = await server.feed();
  const unread = feed
    .filter((c) => c.entity?.type === "conversation" && c.entity.data.state === "open")
    .reduce((sum, c) => sum + c.entity.data.unread_count, 0);
  assert.ok(unread > 0, "the demo has unread messages");
  const state = await until("the tray shows the count", async () => {
    const s = await trayAsks("state");
    return s.items === 1 && s.label === String(unread) && s;
  });
  assert.deepEqual(state.menu, ["Open Outpost", "Available", "Away", "Do not disturb for 1 hour", "Quit Outpost"]);
  await until("the badge shows the count", () => badge() === unread);

  const me = (await server.login()).agent;
  const availability = async () => (await server.feed()).find((c) => c.entity?.type === "agent" && c.entity.data.id === me.id)?.entity.data.availability;
  await trayAsks("click Away");
  await until("away at the server", async () => (await availability()) === "away");
  await trayAsks("click Available");
  await until("available again", async () => (await availability()) === "available");
});

test("a customer's message is shown by the daemon, and its action assigns the conversation at the server", async () => {
  await server.customerWrites("whatsapp", "5511955550101", "Preciso de ajuda com meu pedido", "Carla Teste");
  await until("the notification is displayed", () => displayed() === 1);
  choose("Assign to me");
  dunstctl("context");
  const me = (await server.login()).agent;
  const c = await until("assigned at the server", async () => {
    const c = await conversationOf("Carla Teste");
    return c?.assignee === me.id && c;
  });
  assert.equal(c.assignee, me.id);
  // dunst leaves a notification up after a context-menu action; closed, it is in the history.
  dunstctl("close-all");
  const shown = history().find((n) => n.summary === "Carla Teste · WhatsApp");
  assert.ok(shown, `the daemon showed it under the contact and channel: ${JSON.stringify(history())}`);
  assert.equal(shown.body, "Preciso de ajuda com meu pedido");
});

test("the notification's Snooze and Close actions reach the server", async () => {
  for (const [from, name, label, state] of [
    ["5511955550111", "Hugo Snooze", "Snooze 1 hour", "snoozed"],
    ["5511955550112", "Iara Close", "Close", "closed"],
  ]) {
    await server.customerWrites("whatsapp", from, "Oi, tudo bem?", name);
    await until(`${name}'s notification is displayed`, () => displayed() === 1);
    choose(label);
    dunstctl("context");
    const c = await until(`${state} at the server`, async () => {
      const c = await conversationOf(name);
      return c?.state === state && c;
    });
    if (state === "snoozed") assert.ok(c.snoozed_until > Date.now() + 55 * 60_000, "for an hour");
    dunstctl("close-all");
  }
});

test("a burst of five messages is one notification that counts them", async () => {
  for (const text of ["Oi", "Tudo bem?", "Meu boleto venceu", "Podem gerar outro?", "Obrigada!"]) {
    await server.customerWrites("whatsapp", "5511955550202", text, "Dora Lima");
  }
  await until("the burst is shown", () => displayed() >= 1);
  // The app has all five when its list says so (each pull replaced the same notification);
  // only then is the notification closed and read back from the daemon's history.
  await until("all five in the app", async () => {
    const unread = await app.execute(
      "const row = [...document.querySelectorAll('.row')].find((r) => r.textContent.includes('Dora Lima')); return row?.querySelector('.unread')?.textContent ?? null;",
    );
    return unread === "5";
  });
  await sleep(500);
  assert.equal(displayed(), 1, "one notification on screen for the burst");
  dunstctl("close-all");
  const dora = history().filter((n) => n.summary === "Dora Lima · WhatsApp");
  assert.ok(dora.length >= 1, "shown");
  assert.equal(dora[0].body, "5 new messages from Dora\nObrigada!");
  // Replaced, never stacked: what the daemon closed for Dora is that one notification.
  assert.equal(new Set(dora.map((n) => n.id)).size, 1, JSON.stringify(dora));
});

test("a missed call is shown by the daemon in its own words, and a click opens its conversation at the call", async () => {
  // It rings (nothing to say yet), then nobody picks up.
  await server.customerCalls("whatsapp", { id: "desktop-call-1", from: "5511955550505", name: "Gil Chamada" });
  await conversationOf("Gil Chamada").then((c) => assert.ok(c, "the call opened a conversation at the server"));
  assert.equal(displayed(), 0, "a ringing call is no notification");
  await server.customerCalls("whatsapp", { id: "desktop-call-1", from: "5511955550505", name: "Gil Chamada", outcome: "missed" });
  await until("the missed call is displayed", () => displayed() === 1);
  // Reported again by the provider: still one.
  await server.customerCalls("whatsapp", { id: "desktop-call-1", from: "5511955550505", name: "Gil Chamada", outcome: "missed" });
  await sleep(500);
  assert.equal(displayed(), 1);
  dunstctl("action", "0");
  await app.waitFor(".conversation h2", { text: "Gil Chamada" });
  await app.waitFor(".timeline .event.call.missed", { text: "Missed call from Gil Chamada" });
  dunstctl("close-all");
  const shown = history().find((n) => n.summary === "Gil Chamada · WhatsApp");
  assert.ok(shown, `shown under the contact and channel: ${JSON.stringify(history().slice(0, 3))}`);
  assert.equal(shown.body, "Missed call");
  // At the server the conversation waits for our reply.
  const c = await conversationOf("Gil Chamada");
  assert.equal(c.unanswered, true);
});

test("clicking a notification opens its conversation in the app", async () => {
  await server.customerWrites("telegram", "5511955550303", "Vocês entregam no sábado?", "Elisa Prado");
  await until("the notification is displayed", () => displayed() === 1);
  dunstctl("action", "0");
  await app.waitFor(".conversation h2", { text: "Elisa Prado" });
});

test("do not disturb, set at the server for this agent, silences the desktop", async () => {
  const { token, agent } = await server.login();
  const settings = {
    agent_id: agent.id,
    enabled: ["message_mine", "message_unassigned", "assigned_to_me", "snooze_woke", "scheduled_failed", "action_refused"],
    muted_when_away: [],
    quiet_hours: null,
    dnd_until: Date.now() + 3_600_000,
  };
  const op = { op_id: randomUUID(), at: Date.now(), action: { type: "save_notify_settings", settings } };
  const r = await fetch(`${server.base}/v1/ops`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ ops: [op] }),
  });
  assert.equal(r.status, 200);
  // The desktop has the settings when its tray says so; then the customer writes: nothing shows.
  await until("the app has do-not-disturb", async () => (await trayAsks("state")).menu.includes("End do not disturb"), 25_000);
  dunstctl("close-all");
  const before = history().length;
  await server.customerWrites("whatsapp", "5511955550404", "Alguém aí?", "Fabio Nunes");
  await conversationOf("Fabio Nunes").then((c) => assert.ok(c, "the message reached the server"));
  // The app has pulled it (its list shows the conversation): whatever it would notify, it has
  // decided. Nothing is on screen, nothing was shown and closed, and nothing comes after.
  await app.waitFor(".row", { text: "Fabio Nunes", timeout: 20_000 });
  const shown = () => `${displayed()} shown; newest: ${JSON.stringify(history().slice(0, 2))}`;
  for (let i = 0; i < 10; i++) {
    assert.equal(displayed(), 0, shown());
    assert.equal(history().length, before, shown());
    await sleep(100);
  }
  // The tray says so, and ends it.
  const dnd = async () => (await server.feed()).find((c) => c.entity?.type === "settings")?.entity.data.dnd_until;
  await until("the tray offers to end it", async () => (await trayAsks("state")).menu.includes("End do not disturb"));
  await trayAsks("click End do not disturb");
  await until("ended at the server", async () => (await dnd()) === null);
  await until("the tray offers it again", async () => (await trayAsks("state")).menu.includes("Do not disturb for 1 hour"));
  await trayAsks("click Do not disturb for 1 hour");
  await until("set again from the tray", async () => (await dnd()) > Date.now() + 50 * 60_000);
});
