// The interface in a real browser against the real server: sign in, triage, the folder
// screens, the three languages, and hostile customer text that must stay text.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { OWNER, png, recordNotifications, shot, signIn, world } from "./harness.mjs";

let w;
before(async () => {
  w = await world();
});
after(async () => {
  await w?.stop();
});

test("before signing in: the page follows the system language, and a wrong password is explained", async () => {
  const pt = await w.page("pt-BR");
  await pt.goto(w.url);
  await pt.getByRole("heading", { name: "Entrar no Outpost" }).waitFor();
  await pt.context().close();
  const es = await w.page("es-AR");
  await es.goto(w.url);
  await es.getByRole("heading", { name: "Iniciar sesión en Outpost" }).waitFor();
  await es.context().close();

  const page = await w.page();
  await page.goto(w.url);
  await page.getByLabel(/server address/i).fill(w.base);
  await page.getByLabel(/^email/i).fill(OWNER.email);
  await page.getByLabel(/password/i).fill("errada");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").getByText(/wrong/).waitFor();
  await shot(page, "sign-in-wrong-password");
  assert.equal(await page.getByLabel(/password/i).inputValue(), "", "the password is not kept on screen");
  await page.context().close();
});

test("an agent signs in and triages a conversation: assign, reply, snooze, close", async () => {
  await w.customerWrites("whatsapp", "5511988887777", "Olá, meu pedido #4411 não chegou", "Marina Teste");
  const page = await w.page();
  await signIn(page, w);
  await shot(page, "inbox");
  await page.getByRole("button", { name: /^Unassigned/ }).first().click();
  const row = page.locator(".row", { hasText: "Marina Teste" });
  await row.waitFor();
  await row.click();
  const pane = page.locator("section.conversation");
  await pane.getByText("meu pedido #4411").waitFor();
  // The day it was written, and where the unread part begins (the customer's new message).
  await pane.getByRole("heading", { name: "Today" }).waitFor();
  await pane.locator(".new-messages", { hasText: "New messages" }).waitFor();
  assert.match(await pane.locator(".new-messages + .bubble").innerText(), /meu pedido #4411/);
  await pane.getByRole("button", { name: "Assign to me" }).click();
  await pane.getByRole("button", { name: "Assign to me" }).waitFor({ state: "detached" });

  const composer = pane.getByRole("textbox");
  await composer.fill("Oi Marina! Vou verificar agora.");
  await composer.press("Shift+Enter");
  await composer.type("Um instante.");
  await composer.press("Enter");
  const bubble = pane.locator(".bubble.outgoing", { hasText: "Vou verificar agora." });
  await bubble.waitFor();
  assert.match(await bubble.locator(".text").innerText(), /agora\.\nUm instante\./, "Shift+Enter is a new line");
  assert.equal(await composer.inputValue(), "", "the composer empties");
  // The server takes it: the clock turns into ticks.
  await bubble.locator(".ticks.wired, .ticks.sent, .ticks.delivered, .ticks.read").waitFor({ timeout: 15_000 });
  await shot(page, "conversation");

  // Assigned to me: it left Unassigned for Mine.
  await page.getByRole("button", { name: /^Mine/ }).first().click();
  await page.locator(".row", { hasText: "Marina Teste" }).click();
  await pane.getByText("Snooze").click();
  await pane.getByRole("menuitem", { name: "1 hour" }).click();
  await page.getByRole("tab", { name: "Snoozed" }).click();
  await page.locator(".row", { hasText: "Marina Teste" }).waitFor();
  await page.locator(".row", { hasText: "Marina Teste" }).click();
  await pane.getByRole("button", { name: "Close" }).click();
  // Closing unassigns (PRODUCT.md): it is found among All's closed conversations.
  await page.getByRole("button", { name: /^All/ }).first().click();
  await page.getByRole("tab", { name: "Closed" }).click();
  await page.locator(".row", { hasText: "Marina Teste" }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("folder screens: Failed says why and offers retry and discard; Outbox, Scheduled, Archived list", async () => {
  const page = await w.page();
  await signIn(page, w);
  for (const [folder, name] of [
    ["Failed", "failed"],
    ["Outbox", "outbox"],
    ["Scheduled", "scheduled"],
    ["Archived", "archived"],
  ]) {
    await page.locator("nav.sidebar").getByRole("button", { name: new RegExp(`^${folder}`) }).click();
    await page.getByRole("heading", { name: folder }).waitFor();
    await shot(page, `folder-${name}`);
  }
  await page.locator("nav.sidebar").getByRole("button", { name: /^Failed/ }).click();
  const first = page.locator(".folder-row").first();
  await first.waitFor();
  assert.match(await first.locator(".reason").innerText(), /Why: .+/);
  const before = await page.locator(".folder-row").count();
  await first.getByRole("button", { name: "Discard" }).click();
  await page.waitForFunction((n) => document.querySelectorAll(".folder-row").length === n - 1, before);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a provider's failure is said in the agent's language; an email shows its subject", async () => {
  const page = await w.page("pt-BR");
  await signIn(page, w);
  // The demo's failures are each channel's provider's (WhatsApp's code 131047, a Telegram bot
  // blocked, an SMS gateway's code): said in Portuguese, the provider's own words only where the
  // interface has no sentence of its own.
  await page.locator("nav.sidebar").getByRole("button", { name: /^Com falha/ }).click();
  await page.locator(".folder-row").first().waitFor();
  const reasonOf = (channel) => page.locator(".folder-row", { has: page.locator(".channel", { hasText: channel }) }).first().locator(".reason").innerText();
  assert.match(await reasonOf("WhatsApp"), /mais de 24 horas desde a última mensagem do cliente no WhatsApp/);
  assert.match(await reasonOf("Telegram"), /O cliente bloqueou o bot no Telegram/);
  assert.match(await reasonOf("SMS"), /O SMS recusou \(código 30003\): Unreachable destination handset/);
  await shot(page, "folder-failed-pt");
  // An email keeps its subject, shown above its text (as text: markup stays markup).
  const r = await fetch(w.hooks.email, {
    method: "POST",
    headers: { "content-type": "application/json", "x-outpost-channel-secret": "outpost-demo-channel" },
    body: JSON.stringify({ from: "clara@cliente.example", name: "Clara Assunto", text: "Olá! Meu boleto venceu ontem, podem reenviar?", subject: "Boleto <b>vencido</b> — pedido 7781" }),
  });
  assert.equal(r.status, 200, await r.text());
  await page.locator("nav.sidebar").getByRole("button", { name: /^Sem responsável/ }).first().click();
  await page.locator(".row", { hasText: "Clara Assunto" }).click();
  const subject = page.locator(".bubble .subject", { hasText: "Boleto" });
  await subject.waitFor();
  assert.equal(await subject.innerText(), "Boleto <b>vencido</b> — pedido 7781");
  await page.emulateMedia({ colorScheme: "dark" });
  await shot(page, "email-subject-dark-pt");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("the interface speaks Portuguese and Spanish at the agent's choice", async () => {
  const page = await w.page("en-US");
  await signIn(page, w);
  await page.locator(".status-bar .language select").selectOption("pt-BR");
  await page.locator("nav.sidebar").getByRole("heading", { name: "Pastas" }).waitFor();
  await page.locator("nav.sidebar").getByRole("button", { name: /^Entrada/ }).waitFor();
  await shot(page, "language-pt-BR");
  await page.locator(".status-bar .language select").selectOption("es");
  await page.locator("nav.sidebar").getByRole("heading", { name: "Carpetas" }).waitFor();
  await page.getByRole("tab", { name: "Abiertas" }).waitFor();
  await page.locator(".status-bar .language select").selectOption("en");
  await page.context().close();
});

const HOSTILE = [
  `<script>window.__pwned = 1</script>`,
  `<img src=x onerror="window.__pwned = 2">`,
  `[clique aqui](javascript:window.__pwned=3) javascript:window.__pwned=3`,
  `\u202Egnp.exe\u202C ‮ RTL override`,
  `Z̷̢̛̭̮̤̫͕̙͓̼͙͈̦̳̗͂̈́̓̈́̅͌̄͌̒̆̕͝A̷̢̡̧̛̤̣̳͖̹̭̮͓̤͐̈́̀̀̅͋̒̓̕͝L̵̢̨̛̩͉̰̟̬̦̫̱̑̈́̌̄͑̓̏̐̑̕͘G̸̡̨̛̛̮͎̱̭̯͖̲͇̈́̇̋̋̿̓̈̀̚͝O̵̧̢̡̨̭̱̲̮͕̞̯̐̆̂͊̈́̽̌̀̕͠͝`,
  `👩🏽‍💻👨‍👩‍👧‍👦🏳️‍🌈🇧🇷 família`,
  `${"Muito texto sem espaços".repeat(10)}${"x".repeat(100_000 - 230)}`,
];

test("customer text is never code: hostile messages show as text and the layout holds", async () => {
  for (const text of HOSTILE) await w.customerWrites("telegram", "hostile_customer", text, `<b onmouseover=alert(1)>Hacker</b>`);
  const page = await w.page();
  await signIn(page, w);
  const row = page.locator(".row", { hasText: "<b onmouseover=alert(1)>Hacker</b>" });
  await row.waitFor({ timeout: 15_000 });
  await shot(page, "hostile-list");
  await row.click();
  const pane = page.locator("section.conversation");
  await pane.locator(".bubble.incoming").nth(HOSTILE.length - 1).waitFor();
  const texts = await pane.locator(".bubble.incoming .text").allInnerTexts();
  for (const text of HOSTILE.slice(0, 3)) assert.ok(texts.includes(text), `shown as it was written: ${text}`);
  const found = await page.evaluate(() => ({
    pwned: window.__pwned ?? null,
    scripts: document.querySelectorAll("section.conversation script, .list script").length,
    images: document.querySelectorAll("section.conversation img, .list img").length,
    links: document.querySelectorAll("section.conversation a, .list a").length,
    overflowX: document.documentElement.scrollWidth > document.documentElement.clientWidth,
    timelineOverflowX: (() => {
      const t = document.querySelector(".timeline");
      return t.scrollWidth > t.clientWidth + 1;
    })(),
  }));
  assert.deepEqual(found, { pwned: null, scripts: 0, images: 0, links: 0, overflowX: false, timelineOverflowX: false });
  await shot(page, "hostile-conversation");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("keyboard triage: next/previous, assign, search, and the help overlay", async () => {
  const page = await w.page();
  await signIn(page, w);
  await page.locator("body").click({ position: { x: 5, y: 790 } });
  await page.keyboard.press("?");
  const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await help.waitFor();
  await shot(page, "shortcuts");
  await page.keyboard.press("Escape");
  await help.waitFor({ state: "detached" });

  await page.keyboard.press("j");
  const first = page.locator(".row").nth(0);
  await page.waitForFunction(() => document.querySelectorAll('.row[aria-current="true"]').length === 1);
  assert.equal(await first.getAttribute("aria-current"), "true", "j opens the first conversation");
  const current = () => page.evaluate(() => [...document.querySelectorAll(".row")].findIndex((r) => r.getAttribute("aria-current") === "true"));
  await page.keyboard.press("j");
  await page.waitForFunction(() => document.querySelectorAll(".row")[1]?.getAttribute("aria-current") === "true");
  assert.equal(await current(), 1, "j again: the next one");
  await page.keyboard.press("k");
  await page.waitForFunction(() => document.querySelectorAll(".row")[0]?.getAttribute("aria-current") === "true");
  assert.equal(await current(), 0, "k: back");

  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("type")), "search");
  // Typing in a field is text, not shortcuts.
  await page.keyboard.type("jk?");
  assert.equal(await page.getByRole("dialog").count(), 0);
  assert.equal(await page.locator("input[type=search]").inputValue(), "jk?");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

/** With the server gone: reply and edit the contact; both show at once, and wait. */
async function offlineWork(page, pane) {
  await page.getByTestId("connection").getByText(/Offline/).waitFor({ timeout: 20_000 });
  // Reply, assign, edit the contact: all at once on screen.
  const composer = pane.getByRole("textbox", { name: /Write a reply/ });
  await composer.fill("Abrimos sim, das 9h às 13h.");
  await composer.press("Enter");
  await pane.locator(".bubble.outgoing", { hasText: "das 9h às 13h" }).waitFor();
  await pane.locator(".bubble.outgoing .ticks.pending").first().waitFor();
  await pane.getByRole("button", { name: "Contact card" }).click();
  const card = page.getByRole("complementary", { name: "Contact" });
  await card.getByLabel("Name").fill("Otávio Sábado");
  await card.getByRole("button", { name: "Save" }).click();
  await page.locator(".row", { hasText: "Otávio Sábado" }).waitFor();
  // The reply and the contact edit (and the "read" of opening it, if the server was gone by then).
  await page.getByTestId("waiting").getByText(/^[23] actions waiting$/).waitFor();
  await shot(page, "offline");
  // The Outbox says what waits, and why.
  await page.locator("nav.sidebar").getByRole("button", { name: /^Outbox/ }).click();
  const waiting = page.locator(".folder-row", { hasText: "das 9h às 13h" });
  await waiting.locator(".reason", { hasText: "Waiting to be sent (queued here)" }).waitFor();
  await shot(page, "outbox-offline");
  await page.locator("nav.sidebar").getByRole("button", { name: /^All/ }).click();
  await page.locator(".row", { hasText: "Otávio Sábado" }).click();
}

test("offline: with the server gone the agent keeps working; when it is back everything is applied once", async () => {
  await w.customerWrites("sms", "5521977776666", "Vocês abrem sábado?", "Otávio Offline");
  const page = await w.page();
  await signIn(page, w);
  const row = page.locator(".row", { hasText: "Otávio Offline" });
  await row.waitFor({ timeout: 15_000 });
  await row.click();
  const pane = page.locator("section.conversation");
  await pane.getByText("Vocês abrem sábado?").waitFor();

  await w.stopServer();
  try {
    await offlineWork(page, pane);
  } finally {
    await w.restartServer();
  }
  await page.getByTestId("connection").getByText("Online").waitFor({ timeout: 30_000 });
  await page.getByTestId("waiting").waitFor({ state: "detached", timeout: 30_000 });
  await pane.locator(".bubble.outgoing", { hasText: "das 9h às 13h" }).locator(".ticks.wired, .ticks.sent, .ticks.delivered, .ticks.read").waitFor({ timeout: 15_000 });

  // At the server, once each.
  const feed = await w.feed();
  const replies = feed.filter((c) => c.entity?.type === "message" && c.entity.data?.text === "Abrimos sim, das 9h às 13h.");
  assert.equal(replies.length, 1, "the reply reached the server once");
  const contact = feed.find((c) => c.entity?.type === "contact" && c.entity.data?.name === "Otávio Sábado");
  assert.ok(contact, "the contact's new name reached the server");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("custom views: create one with nested filters, share it, rename it, delete it", async () => {
  const page = await w.page();
  await signIn(page, w);
  const nav = page.locator("nav.sidebar");
  await nav.getByRole("button", { name: "New view" }).click();
  const dialog = page.getByRole("dialog", { name: "New view" });
  await dialog.getByLabel("Name").fill("Brasileiros esperando");
  // All of: country is BR, and any of (last channel WhatsApp, waiting more than 10 minutes).
  const first = dialog.locator(".group .condition").first();
  await first.getByLabel("Field").selectOption("country");
  await first.getByLabel("Value").fill("BR");
  await dialog.getByRole("button", { name: "+ Add a condition" }).first().click();
  await dialog.locator(".group > .condition").nth(1).getByLabel("Condition").selectOption("any");
  const inner = dialog.locator(".group .group");
  await inner.locator(".condition").first().getByLabel("Condition").selectOption("last_channel");
  await inner.getByRole("button", { name: "+ Add a condition" }).click();
  await inner.locator(".condition").nth(1).getByLabel("Condition").selectOption("since_last_incoming");
  await inner.locator(".condition").nth(1).getByLabel("Minutes").fill("10");
  await dialog.getByLabel("Suporte").check();
  await shot(page, "custom-view-editor");
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.waitFor({ state: "detached" });
  await nav.getByRole("button", { name: /^Brasileiros esperando/ }).click();
  await page.locator(".row, .empty-state").first().waitFor();

  // The server has it as written: nested, and shared with the team.
  const view = await w.atServer("the view", (feed) => feed.find((c) => c.entity?.type === "view" && c.entity.data?.name === "Brasileiros esperando")?.entity.data);
  assert.equal(view.filter.type, "all");
  assert.deepEqual(view.filter.of[0], { type: "contact", field: "country", op: "is", value: "BR" });
  assert.equal(view.filter.of[1].type, "any");
  assert.deepEqual(view.filter.of[1].of.map((c) => c.type), ["last_channel", "since_last_incoming"]);
  assert.equal(view.filter.of[1].of[1].minutes, 10);
  assert.equal(view.sharing.teams.length, 1);

  await nav.getByRole("button", { name: "Edit view: Brasileiros esperando" }).click();
  const edit = page.getByRole("dialog", { name: "Edit view" });
  await edit.getByLabel("Name").fill("Brasil, esperando");
  await edit.getByRole("button", { name: "Save" }).click();
  await nav.getByRole("button", { name: /^Brasil, esperando/ }).waitFor();
  await nav.getByRole("button", { name: "Edit view: Brasil, esperando" }).click();
  await page.getByRole("dialog", { name: "Edit view" }).getByRole("button", { name: "Delete" }).click();
  await nav.getByRole("button", { name: /^Brasil, esperando/ }).waitFor({ state: "detached" });
  // The deleted view was on screen: the agent is taken back to All, with its list, not an error.
  await nav.locator('button[aria-current="page"]', { hasText: "All" }).waitFor();
  await page.locator(".row").first().waitFor();
  assert.equal(await page.locator(".list [role=alert]").count(), 0);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("composer: emoji, quick replies with the contact's first name, scheduling, and templates once the window has closed", async () => {
  await w.customerWrites("whatsapp", "5511955554444", "Bom dia!", "Renata Moura");
  const page = await w.page();
  await signIn(page, w);
  await page.locator(".row", { hasText: "Renata Moura" }).click();
  const pane = page.locator("section.conversation");
  const composer = pane.getByRole("textbox", { name: /Write a reply/ });
  await composer.waitFor();
  await pane.getByRole("button", { name: "Quick replies" }).click();
  // The default quick replies are in the agent's language (English here).
  await pane.getByRole("option", { name: /Hello/ }).click();
  assert.match(await composer.inputValue(), /^Hello, Renata! I'm Ana and I'll help you\.$/);
  await pane.getByRole("button", { name: "Emoji" }).click();
  await pane.getByRole("option", { name: "🙏" }).click();
  assert.match(await composer.inputValue(), /help you\.🙏$/);
  await shot(page, "composer");
  // Scheduled for tomorrow: it waits in Scheduled, not in the timeline's sent ones.
  await pane.getByRole("button", { name: "Schedule" }).click();
  const tomorrow = new Date(Date.now() + 86_400_000);
  const local = new Date(tomorrow.getTime() - tomorrow.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  await pane.locator("input[type=datetime-local]").fill(local);
  await pane.locator(".popover.schedule").getByRole("button", { name: "Schedule" }).click();
  assert.equal(await composer.inputValue(), "");
  await page.locator("nav.sidebar").getByRole("button", { name: /^Scheduled/ }).click();
  await page.locator(".folder-row", { hasText: "Hello, Renata! I'm Ana" }).waitFor();

  // An old WhatsApp conversation: free text is closed, the composer asks for a template first.
  await page.locator("nav.sidebar").getByRole("button", { name: /^All/ }).click();
  await page.getByRole("combobox", { name: "Channel" }).selectOption("whatsapp");
  await page.getByRole("combobox", { name: "Sort" }).selectOption("oldest_message");
  // The list has followed the filters: only WhatsApp, the oldest first (not today's Renata).
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll(".row")];
    return rows.length > 0 && rows.every((r) => r.querySelector(".channel")?.textContent === "WA") && !rows[0].textContent.includes("Renata");
  });
  await page.locator(".row").first().click();
  await pane.getByRole("note").getByText(/24-hour window has closed/).waitFor();
  const sendTemplate = pane.getByRole("button", { name: "Send template" });
  assert.equal(await sendTemplate.isDisabled(), true, "nothing to send before a template is named");
  await pane.getByLabel("Template name").fill("retomada_atendimento");
  await pane.getByLabel("Parameters (comma-separated)").fill("Ana, pedido 123");
  await shot(page, "composer-template");
  await sendTemplate.click();
  await pane.locator(".bubble.outgoing").last().waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("write first: a new conversation by SMS to a number typed with punctuation, sent once", async () => {
  const page = await w.page();
  await signIn(page, w);
  await page.getByRole("button", { name: "New conversation" }).click();
  const dialog = page.getByRole("dialog", { name: "Write first" });
  await dialog.getByLabel("Channel").selectOption("sms");
  await dialog.getByLabel(/Phone number/).fill("+55 (21) 98888-7777");
  await dialog.getByLabel("First message").fill("Olá! Aqui é da loja, seu pedido chegou.");
  await shot(page, "write-first");
  await dialog.getByRole("button", { name: "Start" }).click();
  await dialog.waitFor({ state: "detached" });
  const pane = page.locator("section.conversation");
  await pane.locator(".bubble.outgoing", { hasText: "seu pedido chegou" }).waitFor();
  await w.atServer("the first message", (feed) => feed.find((c) => c.entity?.type === "message" && c.entity.data?.text === "Olá! Aqui é da loja, seu pedido chegou."));
  const contacts = (await w.feed()).filter((c) => c.entity?.type === "contact" && c.entity.data?.phone === "5521988887777");
  assert.equal(contacts.length, 1, "one contact, its number in digits");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("closing with a note, and going away, are actions the server records", async () => {
  await w.customerWrites("telegram", "nota_cliente", "Pode encerrar, obrigado", "Nina Nota");
  const page = await w.page();
  await signIn(page, w);
  await page.locator(".row", { hasText: "Nina Nota" }).click();
  const pane = page.locator("section.conversation");
  await pane.getByText("Pode encerrar").waitFor();
  await pane.getByLabel("Close with a note").click();
  await pane.getByRole("textbox", { name: "Closing note (optional)" }).fill("Cliente satisfeito; troca concluída.");
  await pane.getByRole("button", { name: "Close with a note" }).click();
  await pane.getByRole("button", { name: "Reopen" }).waitFor();
  await page.getByRole("combobox", { name: "Availability" }).selectOption("away");
  await w.atServer("closed with its note", (feed) => feed.find((c) => c.entity?.type === "conversation" && c.entity.data?.closing_note === "Cliente satisfeito; troca concluída."));
  await w.atServer("away", (feed) => feed.find((c) => c.entity?.type === "agent" && c.entity.data?.email === "ana.souza0@outpost.example" && c.entity.data?.availability === "away"));
  await page.getByRole("combobox", { name: "Availability" }).selectOption("available");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("scheduled messages are edited and rescheduled from their folder", async () => {
  const page = await w.page();
  await signIn(page, w);
  await page.locator("nav.sidebar").getByRole("button", { name: /^Scheduled/ }).click();
  // Free text three days ahead: on a channel without a 24-hour window (on WhatsApp, Instagram and
  // Messenger the window would have closed by then, and the edit is refused).
  const windowed = page.locator(".channel", { hasText: /^(WhatsApp|Instagram|Messenger)( · test channel)?$/ });
  const row = page.locator(".folder-row").filter({ hasNot: windowed }).first();
  await row.waitFor();
  await row.getByRole("button", { name: "Edit" }).click();
  await row.getByLabel("Text").fill("Lembrete: sua consulta é amanhã às 10h.");
  const later = new Date(Date.now() + 3 * 86_400_000);
  await row.getByLabel("Send at").fill(new Date(later.getTime() - later.getTimezoneOffset() * 60_000).toISOString().slice(0, 16));
  await row.getByRole("button", { name: "Save" }).click();
  await page.locator(".folder-row", { hasText: "Lembrete: sua consulta é amanhã às 10h." }).waitFor();
  const edited = await w.atServer("the edit", (feed) => feed.find((c) => c.entity?.type === "message" && c.entity.data?.text === "Lembrete: sua consulta é amanhã às 10h."));
  assert.equal(edited.entity.data.status, "scheduled");
  assert.ok(Math.abs(edited.entity.data.send_at - later.getTime()) < 120_000, "rescheduled to the chosen minute");
  // On WhatsApp, free text moved past the 24-hour window is refused, and says why.
  const whatsapp = page.locator(".folder-row").filter({ has: page.locator(".channel", { hasText: /^WhatsApp · test channel$/ }) }).first();
  {
    assert.ok((await whatsapp.count()) > 0, "the demo has a scheduled WhatsApp message");
    const before = await whatsapp.locator(".text").innerText();
    await whatsapp.getByRole("button", { name: "Edit" }).click();
    await whatsapp.getByLabel("Text").fill("Fora da janela");
    await whatsapp.getByLabel("Send at").fill(new Date(later.getTime() - later.getTimezoneOffset() * 60_000).toISOString().slice(0, 16));
    await whatsapp.getByRole("button", { name: "Save" }).click();
    await page.getByRole("alert").filter({ hasText: "24-hour window" }).waitFor();
    assert.equal(await page.locator(".folder-row", { hasText: "Fora da janela" }).count(), 0);
    assert.ok(before.length > 0);
  }
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("replying to a message quotes it, in the timeline and at the server", async () => {
  await w.customerWrites("web_chat", "visitante_77", "Qual o prazo de entrega para Recife?", "Rita Resposta");
  const page = await w.page();
  await signIn(page, w);
  await page.locator(".row", { hasText: "Rita Resposta" }).click();
  const pane = page.locator("section.conversation");
  const question = pane.locator(".bubble.incoming", { hasText: "prazo de entrega para Recife" });
  await question.hover();
  await question.getByRole("button", { name: "Reply" }).click();
  await pane.getByRole("note").getByText("Qual o prazo de entrega para Recife?").waitFor();
  const composer = pane.getByRole("textbox", { name: /Write a reply/ });
  await composer.fill("Para Recife, 5 dias úteis.");
  await composer.press("Enter");
  const answer = pane.locator(".bubble.outgoing", { hasText: "Para Recife, 5 dias úteis." });
  await answer.locator(".quote", { hasText: "Qual o prazo de entrega para Recife?" }).waitFor();
  await shot(page, "reply");
  const [asked, sent] = await w.atServer("the question and its answer", (feed) => {
    const find = (text) => feed.find((c) => c.entity?.type === "message" && c.entity.data?.text === text);
    const pair = [find("Qual o prazo de entrega para Recife?"), find("Para Recife, 5 dias úteis.")];
    return pair[0] && pair[1] ? pair : null;
  });
  assert.equal(sent.entity.data.reply_to, asked.entity.data.id, "the answer points at the question");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});


test("attachments: an image and documents are attached, sent, previewed, kept at the server and downloaded", async () => {
  await w.customerWrites("web_chat", "visitante_88", "Pode mandar a foto e o orçamento?", "Fabio Files");
  const page = await w.page();
  await signIn(page, w);
  await page.locator(".row", { hasText: "Fabio Files" }).click();
  const pane = page.locator("section.conversation");
  const image = png(120, 80, [30, 140, 90]);
  const pdf = Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(40_000, 7)]);
  const hostile = '<img src=x onerror="window.__pwned=1">.pdf';
  await pane.getByTestId("file-picker").setInputFiles([
    { name: "produto.png", mimeType: "image/png", buffer: image },
    { name: "orçamento.pdf", mimeType: "application/pdf", buffer: pdf },
    { name: hostile, mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4\nx") },
  ]);
  const staged = pane.getByRole("list", { name: "Files to send" });
  await staged.getByText("orçamento.pdf").waitFor();
  await staged.getByRole("button", { name: `Remove ${hostile}` }).click();
  assert.equal(await staged.locator("li").count(), 2, "the removed file stays behind");
  const composer = pane.getByRole("textbox", { name: /Write a reply/ });
  await composer.fill("Segue a foto e o orçamento");
  await composer.press("Enter");
  const bubble = pane.locator(".bubble.outgoing", { hasText: "Segue a foto e o orçamento" });
  const preview = bubble.locator('.image-file img[src^="blob:"]');
  await preview.waitFor();
  await page.waitForFunction(() => document.querySelector(".bubble.outgoing .image-file img")?.naturalWidth === 120);
  await bubble.getByRole("button", { name: "Download orçamento.pdf" }).waitFor();
  await shot(page, "attachments");

  const sent = await w.atServer("the message with its files", (feed) =>
    feed.find((c) => c.entity?.type === "message" && c.entity.data?.text === "Segue a foto e o orçamento" && ["wired", "sent", "delivered", "read"].includes(c.entity.data.status)),
  );
  const files = sent.entity.data.attachments;
  assert.deepEqual(files.map((a) => [a.name, a.mime, a.size, a.kind]), [
    ["produto.png", "image/png", image.length, "image"],
    ["orçamento.pdf", "application/pdf", pdf.length, "document"],
  ]);
  assert.match(files[0].url, /^\/v1\/attachments\/[0-9a-f-]{36}$/);
  const { token } = await (await fetch(`${w.base}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(OWNER) })).json();
  const kept = await fetch(`${w.base}${files[0].url}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(kept.status, 200);
  assert.deepEqual(Buffer.from(await kept.arrayBuffer()), image, "the server keeps the bytes as attached");

  const [saved] = await Promise.all([page.waitForEvent("download"), bubble.getByRole("button", { name: "Download orçamento.pdf" }).click()]);
  assert.equal(saved.suggestedFilename(), "orçamento.pdf");
  assert.deepEqual(readFileSync(await saved.path()), pdf);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a customer's photo and document show in the timeline, and still open offline once seen", async () => {
  const photo = png(160, 100, [200, 60, 40]);
  const invoice = Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(25_000, 3)]);
  await w.customerSends("whatsapp", "5511966664444", "O produto chegou assim", "Gina Galeria", [
    { name: "defeito.png", mime: "image/png", bytes: photo },
    { name: "nota fiscal.pdf", mime: "application/pdf", bytes: invoice },
  ]);
  const page = await w.page();
  await signIn(page, w);
  const row = page.locator(".row", { hasText: "Gina Galeria" });
  await row.waitFor({ timeout: 15_000 });
  await row.click();
  const pane = page.locator("section.conversation");
  const bubble = pane.locator(".bubble.incoming", { hasText: "O produto chegou assim" });
  const shown = () => page.waitForFunction(() => [...document.querySelectorAll(".bubble.incoming .image-file img")].some((i) => i.naturalWidth === 160));
  await shown();
  await bubble.getByRole("button", { name: "Download nota fiscal.pdf" }).waitFor();
  const [first] = await Promise.all([page.waitForEvent("download"), bubble.getByRole("button", { name: "Download nota fiscal.pdf" }).click()]);
  assert.deepEqual(readFileSync(await first.path()), invoice);
  await shot(page, "customer-files");
  // The photo opens in a viewer, full size, with a download; Esc closes it.
  await bubble.getByRole("button", { name: "View defeito.png" }).click();
  const viewer = page.getByRole("dialog", { name: "defeito.png" });
  await viewer.waitFor();
  await page.waitForFunction(() => document.querySelector(".image-viewer img")?.naturalWidth === 160);
  await shot(page, "image-viewer");
  const [saved] = await Promise.all([page.waitForEvent("download"), viewer.getByRole("button", { name: "Download defeito.png" }).click()]);
  assert.equal(saved.suggestedFilename(), "defeito.png");
  assert.deepEqual(readFileSync(await saved.path()), photo);
  await page.keyboard.press("Escape");
  await viewer.waitFor({ state: "detached" });

  // The server goes away; the agent leaves the conversation and comes back: both files open.
  await w.stopServer();
  try {
    await page.locator(".row").filter({ hasNotText: "Gina Galeria" }).first().click();
    await bubble.waitFor({ state: "detached" });
    await row.click();
    await shown();
    const [offline] = await Promise.all([page.waitForEvent("download"), bubble.getByRole("button", { name: "Download nota fiscal.pdf" }).click()]);
    assert.deepEqual(readFileSync(await offline.path()), invoice, "the same bytes, from this desktop");
  } finally {
    await w.restartServer();
  }
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("web edition: a customer's message is a browser notification whose click opens the conversation; the dialog says the browser allows them", async () => {
  const page = await w.page();
  // The browser's own Notification, recorded as it is used.
  await recordNotifications(page, w);
  await signIn(page, w);
  // An earlier test left this agent away, which keeps the unassigned queue quiet.
  await page.getByRole("combobox", { name: "Availability" }).selectOption("available");
  await w.atServer("available", (feed) => feed.findLast((c) => c.entity?.type === "agent" && c.entity.data?.email === OWNER.email)?.entity.data.availability === "available");
  await page.locator(".row").first().click();

  await w.customerWrites("telegram", "helena_tg", 'Oi! <img src=x onerror="window.__pwned=1"> Vocês entregam hoje?', "Helena Notifica");
  await page.waitForFunction(() => window.__notes.some((n) => n.title.startsWith("Helena Notifica")), null, { timeout: 15_000 });
  const notes = await page.evaluate(() => window.__notes.map(({ title, body, tag }) => ({ title, body, tag })));
  const note = notes.find((n) => n.title.startsWith("Helena Notifica"));
  assert.equal(note.title, "Helena Notifica · Telegram");
  assert.equal(note.body, 'Oi! <img src=x onerror="window.__pwned=1"> Vocês entregam hoje?', "plain text, as written");
  assert.ok(note.tag, "one per conversation");
  await page.evaluate(() => window.__notes.find((n) => n.title.startsWith("Helena Notifica")).note.onclick());
  await page.locator("section.conversation header").getByText("Helena Notifica").waitFor();
  await page.locator(".bubble.incoming", { hasText: "Vocês entregam hoje?" }).waitFor();
  // Open and focused: the next message in it is no notification.
  const before = await page.evaluate(() => window.__notes.length);
  await w.customerWrites("telegram", "helena_tg", "Moro no centro", "Helena Notifica");
  await page.locator(".bubble.incoming", { hasText: "Moro no centro" }).waitFor();
  assert.equal(await page.evaluate(() => window.__notes.length), before);

  await page.getByRole("button", { name: "Notifications" }).click();
  const dialog = page.getByRole("dialog", { name: "Notifications" });
  await dialog.getByRole("group", { name: "This browser" }).getByText("Notifications from this browser are on.").waitFor();
  await shot(page, "notification-settings-web");
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("light and dark themes follow the system", async () => {
  const colors = {};
  for (const scheme of ["light", "dark"]) {
    const page = await w.page("en-US", scheme);
    await signIn(page, w);
    await page.locator(".row").first().click();
    await page.locator(".timeline .bubble").first().waitFor();
    colors[scheme] = await page.evaluate(() => ({
      page: getComputedStyle(document.querySelector("section.conversation")).backgroundColor,
      text: getComputedStyle(document.querySelector(".bubble .text")).color,
    }));
    await shot(page, `theme-${scheme}`);
    await page.context().close();
  }
  const luminance = (rgb) => {
    const [r, g, b] = rgb.match(/\d+/g).map(Number);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  assert.ok(luminance(colors.light.page) > 200 && luminance(colors.light.text) < 80, JSON.stringify(colors.light));
  assert.ok(luminance(colors.dark.page) < 60 && luminance(colors.dark.text) > 180, JSON.stringify(colors.dark));
});

test("notification settings: the agent's choices, quiet hours and do-not-disturb are kept at the server", async () => {
  const page = await w.page();
  await signIn(page, w);
  await page.getByRole("button", { name: "Notifications" }).click();
  const dialog = page.getByRole("dialog", { name: "Notifications" });
  const mine = dialog.getByRole("group", { name: "Notify me about" }).getByLabel("New messages in conversations assigned to others");
  await mine.check();
  await dialog.getByRole("group", { name: "Notify me about" }).getByLabel("A snoozed conversation comes back").uncheck();
  await dialog.getByLabel("Every day, no notifications").check();
  await dialog.getByLabel("Quiet hours start").fill("21:30");
  await dialog.getByLabel("Quiet hours end").fill("07:15");
  await dialog.getByRole("button", { name: "For 1 hour" }).click();
  await dialog.getByRole("status").filter({ hasText: "On until" }).waitFor();
  await shot(page, "notification-settings");
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.waitFor({ state: "detached" });
  const settings = await w.atServer("the settings", (feed) => feed.find((c) => c.entity?.type === "settings")?.entity.data);
  assert.ok(settings.enabled.includes("message_others"));
  assert.ok(!settings.enabled.includes("snooze_woke"));
  assert.deepEqual(settings.quiet_hours, { start: 21 * 60 + 30, end: 7 * 60 + 15 });
  assert.ok(settings.dnd_until > Date.now() + 50 * 60_000 && settings.dnd_until < Date.now() + 61 * 60_000);
  // Opened again, the dialog shows what is stored.
  await page.getByRole("button", { name: "Notifications" }).click();
  const again = page.getByRole("dialog", { name: "Notifications" }).getByLabel("Quiet hours start");
  await again.waitFor();
  assert.equal(await again.inputValue(), "21:30");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("account: a new password signs the agent's other sessions out, and signing out everywhere ends them all", async () => {
  const login = (password) =>
    fetch(`${w.base}/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: OWNER.email, password }),
    });
  const me = (token) => fetch(`${w.base}/v1/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
  // Another desktop of the same agent.
  const elsewhere = (await (await login(OWNER.password)).json()).token;
  assert.equal(await me(elsewhere), 200);

  const page = await w.page();
  await signIn(page, w);
  await page.getByRole("button", { name: "Account" }).click();
  const dialog = page.getByRole("dialog", { name: "Your account" });
  await dialog.getByLabel("Current password").fill("not-the-password");
  await dialog.getByLabel("New password", { exact: true }).fill("uma-senha-nova-2026");
  await dialog.getByLabel("New password again").fill("uma-senha-diferente");
  await dialog.getByRole("button", { name: "Change password" }).click();
  await dialog.getByRole("alert").filter({ hasText: "The two new passwords differ." }).waitFor();
  await dialog.getByLabel("New password again").fill("uma-senha-nova-2026");
  await dialog.getByRole("button", { name: "Change password" }).click();
  await dialog.getByRole("alert").filter({ hasText: "The current password is wrong." }).waitFor();
  await shot(page, "account-dialog");
  await dialog.getByLabel("Current password").fill(OWNER.password);
  await dialog.getByRole("button", { name: "Change password" }).click();
  await dialog.getByRole("status").filter({ hasText: "Password changed" }).waitFor();
  assert.equal(await me(elsewhere), 401, "the other desktop was signed out");
  assert.equal((await login(OWNER.password)).status, 401, "the old password no longer works");
  // This desktop goes on; the password goes back for the other tests.
  await dialog.getByLabel("Current password").fill("uma-senha-nova-2026");
  await dialog.getByLabel("New password", { exact: true }).fill(OWNER.password);
  await dialog.getByLabel("New password again").fill(OWNER.password);
  await dialog.getByRole("button", { name: "Change password" }).click();
  await dialog.getByRole("status").filter({ hasText: "Password changed" }).waitFor();

  const another = (await (await login(OWNER.password)).json()).token;
  await dialog.getByRole("button", { name: "Sign out everywhere" }).click();
  await page.getByRole("button", { name: /sign in/i }).waitFor();
  assert.equal(await page.getByRole("dialog").count(), 0, "the dialog went with the session");
  assert.equal(await me(another), 401, "every session ended");
  assert.deepEqual(page.errors, []);
  await page.context().close();

  // Looked at in the dark theme and in Portuguese.
  for (const [locale, scheme, name, button, title] of [
    ["en-US", "dark", "account-dialog-dark", "Account", "Your account"],
    ["pt-BR", "light", "account-dialog-pt", "Conta", "Sua conta"],
  ]) {
    const p = await w.page(locale, scheme);
    await signIn(p, w);
    await p.getByRole("button", { name: button }).click();
    await p.getByRole("dialog", { name: title }).waitFor();
    await shot(p, name);
    await p.context().close();
  }
});

test("one language: in Portuguese, a refusal, a status and a notification are said in Portuguese, none in English", async () => {
  // Notifications as they are by default (an earlier test chose quiet hours and do not disturb).
  const { token, agent } = await w.login(OWNER);
  const settings = {
    agent_id: agent.id,
    enabled: ["message_mine", "message_unassigned", "assigned_to_me", "snooze_woke", "scheduled_failed", "action_refused"],
    muted_when_away: [],
    quiet_hours: null,
    dnd_until: null,
  };
  const op = { op_id: crypto.randomUUID(), at: Date.now(), action: { type: "save_notify_settings", settings } };
  const saved = await fetch(`${w.base}/v1/ops`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ ops: [op] }),
  });
  assert.equal(saved.status, 200);
  const page = await w.page("pt-BR");
  await recordNotifications(page, w);
  await signIn(page, w);
  await page.getByRole("combobox", { name: "Disponibilidade" }).selectOption("available");

  // A status: the connection, and a message's ticks.
  await page.locator("footer, .status-bar").getByText("Conectado").first().waitFor();

  // A notification: two messages from a customer are counted in Portuguese.
  await w.customerWrites("telegram", "lucia_tg", "Bom dia!", "Lúcia Idioma");
  await page.waitForFunction(() => window.__notes.some((n) => n.title.startsWith("Lúcia Idioma")), null, { timeout: 15_000 });
  await w.customerWrites("telegram", "lucia_tg", "Alguém pode me ajudar?", "Lúcia Idioma");
  await page.waitForFunction(() => window.__notes.some((n) => /2 mensagens novas de Lúcia/.test(n.body ?? "")), null, { timeout: 15_000 });

  // A refusal: away, the agent cannot take a conversation; the core says why, in Portuguese.
  await page.getByRole("combobox", { name: "Disponibilidade" }).selectOption("away");
  await page.locator(".row", { hasText: "Lúcia Idioma" }).click();
  await page.locator("section.conversation").getByRole("button", { name: "Atribuir a mim" }).click();
  const refusal = page.locator("section.conversation").getByRole("alert");
  await refusal.getByText(/está ausente e não recebe novas atribuições/).waitFor();
  await shot(page, "refusal-pt");
  const said = [await refusal.innerText(), ...(await page.evaluate(() => window.__notes.map((n) => `${n.title} ${n.body}`)))].join("\n");
  for (const english of ["is away", "new messages", "receives no", "Online"]) {
    assert.ok(!said.includes(english), `English on a Portuguese screen: ${english} in ${said}`);
  }
  await page.getByRole("combobox", { name: "Disponibilidade" }).selectOption("available");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
