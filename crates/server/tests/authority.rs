//! The server is the authority: no entity is taken over by reusing its id, op ids are their
//! agent's own, and the product's rules hold on every path (send, schedule, edit, retry, write
//! first, the timers). Each scenario runs against the real server over loopback.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use outpost_protocol::*;
use outpost_server::storage::{Storage, Tx};

fn stored(h: &Harness, r: EntityRef) -> Option<Entity> {
    h.storage().get(r).unwrap()
}

fn write_first(
    conversation_id: ConversationId,
    contact_id: ContactId,
    address: &str,
    text: &str,
) -> Action {
    Action::WriteFirst {
        conversation_id,
        contact_id,
        message_id: MessageId::new(),
        channel: ChannelKind::Whatsapp,
        address: address.into(),
        text: text.into(),
        template: None,
    }
}

/// An outgoing message of `agent` in `c`, as stored by the server.
fn outgoing(agent: &Agent, id: MessageId, c: &Conversation, text: &str) -> Message {
    outpost_protocol::test_data::outgoing(agent, id, c, text, T0)
}

/// The answer to a create on an id in use says nothing of what holds it.
const TAKEN: &str = "That id is already in use: nothing was changed.";

// ---- 1. No entity is taken over by reusing its id ----

#[tokio::test]
async fn test_an_own_only_agent_cannot_take_back_a_conversation_they_lost_by_writing_first_with_its_id()
 {
    let h = harness().await;
    let m = h.customer_writes("5511911110001", "Oi, sou a Joana").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let paula = h.login(&h.own_only).await;
    let assign = |to: AgentId| Action::Assign {
        conversation_id: c.id,
        assignee: Some(to),
    };
    applied(&h.ops(&owner, vec![assign(h.own_only.id)]).await);
    let mut mirror = h.synced(&paula, 1000).await;
    assert_eq!(mirror.conversations().len(), 1, "Paula saw it once");
    applied(&h.ops(&owner, vec![assign(h.other.id)]).await);
    mirror.pull(&h, &paula, 1000).await;
    assert!(mirror.conversations().is_empty(), "and lost it");

    // Paula reuses the id she still knows, to a new number and to the contact's own number.
    for address in ["5511911119999", "5511911110001"] {
        let r = h
            .ops(
                &paula,
                vec![write_first(
                    c.id,
                    ContactId::new(),
                    address,
                    "É minha agora",
                )],
            )
            .await;
        assert_eq!(
            refused(&r),
            (ErrorCode::Conflict, TAKEN.into()),
            "{address}"
        );
    }
    let Some(Entity::Conversation(now)) = stored(&h, EntityRef::Conversation(c.id)) else {
        panic!("the conversation is still there")
    };
    assert_eq!(now.assignee, Some(h.other.id), "still Otávio's");
    // What the customer writes next never reaches Paula's feed.
    let later = h.customer_writes("5511911110001", "Segredo novo").await;
    mirror.pull(&h, &paula, 1000).await;
    assert!(
        !mirror.entities.contains_key(&EntityRef::Message(later)),
        "a later message reached the agent who lost sight"
    );
    assert!(mirror.conversations().is_empty());
}

#[tokio::test]
async fn test_sending_with_the_id_of_a_message_elsewhere_neither_moves_nor_overwrites_it() {
    let h = harness().await;
    let secret = h.customer_writes("5511911110002", "Meu CPF é 123").await;
    let owner = h.login(&h.owner).await;
    let theirs = h.conversation_of(&owner, secret).await;
    applied(
        &h.ops(
            &owner,
            vec![Action::Assign {
                conversation_id: theirs.id,
                assignee: Some(h.other.id),
            }],
        )
        .await,
    );
    // Paula's own conversation, and a send into it that names the other message's id.
    let paula = h.login(&h.own_only).await;
    let mine = ConversationId::new();
    applied(
        &h.ops(
            &paula,
            vec![Action::WriteFirst {
                conversation_id: mine,
                contact_id: ContactId::new(),
                message_id: MessageId::new(),
                channel: ChannelKind::Telegram,
                address: "paula_cliente".into(),
                text: "Olá!".into(),
                template: None,
            }],
        )
        .await,
    );
    for (who, token) in [("Paula", &paula), ("the owner", &owner)] {
        let r = h
            .ops(
                token,
                vec![Action::SendMessage {
                    message_id: secret,
                    conversation_id: mine,
                    text: "sobrescrito".into(),
                    attachments: vec![],
                    template: None,
                    reply_to: None,
                }],
            )
            .await;
        assert_eq!(refused(&r), (ErrorCode::Conflict, TAKEN.into()), "{who}");
    }
    let Some(Entity::Message(after)) = stored(&h, EntityRef::Message(secret)) else {
        panic!("the message is still there")
    };
    assert_eq!(after.conversation_id, theirs.id);
    assert_eq!(after.text, "Meu CPF é 123");
    assert_eq!(after.direction, Direction::Incoming);
}

