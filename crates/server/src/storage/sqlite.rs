//! The embedded SQLite backend: one writer connection (every write transaction goes through it,
//! so sequence numbers follow commit order), read-only readers in WAL mode for the change feed.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use outpost_protocol::{
    Agent, AgentId, ChannelKind, ContactId, Conversation, ConversationId, ConversationState,
    Entity, EntityRef, EventId, MessageId, MessageStatus, Millis, OpId, OpResult, rules,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use uuid::Uuid;

use super::{
    Credentials, FeedPage, Result, Session, Storage, StorageError, Tx, Upload, Uploaded, Uploader,
    owner_only,
};

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_initial.sql"),
    include_str!("migrations/002_attachments.sql"),
    include_str!("migrations/003_settings.sql"),
    include_str!("migrations/004_channel_files.sql"),
    include_str!("migrations/005_authority.sql"),
    include_str!("migrations/006_channel_entities.sql"),
    include_str!("migrations/007_widget_visitors.sql"),
    include_str!("migrations/008_providers.sql"),
    include_str!("migrations/009_delivery_owner.sql"),
    include_str!("migrations/010_calls.sql"),
];

/// Copies every page of `src` into `dst` in one backup step: one read transaction, so one
/// consistent moment however busy `src` is (a step of fewer pages restarts when another
/// connection writes). Waits while `src` is locked by a writer, up to half a minute.
fn copy_whole(src: &Connection, dst: &mut Connection) -> Result<()> {
    use rusqlite::backup::StepResult;
    let backup = rusqlite::backup::Backup::new(src, dst)?;
    for _ in 0..3_000 {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More | StepResult::Busy | StepResult::Locked => {
                std::thread::sleep(Duration::from_millis(10))
            }
            // A step result this version does not know: try again.
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    Err(StorageError::Invalid(
        "the database stayed busy for half a minute: the backup did not finish".into(),
    ))
}

/// An I/O result about keeping `what` owner-only, as a storage error.
fn private(r: std::io::Result<()>, what: &Path) -> Result<()> {
    r.map_err(|e| StorageError::Invalid(format!("cannot keep {} private: {e}", what.display())))
}

fn private_file(path: &Path) -> Result<()> {
    private(owner_only::file(path), path)
}

pub struct Sqlite {
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    path: std::path::PathBuf,
}

pub struct SqliteTx<'c> {
    tx: rusqlite::Transaction<'c>,
    seq: u64,
    /// The seq when the current attempt began.
    attempt_seq: Option<u64>,
}

pub(super) fn kind_of(r: &EntityRef) -> (&'static str, Uuid) {
    match r {
        EntityRef::Contact(id) => ("contact", id.0),
        EntityRef::Conversation(id) => ("conversation", id.0),
        EntityRef::Message(id) => ("message", id.0),
        EntityRef::Event(id) => ("event", id.0),
        EntityRef::Call(id) => ("call", id.0),
        EntityRef::Agent(id) => ("agent", id.0),
        EntityRef::Team(id) => ("team", id.0),
        EntityRef::Channel(id) => ("channel", id.0),
        EntityRef::View(id) => ("view", id.0),
        EntityRef::Settings(id) => ("settings", id.0),
    }
}

pub(super) fn table_of(kind: &str) -> &'static str {
    match kind {
        "contact" => "contacts",
        "conversation" => "conversations",
        "message" => "messages",
        "event" => "events",
        "call" => "calls",
        "agent" => "agents",
        "team" => "teams",
        "channel" => "channel_entities",
        "settings" => "settings",
        _ => "views",
    }
}

pub(super) fn reference(kind: &str, id: Uuid) -> Option<EntityRef> {
    Some(match kind {
        "contact" => EntityRef::Contact(ContactId(id)),
        "conversation" => EntityRef::Conversation(ConversationId(id)),
        "message" => EntityRef::Message(MessageId(id)),
        "event" => EntityRef::Event(EventId(id)),
        "call" => EntityRef::Call(outpost_protocol::CallId(id)),
        "agent" => EntityRef::Agent(AgentId(id)),
        "team" => EntityRef::Team(outpost_protocol::TeamId(id)),
        "channel" => EntityRef::Channel(outpost_protocol::ChannelId(id)),
        "view" => EntityRef::View(outpost_protocol::ViewId(id)),
        "settings" => EntityRef::Settings(AgentId(id)),
        _ => return None,
    })
}

/// The scope a feed row's visibility depends on: its conversation and its contact.
pub(super) fn scope(e: &Entity) -> (Option<Uuid>, Option<Uuid>) {
    match e {
        Entity::Conversation(c) => (Some(c.id.0), Some(c.contact_id.0)),
        Entity::Message(m) => (Some(m.conversation_id.0), None),
        Entity::Event(ev) => (Some(ev.conversation_id.0), None),
        Entity::Call(c) => (Some(c.conversation_id.0), None),
        Entity::Contact(k) => (None, Some(k.id.0)),
        _ => (None, None),
    }
}

pub(super) fn decode_entity(kind: &str, json: &str) -> Result<Entity> {
    Entity::from_data_json(kind, json)?
        .ok_or_else(|| StorageError::Invalid(format!("unknown entity kind {kind}")))
}

fn get_entity(conn: &Connection, r: EntityRef) -> Result<Option<Entity>> {
    let (kind, id) = kind_of(&r);
    let json: Option<String> = conn
        .prepare_cached(&format!(
            "SELECT data FROM {} WHERE id = ?1",
            table_of(kind)
        ))?
        .query_row([id], |row| row.get(0))
        .optional()?;
    json.map(|j| decode_entity(kind, &j)).transpose()
}

pub(super) fn state_code(s: ConversationState) -> i64 {
    match s {
        ConversationState::Open => 0,
        ConversationState::Closed => 1,
        ConversationState::Snoozed => 2,
    }
}

pub(super) fn status_name(s: MessageStatus) -> &'static str {
    match s {
        MessageStatus::Received => "received",
        MessageStatus::Scheduled => "scheduled",
        MessageStatus::Pending => "pending",
        MessageStatus::Wired => "wired",
        MessageStatus::Sent => "sent",
        MessageStatus::Delivered => "delivered",
        MessageStatus::Read => "read",
        MessageStatus::Failed => "failed",
    }
}

