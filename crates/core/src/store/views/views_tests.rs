use std::collections::{BTreeSet, HashMap};

use outpost_protocol::*;

use super::*;
use crate::Clock;
use crate::generate::{Generator, Spec};
use crate::store::{IndexMode, fold};
use crate::testing::*;

/// Every conversation and contact the generator makes, in their final state.
fn generated_world(spec: &Spec) -> (Vec<Conversation>, HashMap<ContactId, Contact>) {
    let mut g = Generator::new(spec.clone());
    let mut conversations = HashMap::new();
    let mut contacts = HashMap::new();
    while let Some(page) = g.next_page(1_000) {
        for ch in page.changes {
            if let ChangeKind::Upsert { entity } = ch.kind {
                match entity {
                    Entity::Conversation(c) => {
                        conversations.insert(c.id, c);
                    }
                    Entity::Contact(k) => {
                        contacts.insert(k.id, k);
                    }
                    _ => {}
                }
            }
        }
    }
    (conversations.into_values().collect(), contacts)
}

fn loaded(me_index: usize) -> (Fixture, Generator) {
    let spec = Spec::small(T0);
    let mut g = Generator::new(spec);
    let me = g.agents[me_index].clone();
    let mut f = Fixture::new(&me);
    while let Some(page) = g.next_page(700) {
        f.client.ingest(&page, IndexMode::Deferred).unwrap();
        f.seq = page.cursor;
    }
    f.store().finish_bulk_load().unwrap();
    (f, g)
}

#[test]
fn test_mirror_holds_exactly_what_each_role_may_see() {
    let (world, _) = generated_world(&Spec::small(T0));
    let g = Generator::new(Spec::small(T0));
    // The generator's agents cover owner, admin, unrestricted, team and own-only agents.
    for index in 0..g.agents.len() {
        let (f, g) = loaded(index);
        let me = &g.agents[index];
        let expected: BTreeSet<ConversationId> = world
            .iter()
            .filter(|c| rules::may_see(me, c))
            .map(|c| c.id)
            .collect();
        let held: BTreeSet<ConversationId> = mirror_conversations(&f)
            .into_iter()
            .map(|(_, c)| c.id)
            .collect();
        assert_eq!(
            held, expected,
            "agent {index} ({:?}, {:?})",
            me.role, me.visibility
        );
        if me.visibility != Visibility::Unrestricted && me.role == Role::Agent {
            assert!(
                held.len() < world.len(),
                "a restricted agent holds less than the workspace"
            );
        }
        f.check_invariants();
    }
}

#[test]
fn test_every_view_sort_and_status_pages_like_the_rules_say() {
    for index in [1, 2, 3, 4] {
        let (f, g) = loaded(index);
        let me = g.agents[index].clone();
        let all = mirror_conversations(&f);
        let mut views = vec![ViewRef::All, ViewRef::Mine, ViewRef::Unassigned];
        views.extend(g.teams.iter().map(|t| ViewRef::Team(t.id)));
        for view in views {
            for state in ConversationState::ALL {
                for sort in Sort::ALL {
                    let mut q = ListQuery::new(view);
                    q.state = state;
                    q.sort = sort;
                    assert_eq!(
                        paged(&f, &q),
                        brute(&all, &q, me.id, |_| true),
                        "{view:?} {state:?} {sort:?}"
                    );
                }
            }
        }
        // Filters, alone and together.
        let other = g.agents[5].id;
        type Filter = Box<dyn Fn(&mut ListQuery)>;
        let filters: Vec<Filter> = vec![
            Box::new(|q| q.channel = Some(ChannelKind::Whatsapp)),
            Box::new(|q| q.assignee = Some(Assignee::Nobody)),
            Box::new(move |q| q.assignee = Some(Assignee::Agent(other))),
            Box::new(|q| q.unanswered_only = true),
            Box::new(|q| {
                q.channel = Some(ChannelKind::Email);
                q.unanswered_only = true;
                q.sort = Sort::LongestOpen;
            }),
        ];
        for set in &filters {
            for view in [ViewRef::All, ViewRef::Mine, ViewRef::Team(g.teams[0].id)] {
                let mut q = ListQuery::new(view);
                set(&mut q);
                assert_eq!(paged(&f, &q), brute(&all, &q, me.id, |_| true), "{q:?}");
            }
        }
    }
}

