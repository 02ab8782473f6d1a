import { useEffect, useRef } from "react";
import { changedSincePrefetch, type Bridge } from "../bridge";

/**
 * Runs `load` when the component mounts and whenever `load` changes; but not at mount when the
 * first render already had the prefetched answer (`peeked`) and nothing changed since it was read.
 */
export function useLoad(bridge: Bridge, load: () => Promise<void>, peeked: boolean): void {
  const skip = useRef(peeked);
  useEffect(() => {
    if (skip.current) {
      skip.current = false;
      if (!changedSincePrefetch(bridge)) return;
    }
    void load();
  }, [bridge, load]);
}