impl Sqlite {
    pub fn open(dir: &Path) -> Result<Sqlite> {
        // Owner-only, whatever the umask; what an older version left readable is tightened.
        private(owner_only::dir(dir), dir)?;
        let path = dir.join("outpost-server.db");
        private(owner_only::file(&path), &path)?;
        for suffix in ["outpost-server.db-wal", "outpost-server.db-shm"] {
            let beside = dir.join(suffix);
            private(owner_only::tighten_if_there(&beside), &beside)?;
        }
        let mut writer = Connection::open(&path)?;
        writer.busy_timeout(Duration::from_secs(10))?;
        writer.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;",
        )?;
        let app: i64 = writer.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version: i64 = writer.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if app != 0 && app != 1_333_097_587 {
            return Err(StorageError::Invalid(format!(
                "{} is not an Outpost server database",
                path.display()
            )));
        }
        if version > MIGRATIONS.len() as i64 {
            return Err(StorageError::Invalid(format!(
                "{} was written by a newer Outpost server (schema {version})",
                path.display()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = writer.transaction()?;
            tx.execute_batch(sql)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
            tx.commit()?;
        }
        Ok(Sqlite {
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            path,
        })
    }

    /// Copies the database in `dir` to `to` while it may be serving: SQLite's online backup, all
    /// pages in one step under one read transaction, so the copy is one consistent moment.
    /// Returns the copy's size in bytes.
    pub fn backup(dir: &Path, to: &Path) -> Result<u64> {
        let path = dir.join("outpost-server.db");
        if !path.exists() {
            return Err(StorageError::Invalid(format!(
                "there is no database in {}",
                dir.display()
            )));
        }
        if to.exists() {
            return Err(StorageError::Invalid(format!(
                "{} exists already: choose a new file",
                to.display()
            )));
        }
        let src = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        src.busy_timeout(Duration::from_secs(30))?;
        let mut dst = Connection::open(to)?;
        private_file(to)?;
        copy_whole(&src, &mut dst)?;
        drop(dst);
        Ok(std::fs::metadata(to).map(|m| m.len()).unwrap_or(0))
    }

    /// Whether `file` is a sound Outpost server database this version can open: its application
    /// id, a schema no newer than ours, and SQLite's integrity check.
    pub fn verify(file: &Path) -> Result<()> {
        let c = Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let app: i64 = c.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let has_feed: bool = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'feed'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n == 1)?;
        if (app != 0 && app != 1_333_097_587) || !has_feed {
            return Err(StorageError::Invalid(format!(
                "{} is not an Outpost server database",
                file.display()
            )));
        }
        if version > MIGRATIONS.len() as i64 {
            return Err(StorageError::Invalid(format!(
                "{} was written by a newer Outpost server (schema {version})",
                file.display()
            )));
        }
        let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(StorageError::Invalid(format!(
                "{} is damaged: {check}",
                file.display()
            )));
        }
        Ok(())
    }

    /// Puts the backup `from` in place of the database in `dir` (the server must be stopped).
    /// The backup is verified first; the database it replaces is kept beside it, renamed
    /// `outpost-server.db.before-restore-<millis>`. Returns that name, if there was one.
    pub fn restore(dir: &Path, from: &Path, now: Millis) -> Result<Option<std::path::PathBuf>> {
        Sqlite::verify(from)?;
        private(owner_only::dir(dir), dir)?;
        let path = dir.join("outpost-server.db");
        let kept = if path.exists() {
            // Folds the WAL into the old database first, so the kept copy is whole.
            let old = Connection::open(&path)?;
            old.busy_timeout(Duration::from_secs(5))?;
            old.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            drop(old);
            let kept = dir.join(format!("outpost-server.db.before-restore-{now}"));
            std::fs::rename(&path, &kept).map_err(|e| {
                StorageError::Invalid(format!("cannot move the current database aside: {e}"))
            })?;
            for suffix in ["outpost-server.db-wal", "outpost-server.db-shm"] {
                // Empty after the checkpoint; a stale one must not be read with the new file.
                if let Err(e) = std::fs::remove_file(dir.join(suffix))
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    return Err(StorageError::Invalid(format!(
                        "cannot remove {suffix}: {e}"
                    )));
                }
            }
            Some(kept)
        } else {
            None
        };
        let src = Connection::open_with_flags(from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut dst = Connection::open(&path)?;
        private_file(&path)?;
        copy_whole(&src, &mut dst)?;
        Ok(kept)
    }

    /// Runs `f` on a read connection of the store, in one read transaction (one moment): for
    /// `outpost-server migrate`, which copies every table.
    pub fn read_all<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read(|c| {
            c.execute_batch("BEGIN")?;
            let out = f(c);
            c.execute_batch("COMMIT")?;
            out
        })
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(Duration::from_secs(10))?;
                c.execute_batch("PRAGMA query_only = 1;")?;
                c
            }
        };
        let out = f(&conn);
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        out
    }
}

fn current_seq(conn: &Connection) -> Result<u64> {
    let v: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'seq'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

impl SqliteTx<'_> {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn move_in_feed(
        &mut self,
        r: &EntityRef,
        conversation: Option<Uuid>,
        contact: Option<Uuid>,
        deleted: bool,
    ) -> Result<u64> {
        let (kind, id) = kind_of(r);
        let seq = self.next_seq();
        self.tx
            .prepare_cached(
                "INSERT INTO feed (seq, kind, entity, conversation, contact, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (kind, entity) DO UPDATE SET seq = excluded.seq, conversation = excluded.conversation,
                    contact = excluded.contact, deleted = excluded.deleted",
            )?
            .execute(params![seq as i64, kind, id, conversation, contact, deleted])?;
        Ok(seq)
    }
}

