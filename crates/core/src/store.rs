//! The SQLite mirror: everything the agent may see, as the server last said it, with the agent's
//! unsettled actions replayed on top.
//!
//! - One writer connection; every write is one transaction through [`Store::write`], which keeps
//!   the folder counts, the full-text index and (while an op is applied) the op's undo log in step
//!   with the rows. Readers are separate read-only connections (WAL), so a list or a search never
//!   waits behind a sync of thousands of messages.
//! - The schema is a list of numbered .sql migrations; `PRAGMA user_version` holds the last one
//!   applied and `PRAGMA application_id` marks the file as ours. A file that is not ours, is
//!   damaged, or comes from a newer version is refused with a clear error and never rewritten.

mod calls;
mod entities;
mod files;
mod fts;
mod journal;
mod search;
mod uploads;
mod views;
pub(crate) mod workspace;

pub use calls::{CallCursor, CallFilter, CallPage, CallRow};
pub(crate) use entities::meta_get;
#[cfg(test)]
pub(crate) use entities::{
    MESSAGE_COLUMNS as MESSAGE_COLUMNS_PUB, get_conversation as entities_get_conversation,
    get_message as entities_get_message, message_from_row as message_row,
};
pub use entities::{get_contact, get_entity, message_data_json, message_key};
pub(crate) use entities::{get_conversation, get_message, notify_settings};
pub use journal::{JournalEntry, OpState};
pub use search::{ContactHit, MessageHit, SearchResults, fts_query};
pub use uploads::Tidied;
pub use views::{
    Assignee, ConversationPage, ConversationSummary, Counts, ListCursor, ListQuery, MessagePage,
    MessageRow, Sort, Timeline, TimelineItem, ViewCount, ViewRef,
};

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use outpost_protocol::{Agent, ContactId, ConversationId, EntityRef, Folder};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// `PRAGMA application_id` of an Outpost mirror ("Outp").
pub const APPLICATION_ID: i64 = 0x4F75_7470;

/// The migrations, in order: migration N brings the schema to version N.
const MIGRATIONS: &[&str] = &[
    include_str!("store/migrations/001_initial.sql"),
    include_str!("store/migrations/002_uploads.sql"),
    include_str!("store/migrations/003_files.sql"),
    include_str!("store/migrations/004_upload_message.sql"),
    include_str!("store/migrations/005_refusal_why.sql"),
    include_str!("store/migrations/006_channels.sql"),
    include_str!("store/migrations/007_prefix_from_three.sql"),
    include_str!("store/migrations/008_calls.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Text as views and search compare it: lower case, accents removed ("Não" → "nao").
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Messages indexed per transaction by [`Store::finish_bulk_load`]: a chunk takes ~15 ms, what an
/// agent's action may wait behind it (5,000 a chunk: ~35 ms, 87 ms at worst at 1,000,000
/// messages, for the same total).
pub const INDEX_CHUNK: i64 = 2_000;

/// What a write changed, for the events the UI refetches by.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changed {
    pub conversations: BTreeSet<ConversationId>,
    pub contacts: BTreeSet<ContactId>,
    /// Some message changed folder or was added or removed: the folder counts may differ.
    pub folders: bool,
    pub views: bool,
    /// The team changed: agents, teams or channels.
    pub agents: bool,
    pub journal: bool,
    /// The agent's notification settings.
    pub settings: bool,
}

impl Changed {
    pub fn is_empty(&self) -> bool {
        *self == Changed::default()
    }

    pub fn merge(&mut self, other: Changed) {
        self.conversations.extend(other.conversations);
        self.contacts.extend(other.contacts);
        self.folders |= other.folders;
        self.views |= other.views;
        self.agents |= other.agents;
        self.journal |= other.journal;
        self.settings |= other.settings;
    }
}

/// How a write keeps the message full-text index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexMode {
    /// Index each message as it is written.
    Immediate,
    /// Initial load: skip indexing; [`Store::finish_bulk_load`] builds the index in one pass.
    Deferred,
}

pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    me: Mutex<Option<Agent>>,
    /// Dropping it stops the checkpointer thread.
    _checkpointer: Option<std::sync::mpsc::Sender<()>>,
    /// Pages of changes stored since the writer last checkpointed.
    pages_since_checkpoint: std::sync::atomic::AtomicU32,
    /// Where fetched files are kept (`store/files.rs`), and how much they may take.
    files_dir: PathBuf,
    file_budget: std::sync::atomic::AtomicU64,
}

/// While pages of changes stream in, the writer checkpoints between them every this many pages:
/// a checkpoint from another thread never finds a moment without a writer, so the log would
/// never restart and would grow by gigabytes during a first sync.
const CHECKPOINT_EVERY_PAGES: u32 = 64;

/// Moves the write-ahead log into the database from a thread of its own, so that no agent's
/// action waits for a checkpoint (the writer's automatic checkpoints are off). PASSIVE never
/// blocks the writer or the readers.
fn spawn_checkpointer(path: &Path) -> Option<std::sync::mpsc::Sender<()>> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    conn.busy_timeout(Duration::from_millis(100)).ok()?;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("outpost-checkpoint".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_millis(500))
            {
                // Busy now (a writer holds the file): the next round checkpoints.
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::debug!("checkpoint skipped: {e}");
                }
            }
        })
        .ok()?;
    Some(stop)
}

