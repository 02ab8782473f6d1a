use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use outpost_protocol::*;

use super::*;
use crate::generate::{Generator, Spec};
use crate::testing::*;
use crate::{Client, Error};

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read file")
}

// ---- Opening files that are not ours, damaged or from the future ----

#[test]
fn test_fresh_mirror_has_latest_schema_and_is_marked_ours() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("m.db")).unwrap();
    let (app, version): (i64, i64) = store
        .with_writer(|c| {
            Ok((
                c.query_row("PRAGMA application_id", [], |r| r.get(0))?,
                c.query_row("PRAGMA user_version", [], |r| r.get(0))?,
            ))
        })
        .unwrap();
    assert_eq!(app, APPLICATION_ID);
    assert_eq!(version, SCHEMA_VERSION);
    let mode: String = store
        .read(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(mode, "wal");
    let query_only: i64 = store
        .read(|c| Ok(c.query_row("PRAGMA query_only", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(query_only, 1, "readers cannot write");
    drop(store);
    // Reopening an existing mirror works and keeps the version.
    Store::open(dir.path().join("m.db")).unwrap();
}

#[test]
fn test_a_mirror_from_before_three_letter_prefixes_builds_its_index_again() {
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let (f, _, _, m) = seeded(&me);
    let path = f.store().path().to_owned();
    let Fixture { client, dir, .. } = f;
    drop(client);
    // The mirror as version 6 left it: a message index with two-letter prefixes, no calls.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "DROP TABLE messages_fts;
             CREATE VIRTUAL TABLE messages_fts USING fts5(text, content = 'messages',
                 content_rowid = 'id', tokenize = \"unicode61 remove_diacritics 2\", prefix = '2 3 4');
             INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
             DROP TABLE calls;
             PRAGMA user_version = 6;",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let sql: String = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'messages_fts'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(sql.contains("prefix = '3 4'"), "{sql}");
    assert!(store.index_pending().unwrap() && store.index_rebuilding().unwrap());
    let found = store.search("pedido", 10).unwrap();
    assert!(
        found.index_pending && found.messages.is_empty(),
        "not yet: {found:?}"
    );
    store.finish_bulk_load().unwrap();
    let found = store.search("pedido", 10).unwrap();
    assert!(!found.index_pending);
    assert_eq!(
        found
            .messages
            .iter()
            .map(|h| h.message.id)
            .collect::<Vec<_>>(),
        [m.id]
    );
    assert_eq!(
        store.search("ped", 10).unwrap().messages.len(),
        1,
        "a three-letter prefix"
    );
    assert!(!store.index_rebuilding().unwrap());
    drop(store);
    // A mirror without messages has nothing to build.
    let empty = dir.path().join("empty.db");
    let store = Store::open(&empty).unwrap();
    assert!(!store.index_pending().unwrap());
}

#[test]
fn test_foreign_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('minhas notas');",
        )
        .unwrap();
    }
    let before = file_bytes(&path);
    let err = Store::open(&path).err().expect("refused");
    assert!(matches!(err, Error::ForeignDatabase { .. }), "{err}");
    assert!(err.to_string().contains("not an Outpost mirror"), "{err}");
    assert_eq!(file_bytes(&path), before, "the file is never rewritten");
}

#[test]
fn test_random_bytes_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    let mut rng = fastrand::Rng::with_seed(3);
    let garbage: Vec<u8> = (0..16_384).map(|_| rng.u8(..)).collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&path).err().expect("refused");
    assert!(matches!(err, Error::CorruptDatabase { .. }), "{err}");
    assert!(err.to_string().contains("damaged"), "{err}");
    assert_eq!(file_bytes(&path), garbage);
}

#[test]
fn test_damaged_pages_are_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    {
        let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
        let clock = std::sync::Arc::new(crate::ManualClock::new(T0));
        let client = Client::open(&path, clock).unwrap();
        client.set_me(&me).unwrap();
        let mut generator = Generator::new(Spec::small(T0));
        while let Some(page) = generator.next_page(500) {
            client.ingest(&page, IndexMode::Immediate).unwrap();
        }
        client
            .store()
            .with_writer(|c| c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"))
            .unwrap();
    }
    let mut bytes = file_bytes(&path);
    let page = 4096;
    let mut rng = fastrand::Rng::with_seed(9);
    for b in bytes[page..].iter_mut() {
        *b = rng.u8(..);
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(&path).err().expect("refused");
    assert!(matches!(err, Error::CorruptDatabase { .. }), "{err}");
    assert_eq!(
        file_bytes(&path),
        bytes,
        "the damaged file is kept as it was, for recovery"
    );
}

#[test]
fn test_newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    drop(Store::open(&path).unwrap());
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA user_version = 99; PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let before = file_bytes(&path);
    let err = Store::open(&path).err().expect("refused");
    match &err {
        Error::NewerSchema { found, known, .. } => {
            assert_eq!(*found, 99);
            assert_eq!(*known, SCHEMA_VERSION);
        }
        other => panic!("expected NewerSchema, got {other}"),
    }
    assert!(err.to_string().contains("newer Outpost"));
    assert_eq!(file_bytes(&path), before);
}

#[test]
fn test_full_disk_gives_a_clear_error_and_keeps_what_was_stored() {
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let f = Fixture::new(&me);
    let mut generator = Generator::new(Spec::small(T0));
    let first = generator.next_page(300).unwrap();
    f.client.ingest(&first, IndexMode::Immediate).unwrap();
    let snapshot_before = f.snapshot();
    let pages: i64 = f
        .store()
        .with_writer(|c| c.query_row("PRAGMA page_count", [], |r| r.get(0)))
        .unwrap();
    f.store()
        .with_writer(|c| {
            c.query_row(
                &format!("PRAGMA max_page_count = {}", pages + 8),
                [],
                |_| Ok(()),
            )
        })
        .unwrap();
    let mut failure = None;
    while let Some(page) = generator.next_page(1_000) {
        if let Err(e) = f.client.ingest(&page, IndexMode::Immediate) {
            failure = Some(e);
            break;
        }
    }
    let err = failure.expect("the disk fills up");
    assert!(matches!(err, Error::DiskFull), "{err}");
    assert!(err.to_string().contains("disk is full"));
    // What the failed page would have added is absent; everything before is intact.
    assert!(f.store().cursor().unwrap() >= first.cursor);
    f.check_invariants();
    let after = f.snapshot();
    assert!(
        snapshot_before
            .iter()
            .all(|row| after.contains(row) || row.starts_with("count "))
    );
}

