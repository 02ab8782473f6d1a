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
pub mod channels;
pub mod demo;
pub mod files;
pub mod flows;
pub mod http;
pub mod serve;
pub mod storage;
pub mod throttle;
pub mod tls;
pub mod workspace;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use outpost_protocol::{
    Agent, AgentId, ChannelKind, ConversationId, Entity, Millis, Presence, Role, StreamFrame,
    TeamId, Visibility,
};
use tokio::sync::watch;

use crate::storage::Storage;
use crate::storage::sqlite::Sqlite;

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
    /// Typing and viewing, relayed between the streams of agents who may see the conversation.
    pub presence: tokio::sync::broadcast::Sender<PresenceNote>,
    /// Set when the server stops: open streams close so their clients reconnect elsewhere.
    pub closing: watch::Sender<bool>,
    /// Who has which conversation open, by stream connection.
    pub viewers: std::sync::Mutex<std::collections::HashMap<ConversationId, Vec<(u64, Presence)>>>,
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
}

/// Sessions that ended, for the streams still open on them.
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug)]
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
            committer,
            storage,
            seq,
            presence: tokio::sync::broadcast::channel(1024).0,
            closing: watch::channel(false).0,
            viewers: Default::default(),
            ended: tokio::sync::broadcast::channel(256).0,
            agents_changed: watch::channel(0).0,
            verifying: Arc::new(tokio::sync::Semaphore::new(auth::MAX_VERIFYING)),
            verifying_known: Arc::new(tokio::sync::Semaphore::new(1)),
            verifiers: auth::Verifiers::start(auth::MAX_VERIFYING + 1)
                .map_err(|e| storage::StorageError::Invalid(format!("no verifier threads: {e}")))?,
            trusted_proxies: Vec::new(),
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
            let (kind, _) = storage
                .channel(channel)?
                .ok_or_else(|| workspace::OpError::NotFound("The channel".into()))?;
            workspace::inbound(&*storage, (channel, kind), &message, now)
        })
        .await
        .map_err(|e| storage::StorageError::Invalid(format!("the write stopped: {e}")))??;
        self.announce();
        Ok(id)
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

    /// The first channel registered of this kind.
    pub fn channel_of(&self, kind: ChannelKind) -> Option<uuid::Uuid> {
        let channels = self.storage.channels().ok()?;
        channels
            .into_iter()
            .find(|(_, k)| *k == kind)
            .map(|(id, _)| id)
    }

    /// Ends sessions: their streams close now (the storage already forgot them).
    pub fn end_sessions(&self, end: SessionEnd) {
        // No receiver means no stream open: nothing to close.
        let _open = self.ended.send(end).is_ok();
    }

    /// Streams re-read their agent (what they may see changed).
    pub fn agents_changed(&self) {
        self.agents_changed.send_modify(|n| *n += 1);
    }

    /// Tells the stream's listeners about what was just committed.
    pub fn announce(&self) {
        if let Ok(seq) = self.storage.seq() {
            self.seq.send_if_modified(|current| {
                let newer = seq > *current;
                if newer {
                    *current = seq;
                }
                newer
            });
        }
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
    let agent = Agent::new(AgentId::new(), name, &normalized, role, visibility, teams);
    agent.validate().map_err(|e| e.to_string())?;
    auth::check_password(password, &agent.email)?;
    let hash = auth::hash_password(password)?;
    storage
        .write(|tx| {
            use storage::Tx;
            tx.put(&Entity::Agent(agent.clone()))
        })
        .map_err(|e| e.to_string())?;
    storage
        .set_password(agent.id, email, &hash)
        .map_err(|e| e.to_string())?;
    Ok(agent)
}

/// Registers a channel with its webhook secret; returns the channel's id.
pub fn add_channel<S: Storage>(
    storage: &S,
    kind: ChannelKind,
    name: &str,
    secret: &str,
) -> Result<uuid::Uuid, String> {
    let id = uuid::Uuid::now_v7();
    storage
        .add_channel(id, kind, &auth::token_hash(secret), name)
        .map_err(|e| e.to_string())?;
    Ok(id)
}

/// A running server: its address, its app, and the way to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App<Sqlite>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, and waits for the server to end.
    pub async fn stop(mut self) {
        self.app.closing.send_replace(true);
        // A server already stopped has dropped the other end: nothing to tell.
        if let Some(stop) = self.stop.take() {
            if stop.send(()).is_err() {
                tracing::debug!("the server had already stopped");
            }
        }
        if let Err(e) = (&mut self.task).await {
            tracing::error!("the server ended with a panic: {e}");
        }
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
    let storage = Arc::new(Sqlite::open(data_dir).map_err(|e| e.to_string())?);
    let mut app = App::new(storage, clock).map_err(|e| e.to_string())?;
    app.trusted_proxies = options.trusted_proxies.clone();
    app.upload_quota = options.upload_quota.unwrap_or(files::DAILY_QUOTA);
    let app = Arc::new(app);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let timers = tokio::spawn(run_timers(app.clone()));
    let router = http::router(app.clone()).layer(tower_http::trace::TraceLayer::new_for_http());
    let mut limits = options.connections.clone();
    limits.exempt.extend(app.trusted_proxies.iter().copied());
    let task = tokio::spawn(async move {
        serve::serve(listener, router, limits, tls, async {
            // A dropped sender stops the server too.
            let _stopped = stopped.await;
        })
        .await;
        timers.abort();
    });
    tracing::info!(%addr, "outpost-server listening");
    Ok(Running {
        addr,
        app,
        stop: Some(stop),
        task,
    })
}

/// Four times a second: scheduled messages that are due, snoozes that are over, and outgoing
/// messages moving along their channel.
async fn run_timers<S: Storage>(app: Arc<App<S>>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut swept_at: Option<Millis> = None;
    loop {
        tick.tick().await;
        // Once a minute: uploads no message named within a day go.
        let now = app.now();
        if swept_at.is_none_or(|at| now - at >= 60_000) {
            swept_at = Some(now);
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
        let work = move || -> Result<usize, storage::StorageError> {
            Ok(workspace::run_timers(&*storage, now)? + channels::deliver(&*storage, now)?)
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(Ok(n)) if n > 0 => app.announce(),
            Ok(Err(e)) => tracing::error!(error = %e, "timers failed"),
            _ => {}
        }
    }
}
