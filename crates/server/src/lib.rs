//! `outpost-server`: the platform side of Outpost. It owns the team, the conversations and the
//! channels, enforces the product's rules and permissions, and serves the sync protocol the
//! desktop clients speak (see ../shared/ARCHITECTURE.md):
//!
//! - `POST /v1/auth/login`, `POST /v1/auth/logout`, `POST /v1/auth/logout-everywhere`,
//!   `POST /v1/auth/password`, `GET /v1/me`;
//! - `GET /v1/changes?after=SEQ&limit=N`: the change feed, as the caller may see it;
//! - `POST /v1/ops`: agents' actions, idempotent by op id;
//! - `GET /v1/stream`: a WebSocket saying "changed up to seq N" right after each commit;
//! - `PUT /v1/attachments/{id}`, `GET /v1/attachments/{id}`: files agents attach, and every
//!   message's files to whoever may see its conversation;
//! - `POST /v1/channels/{id}/inbound`: a channel's webhook for customers' messages, and
//!   `PUT /v1/channels/{id}/files/{file}` for the files they send (uploaded first, then named by
//!   the message's `attachments: [{ "file": id, "name": … }]`);
//! - `POST /v1/admin/teams`, `POST /v1/admin/agents`, `PATCH /v1/admin/agents/{id}` (role,
//!   visibility, teams, disabled): owners and admins.
//!
//! The server is the authority: an agent can neither read nor change what they may not see (a
//! new entity's id must be new to the whole workspace; see `workspace.rs`), sessions that end
//! close their streams at once, and no one client's flood (sign-ins, connections, ops, frames,
//! uploads) costs the others: see `auth.rs`, `serve.rs`, `throttle.rs` and `files.rs`.

pub mod auth;
pub mod calls;
pub mod channels;
pub mod config;
pub mod demo;
pub mod files;
pub mod flows;
pub mod http;
pub mod metrics;
pub mod providers;
pub mod reasons;
pub mod serve;
pub mod storage;
pub mod throttle;
pub mod tls;
pub mod widget;
pub mod workspace;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use outpost_protocol::{
    Agent, AgentId, Channel, ChannelId, ChannelKind, ConversationId, Entity, EntityRef, Millis,
    Presence, Role, StreamFrame, TeamId, Visibility,
};
use tokio::sync::watch;

use crate::storage::Storage;
use crate::storage::postgres::Postgres;
use crate::storage::sqlite::Sqlite;
use crate::storage::store::Store;

/// The server's clock, injectable for tests.
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as Millis)
    })
}

pub struct App<S: Storage> {
    pub storage: Arc<S>,
    /// The last committed seq; the stream sends it to every connected client.
    pub seq: watch::Sender<u64>,
    pub limiter: auth::LoginLimiter,
    /// Where clients reach this server (`https://outpost.example.com`), for the addresses it
    /// gives out (invitations, webhooks, the widget's tag); else the request's own host.
    pub public_url: Option<String>,
    /// Whether the server itself serves TLS (the scheme of addresses made from a request).
    pub serves_tls: bool,
    /// What the server counts, for `/metrics`.
    pub metrics: metrics::Metrics,
    /// Agents with a stream open now, and how many (for the widget's "someone is available").
    pub online: std::sync::Mutex<std::collections::HashMap<AgentId, usize>>,
    /// New web-chat visitors per address,
    pub visitor_budget: throttle::Buckets<std::net::IpAddr>,
    /// and frames per visitor.
    pub visitor_frames: throttle::Buckets<uuid::Uuid>,
    /// The real channels' providers: their HTTP client, and the outgoing queue's state.
    pub providers: providers::Hub,
    /// This process, among those that share the store (see [`Shared`]).
    pub process: uuid::Uuid,
    /// Typing and viewing, relayed between the streams of agents who may see the conversation.
    pub presence: tokio::sync::broadcast::Sender<PresenceNote>,
    /// Set when the server stops: open streams close so their clients reconnect elsewhere.
    pub closing: watch::Sender<bool>,
    /// Who has which conversation open, by stream connection.
    pub viewers: std::sync::Mutex<std::collections::HashMap<ConversationId, Vec<(u64, Presence)>>>,
    /// The viewers among them on the other processes: each connection's process and agent.
    pub remote_viewers: std::sync::Mutex<std::collections::HashMap<u64, (uuid::Uuid, Presence)>>,
    /// Sessions that just ended: their open streams close at once.
    pub ended: tokio::sync::broadcast::Sender<SessionEnd>,
    /// Bumped when an agent's role, visibility or teams change: streams re-read their agent.
    pub agents_changed: watch::Sender<u64>,
    /// Password verifications that may run at once.
    pub verifying: Arc<tokio::sync::Semaphore>,
    /// One more, for addresses an agent signed in from before (a flood does not keep them out).
    pub verifying_known: Arc<tokio::sync::Semaphore>,
    /// The threads that verify passwords, as many as may run at once.
    pub verifiers: auth::Verifiers,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Bytes one agent may upload a day.
    pub upload_quota: u64,
    /// Agents' ops, group-committed on the writer thread.
    pub committer: workspace::Committer,
    /// Ops per second per agent (a reconnecting desktop flushes thousands at once).
    pub ops_budget: throttle::Buckets<AgentId>,
    /// Stream frames (typing, viewing) per second per agent,
    pub frame_budget: throttle::Buckets<AgentId>,
    /// and typing relayed per agent and conversation.
    pub typing_budget: throttle::Buckets<(AgentId, ConversationId)>,
    clock: Clock,
}

