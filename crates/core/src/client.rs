//! The facade the shells talk to: [`Client::handle`] takes a [`Request`] and answers a
//! [`Response`]; every change is announced as an [`Event`] that names what changed (ids, never
//! data), so the UI refetches only what is visible. The same types cross the Tauri bridge and
//! the web edition's WebSocket; their TypeScript twins are generated (see [`typescript`]).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use outpost_protocol::{
    Action, Agent, ChangesPage, ClientFrame, Contact, ContactId, ConversationId, CustomView,
    ErrorBody, ErrorCode, Folder, MessageId, Millis, Op, OpId, OpOutcome, OpResult, Presence,
    RecentSnapshot, Team,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::Result;
use crate::triage::{Notification, Triage};

mod notify;
use crate::store::{
    Changed, ConversationPage, Counts, IndexMode, JournalEntry, ListQuery, MessagePage,
    SearchResults, Store, Timeline,
};
pub use notify::InterfaceState;

/// The time, injected so that tests decide it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Millis;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as Millis)
    }
}

/// A clock that moves only when told.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(at: Millis) -> ManualClock {
        ManualClock(AtomicI64::new(at))
    }

    pub fn set(&self, at: Millis) {
        self.0.store(at, Ordering::SeqCst);
    }

    pub fn advance(&self, by: Millis) {
        self.0.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// The signed-in agent.
    Me,
    /// Folder counts, view counts and dots, unread total.
    Counts,
    ListConversations {
        query: ListQuery,
    },
    ListFolder {
        folder: Folder,
        before: Option<i64>,
        limit: u32,
    },
    OpenConversation {
        conversation_id: ConversationId,
        before: Option<i64>,
        limit: u32,
    },
    Search {
        query: String,
        limit: u32,
    },
    GetContact {
        contact_id: ContactId,
    },
    ListViews,
    ListAgents,
    ListTeams,
    /// Take an action: applied at once, queued for the server.
    Act {
        action: Action,
    },
    SaveDraft {
        conversation_id: ConversationId,
        text: String,
    },
    GetDraft {
        conversation_id: ConversationId,
    },
    /// What waits to be sent, and what was refused and why.
    Journal,
    /// Which account is signed in, and how the connection goes (answered by [`crate::app::App`]).
    Session,
    /// Signs in (the app keeps the token in the OS keyring and starts syncing).
    SignIn {
        server: String,
        email: String,
        password: Password,
    },
    /// Signs out: the server session ends, the keyring forgets the token; the mirror stays.
    SignOut,
    /// Ends every session of the agent (their other desktops too), then signs out here.
    SignOutEverywhere,
    /// A new password, the current one asked again; the agent's other sessions end.
    ChangePassword {
        current: Password,
        new: Password,
    },
    /// Tells the other agents that this one is typing, or which conversation it has open.
    Presence {
        frame: ClientFrame,
    },
    /// Keeps a file the agent attaches; the answer names it for a message's `attachments`.
    StageAttachment {
        name: String,
        mime: String,
        data: FileData,
    },
    /// A file of a message, from this desktop or else from the server (`url` as in the
    /// message); a file fetched is kept here, so it opens offline next time.
    GetAttachment {
        message_id: MessageId,
        url: String,
    },
    /// The window's state, for the notifications (sent when it changes).
    SetInterface {
        state: InterfaceState,
    },
    /// The agent's notification settings (their defaults until they choose).
    GetNotifySettings,
}

