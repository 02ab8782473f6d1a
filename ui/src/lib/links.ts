// Links in message text: found in the text (never parsed as HTML), kept only for the schemes an
// agent can safely open outside the app (http, https, mailto, tel), and opened by the bridge in the
// system's browser or mail or phone app, never in the app's own window.

/** The schemes a link in a message may have. */
export const LINK_SCHEMES = ["http:", "https:", "mailto:", "tel:"] as const;

/** A piece of a text: plain, or a link (`href` is what opens; `text` what the message said). */
export type Piece = { text: string; href?: string };

// A scheme and what follows it up to white space; "www." alone; an email address alone.
const CANDIDATE = /\b(?:(?:https?:\/\/|mailto:|tel:)[^\s<>"]+|www\.[^\s<>"]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)/giu;
// Punctuation that ends a sentence more often than a link.
const TRAILING = /[.,;:!?'"»”’…]+$/u;

/** Splits `text` into plain pieces and links. The pieces joined are `text`, unchanged. */
export function linkify(text: string): Piece[] {
  const pieces: Piece[] = [];
  let plain = 0;
  for (const match of text.matchAll(CANDIDATE)) {
    const found = trim(match[0]);
    const at = match.index;
    const href = hrefOf(found);
    if (!href) continue;
    if (at > plain) pieces.push({ text: text.slice(plain, at) });
    pieces.push({ text: found, href });
    plain = at + found.length;
  }
  if (plain < text.length) pieces.push({ text: text.slice(plain) });
  return pieces;
}

/** A candidate without what a sentence put after it: trailing punctuation, and a ")" it did not open. */
function trim(candidate: string): string {
  let s = candidate.replace(TRAILING, "");
  while (s.endsWith(")") && count(s, "(") < count(s, ")")) s = s.slice(0, -1).replace(TRAILING, "");
  return s;
}

const count = (s: string, c: string) => s.split(c).length - 1;

/** The address a link opens, or null when it is not one Outpost opens. */
export function hrefOf(found: string): string | null {
  let candidate = found;
  if (/^www\./i.test(candidate)) candidate = `https://${candidate}`;
  else if (!/^[a-z]+:/i.test(candidate) && candidate.includes("@")) candidate = `mailto:${candidate}`;
  return safeHref(candidate);
}

/** `href` when it parses and its scheme is one of LINK_SCHEMES (and a web link has a host), else null. */
export function safeHref(href: string): string | null {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return null;
  }
  if (!(LINK_SCHEMES as readonly string[]).includes(url.protocol)) return null;
  if ((url.protocol === "http:" || url.protocol === "https:") && !url.hostname) return null;
  if (url.protocol === "tel:" && !/^\+?[\d\-().\s%20]+$/.test(decodeURIComponent(url.pathname))) return null;
  return url.href;
}
