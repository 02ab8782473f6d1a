//! Test support: real mirrors in temporary directories, hand-made entities, and the checks every
//! test shares (a full snapshot of the mirror for exact comparisons, and the invariants).

use std::sync::Arc;

use outpost_protocol::*;
use rusqlite::Connection;
use tempfile::TempDir;

use crate::Clock;
use crate::store::{Assignee, ListQuery, Sort, Store, ViewRef};
use crate::{Client, IndexMode, ManualClock};

pub const T0: Millis = 1_767_000_000_000;
pub const MINUTE: Millis = 60_000;
pub const HOUR: Millis = 60 * MINUTE;

pub struct Fixture {
    pub dir: TempDir,
    pub clock: Arc<ManualClock>,
    pub client: Client,
    pub seq: u64,
}

pub use outpost_protocol::test_data::{agent, conversation, incoming};

/// A contact known for a while before the tests' start.
pub fn contact(name: &str) -> Contact {
    outpost_protocol::test_data::contact_since(name, T0 - 100 * HOUR)
}

impl Fixture {
    /// A fresh mirror signed in as `me`.
    pub fn new(me: &Agent) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = Arc::new(ManualClock::new(T0));
        let client =
            Client::open(dir.path().join("mirror.db"), clock.clone()).expect("open mirror");
        client.set_me(me).expect("set me");
        Fixture {
            dir,
            clock,
            client,
            seq: 0,
        }
    }

    pub fn store(&self) -> &Store {
        self.client.store()
    }

    /// Stores entities as the server would send them: one page, next seqs.
    pub fn server_upsert(&mut self, entities: Vec<Entity>) {
        let changes = entities
            .into_iter()
            .map(|entity| {
                self.seq += 1;
                Change {
                    seq: self.seq,
                    kind: ChangeKind::Upsert { entity },
                }
            })
            .collect();
        self.server_page(changes);
    }

    pub fn server_page(&mut self, changes: Vec<Change>) {
        let page = ChangesPage {
            changes,
            cursor: self.seq,
            has_more: false,
            head: 0,
        };
        self.client
            .ingest(&page, IndexMode::Immediate)
            .expect("ingest page");
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn act(&self, action: Action) -> crate::Result<Option<OpId>> {
        self.client.act(action)
    }

    pub fn conversation(&self, id: ConversationId) -> Option<Conversation> {
        self.store()
            .read(|c| crate::store::entities_get_conversation(c, id))
            .expect("read")
    }

    pub fn message(&self, id: MessageId) -> Option<Message> {
        self.store()
            .read(|c| crate::store::entities_get_message(c, id))
            .expect("read")
    }

    pub fn snapshot(&self) -> Vec<String> {
        self.store().read(|c| Ok(snapshot(c))).expect("snapshot")
    }

    pub fn check_invariants(&self) {
        self.store()
            .with_writer(|c| {
                check_invariants(c);
                Ok(())
            })
            .expect("invariants");
    }
}

/// Every row a user could see, as text, sorted: two equal snapshots mean equal mirrors.
/// The journal and the cursor are left out.
pub fn snapshot(conn: &Connection) -> Vec<String> {
    let queries = [
        "SELECT 'conversation ' || data FROM conversations",
        "SELECT 'message ' || hex(uuid) || ' ' || folder || ' ' || text || ' ' || data FROM messages",
        "SELECT 'contact ' || data FROM contacts",
        "SELECT 'tag ' || (SELECT hex(uuid) FROM contacts k WHERE k.id = contact) || ' ' || tag_f FROM contact_tags",
        "SELECT 'field ' || (SELECT hex(uuid) FROM contacts k WHERE k.id = contact) || ' ' || key || '=' || value_f FROM contact_fields",
        "SELECT 'event ' || data FROM events",
        "SELECT 'agent ' || data FROM agents",
        "SELECT 'team ' || data FROM teams",
        "SELECT 'view ' || data FROM views",
        "SELECT 'count ' || folder || ' ' || count FROM folder_counts",
    ];
    let mut rows = Vec::new();
    for q in queries {
        let mut stmt = conn.prepare(q).expect("snapshot query");
        let found: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("snapshot rows")
            .collect::<rusqlite::Result<_>>()
            .expect("snapshot rows");
        rows.extend(found);
    }
    rows.sort();
    rows
}

/// assignee, team, state, count, unread
type CountRow = (Vec<u8>, Vec<u8>, i64, i64, i64);

