import type { ChannelKind, ConversationState, ListCursor, ListQuery, Sort, ViewRef } from "../generated/outpost";

/** What the conversation list shows besides its view: the agent's filters and sort. */
export interface ListFilters {
  state: ConversationState;
  sort: Sort;
  unanswered: boolean;
  channel: ChannelKind | null;
  /** "" anyone, "nobody", or an agent's id. */
  assignee: string;
}

/** The list's filters when it first opens. */
export const LIST_DEFAULTS: ListFilters = { state: "open", sort: "newest_message", unanswered: false, channel: null, assignee: "" };

/** Rows per page of the list. */
export const LIST_PAGE = 100;

/** The core's query for a page of `view` under `filters` (one builder, so a prefetched first page is the same request). */
export function listQuery(view: ViewRef, f: ListFilters, after: ListCursor | null): ListQuery {
  return {
    view,
    state: f.state,
    channel: f.channel,
    assignee: f.assignee === "" ? null : f.assignee === "nobody" ? { type: "nobody" } : { type: "agent", id: f.assignee },
    unanswered_only: f.unanswered,
    sort: f.sort,
    after,
    limit: LIST_PAGE,
  };
}
