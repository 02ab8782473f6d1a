// The reads components use. Each returns TanStack Query's result: `data` (undefined until the
// first answer), `error` (a BridgeError, shown with <Failure>), `isPending`.
import { keepPreviousData, useInfiniteQuery, useQuery, type InfiniteData } from "@tanstack/react-query";
import { useCallback } from "react";
import type { Bridge } from "../bridge";
import { useTranslation } from "react-i18next";
import type { CallFilter, ChannelKind, ConversationId, Folder, ListQuery, Timeline } from "../generated/outpost";
import { CHANNEL_LABEL } from "../lib/format";
import { queries, type TimelineCursor } from "./queries";

export const useSession = (bridge: Bridge) => useQuery(queries.session(bridge));
export const useCounts = (bridge: Bridge) => useQuery(queries.counts(bridge));
export const useTeams = (bridge: Bridge) => useQuery(queries.teams(bridge));
export const useViews = (bridge: Bridge) => useQuery(queries.views(bridge));
export const useConversations = (bridge: Bridge, query: ListQuery) => useInfiniteQuery(queries.conversations(bridge, query));
export const useFolder = (bridge: Bridge, folder: Folder) => useInfiniteQuery(queries.folder(bridge, folder));
export const useCalls = (bridge: Bridge, filter: CallFilter) => useInfiniteQuery(queries.calls(bridge, filter));
export const useJournal = (bridge: Bridge, enabled: boolean) => useQuery({ ...queries.journal(bridge), enabled });
export const useNotifySettings = (bridge: Bridge) => useQuery(queries.notifySettings(bridge));
export const useDraft = (bridge: Bridge, id: ConversationId) => useQuery(queries.draft(bridge, id));
/** The hits for `text`, once it is not blank; while the next text's are read, the last ones stay (`isPlaceholderData`). */
export const useSearch = (bridge: Bridge, text: string) =>
  useQuery({ ...queries.search(bridge, text), enabled: text.trim() !== "", placeholderData: keepPreviousData });

/**
 * The open conversation's timeline, as one [`Timeline`] of the pages read so far (oldest first);
 * `fetchNextPage` reads older messages. The answer shown is always the one for `id`.
 */
export function useTimeline(bridge: Bridge, id: ConversationId | null) {
  return useInfiniteQuery({ ...queries.timeline(bridge, id ?? ""), enabled: id !== null, select: joinPages });
}

/** Pages of a timeline (newest first) as one: the newest page's conversation, items oldest first. */
export function joinPages(data: InfiniteData<Timeline, TimelineCursor>): Timeline {
  const newest = data.pages[0]!;
  if (data.pages.length === 1) return newest;
  const pages = [...data.pages].reverse();
  const items = pages.flatMap((p) => p.items);
  const seen = new Set(items.flatMap((i) => (i.type === "message" ? [i.message.id] : [])));
  const replied = pages.flatMap((p) => p.replied).filter((m, n, all) => !seen.has(m.id) && all.findIndex((r) => r.id === m.id) === n);
  return { ...newest, items, replied, older: data.pages[data.pages.length - 1]!.older };
}

/**
 * The workspace's channels, `route(kind, id)`: the channel a message leaves through (the one the
 * conversation is on while it is enabled, else the first enabled one of the kind: the server's
 * rule), and `channelName(kind, id)`: the kind's label, with "test channel" when that one is.
 */
export function useChannels(bridge: Bridge) {
  const { t } = useTranslation();
  const channels = useQuery(queries.channels(bridge)).data;
  const route = useCallback(
    (kind: ChannelKind, id: string | null = null) => {
      const enabled = (channels ?? []).filter((c) => c.kind === kind && !c.disabled);
      return enabled.find((c) => c.id === id) ?? enabled[0] ?? null;
    },
    [channels],
  );
  const channelName = useCallback(
    (kind: ChannelKind, id: string | null = null) => (route(kind, id)?.test ? `${CHANNEL_LABEL[kind]} · ${t("channels.test")}` : CHANNEL_LABEL[kind]),
    [route, t],
  );
  return { channels: channels ?? [], route, channelName, loaded: channels !== undefined };
}

/** The workspace's agents, and `name(id)` for showing who. */
export function useAgents(bridge: Bridge) {
  const agents = useQuery(queries.agents(bridge)).data;
  const name = useCallback((id: string | null) => (id === null ? null : (agents?.find((a) => a.id === id)?.name ?? null)), [agents]);
  return { agents: agents ?? [], name };
}