// Responses are built once and serialized for the bridge; their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    Me {
        agent: Option<Agent>,
    },
    Counts {
        counts: Counts,
    },
    Conversations {
        page: ConversationPage,
    },
    Folder {
        page: MessagePage,
    },
    Timeline {
        timeline: Timeline,
    },
    SearchResults {
        results: SearchResults,
    },
    Contact {
        contact: Option<Contact>,
    },
    Views {
        views: Vec<CustomView>,
    },
    Agents {
        agents: Vec<Agent>,
    },
    Teams {
        teams: Vec<Team>,
    },
    /// The action was taken; `op_id` is none when it needed no server (a discarded local send).
    Acted {
        op_id: Option<OpId>,
    },
    Draft {
        text: String,
    },
    Journal {
        entries: Vec<JournalEntry>,
    },
    Session {
        session: SessionInfo,
    },
    Staged {
        attachment: outpost_protocol::Attachment,
    },
    File {
        mime: String,
        data: FileData,
    },
    NotifySettings {
        settings: outpost_protocol::NotifySettings,
    },
    Done,
    Error {
        error: ErrorBody,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Something the UI may show changed: refetch what is visible and named here.
    Changed {
        conversations: Vec<ConversationId>,
        contacts: Vec<ContactId>,
        folders: bool,
        views: bool,
        agents: bool,
        journal: bool,
        /// The agent's notification settings.
        settings: bool,
    },
    /// The server refused an action: its effect was undone; tell the agent why.
    OpRefused {
        op_id: OpId,
        action: String,
        conversation_id: Option<ConversationId>,
        code: ErrorCode,
        reason: String,
    },
    /// How the connection to the server is going, and how many actions wait (the status bar).
    Status {
        status: crate::sync::engine::SyncStatus,
    },
    /// A first sync is under way: `stored` changes of about `total` so far. `recent_ready`: the
    /// most recent conversations are stored and can be worked on while the history streams in.
    SyncProgress {
        stored: u64,
        total: u64,
        recent_ready: bool,
    },
    /// The server ended the session: ask the agent to sign in again. Nothing queued was lost;
    /// it is sent after the agent signs in.
    SignInRequired {
        server: String,
        email: String,
        reason: String,
    },
    /// Another agent is typing in a conversation.
    Typing {
        conversation_id: ConversationId,
        who: Presence,
    },
    /// Who else has a conversation open now (empty: nobody).
    Viewing {
        conversation_id: ConversationId,
        who: Vec<Presence>,
    },
    /// Show a desktop notification (the triage decided it): the shell shows it, replacing the
    /// one shown before under the same key.
    Notify { notification: Notification },
    /// Show this conversation (the agent clicked its notification).
    OpenConversation { conversation_id: ConversationId },
}

/// A password on its way to the server: never shown by `Debug` (so never in a log line).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(transparent)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(hidden)")
    }
}

/// A file's bytes crossing the bridge, in base64 (standard alphabet, padded). `Debug` gives
/// only its length: a file is never written into a log line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(transparent)]
pub struct FileData(pub String);

impl std::fmt::Debug for FileData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileData({} base64 chars)", self.0.len())
    }
}

impl FileData {
    pub fn encode(bytes: &[u8]) -> FileData {
        use base64::Engine;
        FileData(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn decode(&self) -> Result<Vec<u8>> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(&self.0)
            .map_err(|e| {
                crate::Error::Invalid(outpost_protocol::ValidationError {
                    field: "attachments",
                    problem: format!("the file did not arrive whole ({e})"),
                })
            })
    }
}

/// Who is signed in and how the connection goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct SessionInfo {
    /// None: nobody is signed in (the sign-in screen).
    pub account: Option<Account>,
    pub agent: Option<Agent>,
    pub status: crate::sync::engine::SyncStatus,
}

/// The server and the email a mirror belongs to (not a secret; the token is in the keyring).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Account {
    pub server: String,
    pub email: String,
}

impl From<Changed> for Event {
    fn from(c: Changed) -> Event {
        Event::Changed {
            conversations: c.conversations.into_iter().collect(),
            contacts: c.contacts.into_iter().collect(),
            folders: c.folders,
            views: c.views,
            agents: c.agents,
            journal: c.journal,
            settings: c.settings,
        }
    }
}

/// The conversation an action is about, for the agent's "what was affected".
pub fn conversation_of(action: &Action) -> Option<ConversationId> {
    match action {
        Action::SendMessage {
            conversation_id, ..
        }
        | Action::ScheduleMessage {
            conversation_id, ..
        }
        | Action::WriteFirst {
            conversation_id, ..
        }
        | Action::Assign {
            conversation_id, ..
        }
        | Action::SetTeam {
            conversation_id, ..
        }
        | Action::Close {
            conversation_id, ..
        }
        | Action::Reopen {
            conversation_id, ..
        }
        | Action::Snooze {
            conversation_id, ..
        }
        | Action::Unsnooze {
            conversation_id, ..
        }
        | Action::SetUnanswered {
            conversation_id, ..
        }
        | Action::MarkRead {
            conversation_id, ..
        }
        | Action::DeleteConversation { conversation_id } => Some(*conversation_id),
        _ => None,
    }
}

