export { createData, forgetWorkspace, keys, prefetchFirstScreen, staleAfter } from "./client";
export { queries, TIMELINE_PAGE, FOLDER_PAGE } from "./queries";
export * from "./hooks";
