import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Modal } from "./Modal";

/** The triage shortcuts: one key each, never while the agent types in a field. */
export const SHORTCUTS = [
  { key: "j", action: "next" },
  { key: "k", action: "previous" },
  { key: "a", action: "assignToMe" },
  { key: "e", action: "close" },
  { key: "s", action: "snooze" },
  { key: "/", action: "search" },
  { key: "?", action: "help" },
] as const;

export type ShortcutAction = (typeof SHORTCUTS)[number]["action"];

export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

/** Calls `on` for each shortcut pressed outside a text field. */
export function useShortcuts(on: (a: ShortcutAction) => void) {
  useEffect(() => {
    const listener = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
      const hit = SHORTCUTS.find((s) => s.key === e.key);
      if (hit) {
        e.preventDefault();
        on(hit.action);
      }
    };
    window.addEventListener("keydown", listener);
    return () => window.removeEventListener("keydown", listener);
  }, [on]);
}

export function ShortcutHelp({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Modal onClose={onClose} labelledBy="shortcuts-title">
      <div className="dialog">
        <h2 id="shortcuts-title">{t("shortcuts.title")}</h2>
        <dl>
          {SHORTCUTS.map((s) => (
            <div key={s.key}>
              <dt><kbd>{s.key}</kbd></dt>
              <dd>{t(`shortcuts.${s.action}`)}</dd>
            </div>
          ))}
        </dl>
        <button type="button" onClick={onClose} data-autofocus>{t("shortcuts.dismiss")}</button>
      </div>
    </Modal>
  );
}