/// Whoever listens to events; a listener that went away is dropped at the next event.
#[derive(Default)]
pub struct Subscribers(Mutex<Vec<Sender<Event>>>);

impl Subscribers {
    pub fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = channel();
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(tx);
        rx
    }

    pub fn emit(&self, event: Event) {
        let mut subs = self.0.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|s| s.send(event.clone()).is_ok());
    }
}

pub struct Client {
    store: Store,
    clock: Arc<dyn Clock>,
    subscribers: Subscribers,
    triage: Mutex<Triage>,
    interface: Mutex<InterfaceState>,
    /// Files of customers' messages just pulled, to fetch while online (`Syncer::prefetch`).
    prefetch: Mutex<std::collections::VecDeque<(MessageId, String)>>,
}

/// Files a customer sends up to this size are fetched as they arrive, so they open offline.
pub const PREFETCH_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// At most this many files wait to be fetched; the oldest give way.
const PREFETCH_QUEUE: usize = 200;

impl Client {
    pub fn open(path: impl AsRef<std::path::Path>, clock: Arc<dyn Clock>) -> Result<Client> {
        Ok(Client {
            store: Store::open(path)?,
            clock,
            subscribers: Subscribers::default(),
            triage: Mutex::new(Triage::new()),
            interface: Mutex::new(InterfaceState::default()),
            prefetch: Mutex::new(std::collections::VecDeque::new()),
        })
    }

    /// The next file of a customer's message to fetch ahead (see [`PREFETCH_MAX_BYTES`]).
    pub fn next_prefetch(&self) -> Option<(MessageId, String)> {
        self.prefetch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
    }