/// What one server process tells the others that share its store (PostgreSQL), beyond the
/// feed: what streams everywhere must know at once. Sent with `Storage::publish`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Shared {
    /// The process that says it (it applied it already).
    pub from: uuid::Uuid,
    pub what: SharedNote,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharedNote {
    /// Sessions ended: their streams close, in every process.
    Ended(SessionEnd),
    /// An agent's role, visibility or teams changed: every stream reads its agent again.
    AgentsChanged,
    /// An agent is typing.
    Typing(PresenceNote),
    /// A stream's agent now views this conversation (or none).
    Viewing {
        connection: u64,
        who: outpost_protocol::Presence,
        conversation: Option<ConversationId>,
    },
}

/// How a server runs, beyond where it keeps its data and listens.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Reverse proxies trusted to say who the client is (`X-Forwarded-For`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Bytes one agent may upload a day (default [`files::DAILY_QUOTA`]).
    pub upload_quota: Option<u64>,
    /// Timeouts and caps on connections.
    pub connections: serve::Limits,
    /// Serve TLS with this certificate and key (reloaded when the files change).
    pub tls: Option<tls::TlsFiles>,
    /// Where clients reach this server, for the addresses it gives out.
    pub public_url: Option<String>,
    /// The PostgreSQL database to keep the workspace in (`postgres://…`), which several server
    /// processes may share; without it, SQLite in the data directory, for this process alone.
    pub database: Option<String>,
}

/// Sessions that ended, for the streams still open on them.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum SessionEnd {
    /// One session: its agent signed out.
    Token(Vec<u8>),
    /// Every session of the agent but `keep`: a new password, "sign out everywhere", disabled.
    Agent {
        agent: AgentId,
        keep: Option<Vec<u8>>,
    },
}

impl SessionEnd {
    /// Whether this ends the session `token_hash` of `agent`.
    pub fn ends(&self, token_hash: &[u8], agent: AgentId) -> bool {
        match self {
            SessionEnd::Token(t) => t == token_hash,
            SessionEnd::Agent { agent: a, keep } => {
                *a == agent && keep.as_deref() != Some(token_hash)
            }
        }
    }
}

/// A presence frame from one agent's stream, for the others.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PresenceNote {
    pub conversation_id: ConversationId,
    pub from: AgentId,
    pub frame: StreamFrame,
}

