import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useQueryClient } from "@tanstack/react-query";
import type { Bridge } from "./bridge";
import { forgetWorkspace, keys, queries, useCounts, useSession, useTeams, useViews } from "./data";
import type { Action, SessionInfo, SyncStatus } from "./generated/outpost";
import type { Place } from "./lib/place";
import { Sidebar } from "./components/Sidebar";
import { ConversationList } from "./components/ConversationList";
import { ConversationView, type MessageAt } from "./components/ConversationView";
import { CallsView } from "./components/CallsView";
import { FolderView } from "./components/FolderView";
import { SignIn } from "./components/SignIn";
import { WriteFirst } from "./components/WriteFirst";
import { StatusBar } from "./components/StatusBar";
import { useEvents } from "./lib/events";
import { useInterfaceState } from "./lib/interface";
import { showInBrowser } from "./lib/browserNotify";
import { NotifySettingsDialog } from "./components/NotifySettingsDialog";
import { AccountDialog } from "./components/AccountDialog";
import { AdminArea } from "./components/admin/AdminArea";
import { ShortcutHelp, useShortcuts, type ShortcutAction } from "./components/Shortcuts";
import { MOD, UNDO_EVENT, UndoToast } from "./components/UndoToast";
import { Palette } from "./components/Palette";
import { buildCommands, conversationLink } from "./lib/commands";
import { conversationBefore, useUndoable } from "./lib/undo";
import { ask } from "./bridge";
import { DesktopDialog } from "./components/DesktopDialog";
import { useAct } from "./lib/act";


export function App({ bridge }: { bridge: Bridge }) {
  const { t } = useTranslation();
  const data = useQueryClient();
  const { data: session } = useSession(bridge);
  const [signInReason, setSignInReason] = useState<string | null>(null);
  /** Signed in: the workspace is read afresh (another agent may have been signed in before). */
  const signedIn = useCallback(
    (next: SessionInfo) => {
      forgetWorkspace(data);
      data.setQueryData(keys.session, next);
    },
    [data],
  );
  const signedOut = useCallback(() => void data.invalidateQueries({ queryKey: keys.session }), [data]);
  useEvents(bridge, (e) => {
    if (e.type === "sign_in_required") setSignInReason(e.reason);
    if (e.type === "status") data.setQueryData(keys.session, (s: SessionInfo | undefined) => (s ? { ...s, status: e.status } : s));
  });

  if (!session) return <main className="splash" aria-busy="true" />;
  // The session ended at the server (a new password, signed out everywhere, disabled): this page
  // may have opened after it did, so the status says it as the event would have.
  const ended = session.status.connection.state === "signed_out";
  if (session.account === null || session.agent === null || signInReason !== null || ended) {
    return (
      <SignIn
        bridge={bridge}
        account={session.account}
        notice={signInReason !== null || ended ? t("signIn.again") : null}
        onSignedIn={(s) => {
          setSignInReason(null);
          signedIn(s);
        }}
      />
    );
  }
  return <Workspace bridge={bridge} session={session} status={session.status} onSignedOut={signedOut} />;
}

