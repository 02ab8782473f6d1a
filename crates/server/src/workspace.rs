//! The workspace's rules at the server: agents' ops, customers' inbound messages, and the timers
//! (scheduled messages, snoozes), all through one storage transaction each.
//!
//! Ops are applied by `outpost_protocol::apply`, the same code the client mirrors them with, over
//! [`AgentView`]: the workspace as one agent may see and change it. An agent can neither read nor
//! touch a conversation they may not see (it is "not found", never data), and every write of a
//! conversation that changes who may see it leaves revocations for those who lost sight and
//! re-announces its history to those who gained it.

use outpost_protocol::apply::{self, Glance, Mode, Workspace};
use outpost_protocol::rules::{self, RuleError};
use outpost_protocol::{
    Actor, ActorKind, Agent, ChannelKind, Contact, ContactId, Conversation, ConversationEvent,
    ConversationId, Direction, Entity, EntityRef, ErrorCode, EventId, EventKind, Message,
    MessageId, MessageStatus, Millis, Op, OpOutcome, OpResult, Sender, SenderKind, StatusStamp,
    ValidationError,
};

use crate::storage::{Storage, StorageError, Tx, Uploader};

/// Why an op did not apply: a refusal for the agent, or a failure of the server.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("{0}")]
    Refused(#[from] RuleError),
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("{0} was not found.")]
    NotFound(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl OpError {
    /// Why, for the agent's language.
    fn why(&self) -> Option<outpost_protocol::Reason> {
        match self {
            OpError::Refused(r) => Some(r.why.clone()),
            OpError::Invalid(v) => Some(v.reason()),
            OpError::NotFound(what) => Some(outpost_protocol::Reason::not_found(what)),
            OpError::Storage(_) => None,
        }
    }

    fn code(&self) -> ErrorCode {
        match self {
            OpError::Refused(r) => r.code,
            OpError::Invalid(_) => ErrorCode::InvalidInput,
            OpError::NotFound(_) => ErrorCode::NotFound,
            OpError::Storage(_) => ErrorCode::Internal,
        }
    }
}

/// Ops older than this are judged as if taken this long ago (a client clock far off, or an op
/// kept offline for weeks, cannot rewrite history).
const MAX_OP_AGE: Millis = 30 * 24 * 60 * 60 * 1000;

/// The workspace as one agent sees it, inside one transaction.
pub struct AgentView<'t, T: Tx> {
    tx: &'t mut T,
    agent: Agent,
}

fn may_see_contact<T: Tx>(tx: &T, agent: &Agent, contact: ContactId) -> Result<bool, StorageError> {
    if rules::is_privileged(agent) || agent.visibility == outpost_protocol::Visibility::Unrestricted
    {
        return Ok(true);
    }
    for id in tx.conversations_of(contact)? {
        if let Some(Entity::Conversation(c)) = tx.get(EntityRef::Conversation(id))?
            && rules::may_see(agent, &c)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

impl<T: Tx> AgentView<'_, T> {
    /// Refuses to touch a stored entity the agent may not see.
    fn check_in_sight(&self, r: EntityRef) -> Result<(), OpError> {
        match self.tx.get(r)? {
            Some(stored) if !self.visible(&stored)? => Err(OpError::NotFound(what(r).into())),
            _ => Ok(()),
        }
    }

    fn visible(&self, e: &Entity) -> Result<bool, StorageError> {
        let conversation = |id| -> Result<bool, StorageError> {
            Ok(match self.tx.get(EntityRef::Conversation(id))? {
                Some(Entity::Conversation(c)) => rules::may_see(&self.agent, &c),
                _ => false,
            })
        };
        Ok(match e {
            Entity::Conversation(c) => rules::may_see(&self.agent, c),
            Entity::Message(m) => conversation(m.conversation_id)?,
            Entity::Event(ev) => conversation(ev.conversation_id)?,
            Entity::Call(call) => conversation(call.conversation_id)?,
            Entity::Contact(k) => may_see_contact(&*self.tx, &self.agent, k.id)?,
            Entity::View(v) => {
                v.owner == self.agent.id
                    || v.sharing.agents.contains(&self.agent.id)
                    || v.sharing.teams.iter().any(|t| self.agent.teams.contains(t))
            }
            Entity::Agent(_) | Entity::Team(_) | Entity::Channel(_) => true,
            Entity::Settings(s) => s.agent_id == self.agent.id,
        })
    }
}

impl<T: Tx> Workspace for AgentView<'_, T> {
    type Error = OpError;

    fn get(&self, r: EntityRef) -> Result<Option<Entity>, OpError> {
        match self.tx.get(r)? {
            Some(e) if self.visible(&e)? => Ok(Some(e)),
            _ => Ok(None),
        }
    }

    fn exists(&self, r: EntityRef) -> Result<bool, OpError> {
        Ok(self.tx.ever_stored(r)?)
    }

    fn conversations_of(&self, contact: ContactId) -> Result<Vec<Glance>, OpError> {
        Ok(glances(&*self.tx, contact)?)
    }

    /// Writes only over what the agent may see: whatever an action asks, an entity out of their
    /// sight is "not found", never changed.
    fn put(&mut self, e: &Entity) -> Result<(), OpError> {
        e.validate()?;
        self.check_in_sight(e.reference())?;
        put_announced(self.tx, e)?;
        Ok(())
    }

    fn delete(&mut self, r: EntityRef) -> Result<(), OpError> {
        self.check_in_sight(r)?;
        delete_cascading(self.tx, r)?;
        Ok(())
    }

    fn not_found(what: &str) -> OpError {
        OpError::NotFound(what.to_owned())
    }

    /// Writing first to a known number starts a conversation with its contact, even one whose
    /// other conversations this agent may not see (the new one will be theirs).
    fn contact_with_identity(
        &self,
        channel: ChannelKind,
        address: &str,
    ) -> Result<Option<Contact>, OpError> {
        let Some(id) = self.tx.contact_by_identity(channel, address)? else {
            return Ok(None);
        };
        Ok(match self.tx.get(EntityRef::Contact(id))? {
            Some(Entity::Contact(k)) => Some(k),
            _ => None,
        })
    }
}

