//! The server's storage, behind a narrow interface: the workspace's rules (`workspace.rs`) see
//! only [`Tx`], one write transaction, and the HTTP layer only [`Storage`]. SQLite is the
//! embedded default ([`sqlite::Sqlite`]); PostgreSQL ([`postgres::Postgres`]) implements the same
//! two traits for a workspace several server processes share; [`store::Store`] is either, as
//! chosen when the server starts.
//!
//! Invariants every backend keeps:
//! - one sequence per workspace: every write of an entity moves it to the next `seq`, in commit
//!   order, so the change feed is gap-free and never reorders;
//! - a write transaction is all or nothing, the op's result included (idempotency survives a
//!   crash between "applied" and "answered").

/// Owner-only files at rest: the same rule as the desktop's mirror.
#[path = "../../core/src/owner_only.rs"]
pub mod owner_only;
pub mod postgres;
pub mod sqlite;
pub mod store;

/// The JSON shape of [`Storage::changes`].
pub use outpost_protocol::ChangesPage;
use outpost_protocol::{
    Agent, AgentId, ChannelKind, ContactId, ConversationId, Entity, EntityRef, EventId, MessageId,
    Millis, OpId, OpResult,
};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("stored data could not be read: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// One write transaction over the workspace.
pub trait Tx {
    fn get(&self, r: EntityRef) -> Result<Option<Entity>>;
    /// Whether the id was ever used for an entity of its kind: stored now, or deleted (its
    /// tombstone is in the feed). Ids are never reused.
    fn ever_stored(&self, r: EntityRef) -> Result<bool>;
    /// Stores the entity and moves it to the next seq of the feed; returns that seq.
    fn put(&mut self, e: &Entity) -> Result<u64>;
    /// Deletes the entity, leaving a tombstone in the feed.
    fn delete(&mut self, r: EntityRef) -> Result<u64>;
    /// Moves an unchanged entity to the next seq (it became visible to someone new).
    fn touch(&mut self, r: EntityRef) -> Result<()>;
    /// `agent` lost sight of an entity: their feed carries a revocation at a seq of its own.
    fn revoke(&mut self, agent: AgentId, entity: EntityRef) -> Result<()>;
    fn agents(&self) -> Result<Vec<Agent>>;
    fn messages_of(&self, conversation: ConversationId) -> Result<Vec<MessageId>>;
    fn events_of(&self, conversation: ConversationId) -> Result<Vec<EventId>>;
    fn calls_of(&self, conversation: ConversationId) -> Result<Vec<outpost_protocol::CallId>>;
    fn conversations_of(&self, contact: ContactId) -> Result<Vec<ConversationId>>;
    /// Every conversation of the workspace.
    fn all_conversations(&self) -> Result<Vec<outpost_protocol::Conversation>>;
    fn contact_by_identity(&self, channel: ChannelKind, address: &str)
    -> Result<Option<ContactId>>;
    /// The first result of the agent's op with this id (op ids are the agent's own).
    fn op_result(&self, agent: AgentId, op_id: OpId) -> Result<Option<OpResult>>;
    fn save_op_result(&mut self, agent: AgentId, result: &OpResult, at: Millis) -> Result<()>;
    /// The seq of the last change written.
    fn seq(&self) -> Result<u64>;
    fn flows(&self) -> Result<Vec<Flow>>;
    /// The flow a contact is in, and the next step.
    fn flow_run(&self, contact: ContactId) -> Result<Option<(String, u32)>>;
    fn set_flow_run(&mut self, contact: ContactId, run: Option<(&str, u32)>) -> Result<()>;
    fn set_flows(&mut self, flows: &[Flow]) -> Result<()>;
    /// An upload, without its bytes.
    fn attachment(&self, id: uuid::Uuid) -> Result<Option<Upload>>;
    /// Gives an upload to the message that carries it.
    fn link_attachment(
        &mut self,
        id: uuid::Uuid,
        message: MessageId,
        conversation: ConversationId,
    ) -> Result<()>;
    /// The message a provider's id names on a channel (see `crate::providers`).
    fn provider_message(&self, channel: uuid::Uuid, provider_id: &str)
    -> Result<Option<MessageId>>;
    /// Records a message's id at its channel's provider.
    fn set_provider_message(
        &mut self,
        channel: uuid::Uuid,
        provider_id: &str,
        message: MessageId,
    ) -> Result<()>;
    /// Keeps a provider's status (its JSON) about an id no message has yet.
    fn keep_early_status(
        &mut self,
        channel: uuid::Uuid,
        provider_id: &str,
        status: &str,
        at: Millis,
    ) -> Result<()>;
    /// Takes the statuses kept for a provider id, in the order they came.
    fn take_early_statuses(
        &mut self,
        channel: uuid::Uuid,
        provider_id: &str,
    ) -> Result<Vec<String>>;
    /// A message's delivery is over (its provider took it, refused it, or it is gone).
    fn end_delivery(&mut self, message: MessageId) -> Result<()>;
    /// A request for a message is over without sending all of it: the provider took its first
    /// `parts` parts (a retry goes on from there); the next attempt is at `next_at`.
    fn delay_delivery(
        &mut self,
        message: MessageId,
        parts: u32,
        next_at: Millis,
        error: &str,
    ) -> Result<()>;
    /// A new channel's private side, written with its entity (a channel is never seen without
    /// its secret and settings): the hash of the secret its provider signs webhooks with, and
    /// its settings (credentials…), as JSON.
    fn set_channel_private(
        &mut self,
        id: uuid::Uuid,
        secret_hash: &[u8],
        settings: &serde_json::Value,
    ) -> Result<()>;
    /// Starts a part of the transaction that [`Tx::rollback_attempt`] can undo alone.
    fn begin_attempt(&mut self) -> Result<()>;
    fn rollback_attempt(&mut self) -> Result<()>;
    fn commit_attempt(&mut self) -> Result<()>;
    /// Reads ahead what the next writes will ask about (entities, their place in the feed, the
    /// op results of `ops`), where that saves round trips; a hint, nothing more.
    fn prefetch(&self, _refs: &[EntityRef], _ops: &[(AgentId, OpId)]) -> Result<()> {
        Ok(())
    }
}

/// A sign-in attempt to count ([`Storage::begin_sign_in`]).
pub struct SignIn<'a> {
    /// The email and the address together.
    pub pair: &'a str,
    /// Keys counted always, each with the attempts its window allows.
    pub keys: &'a [(String, usize)],
    /// The email's key, counted unless the pair is known.
    pub email_key: &'a (String, usize),
    pub now: Millis,
    pub window: Millis,
    pub known_for: Millis,
}

