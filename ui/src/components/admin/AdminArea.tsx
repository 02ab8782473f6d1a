import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { Bridge } from "../../bridge";
import type { Agent } from "../../generated/outpost";
import { AdminAgents } from "./AdminAgents";
import { AdminChannels } from "./AdminChannels";
import { AdminTeams } from "./AdminTeams";

type Tab = "channels" | "agents" | "teams";
const TABS: Tab[] = ["channels", "agents", "teams"];

/**
 * The Admin area, for owners and admins: the workspace's channels, agents and teams. What it
 * reads and changes is at the server (never offline); agents' desktops see the changes in their
 * next sync.
 */
export function AdminArea({ bridge, me }: { bridge: Bridge; me: Agent }) {
  const { t } = useTranslation();
  const [tab, setTab] = useState<Tab>("channels");
  return (
    <section className="admin" aria-labelledby="admin-title">
      <header>
        <h1 id="admin-title">{t("admin.title")}</h1>
        <div role="tablist" aria-label={t("admin.title")} className="tabs">
          {TABS.map((x) => (
            <button key={x} type="button" role="tab" id={`admin-tab-${x}`} aria-selected={tab === x} aria-controls={`admin-panel-${x}`} onClick={() => setTab(x)}>
              {t(`admin.${x}`)}
            </button>
          ))}
        </div>
      </header>
      <div role="tabpanel" id={`admin-panel-${tab}`} aria-labelledby={`admin-tab-${tab}`} className="panel">
        {tab === "channels" && <AdminChannels bridge={bridge} />}
        {tab === "agents" && <AdminAgents bridge={bridge} me={me} />}
        {tab === "teams" && <AdminTeams bridge={bridge} />}
      </div>
    </section>
  );
}
