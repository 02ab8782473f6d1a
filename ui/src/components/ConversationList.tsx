import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { TFunction } from "i18next";
import { Icon } from "./Icon";
import { useTranslation } from "react-i18next";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { Bridge } from "../bridge";
import { useAgents, useChannels, useConversations, useSearch } from "../data";
import type { Agent, ChannelKind, ConversationState, ConversationSummary, Sort, ViewRef } from "../generated/outpost";
import { CHANNEL_BADGE, CHANNEL_LABEL, when } from "../lib/format";
import { Avatar } from "./Avatar";
import { afterPaint } from "../lib/paint";
import { useNow } from "../lib/now";
import { callIcon, callOutcome, callPreview } from "../lib/calls";
import { LIST_DEFAULTS, listQuery, type ListFilters } from "../lib/listQuery";
import { Failure } from "./Failure";
import { EmptyState } from "./EmptyState";
import type { MessageAt } from "./ConversationView";

const STATES: ConversationState[] = ["open", "closed", "snoozed"];
const SORTS: Sort[] = ["newest_message", "oldest_message", "longest_open", "shortest_open"];
const ROW_HEIGHT = 68;

/** The conversations of a view, under the agent's filters and sort; or, while searching, the hits. */
export function ConversationList({
  bridge,
  view,
  selected,
  onOpen,
  me,
  onListed,
  onWriteFirst,
}: {
  bridge: Bridge;
  view: ViewRef;
  selected: string | null;
  /** Opens a conversation (at a message: a search hit). */
  onOpen: (id: string, at?: MessageAt) => void;
  me: Agent | null;
  /** The listed conversations' ids, in order (for next/previous). */
  onListed?: (ids: string[]) => void;
  onWriteFirst?: () => void;
}) {
  const { t, i18n } = useTranslation();
  const now = useNow();
  const [filters, setFilters] = useState<ListFilters>(LIST_DEFAULTS);
  const [search, setSearch] = useState("");
  // Searched at every keystroke: the mirror answers in well under a millisecond, and the hits
  // shown stay until the next ones are there (no flash of an empty list).
  const searching = search.trim();
  const hits = useSearch(bridge, searching);
  const list = useConversations(bridge, listQuery(view, filters, null));
  const rows = useMemo(() => list.data?.pages.flatMap((p) => p.rows) ?? [], [list.data]);

  // Before the frame is painted (a layout effect), so the report counts from the first frame with rows.
  const listed = list.isFetched || list.data !== undefined;
  useLayoutEffect(() => {
    if (!listed) return;
    if (performance.getEntriesByName("listed").length === 0) performance.mark("listed");
    afterPaint(() => bridge.painted?.());
  }, [listed, bridge]);
  useEffect(() => {
    onListed?.(rows.map((r) => r.conversation.id));
  }, [rows, onListed]);

  return (
    <section className="list" aria-label={t("list.heading")}>
      <div className="list-tools">
        <div className="search-row">
          <input type="search" placeholder={t("list.search")} aria-label={t("list.search")} value={search} onChange={(e) => setSearch(e.target.value)} data-shortcut="search" />
          {onWriteFirst && (
            <button type="button" aria-label={t("writeFirst.button")} title={t("writeFirst.button")} onClick={onWriteFirst}><Icon name="write" /></button>
          )}
        </div>
        <Filters bridge={bridge} filters={filters} onChange={setFilters} />
      </div>
      {searching !== "" && hits.data && !hits.isPlaceholderData && hits.data.messages.length === 0 && hits.data.contacts.length === 0 && hits.data.calls.length === 0 && !hits.data.index_pending ? (
        <EmptyState icon="noResults" query={searching} title={t("empty.list.search", { text: searching })} hint={t("empty.list.searchHint")} />
      ) : searching !== "" ? (
        <ul className="hits" aria-busy={hits.isPlaceholderData} data-query={hits.isPlaceholderData ? undefined : searching}>
          {/* Contacts by name, number or address: a click opens their latest conversation. */}
          {(hits.data?.contacts ?? []).map((h) => (
            <li key={h.contact.id}>
              <button
                type="button"
                className="contact-hit"
                disabled={h.conversation_id === null}
                title={h.conversation_id === null ? t("list.noConversation") : undefined}
                onClick={() => h.conversation_id && onOpen(h.conversation_id)}
              >
                <strong dir="auto">{h.contact.name || (h.contact.phone ? `+${h.contact.phone}` : h.contact.email)}</strong>
                <span className="preview">{[h.contact.phone && `+${h.contact.phone}`, h.contact.email].filter(Boolean).join(" · ") || t("list.contact")}</span>
              </button>
            </li>
          ))}
          {/* The found contacts' calls: a click opens the conversation at the call. */}
          {(hits.data?.calls ?? []).map((h) => (
            <li key={h.call.id}>
              <button type="button" className={`call-hit ${h.call.outcome}`} onClick={() => onOpen(h.call.conversation_id, { id: h.call.id, row: 0 })}>
                <strong dir="auto">{h.contact_name}</strong>
                <span className="preview">
                  <Icon name={callIcon(h.call)} />{" "}
                  {t(`calls.direction.${h.call.direction}`)} · {callOutcome(h.call, t)} · {when(h.call.started_at, now, i18n.language)}
                </span>
              </button>
            </li>
          ))}
          {(hits.data?.messages ?? []).map((h) => (
            <li key={h.message.id}>
              <button type="button" onClick={() => onOpen(h.message.conversation_id, { id: h.message.id, row: h.row })}>
                <strong>{h.contact_name}</strong>
                <span className="preview" dir="auto">{h.message.text}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : list.error ? (
        <Failure error={list.error} className="empty" />
      ) : rows.length === 0 ? (
        listed && <EmptyState icon="done" title={t("empty.list.title")} hint={t(`empty.list.${filters.state}`)} />
      ) : (
        <Rows
          bridge={bridge}
          rows={rows}
          selected={selected}
          me={me}
          onOpen={onOpen}
          onNearEnd={() => {
            if (list.hasNextPage && !list.isFetchingNextPage) void list.fetchNextPage();
          }}
        />
      )}
    </section>
  );
}

/** State tabs, sort, unanswered only, channel and assignee. */
function Filters({ bridge, filters, onChange }: { bridge: Bridge; filters: ListFilters; onChange: (f: ListFilters) => void }) {
  const { t } = useTranslation();
  const { agents } = useAgents(bridge);
  const set = (change: Partial<ListFilters>) => onChange({ ...filters, ...change });
  return (
    <>
      <div className="tabs" role="tablist">
        {STATES.map((s) => (
          <button key={s} type="button" role="tab" aria-selected={filters.state === s} onClick={() => set({ state: s })}>
            {t(`list.${s}`)}
          </button>
        ))}
      </div>
      <div className="filters">
        <label>
          <span className="visually-hidden">{t("list.sort")}</span>
          <select value={filters.sort} onChange={(e) => set({ sort: e.target.value as Sort })} aria-label={t("list.sort")}>
            {SORTS.map((s) => (
              <option key={s} value={s}>{t(`list.${s}`)}</option>
            ))}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={filters.unanswered} onChange={(e) => set({ unanswered: e.target.checked })} />
          {t("list.unanswered")}
        </label>
      </div>
      <div className="filters">
        <select aria-label={t("list.channel")} value={filters.channel ?? ""} onChange={(e) => set({ channel: (e.target.value || null) as ChannelKind | null })}>
          <option value="">{t("list.anyChannel")}</option>
          {(Object.keys(CHANNEL_LABEL) as ChannelKind[]).map((c) => (
            <option key={c} value={c}>{CHANNEL_LABEL[c]}</option>
          ))}
        </select>
        <select aria-label={t("list.assignee")} value={filters.assignee} onChange={(e) => set({ assignee: e.target.value })}>
          <option value="">{t("list.anyone")}</option>
          <option value="nobody">{t("list.unassigned")}</option>
          {agents.map((a) => (
            <option key={a.id} value={a.id}>{a.name}</option>
          ))}
        </select>
      </div>
    </>
  );
}

/**
 * The rows, virtualised (only those in sight are in the page); `onNearEnd` asks for the next page.
 * Scrolling moves the rows without rendering them (the virtualizer writes their positions); a
 * render happens when rows come into sight or leave it, and renders only those (memoised).
 */
function Rows({
  bridge,
  rows,
  selected,
  me,
  onOpen,
  onNearEnd,
}: {
  bridge: Bridge;
  rows: ConversationSummary[];
  selected: string | null;
  me: Agent | null;
  onOpen: (id: string) => void;
  onNearEnd: () => void;
}) {
  const { t, i18n } = useTranslation();
  const { name: nameOf } = useAgents(bridge);
  const { channelName } = useChannels(bridge);
  const now = useNow();
  const scroller = useRef<HTMLDivElement>(null);
  // TanStack Virtual hands back functions the React Compiler cannot memoise: it leaves this
  // component as written (what the warning says), which is what it needs.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    getItemKey: (n) => rows[n]!.conversation.id,
    overscan: 8,
    // Until the list's box is measured (a frame later), assume it is as tall as the window: the
    // first frame already shows the rows.
    initialRect: { width: 0, height: window.innerHeight },
    directDomUpdates: true,
    // Rows placed by `top`, not by a transform (see Timeline.tsx).
    directDomUpdatesMode: "position",
  });
  const items = virtual.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= rows.length - 20) onNearEnd();
  });
  const agentName = (id: string | null) => (id === null ? t("list.unassigned") : id === me?.id ? me.name : (nameOf(id) ?? "…"));
  return (
    <div className="rows" ref={scroller} role="list">
      <div ref={virtual.containerRef} style={{ position: "relative" }}>
        {items.map((item) => {
          const row = rows[item.index]!;
          const c = row.conversation;
          return (
            <ListRow
              key={c.id}
              index={item.index}
              place={virtual.measureElement}
              row={row}
              selected={selected === c.id}
              onOpen={onOpen}
              channelTitle={channelName(c.channel, c.channel_id)}
              assignee={agentName(c.assignee)}
              time={when(c.last_message_at, now, i18n.language)}
              t={t}
            />
          );
        })}
      </div>
    </div>
  );
}