impl<S: Storage> App<S> {
    pub fn new(storage: Arc<S>, clock: Clock) -> Result<App<S>, storage::StorageError> {
        let (seq, _) = watch::channel(storage.seq()?);
        let committer = workspace::Committer::start(storage.clone())
            .map_err(|e| storage::StorageError::Invalid(format!("no writer thread: {e}")))?;
        Ok(App {
            providers: providers::Hub::new().map_err(storage::StorageError::Invalid)?,
            committer,
            storage,
            seq,
            process: uuid::Uuid::now_v7(),
            presence: tokio::sync::broadcast::channel(1024).0,
            closing: watch::channel(false).0,
            viewers: Default::default(),
            remote_viewers: Default::default(),
            ended: tokio::sync::broadcast::channel(256).0,
            agents_changed: watch::channel(0).0,
            verifying: Arc::new(tokio::sync::Semaphore::new(auth::MAX_VERIFYING)),
            verifying_known: Arc::new(tokio::sync::Semaphore::new(1)),
            verifiers: auth::Verifiers::start(auth::MAX_VERIFYING + 1)
                .map_err(|e| storage::StorageError::Invalid(format!("no verifier threads: {e}")))?,
            trusted_proxies: Vec::new(),
            public_url: None,
            serves_tls: false,
            metrics: Default::default(),
            online: Default::default(),
            visitor_budget: throttle::Buckets::new(0.5, 20.0),
            visitor_frames: throttle::Buckets::new(10.0, 40.0),
            upload_quota: files::DAILY_QUOTA,
            ops_budget: throttle::Buckets::new(1_000.0, 5_000.0),
            frame_budget: throttle::Buckets::new(10.0, 30.0),
            typing_budget: throttle::Buckets::new(1.0, 1.0),
            limiter: auth::LoginLimiter::default(),
            clock,
        })
    }

    pub fn now(&self) -> Millis {
        (self.clock)()
    }

