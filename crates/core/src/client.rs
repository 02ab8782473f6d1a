//! One mirror at work: its reads, the agent's actions (applied at once, journaled for the
//! server), drafts and files, and the [`Event`]s they cause, each naming what changed (ids, never
//! data). Requests from the interface reach it through [`crate::app::App::handle`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use outpost_protocol::{
    Action, Agent, ChangesPage, MessageId, Millis, Op, OpId, OpOutcome, OpResult, RecentSnapshot,
};

use crate::api::{Account, Event, InterfaceState};
use crate::error::Result;
use crate::store::{IndexMode, Store};
use crate::triage::Triage;

mod notify;

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

    fn emit_changed(&self, changed: crate::store::Changed) {
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
            if let OpOutcome::Refused { code, reason, why } = &r.outcome {
                let action = journal
                    .iter()
                    .find(|e| e.op.op_id == r.op_id)
                    .map(|e| &e.op.action);
                let (kind, conversation_id) = (
                    action.map_or("unknown", Action::kind).to_owned(),
                    action.and_then(|a| a.conversation_id()),
                );
                tracing::info!(op = %r.op_id, action = %kind, ?code, "the server refused an action");
                self.emit(Event::OpRefused {
                    op_id: r.op_id,
                    action: kind.clone(),
                    conversation_id,
                    code: *code,
                    reason: reason.clone(),
                    why: why.clone(),
                });
                refusals.push(crate::triage::Happening::Refused {
                    op_id: r.op_id,
                    action: kind,
                    conversation_id,
                    reason: reason.clone(),
                    why: why.clone(),
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

    /// Takes back the action `op_id`: withdrawn when it has not been sent, else the `inverse`
    /// actions are taken in order. Answers whether it was withdrawn, and the inverse's ops.
    pub fn undo(&self, op_id: OpId, inverse: Vec<Action>) -> Result<(bool, Vec<OpId>)> {
        let (withdrawn, changed) = self.store.withdraw(op_id)?;
        self.emit_changed(changed);
        if withdrawn {
            return Ok((true, Vec::new()));
        }
        if inverse.is_empty() {
            return Err(crate::Error::Refused(outpost_protocol::rules::refuse(
                outpost_protocol::ErrorCode::WrongState,
                "undo_too_late",
                "This action has already reached the server and cannot be taken back.",
            )));
        }
        let mut ops = Vec::with_capacity(inverse.len());
        for action in inverse {
            ops.extend(self.act(action)?);
        }
        Ok((false, ops))
    }

    /// Keeps a file the agent attaches, named for a message's `attachments`.
    pub fn stage_attachment(
        &self,
        name: &str,
        mime: &str,
        bytes: &[u8],
    ) -> Result<outpost_protocol::Attachment> {
        self.store.stage_upload(name, mime, bytes, self.now())
    }

    /// The agent's notification settings (their defaults until they choose).
    pub fn notify_settings(&self) -> Result<outpost_protocol::NotifySettings> {
        let me = self.store.me().ok_or(crate::Error::NoAgent)?;
        self.store.read(|c| crate::store::notify_settings(c, me.id))
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
}

#[cfg(test)]
mod client_tests;
