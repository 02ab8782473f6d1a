import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";
import { useQueryClient } from "@tanstack/react-query";
import type { Bridge } from "./bridge";
import { forgetWorkspace, keys, useCounts, useSession } from "./data";
import type { Action, SessionInfo, SyncStatus } from "./generated/outpost";
import type { Place } from "./lib/place";
import { Sidebar } from "./components/Sidebar";
import { ConversationList } from "./components/ConversationList";
import { ConversationView } from "./components/ConversationView";
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
  const [place, setPlace] = useState<Place>({ kind: "view", view: { type: "all" } });
  const [open, setOpen] = useState<string | null>(null);
  const counts = useCounts(bridge).data ?? null;
  const [progress, setProgress] = useState<{ stored: number; total: number } | null>(null);
  const [listed, setListed] = useState<string[]>([]);
  const [help, setHelp] = useState(false);
  const [notifying, setNotifying] = useState(false);
  const [account, setAccount] = useState(false);
  const [writing, setWriting] = useState(false);
  const onShortcut = useCallback(
    (a: ShortcutAction) => {
      const me = session.agent;
      const at = open ? listed.indexOf(open) : -1;
      const act = (action: Action) => void bridge.request({ type: "act", action });
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
    [bridge, listed, open, session.agent],
  );
  useShortcuts(onShortcut);
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
  const { t, i18n } = useTranslation();
  useInterfaceState(bridge, open, i18n.language);
  return (
    <div className="workspace">
      <Sidebar counts={counts} place={place} onPlace={(p) => { setPlace(p); setOpen(null); }} bridge={bridge} me={session.agent?.id ?? ""} admin={session.agent?.role === "owner" || session.agent?.role === "admin"} />
      {/* The place the agent is at: the page's main landmark (its boxes stay the grid's). */}
      <main className="place">
        {place.kind === "admin" && session.agent ? (
          <AdminArea bridge={bridge} me={session.agent} />
        ) : place.kind === "view" ? (
          <>
            <h1 className="visually-hidden">{t("list.heading")}</h1>
            <ConversationList bridge={bridge} view={place.view} selected={open} onOpen={setOpen} me={session.agent} onListed={setListed} onWriteFirst={() => setWriting(true)} />
            <ConversationView bridge={bridge} conversationId={open} me={session.agent} />
          </>
        ) : place.kind === "folder" ? (
          <FolderView bridge={bridge} folder={place.folder} onOpenConversation={(id) => { setPlace({ kind: "view", view: { type: "all" } }); setOpen(id); }} />
        ) : null}
      </main>
      <StatusBar status={status} progress={progress} session={session} bridge={bridge} onSignedOut={onSignedOut} onHelp={() => setHelp(true)} onNotifications={() => setNotifying(true)} onAccount={() => setAccount(true)} />
      {help && <ShortcutHelp onClose={() => setHelp(false)} />}
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
