// The command palette's commands: every view and folder, the open conversation's actions and the
// app's, each with its shortcut. Built from what the workspace has now (pure: tested in Vitest).
import type { TFunction } from "i18next";
import type { Conversation, CustomView, Team, ViewRef } from "../generated/outpost";
import type { Command } from "../components/Palette";
import { FOLDERS, type Place } from "./place";

/** The link that opens a conversation in the desktop app. */
export const conversationLink = (id: string) => `outpost://conversation/${id}`;

/** Tomorrow at 9:00, local time. */
export function tomorrowAt9(): number {
  const d = new Date();
  d.setDate(d.getDate() + 1);
  d.setHours(9, 0, 0, 0);
  return d.getTime();
}

export type CommandContext = {
  t: TFunction;
  /** "Ctrl" or "⌘". */
  mod: string;
  /** The open conversation as last read, if one is open. */
  open: Conversation | null;
  me: string | null;
  admin: boolean;
  teams: Team[];
  views: CustomView[];
  desktop: boolean;
  canUndo: boolean;
  go: (p: Place) => void;
  shortcut: (a: "next" | "previous" | "assignToMe" | "close" | "snooze" | "search" | "help") => void;
  act: (a: import("../generated/outpost").Action) => void;
  copyLink: (id: string) => void;
  undo: () => void;
  writeFirst: () => void;
  notifications: () => void;
  account: () => void;
  thisComputer: () => void;
  signOut: () => void;
  quit: () => void;
};

export function buildCommands(x: CommandContext): Command[] {
  const { t } = x;
  const goTo = t("palette.goTo");
  const view = (id: string, label: string, v: ViewRef): Command => ({ id: `view-${id}`, label, group: goTo, run: () => x.go({ kind: "view", view: v }) });
  const commands: Command[] = [
    view("all", t("views.all"), { type: "all" }),
    view("mine", t("views.mine"), { type: "mine" }),
    view("unassigned", t("views.unassigned"), { type: "unassigned" }),
    ...x.teams.map((team) => view(`team-${team.id}`, team.name, { type: "team", id: team.id })),
    ...x.views.map((v) => view(`custom-${v.id}`, v.name, { type: "custom", id: v.id })),
    ...FOLDERS.map((f) => ({ id: `folder-${f}`, label: t(`folders.${f}`), group: goTo, run: () => x.go({ kind: "folder", folder: f }) })),
    { id: "folder-calls", label: t("folders.calls"), group: goTo, run: () => x.go({ kind: "calls" }) },
  ];
  if (x.admin) commands.push({ id: "admin", label: t("admin.title"), group: goTo, run: () => x.go({ kind: "admin" }) });
  const c = x.open;
  const here = t("palette.conversation");
  commands.push(
    { id: "next", label: t("shortcuts.next"), group: here, keys: "J", run: () => x.shortcut("next") },
    { id: "previous", label: t("shortcuts.previous"), group: here, keys: "K", run: () => x.shortcut("previous") },
  );
  if (c) {
    if (c.assignee !== x.me && x.me) commands.push({ id: "assign", label: t("conversation.assignToMe"), group: here, keys: "A", run: () => x.shortcut("assignToMe") });
    if (c.state === "closed") {
      commands.push({ id: "reopen", label: t("conversation.reopen"), group: here, run: () => x.act({ type: "reopen", conversation_id: c.id }) });
    } else {
      commands.push(
        { id: "close", label: t("conversation.close"), group: here, keys: "E", run: () => x.shortcut("close") },
        { id: "snooze", label: t("conversation.snooze1h"), group: here, keys: "S", run: () => x.shortcut("snooze") },
        { id: "snooze-tomorrow", label: t("conversation.snoozeTomorrow"), group: here, run: () => x.act({ type: "snooze", conversation_id: c.id, until: tomorrowAt9() }) },
      );
    }
    if (c.state === "snoozed") commands.push({ id: "unsnooze", label: t("conversation.unsnooze"), group: here, run: () => x.act({ type: "unsnooze", conversation_id: c.id }) });
    if (!c.unanswered) commands.push({ id: "unanswered", label: t("conversation.markUnanswered"), group: here, run: () => x.act({ type: "set_unanswered", conversation_id: c.id, unanswered: true }) });
    commands.push({ id: "copy-link", label: t("conversation.copyLink"), group: here, run: () => x.copyLink(c.id) });
  }
  const app = t("palette.app");
  if (x.canUndo) commands.push({ id: "undo", label: t("palette.undo"), group: app, keys: `${x.mod}+Z`, run: x.undo });
  commands.push(
    { id: "search", label: t("shortcuts.search"), group: app, keys: "/", run: () => x.shortcut("search") },
    { id: "write-first", label: t("writeFirst.button"), group: app, run: x.writeFirst },
    { id: "notifications", label: t("notify.button"), group: app, run: x.notifications },
    { id: "account", label: t("account.button"), group: app, run: x.account },
  );
  if (x.desktop) commands.push({ id: "this-computer", label: t("desktop.button"), group: app, run: x.thisComputer });
  commands.push(
    { id: "help", label: t("shortcuts.title"), group: app, keys: "?", run: () => x.shortcut("help") },
    { id: "sign-out", label: t("status.signOut"), group: app, run: x.signOut },
  );
  if (x.desktop) commands.push({ id: "quit", label: t("palette.quit"), group: app, keys: `${x.mod}+Q`, run: x.quit });
  return commands;
}
