//! The app: what a shell (the Tauri window, outpost-web) holds. It signs the agent in and out,
//! keeps one mirror per account, runs the sync engine, and answers every [`Request`] — the
//! session's itself, the rest through the signed-in [`Client`].
//!
//! # What is kept, and where
//! - `DATA_DIR/mirrors/<account>.sqlite`: each account's mirror (never shared between accounts).
//! - `DATA_DIR/account.json`: which account was signed in last (server and email; not a secret),
//!   so that the next start resumes it.
//! - The session token: the OS keyring only ([`Keyring`]).
//!
//! # States
//! Signed out (no client: only `Session` and `SignIn` are answered) → signed in (a client and
//! its engine). The engine's `SignedOut` (the server ended the session) leaves the client open,
//! so the agent still reads and acts offline, and asks for a sign-in; signing in again to the
//! same account keeps the mirror and sends what waited.
//!
//! Events: one stream for the shell, whatever account is signed in ([`App::subscribe`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use crate::api::{Connection, FileData, Password, SessionInfo, SyncStatus};
use crate::client::Subscribers;
use crate::sync::engine::Engine;
use crate::sync::keyring::Keyring;
use crate::sync::{SyncError, Syncer};
use crate::{Account, Client, Clock, Event, Request, Response};
use outpost_protocol::{ErrorBody, ErrorCode};

struct Signed {
    account: Account,
    client: Arc<Client>,
    engine: Engine,
}

pub struct App {
    data_dir: PathBuf,
    keyring: Keyring,
    clock: Arc<dyn Clock>,
    signed: tokio::sync::Mutex<Option<Signed>>,
    subscribers: Arc<Subscribers>,
}

/// An error the app says itself, with the key of its sentence for the agent's language.
fn error(code: ErrorCode, key: &str, message: impl Into<String>) -> Response {
    Response::Error {
        error: ErrorBody::because(code, message, outpost_protocol::Reason::new(key)),
    }
}

/// A sync error as the interface gets it: `code` (or the error's own), its reason.
fn sync_error_as(code: Option<ErrorCode>, e: SyncError) -> Response {
    let code = code.unwrap_or(match &e {
        SyncError::Network(_) | SyncError::Server { .. } => ErrorCode::Internal,
        SyncError::Tls(..) => ErrorCode::NotAllowed,
        SyncError::SignedOut | SyncError::Refused(..) => ErrorCode::Unauthenticated,
        SyncError::Store(e) => e.code(),
        SyncError::Keyring(_) => ErrorCode::Internal,
    });
    Response::Error {
        error: ErrorBody {
            code,
            message: e.to_string(),
            reason: e.reason(),
        },
    }
}

fn sync_error(e: SyncError) -> Response {
    sync_error_as(None, e)
}

/// Where the mirror of `account` is kept under `data_dir`.
pub fn mirror_path(data_dir: &Path, account: &Account) -> std::path::PathBuf {
    data_dir.join("mirrors").join(mirror_name(account))
}

/// The mirror's file name for an account: readable, and safe on every file system.
fn mirror_name(account: &Account) -> String {
    let raw = format!("{}-{}", account.email, account.server);
    let safe: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{safe}.sqlite")
}

impl App {
    /// Opens the app over `data_dir`, resuming the last account when the keyring still holds
    /// its session.
    pub async fn start(data_dir: &Path, keyring: Keyring, clock: Arc<dyn Clock>) -> App {
        // The private CA this app was told to trust, for every connection it makes.
        crate::tls::use_setting_in(data_dir);
        let app = App {
            data_dir: data_dir.to_owned(),
            keyring,
            clock,
            signed: tokio::sync::Mutex::new(None),
            subscribers: Arc::new(Subscribers::default()),
        };
        if let Some(account) = app.last_account()
            && let Err(e) = app.resume(&account).await
        {
            // The sign-in screen asks again; the mirror is kept.
            tracing::warn!(server = %account.server, "could not resume the last session: {e}");
        }
        app
    }

