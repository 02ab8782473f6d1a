import { memo } from "react";
import { useTranslation } from "react-i18next";
import type { TFunction } from "i18next";
import { Icon } from "./Icon";
import type { Bridge } from "../bridge";
import type { Call, ConversationEvent, Message, Timeline } from "../generated/outpost";
import { callIcon, callLine } from "../lib/calls";
import { phrase } from "../lib/reasons";
import { CHANNEL_LABEL, formatAt, ticks } from "../lib/format";
import { useAct } from "../lib/act";
import { Attachments } from "./Attachments";
import { Linked } from "./Linked";
import { useJournal } from "../data";
import { failureOf } from "../lib/failure";

/** The message `m` replies to, from the page or from the timeline's reply context. */
export function quotedOf(m: Message, timeline: Timeline): Message | null {
  if (!m.reply_to) return null;
  for (const item of timeline.items) if (item.type === "message" && item.message.id === m.reply_to) return item.message;
  return timeline.replied.find((r) => r.id === m.reply_to) ?? null;
}

/** Channels whose provider says when it sent a message, and nothing after. */
const NO_RECEIPTS: Message["channel"][] = ["telegram", "email"];

/**
 * One message of the timeline. Memoised: a timeline holds thousands, and a page read above, a
 * draft typed or a presence change must not render them all again (every prop is stable while
 * the message is unchanged: `onReply` and `onError` are the view's state setters).
 */
export const MessageBubble = memo(function MessageBubble({
  m,
  quoted,
  locale,
  bridge,
  onError,
  onReply,
  highlighted = false,
}: {
  m: Message;
  quoted: Message | null;
  locale: string;
  bridge: Bridge;
  onError: (e: string) => void;
  onReply: (m: Message) => void;
  /** The message a search opened the conversation at. */
  highlighted?: boolean;
}) {
  const { t } = useTranslation();
  const time = formatAt(m.created_at, "time", locale);
  return (
    <div
      className={`bubble ${m.direction} ${m.status}${highlighted ? " highlighted" : ""}`}
      data-message={m.id}
      tabIndex={highlighted ? -1 : undefined}
      // The hover card, written when the pointer comes (most messages are never hovered).
      onPointerEnter={(e) => {
        e.currentTarget.title = hoverCard(m, t, locale);
      }}
    >
      {m.direction === "outgoing" && <span className="sender">{m.sender.name}</span>}
      {quoted && (
        <blockquote className="quote" dir="auto">
          <span className="sender">{quoted.sender.name}</span>
          {quoted.text}
        </blockquote>
      )}
      {m.subject && <p className="subject" dir="auto">{m.subject}</p>}
      {m.text && (
        <p className={isLong(m.text) ? "text long" : "text"} dir="auto">
          <Linked text={m.text} bridge={bridge} />
        </p>
      )}
      <Attachments bridge={bridge} message={m.id} files={m.attachments} locale={locale} onError={onError} />
      <span className="meta">
        {m.edited_at !== null && <span className="edited">{t("conversation.edited")}</span>}
        <time dateTime={new Date(m.created_at).toISOString()}>{time}</time>
        {m.direction === "outgoing" && <span className={`ticks ${m.status}`} aria-label={t(`messageStatus.${m.status}`)}>{ticks(m.status)}</span>}
        <button type="button" className="reply" onClick={() => onReply(m)} aria-label={t("conversation.reply")}><Icon name="reply" /></button>
      </span>
      {m.status === "failed" && <Failed bridge={bridge} m={m} onError={onError} />}
    </div>
  );
});

/**
 * The lines a message's text takes in its bubble, roughly: ~70 characters a line at the bubble's
 * widest, each line break a line. Counting stops once past `upTo`.
 */
export function wrappedLines(text: string, upTo = Infinity): number {
  let lines = 0;
  for (const line of text.split("\n")) {
    lines += Math.max(1, Math.ceil(line.length / 70));
    if (lines > upTo) break;
  }
  return lines;
}

/**
 * Whether a message's text may be taller than its bubble shows (40em, ~28 lines): it scrolls
 * within the bubble then. Only then is it a scroller: WebKitGTK paints each scroller on a layer
 * of its own, and a timeline of ordinary messages scrolls faster without them.
 */
const isLong = (text: string) => wrappedLines(text, 28) > 28;

/** The hover card: who sent it, each status and its time. */
function hoverCard(m: Message, t: TFunction, locale: string): string {
  const lines = [`${m.sender.name} (${m.sender.kind})`, ...m.history.map((h) => `${t(`messageStatus.${h.status}`)} ${formatAt(h.at, "full", locale)}`)];
  if (m.edited_at !== null) lines.push(t("conversation.editedAt", { at: formatAt(m.edited_at, "full", locale) }));
  // Channels whose provider reports no delivery or reading: the card says why "sent" stays.
  if (m.direction === "outgoing" && NO_RECEIPTS.includes(m.channel)) lines.push(t("conversation.noReceipts", { channel: CHANNEL_LABEL[m.channel] }));
  return lines.join("\n");
}

/** A failed message's reason (kept in the journal), Retry and Discard. */
function Failed({ bridge, m, onError }: { bridge: Bridge; m: Message; onError: (e: string) => void }) {
  const { t } = useTranslation();
  const act = useAct(bridge, (e) => e && onError(e));
  const journal = useJournal(bridge, true).data ?? [];
  return (
    <div className="failure">
      <span>{t("conversation.failed", { reason: failureOf(m, journal) })}</span>
      <button type="button" onClick={() => act({ type: "retry_message", message_id: m.id, text: m.text, template: m.template })}>{t("conversation.retry")}</button>
      <button type="button" onClick={() => act({ type: "discard_message", message_id: m.id })}>{t("conversation.discard")}</button>
    </div>
  );
}

/** An event between the messages (assigned, closed…); memoised like the messages. */
/** A call between the messages: who called, and how it went. */
export const CallLine = memo(function CallLine({ call, name, locale, highlighted = false }: { call: Call; name: string; locale: string; highlighted?: boolean }) {
  const { t } = useTranslation();
  const why = call.outcome === "failed" ? phrase(call.failure_reason, call.failure ?? "") : "";
  return (
    <p className={`event call ${call.outcome} ${call.direction}${highlighted ? " highlighted" : ""}`} data-message={call.id} tabIndex={highlighted ? -1 : undefined} title={why || undefined}>
      <Icon name={callIcon(call)} />
      <span dir="auto">{callLine(call, name, t, locale)}</span>
      {why && <span className="why" dir="auto">{why}</span>}
    </p>
  );
});

export const EventLine = memo(function EventLine({ e, locale, agentName }: { e: ConversationEvent; locale: string; agentName: (id: string | null) => string | null }) {
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
    case "opened":
      // Began the conversation, or opened it again (events stored before `first` was said: again).
      text = t(k.first ? "event.started" : "event.opened");
      break;
    case "closed":
    case "unsnoozed":
    case "marked_answered":
    case "marked_unanswered":
      text = t(`event.${k.type}`);
      break;
    default:
      text = t("event.other", { what: k.type.replace(/_/g, " ") });
  }
  return (
    <p className="event">
      <span>{text} · {e.actor.name} · {formatAt(e.at, "time", locale)}</span>
    </p>
  );
});
