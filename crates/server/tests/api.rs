//! The server over HTTP on loopback: accounts, the rules of PRODUCT.md, idempotency, permissions,
//! the change feed and bad input.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use outpost_protocol::*;
use outpost_server::add_channel;
use serde_json::{Value, json};

// ---- Accounts ----

#[tokio::test]
async fn test_login_gives_a_token_and_logout_ends_it() {
    let h = harness().await;
    let token = h.login(&h.team_agent).await;
    assert_eq!(token.len(), 64);
    let me: Agent = h
        .http
        .get(h.url("/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me.id, h.team_agent.id);
    let r = h
        .http
        .post(h.url("/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = h
        .http
        .get(h.url("/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a logged-out token no longer works");
}

#[tokio::test]
async fn test_sessions_expire() {
    let h = harness().await;
    let token = h.login(&h.owner).await;
    h.advance(outpost_server::auth::SESSION_TTL + 1);
    let r = h
        .http
        .get(h.url("/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unauthenticated");
    assert!(body["message"].as_str().unwrap().contains("Sign in again"));
}

#[tokio::test]
async fn test_wrong_password_is_refused_and_repeated_failures_are_rate_limited() {
    let h = harness().await;
    let attempt = |password: &'static str| {
        h.http
            .post(h.url("/v1/auth/login"))
            .json(&json!({ "email": "tiago@outpost.example", "password": password }))
            .send()
    };
    for _ in 0..5 {
        let r = attempt("errada").await.unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = attempt(PASSWORD).await.unwrap();
    assert_eq!(
        r.status(),
        429,
        "even the right password waits once the limit is reached"
    );
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&wait));
    h.advance(outpost_server::auth::LOGIN_WINDOW);
    assert_eq!(
        attempt(PASSWORD).await.unwrap().status(),
        200,
        "the window passes"
    );
    let unknown = h
        .http
        .post(h.url("/v1/auth/login"))
        .json(&json!({ "email": "ninguem@outpost.example", "password": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
}

#[tokio::test]
async fn test_every_route_needs_a_session() {
    let h = harness().await;
    for (method, path) in [
        ("GET", "/v1/me"),
        ("GET", "/v1/changes?after=0"),
        ("POST", "/v1/ops"),
        ("GET", "/v1/stream"),
        ("POST", "/v1/auth/logout"),
    ] {
        let req = match method {
            "GET" => h.http.get(h.url(path)),
            _ => h.http.post(h.url(path)).json(&json!({ "ops": [] })),
        };
        let r = req.bearer_auth("0000").send().await.unwrap();
        assert_eq!(r.status(), 401, "{method} {path}");
    }
}

// ---- The rules of PRODUCT.md ----

#[tokio::test]
async fn test_message_from_new_contact_opens_an_unassigned_conversation() {
    let h = harness().await;
    let m = h
        .customer_writes("5511987654321", "Olá, meu pedido não chegou")
        .await;
    let token = h.login(&h.owner).await;
    let c = h.conversation_of(&token, m).await;
    assert_eq!(c.state, ConversationState::Open);
    assert_eq!(c.assignee, None);
    assert!(c.unanswered);
    assert_eq!(c.unread_count, 1);
    // The same contact writing again lands in the same conversation.
    let m2 = h.customer_writes("5511987654321", "Alô?").await;
    assert_eq!(h.conversation_of(&token, m2).await.id, c.id);
}

#[tokio::test]
async fn test_reply_to_unassigned_assigns_it_then_close_unassigns_and_inbound_reopens() {
    let h = harness().await;
    let m = h.customer_writes("5511911112222", "Preciso de ajuda").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let token = h.login(&h.other).await;
    let results = h.ops(&token, vec![send(c.id, "Claro, já vejo!")]).await;
    assert!(
        matches!(results[0].outcome, OpOutcome::Applied { .. }),
        "{results:?}"
    );
    let c1 = h.conversation_of(&owner, m).await;
    assert_eq!(
        c1.assignee,
        Some(h.other.id),
        "replying to an unassigned conversation assigns it"
    );
    assert!(!c1.unanswered);
    let results = h
        .ops(
            &token,
            vec![Action::Close {
                conversation_id: c.id,
                note: "resolvido".into(),
                category: "entrega".into(),
            }],
        )
        .await;
    assert!(matches!(results[0].outcome, OpOutcome::Applied { .. }));
    let c2 = h.conversation_of(&owner, m).await;
    assert_eq!(c2.state, ConversationState::Closed);
    assert_eq!(c2.assignee, None, "closing unassigns");
    h.advance(60_000);
    let m3 = h.customer_writes("5511911112222", "Voltei").await;
    let c3 = h.conversation_of(&owner, m3).await;
    assert_eq!(c3.id, c.id);
    assert_eq!(
        c3.state,
        ConversationState::Open,
        "a message to a closed conversation reopens it"
    );
    let mirror = h.synced(&owner, 1000).await;
    let kinds: Vec<String> = mirror
        .entities
        .values()
        .filter_map(|e| match e {
            Entity::Event(ev) if ev.conversation_id == c.id => Some(format!("{:?}", ev.kind)),
            _ => None,
        })
        .collect();
    assert!(kinds.iter().any(|k| k.starts_with("Assigned")), "{kinds:?}");
    assert!(kinds.iter().any(|k| k.starts_with("Closed")), "{kinds:?}");
    assert!(kinds.iter().any(|k| k.starts_with("Opened")), "{kinds:?}");
}

#[tokio::test]
async fn test_assign_to_away_agent_is_refused() {
    let h = harness().await;
    let m = h.customer_writes("5511933334444", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let other = h.login(&h.other).await;
    let r = h
        .ops(
            &other,
            vec![Action::SetAvailability {
                availability: Availability::Away,
            }],
        )
        .await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }));
    let r = h
        .ops(
            &owner,
            vec![Action::Assign {
                conversation_id: c.id,
                assignee: Some(h.other.id),
            }],
        )
        .await;
    match &r[0].outcome {
        OpOutcome::Refused { code, reason } => {
            assert_eq!(*code, ErrorCode::AgentAway);
            assert!(reason.contains("Otávio Outro"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.conversation_of(&owner, m).await.assignee,
        None,
        "a refusal changes nothing"
    );
}

#[tokio::test]
async fn test_free_text_outside_the_24_hour_window_is_refused_but_a_template_passes() {
    let h = harness().await;
    let m = h.customer_writes("5511955556666", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    h.advance(25 * 60 * 60 * 1000);
    let r = h
        .ops(&owner, vec![send(c.id, "Ainda precisa de ajuda?")])
        .await;
    match &r[0].outcome {
        OpOutcome::Refused { code, reason } => {
            assert_eq!(*code, ErrorCode::WindowClosed);
            assert!(reason.contains("template"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let template = Action::SendMessage {
        message_id: MessageId::new(),
        conversation_id: c.id,
        text: String::new(),
        attachments: vec![],
        template: Some(TemplateRef {
            name: "retomar_contato".into(),
            language: "pt_BR".into(),
            params: vec![],
        }),
        reply_to: None,
    };
    let r = h.ops(&owner, vec![template]).await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }), "{r:?}");
}

#[tokio::test]
async fn test_only_owner_or_admin_deletes_a_conversation() {
    let h = harness().await;
    let m = h.customer_writes("5511977778888", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let other = h.login(&h.other).await;
    let r = h
        .ops(
            &other,
            vec![Action::DeleteConversation {
                conversation_id: c.id,
            }],
        )
        .await;
    assert!(
        matches!(
            &r[0].outcome,
            OpOutcome::Refused {
                code: ErrorCode::NotAllowed,
                ..
            }
        ),
        "{r:?}"
    );
    let r = h
        .ops(
            &owner,
            vec![Action::DeleteConversation {
                conversation_id: c.id,
            }],
        )
        .await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }));
    let mirror = h.synced(&owner, 1000).await;
    assert!(mirror.conversations().is_empty());
    assert!(
        mirror.messages_of(c.id).is_empty(),
        "its history went with it"
    );
    // A new message from the contact makes it visible again.
    h.customer_writes("5511977778888", "Oi de novo").await;
    assert_eq!(h.synced(&owner, 1000).await.conversations().len(), 1);
}

#[tokio::test]
async fn test_scheduled_message_is_queued_when_due() {
    let h = harness().await;
    let m = h.customer_writes("5511912121212", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let id = MessageId::new();
    let r = h
        .ops(
            &owner,
            vec![Action::ScheduleMessage {
                message_id: id,
                conversation_id: c.id,
                text: "Bom dia!".into(),
                attachments: vec![],
                template: None,
                send_at: T0 + 60_000,
            }],
        )
        .await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }));
    let status = |mirror: &Mirror| match mirror.entities.get(&EntityRef::Message(id)) {
        Some(Entity::Message(m)) => m.status,
        _ => panic!("missing"),
    };
    assert_eq!(
        status(&h.synced(&owner, 1000).await),
        MessageStatus::Scheduled
    );
    h.advance(61_000);
    for _ in 0..50 {
        if status(&h.synced(&owner, 1000).await) == MessageStatus::Pending {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the scheduled message was not queued when due");
}

// ---- Idempotency ----

#[tokio::test]
async fn test_same_op_ten_times_concurrently_and_sequentially_has_one_effect() {
    let h = harness().await;
    let m = h.customer_writes("5511923232323", "Oi").await;
    let token = h.login(&h.owner).await;
    let c = h.conversation_of(&token, m).await;
    let op = Op {
        op_id: OpId::new(),
        at: T0,
        action: send(c.id, "Uma vez só"),
    };
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (http, url, token, op) = (h.http.clone(), h.url("/v1/ops"), token.clone(), op.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "ops": [op] }))
                .send()
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            serde_json::from_value::<Vec<OpResult>>(v["results"].clone()).unwrap()
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.extend(t.await.unwrap());
    }
    for _ in 0..10 {
        results.extend(h.send_ops(&token, std::slice::from_ref(&op)).await);
    }
    assert!(
        results.windows(2).all(|w| w[0] == w[1]),
        "every repeat answers the first result"
    );
    let mirror = h.synced(&token, 1000).await;
    let ours = mirror
        .messages_of(c.id)
        .into_iter()
        .filter(|m| m.text == "Uma vez só")
        .count();
    assert_eq!(ours, 1);
}

// ---- Permissions ----

#[tokio::test]
async fn test_restricted_agents_neither_read_nor_change_what_they_may_not_see() {
    let h = harness().await;
    let m = h
        .customer_writes("5511934343434", "Segredo do time de vendas")
        .await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let r = h
        .ops(
            &owner,
            vec![Action::SetTeam {
                conversation_id: c.id,
                team: Some(h.other_team),
            }],
        )
        .await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }));
    for agent in [&h.team_agent, &h.own_only] {
        let token = h.login(agent).await;
        let mirror = h.synced(&token, 1000).await;
        assert!(
            mirror.conversations().is_empty(),
            "{} sees nothing of it",
            agent.name
        );
        assert!(
            !mirror
                .entities
                .values()
                .any(|e| matches!(e, Entity::Message(_) | Entity::Contact(_)))
        );
        for action in [
            send(c.id, "intrusão"),
            Action::Close {
                conversation_id: c.id,
                note: String::new(),
                category: String::new(),
            },
            Action::Assign {
                conversation_id: c.id,
                assignee: Some(agent.id),
            },
            Action::Archive {
                message_ids: vec![m],
            },
            Action::EditContact {
                contact_id: c.contact_id,
                edit: ContactEdit {
                    name: Some("x".into()),
                    ..Default::default()
                },
            },
        ] {
            let r = h.ops(&token, vec![action.clone()]).await;
            assert!(
                matches!(
                    &r[0].outcome,
                    OpOutcome::Refused {
                        code: ErrorCode::NotFound,
                        ..
                    }
                ),
                "{}: {r:?}",
                action.kind()
            );
        }
    }
    assert_eq!(
        h.conversation_of(&owner, m).await.assignee,
        None,
        "nothing changed"
    );
}

#[tokio::test]
async fn test_reassignment_revokes_and_grants_in_the_feed() {
    let h = harness().await;
    let m = h.customer_writes("5511945454545", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let paula = h.login(&h.own_only).await;
    let mut mirror = h.synced(&paula, 1000).await;
    assert!(mirror.conversations().is_empty());
    // Assigned to Paula: her feed now carries the conversation, its history and its contact.
    h.ops(
        &owner,
        vec![Action::Assign {
            conversation_id: c.id,
            assignee: Some(h.own_only.id),
        }],
    )
    .await;
    mirror.pull(&h, &paula, 1000).await;
    assert_eq!(mirror.conversations().len(), 1);
    assert_eq!(
        mirror.messages_of(c.id).len(),
        1,
        "the history came with it"
    );
    assert!(
        mirror
            .entities
            .contains_key(&EntityRef::Contact(c.contact_id))
    );
    // Reassigned away: a revocation purges it.
    h.ops(
        &owner,
        vec![Action::Assign {
            conversation_id: c.id,
            assignee: Some(h.other.id),
        }],
    )
    .await;
    let page = h.page(&paula, mirror.cursor, 1000).await;
    assert!(page.changes.iter().any(|ch| matches!(ch.kind, ChangeKind::Revoke { entity: EntityRef::Conversation(id) } if id == c.id)), "{page:?}");
    mirror.pull(&h, &paula, 1000).await;
    assert!(mirror.conversations().is_empty());
    assert!(mirror.messages_of(c.id).is_empty());
}

// ---- Bad input ----

#[tokio::test]
async fn test_bad_input_is_a_clear_4xx_and_stores_nothing() {
    let h = harness().await;
    let token = h.login(&h.owner).await;
    let seq_before = h.page(&token, 0, 1).await.cursor;
    let post = |body: reqwest::Body, content_type: &'static str| {
        h.http
            .post(h.url("/v1/ops"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases: Vec<(reqwest::Body, &str, u16, &str)> = vec![
        ("{not json".into(), "application/json", 400, "not valid"),
        (r#"{"ops": "many"}"#.into(), "application/json", 400, "invalid type"),
        (r#"{"ops": [{"op_id": "01890a5d-ac96-774b-bcce-b302099a8057", "at": 1, "action": {"type": "launch_rocket"}}]}"#.into(), "application/json", 400, "unknown variant"),
        (vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'].into(), "application/json", 400, "not valid"),
        ("{}".into(), "text/plain", 415, "JSON"),
        (format!(r#"{{"ops": [], "pad": "{}"}}"#, "x".repeat(5 * 1024 * 1024)).into(), "application/json", 413, "larger"),
    ];
    for (body, content_type, status, says) in cases {
        let r = post(body, content_type).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "expected {status} ({says})");
        let v: Value = r.json().await.unwrap();
        assert!(v["message"].as_str().unwrap().contains(says), "{v}");
        assert!(v["code"].is_string());
    }
    let r = h
        .http
        .get(h.url("/v1/changes?after=-3"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = h
        .http
        .get(h.url("/v1/nowhere"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // A valid op with invalid content is refused with its reason, not stored.
    let r = h
        .ops(&token, vec![send(ConversationId::new(), "   ")])
        .await;
    assert!(
        matches!(
            &r[0].outcome,
            OpOutcome::Refused {
                code: ErrorCode::InvalidInput,
                ..
            }
        ),
        "{r:?}"
    );
    assert_eq!(
        h.page(&token, 0, 1).await.cursor,
        seq_before,
        "nothing was stored"
    );
}

#[tokio::test]
async fn test_channel_webhook_checks_its_secret() {
    let h = harness().await;
    let url = h.url(&format!("/v1/channels/{}/inbound", h.channel));
    let body = json!({ "from": "5511900000000", "text": "oi" });
    let r = h.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = h
        .http
        .post(&url)
        .header("x-outpost-channel-secret", "errado")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = h
        .http
        .post(h.url(&format!("/v1/channels/{}/inbound", uuid::Uuid::now_v7())))
        .header("x-outpost-channel-secret", SECRET)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let bad_phone = json!({ "from": "+55 (11) 9", "text": "oi" });
    let r = h
        .http
        .post(&url)
        .header("x-outpost-channel-secret", SECRET)
        .json(&bad_phone)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

// ---- The stream ----

#[tokio::test]
async fn test_stream_says_changed_right_after_a_commit() {
    use futures_util::StreamExt;
    let h = harness().await;
    let token = h.login(&h.owner).await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/v1/stream?token={token}", h.addr()))
            .await
            .unwrap();
    let first: Value =
        serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(first["type"], "changed");
    let before = first["seq"].as_u64().unwrap();
    h.customer_writes("5511956565656", "Chegou?").await;
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .expect("a frame")
        .unwrap()
        .unwrap();
    let v: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
    assert!(v["seq"].as_u64().unwrap() > before);
    assert!(
        tokio_tungstenite::connect_async(format!("ws://{}/v1/stream?token=nope", h.addr()))
            .await
            .is_err()
    );
}

// ---- The test channel ----

#[tokio::test]
async fn test_outgoing_messages_go_wired_sent_delivered_read_or_fail_with_the_providers_error() {
    let h = harness().await;
    let rules = json!({ "fail": ["5511900000013"], "failure_reason": "(#131026) Número sem WhatsApp", "step_ms": 1000, "read": true });
    let url = h.url(&format!("/v1/channels/{}/rules", h.channel));
    let r = h.http.put(&url).json(&rules).send().await.unwrap();
    assert_eq!(r.status(), 401, "rules need the channel's secret");
    let r = h
        .http
        .put(&url)
        .header("x-outpost-channel-secret", SECRET)
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let ok = h.customer_writes("5511911110000", "Oi").await;
    let bad = h.customer_writes("5511900000013", "Oi").await;
    let owner = h.login(&h.owner).await;
    let (c_ok, c_bad) = (
        h.conversation_of(&owner, ok).await,
        h.conversation_of(&owner, bad).await,
    );
    let (to_ok, to_bad) = (send(c_ok.id, "Tudo certo!"), send(c_bad.id, "Tudo certo?"));
    let id = |a: &Action| match a {
        Action::SendMessage { message_id, .. } => *message_id,
        _ => unreachable!(),
    };
    let (id_ok, id_bad) = (id(&to_ok), id(&to_bad));
    h.ops(&owner, vec![to_ok, to_bad]).await;
    let message = |mirror: &Mirror, id| match mirror.entities.get(&EntityRef::Message(id)) {
        Some(Entity::Message(m)) => m.clone(),
        _ => panic!("missing"),
    };
    for _ in 0..60 {
        h.advance(1_000);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mirror = h.synced(&owner, 1000).await;
        let (m_ok, m_bad) = (message(&mirror, id_ok), message(&mirror, id_bad));
        if m_ok.status == MessageStatus::Read && m_bad.status == MessageStatus::Failed {
            let steps: Vec<MessageStatus> = m_ok.history.iter().map(|s| s.status).collect();
            assert_eq!(
                steps,
                vec![
                    MessageStatus::Pending,
                    MessageStatus::Wired,
                    MessageStatus::Sent,
                    MessageStatus::Delivered,
                    MessageStatus::Read
                ]
            );
            assert!(
                m_ok.history.windows(2).all(|w| w[0].at < w[1].at),
                "each status keeps its own time"
            );
            assert_eq!(
                m_bad.failure.as_deref(),
                Some("(#131026) Número sem WhatsApp")
            );
            assert_eq!(Folder::of(&m_bad), Folder::Failed);
            return;
        }
    }
    panic!("the messages did not move along their channel");
}

#[tokio::test]
async fn test_write_first_to_a_known_number_uses_its_contact() {
    let h = harness().await;
    let m = h.customer_writes("5511987650000", "Oi, sou a Júlia").await;
    let owner = h.login(&h.owner).await;
    let known = h.conversation_of(&owner, m).await;
    h.ops(
        &owner,
        vec![Action::Close {
            conversation_id: known.id,
            note: String::new(),
            category: String::new(),
        }],
    )
    .await;
    let new_conversation = ConversationId::new();
    let template = TemplateRef {
        name: "boas_vindas".into(),
        language: "pt_BR".into(),
        params: vec![],
    };
    let r = h
        .ops(
            &owner,
            vec![Action::WriteFirst {
                conversation_id: new_conversation,
                contact_id: ContactId::new(),
                message_id: MessageId::new(),
                channel: ChannelKind::Whatsapp,
                address: "5511987650000".into(),
                text: String::new(),
                template: Some(template),
            }],
        )
        .await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }), "{r:?}");
    let mirror = h.synced(&owner, 1000).await;
    let started = match mirror
        .entities
        .get(&EntityRef::Conversation(new_conversation))
    {
        Some(Entity::Conversation(c)) => c.clone(),
        _ => panic!("the new conversation is in the feed"),
    };
    assert_eq!(
        started.contact_id, known.contact_id,
        "no second contact for the same number"
    );
    let contacts = mirror
        .entities
        .values()
        .filter(|e| matches!(e, Entity::Contact(_)))
        .count();
    assert_eq!(contacts, 1);
    // Free text to a number that never wrote is refused on WhatsApp: only templates start it.
    let r = h
        .ops(
            &owner,
            vec![Action::WriteFirst {
                conversation_id: ConversationId::new(),
                contact_id: ContactId::new(),
                message_id: MessageId::new(),
                channel: ChannelKind::Whatsapp,
                address: "5511900001111".into(),
                text: "Olá!".into(),
                template: None,
            }],
        )
        .await;
    assert!(
        matches!(
            &r[0].outcome,
            OpOutcome::Refused {
                code: ErrorCode::WindowClosed,
                ..
            }
        ),
        "{r:?}"
    );
}

// ---- Flows ----

#[tokio::test]
async fn test_keyword_flow_handles_messages_until_it_ends_and_respects_the_bot_switch() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let flows = json!({ "flows": [{ "name": "Menu", "trigger": "menu", "steps": ["1 pedidos, 2 trocas", "Um atendente já vem!"] }] });
    let r = h
        .http
        .put(h.url("/v1/flows"))
        .bearer_auth(h.login(&h.other).await)
        .json(&flows)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "only owners and admins change flows");
    let r = h
        .http
        .put(h.url("/v1/flows"))
        .bearer_auth(&owner)
        .json(&flows)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    let folder_of = |mirror: &Mirror, id| match mirror.entities.get(&EntityRef::Message(id)) {
        Some(Entity::Message(m)) => Folder::of(m),
        _ => panic!("missing"),
    };
    let before = h.customer_writes("5511966660000", "Bom dia").await;
    h.advance(1_000);
    let trigger = h
        .customer_writes("5511966660000", "Quero ver o MENU, por favor")
        .await;
    h.advance(1_000);
    let second = h.customer_writes("5511966660000", "1").await;
    h.advance(1_000);
    let after = h.customer_writes("5511966660000", "Ainda estou aqui").await;
    let mirror = h.synced(&owner, 1000).await;
    assert_eq!(folder_of(&mirror, before), Folder::Inbox);
    assert_eq!(
        folder_of(&mirror, trigger),
        Folder::Flows,
        "the trigger starts the flow"
    );
    assert_eq!(
        folder_of(&mirror, second),
        Folder::Flows,
        "handled by the flow while it runs"
    );
    assert_eq!(
        folder_of(&mirror, after),
        Folder::Inbox,
        "after its last step, back to the Inbox"
    );
    let c = h.conversation_of(&owner, trigger).await;
    let mut replies: Vec<&Message> = mirror
        .messages_of(c.id)
        .into_iter()
        .filter(|m| m.sender.kind == SenderKind::Flow)
        .collect();
    replies.sort_by_key(|m| m.created_at);
    let texts: Vec<&str> = replies.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, vec!["1 pedidos, 2 trocas", "Um atendente já vem!"]);
    assert_eq!(c.assignee, None, "a flow's reply assigns nobody");
    // With the bot off, the trigger word is just a word.
    let r = h
        .ops(
            &owner,
            vec![Action::SetBot {
                contact_id: c.contact_id,
                enabled: false,
            }],
        )
        .await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }));
    let ignored = h.customer_writes("5511966660000", "menu").await;
    assert_eq!(
        folder_of(&h.synced(&owner, 1000).await, ignored),
        Folder::Inbox
    );
}

#[tokio::test]
async fn test_typing_and_viewing_reach_only_agents_who_may_see_the_conversation() {
    use futures_util::{SinkExt, StreamExt};
    let h = harness().await;
    let m = h.customer_writes("5511978780000", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    h.ops(
        &owner,
        vec![Action::SetTeam {
            conversation_id: c.id,
            team: Some(h.team),
        }],
    )
    .await;
    let connect = |token: String| {
        let addr = h.addr();
        async move {
            tokio_tungstenite::connect_async(format!("ws://{addr}/v1/stream?token={token}"))
                .await
                .unwrap()
                .0
        }
    };
    let mut owner_ws = connect(owner.clone()).await;
    let mut tiago_ws = connect(h.login(&h.team_agent).await).await;
    let mut paula_ws = connect(h.login(&h.own_only).await).await;
    for ws in [&mut owner_ws, &mut tiago_ws, &mut paula_ws] {
        ws.next().await.unwrap().unwrap(); // the first "changed"
    }
    let say = |frame: ClientFrame| {
        tokio_tungstenite::tungstenite::Message::Text(serde_json::to_string(&frame).unwrap().into())
    };
    owner_ws
        .send(say(ClientFrame::Viewing {
            conversation_id: Some(c.id),
        }))
        .await
        .unwrap();
    owner_ws
        .send(say(ClientFrame::Typing {
            conversation_id: c.id,
        }))
        .await
        .unwrap();
    // Tiago (team agent, the conversation is his team's) hears both.
    let mut heard = Vec::new();
    while heard.len() < 2 {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), tiago_ws.next())
            .await
            .expect("a frame")
            .unwrap()
            .unwrap();
        match serde_json::from_str::<StreamFrame>(frame.to_text().unwrap()).unwrap() {
            StreamFrame::Changed { .. } => {}
            other => heard.push(other),
        }
    }
    assert!(heard.contains(&StreamFrame::Viewing {
        conversation_id: c.id,
        who: vec![Presence {
            agent_id: h.owner.id,
            name: h.owner.name.clone()
        }],
    }));
    assert!(heard.contains(&StreamFrame::Typing {
        conversation_id: c.id,
        who: Presence {
            agent_id: h.owner.id,
            name: h.owner.name.clone()
        },
    }));
    // Paula (own-only) hears nothing of it.
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(500), async {
        while let Some(Ok(frame)) = paula_ws.next().await {
            if !matches!(
                serde_json::from_str::<StreamFrame>(frame.to_text().unwrap()).unwrap(),
                StreamFrame::Changed { .. }
            ) {
                return frame;
            }
        }
        futures_util::future::pending().await
    })
    .await;
    assert!(
        quiet.is_err(),
        "no presence leaks to an agent who may not see the conversation"
    );
    // Closing the conversation's stream leaves nobody viewing.
    owner_ws.close(None).await.unwrap();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), tiago_ws.next())
            .await
            .expect("a frame")
            .unwrap()
            .unwrap();
        if let StreamFrame::Viewing { who, .. } =
            serde_json::from_str::<StreamFrame>(frame.to_text().unwrap()).unwrap()
        {
            assert!(who.is_empty());
            break;
        }
    }
}

