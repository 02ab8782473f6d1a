import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClientProvider } from "@tanstack/react-query";
import "./i18n";
import "./styles.css";
import { App } from "./App";
import { connect } from "./bridge/connect";
import { createData, prefetchFirstScreen } from "./data";

performance.mark("script");
// A file dropped where nothing takes it (outside the composer) is refused, never opened: the
// browser (and the desktop app's web view) would otherwise navigate to it.
for (const kind of ["dragover", "drop"] as const) {
  window.addEventListener(kind, (e) => {
    if (e.defaultPrevented || !e.dataTransfer?.types.includes("Files")) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "none";
  });
}
const root = createRoot(document.getElementById("root")!);
connect().then(
  async (bridge) => {
    performance.mark("bridge");
    const data = createData(bridge);
    // The first screen's reads go out together, and its first frame has them: the agent never sees
    // an empty workspace being filled.
    await prefetchFirstScreen(data, bridge);
    performance.mark("session");
    root.render(
      <StrictMode>
        <QueryClientProvider client={data}>
          <App bridge={bridge} />
        </QueryClientProvider>
      </StrictMode>,
    );
  },
  (e: unknown) => root.render(<p role="alert">Outpost could not start: {String(e)}</p>),
);
