//! Contacts: the card's edits keep every field; writing first to a known number.

use super::*;

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
    h.applied(
        &owner,
        Action::EditContact {
            contact_id: c.contact_id,
            edit,
        },
    )
    .await;
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
    assert_eq!(refused(&r).0, ErrorCode::InvalidInput, "{r:?}");
}

#[tokio::test]
async fn test_write_first_to_a_known_number_uses_its_contact() {
    let h = harness().await;
    let m = h.customer_writes("5511987650000", "Oi, sou a Júlia").await;
    let owner = h.login(&h.owner).await;
    let known = h.conversation_of(&owner, m).await;
    h.applied(
        &owner,
        Action::Close {
            conversation_id: known.id,
            note: String::new(),
            category: String::new(),
        },
    )
    .await;
    let new_conversation = ConversationId::new();
    let template = TemplateRef {
        name: "boas_vindas".into(),
        language: "pt_BR".into(),
        params: vec![],
    };
    h.applied(
        &owner,
        Action::WriteFirst {
            conversation_id: new_conversation,
            contact_id: ContactId::new(),
            message_id: MessageId::new(),
            channel: ChannelKind::Whatsapp,
            address: "5511987650000".into(),
            text: String::new(),
            template: Some(template),
        },
    )
    .await;
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
    // Its timeline begins with the agent starting it (not "reopened").
    let begun: Vec<_> = mirror
        .entities
        .values()
        .filter_map(|e| match e {
            Entity::Event(ev) if ev.conversation_id == new_conversation => {
                Some((ev.kind.clone(), ev.actor.kind))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        begun,
        vec![(EventKind::Opened { first: true }, ActorKind::Agent)]
    );
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
    assert_eq!(refused(&r).0, ErrorCode::WindowClosed, "{r:?}");
}
