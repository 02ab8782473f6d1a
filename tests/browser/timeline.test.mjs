// The timeline and the lists past their first page, in a real browser against the real server: a
// conversation of 500 messages scrolled back to its first (the place kept at each page), a
// search hit opening its conversation at that message, and a folder screen paged to its end.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { shot, signIn, world } from "./harness.mjs";

let w;
const LONG = "Paula Paginada";
const MESSAGES = 500;
const text = (n) => `Mensagem ${String(n).padStart(3, "0")}${n === 7 ? " código de rastreio XK42Q" : ""}`;

before(async () => {
  w = await world();
  // One customer, 500 messages, in order (each webhook answered before the next).
  for (let n = 1; n <= MESSAGES; n++) await w.customerWrites("whatsapp", "5511966660500", text(n), LONG);
});
after(async () => {
  await w?.stop();
});

/** The texts of the messages in the page, in the order shown (only those near the box are). */
const shown = (page) => page.locator(".timeline .bubble .text").allTextContents();
/** How many messages the timeline has read in (whether in the page or not). */
const readIn = (timeline) => timeline.locator("ol").evaluate((l) => Number(l.dataset.messages));

/**
 * Every message of the timeline, top to bottom: scrolled from its top to its end a part of a box
 * at a time, the texts in sight at each step joined where they overlap.
 */
async function readAll(timeline) {
  return timeline.evaluate(async (l) => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const seen = [];
    const at = new Map();
    l.scrollTop = 0;
    for (let step = 0; step < 2000; step++) {
      await frame();
      const box = l.getBoundingClientRect();
      for (const b of l.querySelectorAll(".bubble")) {
        const r = b.getBoundingClientRect();
        if (r.bottom <= box.top || r.top >= box.bottom || at.has(b.dataset.message)) continue;
        at.set(b.dataset.message, r.top + l.scrollTop);
        seen.push({ id: b.dataset.message, text: b.querySelector(".text").textContent, y: r.top + l.scrollTop });
      }
      if (l.scrollTop + l.clientHeight >= l.scrollHeight - 1) break;
      l.scrollTop += l.clientHeight / 2;
    }
    return seen.sort((a, b) => a.y - b.y).map((m) => m.text);
  });
}

