// Which bridge this page has: Tauri's IPC inside the desktop app, else the web edition's socket.
// Both are imported up front (a few KB): a separate chunk cost the desktop app a fetch at start.
import type { Bridge } from "./index";
import { tauriBridge } from "./tauri";
import { webBridge } from "./web";

export async function connect(): Promise<Bridge> {
  if ("__TAURI_INTERNALS__" in window) return tauriBridge();
  return webBridge(window.location, window.sessionStorage, WebSocket as unknown as import("./web").SocketFactory);
}
