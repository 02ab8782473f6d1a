// The desktop app's bridge: one Tauri command carries a Request to the core and returns its
// Response; events arrive on a Channel the shell feeds.
import { Channel, invoke } from "@tauri-apps/api/core";
import type { Event, Request, Response } from "../generated/outpost";
import type { About, Bridge, DesktopSettings, UpdateFound } from "./index";

export async function tauriBridge(): Promise<Bridge> {
  const listeners = new Set<(e: Event) => void>();
  const channel = new Channel<Event>();
  channel.onmessage = (event) => listeners.forEach((l) => l(event));
  await invoke("subscribe", { events: channel });
  return {
    request: (request: Request) => invoke<Response>("request", { request }),
    nativeNotifications: true,
    // tauri-plugin-opener: the system's handler for the scheme (its capability allows only
    // http, https, mailto and tel).
    openExternal: (href: string) => invoke("plugin:opener|open_url", { url: href }),
    desktop: {
      settings: () => invoke<DesktopSettings>("desktop_settings"),
      save: (settings: DesktopSettings) => invoke<DesktopSettings>("save_desktop_settings", { settings }),
      about: () => invoke<About>("about"),
      openLogFolder: () => invoke("open_log_folder"),
      quit: () => invoke("quit"),
      checkUpdate: () => invoke<UpdateFound | null>("check_update"),
      installUpdate: () => invoke<string>("install_update"),
      restart: () => invoke("restart"),
      interfaceLanguage: (language: string) => invoke("interface_language", { language }),
    },
    subscribe(on) {
      listeners.add(on);
      return () => listeners.delete(on);
    },
    painted() {
      const marks = performance
        .getEntriesByType("mark")
        .map((m) => `${m.name} ${m.startTime.toFixed(0)}`)
        .join(", ");
      void invoke("painted", { inPage: performance.now(), marks });
    },
  };
}