    /// Signs in from the environment when nobody is signed in: `OUTPOST_SIGN_IN_SERVER`,
    /// `OUTPOST_SIGN_IN_EMAIL` and `OUTPOST_SIGN_IN_PASSWORD` (what `cargo xtask run` sets to
    /// open the demo signed in). The password is read once and kept nowhere.
    pub async fn sign_in_from_env(&self) -> Option<Response> {
        let server = std::env::var("OUTPOST_SIGN_IN_SERVER").ok()?;
        let email = std::env::var("OUTPOST_SIGN_IN_EMAIL").ok()?;
        let password = std::env::var("OUTPOST_SIGN_IN_PASSWORD").ok()?;
        if self.signed.lock().await.is_some() {
            return None;
        }
        Some(self.sign_in(&server, &email, &Password(password)).await)
    }

    /// A new stream of events (the signed-in client's, and the app's own).
    pub fn subscribe(&self) -> Receiver<Event> {
        self.subscribers.subscribe()
    }

    /// The language the interface speaks ("en" until it says).
    pub async fn interface_language(&self) -> String {
        match &*self.signed.lock().await {
            Some(s) => s.client.interface_language(),
            None => "en".into(),
        }
    }

    /// The agent answered from a notification (an inline reply): sent as from the composer.
    pub async fn reply(
        &self,
        conversation_id: outpost_protocol::ConversationId,
        text: String,
    ) -> Response {
        self.handle(Request::Act {
            action: outpost_protocol::Action::SendMessage {
                message_id: outpost_protocol::MessageId::new(),
                conversation_id,
                text,
                attachments: Vec::new(),
                template: None,
                reply_to: None,
            },
        })
        .await
    }

    /// The agent clicked a notification: the interface shows its conversation.
    pub fn open_conversation(&self, conversation_id: outpost_protocol::ConversationId) {
        self.subscribers
            .emit(Event::OpenConversation { conversation_id });
    }

    /// A notification's quick action, taken as the agent would take it in the window (queued
    /// like any action when offline). Opening is [`App::open_conversation`]'s.
    pub async fn quick_action(
        &self,
        action: crate::triage::QuickActionId,
        conversation_id: outpost_protocol::ConversationId,
    ) -> Response {
        use crate::triage::QuickActionId;
        use outpost_protocol::Action;
        let action = match action {
            QuickActionId::Open => {
                self.open_conversation(conversation_id);
                return Response::Done;
            }
            QuickActionId::AssignToMe => match self.handle(Request::Me).await {
                Response::Me { agent: Some(me) } => Action::Assign {
                    conversation_id,
                    assignee: Some(me.id),
                },
                other => return other,
            },
            QuickActionId::Close => Action::Close {
                conversation_id,
                note: String::new(),
                category: String::new(),
            },
            QuickActionId::Snooze => Action::Snooze {
                conversation_id,
                until: self.clock.now() + 60 * 60 * 1000,
            },
            QuickActionId::Reply => {
                return error(
                    ErrorCode::InvalidInput,
                    "internal",
                    "A reply needs its text (App::reply).",
                );
            }
        };
        self.handle(Request::Act { action }).await
    }

    fn last_account(&self) -> Option<Account> {
        let json = std::fs::read_to_string(self.data_dir.join("account.json")).ok()?;
        serde_json::from_str(&json).ok()
    }

    fn open_client(&self, account: &Account) -> Result<Arc<Client>, crate::Error> {
        let dir = self.data_dir.join("mirrors");
        for private in [&self.data_dir, &dir] {
            crate::owner_only::dir(private)
                .map_err(|e| crate::Error::NotFound(format!("{}: {e}", private.display())))?;
        }
        crate::owner_only::tighten_if_there(&self.data_dir.join("account.json"))?;
        let client = Arc::new(Client::open(
            mirror_path(&self.data_dir, account),
            self.clock.clone(),
        )?);
        // The client's events reach the app's subscribers until the client is closed.
        let events = client.subscribe();
        let subscribers = self.subscribers.clone();
        std::thread::Builder::new()
            .name("outpost-events".into())
            .spawn(move || {
                for event in events {
                    subscribers.emit(event);
                }
            })
            .map_err(|e| crate::Error::NotFound(format!("an event thread: {e}")))?;
        Ok(client)
    }

    async fn resume(&self, account: &Account) -> Result<(), SyncError> {
        let client = self.open_client(account)?;
        let Some(syncer) = Syncer::resume_saved(client.clone(), self.keyring.clone()).await? else {
            return Ok(());
        };
        let engine = Engine::start(syncer);
        tracing::info!(server = %account.server, "resumed the saved session");
        *self.signed.lock().await = Some(Signed {
            account: account.clone(),
            client,
            engine,
        });
        Ok(())
    }