#[tokio::test]
async fn test_snoozed_conversation_wakes_at_its_time_or_when_the_contact_writes() {
    let h = harness().await;
    let m = h.customer_writes("5511981810000", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let r = h
        .ops(
            &owner,
            vec![Action::Snooze {
                conversation_id: c.id,
                until: T0 + 60_000,
            }],
        )
        .await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }));
    assert_eq!(
        h.conversation_of(&owner, m).await.state,
        ConversationState::Snoozed
    );
    h.advance(61_000);
    let mut woke = false;
    for _ in 0..40 {
        if h.conversation_of(&owner, m).await.state == ConversationState::Open {
            woke = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(woke, "the snooze timer opened it again");
    h.ops(
        &owner,
        vec![Action::Snooze {
            conversation_id: c.id,
            until: T0 + 10 * 60_000,
        }],
    )
    .await;
    let m2 = h.customer_writes("5511981810000", "Alô?").await;
    assert_eq!(
        h.conversation_of(&owner, m2).await.state,
        ConversationState::Open,
        "a new message wakes it"
    );
    h.ops(
        &owner,
        vec![Action::Snooze {
            conversation_id: c.id,
            until: T0 + 10 * 60_000,
        }],
    )
    .await;
    let r = h
        .ops(
            &owner,
            vec![Action::Unsnooze {
                conversation_id: c.id,
            }],
        )
        .await;
    assert!(
        matches!(r[0].outcome, OpOutcome::Applied { .. }),
        "it can be unsnoozed earlier"
    );
    let r = h
        .ops(
            &owner,
            vec![Action::Unsnooze {
                conversation_id: c.id,
            }],
        )
        .await;
    assert!(matches!(
        &r[0].outcome,
        OpOutcome::Refused {
            code: ErrorCode::WrongState,
            ..
        }
    ));
}

#[tokio::test]
async fn test_archive_restore_and_delete_only_from_archived() {
    let h = harness().await;
    let m = h.customer_writes("5511982820000", "Spam?").await;
    let owner = h.login(&h.owner).await;
    let folder = |mirror: &Mirror| match mirror.entities.get(&EntityRef::Message(m)) {
        Some(Entity::Message(x)) => Some(Folder::of(x)),
        _ => None,
    };
    let r = h
        .ops(
            &owner,
            vec![Action::DeleteArchived {
                message_ids: vec![m],
            }],
        )
        .await;
    assert!(
        matches!(
            &r[0].outcome,
            OpOutcome::Refused {
                code: ErrorCode::WrongState,
                ..
            }
        ),
        "only from Archived"
    );
    h.ops(
        &owner,
        vec![Action::Archive {
            message_ids: vec![m],
        }],
    )
    .await;
    assert_eq!(
        folder(&h.synced(&owner, 1000).await),
        Some(Folder::Archived)
    );
    h.ops(
        &owner,
        vec![Action::Restore {
            message_ids: vec![m],
        }],
    )
    .await;
    assert_eq!(
        folder(&h.synced(&owner, 1000).await),
        Some(Folder::Inbox),
        "restored to where it came from"
    );
    h.ops(
        &owner,
        vec![
            Action::Archive {
                message_ids: vec![m],
            },
            Action::DeleteArchived {
                message_ids: vec![m],
            },
        ],
    )
    .await;
    assert_eq!(folder(&h.synced(&owner, 1000).await), None);
}

#[tokio::test]
async fn test_mark_unanswered_and_answered_with_the_timeline() {
    let h = harness().await;
    let m = h.customer_writes("5511983830000", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    assert!(c.unanswered);
    h.ops(
        &owner,
        vec![Action::SetUnanswered {
            conversation_id: c.id,
            unanswered: false,
        }],
    )
    .await;
    assert!(!h.conversation_of(&owner, m).await.unanswered);
    h.ops(
        &owner,
        vec![Action::SetUnanswered {
            conversation_id: c.id,
            unanswered: true,
        }],
    )
    .await;
    assert!(h.conversation_of(&owner, m).await.unanswered);
    let mirror = h.synced(&owner, 1000).await;
    let kinds: Vec<&EventKind> = mirror
        .entities
        .values()
        .filter_map(|e| match e {
            Entity::Event(ev) if ev.conversation_id == c.id => Some(&ev.kind),
            _ => None,
        })
        .collect();
    assert!(
        kinds.contains(&&EventKind::MarkedAnswered)
            && kinds.contains(&&EventKind::MarkedUnanswered)
    );
}

#[tokio::test]
async fn test_custom_views_are_private_unless_shared_and_only_their_creator_changes_them() {
    let h = harness().await;
    let tiago = h.login(&h.team_agent).await;
    let paula = h.login(&h.own_only).await;
    let view = CustomView {
        id: ViewId::new(),
        name: "VIPs de SP".into(),
        owner: h.team_agent.id,
        sharing: Sharing::default(),
        filter: Condition::Tag {
            tag: "vip".into(),
            present: true,
        },
    };
    let r = h
        .ops(&tiago, vec![Action::SaveView { view: view.clone() }])
        .await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }));
    let views = |m: &Mirror| {
        m.entities
            .values()
            .filter(|e| matches!(e, Entity::View(_)))
            .count()
    };
    assert_eq!(
        views(&h.synced(&paula, 1000).await),
        0,
        "private to its creator"
    );
    let mut shared = view.clone();
    shared.sharing.agents = vec![h.own_only.id];
    h.ops(
        &tiago,
        vec![Action::SaveView {
            view: shared.clone(),
        }],
    )
    .await;
    assert_eq!(views(&h.synced(&paula, 1000).await), 1, "shared with Paula");
    let mut hijack = shared.clone();
    hijack.name = "Meus".into();
    hijack.owner = h.own_only.id;
    let r = h.ops(&paula, vec![Action::SaveView { view: hijack }]).await;
    assert!(
        matches!(
            &r[0].outcome,
            OpOutcome::Refused {
                code: ErrorCode::NotAllowed,
                ..
            }
        ),
        "{r:?}"
    );
    let r = h
        .ops(&paula, vec![Action::DeleteView { view_id: view.id }])
        .await;
    assert!(matches!(
        &r[0].outcome,
        OpOutcome::Refused {
            code: ErrorCode::NotAllowed,
            ..
        }
    ));
}

