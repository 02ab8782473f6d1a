//! What crosses between the interface and the core: a [`Request`] gets its [`Response`], and
//! [`Event`]s arrive on their own, naming what changed (ids, never data) so the interface reads
//! again only what it shows. The same types cross the Tauri bridge and the web edition's
//! WebSocket ([`BridgeRequest`], [`BridgeReply`]); their TypeScript twins are generated
//! ([`crate::typescript`]). [`crate::app::App::handle`] is the one place that answers a Request.
//!
//! This module holds types only: everything else in the core may use it, and it uses nothing of
//! theirs but the mirror's read models (`store`) and the triage's notification.

use outpost_protocol::{
    Action, Agent, AgentId, ChannelId, ClientFrame, Contact, ContactId, ConversationId, CustomView,
    ErrorBody, ErrorCode, Folder, MessageId, OpId, Presence, Team, TeamId, admin,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::Result;
use crate::store::{
    CallCursor, CallFilter, CallPage, Changed, ConversationPage, Counts, JournalEntry, ListQuery,
    MessagePage, SearchResults, Timeline,
};
use crate::triage::Notification;

/// One call of the administration API (see `outpost_protocol::admin`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum AdminCall {
    ListChannels,
    AddChannel {
        channel: admin::NewChannel,
    },
    ChangeChannel {
        id: ChannelId,
        change: admin::ChannelChange,
    },
    NewSecret {
        id: ChannelId,
    },
    /// A WhatsApp channel's approved templates, fetched again from the business account.
    RefreshTemplates {
        id: ChannelId,
    },
    ListAgents,
    AddAgent {
        agent: admin::NewAgent,
    },
    ChangeAgent {
        id: AgentId,
        change: admin::AgentChange,
    },
    AddTeam {
        team: admin::NewTeam,
    },
    ChangeTeam {
        id: TeamId,
        change: admin::TeamChange,
    },
}

/// What an [`AdminCall`] answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum AdminAnswer {
    Channels { channels: Vec<admin::ChannelAdmin> },
    Channel { channel: admin::ChannelAdmin },
    NewChannel { channel: admin::NewChannelAnswer },
    Secret { secret: String },
    Agents { agents: Vec<admin::AgentAdmin> },
    Agent { agent: Agent },
    NewAgent { agent: admin::NewAgentAnswer },
    Team { team: Team },
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
    /// The Calls folder: a page of calls, newest first.
    ListCalls {
        #[serde(default)]
        filter: CallFilter,
        before: Option<CallCursor>,
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
    /// The workspace's channels (never their credentials).
    ListChannels,
    /// Owners and admins: the administration API, at the server (never offline).
    Admin {
        call: AdminCall,
    },
    /// Take an action: applied at once, queued for the server.
    Act {
        action: Action,
    },
    /// Take back an action just taken: withdrawn from the journal when it has not been sent
    /// (the server never sees it), else the `inverse` actions are taken, in order (reopen and
    /// the assignee before for a close…). Without any, an action already sent stays.
    Undo {
        op_id: OpId,
        inverse: Vec<Action>,
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
    /// An invited agent chooses their password with the invitation link an admin gave them
    /// (`https://server/invite/<token>`), then is signed in as with [`Request::SignIn`].
    AcceptInvite {
        link: String,
        password: Password,
    },
    /// Signs out: the server session ends, the keyring forgets the token; the mirror stays.
    SignOut,
    /// How many certificates of a private CA this app trusts besides the platform's (0: none).
    TrustedCa,
    /// Trusts a private CA (its PEM text), or none any more; for the next connections.
    SetTrustedCa {
        pem: Option<String>,
    },
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
    Calls {
        page: CallPage,
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
    Channels {
        channels: Vec<outpost_protocol::Channel>,
    },
    Admin {
        answer: AdminAnswer,
    },
    TrustedCa {
        certificates: u32,
    },
    /// The action was taken; `op_id` is none when it needed no server (a discarded local send).
    Acted {
        op_id: Option<OpId>,
    },
    /// An action was taken back: `withdrawn` (never sent), or reversed by the ops `reversed_by`.
    Undone {
        withdrawn: bool,
        reversed_by: Vec<OpId>,
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
        /// In English (logs); the interface says `why` in the agent's language.
        reason: String,
        why: Option<outpost_protocol::Reason>,
    },
    /// How the connection to the server is going, and how many actions wait (the status bar).
    Status { status: SyncStatus },
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
    /// The customer is typing (web chat).
    CustomerTyping { conversation_id: ConversationId },
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
    pub status: SyncStatus,
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

/// What the interface tells the core about the window, for the triage: the conversation open,
/// whether the window has the focus, the interface's language and the local time's offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct InterfaceState {
    pub conversation_id: Option<ConversationId>,
    pub focused: bool,
    pub language: String,
    /// Minutes to add to UTC for the local time (quiet hours are local).
    pub utc_offset_minutes: i32,
}

impl Default for InterfaceState {
    fn default() -> Self {
        InterfaceState {
            conversation_id: None,
            focused: false,
            language: "en".into(),
            utc_offset_minutes: 0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Connection {
    Syncing,
    Online,
    /// Retrying in `retry_in_ms`.
    Offline {
        retry_in_ms: u64,
    },
    SignedOut,
}

/// What the status bar shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncStatus {
    pub connection: Connection,
    /// Actions waiting to be sent or answered.
    pub waiting: u32,
}

/// A request over the web edition's WebSocket (the Tauri shell has its own IPC for the same).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct BridgeRequest {
    /// Chosen by the UI; the answer carries it back.
    pub id: u64,
    pub request: Request,
}

/// What comes back over the web edition's WebSocket: an answer, or an event.
// Built once and serialized at once; their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(untagged)]
pub enum BridgeReply {
    Answer { id: u64, response: Response },
    Event { event: Event },
}
