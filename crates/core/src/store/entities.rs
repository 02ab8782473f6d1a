//! The rows of each entity: the only code that writes them. Every `put_*` and `delete_*` keeps, in
//! the same transaction, the folder counts, the full-text indexes, the undo log of the op being
//! applied, and the set of what changed.

use outpost_protocol::{
    Agent, AgentId, Attachment, Channel, ChannelKind, Contact, ContactId, Conversation,
    ConversationEvent, ConversationId, ConversationState, CustomView, Direction, Entity, EntityRef,
    EventId, Folder, Message, MessageId, MessageStatus, Millis, NotifySettings, Sender,
    StatusStamp, Team, TemplateRef, ViewId, rules,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Tx, fold};
use crate::error::{Error, Result};

/// A message's columns other than those the schema keeps apart (id, conversation, direction,
/// created_at, text).
#[derive(Serialize)]
struct MessageDataRef<'a> {
    channel: ChannelKind,
    attachments: &'a [Attachment],
    template: &'a Option<TemplateRef>,
    sender: &'a Sender,
    status: MessageStatus,
    history: &'a [StatusStamp],
    failure: &'a Option<String>,
    via_flow: bool,
    archived: bool,
    send_at: Option<Millis>,
    reply_to: Option<MessageId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_id: Option<outpost_protocol::ChannelId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    edited_at: Option<Millis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: &'a Option<outpost_protocol::Reason>,
}

#[derive(Deserialize)]
struct MessageData {
    channel: ChannelKind,
    attachments: Vec<Attachment>,
    template: Option<TemplateRef>,
    sender: Sender,
    status: MessageStatus,
    history: Vec<StatusStamp>,
    failure: Option<String>,
    via_flow: bool,
    archived: bool,
    send_at: Option<Millis>,
    reply_to: Option<MessageId>,
    #[serde(default)]
    channel_id: Option<outpost_protocol::ChannelId>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    edited_at: Option<Millis>,
    #[serde(default)]
    failure_reason: Option<outpost_protocol::Reason>,
}

/// The stored form of a message's fields other than its own columns (the `data` column).
pub fn message_data_json(m: &Message) -> Result<String> {
    json_of(&MessageDataRef {
        channel: m.channel,
        attachments: &m.attachments,
        template: &m.template,
        sender: &m.sender,
        status: m.status,
        history: &m.history,
        failure: &m.failure,
        via_flow: m.via_flow,
        archived: m.archived,
        send_at: m.send_at,
        reply_to: m.reply_to,
        channel_id: m.channel_id,
        subject: &m.subject,
        edited_at: m.edited_at,
        failure_reason: &m.failure_reason,
    })
}

/// The columns of `messages` that [`message_from_row`] reads, in order.
pub(crate) const MESSAGE_COLUMNS: &str =
    "m.id, m.uuid, m.conversation, m.direction, m.created_at, m.text, m.data";

/// A message from a row selected with [`MESSAGE_COLUMNS`]; also returns its rowid.
pub(crate) fn message_from_row(row: &rusqlite::Row) -> rusqlite::Result<(i64, Result<Message>)> {
    let rowid: i64 = row.get(0)?;
    let id: Uuid = row.get(1)?;
    let conversation: Uuid = row.get(2)?;
    let direction: i64 = row.get(3)?;
    let created_at: i64 = row.get(4)?;
    let text: String = row.get(5)?;
    let data: String = row.get(6)?;
    let message = serde_json::from_str::<MessageData>(&data)
        .map(|d| Message {
            id: MessageId(id),
            conversation_id: ConversationId(conversation),
            direction: if direction == 0 {
                Direction::Incoming
            } else {
                Direction::Outgoing
            },
            channel: d.channel,
            text,
            attachments: d.attachments,
            template: d.template,
            sender: d.sender,
            status: d.status,
            history: d.history,
            failure: d.failure,
            via_flow: d.via_flow,
            archived: d.archived,
            send_at: d.send_at,
            reply_to: d.reply_to,
            created_at,
            channel_id: d.channel_id,
            subject: d.subject,
            edited_at: d.edited_at,
            failure_reason: d.failure_reason,
        })
        .map_err(Error::from);
    Ok((rowid, message))
}

pub(crate) fn state_code(s: ConversationState) -> i64 {
    match s {
        ConversationState::Open => 0,
        ConversationState::Closed => 1,
        ConversationState::Snoozed => 2,
    }
}