    /// Queues the files of customers' messages a pull brought, up to the size fetched ahead.
    fn queue_prefetch(&self, happened: &[crate::triage::Happening]) {
        let mut queue = self.prefetch.lock().unwrap_or_else(|p| p.into_inner());
        for h in happened {
            if let crate::triage::Happening::Message { message, .. } = h
                && message.direction == outpost_protocol::Direction::Incoming
            {
                for a in &message.attachments {
                    if a.upload_id().is_some() && a.size <= PREFETCH_MAX_BYTES {
                        if queue.len() == PREFETCH_QUEUE {
                            queue.pop_front();
                        }
                        queue.push_back((message.id, a.url.clone()));
                    }
                }
            }
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// A new stream of events.
    pub fn subscribe(&self) -> Receiver<Event> {
        self.subscribers.subscribe()
    }

    pub(crate) fn emit(&self, event: Event) {
        self.subscribers.emit(event);
    }

    fn emit_changed(&self, changed: Changed) {
        if !changed.is_empty() {
            self.emit(changed.into());
        }
    }

    /// Signs the mirror in as `agent` (the sync layer calls this after login).
    pub fn set_me(&self, agent: &Agent) -> Result<()> {
        let (_, changed) = self
            .store
            .write(IndexMode::Immediate, |tx| tx.set_me(agent))?;
        self.emit_changed(changed);
        Ok(())
    }

    /// The account this mirror belongs to, once signed in.
    pub fn account(&self) -> Result<Option<Account>> {
        self.store.read(|c| {
            crate::store::meta_get(c, "account")?
                .map(|json| serde_json::from_str(&json).map_err(crate::Error::from))
                .transpose()
        })
    }

    /// Ties the mirror to an account on its first sign-in; another account is refused (each
    /// account has a mirror file of its own).
    pub fn set_account(&self, account: &Account) -> Result<()> {
        let account = Account {
            server: account.server.trim_end_matches('/').to_owned(),
            email: account.email.trim().to_lowercase(),
        };
        self.store.write(IndexMode::Immediate, |tx| {
            if let Some(json) = crate::store::meta_get(tx.conn(), "account")? {
                let kept: Account = serde_json::from_str(&json)?;
                if kept != account {
                    return Err(crate::Error::OtherAccount {
                        server: kept.server,
                        email: kept.email,
                    });
                }
                return Ok(());
            }
            tx.meta_set("account", &serde_json::to_string(&account)?)
        })?;
        Ok(())
    }

    /// Stores the recent conversations a first sync starts with (see `Store::apply_snapshot`).
    pub fn ingest_snapshot(&self, snapshot: &RecentSnapshot) -> Result<()> {
        let changed = self.store.apply_snapshot(snapshot)?;
        self.emit_changed(changed);
        Ok(())
    }

    /// Stores a page of the change feed (see `Store::apply_changes`).
    /// Stores a page of the change feed and announces what changed; outside a first sync (whose
    /// history is summarised once it ends), what the page brings goes to the triage.
    pub fn ingest(&self, page: &ChangesPage, index: IndexMode) -> Result<()> {
        let news = match index {
            IndexMode::Immediate => self.store.read(|c| notify::news_of(c, page))?,
            IndexMode::Deferred => Vec::new(),
        };
        let changed = self.store.apply_changes(page, index)?;
        self.emit_changed(changed);
        if !news.is_empty() {
            let happened = self.store.read(|c| notify::happenings(c, news))?;
            self.queue_prefetch(&happened);
            self.notify(&happened)?;
        }
        Ok(())
    }

    /// Records the server's answers to ops; refusals are announced.
    pub fn record_results(&self, results: &[OpResult]) -> Result<()> {
        let refused = results
            .iter()
            .any(|r| matches!(r.outcome, OpOutcome::Refused { .. }));
        let journal = if refused {
            self.store.journal()?
        } else {
            Vec::new()
        };
        let changed = self.store.record_results(results)?;
        self.emit_changed(changed);
        let mut refusals = Vec::new();
        for r in results {
            if let OpOutcome::Refused { code, reason } = &r.outcome {
                let action = journal
                    .iter()
                    .find(|e| e.op.op_id == r.op_id)
                    .map(|e| &e.op.action);
                let (kind, conversation_id) = (
                    action.map_or("unknown", Action::kind).to_owned(),
                    action.and_then(conversation_of),
                );
                self.emit(Event::OpRefused {
                    op_id: r.op_id,
                    action: kind.clone(),
                    conversation_id,
                    code: *code,
                    reason: reason.clone(),
                });
                refusals.push(crate::triage::Happening::Refused {
                    op_id: r.op_id,
                    action: kind,
                    conversation_id,
                    reason: reason.clone(),
                });
            }
        }
        if !refusals.is_empty() {
            self.notify(&refusals)?;
        }
        Ok(())
    }

    /// Takes an agent's action now; returns the op id it was queued under.
    pub fn act(&self, action: Action) -> Result<Option<OpId>> {
        let op = Op {
            op_id: OpId::new(),
            at: self.clock.now(),
            action,
        };
        let (queued, changed) = self.store.act(&op)?;
        self.emit_changed(changed);
        Ok(queued.then_some(op.op_id))
    }

    pub fn handle(&self, request: Request) -> Response {
        match self.try_handle(request) {
            Ok(r) => r,
            Err(e) => Response::Error { error: e.body() },
        }
    }

    /// A file of a message kept on this desktop, as a [`Response::File`].
    pub fn local_file(&self, url: &str) -> Result<Option<Response>> {
        Ok(self.local_bytes(url)?.map(|(mime, bytes)| Response::File {
            mime,
            data: FileData::encode(&bytes),
        }))
    }

    /// A file of a message kept on this desktop: one the agent attached, or one fetched before.
    pub fn local_bytes(&self, url: &str) -> Result<Option<(String, Vec<u8>)>> {
        let Some(id) = outpost_protocol::Attachment::upload_id_in(url) else {
            return Ok(None);
        };
        match self.store.local_file(id)? {
            Some(staged) => Ok(Some(staged)),
            None => self.store.cached_file(id, self.now()),
        }
    }

    /// Keeps a file of `message` just fetched from the server, so it opens offline; whether it
    /// was kept (see [`Store::keep_file`]).
    pub fn keep_file(
        &self,
        message: MessageId,
        url: &str,
        mime: &str,
        bytes: &[u8],
    ) -> Result<bool> {
        self.store.keep_file(message, url, mime, bytes, self.now())
    }

    fn try_handle(&self, request: Request) -> Result<Response> {
        let s = &self.store;
        Ok(match request {
            Request::Me => Response::Me { agent: s.me() },
            Request::Counts => Response::Counts {
                counts: s.counts()?,
            },
            Request::ListConversations { query } => Response::Conversations {
                page: s.list_conversations(&query, self.now())?,
            },
            Request::ListFolder {
                folder,
                before,
                limit,
            } => Response::Folder {
                page: s.list_folder(folder, before, limit)?,
            },
            Request::OpenConversation {
                conversation_id,
                before,
                limit,
            } => Response::Timeline {
                timeline: s.open_conversation(conversation_id, before, limit)?,
            },
            Request::Search { query, limit } => Response::SearchResults {
                results: s.search(&query, limit)?,
            },
            Request::GetContact { contact_id } => Response::Contact {
                contact: s.read(|c| crate::store::get_contact(c, contact_id))?,
            },
            Request::ListViews => Response::Views { views: s.views()? },
            Request::ListAgents => Response::Agents {
                agents: s.agents()?,
            },
            Request::ListTeams => Response::Teams { teams: s.teams()? },
            Request::Act { action } => Response::Acted {
                op_id: self.act(action)?,
            },
            Request::SaveDraft {
                conversation_id,
                text,
            } => {
                s.save_draft(conversation_id, &text, self.now())?;
                Response::Done
            }
            Request::GetDraft { conversation_id } => Response::Draft {
                text: s.draft(conversation_id)?,
            },
            Request::Journal => Response::Journal {
                entries: s.journal()?,
            },
            Request::StageAttachment { name, mime, data } => Response::Staged {
                attachment: s.stage_upload(&name, &mime, &data.decode()?, self.now())?,
            },
            Request::SetInterface { state } => {
                self.set_interface(state);
                Response::Done
            }
            Request::GetNotifySettings => {
                let me = s.me().ok_or(crate::Error::NoAgent)?;
                Response::NotifySettings {
                    settings: s.read(|c| crate::store::notify_settings(c, me.id))?,
                }
            }
            Request::GetAttachment { url, .. } => match self.local_file(&url)? {
                Some(file) => file,
                None => {
                    return Err(crate::Error::NotFound(
                        "This file is not on this desktop".into(),
                    ));
                }
            },
            Request::Session
            | Request::SignIn { .. }
            | Request::SignOut
            | Request::SignOutEverywhere
            | Request::ChangePassword { .. }
            | Request::Presence { .. } => {
                return Err(crate::Error::NotFound(
                    "Signing in and out (the app's requests)".into(),
                ));
            }
        })
    }
}

/// The TypeScript declarations of everything that crosses the bridge, as one module.
pub fn typescript() -> String {
    use crate::store::*;
    use outpost_protocol::typescript::{config, export_decl, protocol_declarations};
    let cfg = config();
    let mut out = String::from(
        "// Generated by `cargo xtask gen-types` from the Rust types (outpost-protocol, outpost-core).\n// Do not edit: change the Rust types and regenerate.\n\n",
    );
    let core = vec![
        export_decl::<ViewRef>(&cfg),
        export_decl::<Sort>(&cfg),
        export_decl::<Assignee>(&cfg),
        export_decl::<ListCursor>(&cfg),
        export_decl::<ListQuery>(&cfg),
        export_decl::<ConversationSummary>(&cfg),
        export_decl::<ConversationPage>(&cfg),
        export_decl::<MessageRow>(&cfg),
        export_decl::<MessagePage>(&cfg),
        export_decl::<TimelineItem>(&cfg),
        export_decl::<Timeline>(&cfg),
        export_decl::<ViewCount>(&cfg),
        export_decl::<Counts>(&cfg),
        export_decl::<MessageHit>(&cfg),
        export_decl::<ContactHit>(&cfg),
        export_decl::<SearchResults>(&cfg),
        export_decl::<OpState>(&cfg),
        export_decl::<JournalEntry>(&cfg),
        export_decl::<crate::sync::engine::Connection>(&cfg),
        export_decl::<crate::sync::engine::SyncStatus>(&cfg),
        export_decl::<Account>(&cfg),
        export_decl::<Password>(&cfg),
        export_decl::<FileData>(&cfg),
        export_decl::<SessionInfo>(&cfg),
        export_decl::<InterfaceState>(&cfg),
        export_decl::<crate::triage::QuickActionId>(&cfg),
        export_decl::<crate::triage::QuickAction>(&cfg),
        export_decl::<Notification>(&cfg),
        export_decl::<Request>(&cfg),
        export_decl::<Response>(&cfg),
        export_decl::<Event>(&cfg),
        export_decl::<crate::app::BridgeRequest>(&cfg),
        export_decl::<crate::app::BridgeReply>(&cfg),
    ];
    for decl in protocol_declarations(&cfg).into_iter().chain(core) {
        out.push_str(&decl);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod client_tests;
