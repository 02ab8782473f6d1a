// The composer's parts: the panels its tool buttons open (emoji, quick replies, schedule), the
// files waiting to go, the template fields once a window has closed, and the message it answers.
import { useTranslation } from "react-i18next";
import { Icon } from "./Icon";
import type { Agent, Contact, Message, Template } from "../generated/outpost";
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
  shared,
  contact,
  me,
  canSave,
  onPick,
  onSave,
}: {
  replies: QuickReply[];
  /** The quick replies of the agent's teams, set by an admin (not editable here). */
  shared: QuickReply[];
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
      {shared.map((r, i) => (
        <button key={`team-${i}`} type="button" role="option" aria-selected="false" className="shared" onClick={() => onPick(fillVariables(r.text, contact, me))}>
          <strong>{r.title}</strong> <span>{fillVariables(r.text, contact, me)}</span>
        </button>
      ))}
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
          <button type="button" className="link" aria-label={t("composer.removeFile", { name: f.name })} onClick={() => onRemove(i)} disabled={busy}><Icon name="remove" /></button>
        </li>
      ))}
    </ul>
  );
}

export type TemplateInput = { name: string; language: string; params: string[] };

/** How many variables a template's body names: the highest `{{n}}`. */
export function variablesOf(body: string): number {
  let most = 0;
  for (const m of body.matchAll(/\{\{\s*(\d+)\s*\}\}/g)) most = Math.max(most, Number(m[1]));
  return most;
}

/** A template's body with its variables filled (those still empty keep their `{{n}}`). */
export function fillTemplate(body: string, params: string[]): string {
  return body.replace(/\{\{\s*(\d+)\s*\}\}/g, (whole, n: string) => params[Number(n) - 1]?.trim() || whole);
}

/**
 * The template a message needs once the window has closed: chosen from the channel's approved
 * templates, each variable its own field, the filled text shown as the customer will read it.
 * A channel with no templates entered takes a name and values as written.
 */
export function TemplateFields({ templates, template, onChange }: { templates: Template[]; template: TemplateInput; onChange: (t: TemplateInput) => void }) {
  const { t } = useTranslation();
  const chosen = templates.find((x) => x.name === template.name && x.language === template.language) ?? null;
  if (templates.length === 0) {
    return (
      <div className="template" role="group" aria-label={t("composer.template")}>
        <span>{t("composer.templateNeeded")}</span>
        <input aria-label={t("composer.templateName")} placeholder={t("composer.templateName")} value={template.name} onChange={(e) => onChange({ ...template, name: e.target.value })} />
        <input
          aria-label={t("composer.templateParams")}
          placeholder={t("composer.templateParams")}
          value={template.params.join(", ")}
          onChange={(e) => onChange({ ...template, params: e.target.value.split(",").map((p) => p.trim()) })}
        />
      </div>
    );
  }
  const count = chosen ? variablesOf(chosen.body) : 0;
  return (
    <div className="template" role="group" aria-label={t("composer.template")}>
      <span>{t("composer.templateNeeded")}</span>
      <select
        aria-label={t("composer.templateName")}
        value={chosen ? `${chosen.name}\u0000${chosen.language}` : ""}
        onChange={(e) => {
          const [name = "", language = ""] = e.target.value.split("\u0000");
          const next = templates.find((x) => x.name === name && x.language === language);
          onChange({ name, language, params: Array.from({ length: next ? variablesOf(next.body) : 0 }, () => "") });
        }}
      >
        <option value="">{t("composer.chooseTemplate")}</option>
        {templates.map((x) => (
          <option key={`${x.name}:${x.language}`} value={`${x.name}\u0000${x.language}`}>
            {x.name} ({x.language})
          </option>
        ))}
      </select>
      {Array.from({ length: count }, (_, i) => (
        <input
          key={i}
          aria-label={t("composer.templateVariable", { n: i + 1 })}
          placeholder={`{{${i + 1}}}`}
          value={template.params[i] ?? ""}
          onChange={(e) => onChange({ ...template, params: template.params.map((p, j) => (j === i ? e.target.value : p)) })}
        />
      ))}
      {chosen && <p className="preview" dir="auto">{fillTemplate(chosen.body, template.params)}</p>}
    </div>
  );
}

export function Replying({ to, onCancel }: { to: Message; onCancel: () => void }) {
  const { t } = useTranslation();
  return (
    <div className="replying" role="note">
      <span>{t("composer.replyingTo")}</span>
      <q dir="auto">{to.text}</q>
      <button type="button" className="link" onClick={onCancel} aria-label={t("composer.cancelReply")}><Icon name="remove" /></button>
    </div>
  );
}
