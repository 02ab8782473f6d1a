import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";
import { ask, type Bridge } from "../bridge";
import type { Action, Agent, Attachment, Contact, Conversation, Message, TemplateRef } from "../generated/outpost";
import { uuidv7 } from "../lib/ids";
import { formatSize, refusal, stageFiles } from "../lib/files";
import { Icon } from "./Icon";

const EMOJI = ["😀", "😊", "😉", "😍", "🙏", "👍", "👋", "🙌", "👏", "💪", "🎉", "✅", "❤️", "🔥", "⭐", "📦", "🚚", "💳", "📅", "⏰", "📞", "✉️", "😅", "😢", "🤔", "👀", "🙂", "😎", "🤝", "💬"];

export type QuickReply = { title: string; text: string };

const DEFAULT_REPLIES: QuickReply[] = [
  { title: "Olá", text: "Olá, {first_name}! Sou {agent} e vou te ajudar." },
  { title: "Pedido", text: "{first_name}, pode me passar o número do pedido?" },
  { title: "Obrigado", text: "Obrigado pelo contato, {first_name}! Qualquer coisa, é só chamar." },
];

/** Fills a quick reply's variables: {first_name}, {name}, {agent}. Unknown ones stay as written. */
export function fillVariables(text: string, contact: Contact | null, agent: Agent | null): string {
  const name = contact?.name.trim() ?? "";
  const values: Record<string, string> = {
    first_name: name.split(/\s+/)[0] ?? "",
    name,
    agent: agent?.name.split(/\s+/)[0] ?? "",
  };
  return text.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

export function loadQuickReplies(storage: Pick<Storage, "getItem">): QuickReply[] {
  try {
    const saved = JSON.parse(storage.getItem("outpost-quick-replies") ?? "null");
    if (Array.isArray(saved)) return saved.filter((r) => typeof r?.title === "string" && typeof r?.text === "string");
  } catch {
    // A damaged list is replaced by the defaults.
  }
  return DEFAULT_REPLIES;
}

type Panel = null | "emoji" | "replies" | "schedule";

export function Composer({
  bridge,
  conversation: c,
  contact,
  me,
  windowClosed,
  act,
  replyTo,
  onReplied,
}: {
  bridge: Bridge;
  conversation: Conversation;
  contact: Contact | null;
  me: Agent | null;
  windowClosed: boolean;
  act: (a: Action) => Promise<void>;
  /** The message the next one answers (quoted above the composer), if any. */
  replyTo: Message | null;
  onReplied: () => void;
}) {
  const { t, i18n } = useTranslation();
  const [draft, setDraft] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const [fileError, setFileError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  const [panel, setPanel] = useState<Panel>(null);
  const [replies, setReplies] = useState<QuickReply[]>(() => loadQuickReplies(localStorage));
  const [when, setWhen] = useState("");
  const [template, setTemplate] = useState({ name: "", params: "" });
  const area = useRef<HTMLTextAreaElement>(null);
  const lastTyping = useRef(0);

  useEffect(() => {
    if (replyTo) area.current?.focus();
  }, [replyTo]);
  useEffect(() => {
    setPanel(null);
    setFiles([]);
    setFileError(null);
    void ask(bridge, { type: "get_draft", conversation_id: c.id }, "draft").then((r) => setDraft(r.text));
  }, [bridge, c.id]);

  const attach = (picked: File[]) => {
    if (picked.length === 0) return;
    const no = refusal(picked, files.length);
    if (no) {
      setFileError(t(no.key, { name: no.name, count: 10 }));
      return;
    }
    setFileError(null);
    setFiles([...files, ...picked]);
    area.current?.focus();
  };
  /** Hands the files to the core, then takes the action; on a problem nothing is lost. */
  const withFiles = async (take: (attachments: Attachment[]) => Promise<void>) => {
    setBusy(true);
    try {
      const attachments = await stageFiles(bridge, files);
      setFiles([]);
      setFileError(null);
      await take(attachments);
    } catch (e) {
      setFileError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const change = (text: string) => {
    setDraft(text);
    void ask(bridge, { type: "save_draft", conversation_id: c.id, text }, "done");
    if (Date.now() - lastTyping.current > 3000) {
      lastTyping.current = Date.now();
      void bridge.request({ type: "presence", frame: { type: "typing", conversation_id: c.id } });
    }
  };
  const insert = (text: string) => {
    const el = area.current;
    const at = el?.selectionStart ?? draft.length;
    const end = el?.selectionEnd ?? draft.length;
    change(draft.slice(0, at) + text + draft.slice(end));
    setPanel(null);
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(at + text.length, at + text.length);
    });
  };
  const templateRef = (): TemplateRef | null =>
    windowClosed
      ? {
          name: template.name.trim(),
          language: contact?.language || "pt-BR",
          params: template.params.split(",").map((p) => p.trim()).filter(Boolean),
        }
      : null;
  const clear = () => {
    setDraft("");
    void ask(bridge, { type: "save_draft", conversation_id: c.id, text: "" }, "done");
  };
  const canSend = !busy && (windowClosed ? template.name.trim() !== "" : draft.trim() !== "" || files.length > 0);
  const send = async () => {
    const text = draft.trim();
    const tpl = templateRef();
    if (!canSend) return;
    await withFiles(async (attachments) => {
      clear();
      onReplied();
      await act({ type: "send_message", message_id: uuidv7(), conversation_id: c.id, text, attachments, template: tpl, reply_to: replyTo?.id ?? null });
    });
  };
  const schedule = async () => {
    const at = new Date(when).getTime();
    const text = draft.trim();
    if ((!text && files.length === 0) || !Number.isFinite(at) || busy) return;
    await withFiles(async (attachments) => {
      clear();
      setPanel(null);
      await act({ type: "schedule_message", message_id: uuidv7(), conversation_id: c.id, text, attachments, template: templateRef(), send_at: at });
    });
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    }
    if (e.key === "Escape") setPanel(null);
  };
  const saveReply = () => {
    const text = draft.trim();
    if (!text) return;
    const next = [...replies, { title: text.slice(0, 24), text }];
    setReplies(next);
    localStorage.setItem("outpost-quick-replies", JSON.stringify(next));
  };

  return (
    <div
      className="composer-box"
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes("Files")) e.preventDefault();
      }}
      onDrop={(e) => {
        if (e.dataTransfer.files.length === 0) return;
        e.preventDefault();
        attach([...e.dataTransfer.files]);
      }}
    >
      {replyTo && (
        <div className="replying" role="note">
          <span>{t("composer.replyingTo")}</span>
          <q dir="auto">{replyTo.text}</q>
          <button type="button" className="link" onClick={onReplied} aria-label={t("composer.cancelReply")}>✕</button>
        </div>
      )}
      {windowClosed && (
        <div className="template" role="group" aria-label={t("composer.template")}>
          <span>{t("composer.templateNeeded")}</span>
          <input aria-label={t("composer.templateName")} placeholder={t("composer.templateName")} value={template.name} onChange={(e) => setTemplate({ ...template, name: e.target.value })} />
          <input aria-label={t("composer.templateParams")} placeholder={t("composer.templateParams")} value={template.params} onChange={(e) => setTemplate({ ...template, params: e.target.value })} />
        </div>
      )}
      {panel === "emoji" && (
        <div className="popover emoji" role="listbox" aria-label={t("composer.emoji")}>
          {EMOJI.map((e) => (
            <button key={e} type="button" role="option" aria-selected="false" onClick={() => insert(e)}>{e}</button>
          ))}
        </div>
      )}
      {panel === "replies" && (
        <div className="popover replies" role="listbox" aria-label={t("composer.quickReplies")}>
          {replies.map((r, i) => (
            <button key={i} type="button" role="option" aria-selected="false" onClick={() => insert(fillVariables(r.text, contact, me))}>
              <strong>{r.title}</strong> <span>{fillVariables(r.text, contact, me)}</span>
            </button>
          ))}
          <button type="button" className="link" onClick={saveReply} disabled={!draft.trim()}>+ {t("composer.saveReply")}</button>
        </div>
      )}
      {panel === "schedule" && (
        <div className="popover schedule">
          <label>
            {t("composer.sendAt")}
            <input type="datetime-local" value={when} onChange={(e) => setWhen(e.target.value)} />
          </label>
          <button type="button" className="primary" onClick={() => void schedule()} disabled={!when || busy || (!draft.trim() && files.length === 0)}>{t("composer.schedule")}</button>
        </div>
      )}
      {files.length > 0 && (
        <ul className="staged" aria-label={t("composer.attached")}>
          {files.map((f, i) => (
            <li key={`${f.name}-${i}`}>
              <span className="name" dir="auto">{f.name}</span>
              <span className="size">{formatSize(f.size, i18n.language)}</span>
              <button type="button" className="link" aria-label={t("composer.removeFile", { name: f.name })} onClick={() => setFiles(files.filter((_, j) => j !== i))} disabled={busy}>✕</button>
            </li>
          ))}
        </ul>
      )}
      {fileError && <p role="alert" className="error">{fileError}</p>}
      <div className="composer">
        <div className="tools">
          <button type="button" aria-label={t("composer.attach")} onClick={() => picker.current?.click()} disabled={windowClosed}><Icon name="clip" /></button>
          <input
            ref={picker}
            type="file"
            multiple
            hidden
            data-testid="file-picker"
            onChange={(e) => {
              attach([...(e.target.files ?? [])]);
              e.target.value = "";
            }}
          />
          <button type="button" aria-label={t("composer.emoji")} aria-expanded={panel === "emoji"} onClick={() => setPanel(panel === "emoji" ? null : "emoji")}>☺</button>
          <button type="button" aria-label={t("composer.quickReplies")} aria-expanded={panel === "replies"} onClick={() => setPanel(panel === "replies" ? null : "replies")}>⚡</button>
          <button type="button" aria-label={t("composer.scheduleTitle")} aria-expanded={panel === "schedule"} onClick={() => setPanel(panel === "schedule" ? null : "schedule")}>◷</button>
        </div>
        <textarea
          ref={area}
          aria-label={t("conversation.composer")}
          placeholder={windowClosed ? t("composer.templateText") : t("conversation.composer")}
          value={draft}
          rows={3}
          onKeyDown={onKey}
          onChange={(e) => change(e.target.value)}
          onPaste={(e) => {
            const pasted = [...e.clipboardData.files];
            if (pasted.length === 0) return;
            e.preventDefault();
            attach(pasted);
          }}
        />
        <button type="button" className="primary" onClick={() => void send()} disabled={!canSend}>
          {busy ? t("composer.attaching") : windowClosed ? t("composer.sendTemplate") : t("conversation.send")}
        </button>
      </div>
    </div>
  );
}
