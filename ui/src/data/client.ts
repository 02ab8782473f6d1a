// The interface's data layer: every read from the core goes through one TanStack Query client, so
// an answer is cached under the key of what it answers (a late answer for conversation A fills A's
// entry, never the screen of B), the core's events invalidate exactly what they name, and loading
// and errors have one shape. Writes are actions (`act`): the core applies them to the mirror at
// once and says what changed, which invalidates the reads it touched.
import { QueryClient, type QueryKey } from "@tanstack/react-query";
import type { Bridge } from "../bridge";
import type { Event } from "../generated/outpost";
import { keys, queries } from "./queries";
import { LIST_DEFAULTS, listQuery } from "../lib/listQuery";


/** The reads a `changed` event makes stale. Only those on screen are read again at once. */
export function staleAfter(e: Extract<Event, { type: "changed" }>): QueryKey[] {
  const stale: QueryKey[] = [];
  const messages = e.conversations.length > 0 || e.contacts.length > 0;
  if (messages || e.folders) stale.push(keys.conversations, keys.search);
  for (const id of e.conversations) stale.push([...keys.timeline, id], [...keys.draft, id]);
  // A contact's edit shows in every timeline of theirs; which ones is the timeline's to know.
  if (e.contacts.length > 0) stale.push(keys.timeline);
  if (e.folders || e.views) stale.push(keys.counts);
  if (e.folders || e.journal) stale.push(keys.folder, keys.journal);
  if (e.views) stale.push(keys.views);
  if (e.views || e.agents) stale.push(keys.teams);
  if (e.agents) stale.push(keys.agents, keys.channels, keys.admin);
  if (e.settings) stale.push(keys.notifySettings);
  return stale;
}

/**
 * A query client for `bridge`, listening to the core from this moment (so no change between a
 * read and the first render is missed), with the first screen's reads already asked for.
 */
export function createData(bridge: Bridge): QueryClient {
  const client = new QueryClient({
    defaultOptions: {
      queries: {
        // Fresh until the core says otherwise: it names every change.
        staleTime: Infinity,
        gcTime: 5 * 60_000,
        retry: false,
        refetchOnWindowFocus: false,
        refetchOnReconnect: false,
        // The core is local: a read never waits for the browser to think it is online.
        networkMode: "always",
      },
    },
  });
  bridge.subscribe((e) => {
    if (e.type === "changed") for (const key of staleAfter(e)) void client.invalidateQueries({ queryKey: key });
  });
  // Events sent while the web edition's socket was down are lost: read what is shown again.
  bridge.onConnection?.((connected) => {
    if (connected) void client.invalidateQueries();
  });
  return client;
}

/** Asks for the first screen's reads together (App waits for them before its first frame). */
export function prefetchFirstScreen(client: QueryClient, bridge: Bridge): Promise<unknown> {
  return Promise.allSettled([
    client.prefetchQuery(queries.session(bridge)),
    client.prefetchInfiniteQuery(queries.conversations(bridge, listQuery({ type: "all" }, LIST_DEFAULTS, null))),
    client.prefetchQuery(queries.counts(bridge)),
    client.prefetchQuery(queries.teams(bridge)),
    client.prefetchQuery(queries.views(bridge)),
    client.prefetchQuery(queries.agents(bridge)),
  ]);
}

/** What the workspace read is dropped, at each sign-in (the agent before may have been another). */
export function forgetWorkspace(client: QueryClient): void {
  client.removeQueries({ predicate: (q) => q.queryKey[0] !== "session" });
}