function Workspace({
  bridge,
  session,
  status,
  onSignedOut,
}: {
  bridge: Bridge;
  session: SessionInfo;
  status: SyncStatus;
  onSignedOut: () => void;
}) {
  const { t, i18n } = useTranslation();
  const [place, setPlace] = useState<Place>({ kind: "view", view: { type: "all" } });
  const [open, setOpened] = useState<string | null>(null);
  /** The message the open conversation was opened at (a search hit), if any. */
  const [openAt, setOpenAt] = useState<MessageAt | null>(null);
  const setOpen = useCallback((id: string | null, at: MessageAt | null = null) => {
    setOpened(id);
    setOpenAt(at);
  }, []);
  const counts = useCounts(bridge).data ?? null;
  const [progress, setProgress] = useState<{ stored: number; total: number } | null>(null);
  const [listed, setListed] = useState<string[]>([]);
  const [help, setHelp] = useState(false);
  const [notifying, setNotifying] = useState(false);
  const [account, setAccount] = useState(false);
  const [writing, setWriting] = useState(false);
  const [desktopOpen, setDesktopOpen] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const triage = useAct(bridge, setProblem);
  // A refusal of a shortcut's action is said for a moment (the pane's own errors stay in it).
  useEffect(() => {
    if (!problem) return;
    const end = setTimeout(() => setProblem(null), 6000);
    return () => clearTimeout(end);
  }, [problem]);
  const onShortcut = useCallback(
    (a: ShortcutAction) => {
      const me = session.agent;
      const at = open ? listed.indexOf(open) : -1;
      const act = (action: Action) => void triage(action);
      switch (a) {
        case "next":
          if (listed.length) setOpen(listed[Math.min(at + 1, listed.length - 1)] ?? null);
          break;
        case "previous":
          if (listed.length) setOpen(listed[Math.max(at - 1, 0)] ?? null);
          break;
        case "assignToMe":
          if (open && me) act({ type: "assign", conversation_id: open, assignee: me.id });
          break;
        case "close":
          if (open) act({ type: "close", conversation_id: open, note: "", category: "" });
          break;
        case "snooze":
          if (open) act({ type: "snooze", conversation_id: open, until: Date.now() + 3_600_000 });
          break;
        case "search":
          document.querySelector<HTMLInputElement>("input[type=search]")?.focus();
          break;
        case "help":
          setHelp(true);
          break;
      }
    },
    [listed, open, session.agent, setOpen, triage],
  );
  useShortcuts(onShortcut);
  // A sync ended: timelines are read again (a first sync's history may have reached the open one
  // without naming it in a change).
  const syncing = status.connection.state === "syncing";
  const data = useQueryClient();
  useEffect(() => {
    if (!syncing) void data.invalidateQueries({ queryKey: keys.timeline });
  }, [syncing, data]);
  // The conversations j and k lead to are read ahead: the next one shows in the keystroke's frame.
  useEffect(() => {
    const at = open ? listed.indexOf(open) : -1;
    if (at < 0) return;
    for (const id of [listed[at + 1], listed[at - 1]]) if (id) void data.prefetchInfiniteQuery(queries.timeline(bridge, id));
  }, [open, listed, data, bridge]);
  const [palette, setPalette] = useState(false);
  // Ctrl/Cmd+K opens the palette from anywhere, a text field too; Ctrl/Cmd+Q quits the desktop app.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
      const key = e.key.toLowerCase();
      if (key === "k") {
        e.preventDefault();
        setPalette((p) => !p);
      } else if (key === "q" && bridge.desktop) {
        e.preventDefault();
        void bridge.desktop.quit();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [bridge]);
  const teams = useTeams(bridge).data;
  const views = useViews(bridge).data;
  const canUndo = useUndoable() !== null;
  const admin = session.agent?.role === "owner" || session.agent?.role === "admin";
  const commands = useCallback(
    () =>
      buildCommands({
        t,
        mod: MOD,
        open: open ? conversationBefore(data, open) : null,
        me: session.agent?.id ?? null,
        admin,
        teams: teams ?? [],
        views: views ?? [],
        desktop: bridge.desktop !== undefined,
        canUndo,
        go: (p) => {
          setPlace(p);
          setOpen(null);
        },
        shortcut: onShortcut,
        act: (a) => void triage(a),
        copyLink: (id) => void navigator.clipboard.writeText(conversationLink(id)),
        undo: () => window.dispatchEvent(new Event(UNDO_EVENT)),
        writeFirst: () => setWriting(true),
        notifications: () => setNotifying(true),
        account: () => setAccount(true),
        thisComputer: () => setDesktopOpen(true),
        signOut: () => void ask(bridge, { type: "sign_out" }, "done").then(onSignedOut),
        quit: () => void bridge.desktop?.quit(),
      }),
    [t, open, data, session.agent, admin, teams, views, bridge, canUndo, onShortcut, triage, setOpen, onSignedOut],
  );
  useEvents(bridge, (e) => {
    if (e.type === "sync_progress") setProgress(e.stored >= e.total ? null : { stored: e.stored, total: e.total });
    // A click on a notification: its conversation, in All (whatever view was on screen).
    if (e.type === "open_conversation") {
      setPlace({ kind: "view", view: { type: "all" } });
      setOpen(e.conversation_id);
    }
    // The web edition shows the core's notifications through the browser.
    if (e.type === "notify" && !bridge.nativeNotifications) {
      showInBrowser(e.notification, (id) => {
        setPlace({ kind: "view", view: { type: "all" } });
        setOpen(id);
      });
    }
  });
  useInterfaceState(bridge, open, i18n.language);
  return (
    <div className="workspace">
      <Sidebar counts={counts} place={place} onPlace={(p) => { setPlace(p); setOpen(null); }} bridge={bridge} me={session.agent?.id ?? ""} admin={admin} />
      {/* The place the agent is at: the page's main landmark (its boxes stay the grid's). */}
      <main className="place">
        {place.kind === "admin" && session.agent ? (
          <AdminArea bridge={bridge} me={session.agent} />
        ) : place.kind === "view" ? (
          <>
            <h1 className="visually-hidden">{t("list.heading")}</h1>
            <ConversationList bridge={bridge} view={place.view} selected={open} onOpen={setOpen} me={session.agent} onListed={setListed} onWriteFirst={() => setWriting(true)} />
            <ConversationView bridge={bridge} conversationId={open} at={openAt} me={session.agent} syncing={syncing} />
          </>
        ) : place.kind === "folder" ? (
          <FolderView bridge={bridge} folder={place.folder} onOpenConversation={(id) => { setPlace({ kind: "view", view: { type: "all" } }); setOpen(id); }} />
        ) : place.kind === "calls" ? (
          <CallsView bridge={bridge} onOpenCall={(id, call) => { setPlace({ kind: "view", view: { type: "all" } }); setOpen(id, { id: call, row: 0 }); }} />
        ) : null}
      </main>
      <StatusBar status={status} progress={progress} session={session} bridge={bridge} onSignedOut={onSignedOut} onHelp={() => setHelp(true)} onNotifications={() => setNotifying(true)} onAccount={() => setAccount(true)} onDesktop={bridge.desktop ? () => setDesktopOpen(true) : undefined} />
      {problem && (
        <p className="toast problem toast-problem" role="alert">
          {problem}
        </p>
      )}
      <UndoToast bridge={bridge} />
      {help && <ShortcutHelp onClose={() => setHelp(false)} />}
      {palette && <Palette commands={commands()} onClose={() => setPalette(false)} />}
      {desktopOpen && bridge.desktop && <DesktopDialog desktop={bridge.desktop} onClose={() => setDesktopOpen(false)} />}
      {notifying && <NotifySettingsDialog bridge={bridge} onClose={() => setNotifying(false)} />}
      {account && session.agent && (
        <AccountDialog
          bridge={bridge}
          email={session.agent.email}
          onClose={() => setAccount(false)}
          onSignedOut={() => {
            setAccount(false);
            onSignedOut();
          }}
        />
      )}
      {writing && <WriteFirst bridge={bridge} onClose={() => setWriting(false)} onStarted={(id) => { setPlace({ kind: "view", view: { type: "all" } }); setOpen(id); }} />}
    </div>
  );
}
