//! Files of messages fetched from the server, kept beside the mirror so they open offline.
//!
//! The bytes live in a folder beside the mirror (`<mirror>.files/<id>`), one file per
//! attachment; the `files` table says which message and conversation each belongs to, how big it
//! is and when it was last opened. A message that goes (deleted, or its conversation revoked)
//! takes its files with it in the same transaction; the folder follows right after the commit,
//! and a start removes whatever a crash left between the two. The folder is kept under a budget,
//! the files opened longest ago leaving first. A file whose bytes are missing or not the size
//! recorded is forgotten and fetched again.

use std::io::Write;
use std::path::{Path, PathBuf};

use outpost_protocol::{Attachment, MessageId, Millis};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::{IndexMode, Store, Tx};
use crate::error::{Error, Result};

/// How much the folder of fetched files may hold, unless set otherwise.
pub const FILE_CACHE_BYTES: u64 = 1024 * 1024 * 1024;

/// The folder of fetched files of the mirror at `mirror`.
pub(crate) fn files_dir(mirror: &Path) -> PathBuf {
    mirror.with_extension("files")
}

impl Store {
    fn file_path(&self, id: Uuid) -> PathBuf {
        self.files_dir.join(id.hyphenated().to_string())
    }

    /// How much the folder of fetched files may hold (the oldest opened leave first).
    pub fn set_file_budget(&self, bytes: u64) {
        self.file_budget
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// A fetched file kept here: its type and bytes; none when it is not (or no longer whole).
    pub fn cached_file(&self, id: Uuid, now: Millis) -> Result<Option<(String, Vec<u8>)>> {
        let row: Option<(String, i64, Millis)> = self.read(|c| {
            Ok(
                c.prepare_cached("SELECT mime, size, used_at FROM files WHERE id = ?1")?
                    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?,
            )
        })?;
        let Some((mime, size, used_at)) = row else {
            return Ok(None);
        };
        match std::fs::read(self.file_path(id)) {
            Ok(bytes) if bytes.len() as i64 == size => {
                // When it was last opened orders the budget's evictions; a minute is precise
                // enough, and spares the writer a write for every look at the same picture.
                if now - used_at >= 60_000 {
                    self.write(IndexMode::Immediate, |tx| {
                        tx.conn()
                            .prepare_cached("UPDATE files SET used_at = ?2 WHERE id = ?1")?
                            .execute(params![id, now])?;
                        Ok(())
                    })?;
                }
                Ok(Some((mime, bytes)))
            }
            _ => {
                // Damaged or gone: forgotten, and fetched again when next opened.
                self.write(IndexMode::Immediate, |tx| {
                    tx.conn()
                        .prepare_cached("DELETE FROM files WHERE id = ?1")?
                        .execute([id])?;
                    tx.dropped_files.push(id);
                    Ok(())
                })?;
                Ok(None)
            }
        }
    }

    /// Keeps a file of `message` just fetched from the server (`url` as the message names it).
    /// Refused when the message is not in the mirror or does not carry that file; false when it
    /// is not kept (larger than a quarter of the budget, or its message left meanwhile).
    pub fn keep_file(
        &self,
        message: MessageId,
        url: &str,
        mime: &str,
        bytes: &[u8],
        now: Millis,
    ) -> Result<bool> {
        let budget = self.file_budget.load(std::sync::atomic::Ordering::Relaxed);
        let Some(id) = Attachment::upload_id_in(url) else {
            return Ok(false);
        };
        let carried = self.read(|c| {
            let m = super::get_message(c, message)?;
            Ok(m.map(|m| {
                (
                    m.conversation_id,
                    m.attachments.iter().any(|a| a.url == url),
                )
            }))
        })?;
        let conversation = match carried {
            Some((conversation, true)) => conversation,
            _ => {
                return Err(Error::NotFound(
                    "That message is not here, or does not carry that file".into(),
                ));
            }
        };
        let size = bytes.len() as u64;
        if size == 0 || size > budget / 4 {
            return Ok(false);
        }
        // The bytes first, whole, under their final name; then the row that makes them count.
        crate::owner_only::dir(&self.files_dir)?;
        let part = self.files_dir.join(format!("{}.part", id.hyphenated()));
        {
            let mut f = crate::owner_only::create(&part, true)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&part, self.file_path(id))?;
        let kept =
            self.write(IndexMode::Immediate, |tx| {
                // Revoked or deleted while it was downloading: not kept.
                if super::get_message(tx.conn(), message)?.is_none() {
                    tx.dropped_files.push(id);
                    return Ok(false);
                }
                let used: i64 = tx.conn().query_row(
                    "SELECT coalesce(sum(size), 0) FROM files WHERE id != ?1",
                    [id],
                    |r| r.get(0),
                )?;
                let mut over = (used as u64 + size).saturating_sub(budget);
                if over > 0 {
                    let oldest: Vec<(Uuid, i64)> = tx
                        .conn()
                        .prepare_cached(
                            "SELECT id, size FROM files WHERE id != ?1 ORDER BY used_at, id",
                        )?
                        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<rusqlite::Result<_>>()?;
                    for (old, old_size) in oldest {
                        if over == 0 {
                            break;
                        }
                        tx.conn()
                            .prepare_cached("DELETE FROM files WHERE id = ?1")?
                            .execute([old])?;
                        tx.dropped_files.push(old);
                        over = over.saturating_sub(old_size as u64);
                    }
                }
                tx.conn()
                .prepare_cached(
                    "INSERT OR REPLACE INTO files (id, message, conversation, mime, size, used_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![id, message.0, conversation.0, mime, size as i64, now])?;
                Ok(true)
            })?;
        Ok(kept.0)
    }

    /// How many fetched files are kept, and their bytes.
    pub fn file_cache_usage(&self) -> Result<(u64, u64)> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*), coalesce(sum(size), 0) FROM files",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )?)
        })
    }

    /// Removes from the folder what no row names (left by a crash between a commit and the
    /// removal after it, or a download cut short).
    pub(crate) fn sweep_files(&self) -> Result<()> {
        let entries = match std::fs::read_dir(&self.files_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let kept: std::collections::HashSet<Uuid> = self.read(|c| {
            Ok(c.prepare("SELECT id FROM files")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let known = name
                .to_str()
                .and_then(|n| Uuid::parse_str(n).ok())
                .is_some_and(|id| kept.contains(&id));
            if !known && let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!(file = ?entry.path(), "an orphaned file could not be removed: {e}");
            }
        }
        Ok(())
    }

    /// Removes the bytes of files whose rows a committed write dropped.
    pub(crate) fn remove_files(&self, ids: &[Uuid]) {
        for id in ids {
            // One that cannot be removed now goes at the next start (`sweep_files`).
            if let Err(e) = std::fs::remove_file(self.file_path(*id))
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(%id, "a file's bytes could not be removed now: {e}");
            }
        }
    }
}

impl Tx<'_> {
    /// A message is going: its fetched files go with it.
    pub(crate) fn drop_files_of(&mut self, message: MessageId) -> Result<()> {
        let ids: Vec<Uuid> = self
            .tx
            .prepare_cached("DELETE FROM files WHERE message = ?1 RETURNING id")?
            .query_map([message.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        self.dropped_files.extend(ids);
        Ok(())
    }
}