    /// The address clients reach this server at, without a trailing slash: the configured public
    /// URL, else the scheme and `Host` of the request.
    pub fn public_base(&self, headers: &axum::http::HeaderMap) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_owned();
        }
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
            })
            .unwrap_or("localhost");
        let scheme = if self.serves_tls { "https" } else { "http" };
        format!("{scheme}://{host}")
    }

    /// A customer's message on the channel `channel`, as its provider brings it: stored with the
    /// conversation's rules applied, at the server's clock, and announced to the connected
    /// desktops. The webhook, the demo's customers and the tests all write through here.
    pub async fn receive(
        &self,
        channel: uuid::Uuid,
        message: workspace::Inbound,
    ) -> Result<outpost_protocol::MessageId, workspace::OpError> {
        let (storage, now) = (self.storage.clone(), self.now());
        let id = tokio::task::spawn_blocking(move || {
            let kind = self::enabled_channel(&*storage, channel)?;
            workspace::inbound(&*storage, (channel, kind), &message, now)
        })
        .await
        .map_err(|e| storage::StorageError::Invalid(format!("the write stopped: {e}")))??;
        self.announce();
        Ok(id)
    }

    /// Records a provider's report of a call on `channel` (see [`calls`]); a disabled channel's
    /// reports are refused like its messages.
    pub async fn record_call(
        &self,
        channel: uuid::Uuid,
        report: calls::CallReport,
    ) -> Result<calls::Recorded, workspace::OpError> {
        let (storage, now) = (self.storage.clone(), self.now());
        let recorded = tokio::task::spawn_blocking(move || {
            let kind = self::enabled_channel(&*storage, channel)?;
            calls::record(&*storage, (channel, kind), &report, now)
        })
        .await
        .map_err(|e| storage::StorageError::Invalid(format!("the write stopped: {e}")))??;
        if matches!(recorded, calls::Recorded::Changed(_)) {
            self.announce();
        }
        Ok(recorded)
    }

    /// Whether the message a provider calls `provider_id` on `channel` is already stored (a
    /// webhook delivered again: its files need not be fetched again).
    pub async fn knows(
        &self,
        channel: uuid::Uuid,
        provider_id: &str,
    ) -> Result<bool, storage::StorageError> {
        let id = workspace::provider_message_id(channel, provider_id);
        let storage = self.storage.clone();
        tokio::task::spawn_blocking(move || storage.get(EntityRef::Message(id)))
            .await
            .map_err(|e| storage::StorageError::Invalid(format!("the read stopped: {e}")))?
            .map(|m| m.is_some())
    }

    /// A file a customer sent, kept for the channel `channel` under a new id, for the inbound
    /// message that names it next (what `PUT /v1/channels/<id>/files/<file>` does).
    pub async fn receive_file(
        &self,
        channel: uuid::Uuid,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Result<uuid::Uuid, storage::StorageError> {
        let mime = outpost_protocol::limits::plain_mime(mime).ok_or_else(|| {
            storage::StorageError::Invalid(format!("{mime:?} is not a media type"))
        })?;
        let (storage, now, id) = (self.storage.clone(), self.now(), uuid::Uuid::now_v7());
        tokio::task::spawn_blocking(move || {
            let mime = files::sniff(&bytes, &mime);
            storage.put_attachment(id, storage::Uploader::Channel(channel), &mime, &bytes, now)
        })
        .await
        .map_err(|e| storage::StorageError::Invalid(format!("the write stopped: {e}")))??;
        Ok(id)
    }

    /// The channel this kind's messages leave through: the oldest enabled one.
    pub fn channel_of(&self, kind: ChannelKind) -> Option<uuid::Uuid> {
        channels::routes(&*self.storage)
            .ok()?
            .get(&kind)
            .map(|c| c.id.0)
    }

    /// Ends sessions: their streams close now (the storage already forgot them).
    pub fn end_sessions(&self, end: SessionEnd) {
        self.share(SharedNote::Ended(end.clone()));
        // No receiver means no stream open: nothing to close.
        let _open = self.ended.send(end).is_ok();
    }

    /// Streams re-read their agent (what they may see changed).
    pub fn agents_changed(&self) {
        self.share(SharedNote::AgentsChanged);
        self.agents_changed.send_modify(|n| *n += 1);
    }

    /// An agent is typing: streams of this process and the others are told.
    pub fn typing(&self, note: PresenceNote) {
        self.share(SharedNote::Typing(note.clone()));
        // Nobody listening is no error.
        let _listeners = self.presence.send(note);
    }

    /// Takes `n` of the agent's ops budget ([`App::take_shared`]): one budget whichever
    /// process the agent reaches.
    pub async fn take_ops_budget(&self, agent: AgentId, n: f64) -> Result<(), Duration> {
        self.take_shared(&self.ops_budget, &agent, format!("ops:{}", agent.0), n)
            .await
    }

    /// Takes `n` from the bucket `key` of `buckets`: in the store where processes share it
    /// (under `shared_key`, so that one budget holds whichever process a request reaches),
    /// else in this process's memory. A store that cannot answer leaves it to this process's
    /// memory (the request is still refused by the store's own errors where it needs it).
    pub async fn take_shared<K: std::hash::Hash + Eq + Clone>(
        &self,
        buckets: &throttle::Buckets<K>,
        key: &K,
        shared_key: String,
        n: f64,
    ) -> Result<(), Duration> {
        let (rate, burst) = (buckets.rate(), buckets.burst());
        let storage = self.storage.clone();
        let shared =
            tokio::task::spawn_blocking(move || storage.take_budget(&shared_key, rate, burst, n))
                .await;
        let failed = match shared {
            Ok(Ok(Some(answer))) => return answer,
            Ok(Ok(None)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(e) = failed {
            tracing::warn!(error = %e, "a shared budget could not be read; this process's is used");
        }
        buckets.take(key, n)
    }

    /// Counts a sign-in attempt before its password is checked (`auth::LoginLimiter`'s rules):
    /// in the store where processes share it (guesses spread over processes are counted
    /// together), else in this process's memory. A store that cannot answer leaves the count
    /// to this process's memory.
    pub async fn begin_sign_in(
        &self,
        ip: std::net::IpAddr,
        email: &str,
        now: Millis,
    ) -> Result<auth::Attempt, Millis> {
        let (pair, keys, email_key) = auth::LoginLimiter::keys(ip, email);
        let storage = self.storage.clone();
        let (p, k, e) = (pair.clone(), keys.clone(), email_key.clone());
        let shared = tokio::task::spawn_blocking(move || {
            storage.begin_sign_in(&storage::SignIn {
                pair: &p,
                keys: &k,
                email_key: &e,
                now,
                window: auth::LOGIN_WINDOW,
                known_for: auth::KNOWN_FOR,
            })
        })
        .await;
        let failed = match shared {
            Ok(Ok(Some(Ok(known)))) => {
                let mut keys = keys;
                if !known {
                    keys.push(email_key);
                }
                return Ok(auth::Attempt::shared(keys, pair, now, known));
            }
            Ok(Ok(Some(Err(wait)))) => return Err(wait),
            Ok(Ok(None)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(e) = failed {
            tracing::warn!(error = %e, "sign-in attempts could not be counted in the store; this process counts them");
        }
        self.limiter.begin(ip, email, now)
    }

    /// A sign-in counted by [`App::begin_sign_in`] succeeded.
    pub async fn sign_in_succeeded(&self, attempt: auth::Attempt) {
        if !attempt.shared {
            self.limiter.succeeded(attempt);
            return;
        }
        let storage = self.storage.clone();
        let taken = tokio::task::spawn_blocking(move || {
            let (pair, keys, at) = attempt.counted();
            storage.sign_in_succeeded(pair, &keys, at)
        })
        .await;
        match taken {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "a sign-in's attempt could not be taken back"),
            Err(e) => tracing::warn!(error = %e, "a sign-in's attempt could not be taken back"),
        }
    }

    /// Agents with a stream open on this process.
    pub fn online_here(&self) -> Vec<AgentId> {
        self.online
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(a, _)| *a)
            .collect()
    }

    /// Tells the other processes sharing the store (none on SQLite).
    pub fn share(&self, what: SharedNote) {
        match serde_json::to_string(&Shared {
            from: self.process,
            what,
        }) {
            Ok(note) => self.storage.publish(&note),
            Err(e) => {
                tracing::error!(error = %e, "a note for the other processes could not be written")
            }
        }
    }

    /// What another process shared (its own notes come back too, and are ignored).
    pub fn shared(self: &Arc<Self>, note: &str) {
        let shared: Shared = match serde_json::from_str(note) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "a note from another server process was not understood");
                return;
            }
        };
        if shared.from == self.process {
            return;
        }
        match shared.what {
            SharedNote::Ended(end) => {
                let _open = self.ended.send(end).is_ok();
            }
            SharedNote::AgentsChanged => self.agents_changed.send_modify(|n| *n += 1),
            SharedNote::Typing(note) => {
                let _listeners = self.presence.send(note);
            }
            SharedNote::Viewing {
                connection,
                who,
                conversation,
            } => {
                // Kept with its process, so that it goes if that process dies.
                {
                    let mut remote = self
                        .remote_viewers
                        .lock()
                        .unwrap_or_else(|p| p.into_inner());
                    match conversation {
                        Some(_) => remote.insert(connection, (shared.from, who.clone())),
                        None => remote.remove(&connection),
                    };
                }
                http::viewing_elsewhere(self, connection, &who, conversation)
            }
        }
    }

    /// Tells the stream's listeners about what was just committed.
    pub fn announce(&self) {
        if let Ok(seq) = self.storage.seq() {
            self.committed(seq);
        }
    }

    /// The feed reached `seq` (here, or in another process sharing the store): streams are
    /// told, unless they already were of as much.
    pub fn committed(&self, seq: u64) {
        self.seq.send_if_modified(|current| {
            let newer = seq > *current;
            if newer {
                *current = seq;
            }
            newer
        });
    }
}

