// Click on a conversation -> painted timeline, in the web edition, in Debian's Chromium: part of
// `cargo xtask bench desktop`. Usage: node click-to-timeline.mjs URL CLICKS
// Prints one JSON line: {"painted": [ms...], "committed": [ms...]}.
//
// Each click is timed inside the page, as in the desktop app (in-page.mjs).
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { install } from "./in-page.mjs";

// playwright-core is the interface's dev dependency (ui/package.json).
const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const { chromium } = createRequire(join(root, "ui/package.json"))("playwright-core");

const [url, clicksArg] = process.argv.slice(2);
const clicks = Number(clicksArg ?? 200);
const browser = await chromium.launch({
  executablePath: process.env.OUTPOST_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(url);
  await page.locator(".row").first().waitFor({ timeout: 60_000 });
  // Warm up: the first opening loads code and fills caches; it is not what an agent triaging feels.
  const painted = [];
  const committed = [];
  await page.evaluate(`(${install})();`);
  for (let i = 0; i < clicks + 5; i += 1) {
    const result = await page.evaluate((i) => window.__bench.click(i), i);
    if (!result) throw new Error("no conversation to click");
    if (i >= 5) {
      painted.push(result.painted);
      committed.push(result.committed);
    }
    // An agent reads between clicks (a quarter of a second even at a fast j/k pace): the
    // mark-as-read and the refreshes it causes run in that time, as they would.
    await page.waitForTimeout(250);
  }
  console.log(JSON.stringify({ painted, committed }));
} finally {
  await browser.close();
}
