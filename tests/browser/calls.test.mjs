// The Calls folder (issue 17) in a real browser against the real server: calls the test
// channel's simulated provider reports land in the Calls screen (newest first, filtered by
// direction, outcome and contact, its count in the side bar) and between the messages of their
// conversation, said in English, Portuguese and Spanish; a click opens the conversation at the
// call; search finds a contact's calls.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { shot, signIn, world } from "./harness.mjs";

let w;
const ANA = "Ana Ligação";
const BRUNO = "Bruno Atendido";
const CAIO = "Caio Sem Permissão";

before(async () => {
  w = await world();
  await w.customerWrites("whatsapp", "5511933330001", "Oi, liguei agora há pouco", ANA);
  // Oldest first: Bruno's answered call, a call to Caio that failed, one to Bruno nobody took,
  // then Ana's missed call; one still ringing last.
  await w.customerCalls("whatsapp", { id: "calls-1", from: "5511933330002", name: BRUNO, outcome: "answered", duration_secs: 192 });
  await w.customerCalls("whatsapp", { id: "calls-2", from: "5511933330003", name: CAIO, direction: "outgoing", outcome: "failed", failure: "(#138006) Lack of call request permission" });
  await w.customerCalls("whatsapp", { id: "calls-3", from: "5511933330002", name: BRUNO, direction: "outgoing", outcome: "missed" });
  await w.customerCalls("whatsapp", { id: "calls-4", from: "5511933330001", name: ANA });
  await w.customerCalls("whatsapp", { id: "calls-4", from: "5511933330001", name: ANA, outcome: "missed" });
  // Reported twice by the provider: one call.
  await w.customerCalls("whatsapp", { id: "calls-4", from: "5511933330001", name: ANA, outcome: "missed" });
  await w.customerCalls("whatsapp", { id: "calls-5", from: "5511933330004", name: "Dani Tocando" });
});
after(async () => {
  await w?.stop();
});

const rows = (page) => page.locator(".call-row");
/** Who the first `n` rows name (the demo's own calls, seeded days ago, come after this test's). */
const whoOf = async (page, n = 5) => (await rows(page).locator(".who").allTextContents()).slice(0, n);
/** How many calls the owner's feed holds: the demo's and this test's. */
const callsAtServer = async () => (await w.feed()).filter((c) => c.entity?.type === "call").length;

