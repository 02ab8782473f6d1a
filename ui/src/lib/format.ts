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

// Formatters are made once per language and kind: `toLocaleString` builds a new one on every
// call, which cost ~1 ms a timeline (measured: the largest part of opening a conversation).
const formats = new Map<string, Intl.DateTimeFormat>();
const KINDS = {
  time: { hour: "2-digit", minute: "2-digit" },
  weekday: { weekday: "short" },
  day: { day: "2-digit", month: "short" },
  date: { weekday: "long", day: "numeric", month: "long", year: "numeric" },
  full: { year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "2-digit", second: "2-digit" },
} satisfies Record<string, Intl.DateTimeFormatOptions>;

/** `at` as `kind` says, in `locale`: "14:05", "Tue", "12 Nov", "12/11/2026, 14:05:09". */
export function formatAt(at: number, kind: keyof typeof KINDS, locale: string): string {
  const key = `${locale}|${kind}`;
  let f = formats.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat(locale, KINDS[kind]);
    } catch {
      f = new Intl.DateTimeFormat(undefined, KINDS[kind]);
    }
    formats.set(key, f);
  }
  return f.format(at);
}

/** Today: the time; this week: the weekday; before: the date. */
export function when(at: number, now: number, locale: string): string {
  const d = new Date(at);
  const n = new Date(now);
  if (d.getFullYear() === n.getFullYear() && d.getMonth() === n.getMonth() && d.getDate() === n.getDate()) {
    return formatAt(at, "time", locale);
  }
  if (now - at < 6 * 86_400_000) return formatAt(at, "weekday", locale);
  return formatAt(at, "day", locale);
}

export function initials(name: string): string {
  // Words that begin with a letter, in any script: a phone number, an emoji or punctuation is
  // no initial (a nameless contact gets a person glyph instead).
  const words = name.match(/\p{L}[\p{L}\p{M}]*/gu) ?? [];
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((w) => Array.from(w ?? "")[0] ?? "").join("").toUpperCase();
}

/** The local calendar day of `at` ("2026-12-03"), to tell days apart. */
export function dayOf(at: number): string {
  const d = new Date(at);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/** A day as a timeline says it: "Today", "Yesterday", else the weekday and date, in `locale`. */
export function dayLabel(at: number, now: number, locale: string): string {
  const days = Math.round((startOfDay(now) - startOfDay(at)) / 86_400_000);
  if (days === 0 || days === 1) {
    let words: string;
    try {
      words = new Intl.RelativeTimeFormat(locale, { numeric: "auto" }).format(-days, "day");
    } catch {
      words = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }).format(-days, "day");
    }
    return words.charAt(0).toLocaleUpperCase(locale) + words.slice(1);
  }
  const date = formatAt(at, "date", locale);
  return date.charAt(0).toLocaleUpperCase(locale) + date.slice(1);
}

function startOfDay(at: number): number {
  const d = new Date(at);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}
