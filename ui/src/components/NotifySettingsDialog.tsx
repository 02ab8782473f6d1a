import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { ask, type Bridge } from "../bridge";
import type { NotifyCategory, NotifySettings } from "../generated/outpost";
import { browserNotifications } from "../lib/browserNotify";
import { dndPresets, fromTime, toTime } from "../lib/notify";

const CATEGORIES: NotifyCategory[] = [
  "message_mine",
  "message_unassigned",
  "message_others",
  "assigned_to_me",
  "snooze_woke",
  "scheduled_failed",
  "action_refused",
];

/** The agent's notification choices: kept at the server, so every desktop of theirs follows them. */
export function NotifySettingsDialog({ bridge, onClose }: { bridge: Bridge; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const [settings, setSettings] = useState<NotifySettings | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    ask(bridge, { type: "get_notify_settings" }, "notify_settings").then(
      (r) => setSettings(r.settings),
      (e: unknown) => setProblem(e instanceof Error ? e.message : String(e)),
    );
  }, [bridge]);
  useEffect(() => {
    const esc = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", esc);
    return () => window.removeEventListener("keydown", esc);
  }, [onClose]);

  const save = async (next: NotifySettings) => {
    try {
      await ask(bridge, { type: "act", action: { type: "save_notify_settings", settings: next } }, "acted");
      onClose();
    } catch (e) {
      setProblem(e instanceof Error ? e.message : String(e));
    }
  };
  const now = Date.now();
  const dndOn = settings?.dnd_until != null && settings.dnd_until > now;
  return (
    <div className="overlay" role="dialog" aria-modal="true" aria-labelledby="notify-title" onClick={onClose}>
      <form
        className="dialog notify-settings"
        onClick={(e) => e.stopPropagation()}
        onSubmit={(e) => {
          e.preventDefault();
          if (settings) void save(settings);
        }}
      >
        <h2 id="notify-title">{t("notify.title")}</h2>
        {problem && <p role="alert" className="problem">{problem}</p>}
        {!bridge.nativeNotifications && <BrowserPermission />}
        {settings && (
          <>
            <CategoryChecks
              legend={t("notify.categories")}
              categories={CATEGORIES}
              checked={settings.enabled}
              onChange={(enabled) => setSettings({ ...settings, enabled })}
            />
            <CategoryChecks
              legend={t("notify.away")}
              categories={CATEGORIES.filter((c) => settings.enabled.includes(c))}
              checked={settings.muted_when_away}
              onChange={(muted_when_away) => setSettings({ ...settings, muted_when_away })}
            />
            <fieldset>
              <legend>{t("notify.quiet")}</legend>
              <label className="check">
                <input
                  type="checkbox"
                  checked={settings.quiet_hours !== null}
                  onChange={(e) => setSettings({ ...settings, quiet_hours: e.target.checked ? { start: 22 * 60, end: 8 * 60 } : null })}
                />
                {t("notify.quietOn")}
              </label>
              {settings.quiet_hours && (
                <span className="times">
                  <label>
                    {t("notify.from")}{" "}
                    <input
                      type="time"
                      required
                      aria-label={t("notify.start")}
                      value={toTime(settings.quiet_hours.start)}
                      onChange={(e) => settings.quiet_hours && setSettings({ ...settings, quiet_hours: { ...settings.quiet_hours, start: fromTime(e.target.value) } })}
                    />
                  </label>
                  <label>
                    {t("notify.to")}{" "}
                    <input
                      type="time"
                      required
                      aria-label={t("notify.end")}
                      value={toTime(settings.quiet_hours.end)}
                      onChange={(e) => settings.quiet_hours && setSettings({ ...settings, quiet_hours: { ...settings.quiet_hours, end: fromTime(e.target.value) } })}
                    />
                  </label>
                </span>
              )}
            </fieldset>
            <fieldset>
              <legend>{t("notify.dnd")}</legend>
              <p role="status">
                {dndOn && settings.dnd_until !== null
                  ? t("notify.dndUntil", { time: new Date(settings.dnd_until).toLocaleString(i18n.language, { weekday: "short", hour: "2-digit", minute: "2-digit" }) })
                  : t("notify.dndOff")}
              </p>
              <div className="buttons">
                {dndPresets(new Date(now)).map((p) => (
                  <button key={p.key} type="button" onClick={() => setSettings({ ...settings, dnd_until: p.until })}>
                    {t(`notify.dndFor.${p.key}`, { time: new Date(p.until).toLocaleTimeString(i18n.language, { hour: "2-digit", minute: "2-digit" }) })}
                  </button>
                ))}
                {dndOn && (
                  <button type="button" onClick={() => setSettings({ ...settings, dnd_until: null })}>
                    {t("notify.dndEnd")}
                  </button>
                )}
              </div>
            </fieldset>
          </>
        )}
        <div className="buttons end">
          <button type="button" onClick={onClose}>{t("notify.cancel")}</button>
          <button type="submit" className="primary" disabled={!settings}>{t("notify.save")}</button>
        </div>
      </form>
    </div>
  );
}

/** The web edition: whether this browser may show Outpost's notifications, and the way to allow it. */
function BrowserPermission() {
  const { t } = useTranslation();
  const api = browserNotifications();
  const [permission, setPermission] = useState<NotificationPermission | "unsupported">(api ? api.permission : "unsupported");
  return (
    <fieldset className="browser-permission">
      <legend>{t("notify.browser.title")}</legend>
      <p role="status">{t(`notify.browser.${permission}`)}</p>
      {api && permission === "default" && (
        <button type="button" onClick={() => void api.requestPermission().then(setPermission)}>
          {t("notify.browser.allow")}
        </button>
      )}
    </fieldset>
  );
}

/** A checkbox per category; `onChange` gets the categories checked. */
function CategoryChecks({
  legend,
  categories,
  checked,
  onChange,
}: {
  legend: string;
  categories: NotifyCategory[];
  checked: NotifyCategory[];
  onChange: (checked: NotifyCategory[]) => void;
}) {
  const { t } = useTranslation();
  return (
    <fieldset>
      <legend>{legend}</legend>
      {categories.map((c) => (
        <label key={c} className="check">
          <input
            type="checkbox"
            checked={checked.includes(c)}
            onChange={(e) => onChange(e.target.checked ? [...checked.filter((x) => x !== c), c] : checked.filter((x) => x !== c))}
          />
          {t(`notify.category.${c}`)}
        </label>
      ))}
    </fieldset>
  );
}
