import type { Folder, ViewRef } from "../generated/outpost";

/** What the main pane shows: a view's conversations, a folder's messages, the calls, or the Admin area. */
export type Place = { kind: "view"; view: ViewRef } | { kind: "folder"; folder: Folder } | { kind: "calls" } | { kind: "admin" };

/** The folders, in the side bar's order. */
export const FOLDERS: Folder[] = ["inbox", "flows", "archived", "outbox", "sent", "scheduled", "failed"];
