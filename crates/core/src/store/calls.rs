//! The Calls folder: every call of the conversations the agent may see, newest first, paged by
//! time (keyset over `calls_by_time`), filtered by direction, outcome and contact.

use outpost_protocol::{Call, CallOutcome, ContactId, ConversationId, Direction};
use rusqlite::OptionalExtension;
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Store;
use super::entities::{direction_code, outcome_code};
use super::fts::fts_query;
use crate::error::Result;

/// Which calls a Calls screen shows (none set: all of them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CallFilter {
    #[serde(default)]
    pub direction: Option<Direction>,
    #[serde(default)]
    pub outcome: Option<CallOutcome>,
    /// The contact's name, phone or email, as search reads them (accents ignored).
    #[serde(default)]
    pub contact: Option<String>,
}

/// Where a page of calls ends: the next page starts after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CallCursor {
    pub at: i64,
    pub row: i64,
}

/// A row of the Calls screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CallRow {
    pub row: i64,
    pub call: Call,
    pub contact_name: String,
    pub contact_avatar: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CallPage {
    pub rows: Vec<CallRow>,
    /// Set when there may be more rows.
    pub next: Option<CallCursor>,
}

const CALL_COLUMNS: &str =
    "c.id, c.at, c.data, coalesce(k.name, ''), coalesce(json_extract(k.data, '$.avatar_url'), '')";

fn row_of(r: &rusqlite::Row) -> rusqlite::Result<(i64, i64, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn rows_of(raw: Vec<(i64, i64, String, String, String)>) -> Result<Vec<CallRow>> {
    raw.into_iter()
        .map(|(row, _, data, contact_name, contact_avatar)| {
            Ok(CallRow {
                row,
                call: serde_json::from_str(&data)?,
                contact_name,
                contact_avatar,
            })
        })
        .collect()
}

impl Store {
    /// A page of calls, newest first, after `before` (the first page when none).
    pub fn list_calls(
        &self,
        filter: &CallFilter,
        before: Option<CallCursor>,
        limit: u32,
    ) -> Result<CallPage> {
        let limit = i64::from(limit.clamp(1, 500));
        let mut sql = format!(
            "SELECT {CALL_COLUMNS} FROM calls c LEFT JOIN contacts k ON k.uuid = c.contact WHERE 1"
        );
        let mut params: Vec<Value> = Vec::new();
        if let Some(c) = before {
            sql.push_str(" AND (c.at < ? OR (c.at = ? AND c.id < ?))");
            params.extend([Value::from(c.at), Value::from(c.at), Value::from(c.row)]);
        }
        if let Some(d) = filter.direction {
            sql.push_str(" AND c.direction = ?");
            params.push(Value::from(direction_code(d)));
        }
        if let Some(o) = filter.outcome {
            sql.push_str(" AND c.outcome = ?");
            params.push(Value::from(outcome_code(o)));
        }
        if let Some(words) = filter.contact.as_deref().filter(|w| !w.trim().is_empty()) {
            let Some(q) = fts_query(words) else {
                return Ok(CallPage {
                    rows: Vec::new(),
                    next: None,
                });
            };
            sql.push_str(
                " AND c.contact IN (SELECT k2.uuid FROM contacts_fts f JOIN contacts k2 ON k2.id = f.rowid
                                    WHERE contacts_fts MATCH ?)",
            );
            params.push(Value::from(q));
        }
        sql.push_str(" ORDER BY c.at DESC, c.id DESC LIMIT ?");
        params.push(Value::from(limit));
        self.read(|conn| {
            let raw = conn
                .prepare_cached(&sql)?
                .query_map(rusqlite::params_from_iter(params), row_of)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let next = (raw.len() as i64 == limit)
                .then(|| raw.last().map(|r| CallCursor { at: r.1, row: r.0 }))
                .flatten();
            Ok(CallPage {
                rows: rows_of(raw)?,
                next,
            })
        })
    }

    /// A conversation's newest call, if it has one (the list row of a conversation a call
    /// began, which has no message to show).
    pub(crate) fn newest_call(
        conn: &rusqlite::Connection,
        id: ConversationId,
    ) -> Result<Option<Call>> {
        let data: Option<String> = conn
            .prepare_cached(
                "SELECT data FROM calls WHERE conversation = ?1 ORDER BY at DESC, id DESC LIMIT 1",
            )?
            .query_row([&id.0], |r| r.get(0))
            .optional()?;
        Ok(data.map(|d| serde_json::from_str(&d)).transpose()?)
    }

    /// The calls of some contacts, newest first, at most `limit` (search's calls by contact).
    pub(crate) fn calls_of_contacts(
        conn: &rusqlite::Connection,
        contacts: &[ContactId],
        limit: i64,
    ) -> Result<Vec<CallRow>> {
        if contacts.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; contacts.len()].join(", ");
        let mut params: Vec<Value> = contacts
            .iter()
            .map(|c| Value::from(c.0.as_bytes().to_vec()))
            .collect();
        params.push(Value::from(limit));
        let raw = conn
            .prepare(&format!(
                "SELECT {CALL_COLUMNS} FROM calls c LEFT JOIN contacts k ON k.uuid = c.contact
                 WHERE c.contact IN ({marks}) ORDER BY c.at DESC, c.id DESC LIMIT ?"
            ))?
            .query_map(rusqlite::params_from_iter(params), row_of)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows_of(raw)
    }
}

#[cfg(test)]
mod calls_tests;