/// The time-ordered rowid of a message: its creation time in the high bits, so that rowid order
/// is time order; the low 12 bits come from its UUID and are probed upwards on a collision.
pub fn message_key(m: &Message) -> i64 {
    let low = u16::from_be_bytes([m.id.0.as_bytes()[14], m.id.0.as_bytes()[15]]) & 0x0FFF;
    (m.created_at << 12) | i64::from(low)
}

pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// How far a first sync's index build got (the last rowid indexed); none before its first chunk.
pub(crate) fn index_upto(conn: &Connection) -> Result<Option<i64>> {
    meta_get(conn, "index_upto")?
        .map(|v| {
            v.parse()
                .map_err(|_| Error::BadChanges(format!("stored index_upto '{v}' is not a number")))
        })
        .transpose()
}

pub(crate) fn meta_u64(conn: &Connection, key: &str) -> Result<u64> {
    match meta_get(conn, key)? {
        None => Ok(0),
        Some(v) => v
            .parse()
            .map_err(|_| Error::BadChanges(format!("stored {key} '{v}' is not a number"))),
    }
}

pub(crate) fn load_me(conn: &Connection) -> Result<Option<Agent>> {
    match meta_get(conn, "me")? {
        None => Ok(None),
        Some(json) => Ok(Some(serde_json::from_str(&json)?)),
    }
}

/// Every row of a one-column query of JSON, decoded.
pub(crate) fn decode_all<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
) -> Result<Vec<T>> {
    let rows: Vec<String> = conn
        .prepare_cached(sql)?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    rows.iter()
        .map(|j| serde_json::from_str(j).map_err(Error::from))
        .collect()
}

fn json_of<T: Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string(value)?)
}

/// A call's direction and outcome as the mirror's `calls` table keeps them.
pub(crate) fn direction_code(d: Direction) -> i64 {
    match d {
        Direction::Incoming => 0,
        Direction::Outgoing => 1,
    }
}

pub(crate) fn outcome_code(o: outpost_protocol::CallOutcome) -> i64 {
    match o {
        outpost_protocol::CallOutcome::Ongoing => 0,
        outpost_protocol::CallOutcome::Answered => 1,
        outpost_protocol::CallOutcome::Missed => 2,
        outpost_protocol::CallOutcome::Failed => 3,
    }
}

/// Where the agent's notification settings are kept in `meta`.
const SETTINGS_KEY: &str = "notify_settings";

/// The agent's notification settings: theirs if stored, else the defaults.
pub(crate) fn notify_settings(conn: &Connection, me: AgentId) -> Result<NotifySettings> {
    Ok(match get_entity(conn, EntityRef::Settings(me))? {
        Some(Entity::Settings(s)) => s.upgraded(),
        _ => NotifySettings::defaults(me),
    })
}

/// Reads one entity by its name (readers and the writer alike).
pub fn get_entity(conn: &Connection, r: EntityRef) -> Result<Option<Entity>> {
    fn data<T: for<'de> Deserialize<'de>>(
        conn: &Connection,
        sql: &str,
        id: Uuid,
    ) -> Result<Option<T>> {
        let json: Option<String> = conn
            .prepare_cached(sql)?
            .query_row([id], |r| r.get(0))
            .optional()?;
        json.map(|j| serde_json::from_str(&j).map_err(Error::from))
            .transpose()
    }
    Ok(match r {
        EntityRef::Contact(id) => {
            data(conn, "SELECT data FROM contacts WHERE uuid = ?1", id.0)?.map(Entity::Contact)
        }
        EntityRef::Conversation(id) => {
            data(conn, "SELECT data FROM conversations WHERE uuid = ?1", id.0)?
                .map(Entity::Conversation)
        }
        EntityRef::Message(id) => get_message(conn, id)?.map(Entity::Message),
        EntityRef::Event(id) => {
            data(conn, "SELECT data FROM events WHERE uuid = ?1", id.0)?.map(Entity::Event)
        }
        EntityRef::Call(id) => {
            data(conn, "SELECT data FROM calls WHERE uuid = ?1", id.0)?.map(Entity::Call)
        }
        EntityRef::Agent(id) => {
            data(conn, "SELECT data FROM agents WHERE uuid = ?1", id.0)?.map(Entity::Agent)
        }
        EntityRef::Team(id) => {
            data(conn, "SELECT data FROM teams WHERE uuid = ?1", id.0)?.map(Entity::Team)
        }
        EntityRef::Channel(id) => {
            data(conn, "SELECT data FROM channels WHERE uuid = ?1", id.0)?.map(Entity::Channel)
        }
        EntityRef::View(id) => {
            data(conn, "SELECT data FROM views WHERE uuid = ?1", id.0)?.map(Entity::View)
        }
        // The mirror is one agent's: their settings are one row of `meta`.
        EntityRef::Settings(id) => meta_get(conn, SETTINGS_KEY)?
            .map(|json| serde_json::from_str::<NotifySettings>(&json))
            .transpose()?
            .filter(|s| s.agent_id == id)
            .map(Entity::Settings),
    })
}

