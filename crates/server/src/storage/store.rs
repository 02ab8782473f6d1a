//! The store a server runs on, chosen when it starts: SQLite in its data directory (one machine,
//! the default, `cargo xtask run`) or PostgreSQL (`--database postgres://…`, one database that
//! several server processes share). The rest of the server sees only [`Storage`] and [`Tx`].

use outpost_protocol::{
    Agent, AgentId, ChannelKind, ContactId, Conversation, ConversationId, Entity, EntityRef,
    EventId, MessageId, Millis, OpId, OpResult,
};

use super::postgres::Postgres;
use super::sqlite::Sqlite;
use super::{
    Credentials, FeedPage, Flow, Pending, Result, Session, Storage, StorageError, Tx, Upload,
    Uploaded, Uploader, Visitor,
};

// One per server, behind an Arc: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Store {
    Sqlite(Sqlite),
    Postgres(Postgres),
}

impl Store {
    /// Which backend this is, for logs and `/metrics`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }
}

/// A write transaction of either backend.
pub struct StoreTx<'a>(&'a mut (dyn Tx + 'a));

impl Tx for StoreTx<'_> {
    fn get(&self, r: EntityRef) -> Result<Option<Entity>> {
        self.0.get(r)
    }

    fn ever_stored(&self, r: EntityRef) -> Result<bool> {
        self.0.ever_stored(r)
    }

    fn put(&mut self, e: &Entity) -> Result<u64> {
        self.0.put(e)
    }

    fn delete(&mut self, r: EntityRef) -> Result<u64> {
        self.0.delete(r)
    }

    fn touch(&mut self, r: EntityRef) -> Result<()> {
        self.0.touch(r)
    }

    fn revoke(&mut self, agent: AgentId, entity: EntityRef) -> Result<()> {
        self.0.revoke(agent, entity)
    }

    fn agents(&self) -> Result<Vec<Agent>> {
        self.0.agents()
    }

    fn messages_of(&self, conversation: ConversationId) -> Result<Vec<MessageId>> {
        self.0.messages_of(conversation)
    }

    fn events_of(&self, conversation: ConversationId) -> Result<Vec<EventId>> {
        self.0.events_of(conversation)
    }

    fn calls_of(&self, conversation: ConversationId) -> Result<Vec<outpost_protocol::CallId>> {
        self.0.calls_of(conversation)
    }

    fn conversations_of(&self, contact: ContactId) -> Result<Vec<ConversationId>> {
        self.0.conversations_of(contact)
    }

    fn all_conversations(&self) -> Result<Vec<Conversation>> {
        self.0.all_conversations()
    }

    fn contact_by_identity(
        &self,
        channel: ChannelKind,
        address: &str,
    ) -> Result<Option<ContactId>> {
        self.0.contact_by_identity(channel, address)
    }

    fn op_result(&self, agent: AgentId, op_id: OpId) -> Result<Option<OpResult>> {
        self.0.op_result(agent, op_id)
    }

    fn save_op_result(&mut self, agent: AgentId, result: &OpResult, at: Millis) -> Result<()> {
        self.0.save_op_result(agent, result, at)
    }

    fn seq(&self) -> Result<u64> {
        self.0.seq()
    }

    fn flows(&self) -> Result<Vec<Flow>> {
        self.0.flows()
    }

    fn flow_run(&self, contact: ContactId) -> Result<Option<(String, u32)>> {
        self.0.flow_run(contact)
    }

    fn set_flow_run(&mut self, contact: ContactId, run: Option<(&str, u32)>) -> Result<()> {
        self.0.set_flow_run(contact, run)
    }

    fn set_flows(&mut self, flows: &[Flow]) -> Result<()> {
        self.0.set_flows(flows)
    }

    fn attachment(&self, id: uuid::Uuid) -> Result<Option<Upload>> {
        self.0.attachment(id)
    }

    fn link_attachment(
        &mut self,
        id: uuid::Uuid,
        message: MessageId,
        conversation: ConversationId,
    ) -> Result<()> {
        self.0.link_attachment(id, message, conversation)
    }

    fn provider_message(
        &self,
        channel: uuid::Uuid,
        provider_id: &str,
    ) -> Result<Option<MessageId>> {
        self.0.provider_message(channel, provider_id)
    }

    fn set_provider_message(
        &mut self,
        channel: uuid::Uuid,
        provider_id: &str,
        message: MessageId,
    ) -> Result<()> {
        self.0.set_provider_message(channel, provider_id, message)
    }

    fn keep_early_status(
        &mut self,
        channel: uuid::Uuid,
        provider_id: &str,
        status: &str,
        at: Millis,
    ) -> Result<()> {
        self.0.keep_early_status(channel, provider_id, status, at)
    }

    fn take_early_statuses(
        &mut self,
        channel: uuid::Uuid,
        provider_id: &str,
    ) -> Result<Vec<String>> {
        self.0.take_early_statuses(channel, provider_id)
    }

    fn end_delivery(&mut self, message: MessageId) -> Result<()> {
        self.0.end_delivery(message)
    }

    fn delay_delivery(
        &mut self,
        message: MessageId,
        parts: u32,
        next_at: Millis,
        error: &str,
    ) -> Result<()> {
        self.0.delay_delivery(message, parts, next_at, error)
    }

    fn set_channel_private(
        &mut self,
        id: uuid::Uuid,
        secret_hash: &[u8],
        settings: &serde_json::Value,
    ) -> Result<()> {
        self.0.set_channel_private(id, secret_hash, settings)
    }

    fn prefetch(&self, refs: &[EntityRef], ops: &[(AgentId, OpId)]) -> Result<()> {
        self.0.prefetch(refs, ops)
    }

    fn begin_attempt(&mut self) -> Result<()> {
        self.0.begin_attempt()
    }

    fn rollback_attempt(&mut self) -> Result<()> {
        self.0.rollback_attempt()
    }

    fn commit_attempt(&mut self) -> Result<()> {
        self.0.commit_attempt()
    }
}