// ---- Pages from the server ----

fn seeded(me: &Agent) -> (Fixture, Contact, Conversation, Message) {
    let mut f = Fixture::new(me);
    let k = contact("Ana Souza");
    let mut c = conversation(&k, T0 - HOUR);
    let m = incoming(&c, "Olá, meu pedido não chegou", T0 - HOUR);
    rules::on_incoming(&mut c, &m);
    f.server_upsert(vec![
        Entity::Contact(k.clone()),
        Entity::Message(m.clone()),
        Entity::Conversation(c.clone()),
    ]);
    (f, k, c, m)
}

#[test]
fn test_bad_page_is_rejected_whole_and_cursor_stays() {
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let (mut f, k, c, m) = seeded(&me);
    let before = f.snapshot();
    let cursor = f.store().cursor().unwrap();

    let mut bad = incoming(&c, "x", T0);
    bad.created_at = -1;
    let mut good = m.clone();
    good.text = "changed".into();
    let s1 = f.next_seq();
    let s2 = f.next_seq();
    let invalid = ChangesPage {
        changes: vec![
            Change {
                seq: s1,
                kind: ChangeKind::Upsert {
                    entity: Entity::Message(good.clone()),
                },
            },
            Change {
                seq: s2,
                kind: ChangeKind::Upsert {
                    entity: Entity::Message(bad),
                },
            },
        ],
        cursor: s2,
        has_more: false,
        head: 0,
    };
    let err = f.client.ingest(&invalid, IndexMode::Immediate).unwrap_err();
    assert!(matches!(err, Error::BadChanges(_)), "{err}");
    assert!(err.to_string().contains("created_at"), "{err}");

    let out_of_order = ChangesPage {
        changes: vec![
            Change {
                seq: s2,
                kind: ChangeKind::Upsert {
                    entity: Entity::Message(good.clone()),
                },
            },
            Change {
                seq: s1,
                kind: ChangeKind::Upsert {
                    entity: Entity::Contact(k.clone()),
                },
            },
        ],
        cursor: s2,
        has_more: false,
        head: 0,
    };
    assert!(
        f.client
            .ingest(&out_of_order, IndexMode::Immediate)
            .unwrap_err()
            .to_string()
            .contains("out of order")
    );

    let replayed = ChangesPage {
        changes: vec![Change {
            seq: cursor,
            kind: ChangeKind::Upsert {
                entity: Entity::Message(good.clone()),
            },
        }],
        cursor: s2,
        has_more: false,
        head: 0,
    };
    assert!(
        f.client.ingest(&replayed, IndexMode::Immediate).is_err(),
        "an old seq is not applied twice"
    );

    let beyond = ChangesPage {
        changes: vec![Change {
            seq: s2 + 5,
            kind: ChangeKind::Upsert {
                entity: Entity::Message(good),
            },
        }],
        cursor: s2,
        has_more: false,
        head: 0,
    };
    assert!(
        f.client
            .ingest(&beyond, IndexMode::Immediate)
            .unwrap_err()
            .to_string()
            .contains("beyond")
    );

    let backwards = ChangesPage {
        changes: vec![],
        cursor: cursor - 1,
        has_more: false,
        head: 0,
    };
    assert!(f.client.ingest(&backwards, IndexMode::Immediate).is_err());

    assert_eq!(f.snapshot(), before, "a rejected page changes nothing");
    assert_eq!(
        f.store().cursor().unwrap(),
        cursor,
        "the cursor does not move past what was not stored"
    );
    f.check_invariants();
}

#[test]
fn test_unknown_json_from_server_is_a_clear_error() {
    let bad = r#"{"changes":[{"seq":1,"change":"upsert","entity":{"type":"spaceship","data":{}}}],"cursor":1,"has_more":false}"#;
    let err = serde_json::from_str::<ChangesPage>(bad).unwrap_err();
    assert!(err.to_string().contains("unknown variant"), "{err}");
}

#[test]
fn test_revocation_purges_conversation_messages_and_search() {
    let me = agent("Ana", Role::Agent, Visibility::OwnOnly, vec![]);
    let mut f = Fixture::new(&me);
    let k = contact("Beto");
    let mut c = conversation(&k, T0);
    c.assignee = Some(me.id);
    let m = incoming(&c, "quero o reembolso do pedido", T0);
    f.server_upsert(vec![
        Entity::Contact(k),
        Entity::Conversation(c.clone()),
        Entity::Message(m.clone()),
    ]);
    f.store().save_draft(c.id, "rascunho", T0).unwrap();
    assert_eq!(f.store().search("reembolso", 10).unwrap().messages.len(), 1);
    // Reassigned to someone else: the server revokes it from this own-only agent.
    let seq = f.next_seq();
    f.server_page(vec![Change {
        seq,
        kind: ChangeKind::Revoke {
            entity: EntityRef::Conversation(c.id),
        },
    }]);
    assert!(f.conversation(c.id).is_none());
    assert!(f.message(m.id).is_none());
    assert!(
        f.store()
            .search("reembolso", 10)
            .unwrap()
            .messages
            .is_empty()
    );
    assert_eq!(
        f.store().draft(c.id).unwrap(),
        "",
        "the draft of a revoked conversation goes too"
    );
    f.check_invariants();
}

#[test]
fn test_upsert_the_agent_may_not_see_is_purged() {
    let team = TeamId::new();
    let me = agent("Ana", Role::Agent, Visibility::Team, vec![team]);
    let mut f = Fixture::new(&me);
    let k = contact("Beto");
    let mut c = conversation(&k, T0);
    c.team = Some(team);
    let m = incoming(&c, "oi", T0);
    f.server_upsert(vec![
        Entity::Conversation(c.clone()),
        Entity::Message(m.clone()),
    ]);
    assert!(f.conversation(c.id).is_some());
    // Moved to another team without a revocation: the mirror still never holds it.
    c.team = Some(TeamId::new());
    f.server_upsert(vec![Entity::Conversation(c.clone())]);
    assert!(f.conversation(c.id).is_none());
    assert!(f.message(m.id).is_none());
    f.check_invariants();
}

// ---- The journal ----