pub(crate) fn get_message(conn: &Connection, id: MessageId) -> Result<Option<Message>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.uuid = ?1");
    let found = conn
        .prepare_cached(&sql)?
        .query_row([id.0], message_from_row)
        .optional()?;
    found.map(|(_, m)| m).transpose()
}

pub(crate) fn get_conversation(
    conn: &Connection,
    id: ConversationId,
) -> Result<Option<Conversation>> {
    match get_entity(conn, EntityRef::Conversation(id))? {
        Some(Entity::Conversation(c)) => Ok(Some(c)),
        _ => Ok(None),
    }
}

pub fn get_contact(conn: &Connection, id: ContactId) -> Result<Option<Contact>> {
    match get_entity(conn, EntityRef::Contact(id))? {
        Some(Entity::Contact(c)) => Ok(Some(c)),
        _ => Ok(None),
    }
}

pub(crate) fn get_agent(conn: &Connection, id: AgentId) -> Result<Option<Agent>> {
    match get_entity(conn, EntityRef::Agent(id))? {
        Some(Entity::Agent(a)) => Ok(Some(a)),
        _ => Ok(None),
    }
}

pub(crate) fn get_view(conn: &Connection, id: ViewId) -> Result<Option<CustomView>> {
    match get_entity(conn, EntityRef::View(id))? {
        Some(Entity::View(v)) => Ok(Some(v)),
        _ => Ok(None),
    }
}

