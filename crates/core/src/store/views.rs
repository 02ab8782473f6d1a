//! Reading the mirror the way the agent sees it: the inbox views (All, Mine, Unassigned, Team,
//! Custom) as pages of conversations, the folders as pages of messages, a conversation's
//! timeline, and the counts and new-message dots of the side bar.
//!
//! Every list is a keyset page over an index made for its sort (`ORDER BY key, rowid` with
//! `(key, rowid) < cursor`), so the cost of a page does not grow with the mirror. The mirror
//! holds only what the agent may see, so "All" is the whole mirror.

use outpost_protocol::{
    Agent, AgentId, Call, ChannelKind, Compare, Condition, Contact, ContactField, Conversation,
    ConversationEvent, ConversationId, ConversationState, CustomView, EventKind, Folder, Message,
    MessageId, Millis, Team, TeamId, TextOp, ViewId, rules,
};
use rusqlite::{Connection, OptionalExtension, ToSql, types::Value};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::entities::{
    decode_all, get_contact, get_conversation, get_message, message_from_row, state_code,
};
use super::{Store, fold};
use crate::error::{Error, Result};

/// An inbox view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum ViewRef {
    All,
    Mine,
    Unassigned,
    Team(TeamId),
    Custom(ViewId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Newest last message first (the default).
    NewestMessage,
    /// Oldest last message first.
    OldestMessage,
    /// Open the longest first.
    LongestOpen,
    /// Open the shortest first.
    ShortestOpen,
}

impl Sort {
    pub const ALL: [Sort; 4] = [
        Sort::NewestMessage,
        Sort::OldestMessage,
        Sort::LongestOpen,
        Sort::ShortestOpen,
    ];

    fn column(self) -> &'static str {
        match self {
            Sort::NewestMessage | Sort::OldestMessage => "last_message_at",
            Sort::LongestOpen | Sort::ShortestOpen => "opened_at",
        }
    }

    fn descending(self) -> bool {
        matches!(self, Sort::NewestMessage | Sort::ShortestOpen)
    }

    /// The sort key of a conversation.
    pub fn key(self, c: &Conversation) -> Millis {
        match self {
            Sort::NewestMessage | Sort::OldestMessage => c.last_message_at,
            Sort::LongestOpen | Sort::ShortestOpen => c.opened_at,
        }
    }
}

/// The assignee filter of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Assignee {
    Nobody,
    Agent(AgentId),
}

/// Where the next page of a list starts (the last row's sort key and rowid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ListCursor {
    pub key: Millis,
    pub row: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ListQuery {
    pub view: ViewRef,
    /// Open by default; closed or snoozed with the status filter.
    pub state: ConversationState,
    pub channel: Option<ChannelKind>,
    pub assignee: Option<Assignee>,
    /// Only conversations waiting for our reply.
    pub unanswered_only: bool,
    pub sort: Sort,
    pub after: Option<ListCursor>,
    pub limit: u32,
}

impl ListQuery {
    pub fn new(view: ViewRef) -> ListQuery {
        ListQuery {
            view,
            state: ConversationState::Open,
            channel: None,
            assignee: None,
            unanswered_only: false,
            sort: Sort::NewestMessage,
            after: None,
            limit: 50,
        }
    }
}

/// A row of the conversation list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ConversationSummary {
    pub conversation: Conversation,
    pub contact_name: String,
    pub contact_avatar: String,
    /// The newest call, for a conversation with no message yet (a call began it): what its row
    /// says instead of a message's preview.
    pub last_call: Option<Call>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ConversationPage {
    pub rows: Vec<ConversationSummary>,
    /// Set when there may be more rows.
    pub next: Option<ListCursor>,
}

