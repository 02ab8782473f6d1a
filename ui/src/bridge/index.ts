// The one way the interface talks to Rust: a Request gets its Response, and Events arrive on
// their own. In the desktop app it is Tauri's IPC (tauri.ts); in the web edition a WebSocket to
// outpost-web (web.ts). Both speak the generated types.
import type { Event, Reason, Request, Response } from "../generated/outpost";

export interface Bridge {
  request(request: Request): Promise<Response>;
  /** Calls `on` for every event until the returned function is called. */
  subscribe(on: (event: Event) => void): () => void;
  /** Whether the bridge itself is connected (the web edition's socket can drop). */
  onConnection?(on: (connected: boolean) => void): () => void;
  /** The first screen with the inbox is on the display (the shell logs how long start took). */
  painted?(): void;
  /** The shell shows the core's notifications natively (the desktop app); otherwise the interface
   *  shows them through the browser (the web edition). */
  nativeNotifications?: boolean;
  /** Opens a link (http, https, mailto, tel: lib/links.ts) outside the app: the system's browser,
   *  mail or phone app. Never the app's own window. */
  openExternal(href: string): Promise<void>;
  /** What only the desktop app has (its tray, login item, updates, log files); absent on the web. */
  desktop?: DesktopShell;
}

/** This computer's app settings (kept by the shell in desktop.json, not at the server). */
export type DesktopSettings = {
  close_to_tray: boolean;
  start_at_login: boolean;
  update_endpoint: string;
  told_about_tray: boolean;
  /** The languages spelling is checked in ("en", "pt-BR", "es"); none: the interface's. */
  spelling: string[];
};

/** Help → About. */
export type About = { version: string; server: string | null; stored_bytes: number; log_dir: string; platform: string };


/** An update the release channel offers. */
export type UpdateFound = { version: string; notes: string | null; date: string | null };

export interface DesktopShell {
  settings(): Promise<DesktopSettings>;
  /** Saves; the answer is what was kept. Rejects with the shell's words when it cannot. */
  save(settings: DesktopSettings): Promise<DesktopSettings>;
  about(): Promise<About>;
  openLogFolder(): Promise<void>;
  quit(): Promise<void>;
  /** Asks the update address for a newer version (null: up to date). */
  checkUpdate(): Promise<UpdateFound | null>;
  /** Downloads the update found, verifies its signature and installs it: the version installed. */
  installUpdate(): Promise<string>;
  restart(): Promise<void>;
  /** Tells the app the interface's language (spelling follows it unless languages are chosen). */
  interfaceLanguage(language: string): Promise<void>;
}

/** A response of the wrong kind, or an error the core explained: `message` in English (logs),
 *  `reason` for saying it in the agent's language (`describe` in lib/reasons.ts). */
export class BridgeError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly reason: Reason | null = null,
  ) {
    super(message);
  }
}

type Of<T extends Response["type"]> = Extract<Response, { type: T }>;

/** Sends `request` and returns its answer when it is of kind `type`; throws the core's error otherwise. */
export async function ask<T extends Response["type"]>(
  bridge: Bridge,
  request: Request,
  type: T,
): Promise<Of<T>> {
  const response = await bridge.request(request);
  if (response.type === type) return response as Of<T>;
  if (response.type === "error") throw new BridgeError(response.error.message, response.error.code, response.error.reason);
  throw new BridgeError(`Expected ${type}, got ${response.type}`, "internal");
}
