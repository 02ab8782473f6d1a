use outpost_protocol::*;

use super::*;
use crate::api::Request;
use crate::store::{ListQuery, ViewRef};
use crate::testing::*;

#[test]
fn test_reads_answer_and_actions_announce_what_changed() {
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let mut f = Fixture::new(&me);
    let k = contact("Eva");
    let mut c = conversation(&k, T0);
    let m = incoming(&c, "Preciso de ajuda", T0);
    rules::on_incoming(&mut c, &m);
    f.server_upsert(vec![
        Entity::Contact(k.clone()),
        Entity::Message(m),
        Entity::Conversation(c.clone()),
    ]);
    let events = f.client.subscribe();

    let page = f
        .client
        .store()
        .list_conversations(&ListQuery::new(ViewRef::Unassigned), T0)
        .unwrap();
    assert_eq!(page.rows[0].contact_name, "Eva");
    let message_id = MessageId::new();
    let acted = f.client.act(Action::SendMessage {
        message_id,
        conversation_id: c.id,
        text: "Claro!".into(),
        attachments: vec![],
        template: None,
        reply_to: None,
    });
    assert!(matches!(acted, Ok(Some(_))), "{acted:?}");
    let Event::Changed {
        conversations,
        folders,
        journal,
        ..
    } = events.try_recv().unwrap()
    else {
        panic!("expected Changed");
    };
    assert_eq!(conversations, vec![c.id], "events name ids, not data");
    assert!(folders && journal);
    assert_eq!(f.client.store().journal().unwrap().len(), 1);
    // An error is an answer the UI can show, with a code.
    let error = f
        .client
        .store()
        .open_conversation(ConversationId::new(), None, 50)
        .unwrap_err()
        .body();
    assert_eq!(error.code, ErrorCode::NotFound);
    assert!(error.message.contains("not found"));
    f.client.store().save_draft(c.id, "rascunho", T0).unwrap();
    assert_eq!(f.client.store().draft(c.id).unwrap(), "rascunho");
    // Requests and responses cross the bridge as JSON.
    let json = serde_json::to_string(&Request::Counts).unwrap();
    assert_eq!(json, r#"{"type":"counts"}"#);
    let back: Request = serde_json::from_str(&json).unwrap();
    assert_eq!(back, Request::Counts);
}

#[test]
fn test_actions_without_a_signed_in_agent_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::open(
        dir.path().join("m.db"),
        std::sync::Arc::new(ManualClock::new(T0)),
    )
    .unwrap();
    let err = client
        .act(Action::MarkRead {
            conversation_id: ConversationId::new(),
        })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthenticated);
}

fn notifications(rx: &std::sync::mpsc::Receiver<Event>) -> Vec<crate::triage::Notification> {
    rx.try_iter()
        .filter_map(|e| match e {
            Event::Notify { notification } => Some(notification),
            _ => None,
        })
        .collect()
}

/// Pulled pages reach the triage with what the mirror did not have: a new customer message
/// notifies once (not again when its status changes), the focused conversation does not, and
/// the agent's settings (stored as the server sends them) are followed.
#[test]
fn test_pulled_news_notify_once_and_follow_settings_and_focus() {
    let me = agent("Ana", Role::Agent, Visibility::Unrestricted, vec![]);
    let mut f = Fixture::new(&me);
    let rx = f.client.subscribe();
    let beatriz = contact("Beatriz Araújo");
    let mut c = conversation(&beatriz, T0 - HOUR);
    c.assignee = Some(me.id);
    f.server_upsert(vec![
        Entity::Contact(beatriz.clone()),
        Entity::Conversation(c.clone()),
    ]);
    let m = incoming(&c, "Meu pedido chegou quebrado", T0 - 1_000);
    f.server_upsert(vec![Entity::Message(m.clone())]);
    let got = notifications(&rx);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].title, "Beatriz Araújo · WhatsApp");
    assert_eq!(got[0].body, "Meu pedido chegou quebrado");
    assert_eq!(got[0].conversation_id, Some(c.id));

    // The same message again (read by someone, say): nothing new.
    f.server_upsert(vec![Entity::Message(m.clone())]);
    assert!(notifications(&rx).is_empty());

    // The conversation is open in the focused window: nothing; in the background: notified,
    // and the burst started again because the agent looked.
    f.client.set_interface(InterfaceState {
        conversation_id: Some(c.id),
        focused: true,
        language: "pt-BR".into(),
        utc_offset_minutes: -180,
    });
    f.server_upsert(vec![Entity::Message(incoming(&c, "Alô?", T0))]);
    assert!(notifications(&rx).is_empty());
    f.client.set_interface(InterfaceState {
        conversation_id: Some(c.id),
        focused: false,
        language: "pt-BR".into(),
        utc_offset_minutes: -180,
    });
    f.server_upsert(vec![
        Entity::Message(incoming(&c, "Oi", T0)),
        Entity::Message(incoming(&c, "Tem alguém?", T0)),
    ]);
    let got = notifications(&rx);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "2 mensagens novas de Beatriz\nTem alguém?");

    // The agent switches their own conversations off (the server sends the settings back).
    let mut settings = NotifySettings::defaults(me.id);
    settings
        .enabled
        .retain(|c| *c != NotifyCategory::MessageMine);
    f.server_upsert(vec![Entity::Settings(settings.clone())]);
    assert_eq!(f.client.notify_settings().unwrap(), settings);
    f.server_upsert(vec![Entity::Message(incoming(&c, "Olá", T0))]);
    assert!(notifications(&rx).is_empty());
}

