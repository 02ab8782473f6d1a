use super::*;
use crate::*;

fn send(text: &str) -> Action {
    Action::SendMessage {
        message_id: MessageId::new(),
        conversation_id: ConversationId::new(),
        text: text.into(),
        attachments: vec![],
        template: None,
        reply_to: None,
    }
}

#[test]
fn test_empty_message_is_refused_with_a_reason() {
    let err = send("   ").validate().unwrap_err();
    assert_eq!(err.field, "text");
    assert!(err.to_string().contains("needs text"));
}

#[test]
fn test_oversized_text_is_refused() {
    assert!(send(&"a".repeat(MAX_TEXT_CHARS)).validate().is_ok());
    assert!(send(&"a".repeat(MAX_TEXT_CHARS + 1)).validate().is_err());
    // Multi-byte text is counted in characters, not bytes.
    assert!(send(&"ç".repeat(MAX_TEXT_CHARS)).validate().is_ok());
}

#[test]
fn test_write_first_takes_digits_only_on_phone_channels() {
    let write = |channel, address: &str| Action::WriteFirst {
        conversation_id: ConversationId::new(),
        contact_id: ContactId::new(),
        message_id: MessageId::new(),
        channel,
        address: address.into(),
        text: "Olá!".into(),
        template: None,
    };
    assert!(
        write(ChannelKind::Whatsapp, "5511987654321")
            .validate()
            .is_ok()
    );
    assert!(
        write(ChannelKind::Whatsapp, "+55 11 98765-4321")
            .validate()
            .is_err()
    );
    assert!(write(ChannelKind::Telegram, "ana_souza").validate().is_ok());
    assert!(write(ChannelKind::Sms, "").validate().is_err());
    assert!(write(ChannelKind::Sms, &"1".repeat(9)).validate().is_ok());
    let long = Action::WriteFirst {
        conversation_id: ConversationId::new(),
        contact_id: ContactId::new(),
        message_id: MessageId::new(),
        channel: ChannelKind::Sms,
        address: "5511987654321".into(),
        text: "x".repeat(1_601),
        template: None,
    };
    assert!(
        long.validate().is_err(),
        "SMS text is capped at 1,600 characters"
    );
}

#[test]
fn test_view_nesting_is_bounded() {
    let mut filter = Condition::Tag {
        tag: "vip".into(),
        present: true,
    };
    for _ in 0..MAX_VIEW_DEPTH {
        filter = Condition::All { of: vec![filter] };
    }
    let view = CustomView {
        id: ViewId::new(),
        name: "VIP".into(),
        owner: AgentId::new(),
        sharing: Sharing::default(),
        filter,
    };
    let err = view.validate().unwrap_err();
    assert!(err.problem.contains("nested deeper"), "{err}");
}

#[test]
fn test_incoming_message_with_outgoing_status_is_invalid() {
    let c = Conversation::new(ConversationId::new(), ContactId::new(), ChannelKind::Sms, 1);
    let contact = Sender::named(SenderKind::Contact, "");
    let mut m = Message::new(
        MessageId::new(),
        &c,
        Direction::Incoming,
        contact,
        "oi",
        MessageStatus::Sent,
        1,
    );
    m.history.clear();
    assert_eq!(m.validate().unwrap_err().field, "status");
    let mut bad_time = m.clone();
    bad_time.status = MessageStatus::Received;
    bad_time.created_at = -5;
    assert_eq!(bad_time.validate().unwrap_err().field, "created_at");
}

#[test]
fn test_contact_edit_normalises_tags_and_refuses_bad_phone() {
    let contact = Contact {
        id: ContactId::new(),
        name: "Ana".into(),
        phone: String::new(),
        email: String::new(),
        country: "BR".into(),
        language: "pt-BR".into(),
        avatar_url: String::new(),
        identities: vec![],
        tags: vec![],
        fields: Default::default(),
        private_comment: String::new(),
        bot_enabled: true,
        active_flow: None,
        created_at: 1,
    };
    let edit = ContactEdit {
        tags: Some(vec![" vip ".into(), "vip".into(), "atacado".into()]),
        ..Default::default()
    };
    assert_eq!(
        edit.applied_to(&contact).unwrap().tags,
        vec!["atacado", "vip"]
    );
    let bad = ContactEdit {
        phone: Some("11-9999".into()),
        ..Default::default()
    };
    assert!(bad.applied_to(&contact).is_err());
}

#[test]
fn test_wire_format_is_tagged_and_stable() {
    let json = serde_json::to_value(send("oi")).unwrap();
    assert_eq!(json["type"], "send_message");
    let change: Change = serde_json::from_str(
        r#"{"seq":7,"change":"tombstone","entity":{"type":"message","id":"01890a5d-ac96-774b-bcce-b302099a8057"}}"#,
    )
    .unwrap();
    assert_eq!(change.seq, 7);
    assert!(matches!(
        change.kind,
        ChangeKind::Tombstone {
            entity: EntityRef::Message(_)
        }
    ));
    assert!(serde_json::from_str::<Change>(r#"{"seq":7,"change":"explode"}"#).is_err());
}

fn with_files(files: Vec<Attachment>) -> Action {
    Action::SendMessage {
        message_id: MessageId::new(),
        conversation_id: ConversationId::new(),
        text: String::new(),
        attachments: files,
        template: None,
        reply_to: None,
    }
}

fn upload(name: &str, size: u64) -> Attachment {
    Attachment {
        kind: AttachmentKind::of_mime("application/pdf"),
        name: name.into(),
        mime: "application/pdf".into(),
        size,
        url: Attachment::upload_path(uuid::Uuid::now_v7()),
    }
}

#[test]
fn test_a_file_alone_is_a_message_but_only_an_upload_of_a_sane_size() {
    let file = upload("boleto.pdf", 80_000);
    assert_eq!(file.kind, AttachmentKind::Document);
    assert!(file.upload_id().is_some());
    assert!(with_files(vec![file.clone()]).validate().is_ok());

    let elsewhere = Attachment {
        url: "https://files.example/boleto.pdf".into(),
        ..file.clone()
    };
    let err = with_files(vec![elsewhere]).validate().unwrap_err();
    assert!(err.problem.contains("not an upload"), "{err}");

    let huge = upload("video.mp4", MAX_ATTACHMENT_BYTES + 1);
    assert!(
        with_files(vec![huge])
            .validate()
            .unwrap_err()
            .problem
            .contains("100 MiB")
    );
    assert!(with_files(vec![upload("  ", 10)]).validate().is_err());
    assert!(
        with_files(vec![file; MAX_ATTACHMENTS + 1])
            .validate()
            .is_err()
    );
    assert_eq!(AttachmentKind::of_mime("image/png"), AttachmentKind::Image);
    assert_eq!(
        AttachmentKind::of_mime("nonsense"),
        AttachmentKind::Document
    );
}

#[test]
fn test_a_file_name_loses_folders_controls_and_direction_marks() {
    assert_eq!(file_name("C:\\docs\\boleto.pdf"), "boleto.pdf");
    assert_eq!(file_name("../../etc/passwd"), "passwd");
    assert_eq!(file_name("fatura\u{202E}fdp.exe"), "faturafdp.exe");
    assert_eq!(file_name("a\u{2066}b\u{2069}c\u{200F}.txt"), "abc.txt");
    assert_eq!(file_name("linha\nquebrada\t.txt"), "linhaquebrada.txt");
    assert_eq!(file_name("  /  "), "");
    assert_eq!(file_name("relatório final.pdf"), "relatório final.pdf");
}
