//! Sync with the Outpost server: the pull of the change feed and the push of the op journal.
//!
//! # What is persisted, and when
//! - The journal and the mirror are the store's (see `store/journal.rs`): an action is durable
//!   before anything is sent, so nothing depends on the network to be kept.
//! - Pull: each page of `GET /v1/changes` is one store transaction (entities stored, journal
//!   replayed on top, cursor moved, all or nothing). A page that is malformed or out of order is
//!   rejected whole; the cursor stays, and the next pull asks for the same changes again.
//!   A first sync (cursor 0) defers the message index and builds it once at the end.
//! - Push: the pending ops, oldest first, in batches; they are marked in flight before the
//!   request. An answer records each op's result in one transaction (applied → done, settled
//!   by the next pull; refused → undone and wedged with its reason). A request that got no
//!   answer leaves its ops in flight: they are sent again with the same op ids, and the server
//!   answers a repeated op with its first result, so nothing happens twice.
//!
//! - First sync: before the feed, `GET /v1/recent` brings the most recently active
//!   conversations (with their contacts, latest messages and events); they are stored at once,
//!   without moving the cursor, so the agent can work while the history streams in. Each page
//!   then announces its progress ([`Event::SyncProgress`]). The feed overwrites the snapshot's
//!   entities with the same or newer state, in order.
//!
//! # Sessions
//! [`Syncer::sign_in`] keeps the token in the OS keyring ([`keyring::Keyring`]) and ties the
//! mirror to the account (server and email, not secret); [`Syncer::resume_saved`] picks it up on
//! the next start. The token is held in memory otherwise, and never written to a file, the
//! database or a log.
//!
//! # Errors
//! Network failures, 5xx and 429 are recoverable: nothing is lost, the caller retries later
//! (with backoff). 401 means the session ended: sync stops until the agent signs in again, and
//! everything queued stays queued.

pub mod engine;
pub mod keyring;

use std::sync::Arc;

use outpost_protocol::{Agent, ChangesPage, ErrorBody, Op, OpResult, RecentSnapshot};
use serde::{Deserialize, Serialize};

use crate::{Account, Client, Event, IndexMode};
use keyring::{Keyring, KeyringError};

/// Ops sent in one request.
pub const PUSH_BATCH: usize = 200;
/// Changes asked for in one page.
pub const PULL_PAGE: u32 = 5_000;
/// Headers of a changes page: where it ends and whether more follows (as its body says).
const CURSOR_HEADER: &str = "x-outpost-cursor";
const HAS_MORE_HEADER: &str = "x-outpost-has-more";
/// How long a request may take before it counts as a network failure (a connection that was
/// accepted and then went silent must not stall the queue for ever).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn http_client(timeout: std::time::Duration) -> reqwest::Client {
    let built = reqwest::Client::builder()
        .use_preconfigured_tls((*crate::tls::client_config()).clone())
        .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
        .timeout(timeout)
        .build();
    built.unwrap_or_else(|e| {
        // Only a TLS back end that cannot start fails here; then nothing can be reached, and
        // every request says so.
        tracing::error!("no HTTP client: {e}");
        reqwest::Client::new()
    })
}

/// Conversations (and messages of each) a first sync stores before the history.
pub const RECENT_CONVERSATIONS: u32 = 50;
pub const RECENT_MESSAGES: u32 = 50;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("The server cannot be reached ({0}). Everything is kept and will be sent when it can.")]
    Network(String),
    #[error("Sign in again: the session has ended. Nothing queued was lost.")]
    SignedOut,
    /// The server's certificate was refused (untrusted, expired, another name), or plain http to
    /// another computer: nothing was sent.
    #[error("{0}")]
    Tls(String, outpost_protocol::Reason),
    #[error("The server is busy or failing ({status}: {message}). Retrying later.")]
    Server {
        status: u16,
        message: String,
        retry_after_ms: Option<u64>,
    },
    /// The server said no, and why (its reason, for the agent's language, when it gave one).
    #[error("{0}")]
    Refused(String, Option<outpost_protocol::Reason>),
    #[error(transparent)]
    Store(#[from] crate::Error),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
}

