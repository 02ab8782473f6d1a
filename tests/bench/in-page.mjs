// What the interface benchmarks measure, inside the page (the desktop app's WebKitGTK through
// WebDriver, the web edition's Chromium through playwright-core): `install` is sent to the page
// as source and sets `window.__bench`. Every figure is taken with the page's own clock, from the
// moment the interaction is dispatched to the end of the frame that shows its result:
//
// - "committed": the DOM shows the result (a MutationObserver);
// - "painted": that frame is done: an animation frame, then a message posted from it (it runs
//   once the frame's style, layout and paint are finished).
//
// Scrolling moves a scroller a fixed distance each frame and records, for each frame, its work:
// from the first thing the frame did (the scroll event, or the animation frame) to the end of
// its paint (the message); and the interval between frames (what the eye sees: a late frame is a
// dropped one).

/** Sets `window.__bench` (runs in the page). */
export function install() {
  // One channel for every "this frame is done" message, in order. (A new channel a frame, never
  // closed, made WebKitGTK slower with every frame: WebKit keeps an open port alive, and each
  // frame's work grew ~60 ms over a thousand frames, the measure inflating what it measured.)
  const channel = new MessageChannel();
  const waiting = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  const whenFrameDone = (then) => {
    waiting.push(then);
    channel.port2.postMessage(null);
  };
  const afterFrame = () => new Promise((resolve) => requestAnimationFrame(() => whenFrameDone(resolve)));
  const until = (test, ms = 10_000) =>
    new Promise((resolve, reject) => {
      if (test()) return resolve();
      const timer = setTimeout(() => {
        watch.disconnect();
        reject(new Error("the page never showed the result"));
      }, ms);
      const watch = new MutationObserver(() => {
        if (test()) {
          clearTimeout(timer);
          watch.disconnect();
          resolve();
        }
      });
      watch.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
  const timed = async (act, shown) => {
    const t0 = performance.now();
    act();
    await until(shown);
    const committed = performance.now() - t0;
    await afterFrame();
    return { committed, painted: performance.now() - t0 };
  };
  const openId = () => document.querySelector("section.conversation[data-conversation]")?.dataset.conversation ?? null;
  // The conversation `id` is open, its timeline in the page.
  const shows = (id) => () => {
    const section = document.querySelector(`section.conversation[data-conversation="${id}"]`);
    return section !== null && section.querySelector(".timeline li") !== null;
  };
  // The search box holds `text`, as if typed (React reads the input event).
  const typeInSearch = (text) => {
    const input = document.querySelector("input[type=search]");
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set.call(input, text);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  };
  const showsAnotherThan = (before) => () => {
    const id = openId();
    return id !== null && id !== before && shows(id)();
  };

  window.__bench = {
    /** Click on the `i`th listed row (not the open one) → its timeline painted. */
    async click(i) {
      const open = openId();
      const rows = [...document.querySelectorAll(".row[data-id]")].filter((r) => r.dataset.id !== open);
      const row = rows[i % rows.length];
      if (!row) throw new Error("no conversation to click");
      return timed(() => row.click(), shows(row.dataset.id));
    },
    /** A triage key (j: next, k: previous) → the conversation it opens painted. */
    async key(key) {
      const before = openId();
      if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
      return timed(
        () => document.body.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true })),
        showsAnotherThan(before),
      );
    },
    /** The search box now holds `text` (one keystroke more) → its hits painted. */
    async search(text) {
      return timed(
        () => typeInSearch(text),
        // Its hits, or that there are none.
        () => document.querySelector(`.list [data-query="${CSS.escape(text.trim())}"]`) !== null,
      );
    },
    /** Empties the search box (the list is back). */
    async clearSearch() {
      typeInSearch("");
      await until(() => document.querySelector(".row[data-id]") !== null);
      await afterFrame();
    },
    /** Waits until the conversation `id` is open and painted. */
    async opened(id) {
      await until(shows(id), 60_000);
      await afterFrame();
    },
    /**
     * Scrolls `selector` by `step` px a frame (negative: up) for at most `frames` frames, or
     * until it can go no further and `end` (a selector) matches, when given. Returns each
     * frame's work and the intervals between frames, in ms, and how far it went.
     */
    async scroll(selector, step, frames, end) {
      const scroller = document.querySelector(selector);
      if (!scroller) throw new Error(`nothing matches ${selector}`);
      const finished = () => !end || document.querySelector(end) !== null;
      const work = [];
      const intervals = [];
      let started = null; // the first thing this frame did
      const onScroll = () => {
        started ??= performance.now();
      };
      document.addEventListener("scroll", onScroll, { capture: true, passive: true });
      let last = null;
      let still = 0;
      const from = scroller.scrollTop;
      try {
        for (let n = 0; n < frames; n += 1) {
          const frame = await new Promise((resolve) =>
            requestAnimationFrame((at) => {
              const begun = Math.min(started ?? performance.now(), performance.now());
              started = null;
              const before = scroller.scrollTop;
              scroller.scrollTop = before + step;
              whenFrameDone(() => resolve({ at, work: performance.now() - begun, moved: scroller.scrollTop !== before }));
            }),
          );
          work.push(frame.work);
          if (last !== null) intervals.push(frame.at - last);
          last = frame.at;
          // At the end: stop once it stayed there a while (an older page may still come) and
          // what it waits for is there.
          still = frame.moved ? 0 : still + 1;
          if (still >= 30 && finished()) break;
        }
      } finally {
        document.removeEventListener("scroll", onScroll, { capture: true });
      }
      return { work, intervals, distance: Math.abs(scroller.scrollTop - from), height: scroller.scrollHeight };
    },
  };
}
