// Every read of the interface, by name: its key and how it asks the core. Hooks (hooks.ts) and the
// first screen's prefetch (client.ts) share these, so a prefetched answer is the one a screen reads.
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";
import { ask, type Bridge } from "../bridge";
import type { AdminAnswer, AdminCall, CallCursor, CallFilter, ConversationId, Folder, ListCursor, ListQuery } from "../generated/outpost";

/** Messages of a timeline read first; each older page is twice the one before, up to 400. */
export const TIMELINE_PAGE = 50;
const TIMELINE_PAGE_MAX = 400;
/** Messages of a folder read at a time. */
export const FOLDER_PAGE = 200;
/** Calls of the Calls folder read at a time. */
export const CALLS_PAGE = 100;

/** Where a timeline page starts (the row before which it reads) and how many it reads. */
export type TimelineCursor = { before: number | null; limit: number };

/** The keys every read is cached under; invalidation names them by their first part. */
export const keys = {
  session: ["session"] as const,
  counts: ["counts"] as const,
  teams: ["teams"] as const,
  views: ["views"] as const,
  agents: ["agents"] as const,
  channels: ["channels"] as const,
  /** What the Admin area reads from the server (not the mirror). */
  admin: ["admin"] as const,
  conversations: ["conversations"] as const,
  timeline: ["timeline"] as const,
  folder: ["folder"] as const,
  journal: ["journal"] as const,
  search: ["search"] as const,
  draft: ["draft"] as const,
  notifySettings: ["notify_settings"] as const,
};

/** One call of the administration API, through the core (which holds the session). */
export async function admin(bridge: Bridge, call: AdminCall): Promise<AdminAnswer> {
  return (await ask(bridge, { type: "admin", call }, "admin")).answer;
}

export const queries = {
  session: (bridge: Bridge) =>
    queryOptions({ queryKey: keys.session, queryFn: async () => (await ask(bridge, { type: "session" }, "session")).session }),
  counts: (bridge: Bridge) =>
    queryOptions({ queryKey: keys.counts, queryFn: async () => (await ask(bridge, { type: "counts" }, "counts")).counts }),
  teams: (bridge: Bridge) =>
    queryOptions({ queryKey: keys.teams, queryFn: async () => (await ask(bridge, { type: "list_teams" }, "teams")).teams }),
  views: (bridge: Bridge) =>
    queryOptions({ queryKey: keys.views, queryFn: async () => (await ask(bridge, { type: "list_views" }, "views")).views }),
  agents: (bridge: Bridge) =>
    queryOptions({ queryKey: keys.agents, queryFn: async () => (await ask(bridge, { type: "list_agents" }, "agents")).agents }),
  channels: (bridge: Bridge) =>
    queryOptions({ queryKey: keys.channels, queryFn: async () => (await ask(bridge, { type: "list_channels" }, "channels")).channels }),
  adminChannels: (bridge: Bridge) =>
    queryOptions({
      queryKey: [...keys.admin, "channels"],
      queryFn: async () => {
        const a = await admin(bridge, { call: "list_channels" });
        return a.answer === "channels" ? a.channels : [];
      },
    }),
  adminAgents: (bridge: Bridge) =>
    queryOptions({
      queryKey: [...keys.admin, "agents"],
      queryFn: async () => {
        const a = await admin(bridge, { call: "list_agents" });
        return a.answer === "agents" ? a.agents : [];
      },
    }),
  /** A list's pages, from the first; a change reads again as many pages as were shown. */
  conversations: (bridge: Bridge, query: ListQuery) =>
    infiniteQueryOptions({
      queryKey: [...keys.conversations, { ...query, after: null }],
      queryFn: async ({ pageParam }) =>
        (await ask(bridge, { type: "list_conversations", query: { ...query, after: pageParam } }, "conversations")).page,
      initialPageParam: null as ListCursor | null,
      getNextPageParam: (page) => page.next,
    }),
  /**
   * A conversation's timeline in pages, newest first: scrolling up asks for the next (older) one,
   * to the conversation's first message. A change reads the pages shown again, each from where
   * the one after it now ends, so nothing is missed or shown twice when a message arrives.
   */
  timeline: (bridge: Bridge, id: ConversationId) =>
    infiniteQueryOptions({
      queryKey: [...keys.timeline, id],
      queryFn: async ({ pageParam }) =>
        (await ask(bridge, { type: "open_conversation", conversation_id: id, before: pageParam.before, limit: pageParam.limit }, "timeline")).timeline,
      initialPageParam: { before: null, limit: TIMELINE_PAGE } as TimelineCursor,
      getNextPageParam: (page, pages): TimelineCursor | undefined =>
        page.older === null ? undefined : { before: page.older, limit: Math.min(TIMELINE_PAGE_MAX, TIMELINE_PAGE << pages.length) },
    }),
  /** A folder's messages in pages of FOLDER_PAGE, newest first, to the oldest. */
  folder: (bridge: Bridge, folder: Folder) =>
    infiniteQueryOptions({
      queryKey: [...keys.folder, folder],
      queryFn: async ({ pageParam }) => (await ask(bridge, { type: "list_folder", folder, before: pageParam, limit: FOLDER_PAGE }, "folder")).page,
      initialPageParam: null as number | null,
      getNextPageParam: (page) => page.next ?? undefined,
    }),
  /** The Calls folder's calls in pages, newest first; kept under the folders' key (a change of
   * the folders' counts reads them again). */
  calls: (bridge: Bridge, filter: CallFilter) =>
    infiniteQueryOptions({
      queryKey: [...keys.folder, "calls", filter],
      queryFn: async ({ pageParam }) => (await ask(bridge, { type: "list_calls", filter, before: pageParam, limit: CALLS_PAGE }, "calls")).page,
      initialPageParam: null as CallCursor | null,
      getNextPageParam: (page) => page.next ?? undefined,
    }),
  journal: (bridge: Bridge) =>
    queryOptions({ queryKey: keys.journal, queryFn: async () => (await ask(bridge, { type: "journal" }, "journal")).entries }),
  search: (bridge: Bridge, text: string) =>
    queryOptions({
      queryKey: [...keys.search, text],
      queryFn: async () => (await ask(bridge, { type: "search", query: text, limit: 50 }, "search_results")).results,
    }),
  draft: (bridge: Bridge, id: ConversationId) =>
    queryOptions({
      queryKey: [...keys.draft, id],
      queryFn: async () => (await ask(bridge, { type: "get_draft", conversation_id: id }, "draft")).text,
      // The composer owns the draft once it is shown; the stored one is read each time it opens.
      gcTime: 0,
    }),
  notifySettings: (bridge: Bridge) =>
    queryOptions({
      queryKey: keys.notifySettings,
      queryFn: async () => (await ask(bridge, { type: "get_notify_settings" }, "notify_settings")).settings,
    }),
};