fn admin_fixture() -> (Fixture, Agent, Agent, Contact, Conversation, Message) {
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let other = agent("Bruno", Role::Agent, Visibility::Unrestricted, vec![]);
    let (mut f, k, c, m) = seeded(&me);
    f.server_upsert(vec![Entity::Agent(other.clone())]);
    (f, me, other, k, c, m)
}

fn refuse(f: &Fixture, op_id: OpId) {
    f.client
        .record_results(&[OpResult {
            op_id,
            outcome: OpOutcome::Refused {
                code: ErrorCode::NotAllowed,
                reason: "no".into(),
                why: None,
            },
        }])
        .unwrap();
}

#[test]
fn test_refusing_each_kind_of_op_restores_the_mirror_exactly() {
    let (mut f, me, other, k, c, m) = admin_fixture();
    // Server state with something for every kind of op to act on.
    let mut scheduled = incoming(&c, "lembrete", T0 - 30 * MINUTE);
    scheduled.direction = Direction::Outgoing;
    scheduled.status = MessageStatus::Scheduled;
    scheduled.send_at = Some(T0 + 5 * HOUR);
    let mut failed = scheduled.clone();
    failed.id = MessageId::new();
    failed.status = MessageStatus::Failed;
    failed.send_at = None;
    failed.failure = Some("número inválido".into());
    let mut archived = incoming(&c, "arquivada", T0 - 20 * MINUTE);
    archived.archived = true;
    let mut closed_c = conversation(&k, T0 - 2 * HOUR);
    closed_c.state = ConversationState::Closed;
    let mut snoozed_c = conversation(&k, T0 - 2 * HOUR);
    snoozed_c.state = ConversationState::Snoozed;
    snoozed_c.snoozed_until = Some(T0 + HOUR);
    let team = Team {
        id: TeamId::new(),
        name: "Suporte".into(),
        quick_replies: Vec::new(),
    };
    let view = CustomView {
        id: ViewId::new(),
        name: "VIP".into(),
        owner: me.id,
        sharing: Sharing::default(),
        filter: Condition::Tag {
            tag: "vip".into(),
            present: true,
        },
    };
    f.server_upsert(vec![
        Entity::Message(scheduled.clone()),
        Entity::Message(failed.clone()),
        Entity::Message(archived.clone()),
        Entity::Conversation(closed_c.clone()),
        Entity::Conversation(snoozed_c.clone()),
        Entity::View(view.clone()),
        Entity::Team(team.clone()),
    ]);
    let mut edited_view = view.clone();
    edited_view.name = "VIPs".into();

    let actions = vec![
        Action::SendMessage {
            message_id: MessageId::new(),
            conversation_id: c.id,
            text: "Já verifico!".into(),
            attachments: vec![],
            template: None,
            reply_to: Some(m.id),
        },
        Action::ScheduleMessage {
            message_id: MessageId::new(),
            conversation_id: c.id,
            text: "Bom dia!".into(),
            attachments: vec![],
            template: None,
            send_at: T0 + 10 * HOUR,
        },
        Action::EditScheduled {
            message_id: scheduled.id,
            text: "novo".into(),
            send_at: T0 + 6 * HOUR,
        },
        Action::CancelScheduled {
            message_id: scheduled.id,
        },
        Action::RetryMessage {
            message_id: failed.id,
            text: "de novo".into(),
            template: None,
        },
        Action::DiscardMessage {
            message_id: failed.id,
        },
        Action::WriteFirst {
            conversation_id: ConversationId::new(),
            contact_id: ContactId::new(),
            message_id: MessageId::new(),
            channel: ChannelKind::Telegram,
            address: "carla_m".into(),
            text: "Olá Carla!".into(),
            template: None,
        },
        Action::Archive {
            message_ids: vec![m.id],
        },
        Action::Restore {
            message_ids: vec![archived.id],
        },
        Action::DeleteArchived {
            message_ids: vec![archived.id],
        },
        Action::Assign {
            conversation_id: c.id,
            assignee: Some(other.id),
        },
        Action::SetTeam {
            conversation_id: c.id,
            team: Some(team.id),
        },
        Action::Close {
            conversation_id: c.id,
            note: "resolvido".into(),
            category: "entrega".into(),
        },
        Action::Reopen {
            conversation_id: closed_c.id,
        },
        Action::Snooze {
            conversation_id: c.id,
            until: T0 + HOUR,
        },
        Action::Unsnooze {
            conversation_id: snoozed_c.id,
        },
        Action::SetUnanswered {
            conversation_id: c.id,
            unanswered: false,
        },
        Action::MarkRead {
            conversation_id: c.id,
        },
        Action::DeleteConversation {
            conversation_id: c.id,
        },
        Action::EditContact {
            contact_id: k.id,
            edit: ContactEdit {
                name: Some("Ana S.".into()),
                tags: Some(vec!["vip".into()]),
                ..Default::default()
            },
        },
        Action::SetBot {
            contact_id: k.id,
            enabled: true,
        },
        Action::SaveView { view: edited_view },
        Action::DeleteView { view_id: view.id },
        Action::SetAvailability {
            availability: Availability::Away,
        },
    ];
    let mut kinds = std::collections::BTreeSet::new();
    for action in actions {
        kinds.insert(action.kind());
        let before = f.snapshot();
        let op_id = f
            .act(action.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", action.kind()))
            .unwrap();
        assert_ne!(
            f.snapshot(),
            before,
            "{} has a visible effect",
            action.kind()
        );
        f.check_invariants();
        refuse(&f, op_id);
        if let Some(message_id) = crate::store::workspace::created_message(&Op {
            op_id,
            at: 0,
            action: action.clone(),
        }) {
            // A refused send stays visible in Failed with the reason until discarded.
            let failed = f.message(message_id).expect("refused send is kept");
            assert_eq!(Folder::of(&failed), Folder::Failed);
            assert_eq!(failed.failure.as_deref(), Some("no"));
            assert_eq!(
                f.act(Action::DiscardMessage { message_id }).unwrap(),
                None,
                "discarding it needs no server"
            );
        }
        assert_eq!(
            f.snapshot(),
            before,
            "refusing {} restores the mirror exactly",
            action.kind()
        );
        assert!(
            f.store()
                .journal()
                .unwrap()
                .iter()
                .all(|e| e.op.op_id != op_id)
                || crate::store::workspace::created_message(&Op {
                    op_id,
                    at: 0,
                    action: action.clone()
                })
                .is_none()
        );
        f.check_invariants();
    }
    assert_eq!(kinds.len(), 24, "every kind of action was covered");
}

#[test]
fn test_refused_send_in_the_middle_keeps_later_ops() {
    let (f, me, other, _k, c, _m) = admin_fixture();
    let message_id = MessageId::new();
    let send = f
        .act(Action::SendMessage {
            message_id,
            conversation_id: c.id,
            text: "resposta".into(),
            attachments: vec![],
            template: None,
            reply_to: None,
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        f.conversation(c.id).unwrap().assignee,
        Some(me.id),
        "replying assigned it to me"
    );
    f.act(Action::Assign {
        conversation_id: c.id,
        assignee: Some(other.id),
    })
    .unwrap();
    f.act(Action::SetUnanswered {
        conversation_id: c.id,
        unanswered: true,
    })
    .unwrap();
    let events = f.client.subscribe();
    f.client
        .record_results(&[OpResult {
            op_id: send,
            outcome: OpOutcome::Refused {
                code: ErrorCode::WindowClosed,
                reason: "A janela de 24 horas fechou.".into(),
                why: None,
            },
        }])
        .unwrap();
    let conv = f.conversation(c.id).unwrap();
    assert_eq!(
        conv.assignee,
        Some(other.id),
        "the later assign still holds"
    );
    assert!(conv.unanswered, "the later mark still holds");
    let failed = f.message(message_id).unwrap();
    assert_eq!(failed.status, MessageStatus::Failed);
    assert_eq!(
        failed.failure.as_deref(),
        Some("A janela de 24 horas fechou.")
    );
    let journal = f.store().journal().unwrap();
    assert_eq!(journal.len(), 3);
    assert_eq!(journal[0].state, OpState::Refused);
    assert_eq!(journal[0].refusal_code, Some(ErrorCode::WindowClosed));
    let refused_event = events
        .try_iter()
        .find(|e| matches!(e, crate::Event::OpRefused { .. }))
        .expect("announced");
    assert!(
        matches!(refused_event, crate::Event::OpRefused { conversation_id: Some(id), code: ErrorCode::WindowClosed, .. } if id == c.id)
    );

    // Retried as a template: the wedged send leaves, a new send is queued with the same message.
    let template = TemplateRef {
        name: "retomar_contato".into(),
        language: "pt_BR".into(),
        params: vec![],
    };
    let retry = f
        .act(Action::RetryMessage {
            message_id,
            text: String::new(),
            template: Some(template.clone()),
        })
        .unwrap()
        .expect("queued for the server");
    let m = f.message(message_id).unwrap();
    assert_eq!(m.status, MessageStatus::Pending);
    assert_eq!(m.template, Some(template));
    let journal = f.store().journal().unwrap();
    assert_eq!(journal.len(), 3);
    assert_eq!(journal.last().unwrap().op.op_id, retry);
    f.check_invariants();
}

#[test]
fn test_window_closed_send_is_refused_at_once_and_not_queued() {
    let (mut f, _me, _other, _k, mut c, _m) = admin_fixture();
    c.last_incoming_at = Some(T0 - 25 * HOUR);
    f.server_upsert(vec![Entity::Conversation(c.clone())]);
    let before = f.snapshot();
    let err = f
        .act(Action::SendMessage {
            message_id: MessageId::new(),
            conversation_id: c.id,
            text: "oi".into(),
            attachments: vec![],
            template: None,
            reply_to: None,
        })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::WindowClosed);
    assert!(err.to_string().contains("24-hour window"), "{err}");
    assert_eq!(f.snapshot(), before);
    assert!(f.store().journal().unwrap().is_empty());
}

#[test]
fn test_assign_to_away_agent_is_refused_at_once() {
    let (mut f, _me, mut other, _k, c, _m) = admin_fixture();
    other.availability = Availability::Away;
    f.server_upsert(vec![Entity::Agent(other.clone())]);
    let err = f
        .act(Action::Assign {
            conversation_id: c.id,
            assignee: Some(other.id),
        })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::AgentAway);
    assert!(f.store().journal().unwrap().is_empty());
}

