import { afterEach, describe, expect, it, vi } from "vitest";
import { ask, changedSincePrefetch, dropPrefetched, peek, prefetch, prefetchArrived, type Bridge } from "./index";
import type { Event, Request, Response } from "../generated/outpost";
import { LIST_DEFAULTS, listQuery } from "../lib/listQuery";

/** A bridge that counts what reaches the core and lets the test send events. */
function counting() {
  const sent: Request[] = [];
  const listeners = new Set<(e: Event) => void>();
  let answer = 0;
  const bridge: Bridge = {
    request: async (r) => {
      sent.push(r);
      answer += 1;
      if (r.type === "list_views") return { type: "error", error: { code: "not_found", message: "That view was not found." } } as Response;
      return { type: "counts", counts: { folders: [], views: [], answer } } as unknown as Response;
    },
    subscribe(on) {
      listeners.add(on);
      return () => listeners.delete(on);
    },
  };
  const emit = (e: Event) => listeners.forEach((l) => l(e));
  return { bridge, sent, emit, listeners };
}

afterEach(() => vi.useRealTimers());

describe("prefetched first-screen reads", () => {
  it("are sent at once and taken once, by the same request", async () => {
    const { bridge, sent } = counting();
    prefetch(bridge, [{ type: "counts" }, { type: "list_teams" }]);
    expect(sent.map((r) => r.type)).toEqual(["counts", "list_teams"]);
    const first = await ask(bridge, { type: "counts" }, "counts");
    expect(sent).toHaveLength(2);
    expect((first.counts as unknown as { answer: number }).answer).toBe(1);
    // Taken: the next ask of the same request goes to the core again.
    const second = await ask(bridge, { type: "counts" }, "counts");
    expect(sent).toHaveLength(3);
    expect((second.counts as unknown as { answer: number }).answer).toBe(3);
  });

  it("are dropped by a change, so nothing stale is shown", async () => {
    const { bridge, sent, emit } = counting();
    prefetch(bridge, [{ type: "counts" }]);
    emit({ type: "changed", conversations: [], contacts: [], folders: true, views: false, agents: false } as unknown as Event);
    await ask(bridge, { type: "counts" }, "counts");
    expect(sent).toHaveLength(2);
  });

  it("are dropped when the agent must sign in, and when they are old", async () => {
    const { bridge, sent } = counting();
    prefetch(bridge, [{ type: "counts" }]);
    dropPrefetched(bridge);
    await ask(bridge, { type: "counts" }, "counts");
    expect(sent).toHaveLength(2);

    vi.useFakeTimers({ toFake: ["performance"] });
    prefetch(bridge, [{ type: "counts" }]);
    vi.advanceTimersByTime(6_000);
    await ask(bridge, { type: "counts" }, "counts");
    expect(sent).toHaveLength(4);
  });

  it("keep their failures for whoever takes them", async () => {
    const { bridge } = counting();
    prefetch(bridge, [{ type: "list_views" }]);
    await expect(ask(bridge, { type: "list_views" }, "views")).rejects.toThrow("That view was not found.");
  });

  it("that have arrived are in a component's first render, once; a change says to read again", async () => {
    const { bridge, sent, emit, listeners } = counting();
    prefetch(bridge, [{ type: "counts" }, { type: "list_teams" }]);
    // Not arrived yet: nothing to peek, the component asks as usual.
    expect(peek(bridge, { type: "counts" }, "counts")).toBeUndefined();
    await prefetchArrived(bridge);
    const counts = peek(bridge, { type: "counts" }, "counts");
    expect((counts?.counts as unknown as { answer: number }).answer).toBe(1);
    expect(peek(bridge, { type: "counts" }, "counts")).toBeUndefined();
    // An answer of another kind than expected is not peeked.
    expect(peek(bridge, { type: "list_teams" }, "teams")).toBeUndefined();
    expect(changedSincePrefetch(bridge)).toBe(false);
    emit({ type: "changed", conversations: [], contacts: [], folders: true, views: false, agents: false } as unknown as Event);
    expect(changedSincePrefetch(bridge)).toBe(true);
    expect(listeners.size).toBe(0);
    expect(sent).toHaveLength(2);
    // A new prefetch starts clean.
    prefetch(bridge, [{ type: "counts" }]);
    expect(changedSincePrefetch(bridge)).toBe(false);
  });

  it("include the list's first page exactly as the list asks for it", () => {
    const q = listQuery({ type: "all" }, LIST_DEFAULTS, null);
    expect(q).toEqual({
      view: { type: "all" },
      state: "open",
      channel: null,
      assignee: null,
      unanswered_only: false,
      sort: "newest_message",
      after: null,
      limit: 100,
    });
    expect(listQuery({ type: "mine" }, { ...LIST_DEFAULTS, assignee: "nobody" }, null).assignee).toEqual({ type: "nobody" });
  });
});