/// Creates an agent with a password (the owner on a fresh server, or anyone from the demo).
pub fn add_agent<S: Storage>(
    storage: &S,
    name: &str,
    email: &str,
    password: &str,
    role: Role,
    visibility: Visibility,
    teams: Vec<TeamId>,
) -> Result<Agent, String> {
    let normalized = email.trim().to_lowercase();
    auth::check_password(password, &normalized)?;
    let hash = auth::hash_password(password)?;
    let agent = add_invited_agent(storage, name, email, role, visibility, teams)?;
    storage
        .set_password(agent.id, email, &hash)
        .map_err(|e| e.to_string())?;
    Ok(agent)
}

/// Creates an agent with no password yet: they choose one through an invitation link.
pub fn add_invited_agent<S: Storage>(
    storage: &S,
    name: &str,
    email: &str,
    role: Role,
    visibility: Visibility,
    teams: Vec<TeamId>,
) -> Result<Agent, String> {
    let normalized = email.trim().to_lowercase();
    let agent = Agent::new(AgentId::new(), name, &normalized, role, visibility, teams);
    agent.validate().map_err(|e| e.to_string())?;
    storage
        .write(|tx| {
            use storage::Tx;
            tx.put(&Entity::Agent(agent.clone()))
        })
        .map_err(|e| e.to_string())?;
    Ok(agent)
}