/// How a refusal names an entity, saying nothing of it.
fn what(r: EntityRef) -> &'static str {
    match r {
        EntityRef::Contact(_) => "That contact",
        EntityRef::Conversation(_) => "That conversation",
        EntityRef::Message(_) => "That message",
        EntityRef::Event(_) => "That event",
        EntityRef::Call(_) => "That call",
        EntityRef::Agent(_) => "That agent",
        EntityRef::Team(_) => "That team",
        EntityRef::Channel(_) => "That channel",
        EntityRef::View(_) => "That view",
        EntityRef::Settings(_) => "Those settings",
    }
}

/// Stores an entity; for a conversation, revokes it from whoever lost sight of it and
/// re-announces its history to whoever gained it.
pub fn put_announced<T: Tx>(tx: &mut T, e: &Entity) -> Result<(), StorageError> {
    let Entity::Conversation(new) = e else {
        tx.put(e)?;
        return Ok(());
    };
    let old = match tx.get(EntityRef::Conversation(new.id))? {
        Some(Entity::Conversation(c)) => Some(c),
        _ => None,
    };
    tx.put(e)?;
    let changed_hands = old
        .as_ref()
        .is_none_or(|o| o.assignee != new.assignee || o.team != new.team);
    if !changed_hands {
        return Ok(());
    }
    if old.is_none() {
        // A new conversation with a contact its agent never saw brings the contact along.
        tx.touch(EntityRef::Contact(new.contact_id))?;
    }
    let mut gained = false;
    for agent in tx.agents()? {
        let before = old.as_ref().is_some_and(|o| rules::may_see(&agent, o));
        let after = rules::may_see(&agent, new);
        if before && !after {
            tx.revoke(agent.id, EntityRef::Conversation(new.id))?;
            if !may_see_contact(&*tx, &agent, new.contact_id)? {
                tx.revoke(agent.id, EntityRef::Contact(new.contact_id))?;
            }
        }
        gained |= after && !before && old.is_some();
    }
    if gained {
        // Someone sees it for the first time: its history and contact move up the feed so that
        // their next page carries them. (Others receive them again, unchanged.)
        tx.touch(EntityRef::Contact(new.contact_id))?;
        for m in tx.messages_of(new.id)? {
            tx.touch(EntityRef::Message(m))?;
        }
        for ev in tx.events_of(new.id)? {
            tx.touch(EntityRef::Event(ev))?;
        }
        for call in tx.calls_of(new.id)? {
            tx.touch(EntityRef::Call(call))?;
        }
    }
    Ok(())
}