test("the Calls folder lists every call newest first, filters them, and opens the conversation at the call", async () => {
  const page = await w.page("en-US");
  await signIn(page, w);
  const total = await callsAtServer();
  assert.ok(total >= 5 + 12, `the demo's calls and this test's: ${total}`);
  // A conversation a call began has no message: its row says its newest call instead.
  await page.locator("nav.sidebar").getByRole("button", { name: /^All/ }).click();
  const preview = (name) => page.locator(".list .row", { hasText: name }).locator(".call-preview");
  await preview(CAIO).waitFor();
  assert.deepEqual(
    await Promise.all([BRUNO, CAIO, "Dani Tocando"].map(async (n) => (await preview(n).textContent()).trim())),
    ["Call not answered", "Call failed", "Call in progress"],
  );
  assert.ok(await preview(CAIO).evaluate((e) => e.classList.contains("failed")));
  assert.equal(await page.locator(".list .row", { hasText: ANA }).locator(".call-preview").count(), 0, "Ana wrote: her row says her message");
  await shot(page, "calls-list-en-light");
  const calls = page.locator("nav.sidebar").getByRole("button", { name: /^Calls/ });
  await calls.locator(".count", { hasText: String(total) }).waitFor({ timeout: 20_000 });
  await calls.click();
  await page.getByRole("heading", { name: "Calls" }).waitFor();
  await page.getByText(/answered in WhatsApp on the business’s phone/).waitFor();
  await rows(page).nth(4).waitFor();
  assert.deepEqual(await whoOf(page), ["Dani Tocando", ANA, BRUNO, CAIO, BRUNO]);
  const texts = (await rows(page).locator(".outcome").allTextContents()).slice(0, 5);
  assert.deepEqual(texts, ["In progress", "Missed", "Not answered", "Failed", "3 min 12 s"]);
  assert.match(await rows(page).nth(3).locator(".reason").textContent(), /138006/);
  assert.deepEqual((await rows(page).locator(".direction").allTextContents()).slice(0, 5), ["Received", "Received", "Made", "Made", "Received"]);
  await shot(page, "calls-en-light");

  // Filters: by outcome, by direction, by contact (accents and case ignored).
  // Only missed ones: this test's two first, then the demo's (each missed).
  await page.getByRole("combobox", { name: "Outcome" }).selectOption("missed");
  await page.waitForFunction(() => document.querySelectorAll(".call-row").length > 2 && [...document.querySelectorAll(".call-row .outcome")].every((o) => /Missed|Not answered/.test(o.textContent)));
  assert.deepEqual(await whoOf(page, 2), [ANA, BRUNO]);
  await page.getByRole("combobox", { name: "Direction" }).selectOption("incoming");
  await page.waitForFunction(() => [...document.querySelectorAll(".call-row .outcome")].every((o) => o.textContent === "Missed"));
  assert.deepEqual(await whoOf(page, 1), [ANA]);
  assert.ok((await rows(page).locator(".direction").allTextContents()).every((d) => d === "Received"));
  await page.getByRole("combobox", { name: "Outcome" }).selectOption("");
  await page.getByRole("combobox", { name: "Direction" }).selectOption("");
  await page.getByRole("searchbox", { name: "Filter by contact" }).fill("bruno");
  await page.waitForFunction(() => document.querySelectorAll(".call-row").length === 2);
  assert.deepEqual(await whoOf(page), [BRUNO, BRUNO]);
  await page.getByRole("searchbox", { name: "Filter by contact" }).fill("ligacao");
  await page.waitForFunction(() => document.querySelectorAll(".call-row").length === 1);
  await page.getByRole("searchbox", { name: "Filter by contact" }).fill("nobody like this");
  await page.getByText("No calls match").waitFor();
  await page.getByRole("searchbox", { name: "Filter by contact" }).fill("");
  await page.waitForFunction((n) => document.querySelectorAll(".call-row").length === n, total);

  // A click: the conversation, at the call, highlighted, between the messages.
  await rows(page).filter({ hasText: ANA }).locator("button.open").click();
  await page.locator("section.conversation").getByRole("heading", { name: ANA }).waitFor();
  const line = page.locator(".timeline .event.call.missed");
  await line.waitFor();
  assert.match(await line.textContent(), /^Missed call from Ana Ligação · \d{1,2}:\d{2}/);
  assert.ok(await line.evaluate((e) => e.classList.contains("highlighted")), "the call is highlighted");
  // After the customer's message, in the order they happened.
  const order = await page.locator(".timeline .entry").evaluateAll((es) => es.map((e) => (e.querySelector(".bubble") ? "message" : e.querySelector(".event.call") ? "call" : "event")));
  assert.ok(order.indexOf("message") < order.lastIndexOf("call"), order.join(","));
  // Her first message began the conversation: its first line says so (not "Reopened"), before it.
  assert.ok(order.indexOf("event") < order.indexOf("message"), order.join(","));
  assert.match(await page.locator(".timeline .event:not(.call)").first().textContent(), /^Conversation started · Ana Ligação · /);
  // The missed call left the conversation waiting for a reply.
  const feed = await w.feed();
  const ana = feed.find((c) => c.entity?.type === "contact" && c.entity.data.name === ANA).entity.data;
  const conversation = feed.find((c) => c.entity?.type === "conversation" && c.entity.data.contact_id === ana.id).entity.data;
  assert.equal(conversation.unanswered, true);
  await shot(page, "calls-timeline-en");

  // Search finds the contact's calls; a click opens the conversation at the call.
  await page.locator("nav.sidebar").getByRole("button", { name: /^All/ }).click();
  await page.getByRole("searchbox", { name: "Search conversations and contacts" }).fill("Bruno");
  const hits = page.locator(".hits .call-hit");
  await hits.nth(1).waitFor();
  assert.deepEqual(await hits.locator("strong").allTextContents(), [BRUNO, BRUNO]);
  assert.match(await hits.first().textContent(), /Made · Not answered/);
  await hits.nth(1).click();
  await page.locator(".timeline .event.call.answered", { hasText: "Call with Bruno Atendido · 3 min 12 s" }).waitFor();
  await page.context().close();
});

test("calls are said in Portuguese and Spanish, in both themes", async () => {
  for (const [lang, scheme, heading, missed, with_, hint] of [
    ["pt-BR", "dark", "Ligações", "Ligação perdida de Ana Ligação", "Ligação com Bruno Atendido · 3 min 12 s", /não no Outpost/],
    ["es", "light", "Llamadas", "Llamada perdida de Ana Ligação", "Llamada con Bruno Atendido · 3 min 12 s", /no en Outpost/],
  ]) {
    const page = await w.page(lang, scheme);
    await signIn(page, w);
    await page.locator("nav.sidebar").getByRole("button", { name: /^Todas/ }).click();
    await page.locator(".list .row", { hasText: CAIO }).locator(".call-preview", { hasText: lang === "es" ? "Llamada fallida" : "Ligação com falha" }).waitFor();
    await shot(page, `calls-list-${lang}-${scheme}`);
    await page.locator("nav.sidebar").getByRole("button", { name: new RegExp(`^${heading}`) }).click();
    await page.getByRole("heading", { name: heading }).waitFor();
    await page.getByText(hint).waitFor();
    await rows(page).nth(4).waitFor();
    const outcomes = (await rows(page).locator(".outcome").allTextContents()).slice(0, 5);
    assert.deepEqual(outcomes, lang === "es" ? ["En curso", "Perdida", "No contestada", "Fallida", "3 min 12 s"] : ["Em andamento", "Perdida", "Não atendida", "Com falha", "3 min 12 s"]);
    await shot(page, `calls-${lang}-${scheme}`);
    await rows(page).filter({ hasText: ANA }).locator("button.open").click();
    await page.locator(".timeline .event.call.missed", { hasText: missed }).waitFor();
    assert.match(await page.locator(".timeline .event:not(.call)").first().textContent(), lang === "es" ? /^Conversación iniciada · / : /^Conversa iniciada · /);
    await shot(page, `calls-timeline-${lang}-${scheme}`);
    await page.locator("nav.sidebar").getByRole("button", { name: new RegExp(`^${heading}`) }).click();
    await rows(page).filter({ hasText: BRUNO }).filter({ hasText: "3 min 12 s" }).locator("button.open").click();
    await page.locator(".timeline .event.call.answered", { hasText: with_ }).waitFor();
    await page.context().close();
  }
});
