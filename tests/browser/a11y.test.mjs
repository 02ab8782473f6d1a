// Accessibility: axe-core (the npm package, injected into the page) on each main screen, in
// both themes: sign-in, the inbox, an open conversation, each folder (Calls too), the settings, the account,
// the command palette, the undo toast and the Admin area's tabs. No serious or critical
// violation may remain.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { world, signIn, OWNER } from "./harness.mjs";

const require = createRequire(new URL("../../ui/package.json", import.meta.url));
// Run through the DevTools protocol (the page's CSP allows no script but its own, rightly).
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

let w;
before(async () => {
  w = await world();
  // The Calls screen with calls in it: one missed, one answered.
  await w.customerCalls("whatsapp", { id: "a11y-1", from: "5511944440001", name: "Rita Acessível", outcome: "missed" });
  await w.customerCalls("whatsapp", { id: "a11y-2", from: "5511944440002", name: "Caio Contraste", outcome: "answered", duration_secs: 75 });
});
after(async () => {
  await w.stop();
});

/** The first conversation of the list with messages (the callers' have only a call). */
const withMessages = (page) => page.locator(".row").filter({ hasNotText: /Rita Acessível|Caio Contraste/ }).first();

/** The serious and critical violations axe finds on the page as it is now. */
async function violations(page) {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, first: v.nodes.slice(0, 4).map((n) => `${n.target.join(" ")}: ${n.failureSummary?.split("\n")[1] ?? ""}`) }));
  });
}

/** Checks the screen: collects what axe says under its name; and every screen has one main
 *  landmark and a first-level heading (axe counts those as moderate: required here anyway). */
async function check(page, name, found) {
  await page.waitForTimeout(150);
  const v = await violations(page);
  const landmarks = await page.evaluate(() => ({ main: document.querySelectorAll("main").length, h1: document.querySelectorAll("h1").length }));
  if (landmarks.main !== 1) v.push({ id: "one-main", nodes: landmarks.main });
  if (landmarks.h1 < 1) v.push({ id: "a-heading-one", nodes: 0 });
  if (v.length) found.push({ screen: name, violations: v });
}

for (const scheme of ["light", "dark"]) {
  test(`no serious or critical accessibility violation on a main screen (${scheme})`, async () => {
    const found = [];
    const page = await w.page("en-US", scheme);
    await page.goto(w.url);
    await page.locator("form, .workspace").first().waitFor();
    if (await page.locator(".workspace").count()) {
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.locator("form").first().waitFor();
    }
    await check(page, "sign-in", found);
    await signIn(page, w, OWNER);
    await check(page, "inbox", found);
    await withMessages(page).click();
    await page.locator("section.conversation .bubble").first().waitFor();
    await check(page, "conversation", found);
    for (const folder of ["Inbox", "Flows", "Archived", "Outbox", "Sent", "Scheduled", "Failed", "Calls"]) {
      await page.locator("nav.sidebar").getByRole("button", { name: new RegExp(`^${folder}`) }).click();
      await page.getByRole("heading", { name: folder }).waitFor();
      await check(page, `folder ${folder}`, found);
    }
    await page.locator(".status-bar").getByRole("button", { name: "Notifications" }).click();
    await page.getByRole("dialog").waitFor();
    await check(page, "settings", found);
    await page.keyboard.press("Escape");
    await page.locator(".status-bar").getByRole("button", { name: "Account" }).click();
    await page.getByRole("dialog").waitFor();
    await check(page, "account", found);
    await page.keyboard.press("Escape");
    // The command palette, with a conversation open (its actions listed) and a query typed.
    await page.locator("nav.sidebar").getByRole("button", { name: /^All/ }).click();
    await withMessages(page).click();
    await page.keyboard.press("Control+k");
    await page.getByRole("dialog", { name: "Commands" }).waitFor();
    await check(page, "palette", found);
    await page.getByRole("combobox", { name: "Commands" }).fill("snooze");
    await check(page, "palette filtered", found);
    await page.keyboard.press("Escape");
    // An action's undo toast (the close taken back after).
    await page.locator("body").click({ position: { x: 600, y: 5 } });
    await page.keyboard.press("e");
    await page.getByRole("status").filter({ hasText: "Conversation closed" }).waitFor();
    await check(page, "undo toast", found);
    await page.keyboard.press("Control+z");
    await page.getByRole("status").filter({ hasText: /^Undone/ }).waitFor();
    await page.locator("nav.sidebar").getByRole("button", { name: "Admin" }).click();
    for (const tab of ["Channels", "Agents", "Teams"]) {
      await page.getByRole("tab", { name: tab }).click();
      await check(page, `admin ${tab}`, found);
    }
    // What axe said, kept beside the screenshots for whoever fixes it.
    writeFileSync(new URL(`../../target/a11y-${scheme}.json`, import.meta.url), JSON.stringify(found, null, 2));
    assert.deepEqual(found, [], "serious or critical violations");
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
}
