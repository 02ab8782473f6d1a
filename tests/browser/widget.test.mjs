// The web-chat widget in Chromium: a business's page on another origin, with a strict CSP and
// hostile styles, embeds it with one script tag; a visitor and an agent converse; the agent's
// ticks follow the widget (delivered when it has the message, read when shown); a second
// visitor sees nothing of the first; a site not listed cannot show it; what a visitor writes
// while the server is away is sent once when it is back.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { OWNER, shot, world } from "./harness.mjs";

let w;
let token;
const hosts = [];

/** A business's site on its own origin: one page with the tag, a strict CSP, hostile CSS. */
async function site(base, channel, { csp = true } = {}) {
  const server = createServer((req, res) => {
    if (req.url === "/hostile.css") {
      res.writeHead(200, { "content-type": "text/css" });
      res.end("* { color: red !important; font-size: 40px !important; } iframe { display: block; }");
      return;
    }
    if (req.url === "/host.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      // The page's own script tries to read into the chat: the frame is another origin.
      res.end("window.addEventListener('load', () => setTimeout(() => { const f = document.querySelector('iframe'); try { window.__reached = !!(f && f.contentDocument && f.contentDocument.body); } catch (e) { window.__reached = false; } }, 1500));");
      return;
    }
    const headers = { "content-type": "text/html; charset=utf-8" };
    if (csp) headers["content-security-policy"] = `default-src 'self'; script-src 'self' ${base}; frame-src ${base}; style-src 'self'; connect-src 'self'`;
    res.writeHead(200, headers);
    res.end(`<!doctype html><html lang="pt-BR"><head><title>Loja</title><link rel="stylesheet" href="/hostile.css"></head>
<body><h1>Loja Exemplo</h1><p>Bem-vindo!</p><script src="/host.js"></script><script src="${base}/widget/${channel}.js" async></script></body></html>`);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  hosts.push(server);
  return `http://127.0.0.1:${server.address().port}`;
}

async function api(method, path, body) {
  const r = await fetch(`${w.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

before(async () => {
  w = await world();
  token = (await w.login(OWNER)).token;
});
after(async () => {
  for (const s of hosts) s.close();
  await w?.stop();
});

test("web chat: embedded on another origin under a strict CSP, a visitor and an agent converse", async () => {
  // The demo's test web chat steps aside; the business's real one is listed for its site.
  const channels = (await api("GET", "/v1/admin/channels")).body;
  const demo = channels.find((c) => c.channel.kind === "web_chat");
  await api("PATCH", `/v1/admin/channels/${demo.channel.id}`, { disabled: true });
  const placeholder = await api("POST", "/v1/admin/channels", { kind: "web_chat", name: "Loja Exemplo", settings: { allowed_origins: ["http://127.0.0.1:1"] } });
  assert.equal(placeholder.status, 201);
  const channel = placeholder.body.channel.id;
  const origin = await site(w.base, channel);
  await api("PATCH", `/v1/admin/channels/${channel}`, { settings: { allowed_origins: [origin] } });

  const page = await w.page("pt-BR");
  const started = Date.now();
  await page.goto(origin);
  const chat = page.frameLocator("iframe[data-outpost-widget]");
  const launcher = chat.getByRole("button", { name: /Converse conosco/ });
  await launcher.waitFor();
  const launcherMs = Date.now() - started;
  await shot(page, "widget-launcher");
  // The host's styles stop at the frame; its script cannot read into it.
  await page.waitForFunction(() => window.__reached !== undefined);
  assert.equal(await page.evaluate(() => window.__reached), false);
  const launcherColor = await chat.locator("#launcher").evaluate((b) => getComputedStyle(b).color);
  assert.notEqual(launcherColor, "rgb(255, 0, 0)");

  await launcher.click();
  const panel = chat.getByRole("dialog");
  await panel.getByLabel("Sua mensagem").waitFor();
  await panel.getByLabel("Seu nome").fill("Vera Visitante");
  const hostile = "<img src=x onerror=alert(1)> Olá, meu pedido 123 não chegou";
  await panel.getByLabel("Sua mensagem").fill(hostile);
  await panel.getByLabel("Sua mensagem").press("Enter");
  await panel.locator("li.visitor p", { hasText: "Olá, meu pedido 123" }).waitFor();
  assert.equal(await panel.locator("li.visitor img").count(), 0, "text stays text");

  // At the server: one message, the visitor's name on the contact.
  const incoming = await w.atServer("the visitor's message", (feed) => feed.find((c) => c.entity?.type === "message" && c.entity.data.text === hostile));
  const conversation = incoming.entity.data.conversation_id;
  const contacts = await w.feed();
  assert.ok(contacts.some((c) => c.entity?.type === "contact" && c.entity.data.name === "Vera Visitante"));

  // The agent answers; the panel is open and shown: delivered, then read.
  const reply = crypto.randomUUID();
  const answered = await api("POST", "/v1/ops", { ops: [{ op_id: crypto.randomUUID(), at: Date.now(), action: { type: "send_message", message_id: reply, conversation_id: conversation, text: "Oi Vera, vou verificar agora.", attachments: [], template: null, reply_to: null } }] });
  assert.equal(answered.body?.results?.[0]?.outcome, "applied", JSON.stringify(answered.body));
  await panel.locator("li.us p", { hasText: "vou verificar" }).waitFor();
  const read = await w.atServer("read by the visitor", (feed) => feed.find((c) => c.entity?.type === "message" && c.entity.data.id === reply && c.entity.data.status === "read"));
  assert.deepEqual(read.entity.data.history.map((s) => s.status), ["pending", "sent", "delivered", "read"]);
  await shot(page, "widget-conversation");

  // Closed panel: a new answer reaches the widget (delivered) but is not read until shown.
  await panel.getByRole("button", { name: "Fechar a conversa" }).click();
  const second = crypto.randomUUID();
  await api("POST", "/v1/ops", { ops: [{ op_id: crypto.randomUUID(), at: Date.now(), action: { type: "send_message", message_id: second, conversation_id: conversation, text: "Encontrei: chega amanhã.", attachments: [], template: null, reply_to: null } }] });
  await w.atServer("delivered to the widget", (feed) => feed.find((c) => c.entity?.type === "message" && c.entity.data.id === second && c.entity.data.status === "delivered"));
  await chat.getByRole("button", { name: /1 nova/ }).waitFor();
  await page.waitForTimeout(500);
  const still = (await w.feed()).findLast((c) => c.entity?.type === "message" && c.entity.data.id === second);
  assert.equal(still.entity.data.status, "delivered", "not read while the panel is closed");
  await chat.getByRole("button", { name: /Converse conosco/ }).click();
  await w.atServer("read once shown", (feed) => feed.find((c) => c.entity?.type === "message" && c.entity.data.id === second && c.entity.data.status === "read"));

  // Offline: the server goes away; what the visitor writes waits, and goes once when it is back.
  await w.stopServer();
  await panel.getByLabel("Sua mensagem").fill("Escrevi sem conexão");
  await panel.getByLabel("Sua mensagem").press("Enter");
  await panel.locator("li.visitor", { hasText: "Escrevi sem conexão" }).getByText("Aguardando envio").waitFor();
  await w.restartServer();
  token = (await w.login(OWNER)).token;
  await w.atServer("sent after reconnecting", (feed) => feed.find((c) => c.entity?.type === "message" && c.entity.data.text === "Escrevi sem conexão"));
  await page.waitForTimeout(1500);
  const copies = (await w.feed()).filter((c) => c.entity?.type === "message" && c.entity.data.text === "Escrevi sem conexão");
  assert.equal(new Set(copies.map((c) => c.entity.data.id)).size, 1, "once");
  assert.deepEqual(page.errors, []);

  // A second visitor (another browser) sees nothing of the first's.
  const other = await w.page("es");
  await other.goto(origin);
  const theirs = other.frameLocator("iframe[data-outpost-widget]");
  // (The site says it speaks Portuguese: the chat follows the page's language.)
  await theirs.getByRole("button", { name: /Converse conosco/ }).click();
  await theirs.getByLabel("Sua mensagem").waitFor();
  await other.waitForTimeout(800);
  assert.equal(await theirs.locator("#log li").count(), 0);
  await shot(other, "widget-second-visitor");
  await other.context().close();

  // Looked at in the dark theme too.
  const dark = await w.page("pt-BR", "dark");
  await dark.goto(origin);
  const darkChat = dark.frameLocator("iframe[data-outpost-widget]");
  await darkChat.getByRole("button", { name: /Converse conosco/ }).click();
  await darkChat.getByLabel("Sua mensagem").fill("Boa noite!");
  await shot(dark, "widget-dark");
  await dark.context().close();

  // A site that is not listed cannot show it.
  const stranger = await site(w.base, channel, { csp: false });
  const elsewhere = await w.page();
  await elsewhere.goto(stranger);
  await elsewhere.locator("iframe[data-outpost-widget]").waitFor({ state: "attached" });
  await elsewhere.waitForTimeout(1500);
  assert.equal(await elsewhere.frameLocator("iframe[data-outpost-widget]").locator("#launcher").count(), 0);
  await elsewhere.context().close();
  await page.context().close();
  console.log(`# widget: launcher visible ${launcherMs} ms after navigation`);
});