impl SyncError {
    /// A failure to reach the server (HTTP or the stream): the certificate refused, with its
    /// sentence, or the network.
    pub(crate) fn transport(e: &(dyn std::error::Error + 'static)) -> SyncError {
        match crate::tls::certificate_problem(e) {
            Some((sentence, reason)) => SyncError::Tls(sentence, reason),
            None => SyncError::Network(e.to_string()),
        }
    }

    /// Why, for the agent's language.
    pub fn reason(&self) -> Option<outpost_protocol::Reason> {
        use outpost_protocol::Reason;
        match self {
            SyncError::Network(_) => Some(Reason::new("network")),
            SyncError::Tls(_, reason) => Some(reason.clone()),
            SyncError::SignedOut => Some(Reason::new("session_ended")),
            SyncError::Server { status, .. } => {
                Some(Reason::new("server_failing").with("status", status.to_string()))
            }
            SyncError::Refused(_, reason) => reason.clone(),
            SyncError::Store(e) => Some(e.reason()),
            SyncError::Keyring(_) => Some(Reason::new("keyring")),
        }
    }

    /// Whether retrying later may succeed without the agent doing anything.
    pub fn recoverable(&self) -> bool {
        matches!(self, SyncError::Network(_) | SyncError::Server { .. })
    }
}

fn network(e: reqwest::Error) -> SyncError {
    SyncError::transport(&e)
}

/// A signed-in connection to a server.
#[derive(Clone)]
pub struct Session {
    pub server: String,
    pub email: String,
    token: String,
}

impl Session {
    pub fn new(server: &str, email: &str, token: String) -> Session {
        Session {
            server: server.trim_end_matches('/').to_owned(),
            email: email.trim().to_lowercase(),
            token,
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token, not even in a log line.
        f.debug_struct("Session")
            .field("server", &self.server)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct LoginAnswer {
    token: String,
    agent: Agent,
}

#[derive(Serialize)]
struct OpsRequest<'a> {
    ops: &'a [Op],
}

#[derive(Deserialize)]
struct OpsAnswer {
    results: Vec<OpResult>,
}

/// What a pull did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pulled {
    pub pages: usize,
    pub changes: usize,
    pub cursor: u64,
}

/// Background tasks that stop when their owner is dropped (a pull that ends early).
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Pulls and pushes for one client.
pub struct Syncer {
    client: Arc<Client>,
    http: reqwest::Client,
    session: Session,
    /// Where the token is kept, when the session came through the keyring.
    keyring: Option<Keyring>,
    timeout: std::time::Duration,
}

async fn error_of(response: reqwest::Response) -> SyncError {
    let status = response.status().as_u16();
    let retry_after_ms = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|s| s * 1000);
    let (message, reason) = response
        .json::<ErrorBody>()
        .await
        .map(|b| (b.message, b.reason))
        .unwrap_or_else(|_| ("no explanation".into(), None));
    match status {
        401 => SyncError::SignedOut,
        429 | 500..=599 => SyncError::Server {
            status,
            message,
            retry_after_ms,
        },
        _ => SyncError::Refused(message, reason),
    }
}

async fn blocking<T: Send + 'static, E: Into<SyncError> + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SyncError::Network(format!("a background task failed: {e}")))?
        .map_err(Into::into)
}

/// Posts credentials (a sign-in, an invitation's password) to `server`: the HTTP client used
/// and the session the server opened. A 401 is `refused` (its sentence and reason key); https
/// only, but to this computer.
async fn credentials(
    server: &str,
    path: &str,
    body: serde_json::Value,
    refused: (&str, &str),
) -> Result<(reqwest::Client, LoginAnswer), SyncError> {
    crate::tls::check_server(server)
        .map_err(|(sentence, reason)| SyncError::Tls(sentence, reason))?;
    let http = http_client(REQUEST_TIMEOUT);
    let response = http
        .post(format!("{server}{path}"))
        .json(&body)
        .send()
        .await
        .map_err(network)?;
    if !response.status().is_success() {
        return Err(match error_of(response).await {
            SyncError::SignedOut => SyncError::Refused(
                refused.0.into(),
                Some(outpost_protocol::Reason::new(refused.1)),
            ),
            other => other,
        });
    }
    let answer: LoginAnswer = response.json().await.map_err(network)?;
    Ok((http, answer))
}

