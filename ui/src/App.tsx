import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { ask, type Bridge } from "./bridge";
import type { Counts, Folder, SessionInfo, SyncStatus, ViewRef } from "./generated/outpost";
import { Sidebar } from "./components/Sidebar";
import { ConversationList } from "./components/ConversationList";
import { ConversationView } from "./components/ConversationView";
import { FolderView } from "./components/FolderView";
import { SignIn } from "./components/SignIn";
import { StatusBar } from "./components/StatusBar";
import { useEvents } from "./lib/events";

/** What the main pane shows: a view's conversations, or a folder's messages. */
export type Place = { kind: "view"; view: ViewRef } | { kind: "folder"; folder: Folder };

export function App({ bridge }: { bridge: Bridge }) {
  const { t } = useTranslation();
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [signInReason, setSignInReason] = useState<string | null>(null);
  const refreshSession = useCallback(async () => {
    const r = await ask(bridge, { type: "session" }, "session");
    setSession(r.session);
  }, [bridge]);
  useEffect(() => {
    void refreshSession();
  }, [refreshSession]);
  useEvents(bridge, (e) => {
    if (e.type === "sign_in_required") setSignInReason(e.reason);
    if (e.type === "status") setSession((s) => (s ? { ...s, status: e.status } : s));
  });

  if (session === null) return <main className="splash" aria-busy="true" />;
  if (session.account === null || session.agent === null || signInReason !== null) {
    return (
      <SignIn
        bridge={bridge}
        account={session.account}
        notice={signInReason ? t("signIn.again") : null}
        onSignedIn={(s) => {
          setSignInReason(null);
          setSession(s);
        }}
      />
    );
  }
  return <Workspace bridge={bridge} session={session} status={session.status} onSignedOut={refreshSession} />;
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
  const [counts, setCounts] = useState<Counts | null>(null);
  const [progress, setProgress] = useState<{ stored: number; total: number } | null>(null);
  const loadCounts = useCallback(async () => {
    const r = await ask(bridge, { type: "counts" }, "counts");
    setCounts(r.counts);
  }, [bridge]);
  useEffect(() => {
    void loadCounts();
  }, [loadCounts]);
  useEvents(bridge, (e) => {
    if (e.type === "changed" && (e.folders || e.views)) void loadCounts();
    if (e.type === "sync_progress") setProgress(e.stored >= e.total ? null : { stored: e.stored, total: e.total });
  });
  return (
    <div className="workspace">
      <Sidebar counts={counts} place={place} onPlace={(p) => { setPlace(p); setOpen(null); }} bridge={bridge} />
      {place.kind === "view" ? (
        <>
          <ConversationList bridge={bridge} view={place.view} selected={open} onOpen={setOpen} me={session.agent} />
          <ConversationView bridge={bridge} conversationId={open} me={session.agent} />
        </>
      ) : (
        <FolderView bridge={bridge} folder={place.folder} onOpenConversation={(id) => { setPlace({ kind: "view", view: { type: "all" } }); setOpen(id); }} />
      )}
      <StatusBar status={status} progress={progress} session={session} bridge={bridge} onSignedOut={onSignedOut} />
    </div>
  );
}
