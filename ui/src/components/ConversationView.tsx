import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import type { Bridge } from "../bridge";
import { useAgents, useChannels, useTimeline } from "../data";
import type { Agent, Message, Presence, Timeline } from "../generated/outpost";
import { useEvents } from "../lib/events";
import { useAct } from "../lib/act";
import { useNow } from "../lib/now";
import { phrase } from "../lib/reasons";
import { windowClosed } from "../lib/rules";
import { ContactCard } from "./ContactCard";
import { Composer } from "./Composer";
import { ConversationHeader } from "./ConversationHeader";
import { TimelineRows, type Edge } from "./Timeline";
import { Failure } from "./Failure";
import { EmptyState } from "./EmptyState";
import { MOD } from "./UndoToast";

/**
 * A message to show when a conversation opens (a search hit): its id and its row; or a call (the
 * Calls folder), its id and row 0 (older pages are read until it is there).
 */
export type MessageAt = { id: string; row: number };

/** The open conversation: its timeline, who else is there, and the composer; or a hint when none is. */
export function ConversationView({
  bridge,
  conversationId,
  me,
  at = null,
  syncing = false,
}: {
  bridge: Bridge;
  conversationId: string | null;
  me: Agent | null;
  /** A sync is under way: a first sync may still be bringing older messages. */
  syncing?: boolean;
  /** Open at this message (highlighted) instead of the newest. */
  at?: MessageAt | null;
}) {
  const { t } = useTranslation();
  if (!conversationId) {
    return (
      <section className="conversation empty-pane" aria-label={t("empty.conversation.title")}>
        <EmptyState icon="conversations" title={t("empty.conversation.title")} hint={t("empty.conversation.hint", { mod: MOD })} />
      </section>
    );
  }
  // One per conversation: what belongs to one (who is typing, the reply being written, an error
  // shown) never carries over to the next.
  return <OpenConversation key={`${conversationId}/${at?.id ?? ""}`} bridge={bridge} id={conversationId} me={me} at={at} syncing={syncing} />;
}

function OpenConversation({ bridge, id, me, at, syncing }: { bridge: Bridge; id: string; me: Agent | null; at: MessageAt | null; syncing: boolean }) {
  const timeline = useTimeline(bridge, id);
  const [error, setError] = useState<string | null>(null);
  const presence = usePresence(bridge, id, me);
  useEvents(bridge, (e) => {
    if (e.type === "op_refused" && e.conversation_id === id) setError(phrase(e.why, e.reason));
  });
  const act = useAct(bridge, setError);
  if (!timeline.data) {
    return (
      <section className="conversation" aria-busy={timeline.isPending}>
        <Failure error={error ?? timeline.error} />
      </section>
    );
  }
  const older = {
    more: timeline.hasNextPage,
    reading: timeline.isFetchingNextPage,
    // Any read under way (a change read again too): the next page waits for it, or the two
    // would cancel each other.
    busy: timeline.isFetching,
    read: () => void timeline.fetchNextPage({ cancelRefetch: false }),
  };
  return <Loaded key={timeline.data.conversation.id} bridge={bridge} timeline={timeline.data} older={older} syncing={syncing} at={at} me={me} error={error} setError={setError} act={act} presence={presence} />;
}

/** Who else has the conversation open, and who is typing in it (from the server's stream). */
function usePresence(bridge: Bridge, id: string, me: Agent | null) {
  const [viewing, setViewing] = useState<Presence[]>([]);
  const [typing, setTyping] = useState<Presence | null>(null);
  /** When the customer last typed (web chat says so), or null. */
  const [customerTyping, setCustomerTyping] = useState<number | null>(null);
  useEffect(() => {
    void bridge.request({ type: "presence", frame: { type: "viewing", conversation_id: id } });
    return () => {
      void bridge.request({ type: "presence", frame: { type: "viewing", conversation_id: null } });
    };
  }, [bridge, id]);
  useEvents(bridge, (e) => {
    if (e.type === "viewing" && e.conversation_id === id) setViewing(e.who.filter((p) => p.agent_id !== me?.id));
    if (e.type === "typing" && e.conversation_id === id && e.who.agent_id !== me?.id) {
      setTyping(e.who);
      setTimeout(() => setTyping((w) => (w?.agent_id === e.who.agent_id ? null : w)), 4000);
    }
    if (e.type === "customer_typing" && e.conversation_id === id) {
      const at = Date.now();
      setCustomerTyping(at);
      setTimeout(() => setCustomerTyping((t) => (t === at ? null : t)), 4000);
    }
  });
  return { viewing, typing, customerTyping: customerTyping !== null };
}

/** Older messages: whether there are more, whether they are being read (or anything is), and reading them. */
type Older = { more: boolean; reading: boolean; busy: boolean; read: () => void };