/// Stores an agent. When what they may see changes (role, visibility, teams), their feed
/// follows: revocations for what they lose, their history re-announced for what they gain.
pub fn put_agent<T: Tx>(tx: &mut T, new: &Agent) -> Result<(), StorageError> {
    let old = match tx.get(EntityRef::Agent(new.id))? {
        Some(Entity::Agent(a)) => Some(a),
        _ => None,
    };
    tx.put(&Entity::Agent(new.clone()))?;
    let Some(old) = old else { return Ok(()) };
    if old.role == new.role && old.visibility == new.visibility && old.teams == new.teams {
        return Ok(());
    }
    for c in tx.all_conversations()? {
        let (before, after) = (rules::may_see(&old, &c), rules::may_see(new, &c));
        if before && !after {
            tx.revoke(new.id, EntityRef::Conversation(c.id))?;
            if !may_see_contact(&*tx, new, c.contact_id)? {
                tx.revoke(new.id, EntityRef::Contact(c.contact_id))?;
            }
        } else if after && !before {
            tx.touch(EntityRef::Contact(c.contact_id))?;
            tx.touch(EntityRef::Conversation(c.id))?;
            for m in tx.messages_of(c.id)? {
                tx.touch(EntityRef::Message(m))?;
            }
            for ev in tx.events_of(c.id)? {
                tx.touch(EntityRef::Event(ev))?;
            }
            for call in tx.calls_of(c.id)? {
                tx.touch(EntityRef::Call(call))?;
            }
        }
    }
    Ok(())
}

/// Deletes an entity; a conversation goes with its messages and events.
pub fn delete_cascading<T: Tx>(tx: &mut T, r: EntityRef) -> Result<(), StorageError> {
    if let EntityRef::Conversation(id) = r {
        for m in tx.messages_of(id)? {
            tx.delete(EntityRef::Message(m))?;
        }
        for ev in tx.events_of(id)? {
            tx.delete(EntityRef::Event(ev))?;
        }
        for call in tx.calls_of(id)? {
            tx.delete(EntityRef::Call(call))?;
        }
    }
    tx.delete(r)?;
    Ok(())
}

/// Applies one op for `agent`, exactly once: a repeated op id gets its first result back and
/// changes nothing. A refusal changes nothing either, and is kept as the op's result. (The
/// server applies ops through [`Committer`], several agents' in one transaction.)
pub fn apply_op<S: Storage>(
    storage: &S,
    agent: &Agent,
    op: &Op,
    now: Millis,
) -> Result<OpResult, StorageError> {
    storage.write(|tx| apply_in(tx, agent, op, now))
}

/// [`apply_op`] inside a transaction that may hold other ops: the op's own effects are undone
/// alone if it is refused.
pub fn apply_in<T: Tx>(
    tx: &mut T,
    agent: &Agent,
    op: &Op,
    now: Millis,
) -> Result<OpResult, StorageError> {
    if let Some(first) = tx.op_result(agent.id, op.op_id)? {
        return Ok(first);
    }
    let mut judged = Op {
        op_id: op.op_id,
        at: op.at.clamp(now - MAX_OP_AGE, now),
        action: op.action.clone(),
    };
    tx.begin_attempt()?;
    let attempt = judged
        .action
        .validate()
        .map_err(OpError::from)
        .and_then(|()| uploads_of(&*tx, agent, &judged.action))
        .and_then(|uploads| {
            if let Some((_, _, ids)) = &uploads {
                with_stored_types(tx, &mut judged.action, ids)?;
            }
            let mut view = AgentView {
                tx: &mut *tx,
                agent: agent.clone(),
            };
            apply::apply(&mut view, agent, &judged, now, Mode::Fresh)?;
            if let Some((message, conversation, ids)) = uploads {
                for id in ids {
                    tx.link_attachment(id, message, conversation)?;
                }
            }
            Ok(())
        });
    let outcome = match attempt {
        Ok(()) => {
            tx.commit_attempt()?;
            OpOutcome::Applied { seq: tx.seq()? }
        }
        Err(OpError::Storage(e)) => return Err(e),
        Err(e) => {
            tx.rollback_attempt()?;
            OpOutcome::Refused {
                code: e.code(),
                reason: e.to_string(),
                why: e.why(),
            }
        }
    };
    let result = OpResult {
        op_id: op.op_id,
        outcome,
    };
    tx.save_op_result(agent.id, &result, now)?;
    Ok(result)
}

/// Group commit: every agent's ops go through one writer thread, which applies the requests
/// waiting for it together, one op of each in turn, in transactions of at most [`MAX_GROUP`]
/// ops. Many agents' sends share a commit (and its fsync); one agent's batch of 500 is
/// interleaved with everyone else's, so it never holds another agent's write for more than one
/// group. Each request's ops still apply in their order, each judged alone (a refusal undoes
/// only its own effects). If a group's transaction fails, its ops are applied again one
/// transaction each, so a failure reaches only its own request: what committed stays, and the
/// desktop's retry (same op ids) gets those first results back.
pub struct Committer {
    jobs: std::sync::mpsc::Sender<Job>,
}

/// Ops one transaction applies at most.
pub const MAX_GROUP: usize = 128;

type Answer = tokio::sync::oneshot::Sender<Result<Vec<OpResult>, StorageError>>;