/// One write transaction. Every row change goes through its methods (see `store/entities.rs`),
/// which keep counts, index, undo log and the change set in step.
pub struct Tx<'c> {
    tx: rusqlite::Transaction<'c>,
    folder_delta: [i64; 7],
    undo: Option<UndoLog>,
    /// None: every message is in the full-text index. Some(n): a first sync's index is being
    /// built, and only the rows up to rowid n are in it yet.
    indexed_upto: Option<i64>,
    me: Option<Agent>,
    me_changed: bool,
    pub changed: Changed,
    /// Fetched files whose rows this write dropped: their bytes are removed after the commit.
    dropped_files: Vec<uuid::Uuid>,
}

/// The undo log of the op being applied.
struct UndoLog {
    op_seq: i64,
    next_ord: i64,
    seen: HashSet<EntityRef>,
}

fn open_err(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::CorruptDatabase {
                path: path.to_owned(),
                detail: e.to_string(),
            }
        }
        _ => Error::from(e),
    }
}

/// Looks at an existing file without writing to it: is it ours, whole, and not from the future?
fn inspect_existing(path: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| open_err(path, e))?;
    let probe = || -> rusqlite::Result<(i64, i64, i64)> {
        let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let objects: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        Ok((app, version, objects))
    };
    let (app, version, objects) = probe().map_err(|e| open_err(path, e))?;
    if app == 0 && version == 0 && objects == 0 {
        return Ok(()); // an empty database: ours to set up
    }
    if app != APPLICATION_ID {
        return Err(Error::ForeignDatabase {
            path: path.to_owned(),
        });
    }
    if version > SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            path: path.to_owned(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(())
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;
         PRAGMA journal_size_limit = 67108864;
         PRAGMA cache_size = -65536;",
    )
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql).map_err(|e| open_err(path, e))?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        tx.commit()?;
    }
    Ok(())
}

