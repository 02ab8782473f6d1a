import type { ChannelKind, MessageStatus } from "../generated/outpost";

export const CHANNEL_LABEL: Record<ChannelKind, string> = {
  whatsapp: "WhatsApp",
  telegram: "Telegram",
  instagram: "Instagram",
  messenger: "Messenger",
  sms: "SMS",
  email: "Email",
  web_chat: "Web chat",
};

/** A short badge for a channel, shown beside the avatar. */
export const CHANNEL_BADGE: Record<ChannelKind, string> = {
  whatsapp: "WA",
  telegram: "TG",
  instagram: "IG",
  messenger: "FB",
  sms: "SMS",
  email: "@",
  web_chat: "WEB",
};

/** Ticks as messaging apps show them. */
export function ticks(status: MessageStatus): string {
  switch (status) {
    case "pending":
      return "○";
    case "scheduled":
      return "◷";
    case "wired":
      return "✓";
    case "sent":
      return "✓";
    case "delivered":
      return "✓✓";
    case "read":
      return "✓✓";
    case "failed":
      return "!";
    default:
      return "";
  }
}

/** Today: the time; this week: the weekday; before: the date. */
export function when(at: number, now: number, locale: string): string {
  const d = new Date(at);
  const n = new Date(now);
  if (d.toDateString() === n.toDateString()) {
    return d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  }
  if (now - at < 6 * 86_400_000) return d.toLocaleDateString(locale, { weekday: "short" });
  return d.toLocaleDateString(locale, { day: "2-digit", month: "short" });
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : parts;
  return letters.map((p) => Array.from(p ?? "")[0] ?? "").join("").toUpperCase() || "?";
}
