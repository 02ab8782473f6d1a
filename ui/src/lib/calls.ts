// How a call is said: its duration ("3 min 12 s"), and the line the timeline shows between the
// messages ("Missed call from Ana · 14:02", "Call with Ana · 3 min 12 s"), in the agent's language.
import type { TFunction } from "i18next";
import type { IconName } from "../components/Icon";
import type { Call } from "../generated/outpost";
import { formatAt } from "./format";

/** A call that did not happen (missed, failed) is drawn as one; else its direction. */
export function callIcon(call: Call): IconName {
  if (call.outcome === "missed" || call.outcome === "failed") return "callMissed";
  return call.direction === "incoming" ? "callIncoming" : "callOutgoing";
}

/** A call's length, as people say it: seconds, minutes and seconds, or hours and minutes. */
export function callDuration(seconds: number, t: TFunction): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("calls.durationSeconds", { sec: s });
  if (s < 3600) return t("calls.duration", { min: Math.floor(s / 60), sec: s % 60 });
  return t("calls.durationHours", { hours: Math.floor(s / 3600), min: Math.floor((s % 3600) / 60) });
}

/** What became of a call, in a word or its length: "3 min 12 s", "Missed", "Not answered"… */
export function callOutcome(call: Call, t: TFunction): string {
  switch (call.outcome) {
    case "answered":
      return callDuration(call.duration_secs ?? 0, t);
    case "missed":
      return call.direction === "incoming" ? t("calls.outcome.missed") : t("calls.notAnswered");
    case "failed":
      return t("calls.outcome.failed");
    default:
      return t("calls.outcome.ongoing");
  }
}

/** A conversation row's words for its newest call, when no message says anything yet. */
export function callPreview(call: Call, t: TFunction): string {
  switch (call.outcome) {
    case "answered":
      return t("calls.preview.answered", { duration: callDuration(call.duration_secs ?? 0, t) });
    case "missed":
      return t(call.direction === "incoming" ? "calls.preview.missed" : "calls.preview.notAnswered");
    case "failed":
      return t("calls.preview.failed");
    default:
      return t("calls.preview.ongoing");
  }
}

/** The timeline's line for a call with `name`. */
export function callLine(call: Call, name: string, t: TFunction, locale: string): string {
  const time = formatAt(call.started_at, "time", locale);
  const incoming = call.direction === "incoming";
  switch (call.outcome) {
    case "answered":
      return t("calls.line.with", { name, duration: callDuration(call.duration_secs ?? 0, t), time });
    case "missed":
      return t(incoming ? "calls.line.missedFrom" : "calls.line.notAnswered", { name, time });
    case "failed":
      return t("calls.line.failed", { name, time });
    default:
      return t(incoming ? "calls.line.calling" : "calls.line.callingOut", { name, time });
  }
}