function Loaded({
  bridge,
  timeline,
  older,
  syncing,
  at,
  me,
  error,
  setError,
  act,
  presence: { viewing, typing, customerTyping },
}: {
  bridge: Bridge;
  timeline: Timeline;
  older: Older;
  syncing: boolean;
  at: MessageAt | null;
  me: Agent | null;
  error: string | null;
  setError: (e: string | null) => void;
  act: ReturnType<typeof useAct>;
  presence: ReturnType<typeof usePresence>;
}) {
  const { channelName } = useChannels(bridge);
  const { t } = useTranslation();
  const [card, setCard] = useState(false);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const { name: agentName } = useAgents(bridge);
  const [highlight, setHighlight] = useState<string | null>(at?.id ?? null);
  const now = useNow();
  const c = timeline.conversation;
  const contactName = timeline.contact?.name || timeline.contact?.phone || "…";
  const closed = windowClosed(c, now);
  // Where the agent stopped reading, as it was when the conversation opened (reading it now
  // clears the count; the line stays until another conversation is opened): the count, and the
  // newest customer message then, so that messages arriving later do not move the line.
  const [unreadAtOpen] = useState(() => {
    const incoming = timeline.items.filter((i) => i.type === "message" && i.message.direction === "incoming");
    const newest = incoming[incoming.length - 1];
    return c.unread_count > 0 && newest?.type === "message" ? { count: c.unread_count, upTo: newest.message.id } : null;
  });
  const firstUnread = useMemo(() => firstUnreadOf(timeline, unreadAtOpen), [timeline, unreadAtOpen]);
  const items = timeline.items;
  const oldest = items.find((i) => i.type === "message");
  const rowOfOldest = oldest?.type === "message" ? oldest.row : null;

  // Opened: the agent read it.
  useEffect(() => {
    if (c.unread_count > 0) void act({ type: "mark_read", conversation_id: c.id });
  }, [act, c.id, c.unread_count]);

  // Opened at a message further back than what is read: older pages until it is there; then
  // highlighted for a moment.
  const waitingFor = at !== null && !items.some((i) => (i.type === "message" && i.message.id === at.id) || (i.type === "call" && i.call.id === at.id));
  useEffect(() => {
    if (waitingFor && older.more && !older.busy && (rowOfOldest === null || rowOfOldest > at.row)) older.read();
  }, [waitingFor, older, rowOfOldest, at]);
  useEffect(() => {
    if (waitingFor || highlight === null) return;
    const done = setTimeout(() => setHighlight(null), 4000);
    return () => clearTimeout(done);
  }, [waitingFor, highlight]);

  // The beginning, once nothing older can still be on its way (a first sync brings the newest
  // messages of each conversation before their history).
  const edge: Edge = !older.more ? (syncing ? "arriving" : "start") : null;

  return (
    <div className={card ? "conversation-with-card" : "conversation-alone"}>
      <section className="conversation" aria-label={contactName} data-conversation={c.id}>
        <ConversationHeader conversation={c} contactName={contactName} channelName={channelName(c.channel, c.channel_id)} me={me} act={act} card={card} onCard={() => setCard(!card)} />
        {viewing.length > 0 && <p className="presence">{t("conversation.viewing", { names: viewing.map((p) => p.name).join(", ") })}</p>}
        <TimelineRows
          bridge={bridge}
          timeline={timeline}
          edge={edge}
          firstUnread={firstUnread}
          at={at?.id ?? null}
          highlight={highlight}
          reading={older.reading}
          busy={older.reading || waitingFor}
          now={now}
          agentName={agentName}
          onNearTop={() => {
            if (older.more && !older.busy) older.read();
          }}
          onError={setError}
          onReply={setReplyTo}
        />
        {typing && <p className="presence">{t("conversation.typing", { name: typing.name })}</p>}
        {customerTyping && <p className="presence">{t("conversation.typing", { name: timeline.contact?.name || t("conversation.customer") })}</p>}
        <Failure error={error} />
        {closed && <p className="notice" role="note">{t("conversation.windowClosed")}</p>}
        <Composer bridge={bridge} conversation={c} contact={timeline.contact} me={me} windowClosed={closed} act={act} replyTo={replyTo} onReplied={() => setReplyTo(null)} />
      </section>
      {card && timeline.contact && <ContactCard bridge={bridge} contact={timeline.contact} />}
    </div>
  );
}

/** The first message that was unread when the conversation opened, if it is read in yet. */
function firstUnreadOf(timeline: Timeline, unread: { count: number; upTo: string } | null): string | null {
  if (!unread) return null;
  const incoming: string[] = [];
  for (const item of timeline.items) {
    if (item.type !== "message" || item.message.direction !== "incoming") continue;
    incoming.push(item.message.id);
    if (item.message.id === unread.upTo) break;
  }
  // Fewer read in than were unread: the line is further back, above what is shown.
  return incoming.length >= unread.count ? (incoming[incoming.length - unread.count] ?? null) : null;
}