    async fn session(&self) -> SessionInfo {
        let signed = self.signed.lock().await;
        match &*signed {
            Some(s) => SessionInfo {
                account: Some(s.account.clone()),
                agent: s.client.store().me(),
                status: *s.engine.status().borrow(),
            },
            None => SessionInfo {
                account: None,
                agent: None,
                status: SyncStatus {
                    connection: Connection::SignedOut,
                    waiting: 0,
                },
            },
        }
    }

    async fn sign_in(&self, server: &str, email: &str, password: &Password) -> Response {
        let account = Account {
            server: server.trim().trim_end_matches('/').to_owned(),
            email: email.trim().to_lowercase(),
        };
        if let Err((sentence, reason)) = crate::tls::check_server(&account.server) {
            return Response::Error {
                error: ErrorBody::because(ErrorCode::InvalidInput, sentence, reason),
            };
        }
        // Whoever was signed in stops syncing first (their mirror stays on disk).
        if let Some(old) = self.signed.lock().await.take() {
            old.engine.stop().await;
        }
        let client = match self.open_client(&account) {
            Ok(c) => c,
            Err(e) => return Response::Error { error: e.body() },
        };
        let syncer = match Syncer::sign_in(
            client.clone(),
            self.keyring.clone(),
            &account.server,
            &account.email,
            &password.0,
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::info!(server = %account.server, "sign-in failed: {e}");
                return sync_error(e);
            }
        };
        tracing::info!(server = %account.server, "signed in");
        // Which account to resume at the next start; without it the agent signs in again then.
        let kept = serde_json::to_vec(&account)
            .map_err(std::io::Error::other)
            .and_then(|json| {
                crate::owner_only::dir(&self.data_dir)?;
                crate::owner_only::write(&self.data_dir.join("account.json"), &json)
            });
        if let Err(e) = kept {
            tracing::warn!("account.json could not be kept ({e}); the next start asks to sign in");
        }
        let engine = Engine::start(syncer);
        *self.signed.lock().await = Some(Signed {
            account,
            client,
            engine,
        });
        Response::Session {
            session: self.session().await,
        }
    }

    async fn sign_out(&self) -> Response {
        let Some(signed) = self.signed.lock().await.take() else {
            return Response::Done;
        };
        signed.engine.stop().await;
        // The server ends the session (when it can be reached); the keyring forgets the token.
        if let Ok(Some(syncer)) =
            Syncer::resume_saved(signed.client.clone(), self.keyring.clone()).await
            && let Err(e) = syncer.sign_out().await
        {
            // Signed out here all the same: the token is gone from the keyring or the
            // server refused it already; a session it still holds expires there.
            tracing::warn!(server = %signed.account.server, "signing out at the server failed: {e}");
        }
        if let Err(e) = std::fs::remove_file(self.data_dir.join("account.json"))
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("could not forget the last account (account.json): {e}");
        }
        tracing::info!(server = %signed.account.server, "signed out");
        Response::Done
    }

    /// The signed-in session's syncer, from the token in the keyring.
    async fn syncer(&self) -> Result<Syncer, Response> {
        let client = match &*self.signed.lock().await {
            Some(s) => s.client.clone(),
            None => {
                return Err(error(
                    ErrorCode::Unauthenticated,
                    "not_signed_in",
                    "Sign in first.",
                ));
            }
        };
        match Syncer::resume_saved(client, self.keyring.clone()).await {
            Ok(Some(syncer)) => Ok(syncer),
            Ok(None) => Err(error(
                ErrorCode::Unauthenticated,
                "session_ended",
                "Sign in again.",
            )),
            Err(e) => Err(sync_error(e)),
        }
    }

    /// Ends every session of the agent at the server, then signs out here as [`Self::sign_out`]
    /// does. If the server cannot be reached, nothing changes: the agent is told, and may retry.
    async fn sign_out_everywhere(&self) -> Response {
        let syncer = match self.syncer().await {
            Ok(s) => s,
            Err(answer) => return answer,
        };
        if let Err(e) = syncer.sign_out_everywhere().await {
            return sync_error(e);
        }
        self.sign_out().await
    }

    /// Answers a request from the UI.
    pub async fn handle(&self, request: Request) -> Response {
        match request {
            Request::Session => Response::Session {
                session: self.session().await,
            },
            Request::SignIn {
                server,
                email,
                password,
            } => self.sign_in(&server, &email, &password).await,
            Request::SignOut => self.sign_out().await,
            Request::TrustedCa => Response::TrustedCa {
                certificates: crate::tls::extra_ca_count(&self.data_dir) as u32,
            },
            Request::SetTrustedCa { pem } => {
                match crate::tls::set_extra_ca(&self.data_dir, pem.as_deref()) {
                    Ok(n) => {
                        tracing::info!(certificates = n, "the trusted private CA changed");
                        Response::TrustedCa {
                            certificates: n as u32,
                        }
                    }
                    Err(e) => error(
                        ErrorCode::InvalidInput,
                        "ca_unreadable",
                        format!("That file cannot be trusted: {e}."),
                    ),
                }
            }
            Request::AcceptInvite { link, password } => {
                let Some((server, token)) = link.trim().rsplit_once("/invite/") else {
                    return error(
                        ErrorCode::InvalidInput,
                        "invite_invalid",
                        "That is not an invitation link: paste the whole address an admin sent.",
                    );
                };
                match Syncer::accept_invite(server, token.trim_matches('/'), &password.0).await {
                    Ok(email) => self.sign_in(server, &email, &password).await,
                    Err(e) => sync_error(e),
                }
            }
            Request::SignOutEverywhere => self.sign_out_everywhere().await,
            Request::Admin { call } => match self.syncer().await {
                Ok(syncer) => match syncer.admin(call).await {
                    Ok(answer) => Response::Admin { answer },
                    // A refusal (not allowed, invalid) is the admin's to read, not a sign-out.
                    Err(e @ SyncError::Refused(..)) => {
                        sync_error_as(Some(ErrorCode::NotAllowed), e)
                    }
                    Err(e) => sync_error(e),
                },
                Err(answer) => answer,
            },
            Request::ChangePassword { current, new } => match self.syncer().await {
                Ok(syncer) => match syncer.change_password(&current.0, &new.0).await {
                    Ok(()) => Response::Done,
                    // A wrong current password is a refusal to show, not a signed-out session.
                    Err(e @ SyncError::Refused(..)) => {
                        sync_error_as(Some(ErrorCode::NotAllowed), e)
                    }
                    Err(e) => sync_error(e),
                },
                Err(answer) => answer,
            },
            Request::Presence { frame } => match &*self.signed.lock().await {
                Some(s) => {
                    s.engine.presence(frame);
                    Response::Done
                }
                None => error(
                    ErrorCode::Unauthenticated,
                    "not_signed_in",
                    "Not signed in.",
                ),
            },
            Request::GetAttachment { message_id, url } => self.attachment(message_id, url).await,
            // The rest is answered by the mirror, on a thread that may block on the disk.
            Request::Me => {
                self.mirror(|c| {
                    Ok(Response::Me {
                        agent: c.store().me(),
                    })
                })
                .await
            }
            Request::Counts => {
                self.mirror(|c| {
                    Ok(Response::Counts {
                        counts: c.store().counts()?,
                    })
                })
                .await
            }
            Request::ListConversations { query } => {
                self.mirror(move |c| {
                    let page = c.store().list_conversations(&query, c.now())?;
                    Ok(Response::Conversations { page })
                })
                .await
            }
            Request::ListFolder {
                folder,
                before,
                limit,
            } => {
                self.mirror(move |c| {
                    let page = c.store().list_folder(folder, before, limit)?;
                    Ok(Response::Folder { page })
                })
                .await
            }
            Request::ListCalls {
                filter,
                before,
                limit,
            } => {
                self.mirror(move |c| {
                    let page = c.store().list_calls(&filter, before, limit)?;
                    Ok(Response::Calls { page })
                })
                .await
            }
            Request::OpenConversation {
                conversation_id,
                before,
                limit,
            } => {
                self.mirror(move |c| {
                    let timeline = c
                        .store()
                        .open_conversation(conversation_id, before, limit)?;
                    Ok(Response::Timeline { timeline })
                })
                .await
            }
            Request::Search { query, limit } => {
                self.mirror(move |c| {
                    let results = c.store().search(&query, limit)?;
                    Ok(Response::SearchResults { results })
                })
                .await
            }
            Request::GetContact { contact_id } => {
                self.mirror(move |c| {
                    let contact = c
                        .store()
                        .read(|db| crate::store::get_contact(db, contact_id))?;
                    Ok(Response::Contact { contact })
                })
                .await
            }
            Request::ListViews => {
                self.mirror(|c| {
                    Ok(Response::Views {
                        views: c.store().views()?,
                    })
                })
                .await
            }
            Request::ListAgents => {
                self.mirror(|c| {
                    Ok(Response::Agents {
                        agents: c.store().agents()?,
                    })
                })
                .await
            }
            Request::ListTeams => {
                self.mirror(|c| {
                    Ok(Response::Teams {
                        teams: c.store().teams()?,
                    })
                })
                .await
            }
            Request::ListChannels => {
                self.mirror(|c| {
                    Ok(Response::Channels {
                        channels: c.store().channels()?,
                    })
                })
                .await
            }
            Request::Act { action } => {
                self.mirror(move |c| {
                    Ok(Response::Acted {
                        op_id: c.act(action)?,
                    })
                })
                .await
            }
            Request::Undo { op_id, inverse } => {
                self.mirror(move |c| {
                    let (withdrawn, reversed_by) = c.undo(op_id, inverse)?;
                    Ok(Response::Undone {
                        withdrawn,
                        reversed_by,
                    })
                })
                .await
            }
            Request::SaveDraft {
                conversation_id,
                text,
            } => {
                self.mirror(move |c| {
                    c.store().save_draft(conversation_id, &text, c.now())?;
                    Ok(Response::Done)
                })
                .await
            }
            Request::GetDraft { conversation_id } => {
                self.mirror(move |c| {
                    let text = c.store().draft(conversation_id)?;
                    Ok(Response::Draft { text })
                })
                .await
            }
            Request::Journal => {
                self.mirror(|c| {
                    Ok(Response::Journal {
                        entries: c.store().journal()?,
                    })
                })
                .await
            }
            Request::StageAttachment { name, mime, data } => {
                self.mirror(move |c| {
                    let attachment = c.stage_attachment(&name, &mime, &data.decode()?)?;
                    Ok(Response::Staged { attachment })
                })
                .await
            }
            Request::SetInterface { state } => {
                self.mirror(move |c| {
                    c.set_interface(state);
                    Ok(Response::Done)
                })
                .await
            }
            Request::GetNotifySettings => {
                self.mirror(|c| {
                    let settings = c.notify_settings()?;
                    Ok(Response::NotifySettings { settings })
                })
                .await
            }
        }
    }

    /// Answers from the signed-in agent's mirror, on a blocking thread.
    async fn mirror<F>(&self, answer: F) -> Response
    where
        F: FnOnce(&Client) -> crate::Result<Response> + Send + 'static,
    {
        let client = match &*self.signed.lock().await {
            Some(s) => s.client.clone(),
            None => {
                return error(
                    ErrorCode::Unauthenticated,
                    "not_signed_in",
                    "Sign in first.",
                );
            }
        };
        tokio::task::spawn_blocking(move || {
            answer(&client).unwrap_or_else(|e| Response::Error { error: e.body() })
        })
        .await
        .unwrap_or_else(|e| error(ErrorCode::Internal, "internal", e.to_string()))
    }

    /// A file of a message: the copy on this desktop, or else the server's (then kept here).
    async fn attachment(&self, message: outpost_protocol::MessageId, url: String) -> Response {
        let syncer = match &*self.signed.lock().await {
            Some(s) => s.engine.downloader(),
            None => {
                return error(
                    ErrorCode::Unauthenticated,
                    "not_signed_in",
                    "Sign in first.",
                );
            }
        };
        match syncer.open_file(message, &url).await {
            Ok((mime, bytes)) => Response::File {
                mime,
                data: FileData::encode(&bytes),
            },
            Err(e @ SyncError::Refused(..)) => sync_error_as(Some(ErrorCode::NotFound), e),
            Err(e) => sync_error(e),
        }
    }

    /// Stops syncing (the app is closing); nothing queued is lost.
    pub async fn stop(&self) {
        if let Some(signed) = self.signed.lock().await.take() {
            signed.engine.stop().await;
        }
    }
}
