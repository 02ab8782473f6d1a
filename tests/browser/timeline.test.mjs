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

/** The texts of the timeline's messages, in the order shown. */
const shown = (page) => page.locator(".timeline .bubble .text").allTextContents();

test("scrolling up reads older messages to the conversation's first, keeping the place at each page", async () => {
  const page = await w.page();
  await signIn(page, w);
  // The first sync brings each conversation's newest messages before its history: this test is
  // about paging through what is stored, so it waits for the history.
  await page.getByTestId("connection").getByText(/^Online$/).waitFor({ timeout: 60_000 });
  await page.locator(".row", { hasText: LONG }).click();
  const timeline = page.locator(".timeline");
  await timeline.locator(".bubble", { hasText: text(MESSAGES) }).waitFor();
  const first = await shown(page);
  assert.equal(first.length, 50, "the newest page first");
  assert.equal(first.at(-1), text(MESSAGES));
  // At the newest: the end of the list is in sight.
  assert.ok(await timeline.evaluate((l) => l.scrollHeight - l.scrollTop - l.clientHeight < 40), "opened at the newest message");
  assert.equal(await timeline.locator(".start").count(), 0, "not the beginning yet");

  let pages = 0;
  while ((await timeline.locator(".start").count()) === 0) {
    assert.ok(++pages < 20, "the first message is reached in a few pages");
    // Scrolled to the top: the message there, before the older page comes in.
    const count = (await shown(page)).length;
    const top = await timeline.evaluate((l) => {
      l.scrollTop = 0;
      const b = [...l.querySelectorAll(".bubble")].find((e) => e.offsetTop + e.offsetHeight > l.scrollTop);
      return { id: b.dataset.message };
    });
    await page.waitForFunction((n) => document.querySelectorAll(".timeline .bubble").length > n || document.querySelector(".timeline .start"), count);
    await page.waitForFunction(() => document.querySelector(".timeline")?.getAttribute("aria-busy") === "false");
    // What was read stays where the agent saw it scroll to: the old top is still in the box.
    const kept = await timeline.evaluate((l, id) => {
      const b = l.querySelector(`[data-message="${id}"]`);
      const box = l.getBoundingClientRect();
      const r = b.getBoundingClientRect();
      return r.bottom > box.top && r.top < box.bottom ? true : JSON.stringify({ id, top: r.top, bottom: r.bottom, box: [box.top, box.bottom], scrollTop: l.scrollTop, height: l.scrollHeight, n: l.querySelectorAll(".bubble").length });
    }, top.id);
    assert.equal(kept, true, `page ${pages}: the message at the top stays in sight`);
  }
  const all = await shown(page);
  assert.equal(all.length, MESSAGES, "every message, once");
  assert.deepEqual(all, Array.from({ length: MESSAGES }, (_, n) => text(n + 1)), "in order, none twice");
  // All 500 were unread when it opened: the line is above the first.
  const before = await page.evaluate(() => document.querySelector(".timeline .new-messages")?.nextElementSibling?.textContent ?? "");
  assert.ok(before.includes(text(1)), `the new-messages line is at the first unread: ${before}`);
  await shot(page, "timeline-first-message");
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
  // Older and newer messages around it are there to read on either way.
  await page.locator(".timeline .bubble", { hasText: text(6) }).waitFor();
  await page.locator(".timeline .bubble", { hasText: text(MESSAGES) }).waitFor({ state: "attached" });
  await shot(page, "search-hit-dark-pt");
  // The highlight fades; the conversation stays where it is.
  await page.locator(".timeline .bubble.highlighted").waitFor({ state: "detached", timeout: 10_000 });
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