impl Syncer {
    /// Signs in with an email and a password; the mirror is signed in as the agent.
    pub async fn login(
        client: Arc<Client>,
        server: &str,
        email: &str,
        password: &str,
    ) -> Result<Syncer, SyncError> {
        let server = server.trim_end_matches('/');
        let (http, answer) = credentials(
            server,
            "/v1/auth/login",
            serde_json::json!({ "email": email, "password": password }),
            ("The email or the password is wrong.", "wrong_password"),
        )
        .await?;
        let session = Session::new(server, email, answer.token);
        let (c, agent) = (client.clone(), answer.agent.clone());
        let account = Account {
            server: session.server.clone(),
            email: session.email.clone(),
        };
        let tied = blocking(move || {
            c.set_account(&account)?;
            c.set_me(&agent)
        })
        .await;
        let syncer = Syncer {
            client,
            http,
            session,
            keyring: None,
            timeout: REQUEST_TIMEOUT,
        };
        if let Err(e) = tied {
            syncer.end_session().await;
            return Err(e);
        }
        Ok(syncer)
    }

    /// Signs in and keeps the session's token in the OS keyring, so that the next start
    /// resumes without asking (see [`Syncer::resume_saved`]). Without a keyring to keep it,
    /// the sign-in is undone at the server and the error says why.
    pub async fn sign_in(
        client: Arc<Client>,
        keyring: Keyring,
        server: &str,
        email: &str,
        password: &str,
    ) -> Result<Syncer, SyncError> {
        let mut syncer = Syncer::login(client, server, email, password).await?;
        let (k, s) = (keyring.clone(), syncer.session.clone());
        if let Err(e) = blocking(move || k.save(&s.server, &s.email, &s.token)).await {
            syncer.end_session().await;
            return Err(e);
        }
        syncer.keyring = Some(keyring);
        Ok(syncer)
    }

    /// Uses an invitation: the password is chosen at `server`; returns the invited agent's email
    /// (the session the server opens with it is ended: the sign-in that follows makes its own,
    /// kept in the keyring like any other).
    pub async fn accept_invite(
        server: &str,
        token: &str,
        password: &str,
    ) -> Result<String, SyncError> {
        let (http, answer) = credentials(
            server,
            "/v1/auth/invite",
            serde_json::json!({ "token": token, "password": password }),
            (
                "This invitation was used, has expired or does not exist: ask an admin for a new one.",
                "invite_invalid",
            ),
        )
        .await?;
        let ended = http
            .post(format!("{server}/v1/auth/logout"))
            .bearer_auth(&answer.token)
            .send()
            .await;
        if let Err(e) = ended {
            tracing::info!(%server, "the invitation's session could not be ended (it expires): {e}");
        }
        Ok(answer.agent.email)
    }

    /// Resumes the session kept in the keyring for the account this mirror belongs to; none
    /// when the mirror was never signed in or the token is gone (then the agent signs in).
    pub async fn resume_saved(
        client: Arc<Client>,
        keyring: Keyring,
    ) -> Result<Option<Syncer>, SyncError> {
        let c = client.clone();
        let Some(account) = blocking(move || c.account()).await? else {
            return Ok(None);
        };
        let k = keyring.clone();
        let (server, email) = (account.server.clone(), account.email.clone());
        let Some(token) = blocking(move || k.load(&server, &email)).await? else {
            return Ok(None);
        };
        let mut syncer =
            Syncer::resume(client, Session::new(&account.server, &account.email, token));
        syncer.keyring = Some(keyring);
        Ok(Some(syncer))
    }