/// A channel to create: what agents will see of it, and what stays at the server.
#[derive(Clone, Debug)]
pub struct NewChannel {
    pub kind: ChannelKind,
    pub name: String,
    /// A test channel, its provider simulated (the demo's, or one made on purpose).
    pub test: bool,
    /// The secret its provider names or signs webhooks with (kept as a hash).
    pub secret: String,
    /// Credentials and settings, never sent back to a client.
    pub settings: serde_json::Value,
}

/// Creates a channel (an entity every agent sees, its secret and settings kept apart).
pub fn add_channel<S: Storage>(storage: &S, new: NewChannel) -> Result<Channel, String> {
    let channel = Channel {
        id: ChannelId::new(),
        kind: new.kind,
        name: new.name.trim().to_owned(),
        test: new.test,
        disabled: false,
        templates: Vec::new(),
    };
    channel.validate().map_err(|e| e.to_string())?;
    if new.secret.len() < 8 {
        return Err("A channel's secret needs at least 8 characters.".into());
    }
    // One transaction: no process sees the channel before its secret and settings.
    storage
        .write(|tx| {
            use storage::Tx;
            tx.put(&Entity::Channel(channel.clone()))?;
            tx.set_channel_private(channel.id.0, &auth::token_hash(&new.secret), &new.settings)
        })
        .map_err(|e| e.to_string())?;
    Ok(channel)
}

/// Creates a test channel, its provider simulated (for the demo, tests and benchmarks); returns
/// its id.
pub fn add_test_channel<S: Storage>(
    storage: &S,
    kind: ChannelKind,
    name: &str,
    secret: &str,
) -> Result<uuid::Uuid, String> {
    let channel = add_channel(
        storage,
        NewChannel {
            kind,
            name: name.to_owned(),
            test: true,
            secret: secret.to_owned(),
            settings: serde_json::json!({}),
        },
    )?;
    Ok(channel.id.0)
}

/// A running server: its address, its app, and the way to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App<Store>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, and waits for the server to end.
    pub async fn stop(mut self) {
        self.app.closing.send_replace(true);
        // A server already stopped has dropped the other end: nothing to tell.
        if let Some(stop) = self.stop.take()
            && stop.send(()).is_err()
        {
            tracing::debug!("the server had already stopped");
        }
        if let Err(e) = (&mut self.task).await {
            tracing::error!("the server ended with a panic: {e}");
        }
    }
}

/// Holds the data directory for one server process: a second server, or a restore, on the same
/// directory is refused while it lives (the lock goes with the process, however it ends).
pub fn lock_data_dir(data_dir: &Path) -> Result<std::fs::File, String> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot make {}: {e}", data_dir.display()))?;
    let path = data_dir.join("outpost-server.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "another outpost-server is using {}: stop it first",
            data_dir.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

/// Opens the workspace's store: the PostgreSQL database `database` names (shared by every
/// process), or SQLite in `data_dir`. Either way the data directory is held for this process by
/// its lock (returned).
pub fn open_store(
    data_dir: &Path,
    database: Option<&str>,
) -> Result<(Store, Option<std::fs::File>), String> {
    match database {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            // The data directory is still this process's own (its id, its lock).
            let lock = lock_data_dir(data_dir)?;
            let pg = Postgres::open(url).map_err(|e| e.to_string())?;
            Ok((Store::Postgres(pg), Some(lock)))
        }
        Some(other) => Err(format!(
            "{} is not a database this server knows: give postgres://… (or nothing, for SQLite in the data directory)",
            storage::postgres::redacted(other)
        )),
        None => {
            let lock = lock_data_dir(data_dir)?;
            let sqlite = Sqlite::open(data_dir).map_err(|e| e.to_string())?;
            Ok((Store::Sqlite(sqlite), Some(lock)))
        }
    }
}

