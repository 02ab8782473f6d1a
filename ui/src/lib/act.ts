import { useCallback } from "react";
import { ask, BridgeError, type Bridge } from "../bridge";
import type { Action } from "../generated/outpost";

/** Takes an action; a refusal (the rules said no at once) is shown through `onError`. */
export function useAct(bridge: Bridge, onError: (message: string | null) => void) {
  return useCallback(
    async (action: Action) => {
      onError(null);
      try {
        await ask(bridge, { type: "act", action }, "acted");
      } catch (e) {
        onError(e instanceof BridgeError ? e.message : String(e));
      }
    },
    [bridge, onError],
  );
}
