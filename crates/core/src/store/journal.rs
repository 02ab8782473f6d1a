//! The op journal: every action of the agent, durable from the moment it is taken until the
//! mirror shows the server's own version of its effect.
//!
//! # The model
//! The mirror is always *server state at the cursor, with the journal replayed on top, in order*.
//! Each op in the journal has an undo log: the before-images of every entity its application
//! changed. With them the journal can be peeled off exactly, newest first, and put back.
//!
//! # States of an op
//! - `Pending`: taken, applied locally, not yet sent.
//! - `InFlight`: sent, no answer yet. After a crash it is sent again with the same op id; the
//!   server answers a repeated op with its first result, so nothing happens twice.
//! - `Done`: the server applied it; its effect shows in the change feed at `applied_seq`. It is
//!   still replayed until the cursor passes `applied_seq`; then it is *settled* and leaves the
//!   journal (its optimistic effect is replaced by the server's own).
//! - `Refused`: the server (or a later rule) refused it, with a code and a reason. Its effect is
//!   undone exactly; a refused *send* stays in the journal, wedged, and shows its message in Failed
//!   with the reason, until the agent retries (a new op) or discards it.
//!
//! # What is written when
//! - Taking an action: one transaction appends the op and applies its effect with its undo log.
//!   An action the rules refuse at once is not stored at all: the agent hears why immediately.
//! - A pulled page: one transaction undoes the whole journal (newest first), stores the page,
//!   settles the done ops the new cursor has passed, moves the cursor, and replays what remains.
//!   A page that fails validation changes nothing and leaves the cursor where it was.
//! - A refusal or an early settlement: one transaction undoes the journal down to that op,
//!   refuses or drops it, and replays the ops after it.
//!
//! An op that no longer applies when replayed (its conversation was deleted or revoked at the
//! server, say) simply has no local effect; it stays in the journal for the server to answer.

use outpost_protocol::{
    Action, ChangeKind, ChangesPage, Entity, EntityRef, ErrorCode, Millis, Op, OpId, OpOutcome,
    OpResult, RecentSnapshot,
};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::workspace::{self, Mode};
use super::{Changed, IndexMode, Store, Tx, UndoLog};
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum OpState {
    Pending,
    InFlight,
    Done,
    Refused,
}

impl OpState {
    fn from_code(c: i64) -> OpState {
        match c {
            0 => OpState::Pending,
            1 => OpState::InFlight,
            2 => OpState::Done,
            _ => OpState::Refused,
        }
    }
}

/// One op of the journal, as the Outbox screen shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct JournalEntry {
    pub op: Op,
    pub state: OpState,
    pub refusal_code: Option<ErrorCode>,
    /// In English (logs); `refusal_why` says it in the agent's language when the server gave it.
    pub refusal_reason: String,
    pub refusal_why: Option<outpost_protocol::Reason>,
}

struct Row {
    seq: i64,
    op: Op,
    state: OpState,
    reason: String,
}

