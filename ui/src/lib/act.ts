import { useCallback } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { ask, type Bridge } from "../bridge";
import { describe } from "./reasons";
import type { Action } from "../generated/outpost";
import { conversationBefore, inverseOf, undoable, undoStore } from "./undo";

/** The conversation an action is about, if it is about one. */
function conversationOf(action: Action): string | null {
  return "conversation_id" in action ? action.conversation_id : null;
}

/**
 * Takes an action; a refusal (the rules said no at once) is shown through `onError`. A triage
 * action (close, snooze, assign, archive, mark unanswered) is offered for undo.
 */
export function useAct(bridge: Bridge, onError: (message: string | null) => void) {
  const data = useQueryClient();
  return useCallback(
    async (action: Action) => {
      onError(null);
      try {
        const about = conversationOf(action);
        const before = about ? conversationBefore(data, about) : null;
        const { op_id } = await ask(bridge, { type: "act", action }, "acted");
        if (op_id && undoable(action)) undoStore.offer({ opId: op_id, action, inverse: inverseOf(action, before), at: Date.now() });
      } catch (e) {
        onError(describe(e));
      }
    },
    [bridge, onError, data],
  );
}