/// A row of a folder screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MessageRow {
    /// The message's position, for paging.
    pub row: i64,
    pub message: Message,
    pub contact_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MessagePage {
    pub rows: Vec<MessageRow>,
    pub next: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineItem {
    Message {
        row: i64,
        message: Box<Message>,
    },
    Event {
        event: ConversationEvent,
    },
    /// A call with the contact, where it happened between the messages.
    Call {
        call: outpost_protocol::Call,
    },
}

/// An opened conversation: the newest page of its timeline, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Timeline {
    pub conversation: Conversation,
    pub contact: Option<Contact>,
    pub items: Vec<TimelineItem>,
    /// Messages that items reply to and that are not in the page (reply context).
    pub replied: Vec<Message>,
    /// Where the page of older items starts, if there are older messages.
    pub older: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ViewCount {
    pub view: ViewRef,
    /// Open conversations in the view.
    pub open: u64,
    /// An unread message whose most specific inbox is this one.
    pub dot: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Counts {
    pub folders: Vec<(Folder, u64)>,
    /// Calls (the Calls folder): counted apart from messages, so the folders' sum plus the
    /// calls is everything exchanged.
    pub calls: u64,
    pub views: Vec<ViewCount>,
    /// Unread messages over the whole mirror (the tray badge).
    pub unread: u64,
}

/// SQL text and its parameters, built together.
#[derive(Default)]
struct Sql {
    text: String,
    params: Vec<Value>,
}

impl Sql {
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn bind(&mut self, v: impl Into<Value>) -> &mut Self {
        self.params.push(v.into());
        self.text.push('?');
        self.text.push_str(&self.params.len().to_string());
        self
    }
}

fn uuid_value(u: uuid::Uuid) -> Value {
    Value::Blob(u.as_bytes().to_vec())
}

/// Compiles a custom view's filter to SQL over `c` (conversations) and `k` (contacts).
fn compile(cond: &Condition, now: Millis, sql: &mut Sql) {
    fn text_op(sql: &mut Sql, column: &dyn Fn(&mut Sql), op: TextOp, value: &str) {
        let v = fold(value);
        match op {
            TextOp::Is => {
                column(sql);
                sql.push(" = ").bind(v);
            }
            TextOp::IsNot => {
                column(sql);
                sql.push(" IS NOT ").bind(v);
            }
            TextOp::Contains => {
                sql.push("instr(");
                column(sql);
                sql.push(", ").bind(v).push(") > 0");
            }
            TextOp::StartsWith => {
                sql.push("substr(");
                column(sql);
                sql.push(", 1, ")
                    .bind(v.chars().count() as i64)
                    .push(") = ")
                    .bind(v);
            }
            TextOp::IsSet | TextOp::IsNotSet => {
                sql.push("coalesce(");
                column(sql);
                sql.push(if op == TextOp::IsSet {
                    ", '') <> ''"
                } else {
                    ", '') = ''"
                });
            }
        }
    }
    match cond {
        Condition::All { of } | Condition::Any { of } if of.is_empty() => {
            sql.push(if matches!(cond, Condition::All { .. }) {
                "1"
            } else {
                "0"
            });
        }
        Condition::All { of } | Condition::Any { of } => {
            let joiner = if matches!(cond, Condition::All { .. }) {
                " AND "
            } else {
                " OR "
            };
            sql.push("(");
            for (i, c) in of.iter().enumerate() {
                if i > 0 {
                    sql.push(joiner);
                }
                compile(c, now, sql);
            }
            sql.push(")");
        }
        Condition::Contact { field, op, value } => {
            let column = match field {
                ContactField::Name => "k.name_f",
                ContactField::Phone => "k.phone",
                ContactField::Email => "k.email_f",
                ContactField::Country => "k.country_f",
                ContactField::Language => "k.language_f",
            };
            text_op(
                sql,
                &|s: &mut Sql| {
                    s.push(column);
                },
                *op,
                value,
            );
        }
        Condition::CustomField { key, op, value } => {
            let column = |s: &mut Sql| {
                s.push(
                    "(SELECT f.value_f FROM contact_fields f WHERE f.contact = k.id AND f.key = ",
                )
                .bind(key.clone())
                .push(")");
            };
            text_op(sql, &column, *op, value);
        }
        Condition::Tag { tag, present } => {
            sql.push(if *present { "EXISTS" } else { "NOT EXISTS" })
                .push(" (SELECT 1 FROM contact_tags t WHERE t.contact = k.id AND t.tag_f = ")
                .bind(fold(tag))
                .push(")");
        }
        Condition::LastChannel { channels } => {
            if channels.is_empty() {
                sql.push("0");
            } else {
                sql.push("c.channel IN (");
                for (i, ch) in channels.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.bind(ch.as_str().to_owned());
                }
                sql.push(")");
            }
        }
        Condition::SinceLastIncoming { op, minutes } => {
            let bound = now - minutes * 60_000;
            match op {
                Compare::MoreThan => sql
                    .push("(c.last_incoming_at IS NULL OR c.last_incoming_at < ")
                    .bind(bound)
                    .push(")"),
                Compare::LessThan => sql.push("c.last_incoming_at >= ").bind(bound),
            };
        }
    }
}

pub(crate) const SUMMARY_COLUMNS: &str =
    "c.id, c.data, coalesce(k.name, ''), coalesce(json_extract(k.data, '$.avatar_url'), '')";

fn summary_from_row(row: &rusqlite::Row) -> rusqlite::Result<(i64, String, String, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

/// The SQL of a conversation list page (also checked by the query-plan tests).
pub(crate) fn list_sql(
    q: &ListQuery,
    me: AgentId,
    custom: Option<&CustomView>,
    now: Millis,
) -> (String, Vec<Value>) {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM conversations c LEFT JOIN contacts k ON k.uuid = c.contact WHERE "
    ));
    match q.view {
        ViewRef::All | ViewRef::Custom(_) => {}
        ViewRef::Mine => {
            sql.push("c.assignee = ")
                .bind(uuid_value(me.0))
                .push(" AND ");
        }
        ViewRef::Unassigned => {
            sql.push("c.assignee IS NULL AND ");
        }
        ViewRef::Team(t) => {
            sql.push("c.team = ").bind(uuid_value(t.0)).push(" AND ");
        }
    }
    sql.push("c.state = ").bind(state_code(q.state));
    if let Some(view) = custom {
        sql.push(" AND ");
        compile(&view.filter, now, &mut sql);
    }
    if let Some(ch) = q.channel {
        sql.push(" AND c.channel = ").bind(ch.as_str().to_owned());
    }
    match q.assignee {
        Some(Assignee::Nobody) => {
            sql.push(" AND c.assignee IS NULL");
        }
        Some(Assignee::Agent(a)) => {
            sql.push(" AND c.assignee = ").bind(uuid_value(a.0));
        }
        None => {}
    }
    if q.unanswered_only {
        sql.push(" AND c.unanswered = 1");
    }
    let col = q.sort.column();
    let (cmp, dir) = if q.sort.descending() {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(after) = q.after {
        sql.push(&format!(" AND (c.{col}, c.id) {cmp} ("))
            .bind(after.key)
            .push(", ")
            .bind(after.row)
            .push(")");
    }
    sql.push(&format!(" ORDER BY c.{col} {dir}, c.id {dir} LIMIT "))
        .bind(i64::from(q.limit.clamp(1, 500)));
    (sql.text, sql.params)
}

fn read_rows<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    f: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    Ok(conn
        .prepare_cached(sql)?
        .query_map(params, f)?
        .collect::<rusqlite::Result<_>>()?)
}

