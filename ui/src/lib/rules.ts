import type { Conversation } from "../generated/outpost";
import { CHANNELS_WITH_WINDOW, REPLY_WINDOW_MS } from "../generated/limits";

/**
 * Whether the channel's reply window has closed (WhatsApp, Instagram, Messenger: free text only
 * within 24 h of the customer's last message; a template after that). The rule and its numbers
 * are the protocol's (`outpost_protocol::rules`), generated into TypeScript.
 */
export function windowClosed(c: Pick<Conversation, "channel" | "last_incoming_at">, now: number): boolean {
  if (!CHANNELS_WITH_WINDOW.includes(c.channel)) return false;
  return c.last_incoming_at === null || now - c.last_incoming_at >= REPLY_WINDOW_MS;
}
