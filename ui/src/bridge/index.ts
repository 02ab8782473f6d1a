// The one way the interface talks to Rust: a Request gets its Response, and Events arrive on
// their own. In the desktop app it is Tauri's IPC (tauri.ts); in the web edition a WebSocket to
// outpost-web (web.ts). Both speak the generated types.
import type { Event, Request, Response } from "../generated/outpost";

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
}

/** A response of the wrong kind, or an error the core explained. */
export class BridgeError extends Error {
  constructor(
    message: string,
    readonly code: string,
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
  const response = await (takePrefetched(bridge, request) ?? bridge.request(request));
  if (response.type === type) return response as Of<T>;
  if (response.type === "error") throw new BridgeError(response.error.message, response.error.code);
  throw new BridgeError(`Expected ${type}, got ${response.type}`, "internal");
}

/**
 * Answers asked for before anyone needed them: the first screen's reads go out together with the
 * session instead of one after another as each part of the screen mounts, and those already here
 * when the screen is first rendered are in its first frame (`peek`), so the agent never sees an
 * empty workspace being filled. An answer is used once, and only while fresh: a change, the
 * sign-in screen or a few seconds make the early answers go away.
 */
type Early = { at: number; answer: Promise<Response>; arrived?: Response };
const early = new WeakMap<Bridge, Map<string, Early>>();
/** Bridges that saw a change after their prefetch (what was peeked may be stale: read it again). */
const changed = new WeakSet<Bridge>();
const EARLY_FOR_MS = 5_000;

export function prefetch(bridge: Bridge, requests: Request[]): void {
  const answers = new Map<string, Early>();
  for (const request of requests) {
    const kept: Early = { at: performance.now(), answer: bridge.request(request) };
    // Failures surface to whoever takes the answer; one never taken is not an unhandled rejection.
    kept.answer.then((r) => (kept.arrived = r), () => undefined);
    answers.set(JSON.stringify(request), kept);
  }
  early.set(bridge, answers);
  changed.delete(bridge);
  const stop = bridge.subscribe((e) => {
    if (e.type === "changed" || e.type === "sign_in_required") {
      changed.add(bridge);
      dropPrefetched(bridge);
      stop();
    }
  });
}

export function dropPrefetched(bridge: Bridge): void {
  early.delete(bridge);
}

/** Resolves once every prefetched answer has arrived (or failed). */
export async function prefetchArrived(bridge: Bridge): Promise<void> {
  const answers = early.get(bridge);
  if (answers) await Promise.allSettled([...answers.values()].map((e) => e.answer));
}

function take(bridge: Bridge, request: Request): Early | undefined {
  const answers = early.get(bridge);
  const key = JSON.stringify(request);
  const kept = answers?.get(key);
  if (!answers || !kept) return undefined;
  answers.delete(key);
  if (answers.size === 0) early.delete(bridge);
  return performance.now() - kept.at < EARLY_FOR_MS ? kept : undefined;
}

function takePrefetched(bridge: Bridge, request: Request): Promise<Response> | undefined {
  return take(bridge, request)?.answer;
}

/**
 * The prefetched answer to `request` if it has already arrived and is of kind `type` (for a
 * component's first render); taken, so it is used once. Undefined otherwise: then ask as usual.
 */
export function peek<T extends Response["type"]>(bridge: Bridge, request: Request, type: T): Of<T> | undefined {
  const answers = early.get(bridge);
  const kept = answers?.get(JSON.stringify(request));
  if (kept?.arrived?.type !== type) return undefined;
  return take(bridge, request)?.arrived as Of<T> | undefined;
}

/** Whether something changed since the prefetch: a component that peeked must then read again. */
export function changedSincePrefetch(bridge: Bridge): boolean {
  return changed.has(bridge);
}
