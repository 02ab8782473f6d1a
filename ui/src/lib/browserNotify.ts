// The web edition's notifications: the core decides what deserves one (triage), the browser shows
// it. In the desktop app the shell shows them natively instead (Bridge.nativeNotifications).
import type { Notification as Note } from "../generated/outpost";

/** What this module needs of the browser's Notification (the real one, or a test's). */
export interface NotificationApi {
  new (title: string, options?: NotificationOptions): Notification;
  readonly permission: NotificationPermission;
  requestPermission(): Promise<NotificationPermission>;
}

/** The browser's notifications, when it has them. */
export function browserNotifications(): NotificationApi | null {
  return typeof window !== "undefined" && "Notification" in window ? window.Notification : null;
}

const shown = new Map<string, Notification>();

/**
 * Shows one of the core's notifications through the browser: plain text (the browser never reads
 * markup in it), one per conversation (a newer one replaces the one before), a click brings the
 * page forward and opens its conversation. False when the browser may not show it.
 */
export function showInBrowser(n: Note, onOpen: (conversation: string) => void, api: NotificationApi | null = browserNotifications()): boolean {
  if (!api || api.permission !== "granted") return false;
  shown.get(n.key)?.close();
  const note = new api(n.title, { body: n.body, tag: n.key });
  note.onclick = () => {
    window.focus();
    if (n.conversation_id) onOpen(n.conversation_id);
    note.close();
  };
  note.onclose = () => {
    if (shown.get(n.key) === note) shown.delete(n.key);
  };
  shown.set(n.key, note);
  return true;
}
