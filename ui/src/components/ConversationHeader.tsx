import { useEffect, useState } from "react";
import { Icon } from "./Icon";
import { useTranslation } from "react-i18next";
import type { Action, Agent, Conversation } from "../generated/outpost";
import { MAX_NOTE_CHARS } from "../generated/limits";
import { Avatar } from "./Avatar";
import { conversationLink, tomorrowAt9 } from "../lib/commands";

/** The open conversation's title and its actions: assign, snooze, close (with a note), reopen. */
export function ConversationHeader({
  conversation: c,
  contactName,
  channelName,
  me,
  act,
  card,
  onCard,
}: {
  conversation: Conversation;
  contactName: string;
  /** The channel as agents name it ("WhatsApp · test channel"). */
  channelName: string;
  me: Agent | null;
  act: (a: Action) => Promise<void>;
  /** Whether the contact card is shown beside the timeline. */
  card: boolean;
  onCard: () => void;
}) {
  const { t } = useTranslation();
  return (
    <header>
      <Avatar name={contactName} channel={c.channel} />
      <div className="title">
        <h2 dir="auto">{contactName}</h2>
        <span className="sub">{channelName} · {t(`list.${c.state}`)}</span>
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
              <summary aria-label={t("conversation.closeWithNote")}><Icon name="edit" /></summary>
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  const note = new FormData(e.currentTarget).get("note")?.toString() ?? "";
                  void act({ type: "close", conversation_id: c.id, note, category: "" });
                }}
              >
                <textarea name="note" aria-label={t("conversation.closeNote")} placeholder={t("conversation.closeNote")} rows={3} maxLength={MAX_NOTE_CHARS} />
                <button type="submit" className="primary">{t("conversation.closeWithNote")}</button>
              </form>
            </details>
          </>
        )}
        <details className="menu">
          <summary>{t("conversation.snooze")}</summary>
          <div role="menu">
            <button type="button" role="menuitem" onClick={() => act({ type: "snooze", conversation_id: c.id, until: Date.now() + 3_600_000 })}>{t("conversation.snooze1h")}</button>
            <button type="button" role="menuitem" onClick={() => act({ type: "snooze", conversation_id: c.id, until: tomorrowAt9() })}>{t("conversation.snoozeTomorrow")}</button>
          </div>
        </details>
        <button type="button" aria-pressed={card} onClick={onCard}>{t("contact.show")}</button>
        <CopyLink id={c.id} />
        {!c.unanswered && (
          <button type="button" onClick={() => act({ type: "set_unanswered", conversation_id: c.id, unanswered: true })}>{t("conversation.markUnanswered")}</button>
        )}
      </div>
    </header>
  );
}



/** Copies the conversation's outpost:// link (it opens this conversation in the desktop app). */
function CopyLink({ id }: { id: string }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const end = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(end);
  }, [copied]);
  return (
    <button
      type="button"
      onClick={() => {
        void navigator.clipboard.writeText(conversationLink(id)).then(() => setCopied(true));
      }}
    >
      {copied ? t("conversation.linkCopied") : t("conversation.copyLink")}
    </button>
  );
}