#[test]
fn test_pending_send_is_replayed_over_fresh_server_state() {
    let (mut f, me, _other, _k, c, _m) = admin_fixture();
    let message_id = MessageId::new();
    f.act(Action::SendMessage {
        message_id,
        conversation_id: c.id,
        text: "Vou verificar".into(),
        attachments: vec![],
        template: None,
        reply_to: None,
    })
    .unwrap();
    // Meanwhile the contact wrote again; the server's conversation knows nothing of our reply.
    let mut server_c = c.clone();
    let newer = incoming(&c, "Alô?", T0 + MINUTE);
    rules::on_incoming(&mut server_c, &newer);
    f.clock.advance(2 * MINUTE);
    f.server_upsert(vec![Entity::Message(newer), Entity::Conversation(server_c)]);
    let local = f.conversation(c.id).unwrap();
    assert_eq!(
        local.assignee,
        Some(me.id),
        "our pending reply still assigns it to us"
    );
    assert!(
        f.message(message_id)
            .is_some_and(|m| m.status == MessageStatus::Pending)
    );
    assert_eq!(f.store().journal().unwrap().len(), 1);
    f.check_invariants();
}

#[test]
fn test_done_op_settles_when_the_cursor_passes_its_effect() {
    let (mut f, me, _other, _k, c, _m) = admin_fixture();
    let message_id = MessageId::new();
    let op = f
        .act(Action::SendMessage {
            message_id,
            conversation_id: c.id,
            text: "Resolvido".into(),
            attachments: vec![],
            template: None,
            reply_to: None,
        })
        .unwrap()
        .unwrap();
    let local_events = f
        .store()
        .open_conversation(c.id, None, 50)
        .unwrap()
        .items
        .len();
    f.store().mark_in_flight(&[op]).unwrap();
    let applied_at = f.seq + 1;
    f.client
        .record_results(&[OpResult {
            op_id: op,
            outcome: OpOutcome::Applied { seq: applied_at },
        }])
        .unwrap();
    assert_eq!(f.store().journal().unwrap()[0].state, OpState::Done);
    // The server's own version: sent, with its own timeline event.
    let mut sent = f.message(message_id).unwrap();
    sent.status = MessageStatus::Sent;
    sent.history.push(StatusStamp {
        status: MessageStatus::Sent,
        at: T0 + 1_000,
    });
    let mut server_c = c.clone();
    rules::on_reply(&mut server_c, &sent);
    let server_event = ConversationEvent {
        id: EventId::new(),
        conversation_id: c.id,
        at: T0,
        actor: Actor {
            kind: ActorKind::Agent,
            agent_id: Some(me.id),
            name: me.name.clone(),
        },
        kind: EventKind::Assigned {
            assignee: Some(me.id),
        },
    };
    f.server_upsert(vec![
        Entity::Message(sent.clone()),
        Entity::Conversation(server_c),
        Entity::Event(server_event.clone()),
    ]);
    assert!(
        f.store().journal().unwrap().is_empty(),
        "settled ops leave the journal"
    );
    assert_eq!(f.message(message_id).unwrap().status, MessageStatus::Sent);
    let timeline = f.store().open_conversation(c.id, None, 50).unwrap();
    let events: Vec<_> = timeline
        .items
        .iter()
        .filter_map(|i| match i {
            TimelineItem::Event { event } => Some(event.id),
            _ => None,
        })
        .collect();
    assert_eq!(
        events,
        vec![server_event.id],
        "the optimistic event gave way to the server's"
    );
    assert_eq!(timeline.items.len(), local_events, "nothing doubled");
    f.check_invariants();
}

