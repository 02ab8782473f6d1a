// The web edition's bridge: a WebSocket to outpost-web's /bridge, authorized by the token in the
// page's address. Requests carry ids; answers come back with them, events on their own. The
// socket reconnects with backoff; requests in flight when it drops fail with a clear error.
import type { BridgeReply, Event, Request, Response } from "../generated/outpost";
import { BridgeError, type Bridge } from "./index";

type Pending = { resolve: (r: Response) => void; reject: (e: Error) => void };

export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export type SocketFactory = new (url: string) => SocketLike;

const OPEN = 1;

export function bridgeUrl(location: Pick<Location, "protocol" | "host" | "search">, storage: Pick<Storage, "getItem" | "setItem">): string {
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) storage.setItem("outpost-token", fromUrl);
  const token = fromUrl ?? storage.getItem("outpost-token") ?? "";
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/bridge?token=${encodeURIComponent(token)}`;
}

export function webBridge(
  location: Pick<Location, "protocol" | "host" | "search">,
  storage: Pick<Storage, "getItem" | "setItem">,
  Socket: SocketFactory,
): Bridge {
  const url = bridgeUrl(location, storage);
  const pending = new Map<number, Pending>();
  const queue: string[] = [];
  const listeners = new Set<(e: Event) => void>();
  const connectionListeners = new Set<(c: boolean) => void>();
  let nextId = 1;
  let socket: SocketLike;
  let retry = 250;

  const open = () => {
    socket = new Socket(url);
    socket.onopen = () => {
      retry = 250;
      connectionListeners.forEach((l) => l(true));
      for (const text of queue.splice(0)) socket.send(text);
    };
    socket.onmessage = (ev) => {
      let reply: BridgeReply;
      try {
        reply = JSON.parse(String(ev.data)) as BridgeReply;
      } catch {
        return;
      }
      if ("event" in reply) {
        listeners.forEach((l) => l(reply.event));
      } else {
        const p = pending.get(reply.id);
        if (p) {
          pending.delete(reply.id);
          p.resolve(reply.response);
        }
      }
    };
    socket.onclose = () => {
      connectionListeners.forEach((l) => l(false));
      for (const [, p] of pending) p.reject(new BridgeError("The connection to Outpost closed before it answered.", "internal", { key: "bridge_closed", params: {} }));
      pending.clear();
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 5000);
    };
  };
  open();

  return {
    request(request: Request) {
      const id = nextId++;
      const text = JSON.stringify({ id, request });
      return new Promise<Response>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        if (socket.readyState === OPEN) socket.send(text);
        else queue.push(text);
      });
    },
    subscribe(on) {
      listeners.add(on);
      return () => listeners.delete(on);
    },
    onConnection(on) {
      connectionListeners.add(on);
      return () => connectionListeners.delete(on);
    },
    // A new tab of the browser, which knows nothing of this page (no opener, no referrer);
    // mailto and tel go to the system's handlers the browser knows.
    async openExternal(href: string) {
      window.open(href, "_blank", "noopener,noreferrer");
    },
  };
}
