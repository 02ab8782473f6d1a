import { Fragment, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import type { Bridge } from "../bridge";
import { useAgents, useChannels, useTimeline } from "../data";
import type { Agent, Message, Presence, Timeline } from "../generated/outpost";
import { useEvents } from "../lib/events";
import { useAct } from "../lib/act";
import { useNow } from "../lib/now";
import { dayLabel, dayOf } from "../lib/format";
import { phrase } from "../lib/reasons";
import { windowClosed } from "../lib/rules";
import { ContactCard } from "./ContactCard";
import { Composer } from "./Composer";
import { ConversationHeader } from "./ConversationHeader";
import { EventLine, MessageBubble, quotedOf } from "./TimelineItems";
import { Failure } from "./Failure";

/** The open conversation: its timeline, who else is there, and the composer; or a hint when none is. */
export function ConversationView({ bridge, conversationId, me }: { bridge: Bridge; conversationId: string | null; me: Agent | null }) {
  const { t } = useTranslation();
  if (!conversationId) return <section className="conversation empty-pane"><p>{t("conversation.none")}</p></section>;
  // One per conversation: what belongs to one (who is typing, the reply being written, an error
  // shown) never carries over to the next.
  return <OpenConversation key={conversationId} bridge={bridge} id={conversationId} me={me} />;
}

function OpenConversation({ bridge, id, me }: { bridge: Bridge; id: string; me: Agent | null }) {
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
  return <Loaded key={timeline.data.conversation.id} bridge={bridge} timeline={timeline.data} me={me} error={error} setError={setError} act={act} presence={presence} />;
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

function Loaded({
  bridge,
  timeline,
  me,
  error,
  setError,
  act,
  presence: { viewing, typing, customerTyping },
}: {
  bridge: Bridge;
  timeline: Timeline;
  me: Agent | null;
  error: string | null;
  setError: (e: string | null) => void;
  act: ReturnType<typeof useAct>;
  presence: ReturnType<typeof usePresence>;
}) {
  const { channelName } = useChannels(bridge);
  const { t, i18n } = useTranslation();
  const [card, setCard] = useState(false);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const { name: agentName } = useAgents(bridge);
  const bottom = useRef<HTMLLIElement>(null);
  const now = useNow();
  const c = timeline.conversation;
  const contactName = timeline.contact?.name || timeline.contact?.phone || "…";
  const closed = windowClosed(c, now);
  // Where the agent stopped reading, as it was when the conversation opened (reading it now
  // clears the count; the line stays until another conversation is opened).
  const [firstUnread] = useState<string | null>(() => {
    if (c.unread_count === 0) return null;
    const incoming = timeline.items.filter((i) => i.type === "message" && i.message.direction === "incoming");
    const first = incoming[Math.max(0, incoming.length - c.unread_count)];
    return first?.type === "message" ? first.message.id : null;
  });

  // Opened: the agent read it; and the newest message is in sight.
  useEffect(() => {
    if (c.unread_count > 0) void act({ type: "mark_read", conversation_id: c.id });
  }, [act, c.id, c.unread_count]);
  useEffect(() => {
    bottom.current?.scrollIntoView({ block: "end" });
  }, [c.id, timeline.items.length]);

  return (
    <div className={card ? "conversation-with-card" : "conversation-alone"}>
      <section className="conversation" aria-label={contactName}>
        <ConversationHeader conversation={c} contactName={contactName} channelName={channelName(c.channel, c.channel_id)} me={me} act={act} card={card} onCard={() => setCard(!card)} />
        {viewing.length > 0 && <p className="presence">{t("conversation.viewing", { names: viewing.map((p) => p.name).join(", ") })}</p>}
        <ol className="timeline" aria-live="polite">
          {timeline.items.map((item, n) => {
            const at = item.type === "message" ? item.message.created_at : item.event.at;
            const previous = n > 0 ? timeline.items[n - 1] : undefined;
            const previousAt = previous ? (previous.type === "message" ? previous.message.created_at : previous.event.at) : null;
            const newDay = previousAt === null || dayOf(previousAt) !== dayOf(at);
            const unreadStarts = item.type === "message" && item.message.id === firstUnread;
            return (
              <Fragment key={item.type === "message" ? item.message.id : item.event.id}>
                {newDay && (
                  <li className="day">
                    <h3>{dayLabel(at, now, i18n.language)}</h3>
                  </li>
                )}
                {unreadStarts && (
                  <li className="new-messages">
                    <span>{t("conversation.newMessages")}</span>
                  </li>
                )}
                {item.type === "message" ? (
                  <MessageBubble
                    m={item.message}
                    quoted={quotedOf(item.message, timeline)}
                    locale={i18n.language}
                    bridge={bridge}
                    onError={setError}
                    onReply={() => setReplyTo(item.message)}
                  />
                ) : (
                  <EventLine e={item.event} locale={i18n.language} agentName={agentName} />
                )}
              </Fragment>
            );
          })}
          <li ref={bottom} className="timeline-end" aria-hidden="true" />
        </ol>
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
