import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, render, renderHook, screen } from "@testing-library/react";
import { QueryClientProvider } from "@tanstack/react-query";
import { createData, prefetchFirstScreen, staleAfter, useCounts, useTimeline } from "./index";
import { fakeBridge, timeline } from "../test/fixtures";
import type { Bridge } from "../bridge";
import type { Event, Request, Response } from "../generated/outpost";

afterEach(cleanup);

const changed = (c: Partial<Extract<Event, { type: "changed" }>>): Extract<Event, { type: "changed" }> => ({
  type: "changed", conversations: [], contacts: [], folders: false, views: false, agents: false, journal: false, settings: false, ...c,
});

/** A core whose counts change with every read, and whose timelines name their conversation. */
function core() {
  let reads = 0;
  return fakeBridge((r: Request): Response | undefined => {
    if (r.type === "counts") return { type: "counts", counts: { folders: [["inbox", ++reads]], views: [] } } as unknown as Response;
    if (r.type === "open_conversation") return { type: "timeline", timeline: timeline(r.conversation_id, `Contact ${r.conversation_id}`) };
    if (r.type === "session") return { type: "session", session: {} } as unknown as Response;
    if (r.type === "list_conversations") return { type: "conversations", page: { rows: [], next: null } };
    return { type: "error", error: { code: "not_found", message: "No such thing." } } as Response;
  });
}

function Inbox({ bridge }: { bridge: Bridge }) {
  const counts = useCounts(bridge).data;
  return <p>inbox {counts?.folders[0]?.[1] ?? "…"}</p>;
}

function Opened({ bridge, id }: { bridge: Bridge; id: string }) {
  const t = useTimeline(bridge, id).data;
  return <h2>{t?.contact?.name ?? "…"}</h2>;
}

const settle = () => act(() => new Promise((r) => setTimeout(r, 10)));

describe("the data layer", () => {
  it("asks for the first screen's reads together, and a screen shows them without asking again", async () => {
    const { bridge, sent } = core();
    const data = createData(bridge);
    await prefetchFirstScreen(data, bridge);
    expect(sent.map((r) => r.type)).toEqual(["session", "list_conversations", "counts", "list_teams", "list_views", "list_agents"]);
    render(<QueryClientProvider client={data}><Inbox bridge={bridge} /></QueryClientProvider>);
    // In the first frame, from the prefetch.
    expect(screen.getByText("inbox 1")).toBeTruthy();
    await settle();
    expect(sent.filter((r) => r.type === "counts")).toHaveLength(1);
  });

  it("reads again what a change names, and only that", async () => {
    const { bridge, sent, emit } = core();
    const data = createData(bridge);
    render(
      <QueryClientProvider client={data}>
        <Inbox bridge={bridge} />
        <Opened bridge={bridge} id="A" />
      </QueryClientProvider>,
    );
    expect(await screen.findByText("inbox 1")).toBeTruthy();
    expect(await screen.findByText("Contact A")).toBeTruthy();
    const opened = () => sent.filter((r) => r.type === "open_conversation").length;
    // Another conversation changed: neither the counts nor A is read again.
    emit(changed({ conversations: ["B"] }));
    await settle();
    expect(opened()).toBe(1);
    expect(screen.getByText("inbox 1")).toBeTruthy();
    // A changed, and the folders: both are read again.
    emit(changed({ conversations: ["A"], folders: true }));
    expect(await screen.findByText("inbox 2")).toBeTruthy();
    expect(opened()).toBe(2);
  });

  it("names the reads each kind of change makes stale", () => {
    const keys = (e: Extract<Event, { type: "changed" }>) => staleAfter(e).map((k) => JSON.stringify(k));
    expect(keys(changed({ conversations: ["A"] }))).toEqual(expect.arrayContaining(['["conversations"]', '["timeline","A"]', '["draft","A"]']));
    expect(keys(changed({ conversations: ["A"] }))).not.toContain('["counts"]');
    expect(keys(changed({ views: true }))).toEqual(expect.arrayContaining(['["views"]', '["counts"]', '["teams"]']));
    expect(keys(changed({ settings: true }))).toEqual(['["notify_settings"]']);
    expect(keys(changed({ journal: true }))).toEqual(expect.arrayContaining(['["journal"]', '["folder"]']));
    expect(keys(changed({}))).toEqual([]);
  });
});

describe("a timeline read in pages", () => {
  /** A conversation of `n` messages (rows 1..n, text "m<row>"), answered a page at a time as the core does. */
  function pagedCore(n: number, replyTo: Record<number, number> = {}) {
    const message = (row: number) => ({ id: `m${row}`, row, reply_to: replyTo[row] ? `m${replyTo[row]}` : null, created_at: row });
    return fakeBridge((r: Request): Response | undefined => {
      if (r.type !== "open_conversation") return undefined;
      const before = r.before ?? n + 1;
      const rows: number[] = [];
      for (let row = before - 1; row >= 1 && rows.length < r.limit; row--) rows.unshift(row);
      const more = rows.length === r.limit && rows[0]! > 1;
      const items = rows.map((row) => ({ type: "message", row, message: message(row) }));
      const replied = rows.flatMap((row) => (replyTo[row] && !rows.includes(replyTo[row]!) ? [message(replyTo[row]!)] : []));
      return { type: "timeline", timeline: { ...timeline("A", "Ana"), items, replied, older: more ? rows[0]! : null } } as unknown as Response;
    });
  }

  it("reads older pages, each twice the last, to the first message, oldest first and none twice", async () => {
    const { bridge, sent } = pagedCore(500, { 480: 10 });
    const data = createData(bridge);
    const { result } = renderHook(() => useTimeline(bridge, "A"), {
      wrapper: ({ children }) => <QueryClientProvider client={data}>{children}</QueryClientProvider>,
    });
    await act(() => new Promise((r) => setTimeout(r, 20)));
    expect(result.current.data!.items.length).toBe(50);
    // The message 480 replies to is not in the page: it is in the reply context.
    expect(result.current.data!.replied.map((m) => m.id)).toEqual(["m10"]);
    while (result.current.hasNextPage) await act(async () => void (await result.current.fetchNextPage()));
    const rows = result.current.data!.items.map((i) => (i.type === "message" ? i.row : -1));
    expect(rows).toEqual(Array.from({ length: 500 }, (_, n) => n + 1));
    expect(result.current.data!.older).toBeNull();
    // Once m10 is read in, it is no longer reply context.
    expect(result.current.data!.replied).toEqual([]);
    const limits = sent.flatMap((r) => (r.type === "open_conversation" ? [r.limit] : []));
    expect(limits).toEqual([50, 100, 200, 400]);
  });
});
