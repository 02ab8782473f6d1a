import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "./i18n";
import "./styles.css";
import { App } from "./App";
import { connect } from "./bridge";

performance.mark("script");
const root = createRoot(document.getElementById("root")!);
connect().then(
  (bridge) =>
    performance.mark("bridge") &&
    root.render(
      <StrictMode>
        <App bridge={bridge} />
      </StrictMode>,
    ),
  (e: unknown) => root.render(<p role="alert">Outpost could not start: {String(e)}</p>),
);
