import { useCallback } from "react";
import { ask, type Bridge } from "../bridge";
import { describe } from "./reasons";
import type { Action } from "../generated/outpost";

/** Takes an action; a refusal (the rules said no at once) is shown through `onError`. */
export function useAct(bridge: Bridge, onError: (message: string | null) => void) {
  return useCallback(
    async (action: Action) => {
      onError(null);
      try {
        await ask(bridge, { type: "act", action }, "acted");
      } catch (e) {
        onError(describe(e));
      }
    },
    [bridge, onError],
  );
}