/// This process's id among those sharing a store: kept in its data directory, so that after a
/// crash it knows its own requests left out (see `Storage::deliveries_sending`).
fn process_id(data_dir: &Path) -> Result<uuid::Uuid, String> {
    let path = data_dir.join("outpost-server.process");
    match std::fs::read_to_string(&path) {
        Ok(text) => uuid::Uuid::parse_str(text.trim())
            .map_err(|e| format!("{} is damaged ({e}): remove it", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = uuid::Uuid::now_v7();
            std::fs::write(&path, id.to_string())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(id)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Opens the store in `data_dir` and serves on `listen` (port 0 picks a free one).
pub async fn start(data_dir: &Path, listen: SocketAddr, clock: Clock) -> Result<Running, String> {
    start_with(data_dir, listen, clock, Options::default()).await
}

/// [`start`], with options.
pub async fn start_with(
    data_dir: &Path,
    listen: SocketAddr,
    clock: Clock,
    options: Options,
) -> Result<Running, String> {
    let tls = match &options.tls {
        Some(files) => Some(tls::Certificates::open(files.clone())?.server_config()?),
        None => None,
    };
    let (storage, lock) = open_store(data_dir, options.database.as_deref())?;
    let storage = Arc::new(storage);
    let adopted = channels::adopt_legacy(&*storage).map_err(|e| e.to_string())?;
    if adopted > 0 {
        tracing::info!(
            adopted,
            "channels from before channel entities kept as test channels"
        );
    }
    let mut app = App::new(storage, clock).map_err(|e| e.to_string())?;
    app.process = process_id(data_dir)?;
    app.trusted_proxies = options.trusted_proxies.clone();
    app.upload_quota = options.upload_quota.unwrap_or(files::DAILY_QUOTA);
    app.public_url = options.public_url.clone();
    app.serves_tls = options.tls.is_some();
    let app = Arc::new(app);
    if let Store::Postgres(pg) = &*app.storage {
        // Changes committed by every process (this one's too) reach this one's streams.
        let of_listener = Arc::downgrade(&app);
        let of_notes = Arc::downgrade(&app);
        let on_note = move |note: String| {
            if let Some(app) = of_notes.upgrade() {
                app.shared(&note);
            }
        };
        let listening = pg.listen(on_note, move |seq| {
            if let Some(app) = of_listener.upgrade() {
                app.committed(seq);
            }
        });
        listening.map_err(|e| e.to_string())?;
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // Alive before it claims anything: another process must not take its requests for a dead
    // one's.
    let (storage, process) = (app.storage.clone(), app.process);
    tokio::task::spawn_blocking(move || storage.heartbeat(process, &[]))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("the store cannot be written: {e}"))?;
    let timers = tokio::spawn(run_timers(app.clone()));
    let providers = tokio::spawn(providers::run(app.clone()));
    let router = http::router(app.clone()).layer(tower_http::trace::TraceLayer::new_for_http());
    let mut limits = options.connections.clone();
    limits.exempt.extend(app.trusted_proxies.iter().copied());
    let app_of_task = app.clone();
    let task = tokio::spawn(async move {
        serve::serve(listener, router, limits, tls, async {
            // A dropped sender stops the server too.
            let _stopped = stopped.await;
        })
        .await;
        timers.abort();
        app_of_task.closing.send_replace(true);
        // Requests out to providers finish (their answers are written) before the lock goes.
        if let Err(e) = providers.await {
            tracing::error!("the providers' queue ended with a panic: {e}");
        }
        // The data directory is free for another server once this one has stopped.
        drop(lock);
    });
    tracing::info!(%addr, "outpost-server listening");
    Ok(Running {
        addr,
        app,
        stop: Some(stop),
        task,
    })
}

/// Viewers on a process that stopped saying it is alive (killed, say) view nothing any more:
/// the streams here that showed them are told.
async fn forget_viewers_of_dead_processes<S: Storage>(app: &Arc<App<S>>) {
    let remote: Vec<(u64, uuid::Uuid, Presence)> = app
        .remote_viewers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(c, (p, who))| (*c, *p, who.clone()))
        .collect();
    if remote.is_empty() {
        return;
    }
    let storage = app.storage.clone();
    let live = match tokio::task::spawn_blocking(move || storage.live_processes()).await {
        Ok(Ok(Some(live))) => live,
        Ok(Ok(None)) => return,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the live processes could not be read");
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "the live processes could not be read");
            return;
        }
    };
    for (connection, process, who) in remote {
        if !live.contains(&process) {
            app.remote_viewers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&connection);
            http::viewing_elsewhere(app, connection, &who, None);
        }
    }
}

