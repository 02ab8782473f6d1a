//! Files the agent attaches. Kept in the mirror from the moment they are attached, so a message
//! queued offline is whole after a restart; the push uploads them before the message that names
//! them, once each (see `Syncer::push`).

use outpost_protocol::limits::{MAX_ATTACHMENT_BYTES, MAX_SHORT_TEXT_CHARS, file_name, plain_mime};
use outpost_protocol::{
    Action, Attachment, AttachmentKind, MessageId, Millis, Op, ValidationError,
};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::{IndexMode, Store, Tx};
use crate::error::{Error, Result};

fn invalid(problem: impl Into<String>) -> Error {
    Error::Invalid(ValidationError {
        field: "attachments",
        problem: problem.into(),
    })
}

impl Store {
    /// Keeps a file the agent attached and names it for a message: its url is the server path
    /// it will be uploaded to. The name loses any folder part; an unknown type is a document.
    pub fn stage_upload(
        &self,
        name: &str,
        mime: &str,
        bytes: &[u8],
        now: Millis,
    ) -> Result<Attachment> {
        let name = file_name(name);
        if name.is_empty() {
            return Err(invalid("a file needs a name"));
        }
        if name.chars().count() > MAX_SHORT_TEXT_CHARS {
            return Err(invalid(format!(
                "a file name may have at most {MAX_SHORT_TEXT_CHARS} characters"
            )));
        }
        if bytes.is_empty() {
            return Err(invalid(format!("{name} is empty")));
        }
        if bytes.len() as u64 > MAX_ATTACHMENT_BYTES {
            return Err(invalid(format!("{name} is larger than 100 MiB")));
        }
        let mime = plain_mime(mime).unwrap_or_else(|| "application/octet-stream".to_owned());
        let id = Uuid::now_v7();
        self.write(IndexMode::Immediate, |tx| {
            tx.conn()
                .prepare_cached(
                    "INSERT INTO uploads (id, name, mime, size, bytes, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![id, name, mime, bytes.len() as i64, bytes, now])?;
            Ok(())
        })?;
        Ok(Attachment {
            kind: AttachmentKind::of_mime(&mime),
            name,
            mime,
            size: bytes.len() as u64,
            url: Attachment::upload_path(id),
        })
    }

    /// The files of `ops` kept here and not yet at the server, in order, once each.
    pub fn uploads_waiting(&self, ops: &[Op]) -> Result<Vec<Uuid>> {
        let mut named: Vec<Uuid> = Vec::new();
        for id in ops
            .iter()
            .flat_map(|op| op.action.attachments())
            .filter_map(Attachment::upload_id)
        {
            if !named.contains(&id) {
                named.push(id);
            }
        }
        if named.is_empty() {
            return Ok(named);
        }
        self.read(|c| {
            let mut waiting =
                c.prepare_cached("SELECT 1 FROM uploads WHERE id = ?1 AND uploaded = 0")?;
            let mut out = Vec::new();
            for id in named {
                if waiting.exists([id])? {
                    out.push(id);
                }
            }
            Ok(out)
        })
    }

    pub fn mark_uploaded(&self, id: Uuid) -> Result<()> {
        self.write(IndexMode::Immediate, |tx| {
            tx.conn()
                .prepare_cached("UPDATE uploads SET uploaded = 1 WHERE id = ?1")?
                .execute([id])?;
            Ok(())
        })?;
        Ok(())
    }

    /// A file kept here: its type and bytes.
    pub fn local_file(&self, id: Uuid) -> Result<Option<(String, Vec<u8>)>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT mime, bytes FROM uploads WHERE id = ?1")?
                    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?,
            )
        })
    }
}

/// A staged file no op names is dropped once it is this old (attached in a composer, then
/// removed, or the message was never sent).
const ABANDONED_AFTER: Millis = 24 * 3_600_000;

/// What [`Store::tidy_uploads`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tidied {
    /// Sent and settled: the local copy moved to the fetched files (within their budget).
    pub moved: usize,
    /// Never sent and abandoned, or their message is gone.
    pub dropped: usize,
}

/// The uploads the journal's ops name (waiting, in flight, or refused and kept for a retry).
fn named_by_journal(tx: &Tx) -> Result<std::collections::HashSet<Uuid>> {
    let bodies: Vec<String> = tx
        .conn()
        .prepare_cached("SELECT body FROM ops")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut named = std::collections::HashSet::new();
    for body in bodies {
        let op: Op = serde_json::from_str(&body)?;
        named.extend(
            op.action
                .attachments()
                .iter()
                .filter_map(Attachment::upload_id),
        );
    }
    Ok(named)
}

impl Tx<'_> {
    /// An op takes staged files: each now belongs to the op's message.
    pub(crate) fn name_uploads(&mut self, action: &Action) -> Result<()> {
        let message = match action {
            Action::SendMessage { message_id, .. } | Action::ScheduleMessage { message_id, .. } => {
                *message_id
            }
            _ => return Ok(()),
        };
        for id in action
            .attachments()
            .iter()
            .filter_map(Attachment::upload_id)
        {
            self.tx
                .prepare_cached("UPDATE uploads SET message = ?2 WHERE id = ?1")?
                .execute(params![id, message.0])?;
        }
        Ok(())
    }
}

impl Store {
    /// Keeps the mirror from growing with every file the agent sends: a file the server has and
    /// no op still needs moves to the fetched files (whose budget bounds them); a file never sent
    /// that nothing names is dropped after a day.
    pub fn tidy_uploads(&self, now: Millis) -> Result<Tidied> {
        let mut tidied = Tidied::default();
        let any: bool = self.read(|c| {
            Ok(c.query_row("SELECT EXISTS (SELECT 1 FROM uploads)", [], |r| r.get(0))?)
        })?;
        if !any {
            return Ok(tidied);
        }
        let (movable, _) = self.write(IndexMode::Immediate, |tx| {
            let named = named_by_journal(tx)?;
            let rows: Vec<(Uuid, bool, Option<Uuid>, Millis)> = tx
                .conn()
                .prepare_cached("SELECT id, uploaded, message, created_at FROM uploads")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut movable = Vec::new();
            for (id, uploaded, message, created_at) in rows {
                if named.contains(&id) {
                    continue;
                }
                match (uploaded, message) {
                    (true, Some(message)) => movable.push((id, MessageId(message))),
                    (false, _) if now - created_at >= ABANDONED_AFTER => {
                        tx.conn()
                            .prepare_cached("DELETE FROM uploads WHERE id = ?1")?
                            .execute([id])?;
                        tidied.dropped += 1;
                    }
                    _ => {}
                }
            }
            Ok(movable)
        })?;
        for (id, message) in movable {
            let Some((mime, bytes)) = self.local_file(id)? else {
                continue;
            };
            let url = Attachment::upload_path(id);
            let kept = match self.keep_file(message, &url, &mime, &bytes, now) {
                Ok(kept) => kept,
                // Its message is gone (deleted, or no longer this agent's to see).
                Err(crate::Error::NotFound(_)) => false,
                Err(e) => return Err(e),
            };
            let (gone, _) = self.write(IndexMode::Immediate, |tx| {
                // An op taken meanwhile may name it again: then it stays.
                if named_by_journal(tx)?.contains(&id) {
                    return Ok(false);
                }
                tx.conn()
                    .prepare_cached("DELETE FROM uploads WHERE id = ?1")?
                    .execute([id])?;
                Ok(true)
            })?;
            if gone {
                if kept {
                    tidied.moved += 1;
                } else {
                    tidied.dropped += 1;
                }
            }
        }
        Ok(tidied)
    }
}
