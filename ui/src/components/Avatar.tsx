import type { ReactNode } from "react";
import type { ChannelKind } from "../generated/outpost";
import { initials } from "../lib/format";

/**
 * A contact's avatar: the initials of their name, or, for a contact known only by a number or
 * an address, a person glyph on their channel's colour. Decorative: the name is said beside it.
 */
export function Avatar({ name, channel, children }: { name: string; channel: ChannelKind; children?: ReactNode }) {
  const letters = initials(name);
  return (
    <span className={letters ? "avatar" : `avatar nameless ${channel}`} aria-hidden="true">
      {letters || (
        <svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
          <circle cx="12" cy="8" r="4" />
          <path d="M4 21c0-4.4 3.6-8 8-8s8 3.6 8 8" />
        </svg>
      )}
      {children}
    </span>
  );
}