impl Tx<'_> {
    /// A first sync's load: the index is built once it ends (`Store::finish_bulk_load`); a
    /// build under way goes on from where it got.
    pub(crate) fn defer_index(&self) -> Result<()> {
        if meta_get(&self.tx, "index_pending")?.is_none() {
            self.tx.execute_batch(
                "DELETE FROM meta WHERE key = 'index_upto';
                 INSERT INTO meta (key, value) VALUES ('index_pending', '1');",
            )?;
        }
        Ok(())
    }

    pub fn meta_set(&self, key: &str, value: &str) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute([key, value])?;
        Ok(())
    }

    pub fn meta_delete(&self, key: &str) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM meta WHERE key = ?1")?
            .execute([key])?;
        Ok(())
    }

    /// Sets the signed-in agent; conversations they may not see leave the mirror.
    pub fn set_me(&mut self, agent: &Agent) -> Result<()> {
        self.meta_set("me", &json_of(agent)?)?;
        self.me = Some(agent.clone());
        self.me_changed = true;
        self.changed.agents = true;
        self.put_agent(agent)?;
        self.purge_invisible()
    }

    /// Records the before-image of `r` in the undo log of the op being applied (once per op).
    fn record(&mut self, r: EntityRef) -> Result<()> {
        let Some(undo) = self.undo.as_mut() else {
            return Ok(());
        };
        if !undo.seen.insert(r) {
            return Ok(());
        }
        let (op_seq, ord) = (undo.op_seq, undo.next_ord);
        undo.next_ord += 1;
        let before = get_entity(&self.tx, r)?.map(|e| json_of(&e)).transpose()?;
        self.tx
            .prepare_cached(
                "INSERT INTO op_undo (op_seq, ord, entity, before) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![op_seq, ord, json_of(&r)?, before])?;
        Ok(())
    }

    pub fn get_entity(&self, r: EntityRef) -> Result<Option<Entity>> {
        get_entity(&self.tx, r)
    }

    pub fn get_message(&self, id: MessageId) -> Result<Option<Message>> {
        get_message(&self.tx, id)
    }

    pub fn get_conversation(&self, id: ConversationId) -> Result<Option<Conversation>> {
        get_conversation(&self.tx, id)
    }

    pub fn get_contact(&self, id: ContactId) -> Result<Option<Contact>> {
        get_contact(&self.tx, id)
    }

    /// The contact the mirror holds whose identity on `channel` is `address` (phone and email
    /// channels: found by the address kept in its phone or email column).
    pub fn contact_reached_at(
        &self,
        channel: ChannelKind,
        address: &str,
    ) -> Result<Option<Contact>> {
        let column = match channel {
            ChannelKind::Whatsapp | ChannelKind::Sms => "phone",
            ChannelKind::Email => "email",
            _ => return Ok(None),
        };
        let rows: Vec<String> = self
            .tx
            .prepare_cached(&format!("SELECT data FROM contacts WHERE {column} = ?1"))?
            .query_map([address], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for data in rows {
            let contact: Contact = serde_json::from_str(&data)?;
            if contact
                .identities
                .iter()
                .any(|i| i.channel == channel && i.address == address)
            {
                return Ok(Some(contact));
            }
        }
        Ok(None)
    }

    /// The contact's conversations the mirror holds, at a glance.
    pub fn conversations_of_contact(
        &self,
        contact: ContactId,
    ) -> Result<Vec<outpost_protocol::apply::Glance>> {
        let ids: Vec<Uuid> = self
            .tx
            .prepare_cached("SELECT uuid FROM conversations WHERE contact = ?1")?
            .query_map([contact.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = self.get_conversation(ConversationId(id))? {
                out.push(outpost_protocol::apply::Glance::of(&c));
            }
        }
        Ok(out)
    }

    pub fn get_agent(&self, id: AgentId) -> Result<Option<Agent>> {
        get_agent(&self.tx, id)
    }

    pub fn get_view(&self, id: ViewId) -> Result<Option<CustomView>> {
        get_view(&self.tx, id)
    }

    pub fn put_entity(&mut self, e: &Entity) -> Result<()> {
        match e {
            Entity::Contact(c) => self.put_contact(c),
            Entity::Conversation(c) => self.put_conversation(c),
            Entity::Message(m) => self.put_message(m),
            Entity::Event(e) => self.put_event(e),
            Entity::Call(c) => self.put_call(c),
            Entity::Agent(a) => self.put_agent(a),
            Entity::Team(t) => self.put_team(t),
            Entity::Channel(c) => self.put_channel(c),
            Entity::View(v) => self.put_view(v),
            Entity::Settings(s) => {
                self.record(EntityRef::Settings(s.agent_id))?;
                self.meta_set(SETTINGS_KEY, &json_of(s)?)?;
                self.changed.settings = true;
                Ok(())
            }
        }
    }

    pub fn delete_entity(&mut self, r: EntityRef) -> Result<()> {
        match r {
            EntityRef::Contact(id) => self.delete_contact(id),
            EntityRef::Conversation(id) => self.delete_conversation(id),
            EntityRef::Message(id) => self.delete_message(id),
            EntityRef::Event(id) => self.delete_event(id),
            EntityRef::Call(id) => self.delete_call(id),
            EntityRef::Agent(id) => self.delete_simple(r, "agents", id.0),
            EntityRef::Team(id) => self.delete_simple(r, "teams", id.0),
            EntityRef::Channel(id) => self.delete_simple(r, "channels", id.0),
            EntityRef::View(id) => self.delete_simple(r, "views", id.0),
            EntityRef::Settings(_) => {
                self.record(r)?;
                self.meta_delete(SETTINGS_KEY)?;
                self.changed.settings = true;
                Ok(())
            }
        }
    }

    fn delete_simple(&mut self, r: EntityRef, table: &str, id: Uuid) -> Result<()> {
        self.record(r)?;
        let n = self
            .tx
            .prepare_cached(&format!("DELETE FROM {table} WHERE uuid = ?1"))?
            .execute([id])?;
        if n > 0 {
            match r {
                EntityRef::View(_) => self.changed.views = true,
                _ => self.changed.agents = true,
            }
        }
        Ok(())
    }

    pub fn put_message(&mut self, m: &Message) -> Result<()> {
        self.record(EntityRef::Message(m.id))?;
        let folder = Folder::of(m);
        let data = message_data_json(m)?;
        let direction = i64::from(m.direction == Direction::Outgoing);
        // Most messages are new: try the insert first, and look the old row up only when the
        // message is already stored.
        let mut key = message_key(m);
        let inserted = {
            let mut insert = self.tx.prepare_cached(
                "INSERT INTO messages (id, uuid, conversation, folder, direction, created_at, text, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (uuid) DO NOTHING",
            )?;
            loop {
                match insert.execute(params![
                    key,
                    m.id.0,
                    m.conversation_id.0,
                    folder.code(),
                    direction,
                    m.created_at,
                    m.text,
                    data
                ]) {
                    Ok(n) => break n == 1,
                    Err(e)
                        if e.sqlite_error_code()
                            == Some(rusqlite::ErrorCode::ConstraintViolation) =>
                    {
                        key += 1; // another message took this key: probe the next one
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        if inserted {
            if self.indexes(key) {
                self.fts_insert(key, &m.text)?;
            }
        } else {
            let (rowid, old_folder, old_text): (i64, i64, String) = self
                .tx
                .prepare_cached("SELECT id, folder, text FROM messages WHERE uuid = ?1")?
                .query_row([m.id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            self.count(old_folder, -1);
            let reindex = self.indexes(rowid) && old_text != m.text;
            if reindex {
                self.fts_delete(rowid, &old_text)?;
            }
            self.tx
                .prepare_cached(
                    "UPDATE messages SET conversation = ?2, folder = ?3, direction = ?4, text = ?5, data = ?6
                     WHERE id = ?1",
                )?
                .execute(params![rowid, m.conversation_id.0, folder.code(), direction, m.text, data])?;
            if reindex {
                self.fts_insert(rowid, &m.text)?;
            }
        }
        self.count(folder.code(), 1);
        self.changed.folders = true;
        self.changed.conversations.insert(m.conversation_id);
        Ok(())
    }

    /// Notes a message entering (+1) or leaving (-1) a folder; flushed once per transaction.
    fn count(&mut self, folder: i64, delta: i64) {
        if let Some(slot) = self.folder_delta.get_mut(folder as usize) {
            *slot += delta;
        }
    }

    /// Whether the message at `rowid` is in the full-text index (so a write keeps it there).
    fn indexes(&self, rowid: i64) -> bool {
        self.indexed_upto.is_none_or(|upto| rowid <= upto)
    }

    fn fts_insert(&self, rowid: i64, text: &str) -> Result<()> {
        self.tx
            .prepare_cached("INSERT INTO messages_fts (rowid, text) VALUES (?1, ?2)")?
            .execute(params![rowid, text])?;
        Ok(())
    }

    fn fts_delete(&self, rowid: i64, text: &str) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', ?1, ?2)",
            )?
            .execute(params![rowid, text])?;
        Ok(())
    }

    pub fn delete_message(&mut self, id: MessageId) -> Result<()> {
        let old: Option<(i64, i64, String, Uuid)> = self
            .tx
            .prepare_cached("SELECT id, folder, text, conversation FROM messages WHERE uuid = ?1")?
            .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        let Some((rowid, folder, text, conversation)) = old else {
            return Ok(());
        };
        self.record(EntityRef::Message(id))?;
        if self.indexes(rowid) {
            self.fts_delete(rowid, &text)?;
        }
        self.tx
            .prepare_cached("DELETE FROM messages WHERE id = ?1")?
            .execute([rowid])?;
        self.drop_files_of(id)?;
        self.count(folder, -1);
        self.changed.folders = true;
        self.changed
            .conversations
            .insert(ConversationId(conversation));
        Ok(())
    }

    /// Stores a conversation, or purges it when the signed-in agent may not see it.
    pub fn put_conversation(&mut self, c: &Conversation) -> Result<()> {
        if let Some(me) = &self.me
            && !rules::may_see(me, c)
        {
            return self.delete_conversation(c.id);
        }
        self.record(EntityRef::Conversation(c.id))?;
        self.uncount_conversation(c.id)?;
        self.tally(
            c.assignee.map(|a| a.0),
            c.team.map(|t| t.0),
            state_code(c.state),
            1,
            i64::from(c.unread_count),
        )?;
        self.tx
            .prepare_cached(
                "INSERT INTO conversations (uuid, contact, channel, state, assignee, team, unanswered, unread,
                                            opened_at, last_message_at, last_incoming_at, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (uuid) DO UPDATE SET
                    contact = excluded.contact, channel = excluded.channel, state = excluded.state,
                    assignee = excluded.assignee, team = excluded.team, unanswered = excluded.unanswered,
                    unread = excluded.unread, opened_at = excluded.opened_at,
                    last_message_at = excluded.last_message_at, last_incoming_at = excluded.last_incoming_at,
                    data = excluded.data",
            )?
            .execute(params![
                c.id.0,
                c.contact_id.0,
                c.channel.as_str(),
                state_code(c.state),
                c.assignee.map(|a| a.0),
                c.team.map(|t| t.0),
                c.unanswered,
                c.unread_count,
                c.opened_at,
                c.last_message_at,
                c.last_incoming_at,
                json_of(c)?
            ])?;
        self.changed.conversations.insert(c.id);
        Ok(())
    }

    /// Takes a stored conversation out of the side bar's counts (before it changes or goes).
    fn uncount_conversation(&mut self, id: ConversationId) -> Result<()> {
        let old: Option<(Option<Uuid>, Option<Uuid>, i64, i64)> = self
            .tx
            .prepare_cached(
                "SELECT assignee, team, state, unread FROM conversations WHERE uuid = ?1",
            )?
            .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        if let Some((assignee, team, state, unread)) = old {
            self.tally(assignee, team, state, -1, -unread)?;
        }
        Ok(())
    }

    fn tally(
        &mut self,
        assignee: Option<Uuid>,
        team: Option<Uuid>,
        state: i64,
        count: i64,
        unread: i64,
    ) -> Result<()> {
        let key = |u: Option<Uuid>| u.map_or_else(Vec::new, |u| u.as_bytes().to_vec());
        self.tx
            .prepare_cached(
                "INSERT INTO conversation_counts (assignee, team, state, count, unread) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (assignee, team, state) DO UPDATE SET
                    count = count + excluded.count, unread = unread + excluded.unread",
            )?
            .execute(params![key(assignee), key(team), state, count, unread])?;
        Ok(())
    }

    /// Removes a conversation with its messages and timeline (each recorded for undo).
    pub fn delete_conversation(&mut self, id: ConversationId) -> Result<()> {
        let messages: Vec<Uuid> = self
            .tx
            .prepare_cached("SELECT uuid FROM messages WHERE conversation = ?1")?
            .query_map([id.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for m in messages {
            self.delete_message(MessageId(m))?;
        }
        let events: Vec<Uuid> = self
            .tx
            .prepare_cached("SELECT uuid FROM events WHERE conversation = ?1")?
            .query_map([id.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for e in events {
            self.delete_event(EventId(e))?;
        }
        let calls: Vec<Uuid> = self
            .tx
            .prepare_cached("SELECT uuid FROM calls WHERE conversation = ?1")?
            .query_map([id.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for c in calls {
            self.delete_call(outpost_protocol::CallId(c))?;
        }
        self.record(EntityRef::Conversation(id))?;
        self.uncount_conversation(id)?;
        let n = self
            .tx
            .prepare_cached("DELETE FROM conversations WHERE uuid = ?1")?
            .execute([id.0])?;
        if n > 0 {
            self.changed.conversations.insert(id);
        }
        Ok(())
    }

    /// Revocation: the agent may no longer see the conversation. Its draft goes too.
    pub fn purge_conversation(&mut self, id: ConversationId) -> Result<()> {
        self.delete_conversation(id)?;
        self.tx
            .prepare_cached("DELETE FROM drafts WHERE conversation = ?1")?
            .execute([id.0])?;
        Ok(())
    }

    /// Purges every conversation the signed-in agent may no longer see (after their own role,
    /// visibility or teams changed).
    pub fn purge_invisible(&mut self) -> Result<()> {
        let Some(me) = self.me.clone() else {
            return Ok(());
        };
        let all: Vec<Conversation> = decode_all(&self.tx, "SELECT data FROM conversations")?;
        for c in all {
            if !rules::may_see(&me, &c) {
                self.purge_conversation(c.id)?;
            }
        }
        Ok(())
    }

    pub fn put_contact(&mut self, c: &Contact) -> Result<()> {
        self.record(EntityRef::Contact(c.id))?;
        let old: Option<(i64, String, String, String)> = self
            .tx
            .prepare_cached("SELECT id, name, phone, email FROM contacts WHERE uuid = ?1")?
            .query_row([c.id.0], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let data = json_of(c)?;
        let rowid = match old {
            Some((rowid, name, phone, email)) => {
                self.tx
                    .prepare_cached(
                        "INSERT INTO contacts_fts (contacts_fts, rowid, name, phone, email) VALUES ('delete', ?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![rowid, name, phone, email])?;
                self.tx
                    .prepare_cached(
                        "UPDATE contacts SET name = ?2, phone = ?3, email = ?4, name_f = ?5, email_f = ?6,
                                country_f = ?7, language_f = ?8, data = ?9 WHERE id = ?1",
                    )?
                    .execute(params![
                        rowid,
                        c.name,
                        c.phone,
                        c.email,
                        fold(&c.name),
                        fold(&c.email),
                        fold(&c.country),
                        fold(&c.language),
                        data
                    ])?;
                rowid
            }
            None => self
                .tx
                .prepare_cached(
                    "INSERT INTO contacts (uuid, name, phone, email, name_f, email_f, country_f, language_f, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
                )?
                .query_row(
                    params![
                        c.id.0,
                        c.name,
                        c.phone,
                        c.email,
                        fold(&c.name),
                        fold(&c.email),
                        fold(&c.country),
                        fold(&c.language),
                        data
                    ],
                    |r| r.get(0),
                )?,
        };
        self.tx
            .prepare_cached(
                "INSERT INTO contacts_fts (rowid, name, phone, email) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![rowid, c.name, c.phone, c.email])?;
        self.tx
            .prepare_cached("DELETE FROM contact_tags WHERE contact = ?1")?
            .execute([rowid])?;
        self.tx
            .prepare_cached("DELETE FROM contact_fields WHERE contact = ?1")?
            .execute([rowid])?;
        {
            let mut tag = self.tx.prepare_cached(
                "INSERT OR IGNORE INTO contact_tags (contact, tag_f) VALUES (?1, ?2)",
            )?;
            for t in &c.tags {
                tag.execute(params![rowid, fold(t)])?;
            }
            let mut field = self.tx.prepare_cached(
                "INSERT OR REPLACE INTO contact_fields (contact, key, value_f) VALUES (?1, ?2, ?3)",
            )?;
            for (k, v) in &c.fields {
                field.execute(params![rowid, k, fold(v)])?;
            }
        }
        self.changed.contacts.insert(c.id);
        Ok(())
    }

    pub fn delete_contact(&mut self, id: ContactId) -> Result<()> {
        let old: Option<(i64, String, String, String)> = self
            .tx
            .prepare_cached("SELECT id, name, phone, email FROM contacts WHERE uuid = ?1")?
            .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        let Some((rowid, name, phone, email)) = old else {
            return Ok(());
        };
        self.record(EntityRef::Contact(id))?;
        self.tx
            .prepare_cached(
                "INSERT INTO contacts_fts (contacts_fts, rowid, name, phone, email) VALUES ('delete', ?1, ?2, ?3, ?4)",
            )?
            .execute(params![rowid, name, phone, email])?;
        self.tx
            .prepare_cached("DELETE FROM contact_tags WHERE contact = ?1")?
            .execute([rowid])?;
        self.tx
            .prepare_cached("DELETE FROM contact_fields WHERE contact = ?1")?
            .execute([rowid])?;
        self.tx
            .prepare_cached("DELETE FROM contacts WHERE id = ?1")?
            .execute([rowid])?;
        self.changed.contacts.insert(id);
        Ok(())
    }

    pub fn put_event(&mut self, e: &ConversationEvent) -> Result<()> {
        self.record(EntityRef::Event(e.id))?;
        self.tx
            .prepare_cached(
                "INSERT INTO events (uuid, conversation, at, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (uuid) DO UPDATE SET conversation = excluded.conversation, at = excluded.at, data = excluded.data",
            )?
            .execute(params![e.id.0, e.conversation_id.0, e.at, json_of(e)?])?;
        self.changed.conversations.insert(e.conversation_id);
        Ok(())
    }

    pub fn delete_event(&mut self, id: EventId) -> Result<()> {
        let conversation: Option<Uuid> = self
            .tx
            .prepare_cached("SELECT conversation FROM events WHERE uuid = ?1")?
            .query_row([id.0], |r| r.get(0))
            .optional()?;
        let Some(conversation) = conversation else {
            return Ok(());
        };
        self.record(EntityRef::Event(id))?;
        self.tx
            .prepare_cached("DELETE FROM events WHERE uuid = ?1")?
            .execute([id.0])?;
        self.changed
            .conversations
            .insert(ConversationId(conversation));
        Ok(())
    }

    /// A call of a conversation: the Calls folder's count and list change with it.
    pub fn put_call(&mut self, c: &outpost_protocol::Call) -> Result<()> {
        self.record(EntityRef::Call(c.id))?;
        let before: Option<Uuid> = self
            .tx
            .prepare_cached("SELECT conversation FROM calls WHERE uuid = ?1")?
            .query_row([c.id.0], |r| r.get(0))
            .optional()?;
        self.tx
            .prepare_cached(
                "INSERT INTO calls (uuid, conversation, contact, at, direction, outcome, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (uuid) DO UPDATE SET conversation = excluded.conversation, contact = excluded.contact,
                    at = excluded.at, direction = excluded.direction, outcome = excluded.outcome, data = excluded.data",
            )?
            .execute(params![
                c.id.0,
                c.conversation_id.0,
                c.contact_id.0,
                c.started_at,
                direction_code(c.direction),
                outcome_code(c.outcome),
                json_of(c)?
            ])?;
        if let Some(before) = before {
            self.changed.conversations.insert(ConversationId(before));
        }
        self.changed.conversations.insert(c.conversation_id);
        self.changed.folders = true;
        Ok(())
    }

    pub fn delete_call(&mut self, id: outpost_protocol::CallId) -> Result<()> {
        let conversation: Option<Uuid> = self
            .tx
            .prepare_cached("SELECT conversation FROM calls WHERE uuid = ?1")?
            .query_row([id.0], |r| r.get(0))
            .optional()?;
        let Some(conversation) = conversation else {
            return Ok(());
        };
        self.record(EntityRef::Call(id))?;
        self.tx
            .prepare_cached("DELETE FROM calls WHERE uuid = ?1")?
            .execute([id.0])?;
        self.changed
            .conversations
            .insert(ConversationId(conversation));
        self.changed.folders = true;
        Ok(())
    }

    pub fn put_agent(&mut self, a: &Agent) -> Result<()> {
        self.record(EntityRef::Agent(a.id))?;
        self.tx
            .prepare_cached(
                "INSERT INTO agents (uuid, data) VALUES (?1, ?2)
                 ON CONFLICT (uuid) DO UPDATE SET data = excluded.data",
            )?
            .execute(params![a.id.0, json_of(a)?])?;
        self.changed.agents = true;
        let is_me = self.me.as_ref().is_some_and(|me| me.id == a.id);
        if is_me && self.me.as_ref() != Some(a) {
            let narrower = self.me.as_ref().is_some_and(|me| {
                me.role != a.role || me.visibility != a.visibility || me.teams != a.teams
            });
            self.meta_set("me", &json_of(a)?)?;
            self.me = Some(a.clone());
            self.me_changed = true;
            if narrower {
                self.purge_invisible()?;
            }
        }
        Ok(())
    }

    pub fn put_team(&mut self, t: &Team) -> Result<()> {
        self.record(EntityRef::Team(t.id))?;
        self.tx
            .prepare_cached(
                "INSERT INTO teams (uuid, name, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, data = excluded.data",
            )?
            .execute(params![t.id.0, t.name, json_of(t)?])?;
        self.changed.agents = true;
        Ok(())
    }

    pub fn put_channel(&mut self, c: &Channel) -> Result<()> {
        self.record(EntityRef::Channel(c.id))?;
        self.tx
            .prepare_cached(
                "INSERT INTO channels (uuid, kind, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT (uuid) DO UPDATE SET kind = excluded.kind, data = excluded.data",
            )?
            .execute(params![c.id.0, c.kind.as_str(), json_of(c)?])?;
        self.changed.agents = true;
        Ok(())
    }

    pub fn put_view(&mut self, v: &CustomView) -> Result<()> {
        self.record(EntityRef::View(v.id))?;
        self.tx
            .prepare_cached(
                "INSERT INTO views (uuid, owner, name, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (uuid) DO UPDATE SET owner = excluded.owner, name = excluded.name, data = excluded.data",
            )?
            .execute(params![v.id.0, v.owner.0, v.name, json_of(v)?])?;
        self.changed.views = true;
        Ok(())
    }
}