test("scrolling up reads older messages to the conversation's first, keeping the place at each page", async () => {
  const page = await w.page();
  await signIn(page, w);
  // The first sync brings each conversation's newest messages before its history: this test is
  // about paging through what is stored, so it waits for the history.
  await page.getByTestId("connection").getByText(/^Online$/).waitFor({ timeout: 60_000 });
  await page.locator(".row", { hasText: LONG }).click();
  const timeline = page.locator(".timeline");
  await timeline.locator(".bubble", { hasText: text(MESSAGES) }).waitFor();
  assert.equal(await readIn(timeline), 50, "the newest page first");
  const first = await shown(page);
  assert.ok(first.length < 50, `only the rows near the box are in the page: ${first.length}`);
  assert.equal(first.at(-1), text(MESSAGES));
  // At the newest: the end of the list is in sight.
  assert.ok(await timeline.evaluate((l) => l.scrollHeight - l.scrollTop - l.clientHeight < 40), "opened at the newest message");
  assert.equal(await timeline.locator(".start").count(), 0, "not the beginning yet");

  let pages = 0;
  while ((await readIn(timeline)) < MESSAGES) {
    assert.ok(++pages < 20, "the first message is reached in a few pages");
    // Scrolled up to just short of where older messages are read (600 px from the top): the
    // message at the top of the box; then a little further, and the older page comes in.
    const count = await readIn(timeline);
    const top = await timeline.evaluate(async (l) => {
      l.scrollTop = 650;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const box = l.getBoundingClientRect();
      const b = [...l.querySelectorAll(".bubble")].find((e) => e.getBoundingClientRect().top >= box.top);
      l.scrollTop = 560;
      return { id: b.dataset.message };
    });
    await page.waitForFunction((n) => Number(document.querySelector(".timeline ol")?.dataset.messages) > n, count);
    await page.waitForFunction(() => document.querySelector(".timeline")?.getAttribute("aria-busy") === "false");
    // What was read stays where the agent saw it scroll to: the old top is still in the box.
    const kept = await timeline.evaluate((l, id) => {
      const b = l.querySelector(`[data-message="${id}"]`);
      if (!b) return `${id} is no longer in the page (scrollTop ${l.scrollTop})`;
      const box = l.getBoundingClientRect();
      const r = b.getBoundingClientRect();
      return r.bottom > box.top && r.top < box.bottom ? true : JSON.stringify({ id, top: r.top, bottom: r.bottom, box: [box.top, box.bottom], scrollTop: l.scrollTop, height: l.scrollHeight });
    }, top.id);
    assert.equal(kept, true, `page ${pages}: the message at the top stays in sight`);
    // Never more than a few screens of rows in the page, however many are read in.
    assert.ok((await shown(page)).length < 60, "the page holds the rows near the box only");
  }
  assert.equal(await readIn(timeline), MESSAGES, "every message read in");
  // At the top: the conversation's beginning, its first message.
  await timeline.evaluate((l) => (l.scrollTop = 0));
  await timeline.locator(".start").waitFor();
  await page.waitForFunction(() => document.querySelector(".timeline")?.getAttribute("aria-busy") === "false");
  assert.equal(await readIn(timeline), MESSAGES, "nothing more to read");
  assert.equal((await shown(page))[0], text(1));
  // All 500 were unread when it opened: the line is above the first.
  const before = await page.evaluate(() => document.querySelector(".timeline .new-messages")?.nextElementSibling?.textContent ?? "");
  assert.ok(before.includes(text(1)), `the new-messages line is at the first unread: ${before}`);
  await shot(page, "timeline-first-message");
  const all = await readAll(timeline);
  assert.equal(all.length, MESSAGES, "every message, once");
  assert.deepEqual(all, Array.from({ length: MESSAGES }, (_, n) => text(n + 1)), "in order, none twice");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a search hit opens its conversation at that message, highlighted", async () => {
  const page = await w.page("pt-BR", "dark");
  await signIn(page, w);
  await page.getByTestId("connection").getByText(/^Conectado$/).waitFor({ timeout: 60_000 });
  await page.locator("input[type=search]").fill("XK42Q");
  const hit = page.locator(".hits button", { hasText: "XK42Q" });
  await hit.click();
  const target = page.locator(".timeline .bubble.highlighted", { hasText: "XK42Q" });
  await target.waitFor();
  const inBox = await page.locator(".timeline").evaluate((l) => {
    const b = l.querySelector(".bubble.highlighted").getBoundingClientRect();
    const box = l.getBoundingClientRect();
    return b.top >= box.top && b.bottom <= box.bottom;
  });
  assert.ok(inBox, "the hit is in sight");
  assert.ok(await target.evaluate((b) => document.activeElement === b), "the hit has the focus (a screen reader reads it)");
  // Older and newer messages around it are there to read on either way.
  await page.locator(".timeline .bubble", { hasText: text(6) }).waitFor();
  await page.locator(".timeline .bubble", { hasText: text(8) }).waitFor();
  await shot(page, "search-hit-dark-pt");
  // The highlight fades; the conversation stays where it is.
  await page.locator(".timeline .bubble.highlighted").waitFor({ state: "detached", timeout: 10_000 });
  assert.ok(await page.locator(".timeline .bubble", { hasText: "XK42Q" }).isVisible(), "still at the hit");
  // Scrolled down, newer pages are there to the newest.
  await page.locator(".timeline").evaluate((l) => (l.scrollTop = l.scrollHeight));
  await page.locator(".timeline .bubble", { hasText: text(MESSAGES) }).waitFor({ timeout: 10_000 });
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a contact is found by name and by number, and opens their conversation", async () => {
  const page = await w.page("es");
  await signIn(page, w);
  const search = page.locator("input[type=search]");
  for (const words of ["Paula Pagi", "5511966660500"]) {
    await search.fill(words);
    const hit = page.locator(".hits button.contact-hit", { hasText: LONG });
    await hit.waitFor();
    assert.match(await hit.textContent(), /\+5511966660500/, "the number is shown");
  }
  await shot(page, "search-contact-es");
  await page.locator(".hits button.contact-hit", { hasText: LONG }).click();
  await page.locator("section.conversation", { hasText: LONG }).locator(".timeline .bubble", { hasText: text(MESSAGES) }).waitFor();
  // Nobody by that name: said so.
  await search.fill("Zacarias Inexistente");
  await page.locator('.list .empty-state[data-query="Zacarias Inexistente"]').waitFor();
  assert.equal(await page.locator(".hits button.contact-hit").count(), 0);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a folder screen reads its next page as it is scrolled, to its last message", async () => {
  const page = await w.page();
  await signIn(page, w);
  // Inbox holds the customers' messages: the demo's and the 500 above.
  const inbox = page.locator("nav.sidebar").getByRole("button", { name: /^Inbox/ });
  const total = Number((await inbox.locator(".count").textContent()).replace(/\D/g, ""));
  assert.ok(total > 400, `Inbox has more than two pages: ${total}`);
  await inbox.click();
  const folder = page.locator("section.folder");
  await folder.locator(".folder-row").first().waitFor();
  assert.equal(await folder.locator(".folder-row").count(), 200, "the first page");
  for (let n = 0; (await folder.locator(".folder-row").count()) < total; n++) {
    assert.ok(n < 50, "the end is reached");
    await folder.evaluate((f) => f.scrollTo({ top: f.scrollHeight }));
    await page.waitForTimeout(50);
  }
  const ids = await folder.locator(".folder-row").evaluateAll((rows) => rows.map((r) => r.textContent));
  assert.equal(ids.length, total, "as many rows as the folder counts");
  assert.equal(await folder.locator(".folder-more").count(), 0, "nothing more to read");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