/// At the same millisecond, what a contact's message or call did to the conversation (began,
/// reopened or woke it) is said before that message or call: 0 for those events, else 1.
fn said_after(item: &TimelineItem) -> u8 {
    match item {
        TimelineItem::Event { event }
            if matches!(event.kind, EventKind::Opened { .. } | EventKind::Unsnoozed) =>
        {
            0
        }
        _ => 1,
    }
}

/// The SQL of a folder page.
pub(crate) const FOLDER_SQL: &str =
    "SELECT m.id, m.uuid, m.conversation, m.direction, m.created_at, m.text, m.data,
        coalesce(k.name, '')
 FROM messages m
 LEFT JOIN conversations c ON c.uuid = m.conversation
 LEFT JOIN contacts k ON k.uuid = c.contact
 WHERE m.folder = ?1 AND m.id < ?2
 ORDER BY m.id DESC LIMIT ?3";

/// The SQL of a timeline page's messages.
pub(crate) const TIMELINE_SQL: &str =
    "SELECT m.id, m.uuid, m.conversation, m.direction, m.created_at, m.text, m.data
 FROM messages m WHERE m.conversation = ?1 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3";

impl Store {
    /// A page of a conversation list.
    pub fn list_conversations(&self, q: &ListQuery, now: Millis) -> Result<ConversationPage> {
        let me = self.me().ok_or(Error::NoAgent)?;
        self.read(|conn| {
            let custom = match q.view {
                ViewRef::Custom(id) => Some(
                    super::entities::get_view(conn, id)?
                        .ok_or_else(|| Error::NotFound("That view".into()))?,
                ),
                _ => None,
            };
            let (sql, params) = list_sql(q, me.id, custom.as_ref(), now);
            let params: Vec<&dyn ToSql> = params.iter().map(|v| v as &dyn ToSql).collect();
            let raw = read_rows(conn, &sql, &params, summary_from_row)?;
            let full = raw.len() as u32 == q.limit.clamp(1, 500);
            let mut rows = Vec::with_capacity(raw.len());
            let mut next = None;
            for (rowid, data, contact_name, contact_avatar) in raw {
                let conversation: Conversation = serde_json::from_str(&data)?;
                next = Some(ListCursor {
                    key: q.sort.key(&conversation),
                    row: rowid,
                });
                let last_call = match conversation.last_message_direction {
                    None => Store::newest_call(conn, conversation.id)?,
                    Some(_) => None,
                };
                rows.push(ConversationSummary {
                    conversation,
                    contact_name,
                    contact_avatar,
                    last_call,
                });
            }
            Ok(ConversationPage {
                rows,
                next: if full { next } else { None },
            })
        })
    }

