//! The rules of PRODUCT.md, as the server applies them.

use super::*;

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
async fn test_messages_arriving_in_the_same_millisecond_keep_their_order() {
    // The clock stands still: every message arrives at the same instant, and a flow-less
    // conversation's timeline (ordered by time in every mirror) must still read as written.
    let h = harness().await;
    let mut ids = Vec::new();
    for n in 0..20 {
        ids.push(
            h.customer_writes("5511911112222", &format!("m{n:02}"))
                .await,
        );
    }
    let token = h.login(&h.owner).await;
    let c = h.conversation_of(&token, ids[0]).await;
    let mirror = h.synced(&token, 500).await;
    let mut messages = mirror.messages_of(c.id);
    messages.sort_by_key(|m| m.created_at);
    let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
    let want: Vec<String> = (0..20).map(|n| format!("m{n:02}")).collect();
    assert_eq!(texts, want, "time order is arrival order");
    assert!(
        messages
            .windows(2)
            .all(|w| w[0].created_at < w[1].created_at),
        "no two messages of a conversation share a time"
    );
    assert_eq!(
        messages[0].created_at, T0,
        "the first is at the server's clock"
    );
    assert_eq!(c.last_message_at, messages[19].created_at);
}

#[tokio::test]
async fn test_reply_to_unassigned_assigns_it_then_close_unassigns_and_inbound_reopens() {
    let h = harness().await;
    let m = h.customer_writes("5511911112222", "Preciso de ajuda").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let token = h.login(&h.other).await;
    h.applied(&token, send(c.id, "Claro, já vejo!")).await;
    let c1 = h.conversation_of(&owner, m).await;
    assert_eq!(
        c1.assignee,
        Some(h.other.id),
        "replying to an unassigned conversation assigns it"
    );
    assert!(!c1.unanswered);
    h.applied(
        &token,
        Action::Close {
            conversation_id: c.id,
            note: "resolvido".into(),
            category: "entrega".into(),
        },
    )
    .await;
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
    h.applied(
        &other,
        Action::SetAvailability {
            availability: Availability::Away,
        },
    )
    .await;
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
        OpOutcome::Refused { code, reason, .. } => {
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
        OpOutcome::Refused { code, reason, .. } => {
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
    h.applied(&owner, template).await;
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
    assert_eq!(refused(&r).0, ErrorCode::NotAllowed, "{r:?}");
    h.applied(
        &owner,
        Action::DeleteConversation {
            conversation_id: c.id,
        },
    )
    .await;
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
    h.applied(
        &owner,
        Action::ScheduleMessage {
            message_id: id,
            conversation_id: c.id,
            text: "Bom dia!".into(),
            attachments: vec![],
            template: None,
            send_at: T0 + 60_000,
        },
    )
    .await;
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

#[tokio::test]
async fn test_snoozed_conversation_wakes_at_its_time_or_when_the_contact_writes() {
    let h = harness().await;
    let m = h.customer_writes("5511981810000", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    h.applied(
        &owner,
        Action::Snooze {
            conversation_id: c.id,
            until: T0 + 60_000,
        },
    )
    .await;
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
    h.applied(
        &owner,
        Action::Snooze {
            conversation_id: c.id,
            until: T0 + 10 * 60_000,
        },
    )
    .await;
    let m2 = h.customer_writes("5511981810000", "Alô?").await;
    assert_eq!(
        h.conversation_of(&owner, m2).await.state,
        ConversationState::Open,
        "a new message wakes it"
    );
    h.applied(
        &owner,
        Action::Snooze {
            conversation_id: c.id,
            until: T0 + 10 * 60_000,
        },
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
    h.applied(
        &owner,
        Action::Archive {
            message_ids: vec![m],
        },
    )
    .await;
    assert_eq!(
        folder(&h.synced(&owner, 1000).await),
        Some(Folder::Archived)
    );
    h.applied(
        &owner,
        Action::Restore {
            message_ids: vec![m],
        },
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
    h.applied(
        &owner,
        Action::SetUnanswered {
            conversation_id: c.id,
            unanswered: false,
        },
    )
    .await;
    assert!(!h.conversation_of(&owner, m).await.unanswered);
    h.applied(
        &owner,
        Action::SetUnanswered {
            conversation_id: c.id,
            unanswered: true,
        },
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