struct Job {
    agent: Agent,
    ops: Vec<Op>,
    now: Millis,
    results: Vec<OpResult>,
    answer: Answer,
}

impl Committer {
    /// Starts the writer thread; it ends when the committer is dropped.
    pub fn start<S: Storage>(storage: std::sync::Arc<S>) -> std::io::Result<Committer> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("outpost-writer".into())
            .spawn(move || write_groups(&*storage, &queue))?;
        Ok(Committer { jobs })
    }

    /// Applies `ops` for `agent`, in order, and answers their results.
    pub async fn apply(
        &self,
        agent: Agent,
        ops: Vec<Op>,
        now: Millis,
    ) -> Result<Vec<OpResult>, StorageError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let results = Vec::with_capacity(ops.len());
        self.jobs
            .send(Job {
                agent,
                ops,
                now,
                results,
                answer,
            })
            .map_err(|_| StorageError::Invalid("the writer stopped".into()))?;
        answered
            .await
            .map_err(|_| StorageError::Invalid("the writer stopped".into()))?
    }
}

fn write_groups<S: Storage>(storage: &S, queue: &std::sync::mpsc::Receiver<Job>) {
    let mut pending: std::collections::VecDeque<Job> = std::collections::VecDeque::new();
    loop {
        if pending.is_empty() {
            match queue.recv() {
                Ok(job) => pending.push_back(job),
                Err(_) => return,
            }
        }
        while let Ok(job) = queue.try_recv() {
            pending.push_back(job);
        }
        let marks: Vec<usize> = pending.iter().map(|j| j.results.len()).collect();
        let group = storage.write(|tx| {
            let (refs, ops) = ahead(&pending);
            tx.prefetch(&refs, &ops)?;
            let mut taken = 0;
            loop {
                let mut progressed = false;
                for job in pending.iter_mut() {
                    if taken == MAX_GROUP {
                        return Ok::<_, StorageError>(());
                    }
                    if let Some(op) = job.ops.get(job.results.len()) {
                        let result = apply_in(tx, &job.agent, op, job.now)?;
                        job.results.push(result);
                        taken += 1;
                        progressed = true;
                    }
                }
                if !progressed {
                    return Ok(());
                }
            }
        });
        match group {
            Ok(()) => {
                let mut still = std::collections::VecDeque::with_capacity(pending.len());
                for job in pending.drain(..) {
                    if job.results.len() == job.ops.len() {
                        // The requester may have gone (its client hung up): nothing to tell.
                        let _gone = job.answer.send(Ok(job.results));
                    } else {
                        still.push_back(job);
                    }
                }
                pending = still;
            }
            Err(e) => {
                // The group rolled back whole: its ops are applied again one transaction each,
                // so that only the request whose op fails is answered with the error.
                tracing::warn!(error = %e, "a group of ops failed; applying them one by one");
                let mut still = std::collections::VecDeque::with_capacity(pending.len());
                for (mut job, mark) in pending.drain(..).zip(marks) {
                    let upto = job.results.len();
                    job.results.truncate(mark);
                    let mut failed = None;
                    for op in &job.ops[mark..upto] {
                        match apply_op(storage, &job.agent, op, job.now) {
                            Ok(result) => job.results.push(result),
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                    }
                    match failed {
                        Some(e) => {
                            tracing::error!(error = %e, agent = %job.agent.id.0, "an op failed at the server");
                            let _gone = job.answer.send(Err(e));
                        }
                        None if job.results.len() == job.ops.len() => {
                            let _gone = job.answer.send(Ok(job.results));
                        }
                        None => still.push_back(job),
                    }
                }
                pending = still;
            }
        }
    }
}

/// What the next group will read first, in the order it takes ops (one of each request in
/// turn): the entities its ops name and their op ids, for [`Tx::prefetch`].
#[allow(clippy::type_complexity)]
fn ahead(
    pending: &std::collections::VecDeque<Job>,
) -> (
    Vec<EntityRef>,
    Vec<(outpost_protocol::AgentId, outpost_protocol::OpId)>,
) {
    use outpost_protocol::Action;
    let (mut refs, mut ops) = (Vec::new(), Vec::new());
    for k in 0.. {
        let mut any = false;
        for job in pending {
            if ops.len() == MAX_GROUP {
                return (refs, ops);
            }
            let Some(op) = job.ops.get(job.results.len() + k) else {
                continue;
            };
            any = true;
            ops.push((job.agent.id, op.op_id));
            if let Some(c) = op.action.conversation_id() {
                refs.push(EntityRef::Conversation(c));
            }
            match &op.action {
                Action::SendMessage { message_id, .. }
                | Action::ScheduleMessage { message_id, .. }
                | Action::WriteFirst { message_id, .. }
                | Action::EditScheduled { message_id, .. }
                | Action::CancelScheduled { message_id }
                | Action::RetryMessage { message_id, .. }
                | Action::DiscardMessage { message_id } => {
                    refs.push(EntityRef::Message(*message_id));
                }
                Action::Archive { message_ids }
                | Action::Restore { message_ids }
                | Action::DeleteArchived { message_ids } => {
                    refs.extend(message_ids.iter().map(|m| EntityRef::Message(*m)));
                }
                _ => {}
            }
        }
        if !any {
            break;
        }
    }
    (refs, ops)
}

/// The files of a message as the server stored them: each one's type is what its bytes said at
/// upload, whatever the message claims.
fn with_stored_types<T: Tx>(
    tx: &T,
    action: &mut outpost_protocol::Action,
    ids: &[uuid::Uuid],
) -> Result<(), OpError> {
    use outpost_protocol::Action;
    let (Action::SendMessage { attachments, .. } | Action::ScheduleMessage { attachments, .. }) =
        action
    else {
        return Ok(());
    };
    for (a, id) in attachments.iter_mut().zip(ids) {
        if let Some(up) = tx.attachment(*id)? {
            a.kind = outpost_protocol::AttachmentKind::of_mime(&up.mime);
            a.mime = up.mime;
        }
    }
    Ok(())
}

/// The uploads a message of `action` carries, checked: each was uploaded by this agent, whole,
/// and no other message took it. A message naming a file that never reached the server is
/// refused (the desktop uploads before it sends, so this is a lost or tampered upload).
#[allow(clippy::type_complexity)]
fn uploads_of<T: Tx>(
    tx: &T,
    agent: &Agent,
    action: &outpost_protocol::Action,
) -> Result<Option<(MessageId, ConversationId, Vec<uuid::Uuid>)>, OpError> {
    use outpost_protocol::Action;
    let (message_id, conversation_id, attachments) = match action {
        Action::SendMessage {
            message_id,
            conversation_id,
            attachments,
            ..
        }
        | Action::ScheduleMessage {
            message_id,
            conversation_id,
            attachments,
            ..
        } if !attachments.is_empty() => (*message_id, *conversation_id, attachments),
        _ => return Ok(None),
    };
    let mut ids = Vec::with_capacity(attachments.len());
    for a in attachments {
        let found = match a.upload_id() {
            Some(id) => tx.attachment(id)?.map(|up| (id, up)),
            None => None,
        };
        match found {
            Some((id, up))
                if up.uploader == Uploader::Agent(agent.id)
                    && up.size == a.size
                    && up.message.is_none_or(|m| m == message_id) =>
            {
                ids.push(id)
            }
            Some((_, up)) if up.uploader == Uploader::Agent(agent.id) && up.message.is_none() => {
                return Err(rules::refuse(
                    ErrorCode::InvalidInput,
                    "upload_incomplete",
                    format!(
                        "{} reached the server with {} bytes instead of {}; attach it again.",
                        a.name, up.size, a.size
                    ),
                )
                .with("name", a.name.clone())
                .into());
            }
            _ => {
                return Err(rules::refuse(
                    ErrorCode::NotFound,
                    "upload_missing",
                    format!("{} never reached the server; attach it again.", a.name),
                )
                .with("name", a.name.clone())
                .into());
            }
        }
    }
    Ok(Some((message_id, conversation_id, ids)))
}

/// A customer's message arriving on a channel.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct Inbound {
    /// The customer's address on the channel (digits only for phone channels).
    pub from: String,
    /// Their display name, when the channel gives one.
    #[serde(default)]
    pub name: String,
    pub text: String,
    /// The provider's id of the message, unique per channel: a webhook delivered twice stores
    /// one message.
    pub id: Option<uuid::Uuid>,
    /// The message this one replies to.
    pub reply_to: Option<MessageId>,
    /// Files the customer sent, each uploaded by the channel first
    /// (`PUT /v1/channels/<id>/files/<file>`).
    #[serde(default)]
    pub attachments: Vec<InboundFile>,
    /// The provider's own id of the message (a wamid, a Message-ID…): the message's id derives
    /// from it, so a webhook delivered twice stores one message, and replies can name it.
    #[serde(default)]
    pub provider_id: Option<String>,
    /// The provider's id of the message this one replies to (ours or the customer's).
    #[serde(default)]
    pub reply_to_provider: Option<String>,
    /// Email: the subject line.
    #[serde(default)]
    pub subject: Option<String>,
    /// Sent by a machine (an email auto-reply, `Auto-Submitted`): kept, but it does not reopen a
    /// closed conversation or make it unanswered.
    #[serde(default)]
    pub automatic: bool,
}

