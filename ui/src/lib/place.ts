import type { Folder, ViewRef } from "../generated/outpost";

/** What the main pane shows: a view's conversations, or a folder's messages. */
export type Place = { kind: "view"; view: ViewRef } | { kind: "folder"; folder: Folder };
