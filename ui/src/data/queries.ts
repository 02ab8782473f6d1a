// Every read of the interface, by name: its key and how it asks the core. Hooks (hooks.ts) and the
// first screen's prefetch (client.ts) share these, so a prefetched answer is the one a screen reads.
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";
import { ask, type Bridge } from "../bridge";
import type { ConversationId, Folder, ListCursor, ListQuery } from "../generated/outpost";

/** Messages of a timeline read at a time. */
export const TIMELINE_PAGE = 50;
/** Messages of a folder read at a time. */
export const FOLDER_PAGE = 200;

export const queries = {
  session: (bridge: Bridge) =>
    queryOptions({ queryKey: ["session"], queryFn: async () => (await ask(bridge, { type: "session" }, "session")).session }),
  counts: (bridge: Bridge) =>
    queryOptions({ queryKey: ["counts"], queryFn: async () => (await ask(bridge, { type: "counts" }, "counts")).counts }),
  teams: (bridge: Bridge) =>
    queryOptions({ queryKey: ["teams"], queryFn: async () => (await ask(bridge, { type: "list_teams" }, "teams")).teams }),
  views: (bridge: Bridge) =>
    queryOptions({ queryKey: ["views"], queryFn: async () => (await ask(bridge, { type: "list_views" }, "views")).views }),
  agents: (bridge: Bridge) =>
    queryOptions({ queryKey: ["agents"], queryFn: async () => (await ask(bridge, { type: "list_agents" }, "agents")).agents }),
  /** A list's pages, from the first; a change reads again as many pages as were shown. */
  conversations: (bridge: Bridge, query: ListQuery) =>
    infiniteQueryOptions({
      queryKey: ["conversations", { ...query, after: null }],
      queryFn: async ({ pageParam }) =>
        (await ask(bridge, { type: "list_conversations", query: { ...query, after: pageParam } }, "conversations")).page,
      initialPageParam: null as ListCursor | null,
      getNextPageParam: (page) => page.next,
    }),
  timeline: (bridge: Bridge, id: ConversationId) =>
    queryOptions({
      queryKey: ["timeline", id],
      queryFn: async () =>
        (await ask(bridge, { type: "open_conversation", conversation_id: id, before: null, limit: TIMELINE_PAGE }, "timeline")).timeline,
    }),
  folder: (bridge: Bridge, folder: Folder) =>
    queryOptions({
      queryKey: ["folder", folder],
      queryFn: async () => (await ask(bridge, { type: "list_folder", folder, before: null, limit: FOLDER_PAGE }, "folder")).page,
    }),
  journal: (bridge: Bridge) =>
    queryOptions({ queryKey: ["journal"], queryFn: async () => (await ask(bridge, { type: "journal" }, "journal")).entries }),
  search: (bridge: Bridge, text: string) =>
    queryOptions({
      queryKey: ["search", text],
      queryFn: async () => (await ask(bridge, { type: "search", query: text, limit: 50 }, "search_results")).results,
    }),
  draft: (bridge: Bridge, id: ConversationId) =>
    queryOptions({
      queryKey: ["draft", id],
      queryFn: async () => (await ask(bridge, { type: "get_draft", conversation_id: id }, "draft")).text,
      // The composer owns the draft once it is shown; the stored one is read each time it opens.
      gcTime: 0,
    }),
  notifySettings: (bridge: Bridge) =>
    queryOptions({
      queryKey: ["notify_settings"],
      queryFn: async () => (await ask(bridge, { type: "get_notify_settings" }, "notify_settings")).settings,
    }),
};