/// The id of a message a provider names `provider_id` on channel `channel`: the same each time
/// (a UUID of version 8 from a SHA-256 of both), so a webhook delivered again finds it.
pub fn provider_message_id(channel: uuid::Uuid, provider_id: &str) -> MessageId {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(channel.as_bytes());
    h.update(provider_id.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    MessageId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// The message a provider's id names on `channel`: one we sent (recorded when it left), or one
/// the customer sent (its id derived from it).
pub fn provider_reference<T: Tx>(
    tx: &T,
    channel: uuid::Uuid,
    provider_id: &str,
) -> Result<Option<MessageId>, StorageError> {
    if let Some(id) = tx.provider_message(channel, provider_id)? {
        return Ok(Some(id));
    }
    let derived = provider_message_id(channel, provider_id);
    Ok(tx
        .get(EntityRef::Message(derived))?
        .is_some()
        .then_some(derived))
}

/// A file of an inbound message: the id the channel uploaded it under, and its name.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct InboundFile {
    pub file: uuid::Uuid,
    #[serde(default)]
    pub name: String,
}

/// The name of a file the customer sent without one: its kind, and its type's subtype when that
/// reads as an extension ("image.jpeg", "document.pdf").
fn unnamed(kind: outpost_protocol::AttachmentKind, mime: &str) -> String {
    use outpost_protocol::AttachmentKind as K;
    let word = match kind {
        K::Image => "image",
        K::Document => "document",
        K::Audio => "audio",
        K::Video => "video",
    };
    match mime.split_once('/') {
        Some((_, sub))
            if (1..=5).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            format!("{word}.{sub}")
        }
        _ => word.to_owned(),
    }
}

