import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import type { Bridge } from "../../bridge";
import { queries } from "../../data";
import type { ChannelAdmin, ChannelChange, ChannelKind, Template } from "../../generated/outpost";
import { CHANNEL_LABEL } from "../../lib/format";
import { Failure } from "../Failure";
import { ShownOnce } from "./ShownOnce";
import { useAdminCall } from "./useAdmin";

/**
 * A setting of a channel kind: its name at the server; a credential (never shown again), a list,
 * a choice among `options` (the first is the default), a port number, a block of text; optional
 * ones may stay empty (the server's default then, shown as the placeholder).
 */
type Field = {
  key: string;
  secret?: boolean;
  list?: boolean;
  options?: string[];
  number?: boolean;
  multiline?: boolean;
  optional?: boolean;
  placeholder?: string;
};

/** What each kind with a real provider needs (the server checks the same). */
const FIELDS: Partial<Record<ChannelKind, Field[]>> = {
  web_chat: [{ key: "allowed_origins", list: true, placeholder: "https://shop.example" }],
  whatsapp: [
    { key: "phone_number_id" },
    { key: "business_account_id" },
    { key: "access_token", secret: true },
    { key: "app_secret", secret: true },
    { key: "api_base", optional: true, placeholder: "https://graph.facebook.com/v21.0" },
    { key: "calling", options: ["off", "on"] },
  ],
  telegram: [
    { key: "bot_token", secret: true },
    { key: "mode", options: ["webhook", "polling"] },
    { key: "api_base", optional: true, placeholder: "https://api.telegram.org" },
  ],
  email: [
    { key: "address", placeholder: "support@shop.example" },
    { key: "display_name", optional: true },
    { key: "imap_host", placeholder: "imap.shop.example" },
    { key: "imap_security", options: ["tls", "starttls"] },
    { key: "imap_port", number: true, optional: true, placeholder: "993 / 143" },
    { key: "smtp_host", placeholder: "smtp.shop.example" },
    { key: "smtp_security", options: ["tls", "starttls"] },
    { key: "smtp_port", number: true, optional: true, placeholder: "465 / 587" },
    { key: "username" },
    { key: "password", secret: true },
    { key: "mailbox", optional: true, placeholder: "INBOX" },
    { key: "ca_pem", multiline: true, optional: true, placeholder: "-----BEGIN CERTIFICATE-----" },
  ],
};

/** A field's typed value for the server, or `undefined` to leave it out. */
function valueOf(f: Field, raw: string | undefined): unknown {
  const v = (raw || (f.options?.[0] ?? "")).trim();
  if (f.list) return v.split(/[\s,]+/).filter(Boolean);
  if (v === "" && f.optional) return undefined;
  if (f.number) return Number(v);
  return v;
}

/** One setting's input: a choice, a block of text, or a line (a credential hidden). */
function FieldInput({ f, value, required, keepCredential, onChange }: {
  f: Field;
  value: string;
  required: boolean;
  keepCredential: boolean;
  onChange: (v: string) => void;
}) {
  const { t } = useTranslation();
  const label = t(`admin.field.${f.key}`);
  if (f.options) {
    return (
      <label>
        {label}
        <select value={value || f.options[0]} onChange={(e) => onChange(e.target.value)}>
          {f.options.map((o) => <option key={o} value={o}>{t(`admin.option.${o}`)}</option>)}
        </select>
      </label>
    );
  }
  if (f.list || f.multiline) {
    return (
      <label className={f.multiline ? "wide" : undefined}>
        {label}
        <textarea rows={f.multiline ? 4 : 3} required={required} value={value} placeholder={f.placeholder} spellCheck={false} onChange={(e) => onChange(e.target.value)} />
      </label>
    );
  }
  return (
    <label>
      {label}
      <input
        required={required}
        type={f.secret ? "password" : f.number ? "number" : "text"}
        min={f.number ? 1 : undefined}
        max={f.number ? 65535 : undefined}
        autoComplete="off"
        value={value}
        placeholder={keepCredential ? t("admin.keepCredential") : f.placeholder}
        onChange={(e) => onChange(e.target.value)}
      />
    </label>
  );
}
const REAL: ChannelKind[] = ["web_chat", "whatsapp", "telegram", "email"];
const ALL = Object.keys(CHANNEL_LABEL) as ChannelKind[];
/** A template's variables as the provider writes them, for sentences that show them. */
const VARIABLES = { one: "{{1}}", two: "{{2}}" };

