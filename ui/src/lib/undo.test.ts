import { describe, expect, it } from "vitest";
import { inverseOf, undoable, undoStore, UNDO_MS } from "./undo";
import { conversation } from "../test/fixtures";

const c = { ...conversation("c1", "k1"), assignee: "ana" };

describe("undo", () => {
  it("takes back a close by reopening and giving the conversation back to whom it was assigned", () => {
    expect(inverseOf({ type: "close", conversation_id: "c1", note: "", category: "" }, c)).toEqual([
      { type: "reopen", conversation_id: "c1" },
      { type: "assign", conversation_id: "c1", assignee: "ana" },
    ]);
  });

  it("puts a snooze, an assignment, unanswered and an archive back as they were", () => {
    expect(inverseOf({ type: "snooze", conversation_id: "c1", until: 5 }, c)).toEqual([{ type: "unsnooze", conversation_id: "c1" }]);
    const snoozed = { ...c, state: "snoozed" as const, snoozed_until: 99 };
    expect(inverseOf({ type: "snooze", conversation_id: "c1", until: 5 }, snoozed)).toEqual([{ type: "snooze", conversation_id: "c1", until: 99 }]);
    expect(inverseOf({ type: "assign", conversation_id: "c1", assignee: "bruno" }, c)).toEqual([{ type: "assign", conversation_id: "c1", assignee: "ana" }]);
    expect(inverseOf({ type: "set_unanswered", conversation_id: "c1", unanswered: true }, c)).toEqual([{ type: "set_unanswered", conversation_id: "c1", unanswered: false }]);
    expect(inverseOf({ type: "archive", message_ids: ["m1", "m2"] }, null)).toEqual([{ type: "restore", message_ids: ["m1", "m2"] }]);
    // Without the conversation as it was, nothing is guessed.
    expect(inverseOf({ type: "assign", conversation_id: "c1", assignee: "bruno" }, null)).toEqual([]);
  });

  it("offers only triage actions, once, for a few seconds", () => {
    expect(undoable({ type: "close", conversation_id: "c1", note: "", category: "" })).toBe(true);
    expect(undoable({ type: "set_unanswered", conversation_id: "c1", unanswered: false })).toBe(false);
    expect(undoable({ type: "mark_read", conversation_id: "c1" })).toBe(false);
    const offer = { opId: "op1", action: { type: "archive" as const, message_ids: ["m1"] }, inverse: [], at: 1000 };
    undoStore.offer(offer);
    expect(undoStore.take(1000 + UNDO_MS + 1)).toBeNull();
    undoStore.offer(offer);
    expect(undoStore.take(1000 + UNDO_MS)).toEqual(offer);
    expect(undoStore.take(1000)).toBeNull();
  });
});
