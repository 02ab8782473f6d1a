// Test data for the interface's tests: entities with every field, so a test names only what it is
// about. Shapes are the generated ones (ui/src/generated), so a field added in Rust fails here first.
import type { Contact, Conversation, Event, Request, Response, Timeline } from "../generated/outpost";
import type { Bridge } from "../bridge";

export const T0 = 1_767_225_600_000;

export function contact(id: string, name: string): Contact {
  return {
    id, name, phone: "", email: "", country: "", language: "", avatar_url: "", identities: [], tags: [],
    fields: {}, private_comment: "", bot_enabled: false, active_flow: null, created_at: T0,
  };
}

export function conversation(id: string, contactId: string): Conversation {
  return {
    id, contact_id: contactId, channel: "web_chat", state: "open", snoozed_until: null, assignee: null,
    team: null, unanswered: false, unread_count: 0, opened_at: T0, last_message_at: T0,
    last_message_direction: null, last_message_preview: "", last_incoming_at: T0, closing_note: "",
    closing_category: "", created_at: T0, channel_id: null,
  };
}

export function timeline(id: string, name: string): Timeline {
  return { conversation: conversation(id, `contact-${id}`), contact: contact(`contact-${id}`, name), items: [], replied: [], older: null };
}

/**
 * A bridge whose answers the test writes: `answer(request)` returns the Response (or a promise of
 * it, to hold an answer back); every request is recorded in `sent`; `emit` sends an event.
 */
export function fakeBridge(answer: (r: Request) => Response | Promise<Response> | undefined) {
  const sent: Request[] = [];
  const listeners = new Set<(e: Event) => void>();
  const bridge: Bridge = {
    openExternal: async () => {},
    request: async (r) => {
      sent.push(r);
      return (await answer(r)) ?? ({ type: "done" } as Response);
    },
    subscribe(on) {
      listeners.add(on);
      return () => listeners.delete(on);
    },
  };
  const emit = (e: Event) => listeners.forEach((l) => l(e));
  return { bridge, sent, emit };
}

/** A promise and the function that settles it: an answer the test releases when it chooses. */
export function held<T>(): { promise: Promise<T>; release: (value: T) => void } {
  let release!: (value: T) => void;
  const promise = new Promise<T>((r) => (release = r));
  return { promise, release };
}