#[tokio::test]
async fn test_writing_first_with_another_agents_contact_id_leaves_the_contact_alone() {
    let h = harness().await;
    let m = h.customer_writes("5511911110003", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    applied(
        &h.ops(
            &owner,
            vec![
                Action::Assign {
                    conversation_id: c.id,
                    assignee: Some(h.other.id),
                },
                Action::EditContact {
                    contact_id: c.contact_id,
                    edit: ContactEdit {
                        tags: Some(vec!["vip".into()]),
                        private_comment: Some("Paga sempre em dia".into()),
                        ..Default::default()
                    },
                },
            ],
        )
        .await,
    );
    let Some(Entity::Contact(before)) = stored(&h, EntityRef::Contact(c.contact_id)) else {
        panic!("contact stored")
    };
    let paula = h.login(&h.own_only).await;
    let r = h
        .ops(
            &paula,
            vec![write_first(
                ConversationId::new(),
                c.contact_id,
                "5511911118888",
                "Oi",
            )],
        )
        .await;
    assert_eq!(refused(&r), (ErrorCode::Conflict, TAKEN.into()));
    assert_eq!(
        stored(&h, EntityRef::Contact(c.contact_id)),
        Some(Entity::Contact(before)),
        "name, identities, tags and comment unchanged"
    );
    let mirror = h.synced(&paula, 1000).await;
    assert!(mirror.conversations().is_empty());
    assert!(
        !mirror
            .entities
            .contains_key(&EntityRef::Contact(c.contact_id))
    );
}

#[tokio::test]
async fn test_saving_a_view_under_another_agents_private_view_id_is_refused() {
    let h = harness().await;
    let otavio = h.login(&h.other).await;
    let view = CustomView {
        id: ViewId::new(),
        name: "Meus VIPs".into(),
        owner: h.other.id,
        sharing: Sharing::default(),
        filter: Condition::Tag {
            tag: "vip".into(),
            present: true,
        },
    };
    applied(
        &h.ops(&otavio, vec![Action::SaveView { view: view.clone() }])
            .await,
    );
    let tiago = h.login(&h.team_agent).await;
    let mut taken = view.clone();
    taken.owner = h.team_agent.id;
    taken.name = "Agora é meu".into();
    let r = h.ops(&tiago, vec![Action::SaveView { view: taken }]).await;
    assert_eq!(refused(&r), (ErrorCode::Conflict, TAKEN.into()));
    let r = h
        .ops(&tiago, vec![Action::DeleteView { view_id: view.id }])
        .await;
    assert_eq!(refused(&r).0, ErrorCode::NotFound);
    assert_eq!(
        stored(&h, EntityRef::View(view.id)),
        Some(Entity::View(view))
    );
}

#[tokio::test]
async fn test_an_op_id_is_its_agents_own() {
    let h = harness().await;
    let m = h.customer_writes("5511911110004", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    // Paula's op is refused: she may not see the conversation.
    let paula = h.login(&h.own_only).await;
    let op = Op {
        op_id: OpId::new(),
        at: T0,
        action: Action::Close {
            conversation_id: c.id,
            note: String::new(),
            category: String::new(),
        },
    };
    let first = h.send_ops(&paula, std::slice::from_ref(&op)).await;
    assert_eq!(refused(&first).0, ErrorCode::NotFound);
    // The owner posts the same op id: judged as the owner's, not handed Paula's answer.
    let second = h.send_ops(&owner, std::slice::from_ref(&op)).await;
    applied(&second);
    let closed = h.conversation_of(&owner, m).await;
    assert_eq!(closed.state, ConversationState::Closed);
    // And each agent's retry still gets their own first answer back.
    assert_eq!(h.send_ops(&paula, std::slice::from_ref(&op)).await, first);
    assert_eq!(h.send_ops(&owner, std::slice::from_ref(&op)).await, second);
}

#[tokio::test]
async fn test_an_op_id_chosen_to_derive_an_existing_events_id_takes_nothing_over() {
    let h = harness().await;
    let m = h.customer_writes("5511911110005", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    applied(
        &h.ops(
            &owner,
            vec![Action::Assign {
                conversation_id: c.id,
                assignee: Some(h.other.id),
            }],
        )
        .await,
    );
    let mirror = h.synced(&owner, 1000).await;
    let target = mirror
        .entities
        .values()
        .find_map(|e| match e {
            Entity::Event(ev) if matches!(ev.kind, EventKind::Assigned { .. }) => Some(ev.clone()),
            _ => None,
        })
        .expect("the assignment is in the timeline");
    // Tiago's own conversation; an op whose derived first event id is the target's.
    let tiago = h.login(&h.team_agent).await;
    let mine = ConversationId::new();
    applied(
        &h.ops(
            &tiago,
            vec![Action::WriteFirst {
                conversation_id: mine,
                contact_id: ContactId::new(),
                message_id: MessageId::new(),
                channel: ChannelKind::Telegram,
                address: "tiago_cliente".into(),
                text: "Olá!".into(),
                template: None,
            }],
        )
        .await,
    );
    let agent_part = h.team_agent.id.0.as_u128().rotate_left(64);
    let op = Op {
        op_id: OpId(uuid::Uuid::from_u128(
            target.id.0.as_u128() ^ agent_part ^ 1,
        )),
        at: T0,
        action: Action::SetUnanswered {
            conversation_id: mine,
            unanswered: true,
        },
    };
    let r = h.send_ops(&tiago, &[op]).await;
    assert_eq!(refused(&r), (ErrorCode::Conflict, TAKEN.into()));
    assert_eq!(
        stored(&h, EntityRef::Event(target.id)),
        Some(Entity::Event(target))
    );
}

// ---- 5. Rules that leak on side paths ----

fn long_text(chars: usize) -> String {
    "a".repeat(chars)
}

#[tokio::test]
async fn test_the_channels_text_limit_holds_on_every_path() {
    let h = harness().await;
    let m = h.customer_writes("5511911110006", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let too_long = long_text(4_097);
    let limit = |r: &[OpResult]| {
        let (code, reason) = refused(r);
        assert_eq!(code, ErrorCode::InvalidInput, "{reason}");
        assert!(reason.contains("4096"), "{reason}");
    };
    // Send.
    limit(&h.ops(&owner, vec![send(c.id, &too_long)]).await);
    // Schedule.
    let schedule = |text: &str, id: MessageId| Action::ScheduleMessage {
        message_id: id,
        conversation_id: c.id,
        text: text.into(),
        attachments: vec![],
        template: None,
        send_at: T0 + 60 * 60 * 1000,
    };
    limit(
        &h.ops(&owner, vec![schedule(&too_long, MessageId::new())])
            .await,
    );
    // Edit a scheduled message.
    let scheduled = MessageId::new();
    applied(&h.ops(&owner, vec![schedule("Lembrete", scheduled)]).await);
    limit(
        &h.ops(
            &owner,
            vec![Action::EditScheduled {
                message_id: scheduled,
                text: too_long.clone(),
                send_at: T0 + 2 * 60 * 60 * 1000,
            }],
        )
        .await,
    );
    // Retry a failed one.
    let failed = MessageId::new();
    h.storage()
        .write(|tx| {
            let mut f = outgoing(&h.owner, failed, &c, "falhou");
            f.status = MessageStatus::Failed;
            f.failure = Some("erro do provedor".into());
            tx.put(&Entity::Message(f))
        })
        .unwrap();
    limit(
        &h.ops(
            &owner,
            vec![Action::RetryMessage {
                message_id: failed,
                text: too_long.clone(),
                template: None,
            }],
        )
        .await,
    );
    // Write first.
    limit(
        &h.ops(
            &owner,
            vec![write_first(
                ConversationId::new(),
                ContactId::new(),
                "5511911117777",
                &too_long,
            )],
        )
        .await,
    );
    // At the limit, it goes.
    applied(&h.ops(&owner, vec![send(c.id, &long_text(4_096))]).await);
}

#[tokio::test]
async fn test_scheduling_free_text_past_the_window_is_refused_and_judged_again_when_due() {
    let h = harness().await;
    let m = h.customer_writes("5511911110007", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let hour = 60 * 60 * 1000;
    let schedule =
        |id: MessageId, send_at: Millis, template: Option<TemplateRef>| Action::ScheduleMessage {
            message_id: id,
            conversation_id: c.id,
            text: "Bom dia!".into(),
            attachments: vec![],
            template,
            send_at,
        };
    // Past the window: refused at scheduling, whatever the agent's clock says now.
    let r = h
        .ops(
            &owner,
            vec![schedule(MessageId::new(), T0 + 30 * hour, None)],
        )
        .await;
    assert_eq!(refused(&r).0, ErrorCode::WindowClosed);
    // A template may go then.
    let template = TemplateRef {
        name: "lembrete".into(),
        language: "pt_BR".into(),
        params: vec![],
    };
    applied(
        &h.ops(
            &owner,
            vec![schedule(MessageId::new(), T0 + 30 * hour, Some(template))],
        )
        .await,
    );
    // Inside the window: accepted; moved past it by an edit: refused.
    let inside = MessageId::new();
    applied(
        &h.ops(&owner, vec![schedule(inside, T0 + 20 * hour, None)])
            .await,
    );
    let r = h
        .ops(
            &owner,
            vec![Action::EditScheduled {
                message_id: inside,
                text: "Bom dia!".into(),
                send_at: T0 + 26 * hour,
            }],
        )
        .await;
    assert_eq!(refused(&r).0, ErrorCode::WindowClosed);

    // A message that is due after the window closed (scheduled by an older server) fails when
    // due, with the reason.
    let old = MessageId::new();
    h.storage()
        .write(|tx| {
            let mut s = outgoing(&h.owner, old, &c, "Antigo");
            s.status = MessageStatus::Scheduled;
            s.history = vec![StatusStamp {
                status: MessageStatus::Scheduled,
                at: T0,
            }];
            s.send_at = Some(T0 + 25 * hour);
            tx.put(&Entity::Message(s))
        })
        .unwrap();
    // The one scheduled inside the window goes out when due.
    h.advance(20 * hour + 1);
    outpost_server::workspace::run_timers(&*h.storage(), T0 + 20 * hour + 1).unwrap();
    let Some(Entity::Message(sent)) = stored(&h, EntityRef::Message(inside)) else {
        panic!("stored")
    };
    assert_ne!(sent.status, MessageStatus::Scheduled);
    assert_ne!(sent.status, MessageStatus::Failed);
    h.advance(5 * hour);
    outpost_server::workspace::run_timers(&*h.storage(), T0 + 25 * hour + 1).unwrap();
    let Some(Entity::Message(due)) = stored(&h, EntityRef::Message(old)) else {
        panic!("stored")
    };
    assert_eq!(due.status, MessageStatus::Failed);
    assert!(
        due.failure
            .as_deref()
            .unwrap_or_default()
            .contains("24-hour window"),
        "{:?}",
        due.failure
    );
}

#[tokio::test]
async fn test_a_scheduled_message_going_out_answers_and_assigns_like_a_reply() {
    let h = harness().await;
    let m = h.customer_writes("5511911110008", "Preciso de ajuda").await;
    let tiago = h.login(&h.other).await;
    let c = h.conversation_of(&tiago, m).await;
    assert_eq!(c.assignee, None);
    assert!(c.unanswered);
    let id = MessageId::new();
    applied(
        &h.ops(
            &tiago,
            vec![Action::ScheduleMessage {
                message_id: id,
                conversation_id: c.id,
                text: "Já volto com a resposta".into(),
                attachments: vec![],
                template: None,
                send_at: T0 + 60_000,
            }],
        )
        .await,
    );
    let before = h.conversation_of(&tiago, m).await;
    assert_eq!(before.assignee, None, "scheduling alone assigns nothing");
    h.advance(60_001);
    outpost_server::workspace::run_timers(&*h.storage(), T0 + 60_001).unwrap();
    let after = h.conversation_of(&tiago, m).await;
    assert_eq!(after.assignee, Some(h.other.id), "the author has it now");
    assert!(!after.unanswered, "answered");
    assert_eq!(after.last_message_preview, "Já volto com a resposta");
    let mirror = h.synced(&tiago, 1000).await;
    assert!(mirror.entities.values().any(|e| matches!(e,
        Entity::Event(ev) if ev.conversation_id == c.id
            && ev.kind == EventKind::Assigned { assignee: Some(h.other.id) }
            && ev.actor.agent_id == Some(h.other.id))));
}

#[tokio::test]
async fn test_a_conversation_begun_by_the_contact_says_so_in_its_timeline() {
    let h = harness().await;
    let m = h
        .customer_writes("5511911110009", "Primeira mensagem")
        .await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let mirror = h.synced(&owner, 1000).await;
    let opened: Vec<&ConversationEvent> = mirror
        .entities
        .values()
        .filter_map(|e| match e {
            Entity::Event(ev)
                if ev.conversation_id == c.id && ev.kind == EventKind::Opened { first: true } =>
            {
                Some(ev)
            }
            _ => None,
        })
        .collect();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].actor.kind, ActorKind::Contact);
    assert!(
        !mirror.entities.values().any(|e| matches!(e, Entity::Event(ev) if ev.conversation_id == c.id && ev.kind == EventKind::Opened { first: false })),
        "a conversation's beginning is not a reopening"
    );
    // A second message begins nothing.
    h.customer_writes("5511911110009", "Segunda").await;
    let mirror = h.synced(&owner, 1000).await;
    let count = mirror
        .entities
        .values()
        .filter(|e| matches!(e, Entity::Event(ev) if matches!(ev.kind, EventKind::Opened { .. })))
        .count();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn test_writing_first_to_a_known_contact_continues_their_open_conversation() {
    let h = harness().await;
    let m = h.customer_writes("5511911110010", "Oi").await;
    let otavio = h.login(&h.other).await;
    let c = h.conversation_of(&otavio, m).await;
    let message_id = MessageId::new();
    applied(
        &h.ops(
            &otavio,
            vec![Action::WriteFirst {
                conversation_id: ConversationId::new(),
                contact_id: ContactId::new(),
                message_id,
                channel: ChannelKind::Whatsapp,
                address: "5511911110010".into(),
                text: "Olá, aqui é o Otávio".into(),
                template: None,
            }],
        )
        .await,
    );
    let Some(Entity::Message(sent)) = stored(&h, EntityRef::Message(message_id)) else {
        panic!("stored")
    };
    assert_eq!(sent.conversation_id, c.id, "the same conversation");
    let mirror = h.synced(&otavio, 1000).await;
    assert_eq!(mirror.conversations().len(), 1, "no second conversation");
    let now = h.conversation_of(&otavio, m).await;
    assert_eq!(now.assignee, Some(h.other.id), "the reply rule");
    assert!(!now.unanswered);

    // An own-only agent writing first to the same number may not slip into Otávio's.
    let paula = h.login(&h.own_only).await;
    let r = h
        .ops(
            &paula,
            vec![write_first(
                ConversationId::new(),
                ContactId::new(),
                "5511911110010",
                "Oi",
            )],
        )
        .await;
    assert_eq!(refused(&r).0, ErrorCode::NotAllowed);
}

#[tokio::test]
async fn test_the_window_belongs_to_the_contact_not_to_one_conversation() {
    let h = harness().await;
    let m = h.customer_writes("5511911110011", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    applied(
        &h.ops(
            &owner,
            vec![Action::Close {
                conversation_id: c.id,
                note: String::new(),
                category: String::new(),
            }],
        )
        .await,
    );
    // Two hours later, written first with free text: the contact wrote within 24 h.
    h.advance(2 * 60 * 60 * 1000);
    let id = ConversationId::new();
    applied(
        &h.ops(
            &owner,
            vec![write_first(
                id,
                ContactId::new(),
                "5511911110011",
                "Esqueci de dizer",
            )],
        )
        .await,
    );
    // A day later the window has closed: only a template starts one.
    h.advance(24 * 60 * 60 * 1000);
    applied(
        &h.ops(
            &owner,
            vec![Action::Close {
                conversation_id: id,
                note: String::new(),
                category: String::new(),
            }],
        )
        .await,
    );
    let r = h
        .ops(
            &owner,
            vec![write_first(
                ConversationId::new(),
                ContactId::new(),
                "5511911110011",
                "Oi de novo",
            )],
        )
        .await;
    assert_eq!(refused(&r).0, ErrorCode::WindowClosed);
}

// ---- 3. Uploads ----

#[tokio::test]
async fn test_an_uploads_type_comes_from_its_bytes_and_its_name_loses_paths_and_direction_marks() {
    let h = harness().await;
    let m = h.customer_writes("5511911110012", "Manda a fatura").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n".to_vec();
    let id = uuid::Uuid::now_v7();
    assert_eq!(h.put_file(&owner, id, "image/png", pdf.clone()).await, 201);
    let message_id = MessageId::new();
    applied(
        &h.ops(
            &owner,
            vec![Action::SendMessage {
                message_id,
                conversation_id: c.id,
                text: String::new(),
                attachments: vec![Attachment {
                    kind: AttachmentKind::Image,
                    name: "../../fatura\u{202E}gnp.exe".into(),
                    mime: "image/png".into(),
                    size: pdf.len() as u64,
                    url: Attachment::upload_path(id),
                }],
                template: None,
                reply_to: None,
            }],
        )
        .await,
    );
    let Some(Entity::Message(sent)) = stored(&h, EntityRef::Message(message_id)) else {
        panic!("stored")
    };
    let a = &sent.attachments[0];
    assert_eq!(
        (a.kind, a.mime.as_str(), a.name.as_str()),
        (AttachmentKind::Document, "application/pdf", "faturagnp.exe")
    );
    let r = h.get(&owner, &format!("/v1/attachments/{id}")).await;
    assert_eq!(r.headers()["content-type"], "application/pdf");
    // Markup claimed as a picture is kept as text.
    let svg = uuid::Uuid::now_v7();
    let markup = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec();
    assert_eq!(h.put_file(&owner, svg, "image/svg+xml", markup).await, 201);
    let r = h.get(&owner, &format!("/v1/attachments/{svg}")).await;
    assert_eq!(r.headers()["content-type"], "text/plain");
}

#[tokio::test]
async fn test_an_agents_uploads_stop_at_their_daily_quota() {
    let dir = tempfile::tempdir().unwrap();
    let clock = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(T0));
    let c = clock.clone();
    let server = outpost_server::start_with(
        dir.path(),
        "127.0.0.1:0".parse().unwrap(),
        std::sync::Arc::new(move || c.load(std::sync::atomic::Ordering::SeqCst)),
        outpost_server::Options {
            upload_quota: Some(1024 * 1024),
            ..common::options()
        },
    )
    .await
    .unwrap();
    let mut tokens = Vec::new();
    for name in ["ana", "bia"] {
        outpost_server::add_agent(
            &*server.app.storage,
            name,
            &format!("{name}@outpost.example"),
            PASSWORD,
            Role::Agent,
            Visibility::Unrestricted,
            vec![],
        )
        .unwrap();
        let r = reqwest::Client::new()
            .post(format!("http://{}/v1/auth/login", server.addr))
            .json(&serde_json::json!({ "email": format!("{name}@outpost.example"), "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = r.json().await.unwrap();
        tokens.push(v["token"].as_str().unwrap().to_owned());
    }
    let put = |token: String, bytes: Vec<u8>| {
        let addr = server.addr;
        async move {
            let r = reqwest::Client::new()
                .put(format!(
                    "http://{addr}/v1/attachments/{}",
                    uuid::Uuid::now_v7()
                ))
                .bearer_auth(token)
                .header("content-type", "application/octet-stream")
                .body(bytes)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.headers().contains_key("retry-after"))
        }
    };
    let chunk = vec![7u8; 600 * 1024];
    assert_eq!(put(tokens[0].clone(), chunk.clone()).await.0, 201);
    assert_eq!(
        put(tokens[0].clone(), chunk.clone()).await,
        (429, true),
        "past a day's quota"
    );
    assert_eq!(
        put(tokens[1].clone(), chunk.clone()).await.0,
        201,
        "Bia has her own"
    );
    // A day later the quota is whole again.
    clock.fetch_add(24 * 60 * 60 * 1000 + 1, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(put(tokens[0].clone(), chunk).await.0, 201);
    server.stop().await;
}

#[tokio::test]
async fn test_an_upload_no_message_names_is_removed_after_a_day() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let (kept, unclaimed) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let m = h.customer_writes("5511911110013", "Oi").await;
    let c = h.conversation_of(&owner, m).await;
    for id in [kept, unclaimed] {
        assert_eq!(
            h.put_file(&owner, id, "text/plain", b"ola".to_vec()).await,
            201
        );
    }
    applied(
        &h.ops(
            &owner,
            vec![Action::SendMessage {
                message_id: MessageId::new(),
                conversation_id: c.id,
                text: String::new(),
                attachments: vec![Attachment {
                    kind: AttachmentKind::Document,
                    name: "nota.txt".into(),
                    mime: "text/plain".into(),
                    size: 3,
                    url: Attachment::upload_path(kept),
                }],
                template: None,
                reply_to: None,
            }],
        )
        .await,
    );
    h.advance(24 * 60 * 60 * 1000 + 2 * 60 * 1000);
    let status = |id: uuid::Uuid| {
        let (http, url, token) = (
            h.http.clone(),
            h.url(&format!("/v1/attachments/{id}")),
            owner.clone(),
        );
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // The server's timers sweep once a minute of its clock; bounded wait for the next round.
    let mut gone = false;
    for _ in 0..40 {
        if status(unclaimed).await == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the unclaimed upload is still there");
    assert_eq!(status(kept).await, 200, "a message's file stays");
}

#[tokio::test]
async fn test_a_reply_quotes_only_a_message_of_its_own_conversation() {
    let h = harness().await;
    let secret = h.customer_writes("5511911110014", "Dados sigilosos").await;
    let mine = h.customer_writes("5511911110015", "Oi").await;
    let owner = h.login(&h.owner).await;
    let theirs = h.conversation_of(&owner, secret).await;
    let c = h.conversation_of(&owner, mine).await;
    applied(
        &h.ops(
            &owner,
            vec![
                Action::Assign {
                    conversation_id: theirs.id,
                    assignee: Some(h.other.id),
                },
                Action::Assign {
                    conversation_id: c.id,
                    assignee: Some(h.own_only.id),
                },
            ],
        )
        .await,
    );
    let paula = h.login(&h.own_only).await;
    let quoting = |reply_to| Action::SendMessage {
        message_id: MessageId::new(),
        conversation_id: c.id,
        text: "Respondendo".into(),
        attachments: vec![],
        template: None,
        reply_to: Some(reply_to),
    };
    let r = h.ops(&paula, vec![quoting(secret)]).await;
    assert_eq!(refused(&r).0, ErrorCode::NotFound);
    applied(&h.ops(&paula, vec![quoting(mine)]).await);
}
