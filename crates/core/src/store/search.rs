//! Search over what the mirror holds: message text, and contacts by name, phone and email.
//! Both use FTS5 with the `unicode61 remove_diacritics 2` tokenizer, so case and accents are
//! ignored ("nao" finds "não"). Every search has an order and a limit: messages newest first
//! (the index's rowid is the time-ordered message key), contacts by relevance.
//!
//! The agent's words are never FTS5 syntax: each becomes a quoted phrase, the last one a prefix,
//! so quotes, `OR`, `NEAR` or `*` typed by the agent are searched for, not obeyed.

use outpost_protocol::{Contact, ConversationId, Message};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Store;
use super::entities::message_from_row;
pub use super::fts::{fts_query, message_fts_query};
use crate::error::Result;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MessageHit {
    pub row: i64,
    pub message: Message,
    pub contact_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ContactHit {
    pub contact: Contact,
    /// The contact's most recent conversation in the mirror.
    pub conversation_id: Option<ConversationId>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SearchResults {
    pub messages: Vec<MessageHit>,
    pub contacts: Vec<ContactHit>,
    /// The calls of the contacts found, newest first.
    #[serde(default)]
    pub calls: Vec<super::CallRow>,
    /// The message index is still being built after the first sync: message hits are missing.
    pub index_pending: bool,
}

pub(crate) const MESSAGE_SEARCH_SQL: &str =
    "SELECT m.id, m.uuid, m.conversation, m.direction, m.created_at, m.text, m.data,
        coalesce(k.name, '')
 FROM messages_fts f
 JOIN messages m ON m.id = f.rowid
 LEFT JOIN conversations c ON c.uuid = m.conversation
 LEFT JOIN contacts k ON k.uuid = c.contact
 WHERE messages_fts MATCH ?1
 ORDER BY f.rowid DESC LIMIT ?2";

pub(crate) const CONTACT_SEARCH_SQL: &str = "SELECT k.data,
        (SELECT c.uuid FROM conversations c WHERE c.contact = k.uuid ORDER BY c.last_message_at DESC LIMIT 1)
 FROM contacts_fts f JOIN contacts k ON k.id = f.rowid
 WHERE contacts_fts MATCH ?1
 ORDER BY f.rank LIMIT ?2";

impl Store {
    /// Messages (newest first) and contacts matching the agent's words, at most `limit` of each.
    pub fn search(&self, input: &str, limit: u32) -> Result<SearchResults> {
        let (Some(query), Some(messages_query)) = (fts_query(input), message_fts_query(input))
        else {
            return Ok(SearchResults::default());
        };
        let limit = i64::from(limit.clamp(1, 200));
        let index_pending = self.index_pending()?;
        self.read(|conn| {
            let mut results = SearchResults {
                index_pending,
                ..Default::default()
            };
            if !index_pending {
                let rows = conn
                    .prepare_cached(MESSAGE_SEARCH_SQL)?
                    .query_map(rusqlite::params![messages_query, limit], |r| {
                        Ok((message_from_row(r)?, r.get::<_, String>(7)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                for ((row, message), contact_name) in rows {
                    results.messages.push(MessageHit {
                        row,
                        message: message?,
                        contact_name,
                    });
                }
            }
            let rows = conn
                .prepare_cached(CONTACT_SEARCH_SQL)?
                .query_map(rusqlite::params![query, limit], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<uuid::Uuid>>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (data, conversation) in rows {
                results.contacts.push(ContactHit {
                    contact: serde_json::from_str(&data)?,
                    conversation_id: conversation.map(ConversationId),
                });
            }
            let found: Vec<_> = results.contacts.iter().map(|h| h.contact.id).collect();
            results.calls = Store::calls_of_contacts(conn, &found, limit)?;
            Ok(results)
        })
    }
}

#[cfg(test)]
mod search_tests;
