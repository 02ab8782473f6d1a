export { createData, forgetWorkspace, prefetchFirstScreen, staleAfter } from "./client";
export { admin, keys, queries, TIMELINE_PAGE, FOLDER_PAGE } from "./queries";
export * from "./hooks";
