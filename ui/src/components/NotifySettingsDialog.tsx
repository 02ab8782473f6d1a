import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ask, type Bridge } from "../bridge";
import { useNotifySettings } from "../data";
import { useNow } from "../lib/now";
import { Failure } from "./Failure";
import { Modal } from "./Modal";
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
  "missed_call",
];

/** The agent's notification choices: kept at the server, so every desktop of theirs follows them. */
export function NotifySettingsDialog({ bridge, onClose }: { bridge: Bridge; onClose: () => void }) {
  const { t } = useTranslation();
  const stored = useNotifySettings(bridge);
  /** The agent's changes, not saved yet (the stored settings until the first change). */
  const [edited, setEdited] = useState<NotifySettings | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const settings = edited ?? stored.data ?? null;
  const save = async (next: NotifySettings) => {
    try {
      await ask(bridge, { type: "act", action: { type: "save_notify_settings", settings: next } }, "acted");
      onClose();
    } catch (e) {
      setProblem(e);
    }
  };
  return (
    <Modal onClose={onClose} labelledBy="notify-title">
      <form
        className="dialog notify-settings"
        onSubmit={(e) => {
          e.preventDefault();
          if (settings) void save(settings);
        }}
      >
        <h2 id="notify-title">{t("notify.title")}</h2>
        <Failure error={problem ?? stored.error} className="problem" />
        {!bridge.nativeNotifications && <BrowserPermission />}
        {settings && (
          <>
            <CategoryChecks
              legend={t("notify.categories")}
              categories={CATEGORIES}
              checked={settings.enabled}
              onChange={(enabled) => setEdited({ ...settings, enabled })}
            />
            <CategoryChecks
              legend={t("notify.away")}
              categories={CATEGORIES.filter((c) => settings.enabled.includes(c))}
              checked={settings.muted_when_away}
              onChange={(muted_when_away) => setEdited({ ...settings, muted_when_away })}
            />
            <QuietHours settings={settings} onChange={setEdited} />
            <DoNotDisturb settings={settings} onChange={setEdited} />
          </>
        )}
        <div className="buttons end">
          <button type="button" onClick={onClose}>{t("notify.cancel")}</button>
          <button type="submit" className="primary" disabled={!settings}>{t("notify.save")}</button>
        </div>
      </form>
    </Modal>
  );
}

type Part = { settings: NotifySettings; onChange: (next: NotifySettings) => void };

/** Quiet hours: a daily span (local time) in which nothing is shown. */
function QuietHours({ settings, onChange }: Part) {
  const { t } = useTranslation();
  const quiet = settings.quiet_hours;
  return (
    <fieldset>
      <legend>{t("notify.quiet")}</legend>
      <label className="check">
        <input
          type="checkbox"
          checked={quiet !== null}
          onChange={(e) => onChange({ ...settings, quiet_hours: e.target.checked ? { start: 22 * 60, end: 8 * 60 } : null })}
        />
        {t("notify.quietOn")}
      </label>
      {quiet && (
        <span className="times">
          <TimeField label={t("notify.from")} name={t("notify.start")} minutes={quiet.start} onChange={(start) => onChange({ ...settings, quiet_hours: { ...quiet, start } })} />
          <TimeField label={t("notify.to")} name={t("notify.end")} minutes={quiet.end} onChange={(end) => onChange({ ...settings, quiet_hours: { ...quiet, end } })} />
        </span>
      )}
    </fieldset>
  );
}

/** A time of day (minutes after midnight, local) with its label. */
function TimeField({ label, name, minutes, onChange }: { label: string; name: string; minutes: number; onChange: (minutes: number) => void }) {
  return (
    <label>
      {label}{" "}
      <input type="time" required aria-label={name} value={toTime(minutes)} onChange={(e) => onChange(fromTime(e.target.value))} />
    </label>
  );
}

/** Do not disturb: nothing shown until a time the agent picks from the presets. */
function DoNotDisturb({ settings, onChange }: Part) {
  const { t, i18n } = useTranslation();
  const now = useNow();
  const until = settings.dnd_until !== null && settings.dnd_until > now ? settings.dnd_until : null;
  return (
    <fieldset>
      <legend>{t("notify.dnd")}</legend>
      <p role="status">
        {until !== null
          ? t("notify.dndUntil", { time: new Date(until).toLocaleString(i18n.language, { weekday: "short", hour: "2-digit", minute: "2-digit" }) })
          : t("notify.dndOff")}
      </p>
      <div className="buttons">
        {dndPresets(new Date(now)).map((p) => (
          <button key={p.key} type="button" onClick={() => onChange({ ...settings, dnd_until: p.until })}>
            {t(`notify.dndFor.${p.key}`, { time: new Date(p.until).toLocaleTimeString(i18n.language, { hour: "2-digit", minute: "2-digit" }) })}
          </button>
        ))}
        {until !== null && (
          <button type="button" onClick={() => onChange({ ...settings, dnd_until: null })}>
            {t("notify.dndEnd")}
          </button>
        )}
      </div>
    </fieldset>
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