/// The attachments of an inbound message, checked: each file was uploaded by this channel and
/// no other message has it. Names lose any folder part; a file without one is named by its type.
fn inbound_files<T: Tx>(
    tx: &T,
    channel: uuid::Uuid,
    files: &[InboundFile],
) -> Result<Vec<outpost_protocol::Attachment>, OpError> {
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let up = tx
            .attachment(f.file)?
            .filter(|up| up.uploader == Uploader::Channel(channel) && up.message.is_none())
            .ok_or_else(|| ValidationError {
                field: "attachments",
                problem: format!(
                    "the file {} was not uploaded by this channel, or another message has it",
                    f.file
                ),
            })?;
        let kind = outpost_protocol::AttachmentKind::of_mime(&up.mime);
        let name = match outpost_protocol::limits::file_name(&f.name) {
            name if name.is_empty() => unnamed(kind, &up.mime),
            name => name,
        };
        out.push(outpost_protocol::Attachment {
            kind,
            name,
            mime: up.mime,
            size: up.size,
            url: outpost_protocol::Attachment::upload_path(f.file),
        });
    }
    Ok(out)
}

/// What can be said of an inbound message before anything is stored: it has text or a file,
/// not too many files, a sender, and on phone channels a sender that is a phone number.
pub fn check_inbound(channel: ChannelKind, msg: &Inbound) -> Result<(), OpError> {
    if msg.text.trim().is_empty() && msg.attachments.is_empty() {
        return Err(ValidationError {
            field: "text",
            problem: "an inbound message needs text or a file".into(),
        }
        .into());
    }
    if msg.attachments.len() > outpost_protocol::limits::MAX_ATTACHMENTS {
        return Err(ValidationError {
            field: "attachments",
            problem: format!(
                "more than {} files",
                outpost_protocol::limits::MAX_ATTACHMENTS
            ),
        }
        .into());
    }
    if msg.from.trim().is_empty() {
        return Err(ValidationError {
            field: "from",
            problem: "an inbound message needs the sender's address".into(),
        }
        .into());
    }
    if matches!(channel, ChannelKind::Whatsapp | ChannelKind::Sms) {
        outpost_protocol::limits::check_phone("from", &msg.from)?;
    }
    Ok(())
}