fn text_matches(value: &str, op: TextOp, wanted: &str) -> bool {
    let (v, w) = (fold(value), fold(wanted));
    match op {
        TextOp::Is => v == w,
        TextOp::IsNot => v != w,
        TextOp::Contains => v.contains(&w),
        TextOp::StartsWith => v.starts_with(&w),
        TextOp::IsSet => !v.is_empty(),
        TextOp::IsNotSet => v.is_empty(),
    }
}

/// A custom view's filter evaluated in Rust, the way the product describes it.
fn holds(cond: &Condition, c: &Conversation, k: Option<&Contact>, now: Millis) -> bool {
    match cond {
        Condition::All { of } => of.iter().all(|x| holds(x, c, k, now)),
        Condition::Any { of } => of.iter().any(|x| holds(x, c, k, now)),
        Condition::Contact { field, op, value } => {
            let v = k.map_or(String::new(), |k| match field {
                ContactField::Name => k.name.clone(),
                ContactField::Phone => k.phone.clone(),
                ContactField::Email => k.email.clone(),
                ContactField::Country => k.country.clone(),
                ContactField::Language => k.language.clone(),
            });
            text_matches(&v, *op, value)
        }
        Condition::CustomField { key, op, value } => match k.and_then(|k| k.fields.get(key)) {
            Some(v) => text_matches(v, *op, value),
            None => matches!(op, TextOp::IsNot | TextOp::IsNotSet),
        },
        Condition::Tag { tag, present } => {
            k.is_some_and(|k| k.tags.iter().any(|t| fold(t) == fold(tag))) == *present
        }
        Condition::LastChannel { channels } => channels.contains(&c.channel),
        Condition::SinceLastIncoming { op, minutes } => {
            let bound = now - minutes * 60_000;
            match (op, c.last_incoming_at) {
                (Compare::MoreThan, None) => true,
                (Compare::MoreThan, Some(at)) => at < bound,
                (Compare::LessThan, None) => false,
                (Compare::LessThan, Some(at)) => at >= bound,
            }
        }
    }
}

#[test]
fn test_custom_views_with_nested_conditions_match_the_rules() {
    let (mut f, g) = loaded(1);
    let me = g.agents[1].clone();
    let (_, contacts) = generated_world(&Spec::small(T0));
    let filters = vec![
        Condition::Tag {
            tag: "VIP".into(),
            present: true,
        },
        Condition::All {
            of: vec![
                Condition::Any {
                    of: vec![
                        Condition::LastChannel {
                            channels: vec![ChannelKind::Whatsapp, ChannelKind::Telegram],
                        },
                        Condition::Contact {
                            field: ContactField::Country,
                            op: TextOp::Is,
                            value: "mx".into(),
                        },
                    ],
                },
                Condition::SinceLastIncoming {
                    op: Compare::MoreThan,
                    minutes: 60 * 24 * 30,
                },
            ],
        },
        Condition::Any {
            of: vec![
                Condition::Contact {
                    field: ContactField::Name,
                    op: TextOp::StartsWith,
                    value: "joao".into(),
                },
                Condition::Contact {
                    field: ContactField::Name,
                    op: TextOp::Contains,
                    value: "CONCEIÇÃO".into(),
                },
            ],
        },
        Condition::All {
            of: vec![
                Condition::CustomField {
                    key: "plano".into(),
                    op: TextOp::Is,
                    value: "Basico".into(),
                },
                Condition::Tag {
                    tag: "lead".into(),
                    present: false,
                },
                Condition::Contact {
                    field: ContactField::Email,
                    op: TextOp::IsSet,
                    value: String::new(),
                },
            ],
        },
        Condition::SinceLastIncoming {
            op: Compare::LessThan,
            minutes: 60 * 24 * 60,
        },
        Condition::CustomField {
            key: "plano".into(),
            op: TextOp::IsNotSet,
            value: String::new(),
        },
        Condition::Any { of: vec![] },
    ];
    let all = mirror_conversations(&f);
    let now = f.clock.now();
    let mut nonempty = 0;
    for (i, filter) in filters.into_iter().enumerate() {
        let view = CustomView {
            id: ViewId::new(),
            name: format!("v{i}"),
            owner: me.id,
            sharing: Sharing::default(),
            filter,
        };
        f.server_upsert(vec![Entity::View(view.clone())]);
        for sort in Sort::ALL {
            let mut q = ListQuery::new(ViewRef::Custom(view.id));
            q.sort = sort;
            let expected = brute(&all, &q, me.id, |c| {
                holds(&view.filter, c, contacts.get(&c.contact_id), now)
            });
            nonempty += usize::from(!expected.is_empty());
            assert_eq!(paged(&f, &q), expected, "view {i} {sort:?}");
        }
    }
    assert!(nonempty >= 20, "the views select something ({nonempty})");
}

