import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { afterPaint } from "../lib/paint";
import { useTranslation } from "react-i18next";
import { useVirtualizer } from "@tanstack/react-virtual";
import { ask, peek, type Bridge } from "../bridge";
import { useLoad } from "../lib/prefetched";
import type {
  Agent,
  ChannelKind,
  ConversationState,
  ConversationSummary,
  ListCursor,
  ListQuery,
  MessageHit,
  Sort,
  ViewRef,
} from "../generated/outpost";
import { CHANNEL_BADGE, CHANNEL_LABEL, initials, when } from "../lib/format";
import { useEvents } from "../lib/events";
import { useAgents } from "../lib/agents";
import { LIST_DEFAULTS, listQuery } from "../lib/listQuery";

const STATES: ConversationState[] = ["open", "closed", "snoozed"];
const SORTS: Sort[] = ["newest_message", "oldest_message", "longest_open", "shortest_open"];
const ROW_HEIGHT = 68;

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
  onOpen: (id: string) => void;
  me: Agent | null;
  /** The listed conversations' ids, in order (for next/previous). */
  onListed?: (ids: string[]) => void;
  onWriteFirst?: () => void;
}) {
  const { t, i18n } = useTranslation();
  const [state, setState] = useState<ConversationState>(LIST_DEFAULTS.state);
  const [sort, setSort] = useState<Sort>(LIST_DEFAULTS.sort);
  const [unanswered, setUnanswered] = useState(LIST_DEFAULTS.unanswered);
  const [channel, setChannel] = useState<ChannelKind | null>(LIST_DEFAULTS.channel);
  /** "" anyone, "nobody", or an agent's id. */
  const [assignee, setAssignee] = useState(LIST_DEFAULTS.assignee);
  // The first page, when it was prefetched and has arrived: in the first frame.
  const [first] = useState(() => {
    const r = peek(bridge, { type: "list_conversations", query: listQuery(view, LIST_DEFAULTS, null) }, "conversations");
    if (r && performance.getEntriesByName("listed").length === 0) performance.mark("listed");
    return r;
  });
  const [rows, setRows] = useState<ConversationSummary[]>(first?.page.rows ?? []);
  const [listed, setListed] = useState(first !== undefined);
  const [next, setNext] = useState<ListCursor | null>(first?.page.next ?? null);
  const [search, setSearch] = useState("");
  /** Why the list could not be read (a view deleted meanwhile, a damaged mirror), shown in its place. */
  const [failure, setFailure] = useState<string | null>(null);
  /** Only the newest reload's answer is shown: an older one may finish after it. */
  const generation = useRef(0);
  const [hits, setHits] = useState<MessageHit[] | null>(null);
  const loading = useRef(false);

  const query = useCallback(
    (after: ListCursor | null): ListQuery => listQuery(view, { state, sort, unanswered, channel, assignee }, after),
    [view, state, sort, unanswered, channel, assignee],
  );
  const reload = useCallback(async () => {
    // The first pages again, as many as were shown (a change keeps the agent's place).
    const mine = ++generation.current;
    try {
      const r = await ask(bridge, { type: "list_conversations", query: query(null) }, "conversations");
      if (mine !== generation.current) return;
      if (performance.getEntriesByName("listed").length === 0) performance.mark("listed");
      setFailure(null);
      setRows(r.page.rows);
      setNext(r.page.next);
    } catch (e) {
      if (mine !== generation.current) return;
      setFailure(e instanceof Error ? e.message : String(e));
      setRows([]);
      setNext(null);
    }
    setListed(true);
  }, [bridge, query]);
  useLoad(bridge, reload, first !== undefined);
  const { agents, name: nameOf } = useAgents(bridge);
  useEvents(bridge, (e) => {
    if (e.type === "changed" && (e.conversations.length > 0 || e.contacts.length > 0 || e.folders)) void reload();
  });
  useEffect(() => {
    if (search.trim() === "") {
      setHits(null);
      return;
    }
    const timer = setTimeout(async () => {
      try {
        const r = await ask(bridge, { type: "search", query: search, limit: 50 }, "search_results");
        setHits(r.results.messages);
      } catch {
        setHits([]);
      }
    }, 120);
    return () => clearTimeout(timer);
  }, [bridge, search]);

  // Before the frame is painted (a layout effect), so the report counts from the first frame with rows.
  useLayoutEffect(() => {
    if (listed) afterPaint(() => bridge.painted?.());
  }, [listed, bridge]);
  useEffect(() => {
    onListed?.(rows.map((r) => r.conversation.id));
  }, [rows, onListed]);

  const more = async () => {
    if (!next || loading.current) return;
    loading.current = true;
    const mine = generation.current;
    try {
      const r = await ask(bridge, { type: "list_conversations", query: query(next) }, "conversations");
      if (mine !== generation.current) return;
      setRows((old) => [...old, ...r.page.rows]);
      setNext(r.page.next);
    } catch {
      // The list changed under it (a view deleted): the reload that follows says why.
    } finally {
      loading.current = false;
    }
  };

  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
    // Until the list's box is measured (a frame later), assume it is as tall as the window: the
    // first frame already shows the rows.
    initialRect: { width: 0, height: window.innerHeight },
  });
  const items = virtual.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= rows.length - 20) void more();
  });

  const agentName = (id: string | null) => (id === null ? t("list.unassigned") : id === me?.id ? me.name : nameOf(id) ?? "…");

  return (
    <section className="list" aria-label="Conversations">
      <div className="list-tools">
        <div className="search-row">
          <input type="search" placeholder={t("list.search")} aria-label={t("list.search")} value={search} onChange={(e) => setSearch(e.target.value)} data-shortcut="search" />
          {onWriteFirst && (
            <button type="button" aria-label={t("writeFirst.button")} title={t("writeFirst.button")} onClick={onWriteFirst}>✎</button>
          )}
        </div>
        <div className="tabs" role="tablist">
          {STATES.map((s) => (
            <button key={s} type="button" role="tab" aria-selected={state === s} onClick={() => setState(s)}>
              {t(`list.${s}`)}
            </button>
          ))}
        </div>
        <div className="filters">
          <label>
            <span className="visually-hidden">{t("list.sort")}</span>
            <select value={sort} onChange={(e) => setSort(e.target.value as Sort)} aria-label={t("list.sort")}>
              {SORTS.map((s) => (
                <option key={s} value={s}>{t(`list.${s}`)}</option>
              ))}
            </select>
          </label>
          <label className="check">
            <input type="checkbox" checked={unanswered} onChange={(e) => setUnanswered(e.target.checked)} />
            {t("list.unanswered")}
          </label>
        </div>
        <div className="filters">
          <select aria-label={t("list.channel")} value={channel ?? ""} onChange={(e) => setChannel((e.target.value || null) as ChannelKind | null)}>
            <option value="">{t("list.anyChannel")}</option>
            {(Object.keys(CHANNEL_LABEL) as ChannelKind[]).map((c) => (
              <option key={c} value={c}>{CHANNEL_LABEL[c]}</option>
            ))}
          </select>
          <select aria-label={t("list.assignee")} value={assignee} onChange={(e) => setAssignee(e.target.value)}>
            <option value="">{t("list.anyone")}</option>
            <option value="nobody">{t("list.unassigned")}</option>
            {agents.map((a) => (
              <option key={a.id} value={a.id}>{a.name}</option>
            ))}
          </select>
        </div>
      </div>
      {hits !== null ? (
        <ul className="hits">
          {hits.map((h) => (
            <li key={h.message.id}>
              <button type="button" onClick={() => onOpen(h.message.conversation_id)}>
                <strong>{h.contact_name}</strong>
                <span className="preview" dir="auto">{h.message.text}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : failure !== null ? (
        <p className="empty" role="alert">{failure}</p>
      ) : rows.length === 0 ? (
        <p className="empty">{t("list.empty")}</p>
      ) : (
        <div className="rows" ref={scroller} role="list">
          <div style={{ height: virtual.getTotalSize(), position: "relative" }}>
            {items.map((item) => {
              const row = rows[item.index]!;
              const c = row.conversation;
              const outgoing = c.last_message_direction === "outgoing";
              return (
                <button
                  key={c.id}
                  type="button"
                  role="listitem"
                  className="row"
                  aria-current={selected === c.id ? "true" : undefined}
                  onClick={() => onOpen(c.id)}
                  style={{ position: "absolute", top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
                >
                  <span className="avatar" aria-hidden="true">
                    {initials(row.contact_name)}
                    <span className={`channel ${c.channel}`} title={CHANNEL_LABEL[c.channel]}>{CHANNEL_BADGE[c.channel]}</span>
                  </span>
                  <span className="main">
                    <span className="top">
                      <span className="name" dir="auto">{row.contact_name}</span>
                      <time>{when(c.last_message_at, Date.now(), i18n.language)}</time>
                    </span>
                    <span className="bottom">
                      <span className="preview" dir="auto">
                        {outgoing && <span className="you">{t("list.you")}</span>}
                        {c.last_message_preview}
                      </span>
                      {c.unread_count > 0 && <span className="unread" aria-label={`${c.unread_count} unread`}>{c.unread_count}</span>}
                    </span>
                    <span className="assignee">{agentName(c.assignee)}</span>
                  </span>
                </button>
              );
            })}
          </div>
        </div>
      )}
    </section>
  );
}