    /// Signs out: the server ends the session (when it can be reached) and the keyring forgets
    /// the token. The mirror and anything still queued stay for the next sign-in.
    pub async fn sign_out(self) -> Result<(), SyncError> {
        self.end_session().await;
        self.forget_token().await
    }

    /// Ends every session of the agent at the server, this one included, and forgets the token.
    pub async fn sign_out_everywhere(self) -> Result<(), SyncError> {
        let answer = self
            .http
            .post(format!("{}/v1/auth/logout-everywhere", self.session.server))
            .bearer_auth(&self.session.token)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(network)?;
        if !answer.status().is_success() {
            return Err(error_of(answer).await);
        }
        self.forget_token().await
    }

    /// A new password for the agent, the current one asked again. The server ends the agent's
    /// other sessions; this one goes on.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<(), SyncError> {
        let answer = self
            .http
            .post(format!("{}/v1/auth/password", self.session.server))
            .bearer_auth(&self.session.token)
            .timeout(self.timeout)
            .json(&serde_json::json!({ "current_password": current, "new_password": new }))
            .send()
            .await
            .map_err(network)?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(error_of(answer).await)
        }
    }

    /// One call of the administration API, as the signed-in agent (the server says whether they
    /// may).
    pub async fn admin(
        &self,
        call: crate::api::AdminCall,
    ) -> Result<crate::api::AdminAnswer, SyncError> {
        use crate::api::{AdminAnswer, AdminCall};
        use reqwest::Method;
        // A request or an answer that is not what the API says is the server's failure to show.
        let unreadable = |e: String| SyncError::Server {
            status: 502,
            message: format!("unreadable: {e}"),
            retry_after_ms: None,
        };
        let json =
            |v: serde_json::Result<serde_json::Value>| v.map_err(|e| unreadable(e.to_string()));
        let (method, path, body) = match &call {
            AdminCall::ListChannels => (Method::GET, "/v1/admin/channels".to_owned(), None),
            AdminCall::AddChannel { channel } => (
                Method::POST,
                "/v1/admin/channels".into(),
                Some(json(serde_json::to_value(channel))?),
            ),
            AdminCall::ChangeChannel { id, change } => (
                Method::PATCH,
                format!("/v1/admin/channels/{id}"),
                Some(json(serde_json::to_value(change))?),
            ),
            AdminCall::NewSecret { id } => (
                Method::POST,
                format!("/v1/admin/channels/{id}/secret"),
                None,
            ),
            AdminCall::RefreshTemplates { id } => (
                Method::POST,
                format!("/v1/admin/channels/{id}/templates"),
                None,
            ),
            AdminCall::ListAgents => (Method::GET, "/v1/admin/agents".into(), None),
            AdminCall::AddAgent { agent } => (
                Method::POST,
                "/v1/admin/agents".into(),
                Some(json(serde_json::to_value(agent))?),
            ),
            AdminCall::ChangeAgent { id, change } => (
                Method::PATCH,
                format!("/v1/admin/agents/{id}"),
                Some(json(serde_json::to_value(change))?),
            ),
            AdminCall::AddTeam { team } => (
                Method::POST,
                "/v1/admin/teams".into(),
                Some(json(serde_json::to_value(team))?),
            ),
            AdminCall::ChangeTeam { id, change } => (
                Method::PATCH,
                format!("/v1/admin/teams/{id}"),
                Some(json(serde_json::to_value(change))?),
            ),
        };
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.session.server))
            .bearer_auth(&self.session.token)
            .timeout(self.timeout);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.map_err(network)?;
        if !answer.status().is_success() {
            return Err(error_of(answer).await);
        }
        let decode = |e: reqwest::Error| unreadable(e.to_string());
        Ok(match call {
            AdminCall::ListChannels => AdminAnswer::Channels {
                channels: answer.json().await.map_err(decode)?,
            },
            AdminCall::AddChannel { .. } => AdminAnswer::NewChannel {
                channel: answer.json().await.map_err(decode)?,
            },
            AdminCall::ChangeChannel { .. } | AdminCall::RefreshTemplates { .. } => {
                AdminAnswer::Channel {
                    channel: answer.json().await.map_err(decode)?,
                }
            }
            AdminCall::NewSecret { .. } => {
                let s: outpost_protocol::admin::SecretAnswer =
                    answer.json().await.map_err(decode)?;
                AdminAnswer::Secret { secret: s.secret }
            }
            AdminCall::ListAgents => AdminAnswer::Agents {
                agents: answer.json().await.map_err(decode)?,
            },
            AdminCall::AddAgent { .. } => AdminAnswer::NewAgent {
                agent: answer.json().await.map_err(decode)?,
            },
            AdminCall::ChangeAgent { .. } => AdminAnswer::Agent {
                agent: answer.json().await.map_err(decode)?,
            },
            AdminCall::AddTeam { .. } | AdminCall::ChangeTeam { .. } => AdminAnswer::Team {
                team: answer.json().await.map_err(decode)?,
            },
        })
    }

    /// The server ended the session: the token is useless, so the keyring forgets it.
    pub(crate) async fn forget_token(&self) -> Result<(), SyncError> {
        if let Some(k) = self.keyring.clone() {
            let s = self.session.clone();
            blocking(move || k.forget(&s.server, &s.email)).await?;
        }
        Ok(())
    }

    /// Best effort: a session the server still holds is ended there.
    async fn end_session(&self) {
        let ended = self
            .http
            .post(format!("{}/v1/auth/logout", self.session.server))
            .bearer_auth(&self.session.token)
            .send()
            .await;
        if let Err(e) = ended {
            tracing::info!(server = %self.session.server, "the server could not end the session (it expires there): {e}");
        }
    }

    /// Resumes with a session kept from an earlier sign-in.
    pub fn resume(client: Arc<Client>, session: Session) -> Syncer {
        Syncer {
            client,
            http: http_client(REQUEST_TIMEOUT),
            session,
            keyring: None,
            timeout: REQUEST_TIMEOUT,
        }
    }

    /// The same syncer with another request timeout (a slow link; tests of a faulty one).
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Syncer {
        self.http = http_client(timeout);
        self.timeout = timeout;
        self
    }

    /// The same syncer over another HTTP client (its own connection policy and timeout).
    pub fn with_http(mut self, http: reqwest::Client, timeout: std::time::Duration) -> Syncer {
        self.http = http;
        self.timeout = timeout;
        self
    }

    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Another syncer for the same client and session (one for the engine, one to keep).
    pub fn resume_clone(&self) -> Syncer {
        Syncer {
            keyring: self.keyring.clone(),
            ..Syncer::resume(self.client.clone(), self.session.clone())
        }
        .with_timeout(self.timeout)
    }

    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    /// Stores the recent snapshot a first sync starts with; returns the feed's head.
    async fn pull_recent(&self) -> Result<u64, SyncError> {
        let response = self
            .http
            .get(format!(
                "{}/v1/recent?conversations={RECENT_CONVERSATIONS}&messages={RECENT_MESSAGES}",
                self.session.server
            ))
            .bearer_auth(&self.session.token)
            .send()
            .await
            .map_err(network)?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            // A server without it: the first sync is the feed alone.
            return Ok(0);
        }
        if !response.status().is_success() {
            return Err(error_of(response).await);
        }
        let bytes = response.bytes().await.map_err(network)?;
        let client = self.client.clone();
        blocking(move || {
            let snapshot: RecentSnapshot = serde_json::from_slice(&bytes)
                .map_err(|e| crate::Error::BadChanges(e.to_string()))?;
            client.ingest_snapshot(&snapshot)?;
            Ok::<_, crate::Error>(snapshot.head)
        })
        .await
    }

    /// Pulls the change feed from the stored cursor until the server has nothing more. The next
    /// page is fetched and decoded while the current one is stored; pages are still stored in
    /// order, one transaction each, and a page that is refused stops the pull there.
    pub async fn pull(&self) -> Result<Pulled, SyncError> {
        let client = self.client.clone();
        let (cursor, index_pending, rebuilding) = blocking(move || {
            let store = client.store();
            Ok::<_, crate::Error>((
                store.cursor()?,
                store.index_pending()?,
                store.index_rebuilding()?,
            ))
        })
        .await?;
        // A first sync (or one that was interrupted) builds the message index once, at the end;
        // so does a mirror whose index a new version builds again (`rebuilding`), which is no
        // first sync: no recent conversations first, no progress, no summary of the unread.
        let first_sync = cursor == 0 || (index_pending && !rebuilding);
        let rebuilding = rebuilding && !first_sync;
        let mode = if first_sync || rebuilding {
            IndexMode::Deferred
        } else {
            IndexMode::Immediate
        };
        let mut pulled = Pulled {
            cursor,
            ..Default::default()
        };
        // The recent conversations first, once, so the agent can work during the history.
        let mut head = 0;
        if first_sync {
            let client = self.client.clone();
            let ready = blocking(move || client.store().meta("recent_ready")).await?;
            if ready.is_none() {
                head = self.pull_recent().await?;
            }
            self.client.emit(Event::SyncProgress {
                stored: 0,
                total: head.saturating_sub(cursor),
                recent_ready: true,
            });
        }
        // A server that does not say where its pages end in headers ends the pipeline after a
        // page; it starts again from the new cursor until the feed has no more.
        let mut more = true;
        while more {
            more = false;
            let (mut pages, _tasks) = self.stream_pages(pulled.cursor);
            while let Some(page) = pages.recv().await {
                let page = page?;
                let (changes, next, has_more) = (page.changes.len(), page.cursor, page.has_more);
                if has_more && next <= pulled.cursor {
                    return Err(SyncError::Store(crate::Error::BadChanges(format!(
                        "the feed does not advance (a page ending at {next} says more follows)"
                    ))));
                }
                head = head.max(page.head).max(next);
                let client = self.client.clone();
                blocking(move || client.ingest(&page, mode)).await?;
                pulled.pages += 1;
                pulled.changes += changes;
                pulled.cursor = next;
                more = has_more;
                if first_sync {
                    self.client.emit(Event::SyncProgress {
                        stored: next - cursor,
                        total: head - cursor,
                        recent_ready: true,
                    });
                }
            }
        }
        if first_sync || rebuilding {
            let client = self.client.clone();
            blocking(move || {
                client.store().finish_bulk_load()?;
                // History is not news: one summary of what is unread, not a notification each.
                if first_sync {
                    client.notify_unread_summary()?;
                }
                Ok::<_, crate::Error>(())
            })
            .await?;
        }
        Ok(pulled)
    }

    /// The feed's pages from `from` on, fetched and decoded ahead of the caller (see `pull`).
    fn stream_pages(
        &self,
        from: u64,
    ) -> (
        tokio::sync::mpsc::Receiver<Result<ChangesPage, SyncError>>,
        AbortOnDrop,
    ) {
        // Three stages at once: fetching page n+2, decoding page n+1, storing page n. The
        // server says where a page ends in its headers, so the next one is asked for before
        // this one is decoded; the decoder checks that the body agrees.
        let (pages_tx, pages) = tokio::sync::mpsc::channel::<Result<ChangesPage, SyncError>>(2);
        let (raw_tx, mut raw) =
            tokio::sync::mpsc::channel::<Result<(bytes::Bytes, Option<u64>), SyncError>>(2);
        let (http, server, token) = (
            self.http.clone(),
            self.session.server.clone(),
            self.session.token.clone(),
        );
        let fetcher = tokio::spawn(async move {
            let mut after = from;
            loop {
                let fetched = async {
                    let response = http
                        .get(format!(
                            "{server}/v1/changes?after={after}&limit={PULL_PAGE}"
                        ))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .map_err(network)?;
                    if !response.status().is_success() {
                        return Err(error_of(response).await);
                    }
                    let header = |name: &str| {
                        response
                            .headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    };
                    let ends = header(CURSOR_HEADER).and_then(|c| c.parse::<u64>().ok());
                    let more = header(HAS_MORE_HEADER).map(|m| m == "true");
                    let bytes = response.bytes().await.map_err(network)?;
                    Ok((bytes, ends.zip(more)))
                }
                .await;
                let (ends, failed) = match &fetched {
                    Ok((_, ends)) => (*ends, false),
                    Err(_) => (None, true),
                };
                let known = ends.map(|(cursor, _)| cursor);
                if raw_tx.send(fetched.map(|(b, _)| (b, known))).await.is_err() || failed {
                    return;
                }
                match ends {
                    Some((next, true)) if next > after => after = next,
                    Some(_) => return,
                    // A server that does not say: wait for the decoder to know.
                    None => return,
                }
            }
        });
        let decoder = tokio::spawn(async move {
            while let Some(fetched) = raw.recv().await {
                let page = match fetched {
                    Err(e) => Err(e),
                    Ok((bytes, said)) => tokio::task::spawn_blocking(move || {
                        let page = serde_json::from_slice::<ChangesPage>(&bytes)
                            .map_err(|e| crate::Error::BadChanges(e.to_string()))?;
                        match said {
                            Some(c) if c != page.cursor => Err(crate::Error::BadChanges(format!(
                                "the page ends at {} but its headers said {c}",
                                page.cursor
                            ))),
                            _ => Ok(page),
                        }
                    })
                    .await
                    .map_err(|e| SyncError::Network(e.to_string()))
                    .and_then(|r| r.map_err(SyncError::Store)),
                };
                if pages_tx.send(page).await.is_err() {
                    return;
                }
            }
        });
        (pages, AbortOnDrop(vec![fetcher, decoder]))
    }

    /// Sends the queued ops, oldest first, and records the server's answers. Returns how many
    /// were answered.
    pub async fn push(&self) -> Result<usize, SyncError> {
        let mut answered = 0;
        let mut sent = std::collections::HashSet::new();
        loop {
            let client = self.client.clone();
            let ops = blocking(move || client.store().ops_to_send(PUSH_BATCH)).await?;
            // Each op goes at most once per push: what is still unanswered waits for the next.
            let ops: Vec<Op> = ops
                .into_iter()
                .filter(|o| !sent.contains(&o.op_id))
                .collect();
            if ops.is_empty() {
                return Ok(answered);
            }
            sent.extend(ops.iter().map(|o| o.op_id));
            self.upload_files_of(&ops).await?;
            let ids: Vec<_> = ops.iter().map(|o| o.op_id).collect();
            let client = self.client.clone();
            // What is sent is what the claim returns: an op withdrawn meanwhile (undo) is not
            // sent, one edited meanwhile is sent as edited.
            let ops = blocking(move || client.store().claim_for_sending(&ids)).await?;
            if ops.is_empty() {
                continue;
            }
            let response = self
                .http
                .post(format!("{}/v1/ops", self.session.server))
                .bearer_auth(&self.session.token)
                .json(&OpsRequest { ops: &ops })
                .send()
                .await
                .map_err(network)?;
            if !response.status().is_success() {
                return Err(error_of(response).await);
            }
            let answer: OpsAnswer = response.json().await.map_err(network)?;
            answered += answer.results.len();
            let n = answer.results.len();
            let client = self.client.clone();
            blocking(move || client.record_results(&answer.results)).await?;
            if n < ops.len() {
                return Ok(answered);
            }
        }
    }

    /// Uploads the files `ops` carry that the server does not have yet, before the ops that name
    /// them. A file the server refuses (too large, its id taken) is left: the message naming it
    /// is then refused with the reason, like any refused action.
    async fn upload_files_of(&self, ops: &[Op]) -> Result<(), SyncError> {
        // Most pushes carry no file: no copy, no read of the mirror for them.
        if ops.iter().all(|op| op.action.attachments().is_empty()) {
            return Ok(());
        }
        let client = self.client.clone();
        let ops = ops.to_vec();
        let waiting = blocking(move || client.store().uploads_waiting(&ops)).await?;
        for id in waiting {
            let client = self.client.clone();
            let Some((mime, bytes)) = blocking(move || client.store().local_file(id)).await? else {
                continue;
            };
            // A big file on a slow link: at least 256 KiB/s before giving up on it.
            let time =
                self.timeout + std::time::Duration::from_secs(bytes.len() as u64 / (256 * 1024));
            let response = self
                .http
                .put(self.attachment_url(id))
                .bearer_auth(&self.session.token)
                .header(reqwest::header::CONTENT_TYPE, mime)
                .timeout(time)
                .body(bytes)
                .send()
                .await
                .map_err(network)?;
            if response.status().is_success() {
                let client = self.client.clone();
                blocking(move || client.store().mark_uploaded(id)).await?;
                continue;
            }
            match error_of(response).await {
                SyncError::Refused(..) => {}
                e => return Err(e),
            }
        }
        Ok(())
    }

    /// Where the server keeps upload `id`.
    fn attachment_url(&self, id: uuid::Uuid) -> String {
        format!(
            "{}{}",
            self.session.server,
            outpost_protocol::Attachment::upload_path(id)
        )
    }

    /// A file of a message, from the server (the agent's own uploads are read from the mirror).
    pub async fn download(&self, url: &str) -> Result<(String, Vec<u8>), SyncError> {
        let Some(id) = outpost_protocol::Attachment::upload_id_in(url) else {
            return Err(SyncError::Refused(
                "This file is kept by the channel and cannot be opened here.".into(),
                Some(outpost_protocol::Reason::new("file_elsewhere")),
            ));
        };
        let response = self
            .http
            .get(self.attachment_url(id))
            .bearer_auth(&self.session.token)
            .timeout(self.timeout + std::time::Duration::from_secs(400))
            .send()
            .await
            .map_err(network)?;
        if !response.status().is_success() {
            return Err(error_of(response).await);
        }
        let mime = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = response.bytes().await.map_err(network)?;
        Ok((mime, bytes.to_vec()))
    }

    /// A file of `message`: the copy on this desktop, or else the server's, which is then kept
    /// here so it opens offline (a copy that cannot be kept is still shown).
    pub async fn open_file(
        &self,
        message: outpost_protocol::MessageId,
        url: &str,
    ) -> Result<(String, Vec<u8>), SyncError> {
        let (client, wanted) = (self.client.clone(), url.to_owned());
        if let Some(found) = blocking(move || client.local_bytes(&wanted)).await? {
            return Ok(found);
        }
        let (mime, bytes) = self.download(url).await?;
        let (client, url) = (self.client.clone(), url.to_owned());
        blocking(move || {
            // Shown all the same; it is fetched again next time.
            if let Err(e) = client.keep_file(message, &url, &mime, &bytes) {
                tracing::warn!(%message, "a file fetched could not be kept on this desktop: {e}");
            }
            Ok::<_, SyncError>((mime, bytes))
        })
        .await
    }

    /// Tidies the agent's sent files (`Store::tidy_uploads`), then fetches the files of
    /// customers' messages that pulls queued (see `Client::next_prefetch`),
    /// one at a time, keeping each here; stops at the first network failure (what remains
    /// waits for the next pull).
    pub async fn prefetch(&self) {
        // Housekeeping first: what the agent sent and the server settled leaves the mirror.
        let client = self.client.clone();
        if let Err(e) = blocking(move || client.store().tidy_uploads(client.now())).await {
            tracing::warn!("tidying the files sent failed (tried again after the next pull): {e}");
        }
        while let Some((message, url)) = self.client.next_prefetch() {
            if let Err(e) = self.open_file(message, &url).await
                && e.recoverable()
            {
                return;
            }
        }
    }

    /// Pushes what waits, then pulls what changed (which also settles what was pushed).
    pub async fn sync(&self) -> Result<Pulled, SyncError> {
        self.push().await?;
        self.pull().await
    }
}