    /// A page of a folder, newest first.
    pub fn list_folder(
        &self,
        folder: Folder,
        before: Option<i64>,
        limit: u32,
    ) -> Result<MessagePage> {
        self.read(|conn| {
            let limit = i64::from(limit.clamp(1, 500));
            let rows = read_rows(
                conn,
                FOLDER_SQL,
                &[&folder.code(), &before.unwrap_or(i64::MAX), &limit],
                |r| Ok((message_from_row(r)?, r.get::<_, String>(7)?)),
            )?;
            let full = rows.len() as i64 == limit;
            let rows = rows
                .into_iter()
                .map(|((row, m), contact_name)| {
                    Ok(MessageRow {
                        row,
                        message: m?,
                        contact_name,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let next = if full {
                rows.last().map(|r| r.row)
            } else {
                None
            };
            Ok(MessagePage { rows, next })
        })
    }

    /// A conversation's timeline: up to `limit` messages before `before` (the newest when none),
    /// with the events between them, oldest first.
    pub fn open_conversation(
        &self,
        id: ConversationId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Timeline> {
        self.read(|conn| {
            let conversation =
                get_conversation(conn, id)?.ok_or_else(|| Error::NotFound("That conversation".into()))?;
            let contact = get_contact(conn, conversation.contact_id)?;
            let limit = i64::from(limit.clamp(1, 500));
            let raw = read_rows(conn, TIMELINE_SQL, &[&id.0, &before.unwrap_or(i64::MAX), &limit], message_from_row)?;
            let more = raw.len() as i64 == limit;
            let mut messages = raw
                .into_iter()
                .map(|(row, m)| Ok((row, m?)))
                .collect::<Result<Vec<_>>>()?;
            messages.reverse();
            // Events between the oldest message of the page (or the beginning) and the message
            // after the page (or now).
            let from = if more { messages.first().map_or(i64::MIN, |(_, m)| m.created_at) } else { i64::MIN };
            let until = match before {
                Some(row) => conn
                    .prepare_cached("SELECT created_at FROM messages WHERE id = ?1")?
                    .query_row([row], |r| r.get(0))
                    .optional()?
                    .unwrap_or(i64::MAX),
                None => i64::MAX,
            };
            let events: Vec<String> = read_rows(
                conn,
                "SELECT data FROM events WHERE conversation = ?1 AND at >= ?2 AND at < ?3 ORDER BY at",
                &[&id.0, &from, &until],
                |r| r.get(0),
            )?;
            let calls: Vec<String> = read_rows(
                conn,
                "SELECT data FROM calls WHERE conversation = ?1 AND at >= ?2 AND at < ?3 ORDER BY at",
                &[&id.0, &from, &until],
                |r| r.get(0),
            )?;
            let mut items: Vec<(Millis, TimelineItem)> =
                Vec::with_capacity(messages.len() + events.len() + calls.len());
            for (row, message) in messages.iter().cloned() {
                items.push((message.created_at, TimelineItem::Message { row, message: Box::new(message) }));
            }
            for json in events {
                let event: ConversationEvent = serde_json::from_str(&json)?;
                items.push((event.at, TimelineItem::Event { event }));
            }
            for json in calls {
                let call: outpost_protocol::Call = serde_json::from_str(&json)?;
                items.push((call.started_at, TimelineItem::Call { call }));
            }
            items.sort_by_key(|(at, item)| (*at, said_after(item)));
            let in_page: std::collections::HashSet<MessageId> = messages.iter().map(|(_, m)| m.id).collect();
            let mut replied = Vec::new();
            for (_, m) in &messages {
                if let Some(r) = m.reply_to
                    && !in_page.contains(&r)
                    && let Some(found) = get_message(conn, r)?
                {
                    replied.push(found);
                }
            }
            Ok(Timeline {
                conversation,
                contact,
                items: items.into_iter().map(|(_, i)| i).collect(),
                replied,
                older: if more { messages.first().map(|(row, _)| *row) } else { None },
            })
        })
    }

    /// Custom views the agent may use: their own, and those shared with them or their teams.
    pub fn views(&self) -> Result<Vec<CustomView>> {
        let me = self.me().ok_or(Error::NoAgent)?;
        let all: Vec<CustomView> =
            self.read(|c| decode_all(c, "SELECT data FROM views ORDER BY name"))?;
        Ok(all
            .into_iter()
            .filter(|v| {
                v.owner == me.id
                    || v.sharing.agents.contains(&me.id)
                    || v.sharing.teams.iter().any(|t| me.teams.contains(t))
            })
            .collect())
    }

    /// Everyone in the workspace, by name.
    pub fn agents(&self) -> Result<Vec<Agent>> {
        let mut agents: Vec<Agent> = self.read(|c| decode_all(c, "SELECT data FROM agents"))?;
        agents.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(agents)
    }

    pub fn teams(&self) -> Result<Vec<Team>> {
        self.read(|c| decode_all(c, "SELECT data FROM teams ORDER BY name"))
    }

    /// The workspace's channels, oldest first (the first enabled one of a kind is where that
    /// kind's messages leave).
    pub fn channels(&self) -> Result<Vec<outpost_protocol::Channel>> {
        self.read(|c| decode_all(c, "SELECT data FROM channels ORDER BY uuid"))
    }

    /// The number of messages in each folder, kept as data (never counted per query).
    pub fn folder_counts(&self) -> Result<Vec<(Folder, u64)>> {
        self.read(|conn| {
            let mut folders: Vec<(Folder, u64)> = read_rows(
                conn,
                "SELECT folder, count FROM folder_counts ORDER BY folder",
                &[],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )?
            .into_iter()
            .filter_map(|(f, n)| Folder::from_code(f).map(|f| (f, n.max(0) as u64)))
            .collect();
            folders.sort();
            Ok(folders)
        })
    }

    /// Folder counts (kept as data), open counts and new-message dots of the standard and team
    /// views, and the unread total.
    pub fn counts(&self) -> Result<Counts> {
        let me = self.me().ok_or(Error::NoAgent)?;
        let folders = self.folder_counts()?;
        self.read(|conn| {
            let calls: i64 = conn
                .prepare_cached("SELECT count(*) FROM calls")?
                .query_row([], |r| r.get(0))?;
            let teams: Vec<TeamId> = if rules::is_privileged(&me) {
                read_rows(conn, "SELECT uuid FROM teams ORDER BY name", &[], |r| {
                    r.get(0).map(TeamId)
                })?
            } else {
                me.teams.clone()
            };
            // The side bar's numbers come from the counts kept as data: a few rows per agent
            // and team, whatever the size of the mirror.
            let groups: Vec<(Vec<u8>, Vec<u8>, i64, i64)> = read_rows(
                conn,
                "SELECT assignee, team, count, unread FROM conversation_counts WHERE state = 0 AND (count > 0 OR unread > 0)",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let id = |b: &[u8]| uuid::Uuid::from_slice(b).ok();
            let mut views = vec![
                ViewCount { view: ViewRef::All, open: 0, dot: false },
                ViewCount { view: ViewRef::Mine, open: 0, dot: false },
                ViewCount { view: ViewRef::Unassigned, open: 0, dot: false },
            ];
            views.extend(teams.iter().map(|t| ViewCount { view: ViewRef::Team(*t), open: 0, dot: false }));
            let mut total = 0u64;
            for (assignee, team, count, unread) in groups {
                let (assignee, team) = (id(&assignee).map(AgentId), id(&team).map(TeamId));
                let count = count.max(0) as u64;
                for v in views.iter_mut() {
                    let member = match v.view {
                        ViewRef::All | ViewRef::Custom(_) => true,
                        ViewRef::Mine => assignee == Some(me.id),
                        ViewRef::Unassigned => assignee.is_none(),
                        ViewRef::Team(t) => team == Some(t),
                    };
                    if member {
                        v.open += count;
                    }
                }
                if unread > 0 {
                    total += unread as u64;
                    let target = most_specific_inbox(me.id, &teams, assignee, team);
                    if let Some(v) = views.iter_mut().find(|v| v.view == target) {
                        v.dot = true;
                    }
                }
            }
            Ok(Counts {
                folders,
                calls: calls.max(0) as u64,
                views,
                unread: total,
            })
        })
    }
}

/// Where a conversation's new-message dot goes: Mine > Team > Unassigned > All.
pub fn most_specific_inbox(
    me: AgentId,
    my_teams: &[TeamId],
    assignee: Option<AgentId>,
    team: Option<TeamId>,
) -> ViewRef {
    if assignee == Some(me) {
        return ViewRef::Mine;
    }
    if let Some(t) = team
        && my_teams.contains(&t)
    {
        return ViewRef::Team(t);
    }
    if assignee.is_none() {
        return ViewRef::Unassigned;
    }
    ViewRef::All
}

#[cfg(test)]
mod views_tests;
