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
//! # Errors
//! Network failures, 5xx and 429 are recoverable: nothing is lost, the caller retries later
//! (with backoff). 401 means the session ended: sync stops until the agent signs in again, and
//! everything queued stays queued. The session token is held in memory only; keeping it is the
//! OS keyring's job (never a file, the database or a log).

pub mod engine;

use std::sync::Arc;

use outpost_protocol::{Agent, ChangesPage, ErrorBody, Op, OpResult};
use serde::{Deserialize, Serialize};

use crate::{Client, IndexMode};

/// Ops sent in one request.
pub const PUSH_BATCH: usize = 200;
/// Changes asked for in one page.
pub const PULL_PAGE: u32 = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("The server cannot be reached ({0}). Everything is kept and will be sent when it can.")]
    Network(String),
    #[error("Sign in again: the session has ended. Nothing queued was lost.")]
    SignedOut,
    #[error("The server is busy or failing ({status}: {message}). Retrying later.")]
    Server {
        status: u16,
        message: String,
        retry_after_ms: Option<u64>,
    },
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] crate::Error),
}

impl SyncError {
    /// Whether retrying later may succeed without the agent doing anything.
    pub fn recoverable(&self) -> bool {
        matches!(self, SyncError::Network(_) | SyncError::Server { .. })
    }
}

fn network(e: reqwest::Error) -> SyncError {
    SyncError::Network(e.to_string())
}

/// A signed-in connection to a server.
#[derive(Clone)]
pub struct Session {
    pub server: String,
    token: String,
}

impl Session {
    pub fn new(server: &str, token: String) -> Session {
        Session {
            server: server.trim_end_matches('/').to_owned(),
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

/// Pulls and pushes for one client.
pub struct Syncer {
    client: Arc<Client>,
    http: reqwest::Client,
    session: Session,
}

async fn error_of(response: reqwest::Response) -> SyncError {
    let status = response.status().as_u16();
    let retry_after_ms = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|s| s * 1000);
    let message = response
        .json::<ErrorBody>()
        .await
        .map(|b| b.message)
        .unwrap_or_else(|_| "no explanation".into());
    match status {
        401 => SyncError::SignedOut,
        429 | 500..=599 => SyncError::Server {
            status,
            message,
            retry_after_ms,
        },
        _ => SyncError::Refused(message),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::Result<T> + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SyncError::Network(format!("a background task failed: {e}")))?
        .map_err(SyncError::from)
}

impl Syncer {
    /// Signs in with an email and a password; the mirror is signed in as the agent.
    pub async fn login(
        client: Arc<Client>,
        server: &str,
        email: &str,
        password: &str,
    ) -> Result<Syncer, SyncError> {
        let http = reqwest::Client::new();
        let server = server.trim_end_matches('/');
        let response = http
            .post(format!("{server}/v1/auth/login"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .map_err(network)?;
        if !response.status().is_success() {
            return Err(match error_of(response).await {
                SyncError::SignedOut => {
                    SyncError::Refused("The email or the password is wrong.".into())
                }
                other => other,
            });
        }
        let answer: LoginAnswer = response.json().await.map_err(network)?;
        let c = client.clone();
        let agent = answer.agent.clone();
        blocking(move || c.set_me(&agent)).await?;
        Ok(Syncer {
            client,
            http,
            session: Session::new(server, answer.token),
        })
    }

    /// Resumes with a session kept from an earlier sign-in.
    pub fn resume(client: Arc<Client>, session: Session) -> Syncer {
        Syncer {
            client,
            http: reqwest::Client::new(),
            session,
        }
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Another syncer for the same client and session (one for the engine, one to keep).
    pub fn resume_clone(&self) -> Syncer {
        Syncer::resume(self.client.clone(), self.session.clone())
    }

    /// Pulls the change feed from the stored cursor until the server has nothing more. The next
    /// page is fetched and decoded while the current one is stored; pages are still stored in
    /// order, one transaction each, and a page that is refused stops the pull there.
    pub async fn pull(&self) -> Result<Pulled, SyncError> {
        let client = self.client.clone();
        let (cursor, index_pending) =
            blocking(move || Ok((client.store().cursor()?, client.store().index_pending()?)))
                .await?;
        // A first sync (or one that was interrupted) builds the message index once, at the end.
        let first_sync = cursor == 0 || index_pending;
        let mode = if first_sync {
            IndexMode::Deferred
        } else {
            IndexMode::Immediate
        };
        let mut pulled = Pulled {
            cursor,
            ..Default::default()
        };
        let (pages_tx, mut pages) = tokio::sync::mpsc::channel::<Result<ChangesPage, SyncError>>(2);
        let (http, server, token) = (
            self.http.clone(),
            self.session.server.clone(),
            self.session.token.clone(),
        );
        let fetcher = tokio::spawn(async move {
            let mut after = cursor;
            loop {
                let page = async {
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
                    let bytes = response.bytes().await.map_err(network)?;
                    // Decoding is CPU work: off the runtime, beside the store's writes.
                    tokio::task::spawn_blocking(move || {
                        serde_json::from_slice::<ChangesPage>(&bytes)
                    })
                    .await
                    .map_err(|e| SyncError::Network(e.to_string()))?
                    .map_err(|e| SyncError::Store(crate::Error::BadChanges(e.to_string())))
                }
                .await;
                let next = page.as_ref().ok().map(|p| (p.cursor, p.has_more));
                if pages_tx.send(page).await.is_err() {
                    return;
                }
                match next {
                    Some((cursor, true)) => after = cursor,
                    _ => return,
                }
            }
        });
        while let Some(page) = pages.recv().await {
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    fetcher.abort();
                    return Err(e);
                }
            };
            let (changes, next) = (page.changes.len(), page.cursor);
            let client = self.client.clone();
            if let Err(e) = blocking(move || client.ingest(&page, mode)).await {
                fetcher.abort();
                return Err(e);
            }
            pulled.pages += 1;
            pulled.changes += changes;
            pulled.cursor = next;
        }
        if first_sync {
            let client = self.client.clone();
            blocking(move || client.store().finish_bulk_load()).await?;
        }
        Ok(pulled)
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
            let ids: Vec<_> = ops.iter().map(|o| o.op_id).collect();
            let client = self.client.clone();
            blocking(move || client.store().mark_in_flight(&ids)).await?;
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

    /// Pushes what waits, then pulls what changed (which also settles what was pushed).
    pub async fn sync(&self) -> Result<Pulled, SyncError> {
        self.push().await?;
        self.pull().await
    }
}