/** One conversation of the list; memoised (every prop is a value or stable while it is unchanged). */
const ListRow = memo(function ListRow({
  index,
  place,
  row,
  selected,
  onOpen,
  channelTitle,
  assignee,
  time,
  t,
}: {
  /** Its place in the list, and the virtualizer's hold on it (it writes where the row goes). */
  index: number;
  place: (element: HTMLDivElement | null) => void;
  row: ConversationSummary;
  selected: boolean;
  onOpen: (id: string) => void;
  channelTitle: string;
  assignee: string;
  time: string;
  t: TFunction;
}) {
  const c = row.conversation;
  const outgoing = c.last_message_direction === "outgoing";
  return (
    <div role="listitem" ref={place} data-index={index} style={{ position: "absolute", left: 0, right: 0, height: ROW_HEIGHT }}>
      <button type="button" className="row" data-id={c.id} aria-current={selected ? "true" : undefined} onClick={() => onOpen(c.id)} style={{ height: "100%" }}>
        <Avatar name={row.contact_name} channel={c.channel}>
          <span className={`channel ${c.channel}`} title={channelTitle}>{CHANNEL_BADGE[c.channel]}</span>
        </Avatar>
        <span className="main">
          <span className="top">
            <span className="name" dir="auto">{row.contact_name}</span>
            <time>{time}</time>
          </span>
          <span className="bottom">
            <span className="preview" dir="auto">
              {outgoing && <span className="you">{t("list.you")}</span>}
              {row.last_call ? (
                <span className={`call-preview ${row.last_call.outcome}`}>
                  <Icon name={callIcon(row.last_call)} /> {callPreview(row.last_call, t)}
                </span>
              ) : (
                c.last_message_preview
              )}
            </span>
            {c.unread_count > 0 && <span className="unread" aria-label={t("list.unread", { count: c.unread_count })}>{c.unread_count}</span>}
          </span>
          <span className="assignee">{assignee}</span>
        </span>
      </button>
    </div>
  );
});
