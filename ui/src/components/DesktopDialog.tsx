import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { About, DesktopSettings, DesktopShell, UpdateFound } from "../bridge";
import { formatSize } from "../lib/files";
import { Modal } from "./Modal";

/**
 * The desktop app on this computer: staying in the tray when the window closes, starting at
 * login, where updates come from; and About (version, server, the mirror's size) with the log
 * folder. Only the desktop app has it.
 */
export function DesktopDialog({ desktop, onClose }: { desktop: DesktopShell; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const [settings, setSettings] = useState<DesktopSettings | null>(null);
  const [about, setAbout] = useState<About | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    desktop.settings().then(setSettings, (e) => setProblem(String(e)));
    desktop.about().then(setAbout, (e) => setProblem(String(e)));
  }, [desktop]);
  const change = (next: Partial<DesktopSettings>) => {
    if (settings) setSettings({ ...settings, ...next });
    setSaved(false);
  };
  return (
    <Modal onClose={onClose} labelledBy="desktop-title">
      <form
        className="dialog desktop-settings"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!settings) return;
          try {
            setSettings(await desktop.save(settings));
            setProblem(null);
            setSaved(true);
          } catch (err) {
            setProblem(String(err));
          }
        }}
      >
        <h2 id="desktop-title">{t("desktop.title")}</h2>
        {problem && <p role="alert" className="problem">{problem}</p>}
        {settings && (
          <fieldset>
            <legend>{t("desktop.behaviour")}</legend>
            <label className="check">
              <input type="checkbox" checked={settings.close_to_tray} onChange={(e) => change({ close_to_tray: e.target.checked })} />
              {t("desktop.closeToTray")}
            </label>
            <label className="check">
              <input type="checkbox" checked={settings.start_at_login} onChange={(e) => change({ start_at_login: e.target.checked })} />
              {t("desktop.startAtLogin")}
            </label>
            <label className="field">
              <span>{t("desktop.updateEndpoint")}</span>
              <input type="url" value={settings.update_endpoint} placeholder={t("desktop.updateDefault")} onChange={(e) => change({ update_endpoint: e.target.value })} />
            </label>
          </fieldset>
        )}
        {settings && <Spelling chosen={settings.spelling} interfaceLanguage={i18n.language} onChange={(spelling) => change({ spelling })} />}
        <Updates desktop={desktop} />
        {about && (
          <fieldset className="about">
            <legend>{t("desktop.about")}</legend>
            <dl>
              <dt>{t("desktop.version")}</dt>
              <dd data-testid="version">{about.version}</dd>
              <dt>{t("desktop.server")}</dt>
              <dd>{about.server ?? "—"}</dd>
              <dt>{t("desktop.stored")}</dt>
              <dd>{formatSize(about.stored_bytes, i18n.language)}</dd>
            </dl>
            <button type="button" onClick={() => desktop.openLogFolder().catch((e) => setProblem(String(e)))}>
              {t("desktop.openLogs")}
            </button>
          </fieldset>
        )}
        <div className="buttons">
          {saved && <span role="status">{t("desktop.saved")}</span>}
          <button type="button" onClick={onClose}>{t("desktop.close")}</button>
          <button type="submit" className="primary" disabled={!settings}>{t("desktop.save")}</button>
        </div>
      </form>
    </Modal>
  );
}

/** The languages the composer's spelling is checked in. */
const SPELLING: { code: string; name: string }[] = [
  { code: "en", name: "English" },
  { code: "pt-BR", name: "Português (Brasil)" },
  { code: "es", name: "Español" },
];

/**
 * Which languages spelling is checked in: those ticked, or with none ticked the interface's
 * (shown ticked, and said so). Each dictionary takes memory, so only the ones the agent writes in.
 */
function Spelling({ chosen, interfaceLanguage, onChange }: { chosen: string[]; interfaceLanguage: string; onChange: (spelling: string[]) => void }) {
  const { t } = useTranslation();
  const following = chosen.length === 0;
  const base = (code: string) => code.split("-")[0];
  const ticked = (code: string) => (following ? base(code) === base(interfaceLanguage) : chosen.includes(code));
  const toggle = (code: string, on: boolean) => {
    const now = SPELLING.map((l) => l.code).filter((c) => (c === code ? on : ticked(c)));
    // Back to the interface's language alone: follow it again (a later change of language too).
    onChange(now.length === 1 && base(now[0]!) === base(interfaceLanguage) ? [] : now);
  };
  return (
    <fieldset className="spelling">
      <legend>{t("desktop.spelling")}</legend>
      {SPELLING.map((l) => (
        <label className="check" key={l.code}>
          <input type="checkbox" checked={ticked(l.code)} onChange={(e) => toggle(l.code, e.target.checked)} />
          <span lang={l.code}>{l.name}</span>
        </label>
      ))}
      <p className="hint">{following ? t("desktop.spellingFollows") : t("desktop.spellingChosen")}</p>
    </fieldset>
  );
}

/** Looking for updates, installing the one found, restarting into it. */
function Updates({ desktop }: { desktop: DesktopShell }) {
  const { t } = useTranslation();
  type State =
    | { step: "idle" }
    | { step: "checking" }
    | { step: "current" }
    | { step: "found"; update: UpdateFound }
    | { step: "installing"; update: UpdateFound }
    | { step: "installed"; version: string }
    | { step: "failed"; why: string };
  const [state, setState] = useState<State>({ step: "idle" });
  const check = async () => {
    setState({ step: "checking" });
    try {
      const update = await desktop.checkUpdate();
      setState(update ? { step: "found", update } : { step: "current" });
    } catch (e) {
      setState({ step: "failed", why: String(e) });
    }
  };
  const install = async (update: UpdateFound) => {
    setState({ step: "installing", update });
    try {
      setState({ step: "installed", version: await desktop.installUpdate() });
    } catch (e) {
      setState({ step: "failed", why: String(e) });
    }
  };
  return (
    <fieldset className="updates" aria-busy={state.step === "checking" || state.step === "installing"}>
      <legend>{t("desktop.updates")}</legend>
      <p role="status" className="update-state">
        {state.step === "checking" && t("desktop.checking")}
        {state.step === "current" && t("desktop.upToDate")}
        {(state.step === "found" || state.step === "installing") && t("desktop.found", { version: state.update.version })}
        {state.step === "installed" && t("desktop.installed", { version: state.version })}
      </p>
      {state.step === "failed" && <p role="alert" className="problem">{state.why}</p>}
      {(state.step === "found" || state.step === "installing") && state.update.notes && <p className="notes">{state.update.notes}</p>}
      <div className="buttons">
        {state.step === "found" ? (
          <button type="button" className="primary" onClick={() => void install(state.update)}>{t("desktop.install")}</button>
        ) : state.step === "installed" ? (
          <button type="button" className="primary" onClick={() => void desktop.restart()}>{t("desktop.restart")}</button>
        ) : (
          <button type="button" onClick={() => void check()} disabled={state.step === "checking" || state.step === "installing"}>{t("desktop.check")}</button>
        )}
      </div>
    </fieldset>
  );
}
