import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import type { Bridge } from "../../bridge";
import { queries, useTeams } from "../../data";
import type { Agent, AgentChange, Role, Team, Visibility } from "../../generated/outpost";
import { Failure } from "../Failure";
import { ShownOnce } from "./ShownOnce";
import { useAdminCall } from "./useAdmin";

const VISIBILITIES: Visibility[] = ["unrestricted", "team", "own_only"];
const NO_CHANGE: AgentChange = { name: null, role: null, visibility: null, teams: null, disabled: null };

export function AdminAgents({ bridge, me }: { bridge: Bridge; me: Agent }) {
  const { t } = useTranslation();
  const list = useQuery(queries.adminAgents(bridge));
  const teams = useTeams(bridge).data ?? [];
  const { call, busy, problem } = useAdminCall(bridge);
  const [invite, setInvite] = useState<{ name: string; url: string } | null>(null);
  const change = (id: string, c: Partial<AgentChange>) => void call({ call: "change_agent", id, change: { ...NO_CHANGE, ...c } });
  /** Only the owner changes admins (the server says the same). */
  const mayChange = (a: Agent) => a.id !== me.id && a.role !== "owner" && (me.role === "owner" || a.role === "agent");
  return (
    <div className="admin-agents">
      <Failure error={list.error} />
      {problem && <p role="alert" className="error">{problem}</p>}
      {invite && <ShownOnce sentence={t("admin.inviteOnce", { name: invite.name })} value={invite.url} onKept={() => setInvite(null)} />}
      <table className="admin-table">
        <caption className="visually-hidden">{t("admin.agents")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.name")}</th>
            <th scope="col">{t("admin.role")}</th>
            <th scope="col">{t("admin.visibility")}</th>
            <th scope="col">{t("admin.teams")}</th>
            <th scope="col">{t("admin.state")}</th>
            <th scope="col"><span className="visually-hidden">{t("admin.actions")}</span></th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map(({ agent: a, disabled, invited }) => (
            <tr key={a.id} className={disabled ? "disabled" : undefined}>
              <td><span dir="auto">{a.name}</span><br /><span className="muted">{a.email}</span></td>
              <td>
                {mayChange(a) && me.role === "owner" ? (
                  <select aria-label={t("admin.roleOf", { name: a.name })} value={a.role} disabled={busy} onChange={(e) => change(a.id, { role: e.target.value as Role })}>
                    <option value="agent">{t("admin.roles.agent")}</option>
                    <option value="admin">{t("admin.roles.admin")}</option>
                  </select>
                ) : (
                  t(`admin.roles.${a.role}`)
                )}
              </td>
              <td>
                {mayChange(a) ? (
                  <select aria-label={t("admin.visibilityOf", { name: a.name })} value={a.visibility} disabled={busy} onChange={(e) => change(a.id, { visibility: e.target.value as Visibility })}>
                    {VISIBILITIES.map((v) => <option key={v} value={v}>{t(`admin.visibilities.${v}`)}</option>)}
                  </select>
                ) : (
                  t(`admin.visibilities.${a.visibility}`)
                )}
              </td>
              <td>
                <TeamChecks teams={teams} chosen={a.teams} disabled={busy || !mayChange(a)} label={a.name} onChange={(ids) => change(a.id, { teams: ids })} />
              </td>
              <td>{disabled ? t("admin.disabled") : invited ? t("admin.invited") : t("admin.active")}</td>
              <td className="cell-actions">
                <div>
                {mayChange(a) && (
                  <button type="button" disabled={busy} onClick={() => change(a.id, { disabled: !disabled })}>
                    {disabled ? t("admin.enable") : t("admin.disable")}
                  </button>
                )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <NewAgent teams={teams} owner={me.role === "owner"} busy={busy} onCreate={async (agent) => {
        const a = await call({ call: "add_agent", agent });
        if (a?.answer === "new_agent" && a.agent.invite_url) setInvite({ name: a.agent.agent.name, url: a.agent.invite_url });
        return a !== null;
      }} />
    </div>
  );
}

function TeamChecks({ teams, chosen, disabled, label, onChange }: { teams: Team[]; chosen: string[]; disabled: boolean; label: string; onChange: (ids: string[]) => void }) {
  const { t } = useTranslation();
  return (
    <fieldset className="team-checks" disabled={disabled}>
      <legend className="visually-hidden">{t("admin.teamsOf", { name: label })}</legend>
      {teams.map((team) => (
        <label key={team.id} className="check">
          <input type="checkbox" checked={chosen.includes(team.id)} onChange={(e) => onChange(e.target.checked ? [...chosen, team.id] : chosen.filter((x) => x !== team.id))} />
          <span dir="auto">{team.name}</span>
        </label>
      ))}
    </fieldset>
  );
}

type NewAgentForm = { name: string; email: string; password: string | null; role: Role; visibility: Visibility; teams: string[] };

function NewAgent({ teams, owner, busy, onCreate }: { teams: Team[]; owner: boolean; busy: boolean; onCreate: (a: NewAgentForm) => Promise<boolean> }) {
  const { t } = useTranslation();
  const blank: NewAgentForm = { name: "", email: "", password: null, role: "agent", visibility: "team", teams: [] };
  const [form, setForm] = useState<NewAgentForm>(blank);
  const [withPassword, setWithPassword] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await onCreate({ ...form, name: form.name.trim(), email: form.email.trim(), password: withPassword ? form.password : null })) setForm(blank);
  };
  return (
    <form className="admin-form" onSubmit={(e) => void submit(e)} aria-labelledby="new-agent-title">
      <h3 id="new-agent-title">{t("admin.inviteAgent")}</h3>
      <label>
        {t("admin.name")}
        <input required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
      </label>
      <label>
        {t("admin.email")}
        <input required type="email" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
      </label>
      <label>
        {t("admin.role")}
        <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
          <option value="agent">{t("admin.roles.agent")}</option>
          {owner && <option value="admin">{t("admin.roles.admin")}</option>}
        </select>
      </label>
      <label>
        {t("admin.visibility")}
        <select value={form.visibility} onChange={(e) => setForm({ ...form, visibility: e.target.value as Visibility })}>
          {VISIBILITIES.map((v) => <option key={v} value={v}>{t(`admin.visibilities.${v}`)}</option>)}
        </select>
      </label>
      <TeamChecks teams={teams} chosen={form.teams} disabled={false} label={form.name || t("admin.newAgent")} onChange={(ids) => setForm({ ...form, teams: ids })} />
      <label className="check">
        <input type="checkbox" checked={withPassword} onChange={(e) => setWithPassword(e.target.checked)} />
        {t("admin.firstPassword")}
      </label>
      {withPassword ? (
        <label>
          {t("admin.password")}
          <input required minLength={10} type="password" autoComplete="new-password" value={form.password ?? ""} onChange={(e) => setForm({ ...form, password: e.target.value })} />
        </label>
      ) : (
        <p className="hint">{t("admin.inviteHint")}</p>
      )}
      <button type="submit" className="primary" disabled={busy}>{withPassword ? t("admin.add") : t("admin.sendInvite")}</button>
    </form>
  );
}
