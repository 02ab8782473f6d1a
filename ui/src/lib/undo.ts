// Undo for triage: close, snooze, assign, archive and "mark unanswered" can be taken back for a
// few seconds (the toast's Undo, or Ctrl/Cmd+Z). The core withdraws the op when it has not left
// for the server (the server never sees it), or else takes the inverse computed here from the
// conversation as it was before the action (reopen, the assignee before, restore…).
import { useSyncExternalStore } from "react";
import type { QueryClient } from "@tanstack/react-query";
import type { Action, Conversation, ConversationPage, OpId, Timeline } from "../generated/outpost";
import { keys } from "../data/queries";

/** How long an action can be taken back from the toast or the keyboard. */
export const UNDO_MS = 8000;

/** What the toast says and what undo does. */
export type Undoable = {
  opId: OpId;
  action: Action;
  inverse: Action[];
  /** When it was taken (ms), for the window. */
  at: number;
};

/**
 * What a triage action's undo takes once the action has left, from the conversation before it:
 * reopen (and give it back to whom it was assigned: closing unassigns), the snooze or close it
 * was in, the assignee before, answered again, restored.
 */
export function inverseOf(action: Action, before: Conversation | null): Action[] {
  switch (action.type) {
    case "close":
    case "snooze": {
      if (!before) return [];
      const id = before.id;
      let back: Action[];
      if (before.state === "open") back = [action.type === "close" ? { type: "reopen", conversation_id: id } : { type: "unsnooze", conversation_id: id }];
      else if (before.state === "snoozed" && before.snoozed_until !== null) back = [{ type: "snooze", conversation_id: id, until: before.snoozed_until }];
      else back = [{ type: "close", conversation_id: id, note: before.closing_note, category: before.closing_category }];
      if (action.type === "close" && before.state !== "closed" && before.assignee !== null) back.push({ type: "assign", conversation_id: id, assignee: before.assignee });
      return back;
    }
    case "assign":
      return before ? [{ type: "assign", conversation_id: before.id, assignee: before.assignee }] : [];
    case "set_unanswered":
      return before ? [{ type: "set_unanswered", conversation_id: before.id, unanswered: before.unanswered }] : [];
    case "archive":
      return [{ type: "restore", message_ids: action.message_ids }];
    default:
      return [];
  }
}

/** Whether `action` is one agents can take back. */
export function undoable(action: Action): boolean {
  switch (action.type) {
    case "close":
    case "snooze":
    case "assign":
    case "archive":
      return true;
    case "set_unanswered":
      return action.unanswered;
    default:
      return false;
  }
}

/** The conversation `id` as the interface last read it (its timeline, else a list's row). */
export function conversationBefore(data: QueryClient, id: string): Conversation | null {
  const timeline = data.getQueryData<{ pages: Timeline[] }>([...keys.timeline, id]);
  if (timeline?.pages[0]) return timeline.pages[0].conversation;
  for (const [, list] of data.getQueriesData<{ pages: ConversationPage[] }>({ queryKey: keys.conversations })) {
    for (const page of list?.pages ?? []) {
      const row = page.rows.find((r) => r.conversation.id === id);
      if (row) return row.conversation;
    }
  }
  return null;
}

// The one action that can be taken back now, and who shows it.
let last: Undoable | null = null;
const listeners = new Set<() => void>();
const tell = () => listeners.forEach((l) => l());

export const undoStore = {
  offer(u: Undoable) {
    last = u;
    tell();
  },
  /** Takes the offer (once): the toast and the shortcut share it. */
  take(now: number): Undoable | null {
    const u = last;
    last = null;
    tell();
    return u && now - u.at <= UNDO_MS ? u : null;
  },
  dismiss(opId: OpId) {
    if (last?.opId === opId) {
      last = null;
      tell();
    }
  },
  current: () => last,
  subscribe(l: () => void) {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

/** The action that can be taken back now, if any. */
export function useUndoable(): Undoable | null {
  return useSyncExternalStore(undoStore.subscribe, undoStore.current, undoStore.current);
}
