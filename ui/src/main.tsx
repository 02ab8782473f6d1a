import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "./i18n";
import "./styles.css";
import { App } from "./App";
import { prefetch } from "./bridge";
import { connect } from "./bridge/connect";
import { LIST_DEFAULTS, listQuery } from "./lib/listQuery";

performance.mark("script");
const root = createRoot(document.getElementById("root")!);
connect().then(
  (bridge) => {
    performance.mark("bridge");
    // The first screen's reads, all at once (App drops them if the agent must sign in).
    prefetch(bridge, [
      { type: "session" },
      { type: "list_conversations", query: listQuery({ type: "all" }, LIST_DEFAULTS, null) },
      { type: "counts" },
      { type: "list_teams" },
      { type: "list_views" },
      { type: "list_agents" },
    ]);
    root.render(
      <StrictMode>
        <App bridge={bridge} />
      </StrictMode>,
    );
  },
  (e: unknown) => root.render(<p role="alert">Outpost could not start: {String(e)}</p>),
);
