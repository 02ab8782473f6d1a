import { useEffect, useState } from "react";
import type { Bridge } from "../bridge";

/** Whether the window has the focus now, kept current. */
export function useWindowFocused(): boolean {
  const [focused, setFocused] = useState(() => document.hasFocus());
  useEffect(() => {
    const update = () => setFocused(document.hasFocus() && document.visibilityState === "visible");
    window.addEventListener("focus", update);
    window.addEventListener("blur", update);
    document.addEventListener("visibilitychange", update);
    return () => {
      window.removeEventListener("focus", update);
      window.removeEventListener("blur", update);
      document.removeEventListener("visibilitychange", update);
    };
  }, []);
  return focused;
}

/**
 * Tells the core what the window shows, for the notifications: the conversation open, whether
 * the window has the focus (no notification for what the agent is looking at), the language
 * notifications speak and the local time's offset (quiet hours are local).
 */
export function useInterfaceState(bridge: Bridge, open: string | null, language: string): void {
  const focused = useWindowFocused();
  useEffect(() => {
    void bridge.request({
      type: "set_interface",
      state: { conversation_id: open, focused, language, utc_offset_minutes: -new Date().getTimezoneOffset() },
    });
  }, [bridge, open, focused, language]);
  // The desktop app checks spelling in the interface's language unless told otherwise.
  useEffect(() => {
    void bridge.desktop?.interfaceLanguage(language).catch(() => {});
  }, [bridge, language]);
}
