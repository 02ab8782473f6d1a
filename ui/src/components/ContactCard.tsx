import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { ask, type Bridge } from "../bridge";
import { describe } from "../lib/reasons";
import type { Contact, ContactEdit } from "../generated/outpost";
import { useChannels } from "../data";

/** The contact card beside a conversation: editable offline (the edit is an action like any other). */
export function ContactCard({ bridge, contact }: { bridge: Bridge; contact: Contact }) {
  const { t } = useTranslation();
  const { channelName } = useChannels(bridge);
  const [form, setForm] = useState(() => fields(contact));
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setForm(fields(contact)), [contact]);
  const changed = JSON.stringify(form) !== JSON.stringify(fields(contact));
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const before = fields(contact);
    const edit: ContactEdit = {
      name: form.name !== before.name ? form.name : null,
      phone: form.phone !== before.phone ? form.phone : null,
      email: form.email !== before.email ? form.email : null,
      country: form.country !== before.country ? form.country : null,
      language: form.language !== before.language ? form.language : null,
      tags: form.tags !== before.tags ? form.tags.split(",").map((s) => s.trim()).filter(Boolean) : null,
      fields: null,
      private_comment: form.comment !== before.comment ? form.comment : null,
    };
    setError(null);
    try {
      await ask(bridge, { type: "act", action: { type: "edit_contact", contact_id: contact.id, edit } }, "acted");
      setSaved(true);
      setTimeout(() => setSaved(false), 1500);
    } catch (err) {
      setError(describe(err));
    }
  };
  const input = (key: keyof ReturnType<typeof fields>, label: string, type = "text") => (
    <label>
      {label}
      <input type={type} value={form[key]} onChange={(e) => setForm({ ...form, [key]: e.target.value })} dir="auto" />
    </label>
  );
  return (
    <aside className="contact-card" aria-label={t("contact.title")}>
      <h3>{t("contact.title")}</h3>
      <form onSubmit={save}>
        {input("name", t("contact.name"))}
        {input("phone", t("contact.phone"), "tel")}
        {input("email", t("contact.email"), "email")}
        {input("country", t("contact.country"))}
        {input("language", t("contact.language"))}
        {input("tags", t("contact.tags"))}
        <label>
          {t("contact.comment")}
          <textarea value={form.comment} rows={3} onChange={(e) => setForm({ ...form, comment: e.target.value })} dir="auto" />
        </label>
        {error && <p role="alert" className="error">{error}</p>}
        <button type="submit" className="primary" disabled={!changed}>{saved ? t("contact.saved") : t("contact.save")}</button>
      </form>
      {contact.identities.length > 0 && (
        <ul className="identities">
          {contact.identities.map((i) => (
            <li key={`${i.channel}:${i.address}`}>
              <span className="channel-name">{channelName(i.channel)}</span> <span dir="auto">{i.address}</span>
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}

function fields(c: Contact) {
  return {
    name: c.name,
    phone: c.phone,
    email: c.email,
    country: c.country,
    language: c.language,
    tags: c.tags.join(", "),
    comment: c.private_comment,
  };
}
