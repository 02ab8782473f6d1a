import { describe, expect, it, vi } from "vitest";
import type { Notification as Note } from "../generated/outpost";
import { type NotificationApi, showInBrowser } from "./browserNotify";

interface Shown {
  title: string;
  options?: NotificationOptions;
  closed: boolean;
  onclick: (() => void) | null;
}

/** A stand-in for the browser's Notification that records what was shown and closed. */
function fakeApi(permission: NotificationPermission): { api: NotificationApi; made: Shown[] } {
  const made: Shown[] = [];
  class Fake implements Shown {
    static permission = permission;
    static requestPermission = vi.fn(async () => permission);
    closed = false;
    onclick: (() => void) | null = null;
    onclose: (() => void) | null = null;
    constructor(
      readonly title: string,
      readonly options?: NotificationOptions,
    ) {
      made.push(this);
    }
    close() {
      this.closed = true;
      this.onclose?.();
    }
  }
  return { api: Fake as unknown as NotificationApi, made };
}

const note = (key: string, body: string, conversation: string | null = key): Note => ({
  key,
  conversation_id: conversation,
  category: "message_unassigned",
  title: "Ana · WhatsApp",
  body,
  count: 1,
  actions: [],
});

describe("browser notifications", () => {
  it("are shown only when the browser allows them", () => {
    for (const p of ["default", "denied"] as NotificationPermission[]) {
      const { api, made } = fakeApi(p);
      expect(showInBrowser(note("c1", "Oi"), () => {}, api)).toBe(false);
      expect(made).toHaveLength(0);
    }
    expect(showInBrowser(note("c1", "Oi"), () => {}, null)).toBe(false);
  });

  it("carry the text as plain text and replace the conversation's earlier one", () => {
    const { api, made } = fakeApi("granted");
    expect(showInBrowser(note("c1", "<b>Oi</b>"), () => {}, api)).toBe(true);
    showInBrowser(note("c2", "Olá"), () => {}, api);
    showInBrowser(note("c1", "2 new messages from Ana"), () => {}, api);
    expect(made.map((m) => [m.title, m.options?.body, m.options?.tag, m.closed])).toEqual([
      ["Ana · WhatsApp", "<b>Oi</b>", "c1", true],
      ["Ana · WhatsApp", "Olá", "c2", false],
      ["Ana · WhatsApp", "2 new messages from Ana", "c1", false],
    ]);
  });

  it("open their conversation when clicked, and close", () => {
    const { api, made } = fakeApi("granted");
    const opened: string[] = [];
    const focus = vi.spyOn(window, "focus").mockImplementation(() => {});
    showInBrowser(note("c9", "Oi"), (id) => opened.push(id), api);
    showInBrowser(note("summary", "37 new messages in 12 conversations", null), (id) => opened.push(id), api);
    made[0]?.onclick?.();
    made[1]?.onclick?.();
    expect(opened).toEqual(["c9"]);
    expect(made.map((m) => m.closed)).toEqual([true, true]);
    expect(focus).toHaveBeenCalledTimes(2);
    focus.mockRestore();
  });
});
