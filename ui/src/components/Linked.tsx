import { useMemo } from "react";
import type { Bridge } from "../bridge";
import { linkify } from "../lib/links";

/**
 * A message's text with its links clickable (lib/links.ts decides what a link is). The text is
 * React text, never HTML; a click opens the link outside the app through the bridge, so the
 * app's window never navigates away.
 */
export function Linked({ text, bridge }: { text: string; bridge: Bridge }) {
  const pieces = useMemo(() => linkify(text), [text]);
  return (
    <>
      {pieces.map((p, n) =>
        p.href ? (
          <a
            key={n}
            href={p.href}
            target="_blank"
            rel="noopener noreferrer nofollow"
            title={p.href}
            onClick={(e) => {
              e.preventDefault();
              void bridge.openExternal(p.href!);
            }}
          >
            {p.text}
          </a>
        ) : (
          p.text
        ),
      )}
    </>
  );
}