fn load_rows(tx: &Tx, from_seq: i64) -> Result<Vec<Row>> {
    let mut stmt = tx.conn().prepare_cached(
        "SELECT seq, body, state, refusal_reason FROM ops WHERE seq >= ?1 ORDER BY seq",
    )?;
    let rows = stmt
        .query_map([from_seq], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<(i64, String, i64, String)>>>()?;
    rows.into_iter()
        .map(|(seq, body, state, reason)| {
            Ok(Row {
                seq,
                op: serde_json::from_str(&body)?,
                state: OpState::from_code(state),
                reason,
            })
        })
        .collect()
}

fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn parse_code(name: &str) -> Option<ErrorCode> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

impl Tx<'_> {
    /// Appends `op` and applies it with its undo log. A refusal by the rules leaves no trace
    /// (the caller drops the transaction).
    pub(crate) fn append_op(&mut self, op: &Op) -> Result<i64> {
        let seq: i64 = self
            .conn()
            .prepare_cached(
                "INSERT INTO ops (op_id, kind, body, state, created_at) VALUES (?1, ?2, ?3, 0, ?4) RETURNING seq",
            )?
            .query_row(
                params![op.op_id.0, op.action.kind(), serde_json::to_string(op)?, op.at],
                |r| r.get(0),
            )?;
        self.apply_logged(seq, op, Mode::Fresh)?;
        self.changed.journal = true;
        Ok(seq)
    }

    fn apply_logged(&mut self, seq: i64, op: &Op, mode: Mode) -> Result<()> {
        self.undo = Some(UndoLog {
            op_seq: seq,
            next_ord: 0,
            seen: Default::default(),
        });
        let out = workspace::apply(self, op, mode);
        self.undo = None;
        out
    }

    /// Replays one op of the journal: its normal effect, or a wedged send's failed message.
    fn replay(&mut self, row: &Row) -> Result<()> {
        let mode = match row.state {
            // A refused op has no effect, but for a send's message, kept in Failed.
            OpState::Refused if workspace::created_message(&row.op).is_none() => return Ok(()),
            OpState::Refused => Mode::Wedged {
                reason: row.reason.clone(),
            },
            _ => Mode::Replay,
        };
        // An op whose preconditions no longer hold has no local effect; its partial writes are
        // rolled back by the savepoint.
        self.conn().execute_batch("SAVEPOINT replay")?;
        let saved = (
            self.folder_delta,
            self.changed.clone(),
            self.me.clone(),
            self.me_changed,
        );
        match self.apply_logged(row.seq, &row.op, mode) {
            Ok(()) => {
                self.conn().execute_batch("RELEASE replay")?;
                Ok(())
            }
            Err(Error::Refused(_) | Error::NotFound(_) | Error::Invalid(_)) => {
                self.conn()
                    .execute_batch("ROLLBACK TO replay; RELEASE replay")?;
                (self.folder_delta, self.changed, self.me, self.me_changed) = saved;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Puts back the before-images of one op, newest first, and forgets its undo log.
    fn undo_op(&mut self, seq: i64) -> Result<()> {
        let entries: Vec<(String, Option<String>)> = self
            .conn()
            .prepare_cached(
                "SELECT entity, before FROM op_undo WHERE op_seq = ?1 ORDER BY ord DESC",
            )?
            .query_map([seq], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (entity, before) in entries {
            let r: EntityRef = serde_json::from_str(&entity)?;
            match before {
                Some(json) => {
                    let e: Entity = serde_json::from_str(&json)?;
                    self.put_entity(&e)?;
                }
                None => self.delete_entity(r)?,
            }
        }
        self.conn()
            .prepare_cached("DELETE FROM op_undo WHERE op_seq = ?1")?
            .execute([seq])?;
        Ok(())
    }

    /// Undoes every op from `from_seq` on, newest first; returns them in journal order.
    fn peel(&mut self, from_seq: i64) -> Result<Vec<Row>> {
        let rows = load_rows(self, from_seq)?;
        for row in rows.iter().rev() {
            self.undo_op(row.seq)?;
        }
        Ok(rows)
    }

    fn drop_op(&mut self, seq: i64) -> Result<()> {
        self.conn()
            .prepare_cached("DELETE FROM op_undo WHERE op_seq = ?1")?
            .execute([seq])?;
        self.conn()
            .prepare_cached("DELETE FROM ops WHERE seq = ?1")?
            .execute([seq])?;
        self.changed.journal = true;
        Ok(())
    }

    /// Undoes the journal down to `seq`, lets `change` alter or drop that op, and replays the rest.
    fn rewrite_at(
        &mut self,
        seq: i64,
        change: impl FnOnce(&mut Tx, &mut Row) -> Result<bool>,
    ) -> Result<()> {
        let mut rows = self.peel(seq)?;
        let keep = change(self, &mut rows[0])?;
        if !keep {
            self.drop_op(seq)?;
            rows.remove(0);
        }
        for row in &rows {
            self.replay(row)?;
        }
        self.changed.journal = true;
        Ok(())
    }

    fn seq_of(&self, op_id: OpId) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT seq FROM ops WHERE op_id = ?1")?
            .query_row([op_id.0], |r| r.get(0))
            .optional()?)
    }

    /// The server refused `op_id`: undo its effect exactly, keep it wedged with its reason.
    pub(crate) fn refuse_op(
        &mut self,
        op_id: OpId,
        code: ErrorCode,
        reason: &str,
        why: Option<&outpost_protocol::Reason>,
    ) -> Result<bool> {
        let Some(seq) = self.seq_of(op_id)? else {
            return Ok(false);
        };
        let why_json = match why {
            Some(why) => serde_json::to_string(why)?,
            None => String::new(),
        };
        self.rewrite_at(seq, |tx, row| {
            tx.conn()
                .prepare_cached("UPDATE ops SET state = 3, refusal_code = ?2, refusal_reason = ?3, refusal_why = ?4 WHERE seq = ?1")?
                .execute(params![seq, code_name(code), reason, why_json])?;
            row.state = OpState::Refused;
            row.reason = reason.to_owned();
            Ok(true)
        })?;
        Ok(true)
    }

    /// Removes an op from the journal, undoing its effect (a discarded wedged send).
    pub(crate) fn remove_op(&mut self, seq: i64) -> Result<()> {
        self.rewrite_at(seq, |_, _| Ok(false))
    }

    /// Refused ops whose wedged effect holds `message`, newest first.
    /// The op that creates `message` while the server has not seen it: still queued (the agent
    /// may edit or abort it) or refused (retry or discard). None once it is in flight or done.
    pub(crate) fn unsent_op_for(
        &self,
        message: outpost_protocol::MessageId,
    ) -> Result<Option<(i64, Op, OpState)>> {
        let rows = load_rows(self, 0)?;
        let Some(row) = rows
            .into_iter()
            .rev()
            .find(|r| workspace::created_message(&r.op) == Some(message))
        else {
            return Ok(None);
        };
        if row.state == OpState::InFlight {
            return Err(Error::Refused(outpost_protocol::rules::refuse(
                ErrorCode::WrongState,
                "on_its_way",
                "This message is already on its way to the server: it can no longer be edited or discarded here.",
            )));
        }
        Ok(matches!(row.state, OpState::Refused | OpState::Pending)
            .then_some((row.seq, row.op, row.state)))
    }

    /// Replaces the action of a queued op the server has not seen, in its place in the journal
    /// (same op id): the edit of a message still waiting to be sent.
    pub(crate) fn edit_queued_op(&mut self, seq: i64, action: Action) -> Result<()> {
        self.rewrite_at(seq, |tx, row| {
            row.op.action = action;
            tx.conn()
                .prepare_cached("UPDATE ops SET body = ?2 WHERE seq = ?1 AND state = 0")?
                .execute(params![seq, serde_json::to_string(&row.op)?])?;
            Ok(true)
        })
    }
}

impl Store {
    /// Takes an agent's action: validated, applied to the mirror and appended to the journal in
    /// one transaction. Refused at once (nothing stored) when the rules say no. Answers whether
    /// the op was queued for the server (a discarded local send is not).
    pub fn act(&self, op: &Op) -> Result<(bool, Changed)> {
        op.action.validate()?;
        self.write(IndexMode::Immediate, |tx| {
            if tx.me().is_none() {
                return Err(Error::NoAgent);
            }
            tx.name_uploads(&op.action)?;
            workspace::act(tx, op)
        })
    }

    /// Ops waiting to be sent (pending or in flight), oldest first.
    pub fn ops_to_send(&self, limit: usize) -> Result<Vec<Op>> {
        self.read(|c| {
            let bodies: Vec<String> = c
                .prepare_cached("SELECT body FROM ops WHERE state IN (0, 1) ORDER BY seq LIMIT ?1")?
                .query_map([limit as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            bodies
                .iter()
                .map(|b| serde_json::from_str(b).map_err(Error::from))
                .collect()
        })
    }

    /// Marks ops as sent and waiting for an answer.
    pub fn mark_in_flight(&self, ops: &[OpId]) -> Result<()> {
        self.claim_for_sending(ops).map(|_| ())
    }

    /// Marks ops as sent and waiting for an answer, and returns them as the journal has them
    /// now, in journal order: one withdrawn (undone) since it was read is not sent at all, one
    /// edited since is sent as edited. From here on it can no longer be withdrawn.
    pub fn claim_for_sending(&self, ops: &[OpId]) -> Result<Vec<Op>> {
        let (bodies, _) = self.write(IndexMode::Immediate, |tx| {
            let mut claim = tx.conn().prepare_cached(
                "UPDATE ops SET state = 1 WHERE op_id = ?1 AND state IN (0, 1) RETURNING seq, body",
            )?;
            let mut claimed: Vec<(i64, String)> = Vec::with_capacity(ops.len());
            for id in ops {
                if let Some(row) = claim
                    .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?
                {
                    claimed.push(row);
                }
            }
            claimed.sort_by_key(|(seq, _)| *seq);
            Ok(claimed)
        })?;
        bodies
            .iter()
            .map(|(_, b)| serde_json::from_str(b).map_err(Error::from))
            .collect()
    }

    /// Takes back an op the server has not been sent: its effect is undone exactly and it leaves
    /// the journal, as if it had never been taken. False (and nothing changes) when it has left
    /// already (in flight or answered) or is not in the journal.
    pub fn withdraw(&self, op_id: OpId) -> Result<(bool, Changed)> {
        self.write(IndexMode::Immediate, |tx| {
            let row: Option<(i64, i64)> = tx
                .conn()
                .prepare_cached("SELECT seq, state FROM ops WHERE op_id = ?1")?
                .query_row([op_id.0], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            match row {
                Some((seq, 0)) => {
                    tx.remove_op(seq)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
    }

    /// Records the server's answers. Applied ops become done (and are settled at once when the
    /// cursor already passed their effect); refused ones are undone and wedged with their reason.
    pub fn record_results(&self, results: &[OpResult]) -> Result<Changed> {
        let (_, changed) = self.write(IndexMode::Immediate, |tx| {
            let cursor = super::entities::meta_u64(tx.conn(), "cursor")?;
            for r in results {
                match &r.outcome {
                    OpOutcome::Applied { seq } => {
                        let Some(op_seq) = tx.seq_of(r.op_id)? else {
                            continue;
                        };
                        tx.conn()
                            .prepare_cached(
                                "UPDATE ops SET state = 2, applied_seq = ?2 WHERE seq = ?1",
                            )?
                            .execute(params![op_seq, *seq as i64])?;
                        if *seq <= cursor {
                            tx.rewrite_at(op_seq, |_, _| Ok(false))?;
                        }
                    }
                    OpOutcome::Refused { code, reason, why } => {
                        tx.refuse_op(r.op_id, *code, reason, why.as_ref())?;
                    }
                }
                tx.changed.journal = true;
            }
            Ok(())
        })?;
        Ok(changed)
    }

    /// Stores one page of the change feed as one transaction (see the module doc). A page that
    /// is malformed, out of order or names what it may not is refused whole: nothing changes
    /// and the cursor stays.
    pub fn apply_changes(&self, page: &ChangesPage, index: IndexMode) -> Result<Changed> {
        let (_, changed) = self.write(index, |tx| {
            let cursor = super::entities::meta_u64(tx.conn(), "cursor")?;
            check_page(page, cursor)?;
            if index == IndexMode::Deferred {
                tx.defer_index()?;
            }
            let rows = tx.peel(0)?;
            for change in &page.changes {
                match &change.kind {
                    ChangeKind::Upsert { entity } => tx.put_entity(entity)?,
                    ChangeKind::Tombstone { entity } => tx.delete_entity(*entity)?,
                    ChangeKind::Revoke { entity } => match entity {
                        EntityRef::Conversation(id) => tx.purge_conversation(*id)?,
                        other => tx.delete_entity(*other)?,
                    },
                }
            }
            tx.meta_set("cursor", &page.cursor.to_string())?;
            let settled: Vec<i64> = tx
                .conn()
                .prepare_cached("SELECT seq FROM ops WHERE state = 2 AND applied_seq <= ?1")?
                .query_map([page.cursor as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for seq in &settled {
                tx.drop_op(*seq)?;
            }
            for row in rows.iter().filter(|r| !settled.contains(&r.seq)) {
                tx.replay(row)?;
            }
            Ok(())
        })?;
        self.after_page()?;
        Ok(changed)
    }

    /// Stores the recent conversations a first sync starts with ([`RecentSnapshot`]), in one
    /// transaction, with the journal replayed on top. The cursor does not move: the feed brings
    /// the same entities again, in order, and they overwrite these with the same or newer state.
    pub fn apply_snapshot(&self, snapshot: &RecentSnapshot) -> Result<Changed> {
        let (_, changed) = self.write(IndexMode::Deferred, |tx| {
            for change in &snapshot.changes {
                let ChangeKind::Upsert { entity } = &change.kind else {
                    return Err(Error::BadChanges(format!(
                        "change {} of the recent snapshot is not an upsert",
                        change.seq
                    )));
                };
                if change.seq > snapshot.head {
                    return Err(Error::BadChanges(format!(
                        "change {} lies beyond the snapshot's head {}",
                        change.seq, snapshot.head
                    )));
                }
                entity
                    .validate()
                    .map_err(|e| Error::BadChanges(format!("change {}: {e}", change.seq)))?;
            }
            tx.defer_index()?;
            tx.meta_set("recent_ready", "1")?;
            let rows = tx.peel(0)?;
            for change in &snapshot.changes {
                if let ChangeKind::Upsert { entity } = &change.kind {
                    tx.put_entity(entity)?;
                }
            }
            for row in &rows {
                tx.replay(row)?;
            }
            Ok(())
        })?;
        Ok(changed)
    }

    /// The journal as the Outbox screen shows it: what waits, and what was refused and why.
    /// How many actions wait to be sent or answered (all but the refused): the status bar's
    /// count, without reading the ops themselves.
    pub fn waiting(&self) -> Result<u32> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT COUNT(*) FROM ops WHERE state != 3")?
                    .query_row([], |r| r.get(0))?,
            )
        })
    }

    pub fn journal(&self) -> Result<Vec<JournalEntry>> {
        self.read(|c| {
            type Read = (String, i64, String, String, String);
            let rows: Vec<Read> = c
                .prepare_cached(
                    "SELECT body, state, refusal_code, refusal_reason, refusal_why FROM ops ORDER BY seq",
                )?
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter()
                .map(|(body, state, code, reason, why)| {
                    Ok(JournalEntry {
                        op: serde_json::from_str(&body)?,
                        state: OpState::from_code(state),
                        refusal_code: parse_code(&code),
                        refusal_reason: reason,
                        // Unreadable (written by a newer Outpost): the English reason is shown.
                        refusal_why: serde_json::from_str(&why).ok(),
                    })
                })
                .collect()
        })
    }

    /// Saves the draft of a conversation (on every edit); an empty draft is removed.
    pub fn save_draft(
        &self,
        conversation: outpost_protocol::ConversationId,
        text: &str,
        now: Millis,
    ) -> Result<()> {
        self.write(IndexMode::Immediate, |tx| {
            if text.is_empty() {
                tx.conn().prepare_cached("DELETE FROM drafts WHERE conversation = ?1")?.execute([conversation.0])?;
            } else {
                if text.chars().count() > outpost_protocol::limits::MAX_TEXT_CHARS {
                    return Err(Error::Invalid(outpost_protocol::ValidationError {
                        field: "draft",
                        problem: "longer than a message may be".into(),
                    }));
                }
                tx.conn()
                    .prepare_cached(
                        "INSERT INTO drafts (conversation, text, updated_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT (conversation) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
                    )?
                    .execute(params![conversation.0, text, now])?;
            }
            Ok(())
        })?;
        Ok(())
    }

    pub fn draft(&self, conversation: outpost_protocol::ConversationId) -> Result<String> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT text FROM drafts WHERE conversation = ?1")?
                    .query_row([conversation.0], |r| r.get(0))
                    .optional()?
                    .unwrap_or_default(),
            )
        })
    }
}

/// A page must move forward (see [`ChangesPage::check`]).
fn check_page(page: &ChangesPage, cursor: u64) -> Result<()> {
    page.check(cursor).map_err(Error::BadChanges)
}

#[cfg(test)]
mod journal_tests;
