import { useTranslation } from "react-i18next";
import { ask, type Bridge } from "../bridge";
import { useState } from "react";
import type { Availability, SessionInfo, SyncStatus } from "../generated/outpost";
import { chooseLanguage, LANGUAGES } from "../i18n";

export function StatusBar({
  status,
  progress,
  session,
  bridge,
  onSignedOut,
  onHelp,
  onNotifications,
  onAccount,
  onDesktop,
}: {
  status: SyncStatus;
  progress: { stored: number; total: number } | null;
  session: SessionInfo;
  bridge: Bridge;
  onSignedOut: () => void;
  onHelp: () => void;
  onNotifications: () => void;
  onAccount: () => void;
  /** The desktop app's settings and About (absent in the web edition). */
  onDesktop?: () => void;
}) {
  const { t, i18n } = useTranslation();
  const [availability, setAvailability] = useState<Availability | null>(null);
  const c = status.connection;
  const label =
    c.state === "offline" ? t("status.offline", { s: Math.ceil(c.retry_in_ms / 1000) }) : t(`status.${c.state}`);
  return (
    <footer className="status-bar" aria-label="Status">
      <span className={`dot ${c.state}`} aria-hidden="true" />
      <span role="status" data-testid="connection">{label}</span>
      {progress && progress.total > 0 && (
        <span className="progress">
          {t("status.progress", { pct: Math.floor((100 * progress.stored) / progress.total) })}
          <progress value={progress.stored} max={progress.total} />
        </span>
      )}
      {status.waiting > 0 && <span data-testid="waiting">{t("status.waiting", { count: status.waiting })}</span>}
      <span className="spacer" />
      <span className="who">{session.agent?.name} · {session.account?.server}</span>
      {session.agent && (
        <label className="availability">
          <span className="visually-hidden">{t("status.availability")}</span>
          <select
            aria-label={t("status.availability")}
            value={availability ?? session.agent.availability}
            onChange={(e) => {
              const value = e.target.value as Availability;
              setAvailability(value);
              void bridge.request({ type: "act", action: { type: "set_availability", availability: value } });
            }}
          >
            <option value="available">{t("status.available")}</option>
            <option value="away">{t("status.away")}</option>
          </select>
        </label>
      )}
      <label className="language">
        <span className="visually-hidden">{t("status.language")}</span>
        <select aria-label={t("status.language")} value={i18n.language} onChange={(e) => chooseLanguage(e.target.value)}>
          {LANGUAGES.map((l) => (
            <option key={l.code} value={l.code}>{l.name}</option>
          ))}
        </select>
      </label>
      <button type="button" className="link" onClick={onNotifications}>
        {t("notify.button")}
      </button>
      <button type="button" className="link" onClick={onAccount}>
        {t("account.button")}
      </button>
      {onDesktop && (
        <button type="button" className="link" onClick={onDesktop}>
          {t("desktop.button")}
        </button>
      )}
      <button type="button" className="link" onClick={onHelp} aria-keyshortcuts="?">
        {t("shortcuts.title")}
      </button>
      <button
        type="button"
        className="link"
        onClick={async () => {
          await ask(bridge, { type: "sign_out" }, "done");
          onSignedOut();
        }}
      >
        {t("status.signOut")}
      </button>
    </footer>
  );
}
