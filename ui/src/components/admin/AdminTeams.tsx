import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import type { Bridge } from "../../bridge";
import { useTeams } from "../../data";
import type { QuickReply, Team } from "../../generated/outpost";
import { useAdminCall } from "./useAdmin";

export function AdminTeams({ bridge }: { bridge: Bridge }) {
  const { t } = useTranslation();
  const teams = useTeams(bridge).data ?? [];
  const { call, busy, problem } = useAdminCall(bridge);
  const [name, setName] = useState("");
  const add = async (e: FormEvent) => {
    e.preventDefault();
    if (await call({ call: "add_team", team: { name: name.trim(), quick_replies: [] } })) setName("");
  };
  return (
    <div className="admin-teams">
      {problem && <p role="alert" className="error">{problem}</p>}
      {teams.map((team) => (
        <TeamReplies key={team.id} team={team} busy={busy} onSave={(quick_replies) => void call({ call: "change_team", id: team.id, change: { name: null, quick_replies } })} />
      ))}
      {teams.length === 0 && <p className="empty">{t("admin.noTeams")}</p>}
      <form className="admin-form inline" onSubmit={(e) => void add(e)} aria-labelledby="new-team-title">
        <h3 id="new-team-title">{t("admin.addTeam")}</h3>
        <label>
          {t("admin.name")}
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={busy}>{t("admin.add")}</button>
      </form>
    </div>
  );
}

/** A team's quick replies, offered in the composer to its members. */
function TeamReplies({ team, busy, onSave }: { team: Team; busy: boolean; onSave: (r: QuickReply[]) => void }) {
  const { t } = useTranslation();
  const [rows, setRows] = useState<QuickReply[]>(team.quick_replies);
  const set = (i: number, change: Partial<QuickReply>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  return (
    <form className="admin-form team" onSubmit={(e) => { e.preventDefault(); onSave(rows.filter((r) => r.shortcut.trim() && r.text.trim())); }} aria-label={team.name}>
      <h3 dir="auto">{team.name}</h3>
      <p className="hint">{t("admin.repliesHint")}</p>
      {rows.map((r, i) => (
        <fieldset key={i} className="reply-row">
          <legend className="visually-hidden">{r.shortcut || t("admin.reply")}</legend>
          <input aria-label={t("admin.shortcut")} placeholder="/prazo" value={r.shortcut} onChange={(e) => set(i, { shortcut: e.target.value })} />
          <textarea aria-label={t("admin.replyText")} rows={2} value={r.text} onChange={(e) => set(i, { text: e.target.value })} dir="auto" />
          <button type="button" className="link" onClick={() => setRows(rows.filter((_, j) => j !== i))}>{t("admin.remove")}</button>
        </fieldset>
      ))}
      <div className="buttons">
        <button type="button" onClick={() => setRows([...rows, { shortcut: "", text: "" }])}>{t("admin.addReply")}</button>
        <button type="submit" className="primary" disabled={busy}>{t("admin.save")}</button>
      </div>
    </form>
  );
}
