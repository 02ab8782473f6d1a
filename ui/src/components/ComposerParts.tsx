// The composer's parts: the panels its tool buttons open (emoji, quick replies, schedule), the
// files waiting to go, the template fields once a window has closed, and the message it answers.
import { useTranslation } from "react-i18next";
import type { Agent, Contact, Message } from "../generated/outpost";
import { formatSize } from "../lib/files";
import { fillVariables, type QuickReply } from "../lib/quickReplies";

const EMOJI = ["😀", "😊", "😉", "😍", "🙏", "👍", "👋", "🙌", "👏", "💪", "🎉", "✅", "❤️", "🔥", "⭐", "📦", "🚚", "💳", "📅", "⏰", "📞", "✉️", "😅", "😢", "🤔", "👀", "🙂", "😎", "🤝", "💬"];

export function EmojiPanel({ onPick }: { onPick: (emoji: string) => void }) {
  const { t } = useTranslation();
  return (
    <div className="popover emoji" role="listbox" aria-label={t("composer.emoji")}>
      {EMOJI.map((e) => (
        <button key={e} type="button" role="option" aria-selected="false" onClick={() => onPick(e)}>{e}</button>
      ))}
    </div>
  );
}

export function RepliesPanel({
  replies,
  contact,
  me,
  canSave,
  onPick,
  onSave,
}: {
  replies: QuickReply[];
  contact: Contact | null;
  me: Agent | null;
  /** Whether the draft can be saved as a new quick reply (it is not blank). */
  canSave: boolean;
  onPick: (text: string) => void;
  onSave: () => void;
}) {
  const { t } = useTranslation();
  return (
    <div className="popover replies" role="listbox" aria-label={t("composer.quickReplies")}>
      {replies.map((r, i) => (
        <button key={i} type="button" role="option" aria-selected="false" onClick={() => onPick(fillVariables(r.text, contact, me))}>
          <strong>{r.title}</strong> <span>{fillVariables(r.text, contact, me)}</span>
        </button>
      ))}
      <button type="button" className="link" onClick={onSave} disabled={!canSave}>+ {t("composer.saveReply")}</button>
    </div>
  );
}

export function SchedulePanel({
  when,
  onWhen,
  disabled,
  onSchedule,
}: {
  /** The datetime-local input's value. */
  when: string;
  onWhen: (when: string) => void;
  disabled: boolean;
  onSchedule: () => void;
}) {
  const { t } = useTranslation();
  return (
    <div className="popover schedule">
      <label>
        {t("composer.sendAt")}
        <input type="datetime-local" value={when} onChange={(e) => onWhen(e.target.value)} />
      </label>
      <button type="button" className="primary" onClick={onSchedule} disabled={!when || disabled}>{t("composer.schedule")}</button>
    </div>
  );
}

export function StagedFiles({ files, busy, onRemove }: { files: File[]; busy: boolean; onRemove: (index: number) => void }) {
  const { t, i18n } = useTranslation();
  return (
    <ul className="staged" aria-label={t("composer.attached")}>
      {files.map((f, i) => (
        <li key={`${f.name}-${i}`}>
          <span className="name" dir="auto">{f.name}</span>
          <span className="size">{formatSize(f.size, i18n.language)}</span>
          <button type="button" className="link" aria-label={t("composer.removeFile", { name: f.name })} onClick={() => onRemove(i)} disabled={busy}>✕</button>
        </li>
      ))}
    </ul>
  );
}

export type TemplateInput = { name: string; params: string };

export function TemplateFields({ template, onChange }: { template: TemplateInput; onChange: (t: TemplateInput) => void }) {
  const { t } = useTranslation();
  return (
    <div className="template" role="group" aria-label={t("composer.template")}>
      <span>{t("composer.templateNeeded")}</span>
      <input aria-label={t("composer.templateName")} placeholder={t("composer.templateName")} value={template.name} onChange={(e) => onChange({ ...template, name: e.target.value })} />
      <input aria-label={t("composer.templateParams")} placeholder={t("composer.templateParams")} value={template.params} onChange={(e) => onChange({ ...template, params: e.target.value })} />
    </div>
  );
}

export function Replying({ to, onCancel }: { to: Message; onCancel: () => void }) {
  const { t } = useTranslation();
  return (
    <div className="replying" role="note">
      <span>{t("composer.replyingTo")}</span>
      <q dir="auto">{to.text}</q>
      <button type="button" className="link" onClick={onCancel} aria-label={t("composer.cancelReply")}>✕</button>
    </div>
  );
}
