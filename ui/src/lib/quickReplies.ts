import type { Agent, Contact } from "../generated/outpost";

/** A canned answer the agent inserts from the composer; `{first_name}`, `{name}`, `{agent}` are filled in. */
export type QuickReply = { title: string; text: string };

const KEY = "outpost-quick-replies";

/** Fills a quick reply's variables: {first_name}, {name}, {agent}. Unknown ones stay as written. */
export function fillVariables(text: string, contact: Contact | null, agent: Agent | null): string {
  const name = contact?.name.trim() ?? "";
  const values: Record<string, string> = {
    first_name: name.split(/\s+/)[0] ?? "",
    name,
    agent: agent?.name.split(/\s+/)[0] ?? "",
  };
  return text.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

/**
 * The agent's quick replies as saved on this computer; until they save one, `defaults` (the
 * examples in the agent's language). A damaged list is replaced by the defaults.
 */
export function loadQuickReplies(storage: Pick<Storage, "getItem">, defaults: QuickReply[]): QuickReply[] {
  try {
    const saved = JSON.parse(storage.getItem(KEY) ?? "null");
    if (Array.isArray(saved)) return saved.filter((r) => typeof r?.title === "string" && typeof r?.text === "string");
  } catch {
    // Not JSON: the defaults below.
  }
  return defaults;
}

export function saveQuickReplies(storage: Pick<Storage, "setItem">, replies: QuickReply[]): void {
  storage.setItem(KEY, JSON.stringify(replies));
}