/// A first sync's history notifies nothing message by message; its end gives one summary of
/// what is unread; a refused action is notified with its reason.
#[test]
fn test_first_sync_summarises_and_refusals_notify() {
    let me = agent("Ana", Role::Agent, Visibility::Unrestricted, vec![]);
    let mut f = Fixture::new(&me);
    let rx = f.client.subscribe();
    let mut entities = Vec::new();
    for (i, unread) in [3u32, 0, 2, 4].into_iter().enumerate() {
        let k = contact(&format!("Cliente {i}"));
        let mut c = conversation(&k, T0 - HOUR);
        c.assignee = Some(me.id);
        c.unread_count = unread;
        if i == 3 {
            // Closed: not counted, as the side bar and the tray do not count it.
            c.state = ConversationState::Closed;
        }
        entities.push(Entity::Contact(k));
        entities.push(Entity::Conversation(c.clone()));
        entities.push(Entity::Message(incoming(&c, "histórico", T0 - HOUR)));
    }
    let changes = entities
        .into_iter()
        .map(|entity| Change {
            seq: f.next_seq(),
            kind: ChangeKind::Upsert { entity },
        })
        .collect();
    let page = ChangesPage {
        changes,
        cursor: f.seq,
        has_more: false,
        head: f.seq,
    };
    f.client.ingest(&page, IndexMode::Deferred).unwrap();
    assert!(notifications(&rx).is_empty(), "history is not news");
    f.client.notify_unread_summary().unwrap();
    let got = notifications(&rx);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "5 new messages in 2 conversations");

    let op = f
        .act(Action::SetAvailability {
            availability: Availability::Away,
        })
        .unwrap()
        .unwrap();
    f.client
        .record_results(&[OpResult {
            op_id: op,
            outcome: OpOutcome::Refused {
                code: ErrorCode::NotAllowed,
                reason: "Availability is set by your supervisor.".into(),
                why: None,
            },
        }])
        .unwrap();
    let got = notifications(&rx);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "Availability is set by your supervisor.");
}

#[test]
fn test_writing_first_to_a_known_number_continues_its_open_conversation_at_once() {
    let me = agent("Ana", Role::Agent, Visibility::Unrestricted, vec![]);
    let mut f = Fixture::new(&me);
    let mut k = contact("Eva");
    k.identities = vec![ChannelIdentity {
        channel: ChannelKind::Whatsapp,
        address: k.phone.clone(),
    }];
    let mut c = conversation(&k, T0);
    let m = incoming(&c, "Oi", T0 - HOUR);
    rules::on_incoming(&mut c, &m);
    f.server_upsert(vec![
        Entity::Contact(k.clone()),
        Entity::Message(m),
        Entity::Conversation(c.clone()),
    ]);
    let message_id = MessageId::new();
    let fresh_conversation = ConversationId::new();
    f.act(Action::WriteFirst {
        conversation_id: fresh_conversation,
        contact_id: ContactId::new(),
        message_id,
        channel: ChannelKind::Whatsapp,
        address: k.phone.clone(),
        text: "Olá de novo".into(),
        template: None,
    })
    .unwrap();
    assert!(
        f.conversation(fresh_conversation).is_none(),
        "no second conversation"
    );
    let continued = f.conversation(c.id).unwrap();
    assert_eq!(continued.assignee, Some(me.id), "the reply rule");
    assert_eq!(continued.last_message_preview, "Olá de novo");
    assert!(!continued.unanswered);
}

/// A call pulled as missed notifies once: not while it rings, once when it is missed, not again
/// when the same call comes again.
#[test]
fn test_a_pulled_missed_call_notifies_once() {
    let me = agent("Ana", Role::Agent, Visibility::Unrestricted, vec![]);
    let mut f = Fixture::new(&me);
    let rx = f.client.subscribe();
    let beatriz = contact("Beatriz Araújo");
    let mut c = conversation(&beatriz, T0 - HOUR);
    c.assignee = Some(me.id);
    f.server_upsert(vec![
        Entity::Contact(beatriz),
        Entity::Conversation(c.clone()),
    ]);
    let mut call = outpost_protocol::test_data::call(
        &c,
        Direction::Incoming,
        CallOutcome::Ongoing,
        T0 - 20_000,
    );
    f.server_upsert(vec![Entity::Call(call.clone())]);
    assert!(notifications(&rx).is_empty(), "ringing says nothing");
    call.outcome = CallOutcome::Missed;
    call.ended_at = Some(T0 - 1_000);
    f.server_upsert(vec![Entity::Call(call.clone())]);
    let got = notifications(&rx);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].body, "Missed call");
    assert_eq!(got[0].category, Some(NotifyCategory::MissedCall));
    f.server_upsert(vec![Entity::Call(call)]);
    assert!(notifications(&rx).is_empty());
}