#[test]
fn test_answer_arriving_after_the_pull_settles_at_once() {
    let (mut f, _me, _other, _k, c, _m) = admin_fixture();
    let message_id = MessageId::new();
    let op = f
        .act(Action::SendMessage {
            message_id,
            conversation_id: c.id,
            text: "Resolvido".into(),
            attachments: vec![],
            template: None,
            reply_to: None,
        })
        .unwrap()
        .unwrap();
    let mut delivered = f.message(message_id).unwrap();
    delivered.status = MessageStatus::Delivered;
    f.server_upsert(vec![Entity::Message(delivered)]);
    assert_eq!(
        f.message(message_id).unwrap().status,
        MessageStatus::Delivered,
        "replay never downgrades the server's version"
    );
    f.client
        .record_results(&[OpResult {
            op_id: op,
            outcome: OpOutcome::Applied { seq: f.seq },
        }])
        .unwrap();
    assert!(f.store().journal().unwrap().is_empty());
    assert_eq!(
        f.message(message_id).unwrap().status,
        MessageStatus::Delivered
    );
    f.check_invariants();
}

#[test]
fn test_op_on_a_revoked_conversation_stays_queued_without_effect() {
    let me = agent("Ana", Role::Agent, Visibility::OwnOnly, vec![]);
    let mut f = Fixture::new(&me);
    let k = contact("Beto");
    let mut c = conversation(&k, T0);
    c.assignee = Some(me.id);
    let m = incoming(&c, "oi", T0);
    rules::on_incoming(&mut c, &m);
    f.server_upsert(vec![
        Entity::Contact(k),
        Entity::Conversation(c.clone()),
        Entity::Message(m),
    ]);
    let message_id = MessageId::new();
    f.act(Action::SendMessage {
        message_id,
        conversation_id: c.id,
        text: "resposta".into(),
        attachments: vec![],
        template: None,
        reply_to: None,
    })
    .unwrap();
    let seq = f.next_seq();
    f.server_page(vec![Change {
        seq,
        kind: ChangeKind::Revoke {
            entity: EntityRef::Conversation(c.id),
        },
    }]);
    assert!(f.conversation(c.id).is_none());
    assert!(f.message(message_id).is_none());
    assert_eq!(
        f.store().journal().unwrap().len(),
        1,
        "the server will answer it"
    );
    f.check_invariants();
}

#[test]
fn test_journal_and_draft_survive_reopening() {
    let (f, _me, _other, _k, c, _m) = admin_fixture();
    f.act(Action::Close {
        conversation_id: c.id,
        note: String::new(),
        category: String::new(),
    })
    .unwrap();
    f.store()
        .save_draft(c.id, "Olá, tudo bem?\nSegunda linha", T0)
        .unwrap();
    let path = f.store().path().to_owned();
    let Fixture { dir, client, .. } = f;
    drop(client);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.journal().unwrap().len(), 1);
    assert_eq!(store.draft(c.id).unwrap(), "Olá, tudo bem?\nSegunda linha");
    store.save_draft(c.id, "", T0).unwrap();
    assert_eq!(store.draft(c.id).unwrap(), "");
    drop(dir);
}

#[test]
fn test_only_admins_delete_conversations_and_only_creators_edit_views() {
    let me = agent("Ana", Role::Agent, Visibility::Unrestricted, vec![]);
    let (mut f, _k, c, _m) = seeded(&me);
    let err = f
        .act(Action::DeleteConversation {
            conversation_id: c.id,
        })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotAllowed);
    let theirs = CustomView {
        id: ViewId::new(),
        name: "Deles".into(),
        owner: AgentId::new(),
        sharing: Sharing {
            agents: vec![me.id],
            teams: vec![],
        },
        filter: Condition::All { of: vec![] },
    };
    f.server_upsert(vec![Entity::View(theirs.clone())]);
    assert_eq!(
        f.store().views().unwrap().len(),
        1,
        "shared with me: I can use it"
    );
    let mut renamed = theirs.clone();
    renamed.name = "Meu agora".into();
    assert_eq!(
        f.act(Action::SaveView { view: renamed })
            .unwrap_err()
            .code(),
        ErrorCode::NotAllowed
    );
    assert_eq!(
        f.act(Action::DeleteView { view_id: theirs.id })
            .unwrap_err()
            .code(),
        ErrorCode::NotAllowed
    );
}

// ---- Crash safety ----

const CRASH_ENV: &str = "OUTPOST_CRASH_TEST_DB";