#[test]
fn test_counts_and_dots_follow_the_most_specific_inbox() {
    let team = TeamId::new();
    let me = agent("Ana", Role::Agent, Visibility::Unrestricted, vec![team]);
    let other = agent("Bruno", Role::Agent, Visibility::Unrestricted, vec![team]);
    let mut f = Fixture::new(&me);
    let k = contact("Carla");
    let mut read_mine = conversation(&k, T0);
    read_mine.assignee = Some(me.id);
    let mut unread_team = conversation(&k, T0);
    unread_team.assignee = Some(other.id);
    unread_team.team = Some(team);
    unread_team.unread_count = 2;
    let mut closed = conversation(&k, T0);
    closed.state = ConversationState::Closed;
    f.server_upsert(vec![
        Entity::Team(Team {
            id: team,
            name: "Suporte".into(),
            quick_replies: Vec::new(),
        }),
        Entity::Agent(other.clone()),
        Entity::Conversation(read_mine.clone()),
        Entity::Conversation(unread_team.clone()),
        Entity::Conversation(closed),
    ]);
    let counts = f.store().counts().unwrap();
    let get =
        |counts: &Counts, v: ViewRef| counts.views.iter().find(|c| c.view == v).unwrap().clone();
    assert_eq!(
        get(&counts, ViewRef::All).open,
        2,
        "closed conversations are not counted"
    );
    assert_eq!(get(&counts, ViewRef::Mine).open, 1);
    assert_eq!(get(&counts, ViewRef::Team(team)).open, 1);
    assert!(
        get(&counts, ViewRef::Team(team)).dot,
        "an unread team conversation dots the team inbox"
    );
    assert!(!get(&counts, ViewRef::All).dot, "…and only the team inbox");
    assert!(!get(&counts, ViewRef::Mine).dot);
    assert_eq!(counts.unread, 2);
    // A new message in my conversation: the dot goes to Mine.
    let mut mine = read_mine.clone();
    mine.unread_count = 1;
    let mut unassigned = conversation(&k, T0);
    unassigned.unread_count = 1;
    f.server_upsert(vec![
        Entity::Conversation(mine),
        Entity::Conversation(unassigned),
    ]);
    let counts = f.store().counts().unwrap();
    assert!(get(&counts, ViewRef::Mine).dot);
    assert!(get(&counts, ViewRef::Unassigned).dot);
    assert!(!get(&counts, ViewRef::All).dot);
    assert_eq!(counts.unread, 4);
    assert_eq!(
        most_specific_inbox(me.id, &[team], Some(other.id), None),
        ViewRef::All
    );
}

