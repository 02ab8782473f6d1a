//! Two agents on two clients (real mirrors in SQLite files) and the real server on loopback:
//! the rules observed end to end, offline work applied once and in order, refusals explained.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use outpost_core::store::TimelineItem;
use outpost_core::sync::{SyncError, Syncer};
use outpost_core::{Client, ManualClock};
use outpost_e2e::*;
use outpost_protocol::*;
use outpost_server::storage::Storage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_two_agents_see_each_others_actions_by_the_rules() {
    let w = world().await;
    let ana = w.sign_in(&w.ana, "ana").await;
    let bruno = w.sign_in(&w.bruno, "bruno").await;
    let m = w
        .customer_writes("5511912340000", "Olá, preciso de ajuda")
        .await;
    ana.syncer.sync().await.unwrap();
    bruno.syncer.sync().await.unwrap();
    let c = conversation_of(&ana, m);
    assert_eq!(c.assignee, None);

    // Ana replies to the unassigned conversation: Bruno sees it assigned to Ana.
    ana.client.act(send(c.id, "Claro! Já vejo.")).unwrap();
    assert_eq!(
        mine(&ana),
        vec![c.id],
        "applied at once, before any network"
    );
    ana.syncer.sync().await.unwrap();
    bruno.syncer.sync().await.unwrap();
    assert_eq!(conversation_of(&bruno, m).assignee, Some(w.ana.id));
    assert!(
        ana.client.store().journal().unwrap().is_empty(),
        "Ana's op settled"
    );

    // Bruno closes it: Ana's Mine loses it.
    bruno
        .client
        .act(Action::Close {
            conversation_id: c.id,
            note: "resolvido".into(),
            category: String::new(),
        })
        .unwrap();
    bruno.syncer.sync().await.unwrap();
    ana.syncer.sync().await.unwrap();
    assert!(mine(&ana).is_empty());
    assert_eq!(conversation_of(&ana, m).state, ConversationState::Closed);

    // The customer writes again: it reopens for both.
    let m2 = w.customer_writes("5511912340000", "Voltei").await;
    ana.syncer.sync().await.unwrap();
    bruno.syncer.sync().await.unwrap();
    assert_eq!(conversation_of(&ana, m2).state, ConversationState::Open);
    assert_eq!(
        shown(&ana.client),
        shown(&bruno.client),
        "both clients show the same workspace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_offline_work_is_applied_once_in_order_and_clients_converge() {
    let mut w = world().await;
    let ana = w.sign_in(&w.ana, "ana").await;
    let m = w.customer_writes("5511955550000", "Bom dia").await;
    let m_other = w.customer_writes("5511955551111", "Oi").await;
    ana.syncer.sync().await.unwrap();
    let (c, other) = (
        conversation_of(&ana, m).id,
        conversation_of(&ana, m_other).id,
    );

    w.stop_server().await;
    let before_offline = ana.client.store().journal().unwrap().len();
    let actions = vec![
        send(c, "primeira"),
        send(c, "segunda"),
        Action::SetUnanswered {
            conversation_id: c,
            unanswered: true,
        },
        Action::Assign {
            conversation_id: other,
            assignee: Some(w.bruno.id),
        },
        Action::Snooze {
            conversation_id: other,
            until: T0 + 10 * HOUR,
        },
        Action::Archive {
            message_ids: vec![m],
        },
        Action::EditContact {
            contact_id: conversation_of(&ana, m).contact_id,
            edit: ContactEdit {
                name: Some("Dona Maria".into()),
                ..Default::default()
            },
        },
        Action::Close {
            conversation_id: c,
            note: String::new(),
            category: "venda".into(),
        },
    ];
    for a in actions {
        ana.clock.advance(60_000);
        ana.client.act(a).unwrap();
    }
    let offline = ana.syncer.sync().await.unwrap_err();
    assert!(matches!(offline, SyncError::Network(_)), "{offline}");
    assert!(offline.recoverable());
    assert_eq!(
        ana.client.store().journal().unwrap().len(),
        before_offline + 8,
        "everything waits, nothing lost"
    );

    w.restart_server().await;
    ana.syncer.sync().await.unwrap();
    // Pushing again changes nothing: every op was applied exactly once.
    ana.syncer.sync().await.unwrap();
    assert!(ana.client.store().journal().unwrap().is_empty());
    let bruno = w.sign_in(&w.bruno, "bruno").await;
    bruno.syncer.sync().await.unwrap();
    let fresh = w.sign_in(&w.ana, "ana-fresh").await;
    fresh.syncer.sync().await.unwrap();
    assert_eq!(
        shown(&ana.client),
        shown(&fresh.client),
        "Ana's mirror equals a fresh full sync, row for row"
    );
    assert_eq!(shown(&bruno.client), shown(&fresh.client));
    let texts: Vec<String> = {
        let t = fresh.client.store().open_conversation(c, None, 50).unwrap();
        t.items
            .into_iter()
            .filter_map(|i| match i {
                TimelineItem::Message { message, .. }
                    if message.direction == Direction::Outgoing =>
                {
                    Some(message.text)
                }
                _ => None,
            })
            .collect()
    };
    assert_eq!(texts, vec!["primeira", "segunda"], "in order, once each");
    let closed = conversation_of(&fresh, m);
    assert_eq!(closed.state, ConversationState::Closed);
    assert_eq!(
        closed.assignee, None,
        "closing unassigned Ana, who had been assigned by replying"
    );
    let storage = w.server.as_ref().unwrap().app.storage.clone();
    let Some(Entity::Contact(k)) = storage.get(EntityRef::Contact(closed.contact_id)).unwrap()
    else {
        panic!()
    };
    assert_eq!(k.name, "Dona Maria");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_send_refused_outside_the_window_shows_in_failed_and_retries_as_a_template() {
    let w = world().await;
    let ana = w.sign_in(&w.ana, "ana").await;
    let m = w.customer_writes("5511977770000", "Oi").await;
    ana.syncer.sync().await.unwrap();
    let c = conversation_of(&ana, m);
    // The laptop was offline for a day: by its clock the window is open, by the server's not.
    w.server_clock.fetch_add(25 * HOUR, Ordering::SeqCst);
    let message_id = MessageId::new();
    ana.client
        .act(Action::SendMessage {
            message_id,
            conversation_id: c.id,
            text: "Ainda precisa?".into(),
            attachments: vec![],
            template: None,
            reply_to: None,
        })
        .unwrap();
    let events = ana.client.subscribe();
    ana.syncer.sync().await.unwrap();
    let failed = ana
        .client
        .store()
        .list_folder(Folder::Failed, None, 10)
        .unwrap();
    assert_eq!(failed.rows.len(), 1);
    let reason = failed.rows[0].message.failure.clone().unwrap();
    assert!(reason.contains("24-hour window"), "{reason}");
    let refusal = events.try_iter().find_map(|e| match e {
        outpost_core::Event::OpRefused {
            code,
            conversation_id,
            ..
        } => Some((code, conversation_id)),
        _ => None,
    });
    assert_eq!(
        refusal,
        Some((ErrorCode::WindowClosed, Some(c.id))),
        "the agent is told why, and where"
    );
    // Retried as an approved template, it goes.
    let template = TemplateRef {
        name: "retomar_contato".into(),
        language: "pt_BR".into(),
        params: vec![],
    };
    ana.client
        .act(Action::RetryMessage {
            message_id,
            text: String::new(),
            template: Some(template),
        })
        .unwrap();
    ana.syncer.sync().await.unwrap();
    assert!(
        ana.client
            .store()
            .list_folder(Folder::Failed, None, 10)
            .unwrap()
            .rows
            .is_empty()
    );
    assert!(ana.client.store().journal().unwrap().is_empty());
    let status = ana
        .client
        .store()
        .read(|conn| outpost_core::store::get_entity(conn, EntityRef::Message(message_id)))
        .unwrap();
    assert!(matches!(status, Some(Entity::Message(m)) if m.status != MessageStatus::Failed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_wrong_password_and_ended_session_are_explained() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let client =
        Arc::new(Client::open(dir.path().join("m.db"), Arc::new(ManualClock::new(T0))).unwrap());
    let err = Syncer::login(client.clone(), &w.base(), &w.ana.email, "errada")
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("wrong"), "{err}");
    let ana = w.sign_in(&w.ana, "ana").await;
    let token = ana.syncer.session().token().to_owned();
    assert!(
        !format!("{:?}", ana.syncer.session()).contains(&token),
        "the token never reaches a log line"
    );
    reqwest_logout(&w.base(), &token).await;
    ana.client
        .act(Action::SetAvailability {
            availability: Availability::Away,
        })
        .unwrap();
    let err = ana.syncer.sync().await.unwrap_err();
    assert!(matches!(err, SyncError::SignedOut), "{err}");
    assert_eq!(
        ana.client.store().journal().unwrap().len(),
        1,
        "nothing queued is lost"
    );
}

async fn reqwest_logout(base: &str, token: &str) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/auth/logout"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_stream_brings_changes_and_pushes_actions_without_asking() {
    use outpost_core::api::Connection;
    use outpost_core::sync::engine::Engine;
    let w = world().await;
    let ana = w.sign_in(&w.ana, "ana").await;
    let bruno = w.sign_in(&w.bruno, "bruno").await;
    let engine_ana = Engine::start(ana.syncer.resume_clone());
    let engine_bruno = Engine::start(bruno.syncer.resume_clone());
    let status = engine_ana.status();
    until("Ana online", || {
        status.borrow().connection == Connection::Online
    })
    .await;
    let m = w.customer_writes("5511900007777", "Chegou rápido?").await;
    until("the customer's message reaches Ana", || {
        has_message(&ana.client, m)
    })
    .await;
    until("and Bruno", || has_message(&bruno.client, m)).await;
    // Ana acts; the engine pushes it and Bruno's engine pulls it, nobody calls sync.
    let c = conversation_of(&ana, m);
    let reply = MessageId::new();
    ana.client
        .act(Action::SendMessage {
            message_id: reply,
            conversation_id: c.id,
            text: "Sim!".into(),
            attachments: vec![],
            template: None,
            reply_to: None,
        })
        .unwrap();
    until("Ana's reply reaches Bruno", || {
        has_message(&bruno.client, reply)
    })
    .await;
    until("Ana's journal drains", || {
        ana.client.store().journal().unwrap().is_empty()
    })
    .await;
    engine_ana.stop().await;
    engine_bruno.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_engine_rides_out_a_server_restart_and_misses_nothing() {
    use outpost_core::api::Connection;
    use outpost_core::sync::engine::Engine;
    let mut w = world().await;
    let ana = w.sign_in(&w.ana, "ana").await;
    let m = w.customer_writes("5511900008888", "Oi").await;
    let engine = Engine::start(ana.syncer.resume_clone());
    let status = engine.status();
    until("online", || {
        status.borrow().connection == Connection::Online
    })
    .await;
    until("first message", || has_message(&ana.client, m)).await;
    w.stop_server().await;
    until("offline", || {
        matches!(status.borrow().connection, Connection::Offline { .. })
    })
    .await;
    let c = conversation_of(&ana, m);
    let queued = MessageId::new();
    ana.client
        .act(Action::SendMessage {
            message_id: queued,
            conversation_id: c.id,
            text: "Enviada offline".into(),
            attachments: vec![],
            template: None,
            reply_to: None,
        })
        .unwrap();
    until("the status shows what waits", || {
        status.borrow().waiting >= 1
    })
    .await;
    w.restart_server().await;
    let after = w.customer_writes("5511900008888", "Voltaram?").await;
    until("the message written while reconnecting arrives", || {
        has_message(&ana.client, after)
    })
    .await;
    until("the queued action went, and was answered", || {
        ana.client.store().journal().unwrap().is_empty()
    })
    .await;
    until("online again", || {
        status.borrow().connection == Connection::Online
    })
    .await;
    let storage = w.server.as_ref().unwrap().app.storage.clone();
    assert!(
        storage.get(EntityRef::Message(queued)).unwrap().is_some(),
        "the server has the offline message"
    );
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_restricted_agent_loses_a_reassigned_conversation_from_mirror_and_search() {
    let w = world().await;
    let storage = w.server.as_ref().unwrap().app.storage.clone();
    let paula = outpost_server::add_agent(
        &*storage,
        "Paula Própria",
        "paula@outpost.example",
        PASSWORD,
        Role::Agent,
        Visibility::OwnOnly,
        vec![],
    )
    .unwrap();
    let ana = w.sign_in(&w.ana, "ana").await;
    let p = w.sign_in(&paula, "paula").await;
    let m = w
        .customer_writes("5511944440000", "Quero o reembolso do pedido 4521")
        .await;
    ana.syncer.sync().await.unwrap();
    let c = conversation_of(&ana, m);
    ana.client
        .act(Action::Assign {
            conversation_id: c.id,
            assignee: Some(paula.id),
        })
        .unwrap();
    ana.syncer.sync().await.unwrap();
    p.syncer.sync().await.unwrap();
    assert_eq!(
        p.client
            .store()
            .search("reembolso", 10)
            .unwrap()
            .messages
            .len(),
        1,
        "Paula finds it while it is hers"
    );
    assert_eq!(mine(&p), vec![c.id]);
    // Reassigned to Bruno: Paula may no longer see it.
    ana.client
        .act(Action::Assign {
            conversation_id: c.id,
            assignee: Some(w.bruno.id),
        })
        .unwrap();
    ana.syncer.sync().await.unwrap();
    p.syncer.sync().await.unwrap();
    assert!(!has_message(&p.client, m), "gone from the mirror");
    assert!(
        p.client
            .store()
            .search("reembolso", 10)
            .unwrap()
            .messages
            .is_empty(),
        "gone from search"
    );
    assert!(
        p.client
            .store()
            .search("5511944440000", 10)
            .unwrap()
            .contacts
            .is_empty(),
        "the contact too"
    );
    assert!(mine(&p).is_empty());
}

/// A server that signs in and then serves whatever pages the test gives it, in turn.
async fn misbehaving_server(pages: Vec<String>) -> String {
    use axum::routing::{get, post};
    let agent = serde_json::json!({
        "id": AgentId::new(), "name": "Ana", "email": "ana@x.example", "role": "admin",
        "visibility": "unrestricted", "teams": [], "availability": "available"
    });
    let pages = Arc::new(std::sync::Mutex::new(pages.into_iter()));
    let app = axum::Router::new()
        .route(
            "/v1/auth/login",
            post(move || {
                let agent = agent.clone();
                async move { axum::Json(serde_json::json!({ "token": "t", "agent": agent, "expires_at": T0 + HOUR })) }
            }),
        )
        .route(
            "/v1/changes",
            get(move || {
                let next = pages.lock().unwrap().next().unwrap_or_else(|| r#"{"changes":[],"cursor":0,"has_more":false}"#.into());
                async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], next) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn change(seq: u64, entity: serde_json::Value) -> String {
    serde_json::json!({ "seq": seq, "change": "upsert", "entity": entity }).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_malformed_oversized_or_out_of_order_pages_are_rejected_and_change_nothing() {
    let contact = |name: &str| {
        serde_json::json!({ "type": "contact", "data": {
            "id": ContactId::new(), "name": name, "phone": "", "email": "", "country": "", "language": "",
            "avatar_url": "", "identities": [], "tags": [], "fields": {}, "private_comment": "",
            "bot_enabled": false, "active_flow": null, "created_at": T0 } })
    };
    let good = format!(
        r#"{{"changes":[{},{}],"cursor":2,"has_more":false}}"#,
        change(1, contact("Ana")),
        change(2, contact("Bia"))
    );
    let too_long = "x".repeat(300);
    let bad_pages = vec![
        (
            "malformed JSON",
            r#"{"changes":[{"seq":3,"change":"upsert","entity":"#.to_owned(),
        ),
        (
            "an unknown entity",
            format!(
                r#"{{"changes":[{}],"cursor":3,"has_more":false}}"#,
                change(3, serde_json::json!({ "type": "spaceship", "data": {} }))
            ),
        ),
        (
            "out of order",
            format!(
                r#"{{"changes":[{},{}],"cursor":5,"has_more":false}}"#,
                change(5, contact("C")),
                change(4, contact("D"))
            ),
        ),
        (
            "replayed seqs",
            format!(
                r#"{{"changes":[{}],"cursor":3,"has_more":false}}"#,
                change(2, contact("E"))
            ),
        ),
        (
            "an oversized field",
            format!(
                r#"{{"changes":[{}],"cursor":3,"has_more":false}}"#,
                change(3, contact(&too_long))
            ),
        ),
        (
            "a cursor going back",
            r#"{"changes":[],"cursor":1,"has_more":false}"#.to_owned(),
        ),
    ];
    let mut pages = vec![good];
    pages.extend(bad_pages.iter().map(|(_, p)| p.clone()));
    let base = misbehaving_server(pages).await;
    let dir = tempfile::tempdir().unwrap();
    let client =
        Arc::new(Client::open(dir.path().join("m.db"), Arc::new(ManualClock::new(T0))).unwrap());
    let syncer = Syncer::login(client.clone(), &base, "ana@x.example", "x")
        .await
        .unwrap();
    syncer.pull().await.unwrap();
    assert_eq!(client.store().cursor().unwrap(), 2);
    let contacts = |c: &Client| {
        c.store().search("a", 50).unwrap().contacts.len()
            + c.store().search("b", 50).unwrap().contacts.len()
    };
    let before = contacts(&client);
    assert_eq!(before, 2);
    for (what, _) in bad_pages {
        let err = syncer.pull().await.expect_err(what);
        assert!(
            !err.recoverable() || matches!(err, SyncError::Network(_)),
            "{what}: {err}"
        );
        assert!(
            err.to_string().contains("cannot be stored") || err.to_string().contains("server"),
            "{what}: a clear error, got: {err}"
        );
        assert_eq!(
            client.store().cursor().unwrap(),
            2,
            "{what}: the cursor did not move"
        );
        assert_eq!(contacts(&client), before, "{what}: the mirror is unchanged");
    }
}

#[tokio::test]
async fn test_files_attached_offline_are_uploaded_once_before_their_message_and_others_open_them() {
    use outpost_core::api::FileData;
    let mut w = world().await;
    let ana = w.sign_in(&w.ana, "ana").await;
    let bruno = w.sign_in(&w.bruno, "bruno").await;
    let m = w
        .customer_writes("5511957570000", "Pode mandar o boleto?")
        .await;
    ana.syncer.sync().await.unwrap();
    let c = conversation_of(&ana, m).id;

    w.stop_server().await;
    let pdf: Vec<u8> = b"%PDF-1.7\n"
        .iter()
        .copied()
        .chain((0..300_000u32).map(|i| (i % 97) as u8))
        .collect();
    let staged = ana
        .client
        .stage_attachment(
            "C:\\Users\\ana\\boleto março.pdf",
            "application/pdf; charset=binary",
            &pdf,
        )
        .unwrap();
    assert_eq!(staged.name, "boleto março.pdf", "no folder part");
    assert_eq!(staged.mime, "application/pdf");
    assert_eq!(staged.kind, AttachmentKind::Document);
    assert_eq!(staged.size, pdf.len() as u64);
    let bad = FileData("not base64!".into()).decode().unwrap_err();
    assert!(
        bad.body().message.contains("did not arrive whole"),
        "{bad:?}"
    );

    let id = MessageId::new();
    ana.client
        .act(Action::SendMessage {
            message_id: id,
            conversation_id: c,
            text: "Segue o boleto".into(),
            attachments: vec![staged.clone()],
            template: None,
            reply_to: None,
        })
        .unwrap();
    // Offline, the file opens from this desktop and the message waits with it.
    let (mime, bytes) = ana.client.local_bytes(&staged.url).unwrap().unwrap();
    assert_eq!(mime, "application/pdf");
    assert_eq!(bytes, pdf);
    assert!(ana.syncer.sync().await.is_err());

    // A restart of the app changes nothing: the file is in the mirror, not in memory.
    let path = w.dir.path().join("ana.db");
    drop(ana);
    w.restart_server().await;
    let clock = Arc::new(outpost_core::ManualClock::new(T0));
    let client = Arc::new(outpost_core::Client::open(&path, clock).unwrap());
    let syncer =
        outpost_core::sync::Syncer::login(client.clone(), &w.base(), &w.ana.email, PASSWORD)
            .await
            .unwrap();
    syncer.sync().await.unwrap();
    assert!(
        client.store().journal().unwrap().is_empty(),
        "sent and settled"
    );
    assert!(
        client
            .store()
            .uploads_waiting(&[Op {
                op_id: OpId::new(),
                at: T0,
                action: Action::SendMessage {
                    message_id: MessageId::new(),
                    conversation_id: c,
                    text: String::new(),
                    attachments: vec![staged.clone()],
                    template: None,
                    reply_to: None,
                }
            }])
            .unwrap()
            .is_empty(),
        "uploaded once, marked so"
    );

    // At the server: one message, carrying the file; Bruno's desktop fetches it from there.
    bruno.syncer.sync().await.unwrap();
    assert!(has_message(&bruno.client, id));
    let (mime, bytes) = bruno.syncer.download(&staged.url).await.unwrap();
    assert_eq!(mime, "application/pdf");
    assert_eq!(bytes, pdf);
    let timeline = bruno.client.store().open_conversation(c, None, 50).unwrap();
    let carried = timeline.items.iter().any(|i| matches!(i, outpost_core::store::TimelineItem::Message { message, .. } if message.id == id && message.attachments == vec![staged.clone()]));
    assert!(carried, "the message carries the file as attached");
    let elsewhere = bruno
        .syncer
        .download("https://files.outpost.example/x.jpg")
        .await
        .unwrap_err();
    assert!(
        elsewhere.to_string().contains("kept by the channel"),
        "{elsewhere}"
    );
}

#[tokio::test]
async fn test_customers_files_open_offline_once_fetched_and_leave_with_their_conversation() {
    let mut w = world().await;
    let storage = w.server.as_ref().unwrap().app.storage.clone();
    let paula = outpost_server::add_agent(
        &*storage,
        "Paula Própria",
        "paula@outpost.example",
        PASSWORD,
        Role::Agent,
        Visibility::OwnOnly,
        vec![],
    )
    .unwrap();
    let ana = w.sign_in(&w.ana, "ana").await;
    let p = w.sign_in(&paula, "paula").await;
    let photo: Vec<u8> = jpeg_like(250_000, 251);
    let pdf: Vec<u8> = b"%PDF-1.4\n"
        .iter()
        .copied()
        .chain((0..90_000u32).map(|i| (i % 89) as u8))
        .collect();
    let m = w
        .customer_sends(
            "5511933330000",
            "Segue a foto e o boleto",
            &[
                ("foto.jpg", "image/jpeg", photo.clone()),
                ("boleto.pdf", "application/pdf", pdf.clone()),
            ],
        )
        .await;
    ana.syncer.sync().await.unwrap();
    let c = conversation_of(&ana, m);
    ana.client
        .act(Action::Assign {
            conversation_id: c.id,
            assignee: Some(paula.id),
        })
        .unwrap();
    ana.syncer.sync().await.unwrap();
    p.syncer.sync().await.unwrap();

    // The message came with its two files; Paula opens them, from the server.
    let store = p.client.store();
    let msg = message_in(&p.client, m).expect("the message is in Paula's mirror");
    let urls: Vec<String> = msg.attachments.iter().map(|a| a.url.clone()).collect();
    assert_eq!(
        msg.attachments
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["foto.jpg", "boleto.pdf"]
    );
    let (mime, bytes) = p.syncer.open_file(m, &urls[0]).await.unwrap();
    assert_eq!((mime.as_str(), bytes.len()), ("image/jpeg", photo.len()));
    assert_eq!(bytes, photo);
    assert_eq!(p.syncer.open_file(m, &urls[1]).await.unwrap().1, pdf);
    assert_eq!(
        store.file_cache_usage().unwrap(),
        (2, (photo.len() + pdf.len()) as u64)
    );
    let dir = store.path().with_extension("files");
    let on_disk = || std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(on_disk(), 2);
    assert!(
        matches!(
            p.client
                .keep_file(MessageId::new(), &urls[0], "image/jpeg", &photo),
            Err(outpost_core::Error::NotFound(_))
        ),
        "only a message in the mirror that carries the file keeps it"
    );

    // Offline: both open from this desktop.
    w.stop_server().await;
    assert_eq!(p.syncer.open_file(m, &urls[0]).await.unwrap().1, photo);
    let (mime, bytes) = p.client.local_bytes(&urls[1]).unwrap().unwrap();
    assert_eq!(mime, "application/pdf");
    assert_eq!(bytes, pdf);
    // A copy damaged on disk is not shown: forgotten, and (offline) explained.
    let photo_file = dir.join(
        Attachment::upload_id_in(&urls[0])
            .unwrap()
            .hyphenated()
            .to_string(),
    );
    std::fs::write(&photo_file, &photo[..1000]).unwrap();
    let err = p.syncer.open_file(m, &urls[0]).await.unwrap_err();
    assert!(matches!(err, SyncError::Network(_)), "{err}");
    assert_eq!(
        store.file_cache_usage().unwrap().0,
        1,
        "the damaged copy is forgotten"
    );
    assert!(!photo_file.exists());
    // Back online it is fetched again, whole.
    w.restart_server().await;
    assert_eq!(p.syncer.open_file(m, &urls[0]).await.unwrap().1, photo);
    assert_eq!(on_disk(), 2);

    // Reassigned to Bruno: Paula may no longer see it, and its files leave her disk with it.
    ana.client
        .act(Action::Assign {
            conversation_id: c.id,
            assignee: Some(w.bruno.id),
        })
        .unwrap();
    ana.syncer.sync().await.unwrap();
    p.syncer.sync().await.unwrap();
    assert!(!has_message(&p.client, m));
    assert_eq!(store.file_cache_usage().unwrap(), (0, 0));
    assert_eq!(on_disk(), 0, "no byte of it left beside the mirror");
    w.stop_server().await;
    let err = p.syncer.open_file(m, &urls[0]).await.unwrap_err();
    assert!(matches!(err, SyncError::Network(_)), "{err}");
    w.restart_server().await;
    assert!(
        p.syncer.open_file(m, &urls[0]).await.is_err(),
        "and the server says no"
    );

    // A stray file beside the mirror (a crash between a commit and the removal) goes at start.
    std::fs::write(
        dir.join(uuid::Uuid::now_v7().hyphenated().to_string()),
        b"left over",
    )
    .unwrap();
    std::fs::write(dir.join("half.part"), b"cut short").unwrap();
    let path = store.path().to_owned();
    drop(p);
    let reopened = Client::open(&path, Arc::new(ManualClock::new(T0))).unwrap();
    assert_eq!(on_disk(), 0);
    drop(reopened);
}

#[tokio::test]
async fn test_fetched_files_stay_within_their_budget_the_longest_unopened_leaving_first() {
    let w = world().await;
    let ana = w.sign_in(&w.ana, "ana").await;
    let files: Vec<(String, Vec<u8>)> = (0..5u8)
        .map(|n| (format!("foto{n}.png"), vec![n; 100_000]))
        .collect();
    let named: Vec<(&str, &str, Vec<u8>)> = files
        .iter()
        .map(|(name, b)| (name.as_str(), "image/png", b.clone()))
        .collect();
    let m = w.customer_sends("5511922220000", "", &named).await;
    ana.syncer.sync().await.unwrap();
    let store = ana.client.store();
    store.set_file_budget(400_000);
    let urls: Vec<String> = message_in(&ana.client, m)
        .unwrap()
        .attachments
        .iter()
        .map(|a| a.url.clone())
        .collect();
    for (i, url) in urls.iter().take(4).enumerate() {
        ana.clock.advance(60_000);
        assert_eq!(ana.syncer.open_file(m, url).await.unwrap().1, files[i].1);
    }
    assert_eq!(store.file_cache_usage().unwrap(), (4, 400_000));
    // The first is opened again (from here), so the second is now the longest unopened.
    ana.clock.advance(60_000);
    ana.syncer.open_file(m, &urls[0]).await.unwrap();
    ana.clock.advance(60_000);
    assert_eq!(
        ana.syncer.open_file(m, &urls[4]).await.unwrap().1,
        files[4].1
    );
    assert_eq!(
        store.file_cache_usage().unwrap(),
        (4, 400_000),
        "within the budget"
    );
    let dir = store.path().with_extension("files");
    let kept = |i: usize| {
        dir.join(
            Attachment::upload_id_in(&urls[i])
                .unwrap()
                .hyphenated()
                .to_string(),
        )
        .exists()
    };
    assert_eq!(
        (0..5).map(kept).collect::<Vec<_>>(),
        [true, false, true, true, true]
    );
    // A file larger than a quarter of the budget is shown, not kept.
    store.set_file_budget(300_000);
    assert_eq!(
        ana.syncer.open_file(m, &urls[1]).await.unwrap().1,
        files[1].1
    );
    assert!(!kept(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_customers_files_are_fetched_as_they_arrive_so_they_open_offline_unseen() {
    use outpost_core::api::Connection;
    use outpost_core::sync::engine::Engine;
    let mut w = world().await;
    let ana = w.sign_in(&w.ana, "ana").await;
    let engine = Engine::start(ana.syncer.resume_clone());
    let status = engine.status();
    until("Ana online", || {
        status.borrow().connection == Connection::Online
    })
    .await;
    let photo: Vec<u8> = jpeg_like(400_000, 241);
    let video = vec![7u8; (outpost_core::client::PREFETCH_MAX_BYTES + 1) as usize];
    let m = w
        .customer_sends(
            "5511911110000",
            "Olha o estado da caixa",
            &[
                ("caixa.jpg", "image/jpeg", photo.clone()),
                ("video.mp4", "video/mp4", video.clone()),
            ],
        )
        .await;
    until("the photo is kept on Ana's desktop, unopened", || {
        ana.client.store().file_cache_usage().unwrap().0 == 1
    })
    .await;
    assert_eq!(
        ana.client.store().file_cache_usage().unwrap(),
        (1, photo.len() as u64),
        "the video is larger than what is fetched ahead"
    );
    engine.stop().await;

    w.stop_server().await;
    let urls: Vec<String> = message_in(&ana.client, m)
        .unwrap()
        .attachments
        .iter()
        .map(|a| a.url.clone())
        .collect();
    assert_eq!(ana.syncer.open_file(m, &urls[0]).await.unwrap().1, photo);
    let err = ana.syncer.open_file(m, &urls[1]).await.unwrap_err();
    assert!(matches!(err, SyncError::Network(_)), "{err}");
    w.restart_server().await;
    assert_eq!(ana.syncer.open_file(m, &urls[1]).await.unwrap().1, video);
}

#[tokio::test]
async fn test_sent_files_leave_the_mirror_once_settled_and_abandoned_ones_after_a_day() {
    use outpost_core::store::Tidied;
    let mut w = world().await;
    let ana = w.sign_in(&w.ana, "ana").await;
    let m = w.customer_writes("5511955550000", "Manda a nota?").await;
    ana.syncer.sync().await.unwrap();
    let c = conversation_of(&ana, m).id;
    let stage = |name: &str, bytes: &[u8]| {
        ana.client
            .stage_attachment(name, "application/pdf", bytes)
            .unwrap()
    };
    let uploads = || {
        ana.client
            .store()
            .read(|c| Ok(c.query_row("SELECT count(*) FROM uploads", [], |r| r.get::<_, i64>(0))?))
            .unwrap()
    };
    let sent_pdf = vec![5u8; 120_000];
    let sent = stage("nota.pdf", &sent_pdf);
    let abandoned = stage("rascunho.pdf", &[1u8; 1000]);
    let send = |id: MessageId, file: &Attachment| Action::SendMessage {
        message_id: id,
        conversation_id: c,
        text: String::new(),
        attachments: vec![file.clone()],
        template: None,
        reply_to: None,
    };
    let reply = MessageId::new();
    ana.client.act(send(reply, &sent)).unwrap();

    // Offline: another message waits with its file. A day later, it still keeps it; the file
    // nothing names goes.
    w.stop_server().await;
    let queued = stage("fila.pdf", &[2u8; 1000]);
    let later = MessageId::new();
    ana.client.act(send(later, &queued)).unwrap();
    ana.clock.advance(25 * HOUR);
    let now = ana.client.now();
    assert_eq!(
        ana.client.store().tidy_uploads(now).unwrap(),
        Tidied {
            moved: 0,
            dropped: 1
        },
        "only the abandoned file"
    );
    assert_eq!(uploads(), 2);
    assert!(ana.client.local_bytes(&abandoned.url).unwrap().is_none());

    // Back online: both are sent and settle; their bytes move out of the mirror, and still open.
    w.restart_server().await;
    ana.syncer.sync().await.unwrap();
    ana.syncer.sync().await.unwrap();
    assert!(ana.client.store().journal().unwrap().is_empty(), "settled");
    assert_eq!(
        ana.client.store().tidy_uploads(now).unwrap(),
        Tidied {
            moved: 2,
            dropped: 0
        }
    );
    assert_eq!(uploads(), 0, "the mirror keeps no file bytes");
    assert_eq!(ana.client.store().file_cache_usage().unwrap().0, 2);
    w.stop_server().await;
    let (_, bytes) = ana.client.local_bytes(&sent.url).unwrap().unwrap();
    assert_eq!(bytes, sent_pdf, "offline, the sent file still opens");
    assert_eq!(
        ana.client.store().tidy_uploads(now).unwrap(),
        Tidied::default()
    );
    let _ = later;
}

/// `len` bytes that start as a JPEG does (the server reads a file's type from its bytes).
fn jpeg_like(len: u32, period: u32) -> Vec<u8> {
    [0xFF, 0xD8, 0xFF, 0xE0]
        .into_iter()
        .chain((4..len).map(|i| (i % period) as u8))
        .collect()
}
