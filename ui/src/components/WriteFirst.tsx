import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Modal } from "./Modal";
import { ask, type Bridge } from "../bridge";
import { describe } from "../lib/reasons";
import type { ChannelKind } from "../generated/outpost";
import { useChannels } from "../data";
import { uuidv7 } from "../lib/ids";
import { CHANNELS_WITH_WINDOW } from "../generated/limits";
import { TemplateFields, type TemplateInput } from "./ComposerParts";

const PHONE: ChannelKind[] = ["whatsapp", "sms"];

/** Starts a conversation: a channel, the customer's number (digits only) or username, a first message. */
export function WriteFirst({ bridge, onClose, onStarted }: { bridge: Bridge; onClose: () => void; onStarted: (conversationId: string) => void }) {
  const { t } = useTranslation();
  const { channels, route, channelName, loaded } = useChannels(bridge);
  /** The kinds a message can leave through now: those with an enabled channel. */
  const kinds = [...new Set(channels.filter((c) => !c.disabled).map((c) => c.kind))];
  const [chosen, setChannel] = useState<ChannelKind | null>(null);
  const channel = chosen ?? kinds[0] ?? "whatsapp";
  const [address, setAddress] = useState("");
  const [text, setText] = useState("");
  const [template, setTemplate] = useState<TemplateInput>({ name: "", language: "", params: [] });
  const [error, setError] = useState<string | null>(null);
  const phone = PHONE.includes(channel);
  const needsTemplate = CHANNELS_WITH_WINDOW.includes(channel);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const conversationId = uuidv7();
    setError(null);
    try {
      await ask(
        bridge,
        {
          type: "act",
          action: {
            type: "write_first",
            conversation_id: conversationId,
            contact_id: uuidv7(),
            message_id: uuidv7(),
            channel,
            address: phone ? address.replace(/\D/g, "") : address.trim(),
            text,
            template: needsTemplate
              ? { name: template.name.trim(), language: template.language || "pt_BR", params: template.params.map((p) => p.trim()).filter(Boolean) }
              : null,
          },
        },
        "acted",
      );
      onStarted(conversationId);
      onClose();
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <Modal onClose={onClose} labelledBy="write-first-title">
      <form className="dialog write-first" onSubmit={submit}>
        <h2 id="write-first-title">{t("writeFirst.title")}</h2>
        <label>
          {t("writeFirst.channel")}
          <select value={channel} onChange={(e) => setChannel(e.target.value as ChannelKind)}>
            {kinds.map((c) => (
              <option key={c} value={c}>{channelName(c)}</option>
            ))}
          </select>
        </label>
        {loaded && kinds.length === 0 && <p role="alert" className="error">{t("writeFirst.noChannel")}</p>}
        <label>
          {phone ? t("writeFirst.number") : t("writeFirst.username")}
          <input
            required
            value={address}
            inputMode={phone ? "numeric" : "text"}
            pattern={phone ? "[0-9 ()+-]{8,20}" : undefined}
            placeholder={phone ? "5511987654321" : ""}
            onChange={(e) => setAddress(e.target.value)}
          />
        </label>
        {needsTemplate && <TemplateFields templates={route(channel)?.templates ?? []} template={template} onChange={setTemplate} />}
        <label>
          {t("writeFirst.message")}
          <textarea required={!needsTemplate} rows={3} value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        {needsTemplate && <p className="hint">{t("writeFirst.templateHint")}</p>}
        {error && <p role="alert" className="error">{error}</p>}
        <div className="buttons">
          <span className="spacer" />
          <button type="button" onClick={onClose}>{t("viewEditor.cancel")}</button>
          <button type="submit" className="primary" disabled={kinds.length === 0 || (needsTemplate && template.name.trim() === "")}>{t("writeFirst.start")}</button>
        </div>
      </form>
    </Modal>
  );
}
