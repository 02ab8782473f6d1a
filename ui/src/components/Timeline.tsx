import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { Bridge } from "../bridge";
import type { Message, Timeline as TimelineData } from "../generated/outpost";
import { dayLabel, dayOf } from "../lib/format";
import { CallLine, EventLine, MessageBubble, quotedOf, wrappedLines } from "./TimelineItems";

type Item = TimelineData["items"][number];

/**
 * What the top of the timeline says: its beginning, or older messages still on their way (a first
 * sync); while older pages can be read, nothing (they are read as it is scrolled to).
 */
export type Edge = "start" | "arriving" | null;

/**
 * One row of the timeline as it is laid out: the edge at its top, or an item (a message or an
 * event) with the day separator and the "new messages" line that go before it.
 */
type Row = { key: string; edge: Exclude<Edge, null> } | { key: string; item: Item; at: number; newDay: boolean; unread: boolean; edge?: undefined };

/** Pixels from the top within which scrolling up reads older messages. */
const NEAR_TOP_PX = 600;
/** Pixels from the end within which the newest message counts as in sight (a new one is followed). */
const NEAR_END_PX = 40;
/** The list's padding above its first row and below its last. */
const PAD = 14;

const keyOf = (item: Item) => (item.type === "message" ? item.message.id : item.type === "call" ? item.call.id : item.event.id);
const atOf = (item: Item) => (item.type === "message" ? item.message.created_at : item.type === "call" ? item.call.started_at : item.event.at);

/**
 * A row's height before it is measured, as close as text alone tells (a row measured at another
 * height moves the rows after it, and the box with them when it is above): a one-line message is
 * 47 px with the space after it, each further line ~19 px (`wrappedLines`), the sender's name
 * on the agent's side, a file, a quote, a subject.
 */
function estimate(row: Row): number {
  if (row.edge) return 36;
  const before = (row.newDay ? 32 : 0) + (row.unread ? 30 : 0);
  if (row.item.type !== "message") return before + 32;
  const m = row.item.message;
  return (
    before +
    47 +
    19 * (wrappedLines(m.text) - 1) +
    (m.direction === "outgoing" ? 14 : 0) +
    56 * m.attachments.length +
    (m.reply_to ? 40 : 0) +
    (m.subject ? 22 : 0)
  );
}

/**
 * A conversation's timeline: only the rows in sight (and a few either side) are in the page, so a
 * conversation of thousands of messages opens and scrolls like one of ten. Heights are measured
 * as rows come into sight. Opened at the newest message, at the first unread (when the unread part
 * is taller than the box) or at the message asked for (centred, highlighted); older messages read
 * in above keep what the agent is reading where it is; a new message at the end is followed when
 * the end was in sight.
 */