/// A file SQLite keeps beside the mirror (`-wal`, `-shm`).
fn sidecar(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

impl Store {
    /// Opens the mirror at `path`, creating it if there is none.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref().to_owned();
        if path.metadata().is_ok_and(|m| m.len() > 0) {
            inspect_existing(&path)?;
        }
        // Owner-only, and so are the WAL and SHM SQLite makes beside it (it gives them the
        // mirror's own mode); an older version's readable files are tightened.
        crate::owner_only::file(&path)?;
        for beside in [
            files::files_dir(&path),
            sidecar(&path, "-wal"),
            sidecar(&path, "-shm"),
        ] {
            crate::owner_only::tighten_if_there(&beside)?;
        }
        let mut writer = Connection::open(&path).map_err(|e| open_err(&path, e))?;
        configure(&writer).map_err(|e| open_err(&path, e))?;
        migrate(&mut writer, &path)?;
        writer.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
        let checkpointer = spawn_checkpointer(&path);
        if checkpointer.is_none() {
            writer.execute_batch("PRAGMA wal_autocheckpoint = 1000;")?;
        }
        let store = Store {
            _checkpointer: checkpointer,
            pages_since_checkpoint: std::sync::atomic::AtomicU32::new(0),
            files_dir: files::files_dir(&path),
            file_budget: std::sync::atomic::AtomicU64::new(files::FILE_CACHE_BYTES),
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            me: Mutex::new(None),
        };
        let me = store.read(entities::load_me).map_err(|e| match e {
            Error::Sqlite(e) => open_err(&store.path, e),
            other => other,
        })?;
        *store.me.lock().unwrap_or_else(|p| p.into_inner()) = me;
        store.sweep_files()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The signed-in agent, if any.
    pub fn me(&self) -> Option<Agent> {
        self.me.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs `f` in one write transaction: all of it is stored, or none of it.
    pub fn write<T>(
        &self,
        index: IndexMode,
        f: impl FnOnce(&mut Tx) -> Result<T>,
    ) -> Result<(T, Changed)> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let me = self.me();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // While a first sync's index is being built, a write keeps the index of the rows the
        // build has passed and leaves the others to it (see `finish_bulk_load`). A deferred
        // write that starts a first sync indexes nothing: the build starts over.
        let indexed_upto = if entities::meta_get(&tx, "index_pending")?.is_some() {
            Some(entities::index_upto(&tx)?.unwrap_or(i64::MIN))
        } else if index == IndexMode::Deferred {
            Some(i64::MIN)
        } else {
            None
        };
        let mut tx = Tx {
            tx,
            folder_delta: [0; 7],
            undo: None,
            indexed_upto,
            me,
            me_changed: false,
            changed: Changed::default(),
            dropped_files: Vec::new(),
        };
        let value = f(&mut tx)?;
        tx.flush_counts()?;
        let Tx {
            tx,
            changed,
            me,
            me_changed,
            dropped_files,
            ..
        } = tx;
        tx.commit()?;
        if me_changed {
            *self.me.lock().unwrap_or_else(|p| p.into_inner()) = me;
        }
        self.remove_files(&dropped_files);
        Ok((value, changed))
    }

    /// After a page of changes: every few pages, move the log into the database between two
    /// transactions, so that the next write starts the log afresh.
    pub(crate) fn after_page(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.pages_since_checkpoint.fetch_add(1, Ordering::Relaxed) + 1 >= CHECKPOINT_EVERY_PAGES
        {
            self.pages_since_checkpoint.store(0, Ordering::Relaxed);
            let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    /// Runs `f` on a read-only connection of its own (never blocked by the writer).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|e| open_err(&self.path, e))?;
                c.busy_timeout(Duration::from_secs(10))?;
                c.execute_batch("PRAGMA query_only = 1; PRAGMA cache_size = -16384;")?;
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

    /// A value kept in the mirror's meta table.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.read(|c| entities::meta_get(c, key))
    }

    /// The change-feed cursor: the `seq` of the last change stored.
    pub fn cursor(&self) -> Result<u64> {
        self.read(|c| entities::meta_u64(c, "cursor"))
    }

    /// Builds the message full-text index after a [`IndexMode::Deferred`] load, in chunks of
    /// rows in rowid order, each its own transaction: an agent's action waits at most for one
    /// chunk, not for the whole build. `index_upto` says how far it got (a build cut short
    /// goes on from there); writes meanwhile keep the index of the rows it has passed.
    pub fn finish_bulk_load(&self) -> Result<()> {
        while !self.index_chunk()? {
            // Let a waiting action have the writer before the next chunk.
            std::thread::sleep(Duration::from_millis(1));
        }
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute_batch("PRAGMA optimize;")?;
        Ok(())
    }

    /// One chunk of [`Store::finish_bulk_load`]; whether the index is now whole.
    pub(crate) fn index_chunk(&self) -> Result<bool> {
        let (done, _) = self.write(IndexMode::Immediate, |tx| {
            if entities::meta_get(tx.conn(), "index_pending")?.is_none() {
                return Ok(true);
            }
            let upto = match entities::index_upto(tx.conn())? {
                Some(upto) => upto,
                None => {
                    // The first chunk: whatever the index held before the load goes.
                    tx.conn().execute_batch(
                        "INSERT INTO messages_fts (messages_fts) VALUES ('delete-all');",
                    )?;
                    i64::MIN
                }
            };
            let end: Option<i64> = tx
                .conn()
                .prepare_cached(
                    "SELECT id FROM messages WHERE id > ?1 ORDER BY id LIMIT 1 OFFSET ?2",
                )?
                .query_row(params![upto, INDEX_CHUNK - 1], |r| r.get(0))
                .optional()?;
            tx.conn()
                .prepare_cached(
                    "INSERT INTO messages_fts (rowid, text)
                     SELECT id, text FROM messages WHERE id > ?1 AND id <= ?2",
                )?
                .execute(params![upto, end.unwrap_or(i64::MAX)])?;
            match end {
                Some(end) => tx.meta_set("index_upto", &end.to_string())?,
                None => tx.conn().execute_batch(
                    "DELETE FROM meta WHERE key IN ('index_pending', 'index_upto');",
                )?,
            }
            Ok(end.is_none())
        })?;
        Ok(done)
    }

    /// Whether the message index is only being built again (a new version's index over a
    /// mirror already synced), not waiting for a first sync's end.
    pub fn index_rebuilding(&self) -> Result<bool> {
        Ok(self.meta("index_pending")?.as_deref() == Some("rebuild"))
    }

    /// Whether the message index still waits for [`Store::finish_bulk_load`].
    pub fn index_pending(&self) -> Result<bool> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT 1 FROM meta WHERE key = 'index_pending'", [], |_| {
                    Ok(())
                })
                .optional()?
                .is_some(),
            )
        })
    }

    /// `PRAGMA integrity_check` on the writer: "ok" when the file is sound.
    pub fn integrity_check(&self) -> Result<String> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let rows: Vec<String> = conn
            .prepare("PRAGMA integrity_check")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows.join("\n"))
    }

    /// Direct access to the writer for maintenance and tests (limits, pragmas).
    pub fn with_writer<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        Ok(f(&conn)?)
    }
}

impl Tx<'_> {
    pub fn conn(&self) -> &Connection {
        &self.tx
    }

    pub fn me(&self) -> Option<&Agent> {
        self.me.as_ref()
    }

    fn flush_counts(&mut self) -> Result<()> {
        if self.folder_delta.iter().any(|d| *d != 0) {
            let mut stmt = self
                .tx
                .prepare_cached("UPDATE folder_counts SET count = count + ?2 WHERE folder = ?1")?;
            for f in Folder::ALL {
                let d = self.folder_delta[f.code() as usize];
                if d != 0 {
                    stmt.execute((f.code(), d))?;
                }
            }
            self.folder_delta = [0; 7];
        }
        Ok(())
    }
}

#[cfg(test)]
mod store_tests;
