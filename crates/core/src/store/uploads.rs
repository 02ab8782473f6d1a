//! Files the agent attaches. Kept in the mirror from the moment they are attached, so a message
//! queued offline is whole after a restart; the push uploads them before the message that names
//! them, once each (see `Syncer::push`).

use outpost_protocol::limits::{MAX_ATTACHMENT_BYTES, MAX_SHORT_TEXT_CHARS, plain_mime};
use outpost_protocol::{Attachment, AttachmentKind, Millis, Op, ValidationError};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::{IndexMode, Store};
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
        let name = name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
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