export function TimelineRows({
  bridge,
  timeline,
  edge,
  firstUnread,
  at,
  highlight,
  reading,
  busy,
  now,
  agentName,
  onNearTop,
  onError,
  onReply,
}: {
  bridge: Bridge;
  timeline: TimelineData;
  edge: Edge;
  /** The first message that was unread when the conversation opened. */
  firstUnread: string | null;
  /** Open at this message instead of the newest, once it is read in. */
  at: string | null;
  /** The message shown highlighted (a search hit). */
  highlight: string | null;
  /** Older messages are being read. */
  reading: boolean;
  /** Older messages are being read, or the message asked for is not read in yet. */
  busy: boolean;
  now: number;
  agentName: (id: string | null) => string | null;
  /** Scrolled near the top (or still there after a page came in): read the next older page. */
  onNearTop: () => void;
  onError: (e: string) => void;
  onReply: (m: Message) => void;
}) {
  const { t, i18n } = useTranslation();
  const scroller = useRef<HTMLDivElement>(null);
  const rows = useMemo(() => rowsOf(timeline.items, edge, firstUnread), [timeline.items, edge, firstUnread]);
  const messages = useMemo(() => timeline.items.reduce((n, i) => n + (i.type === "message" ? 1 : 0), 0), [timeline.items]);
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: (n) => estimate(rows[n]!),
    getItemKey: (n) => rows[n]!.key,
    overscan: 4,
    paddingStart: PAD,
    paddingEnd: PAD,
    // Older pages come in above: what is in sight stays where it is; a new message at the end
    // is followed while the end is in sight.
    anchorTo: "end",
    followOnAppend: true,
    scrollEndThreshold: NEAR_END_PX,
    // The first frame already lays out the newest rows (it is opened at the end), in a box
    // assumed as tall as the window until it is measured.
    initialRect: { width: 0, height: window.innerHeight },
    initialOffset: () => rows.reduce((sum, r) => sum + estimate(r), 0),
    directDomUpdates: true,
    // Rows placed by `top`, not by a transform: WebKitGTK without compositing (software paint)
    // gives each transformed row a layer of its own to paint.
    directDomUpdatesMode: "position",
  });

  // Opened: at the message asked for once it is read in, else at the first unread when the
  // unread part is taller than the box, else at the newest. Written to the box directly (the
  // virtualizer follows its scroll events): a scroll command of the virtualizer's would go on
  // retargeting for a moment, and pull back an agent who scrolls at once.
  const placed = useRef(false);
  const focusPending = useRef(false);
  useLayoutEffect(() => {
    const box = scroller.current;
    if (placed.current || !box || rows.length === 0) return;
    if (at !== null) {
      const n = rows.findIndex((r) => r.key === at);
      if (n < 0) return; // older pages are being read until it is there
      placed.current = true;
      focusPending.current = true;
      const [offset] = virtual.getOffsetForIndex(n, "center") ?? [box.scrollHeight];
      box.scrollTop = offset;
      return;
    }
    placed.current = true;
    const line = rows.findIndex((r) => !r.edge && r.unread);
    const lineAt = line >= 0 ? virtual.measurementsCache[line]?.start : undefined;
    box.scrollTop = lineAt !== undefined && lineAt < box.scrollHeight - box.clientHeight ? lineAt : box.scrollHeight;
  });

  // The message asked for, once it is in the page: focused (a screen reader reads it).
  useEffect(() => {
    if (!focusPending.current || at === null) return;
    const element = scroller.current?.querySelector<HTMLElement>(`[data-message="${CSS.escape(at)}"]`);
    if (!element) return;
    focusPending.current = false;
    element.focus({ preventScroll: true });
  });

  // Near the top, whether scrolled there or still there when a page came in: the next page.
  // From where the virtualizer has the box (reading the box's own scroll and heights here
  // would lay the page out again at every scroll event).
  const nearTop = () => {
    const offset = virtual.scrollOffset;
    const height = virtual.scrollRect?.height ?? 0;
    if (placed.current && offset !== null && offset < NEAR_TOP_PX && virtual.getTotalSize() > height) onNearTop();
  };
  useEffect(nearTop);

  // The newest message as it arrives, said to screen readers (the rows coming and going as the
  // agent scrolls are not announced).
  const said = useNewest(timeline.items, t);

  const items = virtual.getVirtualItems();
  return (
    <div className="timeline" ref={scroller} onScroll={nearTop} aria-busy={busy}>
      {/* Not a row: a row that comes and goes at the top would be what the place is kept by
          when the page it announces lands above. */}
      {reading && (
        <div className="reading-older" aria-hidden="true">
          <span>{t("conversation.loadingOlder")}</span>
        </div>
      )}
      <ol ref={virtual.containerRef} aria-label={t("conversation.messages")} data-messages={messages}>
        {items.map((v) => {
          const row = rows[v.index]!;
          if (row.edge) {
            return (
              <li key={v.key} ref={virtual.measureElement} data-index={v.index} className={EDGE_CLASS[row.edge]}>
                <span>{t(EDGE_TEXT[row.edge])}</span>
              </li>
            );
          }
          const item = row.item;
          return (
            <li key={v.key} ref={virtual.measureElement} data-index={v.index} className="entry">
              {row.newDay && <h3 className="day">{dayLabel(row.at, now, i18n.language)}</h3>}
              {row.unread && (
                <p className="new-messages">
                  <span>{t("conversation.newMessages")}</span>
                </p>
              )}
              {item.type === "message" ? (
                <MessageBubble m={item.message} quoted={quotedOf(item.message, timeline)} locale={i18n.language} bridge={bridge} onError={onError} onReply={onReply} highlighted={highlight === item.message.id} />
              ) : item.type === "call" ? (
                <CallLine call={item.call} name={timeline.contact?.name ?? ""} locale={i18n.language} highlighted={highlight === item.call.id} />
              ) : (
                <EventLine e={item.event} locale={i18n.language} agentName={agentName} />
              )}
            </li>
          );
        })}
      </ol>
      <p className="visually-hidden" aria-live="polite">
        {said}
      </p>
    </div>
  );
}

const EDGE_CLASS = { start: "start", arriving: "loading-older" } as const;
const EDGE_TEXT = { start: "conversation.start", arriving: "conversation.olderArriving" } as const;

/** The rows of `items`: the edge first, then each item with what goes before it. */
function rowsOf(items: Item[], edge: Edge, firstUnread: string | null): Row[] {
  const rows: Row[] = [];
  if (edge) rows.push({ key: "edge", edge });
  let previousDay: string | null = null;
  for (const item of items) {
    const at = atOf(item);
    const day = dayOf(at);
    rows.push({ key: keyOf(item), item, at, newDay: day !== previousDay, unread: item.type === "message" && item.message.id === firstUnread });
    previousDay = day;
  }
  return rows;
}

/** What to announce of the customer's newest message when one arrives after the conversation opened. */
function useNewest(items: Item[], t: (key: string, options?: Record<string, unknown>) => string): string {
  const newest = useMemo(() => {
    for (let n = items.length - 1; n >= 0; n--) {
      const item = items[n]!;
      if (item.type === "message" && item.message.direction === "incoming") return item.message;
    }
    return null;
  }, [items]);
  const [opened] = useState(() => newest?.id ?? null);
  if (!newest || newest.id === opened) return "";
  return t("conversation.said", { name: newest.sender.name, text: newest.text });
}