/// Stores an inbound message: finds or creates its contact and conversation, and applies the
/// rules (a message reopens a closed conversation, wakes a snoozed one, waits for our reply).
pub fn inbound<S: Storage>(
    storage: &S,
    (channel_id, channel): (uuid::Uuid, ChannelKind),
    msg: &Inbound,
    now: Millis,
) -> Result<MessageId, OpError> {
    check_inbound(channel, msg)?;
    storage.write(|tx| {
        let message_id = match (&msg.provider_id, msg.id) {
            (Some(p), _) => provider_message_id(channel_id, p),
            (None, Some(id)) => MessageId(id),
            (None, None) => MessageId::new(),
        };
        // Delivered twice (or its id ever used): stored once, never brought back.
        if tx.ever_stored(EntityRef::Message(message_id))? {
            return Ok(message_id);
        }
        let reply_to = match &msg.reply_to_provider {
            Some(p) => provider_reference(&*tx, channel_id, p)?,
            None => msg.reply_to,
        };
        let attachments = inbound_files(&*tx, channel_id, &msg.attachments)?;
        let mut contact = contact_at(tx, channel, &msg.from, &msg.name, now)?;
        // The contact's most recent conversation, or a new one.
        let latest = latest_conversation(&*tx, contact.id)?;
        let opened = latest.is_none();
        let mut conversation = latest
            .unwrap_or_else(|| Conversation::new(ConversationId::new(), contact.id, channel, now));
        // A conversation's messages keep the order they arrived in even when the clock ties or
        // steps back: a message is at least a millisecond after the conversation's last one
        // (mirrors order a conversation by time).
        let at = if opened {
            now
        } else {
            now.max(conversation.last_message_at + 1)
        };
        // The message is on the channel it came by (the conversation takes it on below).
        let mut message = Message::new(
            message_id,
            &conversation,
            Direction::Incoming,
            Sender::named(SenderKind::Contact, &contact.name),
            &msg.text,
            MessageStatus::Received,
            at,
        );
        message.channel = channel;
        message.channel_id = Some(outpost_protocol::ChannelId(channel_id));
        message.attachments = attachments;
        message.subject = msg.subject.clone().filter(|s| !s.trim().is_empty());
        message.via_flow = !msg.automatic && crate::flows::on_inbound(tx, &mut contact, &msg.text)?;
        message.reply_to = reply_to;
        message.validate()?;
        let mut events = if msg.automatic {
            rules::on_automatic(&mut conversation, &message)
        } else {
            rules::on_incoming(&mut conversation, &message)
        };
        conversation.channel_id = Some(outpost_protocol::ChannelId(channel_id));
        if opened {
            // The contact's first message began it: the timeline says so.
            events.insert(0, EventKind::Opened { first: true });
        }
        let in_flow = message.via_flow;
        for a in &message.attachments {
            if let Some(file) = a.upload_id() {
                tx.link_attachment(file, message.id, conversation.id)?;
            }
        }
        tx.put(&Entity::Message(message))?;
        if let Some(p) = &msg.provider_id {
            tx.set_provider_message(channel_id, p, message_id)?;
        }
        if in_flow {
            crate::flows::reply(tx, &mut contact, &mut conversation, now)?;
        }
        put_announced(tx, &Entity::Conversation(conversation.clone()))?;
        let actor = Actor {
            kind: ActorKind::Contact,
            agent_id: None,
            name: contact.name.clone(),
        };
        record_events(tx, &conversation, actor, events, now)?;
        Ok(message_id)
    })
}

/// The contact whose address on a channel kind is `from`; a new one (named `name`) when
/// nobody has it yet.
pub(crate) fn contact_at<T: Tx>(
    tx: &mut T,
    channel: ChannelKind,
    from: &str,
    name: &str,
    now: Millis,
) -> Result<Contact, OpError> {
    Ok(match tx.contact_by_identity(channel, from)? {
        Some(id) => match tx.get(EntityRef::Contact(id))? {
            Some(Entity::Contact(k)) => k,
            _ => return Err(OpError::NotFound("The contact".into())),
        },
        None => {
            let mut k = Contact::reached_at(ContactId::new(), channel, from, name, now);
            k.bot_enabled = true;
            k.validate()?;
            tx.put(&Entity::Contact(k.clone()))?;
            k
        }
    })
}

/// The contact's most recent conversation (by its last message), if they have one.
pub(crate) fn latest_conversation<T: Tx>(
    tx: &T,
    contact: ContactId,
) -> Result<Option<Conversation>, StorageError> {
    let mut latest: Option<Conversation> = None;
    for id in tx.conversations_of(contact)? {
        if let Some(Entity::Conversation(c)) = tx.get(EntityRef::Conversation(id))?
            && latest
                .as_ref()
                .is_none_or(|l| c.last_message_at > l.last_message_at)
        {
            latest = Some(c);
        }
    }
    Ok(latest)
}

