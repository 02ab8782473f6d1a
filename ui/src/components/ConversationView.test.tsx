import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, render, screen } from "@testing-library/react";
import "../i18n";
import { ConversationView } from "./ConversationView";
import { fakeBridge, held, timeline } from "../test/fixtures";
import { QueryClientProvider } from "@tanstack/react-query";
import { createData } from "../data";
import type { Response } from "../generated/outpost";

afterEach(cleanup);

describe("the conversation on screen", () => {
  it("is the one selected, even when an earlier selection's answer arrives last", async () => {
    // A's timeline is slow (a big conversation, a busy disk); B's comes at once.
    const slowA = held<Response>();
    const { bridge, sent } = fakeBridge((r) => {
      if (r.type === "open_conversation" && r.conversation_id === "A") return slowA.promise;
      if (r.type === "open_conversation" && r.conversation_id === "B") return { type: "timeline", timeline: timeline("B", "Bruno") };
      if (r.type === "get_draft") return { type: "draft", text: "" };
      if (r.type === "list_agents") return { type: "agents", agents: [] };
      return undefined;
    });
    const data = createData(bridge);
    const at = (id: string) => (
      <QueryClientProvider client={data}>
        <ConversationView bridge={bridge} conversationId={id} me={null} />
      </QueryClientProvider>
    );
    const view = render(at("A"));
    view.rerender(at("B"));
    expect(await screen.findByRole("heading", { name: "Bruno" })).toBeTruthy();
    await act(async () => slowA.release({ type: "timeline", timeline: timeline("A", "Ana") }));
    await act(() => new Promise((r) => setTimeout(r, 20)));
    // Still B: A's late answer does not paint over it, and what the agent writes goes to B.
    expect(screen.queryByRole("heading", { name: "Ana" })).toBeNull();
    expect(screen.getByRole("heading", { name: "Bruno" })).toBeTruthy();
    expect(sent.some((r) => r.type === "open_conversation" && r.conversation_id === "A")).toBe(true);
  });
});