/// The child of the crash test: acts, syncs and answers in a loop until it is killed.
#[test]
#[ignore = "run by test_sigkill_at_random_points_leaves_a_consistent_mirror"]
fn crash_child_entry() {
    let Ok(path) = std::env::var(CRASH_ENV) else {
        return;
    };
    let clock = std::sync::Arc::new(crate::SystemClock);
    let client = Client::open(&path, clock).expect("child opens mirror");
    let me = client.store().me().expect("seeded");
    let conversations: Vec<ConversationId> = client
        .store()
        .read(|c| {
            Ok(c.prepare("SELECT uuid FROM conversations")?
                .query_map([], |r| r.get(0).map(ConversationId))?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .expect("conversations");
    let mut rng = fastrand::Rng::new();
    for i in 0u64.. {
        let c = conversations[rng.usize(..conversations.len())];
        let action = match i % 5 {
            0 | 1 => Action::SendMessage {
                message_id: MessageId::new(),
                conversation_id: c,
                text: format!("mensagem {i} do filho"),
                attachments: vec![],
                template: None,
                reply_to: None,
            },
            2 => Action::SetUnanswered {
                conversation_id: c,
                unanswered: rng.bool(),
            },
            3 => Action::Assign {
                conversation_id: c,
                assignee: if rng.bool() { Some(me.id) } else { None },
            },
            _ => Action::MarkRead { conversation_id: c },
        };
        let _ = client.act(action);
        if i % 7 == 0 {
            // A page from the server: a new incoming message (rebase over the journal).
            let cursor = client.store().cursor().expect("cursor");
            let conv = client
                .store()
                .read(|x| crate::store::entities_get_conversation(x, c))
                .expect("read")
                .expect("conversation");
            let mut updated = conv.clone();
            let m = incoming(&conv, &format!("cliente {i}"), T0 + i as i64);
            rules::on_incoming(&mut updated, &m);
            client
                .ingest(
                    &ChangesPage {
                        changes: vec![
                            Change {
                                seq: cursor + 1,
                                kind: ChangeKind::Upsert {
                                    entity: Entity::Message(m),
                                },
                            },
                            Change {
                                seq: cursor + 2,
                                kind: ChangeKind::Upsert {
                                    entity: Entity::Conversation(updated),
                                },
                            },
                        ],
                        cursor: cursor + 2,
                        has_more: false,
                        head: 0,
                    },
                    IndexMode::Immediate,
                )
                .expect("ingest");
        }
        if i % 11 == 0 {
            // Answers from the server: the oldest op applied, sometimes refused.
            if let Some(op) = client.store().ops_to_send(1).expect("ops").first() {
                let cursor = client.store().cursor().expect("cursor");
                let outcome = if i % 3 == 0 {
                    OpOutcome::Refused {
                        code: ErrorCode::NotAllowed,
                        reason: "teste".into(),
                        why: None,
                    }
                } else {
                    OpOutcome::Applied { seq: cursor + 1 }
                };
                client
                    .record_results(&[OpResult {
                        op_id: op.op_id,
                        outcome,
                    }])
                    .expect("results");
            }
        }
    }
}

#[test]
fn test_sigkill_at_random_points_leaves_a_consistent_mirror() {
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let mut f = Fixture::new(&me);
    let mut entities = Vec::new();
    for i in 0..5 {
        let k = contact(&format!("Cliente {i}"));
        let mut c = conversation(&k, T0 - HOUR);
        let m = incoming(&c, "olá", T0 - HOUR);
        rules::on_incoming(&mut c, &m);
        entities.extend([
            Entity::Contact(k),
            Entity::Message(m),
            Entity::Conversation(c),
        ]);
    }
    f.server_upsert(entities);
    let path = f.store().path().to_owned();
    let exe = std::env::current_exe().unwrap();
    let mut rng = fastrand::Rng::with_seed(2026);
    let mut last_ops = 0usize;
    let mut grew = 0;
    for trial in 0..50 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "store::store_tests::crash_child_entry",
                "--ignored",
                "--nocapture",
            ])
            .env(CRASH_ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.u64(30..150)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let store = Store::open(&path).unwrap_or_else(|e| panic!("trial {trial}: reopen: {e}"));
        assert_eq!(store.integrity_check().unwrap(), "ok", "trial {trial}");
        store
            .with_writer(|c| {
                check_invariants(c);
                Ok(())
            })
            .unwrap();
        // No half-applied op: every queued send shows its message, and every pending message
        // of ours has its op.
        let journal = store.journal().unwrap();
        let mut queued = std::collections::HashSet::new();
        for entry in &journal {
            if let Action::SendMessage { message_id, .. } = &entry.op.action {
                let m = store
                    .read(|c| crate::store::entities_get_message(c, *message_id))
                    .unwrap();
                let m =
                    m.unwrap_or_else(|| panic!("trial {trial}: queued send without its message"));
                let expected = if entry.state == OpState::Refused {
                    MessageStatus::Failed
                } else {
                    MessageStatus::Pending
                };
                assert_eq!(m.status, expected, "trial {trial}");
                queued.insert(*message_id);
            }
        }
        let pending: Vec<MessageId> = store
            .read(|c| {
                Ok(
                    c.prepare("SELECT uuid FROM messages WHERE folder IN (3, 6)")?
                        .query_map([], |r| r.get(0).map(MessageId))?
                        .collect::<rusqlite::Result<Vec<_>>>()?,
                )
            })
            .unwrap();
        for id in pending {
            assert!(
                queued.contains(&id),
                "trial {trial}: message {id} in Outbox/Failed without its op"
            );
        }
        let undo_orphans: i64 = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM op_undo WHERE op_seq NOT IN (SELECT seq FROM ops)",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        assert_eq!(undo_orphans, 0, "trial {trial}");
        if journal.len() > last_ops {
            grew += 1;
        }
        last_ops = journal.len();
    }
    assert!(
        grew >= 10,
        "the child made progress between kills ({grew} of 50 trials)"
    );
}

#[test]
fn test_queued_message_is_edited_in_place_or_aborted_until_it_is_in_flight() {
    let (f, _me, _other, _k, c, _m) = admin_fixture();
    let send = |text: &str| {
        let message_id = MessageId::new();
        let op = f
            .act(Action::SendMessage {
                message_id,
                conversation_id: c.id,
                text: text.into(),
                attachments: vec![],
                template: None,
                reply_to: None,
            })
            .unwrap()
            .unwrap();
        (message_id, op)
    };
    let (first, first_op) = send("Primeira com erro de digitação");
    let (second, second_op) = send("Segunda");
    let before_abort = f.snapshot();
    let (third, _) = send("Terceira, melhor não");
    f.check_invariants();

    // Edit the first while it waits: same op, same place in the queue, new text everywhere.
    assert_eq!(
        f.act(Action::RetryMessage {
            message_id: first,
            text: "Primeira, corrigida".into(),
            template: None,
        })
        .unwrap(),
        None,
        "no new op: the queued one changed"
    );
    let journal = f.store().journal().unwrap();
    assert_eq!(
        journal.iter().map(|e| e.op.op_id).collect::<Vec<_>>()[..2],
        [first_op, second_op],
        "the edited send keeps its place"
    );
    assert!(
        matches!(&journal[0].op.action, Action::SendMessage { text, .. } if text == "Primeira, corrigida")
    );
    assert_eq!(f.message(first).unwrap().text, "Primeira, corrigida");
    assert_eq!(
        f.store().search("corrigida", 10).unwrap().messages.len(),
        1,
        "the search index follows the edit"
    );
    assert!(
        f.store()
            .search("digitação", 10)
            .unwrap()
            .messages
            .is_empty()
    );

    // Abort the third: gone from the queue, the Outbox and the timeline, as if never written.
    assert_eq!(
        f.act(Action::DiscardMessage { message_id: third }).unwrap(),
        None
    );
    assert!(f.message(third).is_none());
    assert_eq!(f.store().journal().unwrap().len(), 2);
    let mut expected = before_abort.clone();
    let after = f.snapshot();
    // Apart from the first message's edit, the mirror is as before the third was written.
    expected.retain(|row| !row.contains(&first.0.to_string()) && !row.contains("Primeira"));
    let mut after_rest = after.clone();
    after_rest.retain(|row| !row.contains(&first.0.to_string()) && !row.contains("Primeira"));
    assert_eq!(after_rest, expected);
    f.check_invariants();

    // Once in flight, the server may already have it: neither is rewritten locally, and the
    // rules refuse to discard or retry a message that has not failed, with the reason.
    f.store().mark_in_flight(&[first_op, second_op]).unwrap();
    let discard = f
        .act(Action::DiscardMessage { message_id: second })
        .expect_err("a message being sent cannot be discarded");
    assert_eq!(discard.code(), ErrorCode::WrongState, "{discard}");
    assert!(f.message(second).is_some());
    let edit = f
        .act(Action::RetryMessage {
            message_id: first,
            text: "tarde demais".into(),
            template: None,
        })
        .expect_err("a message being sent cannot be edited");
    assert_eq!(edit.code(), ErrorCode::WrongState, "{edit}");
    assert!(discard.to_string().contains("on its way"), "{discard}");
    assert_eq!(f.store().journal().unwrap().len(), 2);
    assert_eq!(f.message(first).unwrap().text, "Primeira, corrigida");
    f.check_invariants();
}

/// Found by the browser tests: an agent rescheduled a message while the first sync was still
/// streaming in (index deferred); the edit removed the old text from an index that never held
/// it, and SQLite called the database malformed.
#[test]
fn test_actions_during_a_first_sync_leave_the_index_to_the_final_build() {
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let mut f = Fixture::new(&me);
    let k = contact("Ana Souza");
    let mut c = conversation(&k, T0 - HOUR);
    let m = incoming(&c, "Olá, meu pedido não chegou", T0 - HOUR);
    rules::on_incoming(&mut c, &m);
    let mut scheduled = incoming(&c, "lembrete da consulta", T0 - 30 * MINUTE);
    scheduled.direction = Direction::Outgoing;
    scheduled.status = MessageStatus::Scheduled;
    scheduled.send_at = Some(T0 + HOUR);
    let changes: Vec<Change> = [
        Entity::Contact(k.clone()),
        Entity::Message(m.clone()),
        Entity::Message(scheduled.clone()),
        Entity::Conversation(c.clone()),
    ]
    .into_iter()
    .map(|entity| Change {
        seq: f.next_seq(),
        kind: ChangeKind::Upsert { entity },
    })
    .collect();
    let cursor = changes.last().map(|c| c.seq).unwrap();
    f.client
        .ingest(
            &ChangesPage {
                changes,
                cursor,
                has_more: true,
                head: cursor + 100,
            },
            IndexMode::Deferred,
        )
        .unwrap();
    assert!(f.store().index_pending().unwrap());

    // The agent works while the history streams in: edits, sends, refusals.
    f.act(Action::EditScheduled {
        message_id: scheduled.id,
        text: "consulta remarcada para sexta".into(),
        send_at: T0 + 2 * HOUR,
    })
    .expect("an edit during the first sync is stored");
    let sent = f
        .act(Action::SendMessage {
            message_id: MessageId::new(),
            conversation_id: c.id,
            text: "Vou verificar o pedido".into(),
            attachments: vec![],
            template: None,
            reply_to: None,
        })
        .unwrap()
        .unwrap();
    refuse(&f, sent);
    f.check_invariants();

    f.store().finish_bulk_load().unwrap();
    assert_eq!(f.store().search("remarcada", 10).unwrap().messages.len(), 1);
    assert!(
        f.store()
            .search("lembrete", 10)
            .unwrap()
            .messages
            .is_empty()
    );
    assert_eq!(
        f.store().search("pedido", 10).unwrap().messages.len(),
        2,
        "the received one and the refused reply kept in Failed"
    );
    f.check_invariants();
}

#[test]
fn test_the_index_is_built_in_chunks_and_writes_between_them_keep_it_whole() {
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let mut f = Fixture::new(&me);
    // 25,000 messages of history in 50 conversations, loaded as a first sync loads them.
    let mut messages = Vec::new();
    for n in 0..50 {
        let k = contact(&format!("Cliente {n}"));
        let mut c = conversation(&k, T0 - 48 * HOUR);
        let mut changes = vec![Entity::Contact(k.clone())];
        for i in 0..500 {
            let m = incoming(
                &c,
                &format!("pedido número p{n}x{i}z"),
                T0 - 24 * HOUR + (n * 500 + i) as i64,
            );
            rules::on_incoming(&mut c, &m);
            messages.push(m.clone());
            changes.push(Entity::Message(m));
        }
        changes.push(Entity::Conversation(c));
        let changes: Vec<Change> = changes
            .into_iter()
            .map(|entity| Change {
                seq: f.next_seq(),
                kind: ChangeKind::Upsert { entity },
            })
            .collect();
        let cursor = changes.last().map(|c| c.seq).unwrap();
        f.client
            .ingest(
                &ChangesPage {
                    changes,
                    cursor,
                    has_more: true,
                    head: cursor + 1,
                },
                IndexMode::Deferred,
            )
            .unwrap();
    }
    assert!(f.store().index_pending().unwrap());

    // One chunk: the index holds part of the messages, the rest waits for the next chunks.
    assert!(
        !f.store().index_chunk().unwrap(),
        "one chunk is not the whole index"
    );
    let upto: i64 = f
        .store()
        .meta("index_upto")
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    let rowid = |m: &Message| -> i64 {
        f.store()
            .read(|c| {
                Ok(
                    c.query_row("SELECT id FROM messages WHERE uuid = ?1", [m.id.0], |r| {
                        r.get(0)
                    })?,
                )
            })
            .unwrap()
    };
    let indexed: usize = f
        .store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'pedido'",
                [],
                |r| r.get::<_, i64>(0),
            )?)
        })
        .unwrap() as usize;
    assert!(
        indexed > 0 && indexed < messages.len(),
        "{indexed} of {}",
        messages.len()
    );
    let before: Vec<&Message> = messages
        .iter()
        .filter(|m| rowid(m) <= upto)
        .take(2)
        .collect();
    let after: Vec<&Message> = messages
        .iter()
        .filter(|m| rowid(m) > upto)
        .take(2)
        .collect();
    assert_eq!((before.len(), after.len()), (2, 2));

    // Between chunks: the server edits one message on each side of the build and deletes one on
    // each side; the agent sends a reply.
    let mut edits = Vec::new();
    for m in [before[0], after[0]] {
        let mut edited = m.clone();
        edited.text = format!("corrigido {}", m.text.split(' ').next_back().unwrap());
        edits.push(edited.clone());
        let seq = f.next_seq();
        f.server_page(vec![Change {
            seq,
            kind: ChangeKind::Upsert {
                entity: Entity::Message(edited),
            },
        }]);
    }
    for m in [before[1], after[1]] {
        let seq = f.next_seq();
        f.server_page(vec![Change {
            seq,
            kind: ChangeKind::Tombstone {
                entity: EntityRef::Message(m.id),
            },
        }]);
    }
    f.act(Action::SendMessage {
        message_id: MessageId::new(),
        conversation_id: before[0].conversation_id,
        text: "resposta durante a construção".into(),
        attachments: vec![],
        template: None,
        reply_to: None,
    })
    .unwrap();

    f.store().finish_bulk_load().unwrap();
    assert!(!f.store().index_pending().unwrap());
    f.check_invariants(); // FTS integrity-check: the index matches its table
    let hits = |q: &str| f.store().search(q, 200).unwrap().messages.len();
    assert_eq!(
        hits("pedido"),
        200,
        "the history is searchable (up to the limit)"
    );
    for (m, edited) in [before[0], after[0]].into_iter().zip(&edits) {
        let token = m.text.split(' ').next_back().unwrap();
        assert_eq!(hits(token), 1, "{token}: found once, by its new text");
        assert_eq!(hits(&format!("corrigido {token}")), 1, "{}", edited.text);
        assert_eq!(hits(&format!("pedido {token}")), 0, "its old text is gone");
    }
    for m in [before[1], after[1]] {
        assert_eq!(
            hits(m.text.split(' ').next_back().unwrap()),
            0,
            "deleted: not found"
        );
    }
    assert_eq!(hits("construção"), 1);
}