impl Tx for SqliteTx<'_> {
    fn get(&self, r: EntityRef) -> Result<Option<Entity>> {
        get_entity(&self.tx, r)
    }

    fn ever_stored(&self, r: EntityRef) -> Result<bool> {
        let (kind, id) = kind_of(&r);
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM feed WHERE kind = ?1 AND entity = ?2")?
            .query_row(params![kind, id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn put(&mut self, e: &Entity) -> Result<u64> {
        let json = e.data_json()?;
        match e {
            Entity::Contact(k) => {
                self.tx
                    .prepare_cached("INSERT INTO contacts (id, data) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET data = excluded.data")?
                    .execute(params![k.id.0, json])?;
                for i in &k.identities {
                    self.tx
                        .prepare_cached("INSERT OR REPLACE INTO identities (channel, address, contact) VALUES (?1, ?2, ?3)")?
                        .execute(params![i.channel.as_str(), i.address, k.id.0])?;
                }
            }
            Entity::Conversation(c) => {
                self.tx
                    .prepare_cached(
                        "INSERT INTO conversations (id, contact, assignee, team, state, snoozed_until, data)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                         ON CONFLICT (id) DO UPDATE SET contact = excluded.contact, assignee = excluded.assignee,
                            team = excluded.team, state = excluded.state, snoozed_until = excluded.snoozed_until,
                            data = excluded.data",
                    )?
                    .execute(params![
                        c.id.0,
                        c.contact_id.0,
                        c.assignee.map(|a| a.0),
                        c.team.map(|t| t.0),
                        state_code(c.state),
                        c.snoozed_until,
                        json
                    ])?;
            }
            Entity::Message(m) => {
                self.tx
                    .prepare_cached(
                        "INSERT INTO messages (id, conversation, status, send_at, moved_at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (id) DO UPDATE SET conversation = excluded.conversation, status = excluded.status,
                            send_at = excluded.send_at, moved_at = excluded.moved_at, data = excluded.data",
                    )?
                    .execute(params![
                        m.id.0,
                        m.conversation_id.0,
                        status_name(m.status),
                        m.send_at,
                        m.history.last().map_or(m.created_at, |s| s.at),
                        json
                    ])?;
            }
            Entity::Event(ev) => {
                self.tx
                    .prepare_cached("INSERT INTO events (id, conversation, data) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET data = excluded.data")?
                    .execute(params![ev.id.0, ev.conversation_id.0, json])?;
            }
            Entity::Call(c) => {
                self.tx
                    .prepare_cached("INSERT INTO calls (id, conversation, data) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET conversation = excluded.conversation, data = excluded.data")?
                    .execute(params![c.id.0, c.conversation_id.0, json])?;
            }
            Entity::Agent(a) => {
                let n = self
                    .tx
                    .prepare_cached("UPDATE agents SET data = ?2, email = ?3 WHERE id = ?1")?
                    .execute(params![a.id.0, json, a.email.to_lowercase()])?;
                if n == 0 {
                    // An agent without a password yet cannot sign in until one is set.
                    self.tx
                        .prepare_cached("INSERT INTO agents (id, email, password_hash, data) VALUES (?1, ?2, '', ?3)")?
                        .execute(params![a.id.0, a.email.to_lowercase(), json])?;
                }
            }
            Entity::Team(t) => {
                self.tx
                    .prepare_cached("INSERT INTO teams (id, data) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET data = excluded.data")?
                    .execute(params![t.id.0, json])?;
            }
            Entity::Channel(c) => {
                self.tx
                    .prepare_cached("INSERT INTO channel_entities (id, data) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET data = excluded.data")?
                    .execute(params![c.id.0, json])?;
                // Its private side: no secret yet (no webhook is accepted until one is set).
                self.tx
                    .prepare_cached("INSERT INTO channels (id, kind, secret_hash, data) VALUES (?1, ?2, x'', '{}') ON CONFLICT (id) DO NOTHING")?
                    .execute(params![c.id.0, c.kind.as_str()])?;
            }
            Entity::View(v) => {
                self.tx
                    .prepare_cached("INSERT INTO views (id, owner, data) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, data = excluded.data")?
                    .execute(params![v.id.0, v.owner.0, json])?;
            }
            Entity::Settings(s) => {
                self.tx
                    .prepare_cached("INSERT INTO settings (id, data) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET data = excluded.data")?
                    .execute(params![s.agent_id.0, json])?;
            }
        }
        let (conversation, contact) = scope(e);
        self.move_in_feed(&e.reference(), conversation, contact, false)
    }

    fn delete(&mut self, r: EntityRef) -> Result<u64> {
        let (kind, id) = kind_of(&r);
        let scope: Option<(Option<Uuid>, Option<Uuid>)> = self
            .tx
            .prepare_cached(
                "SELECT conversation, contact FROM feed WHERE kind = ?1 AND entity = ?2",
            )?
            .query_row(params![kind, id], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        self.tx
            .prepare_cached(&format!("DELETE FROM {} WHERE id = ?1", table_of(kind)))?
            .execute([id])?;
        let (conversation, contact) = scope.unwrap_or((None, None));
        self.move_in_feed(&r, conversation, contact, true)
    }

    fn touch(&mut self, r: EntityRef) -> Result<()> {
        let (kind, id) = kind_of(&r);
        let scope: Option<(Option<Uuid>, Option<Uuid>, bool)> = self
            .tx
            .prepare_cached(
                "SELECT conversation, contact, deleted FROM feed WHERE kind = ?1 AND entity = ?2",
            )?
            .query_row(params![kind, id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()?;
        if let Some((conversation, contact, deleted)) = scope {
            self.move_in_feed(&r, conversation, contact, deleted)?;
        }
        Ok(())
    }

    fn revoke(&mut self, agent: AgentId, entity: EntityRef) -> Result<()> {
        let seq = self.next_seq();
        self.tx
            .prepare_cached("INSERT INTO revocations (agent, seq, entity) VALUES (?1, ?2, ?3)")?
            .execute(params![
                agent.0,
                seq as i64,
                serde_json::to_string(&entity)?
            ])?;
        Ok(())
    }

    fn agents(&self) -> Result<Vec<Agent>> {
        let rows: Vec<String> = self
            .tx
            .prepare_cached("SELECT data FROM agents")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        rows.iter()
            .map(|j| serde_json::from_str(j).map_err(StorageError::from))
            .collect()
    }

    fn messages_of(&self, conversation: ConversationId) -> Result<Vec<MessageId>> {
        messages_of(&self.tx, conversation)
    }

    fn events_of(&self, conversation: ConversationId) -> Result<Vec<EventId>> {
        Ok(self
            .tx
            .prepare_cached("SELECT id FROM events WHERE conversation = ?1")?
            .query_map([conversation.0], |r| r.get(0).map(EventId))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn calls_of(&self, conversation: ConversationId) -> Result<Vec<outpost_protocol::CallId>> {
        Ok(self
            .tx
            .prepare_cached("SELECT id FROM calls WHERE conversation = ?1")?
            .query_map([conversation.0], |r| r.get(0).map(outpost_protocol::CallId))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn conversations_of(&self, contact: ContactId) -> Result<Vec<ConversationId>> {
        Ok(self
            .tx
            .prepare_cached("SELECT id FROM conversations WHERE contact = ?1")?
            .query_map([contact.0], |r| r.get(0).map(ConversationId))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn all_conversations(&self) -> Result<Vec<Conversation>> {
        let rows: Vec<String> = self
            .tx
            .prepare_cached("SELECT data FROM conversations")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        rows.iter()
            .map(|j| serde_json::from_str(j).map_err(StorageError::from))
            .collect()
    }

    fn contact_by_identity(
        &self,
        channel: ChannelKind,
        address: &str,
    ) -> Result<Option<ContactId>> {
        Ok(self
            .tx
            .prepare_cached("SELECT contact FROM identities WHERE channel = ?1 AND address = ?2")?
            .query_row(params![channel.as_str(), address], |r| {
                r.get(0).map(ContactId)
            })
            .optional()?)
    }

    fn op_result(&self, agent: AgentId, op_id: OpId) -> Result<Option<OpResult>> {
        let json: Option<String> = self
            .tx
            .prepare_cached("SELECT result FROM op_results WHERE agent = ?1 AND op_id = ?2")?
            .query_row(params![agent.0, op_id.0], |r| r.get(0))
            .optional()?;
        json.map(|j| serde_json::from_str(&j).map_err(StorageError::from))
            .transpose()
    }

    fn save_op_result(&mut self, agent: AgentId, result: &OpResult, at: Millis) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO op_results (op_id, agent, result, at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                result.op_id.0,
                agent.0,
                serde_json::to_string(result)?,
                at
            ])?;
        Ok(())
    }

    fn seq(&self) -> Result<u64> {
        Ok(self.seq)
    }

    fn attachment(&self, id: Uuid) -> Result<Option<Upload>> {
        upload_of(&self.tx, id)
    }

    fn provider_message(&self, channel: Uuid, provider_id: &str) -> Result<Option<MessageId>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT message FROM provider_messages WHERE channel = ?1 AND provider_id = ?2",
            )?
            .query_row(params![channel, provider_id], |r| r.get(0).map(MessageId))
            .optional()?)
    }

    fn set_provider_message(
        &mut self,
        channel: Uuid,
        provider_id: &str,
        message: MessageId,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO provider_messages (channel, provider_id, message) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![channel, provider_id, message.0])?;
        Ok(())
    }

    fn keep_early_status(
        &mut self,
        channel: Uuid,
        provider_id: &str,
        status: &str,
        at: Millis,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO early_statuses (channel, provider_id, status, received_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![channel, provider_id, status, at])?;
        Ok(())
    }

    fn take_early_statuses(&mut self, channel: Uuid, provider_id: &str) -> Result<Vec<String>> {
        let statuses = self
            .tx
            .prepare_cached(
                "DELETE FROM early_statuses WHERE channel = ?1 AND provider_id = ?2 RETURNING rowid, status",
            )?
            .query_map(params![channel, provider_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut statuses = statuses;
        statuses.sort_by_key(|(rowid, _)| *rowid);
        Ok(statuses.into_iter().map(|(_, s)| s).collect())
    }

    fn end_delivery(&mut self, message: MessageId) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM deliveries WHERE message = ?1")?
            .execute([message.0])?;
        Ok(())
    }

    fn delay_delivery(
        &mut self,
        message: MessageId,
        parts: u32,
        next_at: Millis,
        error: &str,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE deliveries SET parts = ?2, sending = 0, next_at = ?3, last_error = ?4 WHERE message = ?1",
            )?
            .execute(params![message.0, parts, next_at, error])?;
        Ok(())
    }

    fn link_attachment(
        &mut self,
        id: Uuid,
        message: MessageId,
        conversation: ConversationId,
    ) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE attachments SET message = ?2, conversation = ?3 WHERE id = ?1")?
            .execute(params![id, message.0, conversation.0])?;
        Ok(())
    }

    fn flows(&self) -> Result<Vec<super::Flow>> {
        let rows: Vec<String> = self
            .tx
            .prepare_cached("SELECT data FROM flows ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        rows.iter()
            .map(|j| serde_json::from_str(j).map_err(StorageError::from))
            .collect()
    }

    fn flow_run(&self, contact: ContactId) -> Result<Option<(String, u32)>> {
        Ok(self
            .tx
            .prepare_cached("SELECT flow, step FROM flow_runs WHERE contact = ?1")?
            .query_row([contact.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn set_flow_run(&mut self, contact: ContactId, run: Option<(&str, u32)>) -> Result<()> {
        match run {
            Some((flow, step)) => self
                .tx
                .prepare_cached("INSERT INTO flow_runs (contact, flow, step) VALUES (?1, ?2, ?3) ON CONFLICT (contact) DO UPDATE SET flow = excluded.flow, step = excluded.step")?
                .execute(params![contact.0, flow, step])?,
            None => self.tx.prepare_cached("DELETE FROM flow_runs WHERE contact = ?1")?.execute([contact.0])?,
        };
        Ok(())
    }

    fn set_flows(&mut self, flows: &[super::Flow]) -> Result<()> {
        self.tx.execute("DELETE FROM flows", [])?;
        for f in flows {
            self.tx
                .prepare_cached("INSERT INTO flows (name, data) VALUES (?1, ?2)")?
                .execute(params![f.name, serde_json::to_string(f)?])?;
        }
        Ok(())
    }

    fn set_channel_private(
        &mut self,
        id: Uuid,
        secret_hash: &[u8],
        settings: &serde_json::Value,
    ) -> Result<()> {
        let n = self
            .tx
            .prepare_cached("UPDATE channels SET secret_hash = ?2, data = ?3 WHERE id = ?1")?
            .execute(params![id, secret_hash, settings.to_string()])?;
        if n == 0 {
            return Err(StorageError::Invalid(format!("there is no channel {id}")));
        }
        Ok(())
    }

    fn begin_attempt(&mut self) -> Result<()> {
        self.tx.execute_batch("SAVEPOINT attempt")?;
        self.attempt_seq = Some(self.seq);
        Ok(())
    }

    fn rollback_attempt(&mut self) -> Result<()> {
        self.tx
            .execute_batch("ROLLBACK TO attempt; RELEASE attempt")?;
        if let Some(seq) = self.attempt_seq.take() {
            self.seq = seq;
        }
        Ok(())
    }

    fn commit_attempt(&mut self) -> Result<()> {
        self.tx.execute_batch("RELEASE attempt")?;
        self.attempt_seq = None;
        Ok(())
    }
}

/// One feed row as read for a page.
struct FeedRow {
    seq: u64,
    kind: String,
    entity: Uuid,
    deleted: bool,
    data: Option<String>,
    conversation: Option<String>,
    contact: Option<Uuid>,
}

impl Storage for Sqlite {
    type Tx<'a> = SqliteTx<'a>;

    fn write<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&mut SqliteTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StorageError::from)?;
        let seq = current_seq(&tx)?;
        let mut t = SqliteTx {
            tx,
            seq,
            attempt_seq: None,
        };
        let value = f(&mut t)?;
        let SqliteTx {
            tx, seq: new_seq, ..
        } = t;
        if new_seq != seq {
            tx.prepare_cached("INSERT INTO meta (key, value) VALUES ('seq', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .and_then(|mut s| s.execute([new_seq.to_string()]))
                .map_err(StorageError::from)?;
        }
        tx.commit().map_err(StorageError::from)?;
        Ok(value)
    }

    fn changes(&self, agent: &Agent, after: u64, limit: u32) -> Result<FeedPage> {
        let limit = limit.clamp(1, 5_000) as usize;
        // Rows scanned for a restricted agent before the page is cut, visible or not.
        // Unrestricted agents see every row: they read exactly a page, and no scope.
        let unrestricted = rules::is_privileged(agent)
            || agent.visibility == outpost_protocol::Visibility::Unrestricted;
        let scan = if unrestricted {
            limit as i64
        } else {
            (limit * 8) as i64
        };
        self.read(|conn| {
            conn.execute_batch("BEGIN")?;
            let out = (|| -> Result<FeedPage> {
                let head = current_seq(conn)?;
                let rows: Vec<FeedRow> = conn
                    .prepare_cached(
                        "SELECT f.seq, f.kind, f.entity, f.deleted,
                            CASE f.kind
                                WHEN 'contact' THEN (SELECT data FROM contacts WHERE id = f.entity)
                                WHEN 'conversation' THEN (SELECT data FROM conversations WHERE id = f.entity)
                                WHEN 'message' THEN (SELECT data FROM messages WHERE id = f.entity)
                                WHEN 'event' THEN (SELECT data FROM events WHERE id = f.entity)
                                WHEN 'call' THEN (SELECT data FROM calls WHERE id = f.entity)
                                WHEN 'agent' THEN (SELECT data FROM agents WHERE id = f.entity)
                                WHEN 'team' THEN (SELECT data FROM teams WHERE id = f.entity)
                                WHEN 'channel' THEN (SELECT data FROM channel_entities WHERE id = f.entity)
                                WHEN 'view' THEN (SELECT data FROM views WHERE id = f.entity)
                                WHEN 'settings' THEN (SELECT data FROM settings WHERE id = f.entity)
                            END,
                            CASE WHEN ?3 THEN NULL ELSE (SELECT data FROM conversations WHERE id = f.conversation) END,
                            f.contact
                         FROM feed f WHERE f.seq > ?1 ORDER BY f.seq LIMIT ?2",
                    )?
                    .query_map(params![after as i64, scan, unrestricted], |r| {
                        Ok(FeedRow {
                            seq: r.get::<_, i64>(0)? as u64,
                            kind: r.get(1)?,
                            entity: r.get(2)?,
                            deleted: r.get(3)?,
                            data: r.get(4)?,
                            conversation: r.get(5)?,
                            contact: r.get(6)?,
                        })
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                let scanned_all = (rows.len() as i64) < scan;
                let mut changes: Vec<(u64, String)> = Vec::new();
                let mut last_scanned = after;
                for row in rows {
                    if changes.len() >= limit {
                        break;
                    }
                    last_scanned = row.seq;
                    let Some(r) = reference(&row.kind, row.entity) else { continue };
                    // An agent's notification settings are theirs alone, whatever their role.
                    if row.kind == "settings" && row.entity != agent.id.0 {
                        continue;
                    }
                    if !unrestricted && !visible(conn, agent, &row)? {
                        continue;
                    }
                    if row.kind == "view" && !row.deleted
                        && let Some(data) = &row.data
                            && !shared_with(&serde_json::from_str(data)?, agent) {
                                continue;
                            }
                    // The stored JSON goes into the page as it is: the shape of `Change`.
                    let json = match (&row.data, row.deleted) {
                        (Some(data), false) => format!(
                            r#"{{"seq":{},"change":"upsert","entity":{{"type":"{}","data":{data}}}}}"#,
                            row.seq, row.kind
                        ),
                        _ => format!(
                            r#"{{"seq":{},"change":"tombstone","entity":{}}}"#,
                            row.seq,
                            serde_json::to_string(&r)?
                        ),
                    };
                    changes.push((row.seq, json));
                }
                let cursor = if changes.len() < limit && scanned_all { head.max(after) } else { last_scanned };
                // Revocations up to the cursor, merged in seq order (each has a seq of its own).
                let revoked: Vec<(i64, String)> = conn
                    .prepare_cached(
                        "SELECT seq, entity FROM revocations WHERE agent = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq",
                    )?
                    .query_map(params![agent.id.0, after as i64, cursor as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                for (seq, entity) in revoked {
                    changes.push((seq as u64, format!(r#"{{"seq":{seq},"change":"revoke","entity":{entity}}}"#)));
                }
                changes.sort_by_key(|c| c.0);
                let mut page = String::with_capacity(changes.iter().map(|c| c.1.len() + 1).sum::<usize>() + 64);
                page.push_str(r#"{"changes":["#);
                for (i, (_, json)) in changes.iter().enumerate() {
                    if i > 0 {
                        page.push(',');
                    }
                    page.push_str(json);
                }
                page.push_str(&format!(r#"],"cursor":{cursor},"has_more":{},"head":{head}}}"#, cursor < head));
                Ok(FeedPage { json: page, cursor, has_more: cursor < head })
            })();
            conn.execute_batch("COMMIT")?;
            out
        })
    }

    fn recent(&self, agent: &Agent, conversations: u32, messages: u32) -> Result<String> {
        /// Conversation rows read, newest change first, to find the most recently active.
        const CANDIDATES: usize = 1_000;
        let wanted = conversations.clamp(1, 500) as usize;
        let messages = messages.clamp(1, 200) as i64;
        self.read(|conn| {
            conn.execute_batch("BEGIN")?;
            let out = (|| -> Result<String> {
                let head = current_seq(conn)?;
                // Every new message touches its conversation, so the recently active ones are
                // among the last conversation rows of the feed; of those, the latest messages win.
                let mut candidates: Vec<(u64, Millis, Conversation, String)> = Vec::new();
                {
                    let mut stmt = conn.prepare_cached(
                        "SELECT f.seq, c.data FROM feed f JOIN conversations c ON c.id = f.entity
                         WHERE f.kind = 'conversation' AND f.deleted = 0 ORDER BY f.seq DESC",
                    )?;
                    let mut rows = stmt.query([])?;
                    while let Some(row) = rows.next()? {
                        let data: String = row.get(1)?;
                        let c: Conversation = serde_json::from_str(&data)?;
                        if rules::may_see(agent, &c) {
                            candidates.push((row.get::<_, i64>(0)? as u64, c.last_message_at, c, data));
                            if candidates.len() >= CANDIDATES {
                                break;
                            }
                        }
                    }
                }
                candidates.sort_by_key(|c| std::cmp::Reverse(c.1));
                candidates.truncate(wanted);
                let mut changes: Vec<(u64, String)> = Vec::new();
                let upsert = |seq: u64, kind: &str, data: &str| {
                    format!(r#"{{"seq":{seq},"change":"upsert","entity":{{"type":"{kind}","data":{data}}}}}"#)
                };
                let mut contacts = std::collections::HashSet::new();
                for (seq, _, c, data) in &candidates {
                    changes.push((*seq, upsert(*seq, "conversation", data)));
                    if contacts.insert(c.contact_id) {
                        let contact: Option<(i64, String)> = conn
                            .prepare_cached(
                                "SELECT f.seq, k.data FROM contacts k JOIN feed f ON f.kind = 'contact' AND f.entity = k.id
                                 WHERE k.id = ?1",
                            )?
                            .query_row([c.contact_id.0], |r| Ok((r.get(0)?, r.get(1)?)))
                            .optional()?;
                        if let Some((seq, data)) = contact {
                            changes.push((seq as u64, upsert(seq as u64, "contact", &data)));
                        }
                    }
                    for (table, kind) in [("messages", "message"), ("events", "event"), ("calls", "call")] {
                        let rows: Vec<(i64, String)> = conn
                            .prepare_cached(&format!(
                                "SELECT f.seq, m.data FROM (SELECT id, data FROM {table} WHERE conversation = ?1
                                                           ORDER BY rowid DESC LIMIT ?2) m
                                 JOIN feed f ON f.kind = '{kind}' AND f.entity = m.id"
                            ))?
                            .query_map(params![c.id.0, messages], |r| Ok((r.get(0)?, r.get(1)?)))?
                            .collect::<rusqlite::Result<_>>()?;
                        for (seq, data) in rows {
                            changes.push((seq as u64, upsert(seq as u64, kind, &data)));
                        }
                    }
                }
                // Who and what the conversations refer to: agents, teams, the views shared.
                for (kind, table) in [("agent", "agents"), ("team", "teams"), ("view", "views")] {
                    let rows: Vec<(i64, String)> = conn
                        .prepare_cached(&format!(
                            "SELECT f.seq, t.data FROM feed f JOIN {table} t ON t.id = f.entity
                             WHERE f.kind = '{kind}' AND f.deleted = 0"
                        ))?
                        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<rusqlite::Result<_>>()?;
                    for (seq, data) in rows {
                        if kind == "view" && !shared_with(&serde_json::from_str(&data)?, agent) {
                            continue;
                        }
                        changes.push((seq as u64, upsert(seq as u64, kind, &data)));
                    }
                }
                changes.sort_by_key(|c| c.0);
                let mut page = String::with_capacity(changes.iter().map(|c| c.1.len() + 1).sum::<usize>() + 32);
                page.push_str(r#"{"changes":["#);
                for (i, (_, json)) in changes.iter().enumerate() {
                    if i > 0 {
                        page.push(',');
                    }
                    page.push_str(json);
                }
                page.push_str(&format!(r#"],"head":{head}}}"#));
                Ok(page)
            })();
            conn.execute_batch("COMMIT")?;
            out
        })
    }

    fn seq(&self) -> Result<u64> {
        self.read(current_seq)
    }

    fn credentials(&self, email: &str) -> Result<Option<Credentials>> {
        self.read(|c| {
            let row: Option<(String, String, bool)> = c
                .prepare_cached(
                    "SELECT data, password_hash, disabled FROM agents WHERE email = ?1",
                )?
                .query_row([email.trim().to_lowercase()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            row.map(|(data, password_hash, disabled)| {
                Ok(Credentials {
                    agent: serde_json::from_str(&data)?,
                    password_hash,
                    disabled,
                })
            })
            .transpose()
        })
    }

    fn password_hash(&self, agent: AgentId) -> Result<Option<String>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT password_hash FROM agents WHERE id = ?1")?
                    .query_row([agent.0], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    fn change_password(
        &self,
        agent: AgentId,
        password_hash: &str,
        keep: Option<&[u8]>,
    ) -> Result<()> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        tx.prepare_cached("UPDATE agents SET password_hash = ?2 WHERE id = ?1")?
            .execute(params![agent.0, password_hash])?;
        tx.prepare_cached("DELETE FROM sessions WHERE agent = ?1 AND token_hash IS NOT ?2")?
            .execute(params![agent.0, keep])?;
        tx.commit()?;
        Ok(())
    }

    fn end_sessions(&self, agent: AgentId) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.prepare_cached("DELETE FROM sessions WHERE agent = ?1")?
            .execute([agent.0])?;
        Ok(())
    }

    fn set_disabled(&self, agent: AgentId, disabled: bool) -> Result<()> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        tx.prepare_cached("UPDATE agents SET disabled = ?2 WHERE id = ?1")?
            .execute(params![agent.0, disabled])?;
        if disabled {
            tx.prepare_cached("DELETE FROM sessions WHERE agent = ?1")?
                .execute([agent.0])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn is_disabled(&self, agent: AgentId) -> Result<bool> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT disabled FROM agents WHERE id = ?1")?
                    .query_row([agent.0], |r| r.get(0))
                    .optional()?
                    .unwrap_or(false),
            )
        })
    }

    fn set_password(&self, agent: AgentId, email: &str, password_hash: &str) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let n = conn
            .prepare_cached("UPDATE agents SET password_hash = ?2, email = ?3 WHERE id = ?1")?
            .execute(params![agent.0, password_hash, email.trim().to_lowercase()])?;
        if n == 0 {
            return Err(StorageError::Invalid("no such agent".into()));
        }
        Ok(())
    }

    fn create_session(
        &self,
        token_hash: &[u8],
        agent: AgentId,
        now: Millis,
        expires_at: Millis,
    ) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")?
            .execute([now])?;
        conn.prepare_cached("INSERT INTO sessions (token_hash, agent, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![token_hash, agent.0, now, expires_at])?;
        Ok(())
    }

    fn session(&self, token_hash: &[u8], now: Millis) -> Result<Option<Session>> {
        self.read(|c| {
            let row: Option<(String, Millis)> = c
                .prepare_cached(
                    "SELECT a.data, s.expires_at FROM sessions s JOIN agents a ON a.id = s.agent
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND a.disabled = 0",
                )?
                .query_row(params![token_hash, now], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            row.map(|(d, expires_at)| {
                Ok(Session {
                    agent: serde_json::from_str(&d)?,
                    expires_at,
                })
            })
            .transpose()
        })
    }

    fn end_session(&self, token_hash: &[u8]) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
            .execute([token_hash])?;
        Ok(())
    }

    fn create_invite(&self, token_hash: &[u8], agent: AgentId, expires_at: Millis) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.prepare_cached(
            "INSERT INTO invites (token_hash, agent, expires_at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![token_hash, agent.0, expires_at])?;
        Ok(())
    }

    fn take_invite(&self, token_hash: &[u8], now: Millis) -> Result<Option<(AgentId, Millis)>> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let row: Option<(Uuid, Millis)> = conn
            .prepare_cached(
                "DELETE FROM invites WHERE token_hash = ?1 AND expires_at > ?2 RETURNING agent, expires_at",
            )?
            .query_row(params![token_hash, now], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(row.map(|(a, at)| (AgentId(a), at)))
    }

    fn set_channel_secret(&self, id: Uuid, secret_hash: &[u8]) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let n = conn
            .prepare_cached("UPDATE channels SET secret_hash = ?2 WHERE id = ?1")?
            .execute(params![id, secret_hash])?;
        if n == 0 {
            return Err(StorageError::Invalid(format!("there is no channel {id}")));
        }
        Ok(())
    }

    fn channel(&self, id: Uuid) -> Result<Option<(ChannelKind, Vec<u8>)>> {
        self.read(|c| {
            let row: Option<(String, Vec<u8>)> = c
                .prepare_cached("SELECT kind, secret_hash FROM channels WHERE id = ?1")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            Ok(row.and_then(|(k, h)| ChannelKind::parse(&k).map(|k| (k, h))))
        })
    }

    fn channel_entities(&self) -> Result<Vec<outpost_protocol::Channel>> {
        self.read(|c| {
            let rows: Vec<String> = c
                .prepare_cached("SELECT data FROM channel_entities ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            rows.iter()
                .map(|d| serde_json::from_str(d).map_err(StorageError::from))
                .collect()
        })
    }

    fn channels(&self) -> Result<Vec<(Uuid, ChannelKind)>> {
        self.read(|c| {
            let rows: Vec<(Uuid, String)> = c
                .prepare_cached("SELECT id, kind FROM channels ORDER BY kind, id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(id, k)| ChannelKind::parse(&k).map(|k| (id, k)))
                .collect())
        })
    }

    fn create_visitor(&self, v: &super::Visitor, token_hash: &[u8]) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.prepare_cached(
            "INSERT INTO widget_visitors (id, channel, token_hash, name, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![v.id, v.channel, token_hash, v.name, v.email, v.created_at])?;
        Ok(())
    }

    fn visitor(&self, token_hash: &[u8]) -> Result<Option<super::Visitor>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT id, channel, name, email, created_at FROM widget_visitors WHERE token_hash = ?1",
            )?
            .query_row([token_hash], |r| {
                Ok(super::Visitor {
                    id: r.get(0)?,
                    channel: r.get(1)?,
                    name: r.get(2)?,
                    email: r.get(3)?,
                    created_at: r.get(4)?,
                })
            })
            .optional()?)
        })
    }

    fn web_chat_messages(
        &self,
        address: &str,
        limit: u32,
    ) -> Result<Vec<outpost_protocol::Message>> {
        self.read(|c| {
            let rows: Vec<String> = c
                .prepare_cached(
                    "SELECT data FROM (
                        SELECT m.data AS data, json_extract(m.data, '$.created_at') AS at FROM identities i
                        JOIN conversations c ON c.contact = i.contact
                        JOIN messages m ON m.conversation = c.id
                        WHERE i.channel = 'web_chat' AND i.address = ?1
                          AND json_extract(m.data, '$.channel') = 'web_chat'
                        ORDER BY at DESC LIMIT ?2
                     ) ORDER BY at",
                )?
                .query_map(params![address, limit], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            rows.iter()
                .map(|d| serde_json::from_str(d).map_err(StorageError::from))
                .collect()
        })
    }

    fn conversations_changed_since(
        &self,
        after: u64,
        conversations: &[ConversationId],
    ) -> Result<bool> {
        let ids: Vec<Uuid> = conversations.iter().map(|c| c.0).collect();
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT conversation FROM feed WHERE seq > ?1 AND conversation IS NOT NULL",
            )?;
            let mut rows = stmt.query([after as i64])?;
            while let Some(row) = rows.next()? {
                let id: Uuid = row.get(0)?;
                if ids.contains(&id) {
                    return Ok(true);
                }
            }
            Ok(false)
        })
    }

    fn outgoing_queue(&self) -> Result<u64> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT count(*) FROM messages WHERE status = 'pending'")?
                    .query_row([], |r| r.get::<_, i64>(0))? as u64,
            )
        })
    }

    fn due_messages(&self, now: Millis) -> Result<Vec<MessageId>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT id FROM messages WHERE status = 'scheduled' AND send_at <= ?1 ORDER BY send_at LIMIT 500")?
                .query_map([now], |r| r.get(0).map(MessageId))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    fn due_snoozes(&self, now: Millis) -> Result<Vec<ConversationId>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT id FROM conversations WHERE snoozed_until IS NOT NULL AND snoozed_until <= ?1 LIMIT 500")?
                .query_map([now], |r| r.get(0).map(ConversationId))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    fn messages_in_delivery(
        &self,
        since: Millis,
        kinds: &[ChannelKind],
        limit: u32,
    ) -> Result<Vec<MessageId>> {
        // The kinds as a JSON array: one cached statement whatever their number.
        let kinds = serde_json::to_string(&kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>())?;
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT id FROM messages
                 WHERE status IN ('pending', 'wired', 'sent', 'delivered') AND moved_at >= ?1
                   AND json_extract(data, '$.channel') IN (SELECT value FROM json_each(?3))
                 ORDER BY moved_at LIMIT ?2",
            )?
            .query_map(params![since, limit, kinds], |r| r.get(0).map(MessageId))?
            .collect::<rusqlite::Result<_>>()?)
        })
    }

    fn channel_settings(&self, id: Uuid) -> Result<Option<serde_json::Value>> {
        self.read(|c| {
            let data: Option<String> = c
                .prepare_cached("SELECT data FROM channels WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            data.map(|d| serde_json::from_str(&d).map_err(StorageError::from))
                .transpose()
        })
    }

    fn set_channel_settings(&self, id: Uuid, settings: &serde_json::Value) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.prepare_cached("UPDATE channels SET data = ?2 WHERE id = ?1")?
            .execute(params![id, settings.to_string()])?;
        Ok(())
    }

    fn get(&self, r: EntityRef) -> Result<Option<Entity>> {
        self.read(|c| get_entity(c, r))
    }

    fn put_attachment(
        &self,
        id: Uuid,
        uploader: Uploader,
        mime: &str,
        bytes: &[u8],
        now: Millis,
    ) -> Result<Uploaded> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(up) = upload_of(&conn, id)? {
            let same = up.uploader == uploader && up.size == bytes.len() as u64 && up.mime == mime;
            return Ok(if same {
                Uploaded::AlreadyThere
            } else {
                Uploaded::Taken
            });
        }
        let (who, by_channel) = match uploader {
            Uploader::Agent(a) => (a.0, false),
            Uploader::Channel(c) => (c, true),
        };
        conn.prepare_cached(
            "INSERT INTO attachments (id, uploader, by_channel, mime, size, bytes, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![id, who, by_channel, mime, bytes.len() as i64, bytes, now])?;
        Ok(Uploaded::Stored)
    }

    fn uploaded_since(&self, agent: AgentId, since: Millis) -> Result<u64> {
        self.read(|c| {
            let total: i64 = c
                .prepare_cached(
                    "SELECT coalesce(sum(size), 0) FROM attachments
                     WHERE uploader = ?1 AND by_channel = 0 AND created_at >= ?2",
                )?
                .query_row(params![agent.0, since], |r| r.get(0))?;
            Ok(total.max(0) as u64)
        })
    }

    fn sweep_unclaimed(&self, before: Millis) -> Result<usize> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        Ok(conn
            .prepare_cached("DELETE FROM attachments WHERE message IS NULL AND created_at < ?1")?
            .execute([before])?)
    }

    fn attachment(&self, id: Uuid) -> Result<Option<(Upload, Vec<u8>)>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT uploader, mime, size, message, conversation, by_channel, bytes FROM attachments WHERE id = ?1",
            )?
            .query_row([id], |r| Ok((upload_row(r)?, r.get(6)?)))
            .optional()?)
        })
    }

    fn pending_deliveries(&self, kinds: &[ChannelKind], limit: u32) -> Result<Vec<super::Pending>> {
        let kinds = serde_json::to_string(&kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>())?;
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT m.id, m.conversation, d.next_at, d.sending FROM messages m
                 LEFT JOIN deliveries d ON d.message = m.id
                 WHERE m.status = 'pending'
                   AND json_extract(m.data, '$.channel') IN (SELECT value FROM json_each(?2))
                 ORDER BY m.moved_at LIMIT ?1",
            )?
            .query_map(params![limit, kinds], |r| {
                Ok(super::Pending {
                    message: MessageId(r.get(0)?),
                    conversation: ConversationId(r.get(1)?),
                    next_at: r.get(2)?,
                    sending: r.get::<_, Option<i64>>(3)?.unwrap_or(0) != 0,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
        })
    }

    fn claim_delivery(
        &self,
        message: MessageId,
        channel: Uuid,
        now: Millis,
        process: Uuid,
    ) -> Result<Option<(u32, u32)>> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        // One statement: the message is still queued, and no request for it is out.
        let claimed: Option<(i64, i64)> = conn
            .prepare_cached(
                "INSERT INTO deliveries (message, channel, attempts, sending, first_at, next_at, owner)
                 SELECT id, ?2, 1, 1, ?3, ?3, ?4 FROM messages WHERE id = ?1 AND status = 'pending'
                 ON CONFLICT (message) DO UPDATE
                   SET attempts = attempts + 1, sending = 1, channel = excluded.channel, owner = excluded.owner
                   WHERE deliveries.sending = 0
                 RETURNING attempts, parts",
            )?
            .query_row(params![message.0, channel, now, process], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        Ok(claimed.map(|(a, p)| (a as u32, p as u32)))
    }

    fn messages_of(&self, conversation: ConversationId) -> Result<Vec<MessageId>> {
        self.read(|c| messages_of(c, conversation))
    }

    fn provider_id_of(&self, message: MessageId) -> Result<Option<(Uuid, String)>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT channel, provider_id FROM provider_messages WHERE message = ?1 ORDER BY rowid LIMIT 1",
            )?
            .query_row([message.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
        })
    }

    fn retry_delivery(&self, message: MessageId, next_at: Millis, error: &str) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.prepare_cached(
            "UPDATE deliveries SET sending = 0, next_at = ?2, last_error = ?3 WHERE message = ?1",
        )?
        .execute(params![message.0, next_at, error])?;
        Ok(())
    }

    fn deliveries_sending(&self, process: Uuid, starting: bool) -> Result<Vec<(MessageId, Uuid)>> {
        // One process serves a SQLite store (the data directory's lock): every other is gone.
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT message, channel FROM deliveries WHERE sending = 1 AND (?2 OR owner IS NOT ?1)")?
                    .query_map(params![process, starting], |r| Ok((MessageId(r.get(0)?), r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?,
            )
        })
    }

    fn delivery_began(&self, message: MessageId) -> Result<Option<Millis>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT first_at FROM deliveries WHERE message = ?1")?
                    .query_row([message.0], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    fn sweep_early_statuses(&self, before: Millis) -> Result<usize> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        Ok(conn
            .prepare_cached("DELETE FROM early_statuses WHERE received_at < ?1")?
            .execute([before])?)
    }

    fn channel_cursor(&self, channel: Uuid, name: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT value FROM channel_cursors WHERE channel = ?1 AND name = ?2",
            )?
            .query_row(params![channel, name], |r| r.get(0))
            .optional()?)
        })
    }

    fn set_channel_cursor(&self, channel: Uuid, name: &str, value: &str) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.prepare_cached(
            "INSERT INTO channel_cursors (channel, name, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (channel, name) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![channel, name, value])?;
        Ok(())
    }
}

