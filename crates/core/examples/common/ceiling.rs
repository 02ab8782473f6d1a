//! The raw SQLite insert ceiling the ingest figures are compared with, shared by
//! `cargo xtask bench core` and `cargo xtask bench sync` (each includes this file).

use std::time::{Duration, Instant};

use outpost_core::generate::{Generator, Spec};
use outpost_core::store::{fold, message_data_json, message_key};
use outpost_protocol::{ChangeKind, ConversationState, Direction, Entity, Folder};
use rusqlite::params;

/// The ceiling: the same rows, inserted with plain prepared statements in transactions of one
/// page each, into the same schema, with none of our code (no lookups, no counts, no FTS).
pub fn ceiling(
    spec: &Spec,
    path: &std::path::Path,
    page_size: usize,
) -> Result<(usize, Duration), Box<dyn std::error::Error + Send + Sync>> {
    drop(outpost_core::Store::open(path)?); // the same schema
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;",
    )?;
    let mut generator = Generator::new(spec.clone());
    let mut spent = Duration::ZERO;
    let mut messages = 0;
    while let Some(page) = generator.next_page(page_size) {
        // Rows prepared outside the timed part.
        let mut contacts = Vec::new();
        let mut conversations = Vec::new();
        let mut msgs = Vec::new();
        let mut events = Vec::new();
        for change in page.changes {
            let ChangeKind::Upsert { entity } = change.kind else {
                continue;
            };
            match entity {
                Entity::Contact(k) => {
                    let data = serde_json::to_string(&k)?;
                    contacts.push((k.clone(), data));
                }
                Entity::Conversation(c) => {
                    let data = serde_json::to_string(&c)?;
                    conversations.push((c, data));
                }
                Entity::Message(m) => {
                    let data = message_data_json(&m)?;
                    msgs.push((message_key(&m), Folder::of(&m).code(), m, data));
                }
                Entity::Event(e) => {
                    let data = serde_json::to_string(&e)?;
                    events.push((e, data));
                }
                _ => {}
            }
        }
        let folded: Vec<[String; 4]> = contacts
            .iter()
            .map(|(k, _)| {
                [
                    fold(&k.name),
                    fold(&k.email),
                    fold(&k.country),
                    fold(&k.language),
                ]
            })
            .collect();
        let started = Instant::now();
        let tx = conn.transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO contacts (uuid, name, phone, email, name_f, email_f, country_f, language_f, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for ((k, data), f) in contacts.iter().zip(&folded) {
                ins.execute(params![
                    k.id.0, k.name, k.phone, k.email, f[0], f[1], f[2], f[3], data
                ])?;
            }
            let mut ins = tx.prepare_cached(
                "INSERT INTO conversations (uuid, contact, channel, state, assignee, team, unanswered, unread,
                                            opened_at, last_message_at, last_incoming_at, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            for (c, data) in &conversations {
                let state = match c.state {
                    ConversationState::Open => 0,
                    ConversationState::Closed => 1,
                    ConversationState::Snoozed => 2,
                };
                ins.execute(params![
                    c.id.0,
                    c.contact_id.0,
                    c.channel.as_str(),
                    state,
                    c.assignee.map(|a| a.0),
                    c.team.map(|t| t.0),
                    c.unanswered,
                    c.unread_count,
                    c.opened_at,
                    c.last_message_at,
                    c.last_incoming_at,
                    data
                ])?;
            }
            let mut ins = tx.prepare_cached(
                "INSERT INTO messages (id, uuid, conversation, folder, direction, created_at, text, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for (key, folder, m, data) in &msgs {
                let direction = i64::from(m.direction == Direction::Outgoing);
                ins.execute(params![
                    key,
                    m.id.0,
                    m.conversation_id.0,
                    folder,
                    direction,
                    m.created_at,
                    m.text,
                    data
                ])?;
            }
            let mut ins = tx.prepare_cached(
                "INSERT INTO events (uuid, conversation, at, data) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (e, data) in &events {
                ins.execute(params![e.id.0, e.conversation_id.0, e.at, data])?;
            }
        }
        tx.commit()?;
        spent += started.elapsed();
        messages += msgs.len();
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    }
    Ok((messages, spent))
}
