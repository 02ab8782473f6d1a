// Click on a conversation -> painted timeline, in the web edition, in Debian's Chromium: part of
// `cargo xtask bench desktop`. Usage: node click-to-timeline.mjs URL CLICKS
// Prints one JSON line: {"painted": [ms...], "committed": [ms...]}.
//
// Each click is timed inside the page: from the click to the moment the DOM shows the clicked
// conversation's timeline (a MutationObserver: "committed"), and to the end of the frame that
// shows it (an animation frame, then a message after it: "painted").
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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
  for (let i = 0; i < clicks + 5; i += 1) {
    const result = await page.evaluate(async (i) => {
      const rows = [...document.querySelectorAll(".row")];
      const current = document.querySelector("section.conversation h2")?.textContent ?? null;
      // The next row whose contact differs from the one open (so the change is visible).
      let row = null;
      for (let k = 0; k < rows.length && !row; k += 1) {
        const candidate = rows[(i + k) % rows.length];
        const name = candidate.querySelector(".name")?.textContent;
        if (name && name !== current) row = candidate;
      }
      if (!row) return null;
      const name = row.querySelector(".name").textContent;
      const shown = () =>
        document.querySelector("section.conversation:not([aria-busy]) h2")?.textContent === name &&
        document.querySelectorAll("ol.timeline > li").length > 0;
      const t0 = performance.now();
      row.click();
      await new Promise((resolve) => {
        if (shown()) return resolve();
        const watch = new MutationObserver(() => {
          if (shown()) {
            watch.disconnect();
            resolve();
          }
        });
        watch.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
      });
      const dom = performance.now() - t0;
      await new Promise((resolve) =>
        requestAnimationFrame(() => {
          const channel = new MessageChannel();
          channel.port1.onmessage = () => resolve();
          channel.port2.postMessage(null);
        }),
      );
      return { committed: dom, painted: performance.now() - t0 };
    }, i);
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