fn messages_of(conn: &Connection, conversation: ConversationId) -> Result<Vec<MessageId>> {
    Ok(conn
        .prepare_cached("SELECT id FROM messages WHERE conversation = ?1")?
        .query_map([conversation.0], |r| r.get(0).map(MessageId))?
        .collect::<rusqlite::Result<_>>()?)
}

fn upload_of(conn: &Connection, id: Uuid) -> Result<Option<Upload>> {
    Ok(conn
        .prepare_cached(
            "SELECT uploader, mime, size, message, conversation, by_channel FROM attachments WHERE id = ?1",
        )?
        .query_row([id], upload_row)
        .optional()?)
}

/// An upload from the first six columns: uploader, mime, size, message, conversation, by_channel.
fn upload_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Upload> {
    let who: Uuid = r.get(0)?;
    Ok(Upload {
        uploader: if r.get(5)? {
            Uploader::Channel(who)
        } else {
            Uploader::Agent(AgentId(who))
        },
        mime: r.get(1)?,
        size: r.get::<_, i64>(2)? as u64,
        message: r.get::<_, Option<Uuid>>(3)?.map(MessageId),
        conversation: r.get::<_, Option<Uuid>>(4)?.map(ConversationId),
    })
}

/// Whether a restricted agent may see a feed row, by the current state of its scope.
/// Whether a custom view is the agent's own or shared with them (directly or through a team).
pub(super) fn shared_with(view: &outpost_protocol::CustomView, agent: &Agent) -> bool {
    view.owner == agent.id
        || view.sharing.agents.contains(&agent.id)
        || view.sharing.teams.iter().any(|t| agent.teams.contains(t))
}

fn visible(conn: &Connection, agent: &Agent, row: &FeedRow) -> Result<bool> {
    match row.kind.as_str() {
        "conversation" | "message" | "event" | "call" => match &row.conversation {
            Some(data) => {
                let c: Conversation = serde_json::from_str(data)?;
                Ok(rules::may_see(agent, &c))
            }
            // The conversation is gone: a tombstone is harmless to anyone.
            None => Ok(row.deleted),
        },
        "contact" => {
            let Some(contact) = row.contact else {
                return Ok(false);
            };
            if row.deleted {
                return Ok(true);
            }
            let rows: Vec<String> = conn
                .prepare_cached("SELECT data FROM conversations WHERE contact = ?1")?
                .query_map([contact], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for data in rows {
                let c: Conversation = serde_json::from_str(&data)?;
                if rules::may_see(agent, &c) {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        _ => Ok(true),
    }
}