#[test]
fn test_folder_pages_walk_the_folder_newest_first() {
    let (f, _) = loaded(1);
    let counts = f.store().counts().unwrap();
    let total: u64 = counts.folders.iter().map(|(_, n)| n).sum();
    let in_mirror: i64 = f
        .store()
        .read(|c| Ok(c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(
        total, in_mirror as u64,
        "the folders add up to every message"
    );
    for (folder, n) in counts.folders {
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = f.store().list_folder(folder, before, 40).unwrap();
            for r in &page.rows {
                assert_eq!(Folder::of(&r.message), folder);
                assert!(!r.contact_name.is_empty());
            }
            seen.extend(page.rows.iter().map(|r| (r.row, r.message.created_at)));
            match page.next {
                Some(n) => before = Some(n),
                None => break,
            }
        }
        assert_eq!(seen.len() as u64, n, "{folder:?}");
        assert!(
            seen.windows(2).all(|w| w[0].0 > w[1].0 && w[0].1 >= w[1].1),
            "newest first"
        );
    }
}

#[test]
fn test_timeline_pages_messages_with_their_events_and_reply_context() {
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let mut f = Fixture::new(&me);
    let k = contact("Dora");
    let mut c = conversation(&k, T0 - 100 * MINUTE);
    let mut entities = vec![Entity::Contact(k.clone())];
    let mut messages = Vec::new();
    for i in 0..30 {
        let mut m = incoming(&c, &format!("mensagem {i}"), T0 - 100 * MINUTE + i * MINUTE);
        if i == 25 {
            m.reply_to = Some(messages[2]);
        }
        rules::on_incoming(&mut c, &m);
        messages.push(m.id);
        entities.push(Entity::Message(m));
    }
    let event = |at| outpost_protocol::test_data::event(&c, EventKind::Opened { first: false }, at);
    let early = event(T0 - 100 * MINUTE + 5 * MINUTE + 30_000);
    let late = event(T0 - 100 * MINUTE + 28 * MINUTE + 30_000);
    entities.extend([
        Entity::Event(early.clone()),
        Entity::Event(late.clone()),
        Entity::Conversation(c.clone()),
    ]);
    f.server_upsert(entities);

    let newest = f.store().open_conversation(c.id, None, 10).unwrap();
    let ids: Vec<MessageId> = newest
        .items
        .iter()
        .filter_map(|i| match i {
            TimelineItem::Message { message, .. } => Some(message.id),
            _ => None,
        })
        .collect();
    assert_eq!(ids, messages[20..].to_vec(), "the newest 10, oldest first");
    assert!(
        newest
            .items
            .iter()
            .any(|i| matches!(i, TimelineItem::Event { event } if event.id == late.id))
    );
    assert!(
        !newest
            .items
            .iter()
            .any(|i| matches!(i, TimelineItem::Event { event } if event.id == early.id))
    );
    assert_eq!(
        newest.replied.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![messages[2]],
        "reply context"
    );
    assert_eq!(
        newest.contact.as_ref().map(|k| k.name.as_str()),
        Some("Dora")
    );
    // Older pages, down to the beginning, with the early event in place.
    let mut all_ids = ids;
    let mut older = newest.older;
    let mut saw_early = false;
    while let Some(before) = older {
        let page = f.store().open_conversation(c.id, Some(before), 10).unwrap();
        saw_early |= page
            .items
            .iter()
            .any(|i| matches!(i, TimelineItem::Event { event } if event.id == early.id));
        let ids: Vec<MessageId> = page
            .items
            .iter()
            .filter_map(|i| match i {
                TimelineItem::Message { message, .. } => Some(message.id),
                _ => None,
            })
            .collect();
        all_ids.splice(0..0, ids);
        older = page.older;
    }
    assert!(saw_early);
    assert_eq!(all_ids, messages);
}

#[test]
fn test_what_a_message_did_to_its_conversation_is_said_before_it() {
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let mut f = Fixture::new(&me);
    let k = contact("Dora");
    let mut c = conversation(&k, T0 - HOUR);
    // The server stamps a message and what it did at the same millisecond.
    let first = incoming(&c, "Oi", T0 - HOUR);
    rules::on_incoming(&mut c, &first);
    let later = incoming(&c, "Tem alguém?", T0 - 30 * MINUTE);
    let again = incoming(&c, "Voltei", T0 - 10 * MINUTE);
    let event = |at, kind| Entity::Event(outpost_protocol::test_data::event(&c, kind, at));
    let closed = EventKind::Closed {
        note: String::new(),
        category: String::new(),
    };
    f.server_upsert(vec![
        Entity::Contact(k.clone()),
        Entity::Message(first),
        Entity::Message(later),
        Entity::Message(again),
        event(T0 - HOUR, EventKind::Opened { first: true }),
        event(T0 - 20 * MINUTE, closed),
        event(T0 - 10 * MINUTE, EventKind::Opened { first: false }),
        Entity::Conversation(c.clone()),
    ]);
    let order: Vec<String> = f
        .store()
        .open_conversation(c.id, None, 50)
        .unwrap()
        .items
        .iter()
        .map(|i| match i {
            TimelineItem::Message { message, .. } => message.text.clone(),
            TimelineItem::Event { event } => match event.kind {
                EventKind::Opened { first: true } => "Began".into(),
                EventKind::Opened { first: false } => "Reopened".into(),
                _ => format!("{:?}", event.kind)
                    .chars()
                    .take_while(|c| c.is_alphabetic())
                    .collect(),
            },
            TimelineItem::Call { .. } => "call".into(),
        })
        .collect();
    assert_eq!(
        order,
        ["Began", "Oi", "Tem alguém?", "Closed", "Reopened", "Voltei"]
    );
}

// ---- Query plans: every hot query uses its index, no full scan, no temporary B-tree ----

fn plan(f: &Fixture, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Vec<String> {
    f.store()
        .read(|c| {
            Ok(c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?
                .query_map(params, |r| r.get::<_, String>(3))?
                .collect::<rusqlite::Result<_>>()?)
        })
        .unwrap()
}

fn assert_indexed(what: &str, plan: &[String]) {
    for line in plan {
        assert!(
            !line.contains("TEMP B-TREE"),
            "{what}: sorts in a temporary B-tree: {plan:?}"
        );
        let scans_table =
            line.starts_with("SCAN ") && !line.contains("INDEX") && !line.contains("VIRTUAL TABLE");
        assert!(!scans_table, "{what}: full scan: {plan:?}");
    }
    assert!(
        plan.iter()
            .any(|l| l.contains("INDEX") || l.contains("VIRTUAL TABLE")),
        "{what}: {plan:?}"
    );
}

#[test]
fn test_hot_queries_use_their_indexes() {
    let (f, g) = loaded(1);
    for analyzed in [false, true] {
        if analyzed {
            f.store()
                .with_writer(|c| c.execute_batch("ANALYZE"))
                .unwrap();
        }
        let me = g.agents[1].id;
        let view = CustomView {
            id: ViewId::new(),
            name: "v".into(),
            owner: me,
            sharing: Sharing::default(),
            filter: Condition::All {
                of: vec![
                    Condition::Tag {
                        tag: "vip".into(),
                        present: true,
                    },
                    Condition::CustomField {
                        key: "plano".into(),
                        op: TextOp::Is,
                        value: "pro".into(),
                    },
                    Condition::SinceLastIncoming {
                        op: Compare::MoreThan,
                        minutes: 60,
                    },
                ],
            },
        };
        let mut views = vec![
            ViewRef::All,
            ViewRef::Mine,
            ViewRef::Unassigned,
            ViewRef::Team(g.teams[0].id),
        ];
        views.push(ViewRef::Custom(view.id));
        for v in views {
            for sort in Sort::ALL {
                for after in [None, Some(ListCursor { key: T0, row: 10 })] {
                    let mut q = ListQuery::new(v);
                    q.sort = sort;
                    q.after = after;
                    let custom = matches!(v, ViewRef::Custom(_)).then_some(&view);
                    let (sql, params) = list_sql(&q, me, custom, T0);
                    let params: Vec<&dyn rusqlite::ToSql> =
                        params.iter().map(|p| p as &dyn rusqlite::ToSql).collect();
                    assert_indexed(
                        &format!("{v:?} {sort:?} analyzed={analyzed}"),
                        &plan(&f, &sql, &params),
                    );
                }
            }
        }
        let mut filtered = ListQuery::new(ViewRef::All);
        filtered.channel = Some(ChannelKind::Sms);
        filtered.unanswered_only = true;
        filtered.assignee = Some(Assignee::Agent(me));
        let (sql, params) = list_sql(&filtered, me, None, T0);
        let params: Vec<&dyn rusqlite::ToSql> =
            params.iter().map(|p| p as &dyn rusqlite::ToSql).collect();
        assert_indexed("filtered", &plan(&f, &sql, &params));

        assert_indexed(
            "folder page",
            &plan(&f, FOLDER_SQL, &[&3i64, &i64::MAX, &50i64]),
        );
        assert_indexed(
            "timeline page",
            &plan(&f, TIMELINE_SQL, &[&uuid::Uuid::nil(), &i64::MAX, &50i64]),
        );
        let search = super::super::search::MESSAGE_SEARCH_SQL;
        assert_indexed(
            "message search",
            &plan(&f, search, &[&"\"reembolso\"*", &50i64]),
        );
        let contacts = super::super::search::CONTACT_SEARCH_SQL;
        assert_indexed(
            "contact search",
            &plan(&f, contacts, &[&"\"ana\"*", &50i64]),
        );
    }
}
