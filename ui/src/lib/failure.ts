import type { JournalEntry, Message } from "../generated/outpost";
import { phrase } from "./reasons";

/** The op of the journal that created message `id`, if the journal still holds it. */
export function entryOf(journal: JournalEntry[], id: string): JournalEntry | undefined {
  return journal.find((j) => "message_id" in j.op.action && j.op.action.message_id === id);
}

/**
 * Why a message failed, in the agent's language: a refusal by the server is said from its
 * reason (kept in the journal); a provider's failure from the reason the server gave it (the
 * provider's own code and words when the interface has no sentence for it).
 */
export function failureOf(m: Pick<Message, "id" | "failure" | "failure_reason">, journal: JournalEntry[]): string {
  const entry = entryOf(journal, m.id);
  if (entry?.state === "refused") return phrase(entry.refusal_why, m.failure ?? entry.refusal_reason);
  return phrase(m.failure_reason, m.failure ?? "");
}
