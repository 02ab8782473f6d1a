// Errors and refusals in the agent's language. The core and the server send each with a reason
// (a key and the values its sentence names, e.g. `window_closed` and `channel: whatsapp`); the
// sentence is the interface's own translation (`reasons.*` in i18n). An English sentence is
// shown only when no reason came with it (an older server) or its key is unknown here.
import i18n from "i18next";
import { BridgeError } from "../bridge";
import type { Reason } from "../generated/outpost";

/** The sentence for `reason` in the interface's language, or `fallback` when it has none. */
export function phrase(reason: Reason | null | undefined, fallback: string): string {
  if (!reason) return fallback;
  const key = `reasons.${reason.key}`;
  return i18n.exists(key) ? i18n.t(key, reason.params) : fallback;
}

/** An error's sentence for the agent. */
export function describe(error: unknown): string {
  if (error instanceof BridgeError) return phrase(error.reason, error.message);
  if (error instanceof Error) return error.message;
  return String(error);
}
