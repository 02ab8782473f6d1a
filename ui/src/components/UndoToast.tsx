import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { ask, type Bridge } from "../bridge";
import { useAgents } from "../data";
import type { Action } from "../generated/outpost";
import { formatAt } from "../lib/format";
import { describe } from "../lib/reasons";
import { UNDO_MS, undoStore, useUndoable } from "../lib/undo";
import { isTyping } from "./Shortcuts";

/** Asks the toast to undo (the palette's "Undo the last action"). */
export const UNDO_EVENT = "outpost:undo";

/** Ctrl on Linux and Windows, ⌘ on macOS. */
export const MOD = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform) ? "⌘" : "Ctrl";

/**
 * Says what a triage action did and offers to take it back for a few seconds: the toast's Undo,
 * or Ctrl/Cmd+Z anywhere but in a text field (where it undoes typing).
 */
export function UndoToast({ bridge }: { bridge: Bridge }) {
  const { t, i18n } = useTranslation();
  const { name } = useAgents(bridge);
  const offer = useUndoable();
  const [said, setSaid] = useState<{ text: string; problem: boolean } | null>(null);

  // The offer ends after UNDO_MS; what undo said stays a moment.
  useEffect(() => {
    if (!offer) return;
    const left = offer.at + UNDO_MS - Date.now();
    const end = setTimeout(() => undoStore.dismiss(offer.opId), Math.max(0, left));
    return () => clearTimeout(end);
  }, [offer]);
  useEffect(() => {
    if (!said) return;
    const end = setTimeout(() => setSaid(null), 4000);
    return () => clearTimeout(end);
  }, [said]);

  const undo = useCallback(async () => {
    const taken = undoStore.take(Date.now());
    if (!taken) return;
    try {
      const r = await ask(bridge, { type: "undo", op_id: taken.opId, inverse: taken.inverse }, "undone");
      setSaid({ text: r.withdrawn ? t("undo.withdrawn") : t("undo.reversed"), problem: false });
    } catch (e) {
      setSaid({ text: describe(e), problem: true });
    }
  }, [bridge, t]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey && e.key.toLowerCase() === "z" && !isTyping(e.target) && undoStore.current()) {
        e.preventDefault();
        void undo();
      }
    };
    const asked = () => void undo();
    window.addEventListener("keydown", onKey);
    window.addEventListener(UNDO_EVENT, asked);
    return () => {
      window.removeEventListener("keydown", onKey);
      window.removeEventListener(UNDO_EVENT, asked);
    };
  }, [undo]);

  const what = (a: Action): string => {
    switch (a.type) {
      case "assign":
        return a.assignee === null ? t("undo.unassigned") : t("undo.assign", { who: name(a.assignee) ?? "…" });
      case "snooze":
        return t("undo.snooze", { until: formatAt(a.until, "full", i18n.language) });
      case "archive":
        return t("undo.archive", { count: a.message_ids.length });
      default:
        return t(`undo.${a.type}`);
    }
  };
  return (
    <div className="toasts" aria-live="polite">
      {offer && (
        <div className="toast" role="status">
          <span>{what(offer.action)}</span>
          <button type="button" className="link" onClick={() => void undo()} aria-keyshortcuts={`${MOD === "⌘" ? "Meta" : "Control"}+Z`}>
            {t("undo.button")}
          </button>
          <kbd>{MOD}+Z</kbd>
        </div>
      )}
      {!offer && said && (
        <div className={`toast${said.problem ? " problem" : ""}`} role={said.problem ? "alert" : "status"}>
          <span>{said.text}</span>
        </div>
      )}
    </div>
  );
}