#[test]
fn test_an_action_not_yet_sent_is_withdrawn_exactly_and_one_claimed_for_sending_is_not() {
    let (f, _me, other, _k, c, _m) = admin_fixture();
    let before = f.snapshot();
    let close = f
        .act(Action::Close {
            conversation_id: c.id,
            note: String::new(),
            category: String::new(),
        })
        .unwrap()
        .unwrap();
    let assign = f
        .act(Action::Assign {
            conversation_id: c.id,
            assignee: Some(other.id),
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        f.conversation(c.id).unwrap().state,
        ConversationState::Closed
    );

    // The close is taken back from under the later assignment: the assignment stays.
    assert!(f.store().withdraw(close).unwrap().0);
    let now = f.conversation(c.id).unwrap();
    assert_eq!(now.state, c.state, "as before the close");
    assert_eq!(now.assignee, Some(other.id), "the later op replayed");
    let ops = |f: &Fixture| -> Vec<OpId> {
        f.store()
            .journal()
            .unwrap()
            .iter()
            .map(|e| e.op.op_id)
            .collect()
    };
    assert_eq!(ops(&f), [assign], "the close left the journal");
    assert!(f.store().withdraw(assign).unwrap().0);
    assert_eq!(
        f.snapshot(),
        before,
        "both taken back: the mirror as it was"
    );
    assert!(ops(&f).is_empty());
    assert!(
        !f.store().withdraw(assign).unwrap().0,
        "gone: nothing to take back"
    );

    // Claimed for sending, an op can no longer be withdrawn; one withdrawn is never claimed.
    let snooze = f
        .act(Action::Snooze {
            conversation_id: c.id,
            until: T0 + 3_600_000,
        })
        .unwrap()
        .unwrap();
    let unanswered = f
        .act(Action::SetUnanswered {
            conversation_id: c.id,
            unanswered: true,
        })
        .unwrap()
        .unwrap();
    assert!(f.store().withdraw(unanswered).unwrap().0);
    let claimed: Vec<OpId> = f
        .store()
        .claim_for_sending(&[snooze, unanswered])
        .unwrap()
        .iter()
        .map(|o| o.op_id)
        .collect();
    assert_eq!(claimed, [snooze], "the withdrawn op is not sent");
    assert!(
        !f.store().withdraw(snooze).unwrap().0,
        "in flight: too late"
    );
    assert_eq!(
        f.conversation(c.id).unwrap().state,
        ConversationState::Snoozed
    );
    // Undo then takes the inverse, as a new op; without one it says it is too late.
    let (withdrawn, reversed_by) = f
        .client
        .undo(
            snooze,
            vec![Action::Unsnooze {
                conversation_id: c.id,
            }],
        )
        .unwrap();
    assert!(!withdrawn);
    assert_eq!(ops(&f), [vec![snooze], reversed_by].concat());
    assert_eq!(f.conversation(c.id).unwrap().state, ConversationState::Open);
    assert!(matches!(
        f.client.undo(snooze, Vec::new()),
        Err(Error::Refused(r)) if r.why.key == "undo_too_late"
    ));
    f.check_invariants();
}