/// A file an agent uploaded, and the message that took it (if one has).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub uploader: Uploader,
    pub mime: String,
    pub size: u64,
    pub message: Option<MessageId>,
    pub conversation: Option<ConversationId>,
}

/// Who uploaded a file: an agent's desktop (what the agent attaches), or a channel (what a
/// customer sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uploader {
    Agent(AgentId),
    Channel(uuid::Uuid),
}

/// What became of an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uploaded {
    Stored,
    /// The same agent uploaded the same file under this id before (a retry): nothing changed.
    AlreadyThere,
    /// The id is taken by another file or another agent: nothing changed.
    Taken,
}

/// Stored credentials of an agent.
pub struct Credentials {
    pub agent: Agent,
    pub password_hash: String,
    /// An owner or admin disabled them: no sign-in, no session.
    pub disabled: bool,
}

/// A live session: its agent, and when it ends.
#[derive(Clone, Debug)]
pub struct Session {
    pub agent: Agent,
    pub expires_at: Millis,
}

/// A page of the change feed, ready to send: its JSON, and where it ends (also sent as headers,
/// so that a client can ask for the next page while it still decodes this one).
pub struct FeedPage {
    pub json: String,
    pub cursor: u64,
    pub has_more: bool,
}

pub trait Storage: Send + Sync + 'static {
    type Tx<'a>: Tx
    where
        Self: 'a;

    /// Runs `f` in one write transaction: committed if it returns Ok, rolled back otherwise.
    fn write<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&mut Self::Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E>;

    /// A page of the change feed as `agent` may see it: changes after `after`, at most `limit`,
    /// with revocations of what they may no longer see. Returned as the JSON of a
    /// [`ChangesPage`], built around the entities' stored JSON (never decoded and re-encoded).
    fn changes(&self, agent: &Agent, after: u64, limit: u32) -> Result<FeedPage>;

    /// The JSON of a [`outpost_protocol::RecentSnapshot`]: the `conversations` most recently
    /// active conversations `agent` may see, with their contacts, their latest `messages`
    /// messages and events, and every agent, team and view shared with them, each at its seq.
    fn recent(&self, agent: &Agent, conversations: u32, messages: u32) -> Result<String>;

    fn seq(&self) -> Result<u64>;
    fn credentials(&self, email: &str) -> Result<Option<Credentials>>;
    fn set_password(&self, agent: AgentId, email: &str, password_hash: &str) -> Result<()>;
    /// The agent's stored password hash.
    fn password_hash(&self, agent: AgentId) -> Result<Option<String>>;
    /// A new password; every session of the agent ends but `keep` (the one that changed it).
    fn change_password(
        &self,
        agent: AgentId,
        password_hash: &str,
        keep: Option<&[u8]>,
    ) -> Result<()>;
    /// Ends every session of the agent.
    fn end_sessions(&self, agent: AgentId) -> Result<()>;
    /// Disables (every session ends) or enables an agent.
    fn set_disabled(&self, agent: AgentId, disabled: bool) -> Result<()>;
    /// Keeps a one-time invitation for `agent` (its token's hash).
    fn create_invite(&self, token_hash: &[u8], agent: AgentId, expires_at: Millis) -> Result<()>;
    /// The agent a live invitation is for, and when it expires; used up: it works once.
    fn take_invite(&self, token_hash: &[u8], now: Millis) -> Result<Option<(AgentId, Millis)>>;
    fn is_disabled(&self, agent: AgentId) -> Result<bool>;
    fn create_session(
        &self,
        token_hash: &[u8],
        agent: AgentId,
        now: Millis,
        expires_at: Millis,
    ) -> Result<()>;
    /// A live session (not expired, its agent not disabled).
    fn session(&self, token_hash: &[u8], now: Millis) -> Result<Option<Session>>;
    fn end_session(&self, token_hash: &[u8]) -> Result<()>;
    /// Sets the secret (its hash) a channel's provider signs or names its webhooks with. The
    /// channel itself is an entity (`Entity::Channel`), put through a write.
    fn set_channel_secret(&self, id: uuid::Uuid, secret_hash: &[u8]) -> Result<()>;
    /// The kind and secret hash of a channel.
    fn channel(&self, id: uuid::Uuid) -> Result<Option<(ChannelKind, Vec<u8>)>>;
    /// Every channel as agents see it, oldest first.
    fn channel_entities(&self) -> Result<Vec<outpost_protocol::Channel>>;
    /// Every channel: id and kind.
    fn channels(&self) -> Result<Vec<(uuid::Uuid, ChannelKind)>>;
    /// Keeps a new web-chat visitor of `channel` and their token's hash.
    fn create_visitor(&self, visitor: &Visitor, token_hash: &[u8]) -> Result<()>;
    /// The visitor a token names.
    fn visitor(&self, token_hash: &[u8]) -> Result<Option<Visitor>>;
    /// The web-chat messages of the contact whose web-chat address is `address`, oldest first,
    /// at most the newest `limit`.
    fn web_chat_messages(
        &self,
        address: &str,
        limit: u32,
    ) -> Result<Vec<outpost_protocol::Message>>;
    /// Whether anything of these conversations changed after `after` (a cheap look at the feed
    /// before reading them again).
    fn conversations_changed_since(
        &self,
        after: u64,
        conversations: &[ConversationId],
    ) -> Result<bool>;
    /// Outgoing messages the server holds that no provider has taken yet (queued).
    fn outgoing_queue(&self) -> Result<u64>;
    /// Scheduled messages due at `now`.
    fn due_messages(&self, now: Millis) -> Result<Vec<MessageId>>;
    /// Snoozed conversations whose time has come.
    fn due_snoozes(&self, now: Millis) -> Result<Vec<ConversationId>>;
    /// Outgoing messages on their way (queued, wired, sent or delivered) on channels of these
    /// kinds that moved at or after `since`, the longest waiting first.
    fn messages_in_delivery(
        &self,
        since: Millis,
        kinds: &[ChannelKind],
        limit: u32,
    ) -> Result<Vec<MessageId>>;
    /// A channel's private settings (credentials, the test channel's rules…), as JSON: never
    /// sent to a client.
    fn channel_settings(&self, id: uuid::Uuid) -> Result<Option<serde_json::Value>>;
    fn set_channel_settings(&self, id: uuid::Uuid, settings: &serde_json::Value) -> Result<()>;
    fn get(&self, r: EntityRef) -> Result<Option<Entity>>;
    /// The messages of `ids` that exist, in one read where the store can.
    fn messages(&self, ids: &[MessageId]) -> Result<Vec<outpost_protocol::Message>> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(Entity::Message(m)) = self.get(EntityRef::Message(*id))? {
                found.push(m);
            }
        }
        Ok(found)
    }
    /// Keeps an upload under `id` (idempotent for its uploader).
    fn put_attachment(
        &self,
        id: uuid::Uuid,
        uploader: Uploader,
        mime: &str,
        bytes: &[u8],
        now: Millis,
    ) -> Result<Uploaded>;
    /// An upload and its bytes.
    fn attachment(&self, id: uuid::Uuid) -> Result<Option<(Upload, Vec<u8>)>>;
    /// Bytes the agent uploaded at or after `since`.
    fn uploaded_since(&self, agent: AgentId, since: Millis) -> Result<u64>;
    /// Removes uploads no message names that were made before `before`; how many went.
    fn sweep_unclaimed(&self, before: Millis) -> Result<usize>;
    /// Outgoing messages queued for a provider on channels of these kinds, the longest waiting
    /// first, with where their delivery stands.
    fn pending_deliveries(&self, kinds: &[ChannelKind], limit: u32) -> Result<Vec<Pending>>;
    /// Claims a queued message for one request to `channel`'s provider: `None` when it is no
    /// longer queued or a request for it is already out; else the attempt's number and how
    /// many of its parts the provider already took.
    /// `process` is the server process that makes the request (see
    /// [`Storage::deliveries_sending`]).
    fn claim_delivery(
        &self,
        message: MessageId,
        channel: uuid::Uuid,
        now: Millis,
        process: uuid::Uuid,
    ) -> Result<Option<(u32, u32)>>;
    /// A conversation's messages (a read: no write transaction).
    fn messages_of(&self, conversation: ConversationId) -> Result<Vec<MessageId>>;
    /// The id a message has at its channel's provider (its first part's), if it left.
    fn provider_id_of(&self, message: MessageId) -> Result<Option<(uuid::Uuid, String)>>;
    /// The request went unanswered or was refused for now: try again at `next_at`.
    fn retry_delivery(&self, message: MessageId, next_at: Millis, error: &str) -> Result<()>;
    /// Deliveries with a request out by a process that is gone: requests whose answer will never
    /// come. Gone: another process than `process` (this one) not heard from for
    /// [`PROCESS_GONE_AFTER_SECS`] (on SQLite, any other: one process serves it); and with
    /// `starting`, this one's own from before it started (it keeps its id across restarts).
    fn deliveries_sending(
        &self,
        process: uuid::Uuid,
        starting: bool,
    ) -> Result<Vec<(MessageId, uuid::Uuid)>>;
    /// Says that `process` is alive (every few seconds), where processes share the store, and
    /// which agents have a stream open on it.
    fn heartbeat(&self, _process: uuid::Uuid, _online: &[AgentId]) -> Result<()> {
        Ok(())
    }
    /// Agents with a stream open on the other live processes sharing the store (none on
    /// SQLite).
    fn online_elsewhere(&self, _process: uuid::Uuid) -> Result<Vec<AgentId>> {
        Ok(Vec::new())
    }
    /// The processes sharing the store that said they are alive lately (`None` on SQLite: this
    /// process alone).
    fn live_processes(&self) -> Result<Option<Vec<uuid::Uuid>>> {
        Ok(None)
    }
    /// When a message's delivery began (its first attempt), while it lasts.
    fn delivery_began(&self, message: MessageId) -> Result<Option<Millis>>;
    /// Forgets statuses kept before `before` for ids no message ever took.
    fn sweep_early_statuses(&self, before: Millis) -> Result<usize>;
    /// Where a channel's reading stands (`name`: an update offset, a mailbox's UIDs…).
    fn channel_cursor(&self, channel: uuid::Uuid, name: &str) -> Result<Option<String>>;
    fn set_channel_cursor(&self, channel: uuid::Uuid, name: &str, value: &str) -> Result<()>;
    /// Takes `n` tokens from the bucket `key` (`rate` a second, `burst` at most) kept in the
    /// store, which every process sharing it sees: `Some(Err(wait))` when it holds too few.
    /// `None` where one process alone serves the store (its buckets in memory do).
    fn take_budget(
        &self,
        _key: &str,
        _rate: f64,
        _burst: f64,
        _n: f64,
    ) -> Result<Option<Result<(), std::time::Duration>>> {
        Ok(None)
    }
    /// Counts a sign-in attempt in the store, which every process sharing it sees (the rules of
    /// `auth::LoginLimiter`): `Some(Ok(known))` when it may go on (`known`: the pair signed in
    /// within `known_for`, so the email's own key was not counted), `Some(Err(wait))` when a
    /// key is spent. `None` where one process alone serves the store (its limiter in memory
    /// counts).
    fn begin_sign_in(&self, _attempt: &SignIn<'_>) -> Result<Option<Result<bool, Millis>>> {
        Ok(None)
    }
    /// A sign-in counted by [`Storage::begin_sign_in`] succeeded: its attempt is taken back
    /// from `keys`, and `pair` is known from `at`.
    fn sign_in_succeeded(&self, _pair: &str, _keys: &[String], _at: Millis) -> Result<()> {
        Ok(())
    }
    /// Forgets attempts made before `attempts_before` and pairs last seen before
    /// `known_before`.
    fn sweep_sign_ins(&self, _attempts_before: Millis, _known_before: Millis) -> Result<usize> {
        Ok(0)
    }
    /// Tells the other server processes that share this store a note (a session ended, who is
    /// typing: see `crate::Shared`), at once and not kept. A store one process alone serves has
    /// nobody to tell.
    fn publish(&self, _note: &str) {}
}

