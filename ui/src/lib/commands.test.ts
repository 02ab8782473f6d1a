import { describe, expect, it, vi } from "vitest";
import i18n from "../i18n";
import { buildCommands, type CommandContext } from "./commands";
import { matching } from "../components/Palette";
import { conversation } from "../test/fixtures";

function context(over: Partial<CommandContext> = {}): CommandContext {
  const no = () => {};
  return {
    t: i18n.getFixedT("en"), mod: "Ctrl", open: null, me: "me", admin: false, teams: [], views: [], desktop: false, canUndo: false,
    go: vi.fn(), shortcut: vi.fn(), act: vi.fn(), copyLink: vi.fn(), undo: no, writeFirst: no, notifications: no, account: no,
    thisComputer: no, signOut: no, quit: no, ...over,
  };
}

describe("the command palette's commands", () => {
  it("name every folder and view, and a conversation's actions only when one is open", () => {
    const none = buildCommands(context()).map((c) => c.label);
    for (const f of ["Inbox", "Flows", "Archived", "Outbox", "Sent", "Scheduled", "Failed", "All", "Mine", "Unassigned"]) expect(none).toContain(f);
    expect(none).not.toContain("Close");
    expect(none).not.toContain("Quit Outpost");
    const open = buildCommands(context({ open: conversation("c1", "k1"), desktop: true }));
    const close = open.find((c) => c.label === "Close")!;
    expect(close.keys).toBe("E");
    expect(open.find((c) => c.id === "quit")?.keys).toBe("Ctrl+Q");
    expect(open.some((c) => c.id === "this-computer")).toBe(true);
  });

  it("run what they name", () => {
    const x = context({ open: conversation("c1", "k1") });
    const commands = buildCommands(x);
    commands.find((c) => c.id === "folder-failed")!.run();
    expect(x.go).toHaveBeenCalledWith({ kind: "folder", folder: "failed" });
    commands.find((c) => c.id === "unanswered")!.run();
    expect(x.act).toHaveBeenCalledWith({ type: "set_unanswered", conversation_id: "c1", unanswered: true });
    commands.find((c) => c.id === "copy-link")!.run();
    expect(x.copyLink).toHaveBeenCalledWith("c1");
  });

  it("are found by any words of their name, without accents, in the agent's language", () => {
    const pt = buildCommands(context({ t: i18n.getFixedT("pt-BR"), open: conversation("c1", "k1") }));
    expect(matching(pt, "atribuir").map((c) => c.label)).toEqual(["Atribuir a mim"]);
    expect(matching(pt, "ir falha").map((c) => c.label)).toEqual(["Com falha"]);
    expect(matching(pt, "zzz")).toEqual([]);
    expect(matching(pt, "").length).toBe(pt.length);
  });
});
