import { useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { ask, BridgeError, type Bridge } from "../bridge";
import { Attachments } from "./Attachments";
import type { Agent, ConversationEvent, Message, Presence, Timeline } from "../generated/outpost";
import { CHANNEL_LABEL, formatAt, initials, ticks } from "../lib/format";
import { useEvents } from "../lib/events";
import { useAct } from "../lib/act";
import { useAgents } from "../lib/agents";
import { ContactCard } from "./ContactCard";
import { Composer } from "./Composer";

const WINDOW_MS = 24 * 3_600_000;
const WINDOWED = new Set(["whatsapp", "instagram", "messenger"]);

export function ConversationView({
  bridge,
  conversationId,
  me,
}: {
  bridge: Bridge;
  conversationId: string | null;
  me: Agent | null;
}) {
  const { t, i18n } = useTranslation();
  const [timeline, setTimeline] = useState<Timeline | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [viewing, setViewing] = useState<Presence[]>([]);
  const [typing, setTyping] = useState<Presence | null>(null);
  const [card, setCard] = useState(false);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const { name: agentName } = useAgents(bridge);
  const bottom = useRef<HTMLDivElement>(null);

  const load = useCallback(async () => {
    if (!conversationId) return;
    try {
      const r = await ask(bridge, { type: "open_conversation", conversation_id: conversationId, before: null, limit: 50 }, "timeline");
      setTimeline(r.timeline);
    } catch (e) {
      setError(e instanceof BridgeError ? e.message : String(e));
    }
  }, [bridge, conversationId]);

  useEffect(() => {
    setTimeline(null);
    setError(null);
    setViewing([]);
    setTyping(null);
    if (!conversationId) return;
    void load();
    void bridge.request({ type: "presence", frame: { type: "viewing", conversation_id: conversationId } });
    return () => {
      void bridge.request({ type: "presence", frame: { type: "viewing", conversation_id: null } });
    };
  }, [bridge, conversationId, load]);

  // Opened: the agent read it.
  useEffect(() => {
    if (timeline && timeline.conversation.unread_count > 0) {
      void act({ type: "mark_read", conversation_id: timeline.conversation.id });
    }
    bottom.current?.scrollIntoView({ block: "end" });
  }, [timeline?.conversation.id, timeline?.items.length]);

  useEvents(bridge, (e) => {
    if (!conversationId) return;
    if (e.type === "changed" && (e.conversations.includes(conversationId) || (timeline?.contact && e.contacts.includes(timeline.contact.id)))) void load();
    if (e.type === "viewing" && e.conversation_id === conversationId) setViewing(e.who.filter((p) => p.agent_id !== me?.id));
    if (e.type === "typing" && e.conversation_id === conversationId && e.who.agent_id !== me?.id) {
      setTyping(e.who);
      setTimeout(() => setTyping((w) => (w?.agent_id === e.who.agent_id ? null : w)), 4000);
    }
    if (e.type === "op_refused" && e.conversation_id === conversationId) setError(e.reason);
  });

  const act = useAct(bridge, setError);

  if (!conversationId) return <section className="conversation empty-pane"><p>{t("conversation.none")}</p></section>;
  if (!timeline) return <section className="conversation" aria-busy="true">{error && <p role="alert" className="error">{error}</p>}</section>;

  const c = timeline.conversation;
  const contactName = timeline.contact?.name || timeline.contact?.phone || "…";
  const windowClosed = WINDOWED.has(c.channel) && (c.last_incoming_at === null || Date.now() - c.last_incoming_at > WINDOW_MS);

  const tomorrow9 = () => {
    const d = new Date();
    d.setDate(d.getDate() + 1);
    d.setHours(9, 0, 0, 0);
    return d.getTime();
  };

  return (
    <div className={card ? "conversation-with-card" : "conversation-alone"}>
    <section className="conversation" aria-label={contactName}>
      <header>
        <span className="avatar" aria-hidden="true">{initials(contactName)}</span>
        <div className="title">
          <h2 dir="auto">{contactName}</h2>
          <span className="sub">{CHANNEL_LABEL[c.channel]} · {t(`list.${c.state}`)}</span>
        </div>
        <div className="actions">
          {c.assignee !== me?.id && me && (
            <button type="button" onClick={() => act({ type: "assign", conversation_id: c.id, assignee: me.id })}>{t("conversation.assignToMe")}</button>
          )}
          {c.state === "snoozed" && (
            <button type="button" onClick={() => act({ type: "unsnooze", conversation_id: c.id })}>{t("conversation.unsnooze")}</button>
          )}
          {c.state === "closed" ? (
            <button type="button" onClick={() => act({ type: "reopen", conversation_id: c.id })}>{t("conversation.reopen")}</button>
          ) : (
            <>
              <button type="button" onClick={() => act({ type: "close", conversation_id: c.id, note: "", category: "" })}>{t("conversation.close")}</button>
              <details className="menu">
                <summary aria-label={t("conversation.closeWithNote")}>✎</summary>
                <form
                  role="menu"
                  onSubmit={(e) => {
                    e.preventDefault();
                    const note = new FormData(e.currentTarget).get("note")?.toString() ?? "";
                    void act({ type: "close", conversation_id: c.id, note, category: "" });
                  }}
                >
                  <textarea name="note" aria-label={t("conversation.closeNote")} placeholder={t("conversation.closeNote")} rows={3} maxLength={10_000} />
                  <button type="submit" className="primary">{t("conversation.closeWithNote")}</button>
                </form>
              </details>
            </>
          )}
          <details className="menu">
            <summary>{t("conversation.snooze")}</summary>
            <div role="menu">
              <button type="button" role="menuitem" onClick={() => act({ type: "snooze", conversation_id: c.id, until: Date.now() + 3_600_000 })}>{t("conversation.snooze1h")}</button>
              <button type="button" role="menuitem" onClick={() => act({ type: "snooze", conversation_id: c.id, until: tomorrow9() })}>{t("conversation.snoozeTomorrow")}</button>
            </div>
          </details>
          <button type="button" aria-pressed={card} onClick={() => setCard(!card)}>{t("contact.show")}</button>
          {!c.unanswered && (
            <button type="button" onClick={() => act({ type: "set_unanswered", conversation_id: c.id, unanswered: true })}>{t("conversation.markUnanswered")}</button>
          )}
        </div>
      </header>
      {viewing.length > 0 && <p className="presence">{t("conversation.viewing", { names: viewing.map((p) => p.name).join(", ") })}</p>}
      <ol className="timeline" aria-live="polite">
        {timeline.items.map((item) =>
          item.type === "message" ? (
            <MessageBubble
              key={item.message.id}
              m={item.message}
              quoted={quotedOf(item.message, timeline)}
              locale={i18n.language}
              bridge={bridge}
              onError={setError}
              onReply={() => setReplyTo(item.message)}
            />
          ) : (
            <EventLine key={item.event.id} e={item.event} locale={i18n.language} agentName={agentName} />
          ),
        )}
        <div ref={bottom} />
      </ol>
      {typing && <p className="presence">{t("conversation.typing", { name: typing.name })}</p>}
      {error && <p role="alert" className="error">{error}</p>}
      {windowClosed && <p className="notice" role="note">{t("conversation.windowClosed")}</p>}
      <Composer bridge={bridge} conversation={c} contact={timeline.contact} me={me} windowClosed={windowClosed} act={act} replyTo={replyTo} onReplied={() => setReplyTo(null)} />
    </section>
    {card && timeline.contact && <ContactCard bridge={bridge} contact={timeline.contact} />}
    </div>
  );
}

/** The message `m` replies to, from the page or from the timeline's reply context. */
function quotedOf(m: Message, timeline: Timeline): Message | null {
  if (!m.reply_to) return null;
  for (const item of timeline.items) if (item.type === "message" && item.message.id === m.reply_to) return item.message;
  return timeline.replied.find((r) => r.id === m.reply_to) ?? null;
}

function MessageBubble({
  m,
  quoted,
  locale,
  bridge,
  onError,
  onReply,
}: {
  m: Message;
  quoted: Message | null;
  locale: string;
  bridge: Bridge;
  onError: (e: string) => void;
  onReply: () => void;
}) {
  const { t } = useTranslation();
  const time = formatAt(m.created_at, "time", locale);
  // The hover card (who sent it, each status and its time) is written once pointed at.
  const [pointed, setPointed] = useState(false);
  const describe = () => setPointed(true);
  const title = pointed
    ? `${m.sender.name} (${m.sender.kind})\n${m.history.map((h) => `${h.status} ${formatAt(h.at, "full", locale)}`).join("\n")}`
    : undefined;
  const act = useAct(bridge, (e) => e && onError(e));
  return (
    <li className={`bubble ${m.direction} ${m.status}`} title={title} onPointerEnter={describe} onFocus={describe}>
      {m.direction === "outgoing" && <span className="sender">{m.sender.name}</span>}
      {quoted && (
        <blockquote className="quote" dir="auto">
          <span className="sender">{quoted.sender.name}</span>
          {quoted.text}
        </blockquote>
      )}
      {m.text && <p className="text" dir="auto">{m.text}</p>}
      <Attachments bridge={bridge} message={m.id} files={m.attachments} locale={locale} onError={onError} />
      <span className="meta">
        <time dateTime={new Date(m.created_at).toISOString()}>{time}</time>
        {m.direction === "outgoing" && <span className={`ticks ${m.status}`} aria-label={m.status}>{ticks(m.status)}</span>}
        <button type="button" className="reply" onClick={onReply} aria-label={t("conversation.reply")}>↩</button>
      </span>
      {m.status === "failed" && (
        <div className="failure">
          <span>{t("conversation.failed", { reason: m.failure ?? "" })}</span>
          <button type="button" onClick={() => act({ type: "retry_message", message_id: m.id, text: m.text, template: m.template })}>{t("conversation.retry")}</button>
          <button type="button" onClick={() => act({ type: "discard_message", message_id: m.id })}>{t("conversation.discard")}</button>
        </div>
      )}
    </li>
  );
}

function EventLine({ e, locale, agentName }: { e: ConversationEvent; locale: string; agentName: (id: string | null) => string | null }) {
  const { t } = useTranslation();
  const k = e.kind;
  let text: string;
  switch (k.type) {
    case "assigned":
      text = k.assignee === null ? t("event.unassigned") : t("event.assigned", { who: agentName(k.assignee) ?? "…" });
      break;
    case "snoozed":
      text = t("event.snoozed", { until: formatAt(k.until, "full", locale) });
      break;
    case "closed":
    case "opened":
    case "unsnoozed":
    case "marked_answered":
    case "marked_unanswered":
      text = t(`event.${k.type}`);
      break;
    default:
      text = t("event.other", { what: k.type.replace(/_/g, " ") });
  }
  return (
    <li className="event">
      <span>{text} · {e.actor.name} · {formatAt(e.at, "time", locale)}</span>
    </li>
  );
}
