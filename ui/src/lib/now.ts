import { useEffect, useState } from "react";

/**
 * The time now, for what a screen shows relative to it ("5 min", "the 24 h window has closed"):
 * read when the component mounts and again every `everyMs`, so rendering stays pure and the screen
 * follows the clock.
 */
export function useNow(everyMs = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