// ---- Managing the team ----

#[tokio::test]
async fn test_admins_add_teams_and_agents_and_an_agents_feed_follows_their_teams() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let tiago = h.login(&h.team_agent).await;
    let r = h
        .http
        .post(h.url("/v1/admin/teams"))
        .bearer_auth(&tiago)
        .json(&json!({ "name": "Pirata" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "agents do not manage the team");
    let team: Team = h
        .http
        .post(h.url("/v1/admin/teams"))
        .bearer_auth(&owner)
        .json(&json!({ "name": "Logística" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = json!({ "name": "Nina Nova", "email": "nina@outpost.example", "password": "uma-senha-segura", "role": "agent", "visibility": "team", "teams": [team.id] });
    let r = h
        .http
        .post(h.url("/v1/admin/agents"))
        .bearer_auth(&owner)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let nina: Agent = r.json().await.unwrap();
    let r = h
        .http
        .post(h.url("/v1/admin/agents"))
        .bearer_auth(&owner)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "one account per email");
    let weak = json!({ "name": "X", "email": "x@outpost.example", "password": "curta", "role": "agent", "visibility": "team" });
    assert_eq!(
        h.http
            .post(h.url("/v1/admin/agents"))
            .bearer_auth(&owner)
            .json(&weak)
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    let nina_token = h.login_as("nina@outpost.example", "uma-senha-segura").await;

    // A conversation of Logística, and one of Suporte.
    let m1 = h
        .customer_writes("5511991910000", "Cadê minha entrega?")
        .await;
    let m2 = h
        .customer_writes("5511992920000", "Preciso de suporte")
        .await;
    let (c1, c2) = (
        h.conversation_of(&owner, m1).await,
        h.conversation_of(&owner, m2).await,
    );
    h.ops(
        &owner,
        vec![
            Action::SetTeam {
                conversation_id: c1.id,
                team: Some(team.id),
            },
            Action::SetTeam {
                conversation_id: c2.id,
                team: Some(h.team),
            },
        ],
    )
    .await;
    let mut mirror = h.synced(&nina_token, 1000).await;
    let held = |m: &Mirror| m.conversations().iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(held(&mirror), vec![c1.id]);
    // Nina moves to Suporte: she loses Logística's conversation and gains Suporte's, with history.
    let r = h
        .http
        .patch(h.url(&format!("/v1/admin/agents/{}", nina.id)))
        .bearer_auth(&owner)
        .json(&json!({ "teams": [h.team] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    mirror.pull(&h, &nina_token, 1000).await;
    assert_eq!(held(&mirror), vec![c2.id]);
    assert_eq!(mirror.messages_of(c2.id).len(), 1);
    assert!(mirror.messages_of(c1.id).is_empty());
    // Only the owner promotes.
    let admin_body = json!({ "name": "Ari", "email": "ari@outpost.example", "password": "senha-de-admin-1", "role": "admin", "visibility": "unrestricted" });
    let admin: Agent = h
        .http
        .post(h.url("/v1/admin/agents"))
        .bearer_auth(&owner)
        .json(&admin_body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ari = h.login_as("ari@outpost.example", "senha-de-admin-1").await;
    let r = h
        .http
        .patch(h.url(&format!("/v1/admin/agents/{}", nina.id)))
        .bearer_auth(&ari)
        .json(&json!({ "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(admin.role, Role::Admin);
}

#[tokio::test]
async fn test_contact_card_edits_keep_fields_tags_and_the_private_comment() {
    let h = harness().await;
    let m = h.customer_writes("5511993930000", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let edit = ContactEdit {
        name: Some("Júlia Araújo".into()),
        email: Some("julia@mail.example".into()),
        tags: Some(vec!["vip".into(), " atacado ".into(), "vip".into()]),
        fields: Some([("plano".to_owned(), "pro".to_owned())].into()),
        private_comment: Some("Prefere áudio.".into()),
        ..Default::default()
    };
    let r = h
        .ops(
            &owner,
            vec![Action::EditContact {
                contact_id: c.contact_id,
                edit,
            }],
        )
        .await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }), "{r:?}");
    let mirror = h.synced(&owner, 1000).await;
    let Some(Entity::Contact(k)) = mirror.entities.get(&EntityRef::Contact(c.contact_id)) else {
        panic!("contact")
    };
    assert_eq!(k.name, "Júlia Araújo");
    assert_eq!(k.tags, vec!["atacado", "vip"]);
    assert_eq!(k.fields.get("plano").map(String::as_str), Some("pro"));
    assert_eq!(k.private_comment, "Prefere áudio.");
    assert_eq!(k.phone, "5511993930000", "what was not edited stays");
    let bad = ContactEdit {
        phone: Some("(11) 9".into()),
        ..Default::default()
    };
    let r = h
        .ops(
            &owner,
            vec![Action::EditContact {
                contact_id: c.contact_id,
                edit: bad,
            }],
        )
        .await;
    assert!(
        matches!(
            &r[0].outcome,
            OpOutcome::Refused {
                code: ErrorCode::InvalidInput,
                ..
            }
        ),
        "{r:?}"
    );
}

// ---- Attachments ----

fn with_file(conversation_id: ConversationId, id: uuid::Uuid, size: u64) -> Action {
    Action::SendMessage {
        message_id: MessageId::new(),
        conversation_id,
        text: String::new(),
        attachments: vec![Attachment {
            kind: AttachmentKind::Image,
            name: "comprovante.png".into(),
            mime: "image/png".into(),
            size,
            url: Attachment::upload_path(id),
        }],
        template: None,
        reply_to: None,
    }
}

fn refusal(r: &[OpResult]) -> String {
    match &r[0].outcome {
        OpOutcome::Refused { reason, .. } => reason.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn test_attachments_are_uploaded_once_then_sent_and_seen_only_by_who_sees_the_conversation() {
    let h = harness().await;
    let m = h
        .customer_writes("5511956565656", "Mando o comprovante?")
        .await;
    let owner = h.login(&h.owner).await;
    let other = h.login(&h.other).await;
    let team_agent = h.login(&h.team_agent).await;
    let c = h.conversation_of(&owner, m).await;

    // 5 MiB: above the 4 MiB limit of JSON bodies, well under the 100 MiB of a file.
    let png: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let id = uuid::Uuid::now_v7();
    assert_eq!(h.put_file(&other, id, "image/png", png.clone()).await, 201);
    assert_eq!(
        h.put_file(&other, id, "image/png", png.clone()).await,
        200,
        "a retried upload is a no-op"
    );
    assert_eq!(
        h.put_file(&other, id, "image/png", vec![1, 2, 3]).await,
        409,
        "another file under the id"
    );
    assert_eq!(
        h.put_file(&team_agent, id, "image/png", png.clone()).await,
        409,
        "another agent under the id"
    );
    let no_type = h
        .http
        .put(h.url(&format!("/v1/attachments/{}", uuid::Uuid::now_v7())))
        .bearer_auth(&other)
        .body(vec![1u8])
        .send()
        .await
        .unwrap();
    assert_eq!(no_type.status(), 415);
    let anonymous = h
        .http
        .put(h.url(&format!("/v1/attachments/{}", uuid::Uuid::now_v7())))
        .header("content-type", "image/png")
        .body(vec![1u8])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let too_big = vec![0u8; (limits::MAX_ATTACHMENT_BYTES + 1) as usize];
    assert_eq!(
        h.put_file(&other, uuid::Uuid::now_v7(), "video/mp4", too_big)
            .await,
        413
    );
    assert_eq!(h.get_file(&other, uuid::Uuid::now_v7()).await.status(), 404);

    // Before a message takes it, only the uploader can fetch it.
    let r = h.get_file(&other, id).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["content-disposition"], "attachment");
    assert_eq!(r.bytes().await.unwrap().as_ref(), png.as_slice());
    assert_eq!(
        h.get_file(&owner, id).await.status(),
        404,
        "nobody else, not even the owner"
    );

    // A message may only carry the sender's own, whole, unclaimed uploads.
    let size = png.len() as u64;
    let never = uuid::Uuid::now_v7();
    let r = h.ops(&other, vec![with_file(c.id, never, 10)]).await;
    assert!(refusal(&r).contains("never reached the server"), "{r:?}");
    let r = h.ops(&owner, vec![with_file(c.id, id, size)]).await;
    assert!(
        refusal(&r).contains("never reached the server"),
        "someone else's upload: {r:?}"
    );
    let r = h.ops(&other, vec![with_file(c.id, id, size - 1)]).await;
    assert!(refusal(&r).contains("bytes instead of"), "{r:?}");
    let r = h.ops(&other, vec![with_file(c.id, id, size)]).await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }), "{r:?}");
    let r = h.ops(&other, vec![with_file(c.id, id, size)]).await;
    assert!(
        refusal(&r).contains("never reached the server"),
        "one upload, one message: {r:?}"
    );

    let mirror = h.synced(&owner, 1000).await;
    let sent: Vec<&Message> = mirror
        .entities
        .values()
        .filter_map(|e| match e {
            Entity::Message(m) if m.conversation_id == c.id && !m.attachments.is_empty() => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].attachments[0].url, Attachment::upload_path(id));

    // Now whoever sees the conversation may fetch it; who may not, may not.
    assert_eq!(h.get_file(&owner, id).await.status(), 200);
    let r = h
        .ops(
            &owner,
            vec![Action::SetTeam {
                conversation_id: c.id,
                team: Some(h.other_team),
            }],
        )
        .await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }));
    assert_eq!(h.get_file(&team_agent, id).await.status(), 404);
    assert_eq!(h.get_file(&owner, id).await.status(), 200);
}

#[tokio::test]
async fn test_customers_files_come_through_their_channel_and_are_seen_only_by_who_sees_the_conversation()
 {
    let h = harness().await;
    let storage = h.storage();
    let telegram = add_channel(
        &*storage,
        ChannelKind::Telegram,
        "Telegram",
        "outro-segredo",
    )
    .unwrap();
    let owner = h.login(&h.owner).await;
    let team_agent = h.login(&h.team_agent).await;
    let file_url = |channel: uuid::Uuid, file: uuid::Uuid| {
        h.url(&format!("/v1/channels/{channel}/files/{file}"))
    };
    let put = |channel: uuid::Uuid,
               secret: &'static str,
               file: uuid::Uuid,
               mime: &'static str,
               body: Vec<u8>| {
        let r = h
            .http
            .put(file_url(channel, file))
            .header("x-outpost-channel-secret", secret)
            .header("content-type", mime)
            .body(body);
        async move { r.send().await.unwrap().status().as_u16() }
    };
    let inbound = |channel: uuid::Uuid, secret: &'static str, body: Value| {
        let r = h
            .http
            .post(h.url(&format!("/v1/channels/{channel}/inbound")))
            .header("x-outpost-channel-secret", secret)
            .json(&body);
        async move {
            let r = r.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or_default(),
            )
        }
    };

    // The channel uploads the photo first: only with its secret, typed, not empty, once per id.
    // A JPEG's signature, then bytes: the server reads the type from them.
    let photo: Vec<u8> = [0xFF, 0xD8, 0xFF, 0xE0]
        .into_iter()
        .chain((4..300_000u32).map(|i| (i % 253) as u8))
        .collect();
    let pdf = b"%PDF-1.4 boleto".to_vec();
    let (p1, p2) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    assert_eq!(
        put(h.channel, "errado", p1, "image/jpeg", photo.clone()).await,
        401
    );
    assert_eq!(
        put(
            uuid::Uuid::now_v7(),
            SECRET,
            p1,
            "image/jpeg",
            photo.clone()
        )
        .await,
        404
    );
    assert_eq!(
        put(h.channel, SECRET, p1, "not a type", photo.clone()).await,
        415
    );
    assert_eq!(
        put(h.channel, SECRET, p1, "image/jpeg", Vec::new()).await,
        400
    );
    assert_eq!(
        put(h.channel, SECRET, p1, "image/jpeg", photo.clone()).await,
        201
    );
    assert_eq!(
        put(h.channel, SECRET, p1, "image/jpeg", photo.clone()).await,
        200,
        "a retry"
    );
    assert_eq!(
        put(telegram, "outro-segredo", p1, "image/jpeg", photo.clone()).await,
        409,
        "another channel under the id"
    );
    assert_eq!(
        put(h.channel, SECRET, p2, "Application/PDF; q=1", pdf.clone()).await,
        201
    );
    assert_eq!(
        h.get_file(&owner, p1).await.status(),
        404,
        "no message has it yet"
    );

    // Another channel cannot attach it; a message needs text or a file.
    let (status, body) = inbound(
        telegram,
        "outro-segredo",
        json!({ "from": "ana_tg", "text": "", "attachments": [{ "file": p1 }] }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not uploaded by this channel"),
        "{body}"
    );
    let (status, _) = inbound(
        h.channel,
        SECRET,
        json!({ "from": "5511944443333", "text": " " }),
    )
    .await;
    assert_eq!(status, 422);

    // The photo alone, and the boleto with a folder in its name.
    let (status, body) = inbound(
        h.channel,
        SECRET,
        json!({ "from": "5511944443333", "name": "Ana", "text": "",
                "attachments": [{ "file": p1 }, { "file": p2, "name": "C:\\Users\\ana\\boleto março.pdf" }] }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let m: MessageId = serde_json::from_value(body["message_id"].clone()).unwrap();
    let (status, body) = inbound(
        h.channel,
        SECRET,
        json!({ "from": "5511944443333", "text": "de novo", "attachments": [{ "file": p1 }] }),
    )
    .await;
    assert_eq!(status, 422, "one file, one message: {body}");

    let mirror = h.synced(&owner, 1000).await;
    let Some(Entity::Message(msg)) = mirror.entities.get(&EntityRef::Message(m)) else {
        panic!("the message is in the feed")
    };
    assert_eq!(msg.direction, Direction::Incoming);
    let files: Vec<(AttachmentKind, &str, &str, u64)> = msg
        .attachments
        .iter()
        .map(|a| (a.kind, a.name.as_str(), a.mime.as_str(), a.size))
        .collect();
    assert_eq!(
        files,
        vec![
            (
                AttachmentKind::Image,
                "image.jpeg",
                "image/jpeg",
                photo.len() as u64
            ),
            (
                AttachmentKind::Document,
                "boleto março.pdf",
                "application/pdf",
                pdf.len() as u64
            ),
        ]
    );
    let Some(Entity::Conversation(c)) = mirror
        .entities
        .get(&EntityRef::Conversation(msg.conversation_id))
    else {
        panic!("its conversation is in the feed")
    };
    assert_eq!(c.last_message_preview, "📎 image.jpeg, boleto março.pdf");
    assert_eq!(c.unread_count, 1);

    // Whoever sees the conversation fetches the files, byte for byte; nobody else.
    let r = h.get_file(&owner, p1).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.bytes().await.unwrap().as_ref(), photo.as_slice());
    assert_eq!(
        h.get_file(&owner, p2).await.bytes().await.unwrap().as_ref(),
        pdf.as_slice()
    );
    assert_eq!(
        h.get_file(&team_agent, p1).await.status(),
        404,
        "unassigned, no team: not hers"
    );
    let r = h
        .ops(
            &owner,
            vec![Action::SetTeam {
                conversation_id: c.id,
                team: Some(h.team),
            }],
        )
        .await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }), "{r:?}");
    assert_eq!(
        h.get_file(&team_agent, p1).await.status(),
        200,
        "now her team's"
    );
}

#[tokio::test]
async fn test_notification_settings_are_kept_per_agent_and_reach_only_their_agent() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let tiago = h.login(&h.team_agent).await;
    let paula = h.login(&h.own_only).await;
    let mut settings = NotifySettings::defaults(h.team_agent.id);
    settings.enabled = vec![NotifyCategory::MessageMine];
    settings.quiet_hours = Some(QuietHours {
        start: 22 * 60,
        end: 7 * 60,
    });
    let r = h
        .ops(
            &tiago,
            vec![Action::SaveNotifySettings {
                settings: settings.clone(),
            }],
        )
        .await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }), "{r:?}");
    let settings_in = |m: &Mirror| -> Vec<NotifySettings> {
        m.entities
            .values()
            .filter_map(|e| match e {
                Entity::Settings(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        settings_in(&h.synced(&tiago, 1000).await),
        vec![settings.clone()]
    );
    // Not in anyone else's feed, the owner's included (who sees every conversation).
    assert!(settings_in(&h.synced(&paula, 1000).await).is_empty());
    assert!(settings_in(&h.synced(&owner, 1000).await).is_empty());
    // Nobody chooses another agent's notifications, an owner neither.
    for who in [&paula, &owner] {
        let r = h
            .ops(
                who,
                vec![Action::SaveNotifySettings {
                    settings: NotifySettings::defaults(h.team_agent.id),
                }],
            )
            .await;
        assert!(
            matches!(
                &r[0].outcome,
                OpOutcome::Refused {
                    code: ErrorCode::NotAllowed,
                    ..
                }
            ),
            "{r:?}"
        );
    }
    // Times that are not times of day are refused with the field named.
    let mut bad = settings.clone();
    bad.quiet_hours = Some(QuietHours {
        start: 25 * 60,
        end: 0,
    });
    let r = h
        .ops(&tiago, vec![Action::SaveNotifySettings { settings: bad }])
        .await;
    assert!(
        matches!(&r[0].outcome, OpOutcome::Refused { reason, .. } if reason.contains("quiet hours")),
        "{r:?}"
    );
    assert_eq!(settings_in(&h.synced(&tiago, 1000).await), vec![settings]);
}
