//! The sync engine: one task per signed-in client that keeps the mirror current and the journal
//! flowing, and says how it is going.
//!
//! # States
//! - `Syncing`: connected, catching up (after connecting, or on "changed up to seq N").
//! - `Online`: connected and caught up; a new action is pushed at once.
//! - `Offline`: the server cannot be reached or failed; retrying with exponential backoff
//!   (250 ms doubling to 30 s, ±20 % jitter). Nothing is lost meanwhile: actions wait in the
//!   journal, and the next connection pulls from the stored cursor, so no change is missed.
//! - `SignedOut`: the server ended the session (401). The engine forgets the token in the
//!   keyring, raises [`Event::SignInRequired`] and stops; everything queued stays.
//!
//! Every change of state is also an [`Event::Status`] on the client's event stream.
//!
//! # Presence
//! [`Engine::presence`] sends the agent's typing and "viewing" to the server on the stream;
//! what other agents do arrives as [`Event::Typing`] / [`Event::Viewing`]. Presence is of the
//! moment: it is never queued while offline, and the conversation being viewed is said again
//! after each reconnect.
//!
//! The stream is pinged every 10 s; one silent for 30 s (a half-open connection) is dropped and
//! opened again. Every request has a timeout ([`super::REQUEST_TIMEOUT`]).
//!
//! The stream (`GET /v1/stream`) only says *that* something changed; the changes themselves
//! always come from the feed, from the cursor, so a dropped connection cannot lose one.

use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use futures_util::StreamExt;
use outpost_protocol::{ClientFrame, ConversationId, StreamFrame};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::{SyncError, Syncer};
use crate::api::{Connection, Event, SyncStatus};

/// How often the engine pings the stream; three silent periods and it reconnects.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// Exponential backoff with jitter.
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(250);
    const MAX: Duration = Duration::from_secs(30);

    fn new() -> Backoff {
        Backoff { next: Self::FIRST }
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    fn next(&mut self, at_least: Option<Duration>) -> Duration {
        let base = self.next.max(at_least.unwrap_or_default());
        self.next = (self.next * 2).min(Self::MAX);
        let jitter = 0.8 + fastrand::f64() * 0.4;
        base.mul_f64(jitter)
    }
}

/// A running engine.
pub struct Engine {
    status: watch::Receiver<SyncStatus>,
    presence: mpsc::UnboundedSender<ClientFrame>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    syncer: Arc<Syncer>,
}

