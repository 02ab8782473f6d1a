import { describe, expect, it, vi } from "vitest";
import { bridgeUrl, webBridge, type SocketLike } from "./web";

class FakeSocket implements SocketLike {
  static last: FakeSocket | null = null;
  readyState = 0;
  sent: string[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {}
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(value: unknown) {
    this.onmessage?.({ data: JSON.stringify(value) });
  }
}

const memory = () => {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
};

describe("the web bridge", () => {
  it("takes the token from the page's address, and keeps it for a reload", () => {
    const storage = memory();
    const loc = { protocol: "http:", host: "127.0.0.1:9000", search: "?token=abc%2B1" };
    expect(bridgeUrl(loc, storage)).toBe("ws://127.0.0.1:9000/bridge?token=abc%2B1");
    expect(bridgeUrl({ ...loc, search: "" }, storage)).toBe("ws://127.0.0.1:9000/bridge?token=abc%2B1");
  });

  it("queues requests until the socket opens and matches answers to them by id", async () => {
    const bridge = webBridge({ protocol: "http:", host: "h", search: "?token=t" }, memory(), FakeSocket);
    const socket = FakeSocket.last!;
    const first = bridge.request({ type: "session" });
    const second = bridge.request({ type: "counts" });
    expect(socket.sent).toEqual([]);
    socket.open();
    expect(socket.sent.map((s) => JSON.parse(s).id)).toEqual([1, 2]);
    // Answers may come in any order.
    socket.receive({ id: 2, response: { type: "done" } });
    socket.receive({ id: 1, response: { type: "error", error: { code: "unauthenticated", message: "Sign in first." } } });
    await expect(second).resolves.toEqual({ type: "done" });
    await expect(first).resolves.toMatchObject({ type: "error" });
  });

  it("hands events to subscribers until they leave", () => {
    const bridge = webBridge({ protocol: "http:", host: "h", search: "?token=t" }, memory(), FakeSocket);
    const socket = FakeSocket.last!;
    socket.open();
    const seen: string[] = [];
    const leave = bridge.subscribe((e) => seen.push(e.type));
    socket.receive({ event: { type: "status", status: { connection: { state: "online" }, waiting: 0 } } });
    leave();
    socket.receive({ event: { type: "status", status: { connection: { state: "online" }, waiting: 1 } } });
    expect(seen).toEqual(["status"]);
  });

  it("fails requests in flight when the socket drops, and reconnects", async () => {
    vi.useFakeTimers();
    const bridge = webBridge({ protocol: "http:", host: "h", search: "?token=t" }, memory(), FakeSocket);
    const socket = FakeSocket.last!;
    socket.open();
    const pending = bridge.request({ type: "counts" });
    socket.onclose?.({});
    await expect(pending).rejects.toThrow("closed before it answered");
    vi.advanceTimersByTime(300);
    expect(FakeSocket.last).not.toBe(socket);
    vi.useRealTimers();
  });

  it("ignores what is not JSON", () => {
    const bridge = webBridge({ protocol: "http:", host: "h", search: "" }, memory(), FakeSocket);
    const socket = FakeSocket.last!;
    socket.open();
    const seen: unknown[] = [];
    bridge.subscribe((e) => seen.push(e));
    socket.onmessage?.({ data: "<script>alert(1)</script>" });
    expect(seen).toEqual([]);
  });
});