impl Storage for Store {
    type Tx<'a> = StoreTx<'a>;

    fn write<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&mut StoreTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            Store::Sqlite(s) => s.write(|tx| f(&mut StoreTx(tx))),
            Store::Postgres(s) => s.write(|tx| f(&mut StoreTx(tx))),
        }
    }

    fn changes(&self, agent: &Agent, after: u64, limit: u32) -> Result<FeedPage> {
        match self {
            Store::Sqlite(s) => s.changes(agent, after, limit),
            Store::Postgres(s) => s.changes(agent, after, limit),
        }
    }

    fn recent(&self, agent: &Agent, conversations: u32, messages: u32) -> Result<String> {
        match self {
            Store::Sqlite(s) => s.recent(agent, conversations, messages),
            Store::Postgres(s) => s.recent(agent, conversations, messages),
        }
    }

    fn seq(&self) -> Result<u64> {
        match self {
            Store::Sqlite(s) => s.seq(),
            Store::Postgres(s) => s.seq(),
        }
    }

    fn credentials(&self, email: &str) -> Result<Option<Credentials>> {
        match self {
            Store::Sqlite(s) => s.credentials(email),
            Store::Postgres(s) => s.credentials(email),
        }
    }

    fn set_password(&self, agent: AgentId, email: &str, password_hash: &str) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.set_password(agent, email, password_hash),
            Store::Postgres(s) => s.set_password(agent, email, password_hash),
        }
    }

    fn password_hash(&self, agent: AgentId) -> Result<Option<String>> {
        match self {
            Store::Sqlite(s) => s.password_hash(agent),
            Store::Postgres(s) => s.password_hash(agent),
        }
    }

    fn change_password(
        &self,
        agent: AgentId,
        password_hash: &str,
        keep: Option<&[u8]>,
    ) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.change_password(agent, password_hash, keep),
            Store::Postgres(s) => s.change_password(agent, password_hash, keep),
        }
    }

    fn end_sessions(&self, agent: AgentId) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.end_sessions(agent),
            Store::Postgres(s) => s.end_sessions(agent),
        }
    }

    fn set_disabled(&self, agent: AgentId, disabled: bool) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.set_disabled(agent, disabled),
            Store::Postgres(s) => s.set_disabled(agent, disabled),
        }
    }

    fn create_invite(&self, token_hash: &[u8], agent: AgentId, expires_at: Millis) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.create_invite(token_hash, agent, expires_at),
            Store::Postgres(s) => s.create_invite(token_hash, agent, expires_at),
        }
    }

    fn take_invite(&self, token_hash: &[u8], now: Millis) -> Result<Option<(AgentId, Millis)>> {
        match self {
            Store::Sqlite(s) => s.take_invite(token_hash, now),
            Store::Postgres(s) => s.take_invite(token_hash, now),
        }
    }

    fn is_disabled(&self, agent: AgentId) -> Result<bool> {
        match self {
            Store::Sqlite(s) => s.is_disabled(agent),
            Store::Postgres(s) => s.is_disabled(agent),
        }
    }

    fn create_session(
        &self,
        token_hash: &[u8],
        agent: AgentId,
        now: Millis,
        expires_at: Millis,
    ) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.create_session(token_hash, agent, now, expires_at),
            Store::Postgres(s) => s.create_session(token_hash, agent, now, expires_at),
        }
    }

    fn session(&self, token_hash: &[u8], now: Millis) -> Result<Option<Session>> {
        match self {
            Store::Sqlite(s) => s.session(token_hash, now),
            Store::Postgres(s) => s.session(token_hash, now),
        }
    }

    fn end_session(&self, token_hash: &[u8]) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.end_session(token_hash),
            Store::Postgres(s) => s.end_session(token_hash),
        }
    }

    fn set_channel_secret(&self, id: uuid::Uuid, secret_hash: &[u8]) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.set_channel_secret(id, secret_hash),
            Store::Postgres(s) => s.set_channel_secret(id, secret_hash),
        }
    }

    fn channel(&self, id: uuid::Uuid) -> Result<Option<(ChannelKind, Vec<u8>)>> {
        match self {
            Store::Sqlite(s) => s.channel(id),
            Store::Postgres(s) => s.channel(id),
        }
    }

    fn channel_entities(&self) -> Result<Vec<outpost_protocol::Channel>> {
        match self {
            Store::Sqlite(s) => s.channel_entities(),
            Store::Postgres(s) => s.channel_entities(),
        }
    }

    fn channels(&self) -> Result<Vec<(uuid::Uuid, ChannelKind)>> {
        match self {
            Store::Sqlite(s) => s.channels(),
            Store::Postgres(s) => s.channels(),
        }
    }

    fn create_visitor(&self, visitor: &Visitor, token_hash: &[u8]) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.create_visitor(visitor, token_hash),
            Store::Postgres(s) => s.create_visitor(visitor, token_hash),
        }
    }

    fn visitor(&self, token_hash: &[u8]) -> Result<Option<Visitor>> {
        match self {
            Store::Sqlite(s) => s.visitor(token_hash),
            Store::Postgres(s) => s.visitor(token_hash),
        }
    }

    fn web_chat_messages(
        &self,
        address: &str,
        limit: u32,
    ) -> Result<Vec<outpost_protocol::Message>> {
        match self {
            Store::Sqlite(s) => s.web_chat_messages(address, limit),
            Store::Postgres(s) => s.web_chat_messages(address, limit),
        }
    }

    fn conversations_changed_since(
        &self,
        after: u64,
        conversations: &[ConversationId],
    ) -> Result<bool> {
        match self {
            Store::Sqlite(s) => s.conversations_changed_since(after, conversations),
            Store::Postgres(s) => s.conversations_changed_since(after, conversations),
        }
    }

    fn outgoing_queue(&self) -> Result<u64> {
        match self {
            Store::Sqlite(s) => s.outgoing_queue(),
            Store::Postgres(s) => s.outgoing_queue(),
        }
    }

    fn due_messages(&self, now: Millis) -> Result<Vec<MessageId>> {
        match self {
            Store::Sqlite(s) => s.due_messages(now),
            Store::Postgres(s) => s.due_messages(now),
        }
    }

    fn due_snoozes(&self, now: Millis) -> Result<Vec<ConversationId>> {
        match self {
            Store::Sqlite(s) => s.due_snoozes(now),
            Store::Postgres(s) => s.due_snoozes(now),
        }
    }

    fn messages_in_delivery(
        &self,
        since: Millis,
        kinds: &[ChannelKind],
        limit: u32,
    ) -> Result<Vec<MessageId>> {
        match self {
            Store::Sqlite(s) => s.messages_in_delivery(since, kinds, limit),
            Store::Postgres(s) => s.messages_in_delivery(since, kinds, limit),
        }
    }

    fn channel_settings(&self, id: uuid::Uuid) -> Result<Option<serde_json::Value>> {
        match self {
            Store::Sqlite(s) => s.channel_settings(id),
            Store::Postgres(s) => s.channel_settings(id),
        }
    }

    fn set_channel_settings(&self, id: uuid::Uuid, settings: &serde_json::Value) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.set_channel_settings(id, settings),
            Store::Postgres(s) => s.set_channel_settings(id, settings),
        }
    }

    fn get(&self, r: EntityRef) -> Result<Option<Entity>> {
        match self {
            Store::Sqlite(s) => s.get(r),
            Store::Postgres(s) => s.get(r),
        }
    }

    fn messages(&self, ids: &[MessageId]) -> Result<Vec<outpost_protocol::Message>> {
        match self {
            Store::Sqlite(s) => s.messages(ids),
            Store::Postgres(s) => s.messages(ids),
        }
    }

    fn put_attachment(
        &self,
        id: uuid::Uuid,
        uploader: Uploader,
        mime: &str,
        bytes: &[u8],
        now: Millis,
    ) -> Result<Uploaded> {
        match self {
            Store::Sqlite(s) => s.put_attachment(id, uploader, mime, bytes, now),
            Store::Postgres(s) => s.put_attachment(id, uploader, mime, bytes, now),
        }
    }

    fn attachment(&self, id: uuid::Uuid) -> Result<Option<(Upload, Vec<u8>)>> {
        match self {
            Store::Sqlite(s) => s.attachment(id),
            Store::Postgres(s) => s.attachment(id),
        }
    }

    fn uploaded_since(&self, agent: AgentId, since: Millis) -> Result<u64> {
        match self {
            Store::Sqlite(s) => s.uploaded_since(agent, since),
            Store::Postgres(s) => s.uploaded_since(agent, since),
        }
    }

    fn sweep_unclaimed(&self, before: Millis) -> Result<usize> {
        match self {
            Store::Sqlite(s) => s.sweep_unclaimed(before),
            Store::Postgres(s) => s.sweep_unclaimed(before),
        }
    }

    fn pending_deliveries(&self, kinds: &[ChannelKind], limit: u32) -> Result<Vec<Pending>> {
        match self {
            Store::Sqlite(s) => s.pending_deliveries(kinds, limit),
            Store::Postgres(s) => s.pending_deliveries(kinds, limit),
        }
    }

    fn claim_delivery(
        &self,
        message: MessageId,
        channel: uuid::Uuid,
        now: Millis,
        process: uuid::Uuid,
    ) -> Result<Option<(u32, u32)>> {
        match self {
            Store::Sqlite(s) => s.claim_delivery(message, channel, now, process),
            Store::Postgres(s) => s.claim_delivery(message, channel, now, process),
        }
    }

    fn messages_of(&self, conversation: ConversationId) -> Result<Vec<MessageId>> {
        match self {
            Store::Sqlite(s) => s.messages_of(conversation),
            Store::Postgres(s) => s.messages_of(conversation),
        }
    }

    fn provider_id_of(&self, message: MessageId) -> Result<Option<(uuid::Uuid, String)>> {
        match self {
            Store::Sqlite(s) => s.provider_id_of(message),
            Store::Postgres(s) => s.provider_id_of(message),
        }
    }

    fn retry_delivery(&self, message: MessageId, next_at: Millis, error: &str) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.retry_delivery(message, next_at, error),
            Store::Postgres(s) => s.retry_delivery(message, next_at, error),
        }
    }

    fn deliveries_sending(
        &self,
        process: uuid::Uuid,
        starting: bool,
    ) -> Result<Vec<(MessageId, uuid::Uuid)>> {
        match self {
            Store::Sqlite(s) => s.deliveries_sending(process, starting),
            Store::Postgres(s) => s.deliveries_sending(process, starting),
        }
    }

    fn heartbeat(&self, process: uuid::Uuid, online: &[AgentId]) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.heartbeat(process, online),
            Store::Postgres(s) => s.heartbeat(process, online),
        }
    }

    fn online_elsewhere(&self, process: uuid::Uuid) -> Result<Vec<AgentId>> {
        match self {
            Store::Sqlite(s) => s.online_elsewhere(process),
            Store::Postgres(s) => s.online_elsewhere(process),
        }
    }

    fn live_processes(&self) -> Result<Option<Vec<uuid::Uuid>>> {
        match self {
            Store::Sqlite(s) => s.live_processes(),
            Store::Postgres(s) => s.live_processes(),
        }
    }

    fn delivery_began(&self, message: MessageId) -> Result<Option<Millis>> {
        match self {
            Store::Sqlite(s) => s.delivery_began(message),
            Store::Postgres(s) => s.delivery_began(message),
        }
    }

    fn sweep_early_statuses(&self, before: Millis) -> Result<usize> {
        match self {
            Store::Sqlite(s) => s.sweep_early_statuses(before),
            Store::Postgres(s) => s.sweep_early_statuses(before),
        }
    }

    fn channel_cursor(&self, channel: uuid::Uuid, name: &str) -> Result<Option<String>> {
        match self {
            Store::Sqlite(s) => s.channel_cursor(channel, name),
            Store::Postgres(s) => s.channel_cursor(channel, name),
        }
    }

    fn set_channel_cursor(&self, channel: uuid::Uuid, name: &str, value: &str) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.set_channel_cursor(channel, name, value),
            Store::Postgres(s) => s.set_channel_cursor(channel, name, value),
        }
    }

    fn publish(&self, note: &str) {
        match self {
            Store::Sqlite(s) => s.publish(note),
            Store::Postgres(s) => s.publish(note),
        }
    }

    fn begin_sign_in(&self, attempt: &super::SignIn<'_>) -> Result<Option<Result<bool, Millis>>> {
        match self {
            Store::Sqlite(s) => s.begin_sign_in(attempt),
            Store::Postgres(s) => s.begin_sign_in(attempt),
        }
    }

    fn sign_in_succeeded(&self, pair: &str, keys: &[String], at: Millis) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.sign_in_succeeded(pair, keys, at),
            Store::Postgres(s) => s.sign_in_succeeded(pair, keys, at),
        }
    }

    fn sweep_sign_ins(&self, attempts_before: Millis, known_before: Millis) -> Result<usize> {
        match self {
            Store::Sqlite(s) => s.sweep_sign_ins(attempts_before, known_before),
            Store::Postgres(s) => s.sweep_sign_ins(attempts_before, known_before),
        }
    }

    fn take_budget(
        &self,
        key: &str,
        rate: f64,
        burst: f64,
        n: f64,
    ) -> Result<Option<Result<(), std::time::Duration>>> {
        match self {
            Store::Sqlite(s) => s.take_budget(key, rate, burst, n),
            Store::Postgres(s) => s.take_budget(key, rate, burst, n),
        }
    }
}