export function AdminChannels({ bridge }: { bridge: Bridge }) {
  const { t } = useTranslation();
  const list = useQuery(queries.adminChannels(bridge));
  const { call, busy, problem } = useAdminCall(bridge);
  /** A secret shown once: the channel's, after it was made or renewed. */
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [templatesOf, setTemplatesOf] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);

  const renew = async (c: ChannelAdmin) => {
    const a = await call({ call: "new_secret", id: c.channel.id });
    if (a?.answer === "secret") setSecret({ name: c.channel.name, secret: a.secret });
  };
  return (
    <div className="admin-channels">
      <Failure error={list.error} />
      {problem && <p role="alert" className="error">{problem}</p>}
      {secret && <ShownOnce sentence={t("admin.secretOnce", { name: secret.name })} value={secret.secret} onKept={() => setSecret(null)} />}
      <table className="admin-table">
        <caption className="visually-hidden">{t("admin.channels")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.name")}</th>
            <th scope="col">{t("admin.kind")}</th>
            <th scope="col">{t("admin.state")}</th>
            <th scope="col">{t("admin.address")}</th>
            <th scope="col"><span className="visually-hidden">{t("admin.actions")}</span></th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((c) => (
            <tr key={c.channel.id} className={c.channel.disabled ? "disabled" : undefined}>
              <td dir="auto">{c.channel.name}</td>
              <td>
                {CHANNEL_LABEL[c.channel.kind]}
                {c.channel.test && <span className="badge test">{t("channels.test")}</span>}
              </td>
              <td>{c.channel.disabled ? t("admin.disabled") : t("admin.active")}</td>
              <td className="address">
                {c.webhook_url && <code className="copyable">{c.webhook_url}</code>}
                {c.embed && <code className="copyable">{c.embed}</code>}
                {c.credentials_set.length > 0 && <span className="muted">{t("admin.credentialsSet", { names: c.credentials_set.map((k) => t(`admin.field.${k}`, { defaultValue: k })).join(", ") })}</span>}
              </td>
              <td className="cell-actions">
                <div>
                <button type="button" disabled={busy} onClick={() => void call({ call: "change_channel", id: c.channel.id, change: { name: null, disabled: !c.channel.disabled, templates: null, settings: null } })}>
                  {c.channel.disabled ? t("admin.enable") : t("admin.disable")}
                </button>
                <button type="button" disabled={busy} onClick={() => void renew(c)}>{t("admin.newSecret")}</button>
                {!c.channel.test && (
                  <button type="button" aria-expanded={editing === c.channel.id} onClick={() => setEditing(editing === c.channel.id ? null : c.channel.id)}>
                    {t("admin.edit")}
                  </button>
                )}
                {c.channel.kind === "whatsapp" && (
                  <button type="button" aria-expanded={templatesOf === c.channel.id} onClick={() => setTemplatesOf(templatesOf === c.channel.id ? null : c.channel.id)}>
                    {t("admin.templates")} ({c.channel.templates.length})
                  </button>
                )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data?.length === 0 && <p className="empty">{t("admin.noChannels")}</p>}
      {editing && list.data && (() => {
        const c = list.data.find((x) => x.channel.id === editing);
        return c ? (
          <EditChannel
            key={editing}
            channel={c}
            busy={busy}
            onSave={async (change) => {
              if (await call({ call: "change_channel", id: c.channel.id, change })) setEditing(null);
            }}
          />
        ) : null;
      })()}
      {templatesOf && list.data && (() => {
        const c = list.data.find((x) => x.channel.id === templatesOf);
        if (!c) return null;
        return c.channel.test ? (
          <TemplatesEditor
            key={templatesOf}
            initial={c.channel.templates}
            busy={busy}
            onSave={(templates) => void call({ call: "change_channel", id: templatesOf, change: { name: null, disabled: null, templates, settings: null } })}
          />
        ) : (
          <ApprovedTemplates channel={c} busy={busy} onRefresh={() => void call({ call: "refresh_templates", id: c.channel.id })} />
        );
      })()}
      <NewChannel busy={busy} onCreate={async (channel) => {
        const a = await call({ call: "add_channel", channel });
        if (a?.answer === "new_channel") setSecret({ name: a.channel.channel.name, secret: a.channel.secret });
        return a !== null;
      }} />
    </div>
  );
}

function NewChannel({ busy, onCreate }: { busy: boolean; onCreate: (c: { kind: ChannelKind; name: string; test: boolean; settings: Record<string, unknown> }) => Promise<boolean> }) {
  const { t } = useTranslation();
  const [kind, setKind] = useState<ChannelKind>("web_chat");
  const [test, setTest] = useState(false);
  const [name, setName] = useState("");
  const [values, setValues] = useState<Record<string, string>>({});
  const fields = test ? [] : (FIELDS[kind] ?? []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const settings: Record<string, unknown> = {};
    for (const f of fields) {
      const v = valueOf(f, values[f.key]);
      if (v !== undefined) settings[f.key] = v;
    }
    if (await onCreate({ kind, name: name.trim(), test, settings })) {
      setName("");
      setValues({});
    }
  };
  return (
    <form className="admin-form" onSubmit={(e) => void submit(e)} aria-labelledby="new-channel-title">
      <h3 id="new-channel-title">{t("admin.addChannel")}</h3>
      <label>
        {t("admin.kind")}
        <select value={kind} onChange={(e) => setKind(e.target.value as ChannelKind)}>
          {(test ? ALL : REAL).map((k) => <option key={k} value={k}>{CHANNEL_LABEL[k]}</option>)}
        </select>
      </label>
      <label>
        {t("admin.name")}
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      {fields.map((f) => (
        <FieldInput key={f.key} f={f} value={values[f.key] ?? ""} required={!f.optional} keepCredential={false} onChange={(v) => setValues({ ...values, [f.key]: v })} />
      ))}
      {!test && kind === "telegram" && <p className="hint">{t("admin.telegramModeHint")}</p>}
      {!test && kind === "whatsapp" && <p className="hint">{t("admin.whatsappHint")}</p>}
      <label className="check">
        <input type="checkbox" checked={test} onChange={(e) => { setTest(e.target.checked); if (!e.target.checked && !REAL.includes(kind)) setKind("web_chat"); }} />
        {t("admin.testChannel")}
      </label>
      {test && <p className="hint">{t("admin.testHint")}</p>}
      <button type="submit" className="primary" disabled={busy}>{t("admin.add")}</button>
    </form>
  );
}

/** A channel's name and settings changed; a credential left blank keeps the saved one. */
function EditChannel({ channel: c, busy, onSave }: { channel: ChannelAdmin; busy: boolean; onSave: (change: ChannelChange) => Promise<void> }) {
  const { t } = useTranslation();
  const fields = FIELDS[c.channel.kind] ?? [];
  const [name, setName] = useState(c.channel.name);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(fields.filter((f) => !f.secret).map((f) => {
      const v = c.settings[f.key];
      return [f.key, Array.isArray(v) ? v.join("\n") : typeof v === "string" || typeof v === "number" ? String(v) : ""];
    })),
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const settings: Record<string, unknown> = {};
    for (const f of fields) {
      if (f.secret && (values[f.key] ?? "").trim() === "") continue;
      // An optional setting emptied goes back to the default (null removes it).
      settings[f.key] = valueOf(f, values[f.key]) ?? null;
    }
    await onSave({ name: name.trim(), disabled: null, templates: null, settings });
  };
  return (
    <form className="admin-form" onSubmit={(e) => void submit(e)} aria-labelledby="edit-channel-title">
      <h3 id="edit-channel-title" dir="auto">{t("admin.editChannel", { name: c.channel.name })}</h3>
      <label>
        {t("admin.name")}
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      {fields.map((f) => (
        <FieldInput
          key={f.key}
          f={f}
          value={values[f.key] ?? ""}
          required={!f.optional && !f.secret}
          keepCredential={Boolean(f.secret && c.credentials_set.includes(f.key))}
          onChange={(v) => setValues({ ...values, [f.key]: v })}
        />
      ))}
      <div className="buttons">
        <button type="submit" className="primary" disabled={busy}>{t("admin.save")}</button>
      </div>
    </form>
  );
}

/** A real WhatsApp channel's templates: the ones WhatsApp approved, fetched again on demand. */
function ApprovedTemplates({ channel: c, busy, onRefresh }: { channel: ChannelAdmin; busy: boolean; onRefresh: () => void }) {
  const { t } = useTranslation();
  return (
    <section className="admin-form templates" aria-labelledby="approved-title">
      <h3 id="approved-title">{t("admin.templates")}</h3>
      <p className="hint">{t("admin.approvedHint")}</p>
      {c.channel.templates.length === 0 ? (
        <p className="empty">{t("admin.noApproved")}</p>
      ) : (
        <ul className="approved">
          {c.channel.templates.map((tpl) => (
            <li key={`${tpl.name}/${tpl.language}`}>
              <strong dir="auto">{tpl.name}</strong> <span className="muted">{tpl.language}</span>
              <p dir="auto">{tpl.body}</p>
            </li>
          ))}
        </ul>
      )}
      <div className="buttons">
        <button type="button" className="primary" disabled={busy} onClick={onRefresh}>{t("admin.fetchTemplates")}</button>
      </div>
    </section>
  );
}

function TemplatesEditor({ initial, busy, onSave }: { initial: Template[]; busy: boolean; onSave: (t: Template[]) => void }) {
  const { t } = useTranslation();
  const [rows, setRows] = useState<Template[]>(initial);
  const set = (i: number, change: Partial<Template>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  return (
    <form className="admin-form templates" onSubmit={(e) => { e.preventDefault(); onSave(rows.filter((r) => r.name.trim())); }} aria-labelledby="templates-title">
      <h3 id="templates-title">{t("admin.templates")}</h3>
      <p className="hint">{t("admin.templatesHint", VARIABLES)}</p>
      {rows.map((r, i) => (
        <fieldset key={i} className="template-row">
          <legend className="visually-hidden">{r.name || t("admin.template")}</legend>
          <input aria-label={t("admin.templateName")} placeholder={t("admin.templateName")} value={r.name} onChange={(e) => set(i, { name: e.target.value })} />
          <input aria-label={t("admin.templateLanguage")} placeholder="pt_BR" value={r.language} onChange={(e) => set(i, { language: e.target.value })} />
          <textarea aria-label={t("admin.templateBody")} placeholder={t("admin.templateBodyExample", VARIABLES)} rows={2} value={r.body} onChange={(e) => set(i, { body: e.target.value })} />
          <button type="button" className="link" onClick={() => setRows(rows.filter((_, j) => j !== i))}>{t("admin.remove")}</button>
        </fieldset>
      ))}
      <div className="buttons">
        <button type="button" onClick={() => setRows([...rows, { name: "", language: "pt_BR", body: "" }])}>{t("admin.addTemplate")}</button>
        <button type="submit" className="primary" disabled={busy}>{t("admin.save")}</button>
      </div>
    </form>
  );
}