/// The mirror's invariants: each message's folder is `Folder::of` of it, the stored counts equal
/// COUNT(*) per folder, every call's conversation is held, both full-text indexes match their
/// tables, the file is sound.
pub fn check_invariants(conn: &Connection) {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {} FROM messages m",
            crate::store::MESSAGE_COLUMNS_PUB
        ))
        .expect("prepare");
    let rows: Vec<(i64, crate::Result<Message>)> = stmt
        .query_map([], crate::store::message_row)
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    for (rowid, m) in rows {
        let m = m.expect("message decodes");
        let folder: i64 = conn
            .query_row("SELECT folder FROM messages WHERE id = ?1", [rowid], |r| {
                r.get(0)
            })
            .expect("folder");
        assert_eq!(
            folder,
            Folder::of(&m).code(),
            "message {} stored in the wrong folder",
            m.id
        );
    }
    let stored: Vec<(i64, i64)> = conn
        .prepare("SELECT folder, count FROM folder_counts ORDER BY folder")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    for (folder, count) in stored {
        let actual: i64 = conn
            .query_row(
                "SELECT count(*) FROM messages WHERE folder = ?1",
                [folder],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(
            count, actual,
            "stored count of folder {folder} differs from COUNT(*)"
        );
    }
    let kept: Vec<CountRow> = conn
        .prepare("SELECT assignee, team, state, count, unread FROM conversation_counts WHERE count <> 0 OR unread <> 0 ORDER BY 1, 2, 3")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    let counted: Vec<CountRow> = conn
        .prepare(
            "SELECT coalesce(assignee, x''), coalesce(team, x''), state, count(*), sum(unread)
             FROM conversations GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        )
        .expect("prepare")
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    assert_eq!(
        kept, counted,
        "the side bar's counts kept as data differ from the conversations"
    );
    // A call is in sight only with its conversation (a revocation or a deletion takes both).
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM calls WHERE conversation NOT IN (SELECT uuid FROM conversations)",
            [],
            |r| r.get(0),
        )
        .expect("orphan calls");
    assert_eq!(
        orphans, 0,
        "calls whose conversation the mirror does not hold"
    );
    // The message index is built at the end of a first sync: until then it is empty on purpose.
    let index_pending = conn
        .query_row("SELECT 1 FROM meta WHERE key = 'index_pending'", [], |_| {
            Ok(())
        })
        .is_ok();
    if !index_pending {
        conn.execute_batch(
            "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1);",
        )
        .expect("the message index matches its table");
    }
    conn.execute_batch(
        "INSERT INTO contacts_fts (contacts_fts, rank) VALUES ('integrity-check', 1);",
    )
    .expect("the contact index matches its table");
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(ok, "ok");
}

// ---- The views, computed without SQL ----

pub fn mirror_conversations(f: &Fixture) -> Vec<(i64, Conversation)> {
    f.store()
        .read(|c| {
            let rows: Vec<(i64, String)> = c
                .prepare("SELECT id, data FROM conversations")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows
                .into_iter()
                .map(|(id, d)| (id, serde_json::from_str(&d).unwrap()))
                .collect())
        })
        .unwrap()
}

pub fn in_view(view: ViewRef, me: AgentId, c: &Conversation) -> bool {
    match view {
        ViewRef::All | ViewRef::Custom(_) => true,
        ViewRef::Mine => c.assignee == Some(me),
        ViewRef::Unassigned => c.assignee.is_none(),
        ViewRef::Team(t) => c.team == Some(t),
    }
}

/// The list the rules say a query should give, computed without SQL.
pub fn brute(
    all: &[(i64, Conversation)],
    q: &ListQuery,
    me: AgentId,
    keep: impl Fn(&Conversation) -> bool,
) -> Vec<ConversationId> {
    let mut rows: Vec<&(i64, Conversation)> = all
        .iter()
        .filter(|(_, c)| in_view(q.view, me, c) && c.state == q.state)
        .filter(|(_, c)| q.channel.is_none_or(|ch| c.channel == ch))
        .filter(|(_, c)| match q.assignee {
            None => true,
            Some(Assignee::Nobody) => c.assignee.is_none(),
            Some(Assignee::Agent(a)) => c.assignee == Some(a),
        })
        .filter(|(_, c)| !q.unanswered_only || c.unanswered)
        .filter(|(_, c)| keep(c))
        .collect();
    rows.sort_by_key(|(row, c)| (q.sort.key(c), *row));
    if matches!(q.sort, Sort::NewestMessage | Sort::ShortestOpen) {
        rows.reverse();
    }
    rows.into_iter().map(|(_, c)| c.id).collect()
}

/// Every page of a query, walked with a small page size.
pub fn paged(f: &Fixture, q: &ListQuery) -> Vec<ConversationId> {
    let mut q = q.clone();
    q.limit = 7;
    let mut out = Vec::new();
    loop {
        let page = f.store().list_conversations(&q, f.clock.now()).unwrap();
        out.extend(page.rows.iter().map(|r| r.conversation.id));
        match page.next {
            Some(next) => q.after = Some(next),
            None => break,
        }
        assert!(out.len() < 100_000, "paging terminates");
    }
    out
}
