import { useEffect, useEffectEvent } from "react";
import type { Bridge } from "../bridge";
import type { Event } from "../generated/outpost";

/** Calls `on` for each event while the component is mounted (always the latest `on`). */
export function useEvents(bridge: Bridge, on: (e: Event) => void) {
  const handle = useEffectEvent(on);
  useEffect(() => bridge.subscribe((e) => handle(e)), [bridge]);
}