/// A server process not heard from for this long is gone: its requests out are settled by
/// another (see [`Storage::deliveries_sending`]).
pub const PROCESS_GONE_AFTER_SECS: u32 = 10;

/// An outgoing message queued for a provider, and where its delivery stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub message: MessageId,
    pub conversation: ConversationId,
    /// Its attempts so far are waiting until then to try again.
    pub next_at: Option<Millis>,
    /// A request for it is out now.
    pub sending: bool,
}

/// A visitor of a web-chat widget: who they said they are, on which channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visitor {
    pub id: uuid::Uuid,
    pub channel: uuid::Uuid,
    pub name: String,
    pub email: String,
    pub created_at: Millis,
}

/// A keyword flow (see `crate::flows`): its trigger word and its automatic replies, in order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Flow {
    pub name: String,
    /// The word that starts it (case does not matter).
    pub trigger: String,
    /// The automatic replies, in order.
    pub steps: Vec<String>,
}

impl Flow {
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() || self.trigger.trim().is_empty() {
            return Err("A flow needs a name and a trigger word.".into());
        }
        if self.steps.is_empty() || self.steps.iter().any(|s| s.trim().is_empty()) {
            return Err(format!(
                "Flow '{}' needs at least one reply, none of them empty.",
                self.name
            ));
        }
        Ok(())
    }
}