/// How long a provider's status for an id no message took yet is kept (it comes seconds before
/// the send's own answer, when it comes early at all).
const EARLY_STATUSES_FOR: Millis = 24 * 60 * 60 * 1000;

/// Four times a second: scheduled messages that are due, snoozes that are over, and outgoing
/// messages moving along their channel.
async fn run_timers<S: Storage>(app: Arc<App<S>>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut swept_at: Option<Millis> = None;
    let mut alive_at = std::time::Instant::now();
    loop {
        tick.tick().await;
        // Every two seconds: this process is alive (where processes share the store).
        if alive_at.elapsed() >= Duration::from_secs(2) {
            alive_at = std::time::Instant::now();
            let (storage, process) = (app.storage.clone(), app.process);
            let online = app.online_here();
            match tokio::task::spawn_blocking(move || storage.heartbeat(process, &online)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "this process could not say it is alive"),
                Err(e) => tracing::error!(error = %e, "the heartbeat stopped"),
            }
            forget_viewers_of_dead_processes(&app).await;
        }
        // Once a minute: uploads no message named within a day go, and so do old sign-in
        // attempts and statuses kept for messages that never came.
        let now = app.now();
        if swept_at.is_none_or(|at| now - at >= 60_000) {
            swept_at = Some(now);
            let storage = app.storage.clone();
            let swept = tokio::task::spawn_blocking(move || {
                Ok::<_, storage::StorageError>(
                    storage.sweep_sign_ins(now - auth::LOGIN_WINDOW, now - auth::KNOWN_FOR)?
                        + storage.sweep_early_statuses(now - EARLY_STATUSES_FOR)?,
                )
            })
            .await;
            match swept {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "old sign-in attempts or statuses could not be removed")
                }
                Err(e) => tracing::error!(error = %e, "the sweep stopped"),
            }
            let storage = app.storage.clone();
            let before = now - files::UNCLAIMED_FOR;
            match tokio::task::spawn_blocking(move || storage.sweep_unclaimed(before)).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(removed = n, "unclaimed uploads removed"),
                Ok(Err(e)) => tracing::error!(error = %e, "unclaimed uploads could not be removed"),
                Err(e) => tracing::error!(error = %e, "the upload sweep stopped"),
                _ => {}
            }
        }
        let storage = app.storage.clone();
        let now = app.now();
        let metrics_of = app.clone();
        let work = move || -> Result<usize, storage::StorageError> {
            Ok(workspace::run_timers(&*storage, now)?
                + channels::deliver(&*storage, now, &metrics_of.metrics)?)
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(Ok(n)) if n > 0 => app.announce(),
            Ok(Err(e)) => tracing::error!(error = %e, "timers failed"),
            _ => {}
        }
    }
}

/// The kind of an enabled channel; refused when the channel is disabled or unknown.
fn enabled_channel<S: Storage>(
    storage: &S,
    channel: uuid::Uuid,
) -> Result<outpost_protocol::ChannelKind, workspace::OpError> {
    let Some(Entity::Channel(c)) = storage.get(EntityRef::Channel(ChannelId(channel)))? else {
        return Err(workspace::OpError::NotFound("The channel".into()));
    };
    if c.disabled {
        return Err(workspace::OpError::Refused(
            outpost_protocol::rules::refuse(
                outpost_protocol::ErrorCode::NotAllowed,
                "channel_disabled",
                "This channel is disabled: an admin turned it off.",
            ),
        ));
    }
    Ok(c.kind)
}