impl Engine {
    /// Starts syncing in the background.
    pub fn start(syncer: Syncer) -> Engine {
        let (status_tx, status) = watch::channel(SyncStatus {
            connection: Connection::Syncing,
            waiting: 0,
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let (presence, presence_rx) = mpsc::unbounded_channel();
        let syncer = Arc::new(syncer);
        let task = tokio::spawn(run(syncer.clone(), status_tx, presence_rx, stopped));
        Engine {
            status,
            presence,
            stop: Some(stop),
            task,
            syncer,
        }
    }

    /// Tells the other agents that this one is typing in, or now viewing, a conversation.
    pub fn presence(&self, frame: ClientFrame) {
        if self.presence.send(frame).is_err() {
            tracing::debug!("presence not sent: the engine has stopped");
        }
    }

    /// The syncer, for a download that must not hold the app's lock while it runs.
    pub fn downloader(&self) -> Arc<Syncer> {
        self.syncer.clone()
    }

    /// The current status; `changed()` on the receiver waits for the next.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    pub async fn stop(mut self) {
        // An engine already stopped has dropped the other end: nothing to tell.
        if let Some(stop) = self.stop.take()
            && stop.send(()).is_err()
        {
            tracing::debug!("the engine had already stopped");
        }
        if let Err(e) = (&mut self.task).await {
            tracing::error!("the sync engine ended with a panic: {e}");
        }
    }
}

/// Actions waiting to be sent or answered (read off the runtime).
async fn waiting(syncer: &Arc<Syncer>) -> u32 {
    let client = syncer.client.clone();
    tokio::task::spawn_blocking(move || client.store().waiting().unwrap_or(0))
        .await
        .unwrap_or(0)
}

async fn cursor(syncer: &Arc<Syncer>) -> u64 {
    let client = syncer.client.clone();
    tokio::task::spawn_blocking(move || client.store().cursor().unwrap_or(0))
        .await
        .unwrap_or(0)
}

async fn publish(syncer: &Arc<Syncer>, status: &watch::Sender<SyncStatus>, connection: Connection) {
    let next = SyncStatus {
        connection,
        waiting: waiting(syncer).await,
    };
    let changed = status.send_if_modified(|s| {
        let changed = *s != next;
        *s = next;
        changed
    });
    if changed {
        tracing::info!(server = %syncer.session.server, connection = ?next.connection, waiting = next.waiting, "sync status");
        syncer.client.emit(Event::Status { status: next });
    }
}

fn presence_frame(text: &str) -> Option<Event> {
    match serde_json::from_str::<StreamFrame>(text).ok()? {
        StreamFrame::Typing {
            conversation_id,
            who,
        } => Some(Event::Typing {
            conversation_id,
            who,
        }),
        StreamFrame::Viewing {
            conversation_id,
            who,
        } => Some(Event::Viewing {
            conversation_id,
            who,
        }),
        StreamFrame::CustomerTyping { conversation_id } => {
            Some(Event::CustomerTyping { conversation_id })
        }
        StreamFrame::Changed { .. } => None,
    }
}

/// The task fetching customers' files ahead (`Syncer::prefetch`): one at a time, ended with
/// the engine.
struct Prefetcher(Option<tokio::task::JoinHandle<()>>);

impl Prefetcher {
    fn kick(&mut self, syncer: &Arc<Syncer>) {
        if self.0.as_ref().is_none_or(|t| t.is_finished()) {
            let syncer = syncer.clone();
            self.0 = Some(tokio::spawn(async move { syncer.prefetch().await }));
        }
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

async fn run(
    syncer: Arc<Syncer>,
    status: watch::Sender<SyncStatus>,
    mut presence: mpsc::UnboundedReceiver<ClientFrame>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    // The conversation the agent has open, said again after every reconnect.
    let mut viewing: Option<ConversationId> = None;
    // The agent's actions wake the engine: the client's events, bridged from their thread.
    let (wake_tx, mut wake) = mpsc::unbounded_channel::<()>();
    let events = syncer.client.subscribe();
    std::thread::spawn(move || {
        for event in events {
            if matches!(event, Event::Changed { journal: true, .. }) && wake_tx.send(()).is_err() {
                break;
            }
        }
    });
    let mut backoff = Backoff::new();
    // Files of customers' messages are fetched beside the sync, one task at a time.
    let mut prefetcher = Prefetcher(None);
    loop {
        let url = format!(
            "{}/v1/stream",
            syncer.session.server.replacen("http", "ws", 1)
        );
        let mut request =
            match tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                url,
            ) {
                Ok(r) => r,
                Err(_) => return,
            };
        if let Ok(v) = format!("Bearer {}", syncer.session.token()).parse() {
            request.headers_mut().insert("authorization", v);
        }
        let connected = match tokio::time::timeout(
            syncer.timeout(),
            tokio_tungstenite::connect_async_tls_with_config(
                request,
                None,
                false,
                Some(tokio_tungstenite::Connector::Rustls(
                    crate::tls::client_config(),
                )),
            ),
        )
        .await
        {
            Ok(c) => c,
            Err(_) => Err(tokio_tungstenite::tungstenite::Error::Io(
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the stream did not open in time",
                ),
            )),
        };
        let failure = match connected {
            Ok((mut stream, _)) => {
                publish(&syncer, &status, Connection::Syncing).await;
                // Typing said while offline is stale; only the latest "viewing" still holds.
                while let Ok(frame) = presence.try_recv() {
                    if let ClientFrame::Viewing { conversation_id } = frame {
                        viewing = conversation_id;
                    }
                }
                if let Some(conversation_id) = viewing {
                    let frame = ClientFrame::Viewing {
                        conversation_id: Some(conversation_id),
                    };
                    if let Ok(text) = serde_json::to_string(&frame)
                        && let Err(e) = stream.send(WsMessage::text(text)).await
                    {
                        // The stream is going: the loop below reconnects, and says it again.
                        tracing::debug!("viewing not said on the stream: {e}");
                    }
                }
                let mut outcome = syncer.sync().await.map(|_| ());
                if outcome.is_ok() {
                    backoff.reset();
                    publish(&syncer, &status, Connection::Online).await;
                    prefetcher.kick(&syncer);
                }
                let mut heartbeat = tokio::time::interval(HEARTBEAT);
                heartbeat.tick().await;
                let mut heard = tokio::time::Instant::now();
                while outcome.is_ok() {
                    tokio::select! {
                        _ = &mut stopped => return,
                        _ = heartbeat.tick() => {
                            // A connection that went silent (half-open) is given up and opened
                            // again: the pull from the cursor then brings whatever was missed.
                            if heard.elapsed() > HEARTBEAT * 3 {
                                outcome = Err(SyncError::Network("the stream went silent".into()));
                            } else if let Err(e) = stream.send(WsMessage::Ping(Vec::new().into())).await {
                                outcome = Err(SyncError::Network(e.to_string()));
                            }
                        }
                        frame = stream.next() => match frame {
                            Some(Ok(msg)) => {
                                heard = tokio::time::Instant::now();
                                let text = msg.to_text().unwrap_or_default();
                                if let Some(event) = presence_frame(text) {
                                    syncer.client.emit(event);
                                }
                                let frame = serde_json::from_str::<StreamFrame>(text).ok();
                                if let Some(StreamFrame::Changed { seq }) = frame {
                                    let cursor = cursor(&syncer).await;
                                    if seq > cursor {
                                        publish(&syncer, &status, Connection::Syncing).await;
                                        outcome = syncer.pull().await.map(|_| ());
                                        if outcome.is_ok() {
                                            publish(&syncer, &status, Connection::Online).await;
                                            prefetcher.kick(&syncer);
                                        }
                                    }
                                }
                            }
                            Some(Err(e)) => outcome = Err(SyncError::Network(e.to_string())),
                            None => outcome = Err(SyncError::Network("the stream closed".into())),
                        },
                        Some(frame) = presence.recv() => {
                            if let ClientFrame::Viewing { conversation_id } = &frame {
                                viewing = *conversation_id;
                            }
                            if let Ok(text) = serde_json::to_string(&frame)
                                && let Err(e) = stream.send(WsMessage::text(text)).await {
                                    outcome = Err(SyncError::Network(e.to_string()));
                                }
                        }
                        Some(()) = wake.recv() => {
                            while wake.try_recv().is_ok() {}
                            publish(&syncer, &status, Connection::Online).await;
                            outcome = syncer.sync().await.map(|_| ());
                            if outcome.is_ok() {
                                publish(&syncer, &status, Connection::Online).await;
                                prefetcher.kick(&syncer);
                            }
                        }
                    }
                }
                outcome.err()
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response))
                if response.status() == 401 =>
            {
                Some(SyncError::SignedOut)
            }
            Err(e) => Some(SyncError::transport(&e)),
        };
        let Some(failure) = failure else { continue };
        tracing::warn!(server = %syncer.session.server, "sync failed: {failure}");
        if matches!(failure, SyncError::SignedOut) {
            // The token is dead: forget it, and ask the agent to sign in. The journal stays.
            let forgotten = syncer.forget_token().await;
            publish(&syncer, &status, Connection::SignedOut).await;
            syncer.client.emit(Event::SignInRequired {
                server: syncer.session.server.clone(),
                email: syncer.session.email.clone(),
                reason: match forgotten {
                    Ok(()) => failure.to_string(),
                    Err(e) => format!("{failure} {e}"),
                },
            });
            // Until the app stops the engine (a sign-in makes a new one), or drops it.
            if stopped.await.is_err() {
                tracing::debug!("the engine was dropped without a stop");
            }
            return;
        }
        let retry_after = match &failure {
            SyncError::Server {
                retry_after_ms: Some(ms),
                ..
            } => Some(Duration::from_millis(*ms)),
            _ => None,
        };
        let wait = backoff.next(retry_after);
        publish(
            &syncer,
            &status,
            Connection::Offline {
                retry_in_ms: wait.as_millis() as u64,
            },
        )
        .await;
        // While waiting, what the agent does still shows in the status ("N actions waiting").
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                _ = tokio::time::sleep_until(deadline) => break,
                Some(()) = wake.recv() => {
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    publish(&syncer, &status, Connection::Offline { retry_in_ms: left.as_millis() as u64 }).await;
                }
            }
        }
    }
}
