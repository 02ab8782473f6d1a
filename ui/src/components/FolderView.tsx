import { useMemo, useState } from "react";
import { Icon } from "./Icon";
import { useTranslation } from "react-i18next";
import type { Bridge } from "../bridge";
import { useChannels, useFolder, useJournal } from "../data";
import type { Folder } from "../generated/outpost";
import { ticks, when } from "../lib/format";
import { useAct } from "../lib/act";
import { useNow } from "../lib/now";
import { Failure } from "./Failure";
import { EmptyState } from "./EmptyState";
import type { IconName } from "./Icon";
import { entryOf, failureOf } from "../lib/failure";
import { phrase } from "../lib/reasons";

/** Each folder's picture when it is empty. */
const FOLDER_ICONS: Record<Folder, IconName> = {
  inbox: "inbox",
  flows: "flows",
  archived: "archive",
  outbox: "outbox",
  sent: "sent",
  scheduled: "scheduled",
  failed: "done",
};

/** Pixels from the end within which the next page is read. */
const NEAR_END_PX = 800;

export function FolderView({
  bridge,
  folder,
  onOpenConversation,
}: {
  bridge: Bridge;
  folder: Folder;
  onOpenConversation: (id: string) => void;
}) {
  const { t, i18n } = useTranslation();
  const page = useFolder(bridge, folder);
  const { channelName } = useChannels(bridge);
  const rows = useMemo(() => page.data?.pages.flatMap((p) => p.rows) ?? [], [page.data]);
  const more = page.hasNextPage;
  const journal = useJournal(bridge, folder === "outbox" || folder === "failed").data ?? [];
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const now = useNow();
  const act = useAct(bridge, setError);
  /** Why a message waits in the Outbox, as the journal says. */
  const why = (id: string) => {
    const entry = entryOf(journal, id);
    if (!entry) return t("folder.waiting.server");
    if (entry.state === "refused") return phrase(entry.refusal_why, entry.refusal_reason);
    return t(`folder.waiting.${entry.state}`);
  };
  return (
    <section
      className="folder"
      aria-label={t(`folders.${folder}`)}
      aria-busy={page.isFetchingNextPage}
      onScroll={(e) => {
        // Near the end of what is read: the next page.
        const box = e.currentTarget;
        if (more && !page.isFetchingNextPage && box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_END_PX) void page.fetchNextPage();
      }}
    >
      <h1>{t(`folders.${folder}`)}</h1>
      <Failure error={error ?? page.error} />
      {folder === "failed" && rows.length > 1 && (
        <button
          type="button"
          onClick={async () => {
            // Every failed message, not only the pages read so far.
            let all = page.data;
            while (all?.pages[all.pages.length - 1]?.next != null) all = (await page.fetchNextPage()).data;
            for (const r of all?.pages.flatMap((p) => p.rows) ?? []) {
              void act({ type: "retry_message", message_id: r.message.id, text: r.message.text, template: r.message.template });
            }
          }}
        >
          {more ? t("folder.retryAll") : `${t("conversation.retry")} (${rows.length})`}
        </button>
      )}
      {page.isPending ? null : rows.length === 0 ? (
        <EmptyState icon={FOLDER_ICONS[folder]} title={t("folder.empty")} hint={t(`empty.folder.${folder}`)} />
      ) : (
        <ul className="messages">
          {rows.map(({ message: m, contact_name }) => (
            <li key={m.id} className={`folder-row ${m.status}`}>
              <button type="button" className="open" onClick={() => onOpenConversation(m.conversation_id)}>
                <span className="who" dir="auto">{contact_name}</span>
                <span className="channel">{channelName(m.channel, m.channel_id)}</span>
                <span className="text" dir="auto">{m.text || m.attachments.map((a) => a.name).join(", ") || (m.template ? `[${m.template.name}]` : "")}</span>
                <time>{when(m.send_at ?? m.created_at, now, i18n.language)}</time>
                <span className={`ticks ${m.status}`} aria-label={t(`messageStatus.${m.status}`)}>{ticks(m.status)}</span>
              </button>
              {m.failure && <span className="reason">{t("folder.why")}: {failureOf(m, journal)}</span>}
              {editing === m.id && (
                <form
                  className="reschedule"
                  onSubmit={(e) => {
                    e.preventDefault();
                    const data = new FormData(e.currentTarget);
                    const at = new Date(String(data.get("send_at"))).getTime();
                    if (!Number.isFinite(at)) return;
                    setEditing(null);
                    void act({ type: "edit_scheduled", message_id: m.id, text: String(data.get("text")), send_at: at });
                  }}
                >
                  <input name="text" aria-label={t("folder.text")} defaultValue={m.text} required />
                  <input name="send_at" type="datetime-local" aria-label={t("composer.sendAt")} defaultValue={localInput(m.send_at ?? now)} required />
                  <button type="submit" className="primary">{t("folder.save")}</button>
                </form>
              )}
              {folder === "outbox" && <span className="reason waiting">{why(m.id)}</span>}
              <span className="row-actions">
                {folder === "failed" && (
                  <>
                    <button type="button" onClick={() => act({ type: "retry_message", message_id: m.id, text: m.text, template: m.template })}>{t("conversation.retry")}</button>
                    <button type="button" onClick={() => act({ type: "discard_message", message_id: m.id })}>{t("conversation.discard")}</button>
                  </>
                )}
                {folder === "scheduled" && (
                  <>
                    <button type="button" onClick={() => setEditing(editing === m.id ? null : m.id)}>{t("folder.edit")}</button>
                    <button type="button" aria-label={t("folder.cancelScheduled")} onClick={() => act({ type: "cancel_scheduled", message_id: m.id })}><Icon name="remove" /></button>
                  </>
                )}
                {folder === "inbox" && (
                  <button type="button" onClick={() => act({ type: "archive", message_ids: [m.id] })}><Icon name="archive" /> {t("folder.archive")}</button>
                )}
                {folder === "archived" && (
                  <>
                    <button type="button" aria-label={t("folder.restore")} title={t("folder.restore")} onClick={() => act({ type: "restore", message_ids: [m.id] })}><Icon name="restore" /></button>
                    <button type="button" aria-label={t("folder.delete")} title={t("folder.delete")} onClick={() => act({ type: "delete_archived", message_ids: [m.id] })}><Icon name="delete" /></button>
                  </>
                )}
              </span>
            </li>
          ))}
          {more && (
            <li className="folder-more">
              <button type="button" disabled={page.isFetchingNextPage} onClick={() => void page.fetchNextPage()}>
                {t("folder.more")}
              </button>
            </li>
          )}
        </ul>
      )}
    </section>
  );
}

/** A time as a datetime-local input shows it (local time, minutes). */
function localInput(at: number): string {
  const d = new Date(at);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