/// A customer edited a message they sent (channels that say so: Telegram): its text becomes the
/// new one, marked edited at `at`. Returns whether a message changed; an edit of a message never
/// stored (sent before the channel was connected) changes nothing.
pub fn edit_inbound<S: Storage>(
    storage: &S,
    channel: uuid::Uuid,
    provider_id: &str,
    text: &str,
    at: Millis,
) -> Result<bool, StorageError> {
    let id = provider_message_id(channel, provider_id);
    storage.write(|tx| {
        let Some(Entity::Message(mut m)) = tx.get(EntityRef::Message(id))? else {
            return Ok(false);
        };
        if m.direction != Direction::Incoming
            || m.text == text
            || m.edited_at.is_some_and(|e| e >= at)
        {
            return Ok(false);
        }
        m.text = text.to_owned();
        m.edited_at = Some(at.max(m.created_at));
        if m.validate().is_err() {
            return Ok(false);
        }
        tx.put(&Entity::Message(m))?;
        Ok(true)
    })
}

pub(crate) fn record_events<T: Tx>(
    tx: &mut T,
    c: &Conversation,
    actor: Actor,
    kinds: Vec<EventKind>,
    at: Millis,
) -> Result<(), StorageError> {
    for kind in kinds {
        tx.put(&Entity::Event(ConversationEvent {
            id: EventId::new(),
            conversation_id: c.id,
            at,
            actor: actor.clone(),
            kind,
        }))?;
    }
    Ok(())
}

/// The timers: scheduled messages that are due go to their channel's queue, and snoozed
/// conversations whose time has come open again. Run after a restart too, so nothing due
/// during the downtime is forgotten.
pub fn run_timers<S: Storage>(storage: &S, now: Millis) -> Result<usize, StorageError> {
    let mut done = 0;
    for id in storage.due_messages(now)? {
        storage.write(|tx| {
            if send_due(tx, id, now)? {
                done += 1;
            }
            Ok::<_, StorageError>(())
        })?;
    }
    for id in storage.due_snoozes(now)? {
        storage.write(|tx| {
            if let Some(Entity::Conversation(mut c)) = tx.get(EntityRef::Conversation(id))? {
                let events = rules::wake_if_due(&mut c, now);
                if !events.is_empty() {
                    tx.put(&Entity::Conversation(c.clone()))?;
                    let actor = Actor {
                        kind: ActorKind::System,
                        agent_id: None,
                        name: String::new(),
                    };
                    record_events(tx, &c, actor, events, now)?;
                    done += 1;
                }
            }
            Ok::<_, StorageError>(())
        })?;
    }
    Ok(done)
}

/// A scheduled message whose time has come. The window is judged again now: free text past it
/// goes to Failed with the reason (its author sees it there, as any failed send). Otherwise it
/// goes to its channel's queue with the effects of its author replying at this moment: the
/// conversation is answered and, if nobody has it, assigned to the author.
fn send_due<T: Tx>(tx: &mut T, id: MessageId, now: Millis) -> Result<bool, StorageError> {
    let Some(Entity::Message(mut m)) = tx.get(EntityRef::Message(id))? else {
        return Ok(false);
    };
    if m.status != MessageStatus::Scheduled {
        return Ok(false);
    }
    let Some(Entity::Conversation(mut c)) = tx.get(EntityRef::Conversation(m.conversation_id))?
    else {
        return Ok(false);
    };
    let window = apply::contact_window(&c, &glances(&*tx, c.contact_id)?);
    let open = m.template.is_some() || {
        let mut judged = c.clone();
        judged.last_incoming_at = window;
        rules::window_open(&judged, now)
    };
    if !open {
        m.status = MessageStatus::Failed;
        m.failure = Some(rules::window_closed(&c).reason);
        m.history.push(StatusStamp {
            status: MessageStatus::Failed,
            at: now,
        });
        tx.put(&Entity::Message(m))?;
        return Ok(true);
    }
    m.status = MessageStatus::Pending;
    m.history.push(StatusStamp {
        status: MessageStatus::Pending,
        at: now,
    });
    tx.put(&Entity::Message(m.clone()))?;
    // The reply as of now: it is the conversation's latest message from this moment.
    let mut sent = m.clone();
    sent.created_at = now.max(c.last_message_at);
    let events = rules::on_reply(&mut c, &sent);
    put_announced(tx, &Entity::Conversation(c.clone()))?;
    let actor = Actor {
        kind: ActorKind::Agent,
        agent_id: m.sender.agent_id,
        name: m.sender.name.clone(),
    };
    record_events(tx, &c, actor, events, now)?;
    Ok(true)
}

/// Every conversation of the contact, at a glance.
fn glances<T: Tx>(tx: &T, contact: ContactId) -> Result<Vec<Glance>, StorageError> {
    let mut out = Vec::new();
    for id in tx.conversations_of(contact)? {
        if let Some(Entity::Conversation(c)) = tx.get(EntityRef::Conversation(id))? {
            out.push(Glance::of(&c));
        }
    }
    Ok(out)
}
