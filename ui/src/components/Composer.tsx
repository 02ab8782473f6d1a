import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";
import { useQueryClient } from "@tanstack/react-query";
import { ask, type Bridge } from "../bridge";
import { keys, useChannels, useDraft, useTeams } from "../data";
import type { Action, Agent, Attachment, Contact, Conversation, Message, TemplateRef } from "../generated/outpost";
import { uuidv7 } from "../lib/ids";
import { refusal, stageFiles } from "../lib/files";
import { loadQuickReplies, saveQuickReplies, type QuickReply } from "../lib/quickReplies";
import { EmojiPanel, RepliesPanel, Replying, SchedulePanel, StagedFiles, TemplateFields, type TemplateInput } from "./ComposerParts";
import { describe } from "../lib/reasons";
import { Icon } from "./Icon";

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
  const { t } = useTranslation();
  const data = useQueryClient();
  const stored = useDraft(bridge, c.id);
  /** What the agent has written here; the stored draft until they change it. */
  const [edited, setEdited] = useState<string | null>(null);
  const draft = edited ?? stored.data ?? "";
  const [files, setFiles] = useState<File[]>([]);
  /** Files are being dragged over the composer. */
  const [dropping, setDropping] = useState(false);
  const [fileError, setFileError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  const [panel, setPanel] = useState<Panel>(null);
  const [replies, setReplies] = useState<QuickReply[]>(() =>
    loadQuickReplies(localStorage, t("composer.defaultReplies", { returnObjects: true }) as QuickReply[]),
  );
  const [when, setWhen] = useState("");
  const [template, setTemplate] = useState<TemplateInput>({ name: "", language: "", params: [] });
  const templates = useChannels(bridge).route(c.channel, c.channel_id)?.templates ?? [];
  const teams = useTeams(bridge).data ?? [];
  /** The quick replies an admin set for the agent's teams, by shortcut. */
  const shared: QuickReply[] = teams
    .filter((team) => me?.teams.includes(team.id))
    .flatMap((team) => team.quick_replies.map((q) => ({ title: `/${q.shortcut}`, text: q.text })));
  const area = useRef<HTMLTextAreaElement>(null);
  const lastTyping = useRef(0);

  useEffect(() => {
    if (replyTo) area.current?.focus();
  }, [replyTo]);

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
      setFileError(describe(e));
    } finally {
      setBusy(false);
    }
  };

  const change = (text: string) => {
    setEdited(text);
    data.setQueryData([...keys.draft, c.id], text);
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
          language: template.language || contact?.language || "pt_BR",
          params: template.params.map((p) => p.trim()).filter(Boolean),
        }
      : null;
  const clear = () => change("");
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
    saveQuickReplies(localStorage, next);
  };

  return (
    // Files dropped anywhere on the composer are attached: the pointer's way to what the attach
    // button does for the keyboard.
    // eslint-disable-next-line jsx-a11y/no-static-element-interactions
    <div
      className={dropping ? "composer-box dropping" : "composer-box"}
      data-drop-hint={t("composer.dropHere")}
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes("Files") || windowClosed) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = "copy";
        setDropping(true);
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDropping(false);
      }}
      onDrop={(e) => {
        setDropping(false);
        if (e.dataTransfer.files.length === 0 || windowClosed) return;
        e.preventDefault();
        attach([...e.dataTransfer.files]);
      }}
    >
      {replyTo && <Replying to={replyTo} onCancel={onReplied} />}
      {windowClosed && <TemplateFields templates={templates} template={template} onChange={setTemplate} />}
      {panel === "emoji" && <EmojiPanel onPick={insert} />}
      {panel === "replies" && <RepliesPanel replies={replies} shared={shared} contact={contact} me={me} canSave={draft.trim() !== ""} onPick={insert} onSave={saveReply} />}
      {panel === "schedule" && <SchedulePanel when={when} onWhen={setWhen} disabled={busy || (!draft.trim() && files.length === 0)} onSchedule={() => void schedule()} />}
      {files.length > 0 && <StagedFiles files={files} busy={busy} onRemove={(i) => setFiles(files.filter((_, j) => j !== i))} />}
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
          <button type="button" aria-label={t("composer.emoji")} aria-expanded={panel === "emoji"} onClick={() => setPanel(panel === "emoji" ? null : "emoji")}><Icon name="emoji" /></button>
          <button type="button" aria-label={t("composer.quickReplies")} aria-expanded={panel === "replies"} onClick={() => setPanel(panel === "replies" ? null : "replies")}><Icon name="quickReplies" /></button>
          <button type="button" aria-label={t("composer.scheduleTitle")} aria-expanded={panel === "schedule"} onClick={() => setPanel(panel === "schedule" ? null : "schedule")}><Icon name="schedule" /></button>
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
