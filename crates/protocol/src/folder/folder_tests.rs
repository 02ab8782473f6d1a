use super::*;
use crate::*;
use proptest::prelude::*;

fn message(direction: Direction, status: MessageStatus) -> Message {
    let c = Conversation::new(
        ConversationId::new(),
        ContactId::new(),
        ChannelKind::Whatsapp,
        1_700_000_000_000,
    );
    let sender = Sender::named(SenderKind::Contact, "");
    Message::new(
        MessageId::new(),
        &c,
        direction,
        sender,
        "Olá",
        status,
        c.created_at,
    )
}

#[test]
fn test_incoming_not_in_flow_is_in_inbox() {
    assert_eq!(
        Folder::of(&message(Direction::Incoming, MessageStatus::Received)),
        Folder::Inbox
    );
}

#[test]
fn test_incoming_while_in_flow_is_in_flows() {
    let mut m = message(Direction::Incoming, MessageStatus::Received);
    m.via_flow = true;
    assert_eq!(Folder::of(&m), Folder::Flows);
}

#[test]
fn test_archive_then_restore_returns_to_the_folder_it_came_from() {
    for via_flow in [false, true] {
        let mut m = message(Direction::Incoming, MessageStatus::Received);
        m.via_flow = via_flow;
        let before = Folder::of(&m);
        m.archived = true;
        assert_eq!(Folder::of(&m), Folder::Archived);
        m.archived = false;
        assert_eq!(Folder::of(&m), before);
    }
}

#[test]
fn test_outgoing_folders_follow_the_status() {
    let cases = [
        (MessageStatus::Scheduled, Folder::Scheduled),
        (MessageStatus::Pending, Folder::Outbox),
        (MessageStatus::Wired, Folder::Outbox),
        (MessageStatus::Sent, Folder::Sent),
        (MessageStatus::Delivered, Folder::Sent),
        (MessageStatus::Read, Folder::Sent),
        (MessageStatus::Failed, Folder::Failed),
    ];
    for (status, folder) in cases {
        assert_eq!(
            Folder::of(&message(Direction::Outgoing, status)),
            folder,
            "{status:?}"
        );
    }
}

#[test]
fn test_folder_codes_round_trip() {
    for f in Folder::ALL {
        assert_eq!(Folder::from_code(f.code()), Some(f));
    }
    assert_eq!(Folder::from_code(99), None);
}

fn any_status() -> impl Strategy<Value = MessageStatus> {
    prop_oneof![
        Just(MessageStatus::Received),
        Just(MessageStatus::Scheduled),
        Just(MessageStatus::Pending),
        Just(MessageStatus::Wired),
        Just(MessageStatus::Sent),
        Just(MessageStatus::Delivered),
        Just(MessageStatus::Read),
        Just(MessageStatus::Failed),
    ]
}

proptest! {
    /// Every valid message is in exactly one folder, and an incoming message is never in an
    /// outgoing folder (nor the reverse).
    #[test]
    fn prop_every_message_in_exactly_one_folder(
        incoming in any::<bool>(), status in any_status(), via_flow in any::<bool>(), archived in any::<bool>()
    ) {
        let mut m = message(if incoming { Direction::Incoming } else { Direction::Outgoing }, status);
        m.via_flow = via_flow;
        m.archived = archived;
        m.send_at = Some(1);
        let folder = Folder::of(&m);
        prop_assert_eq!(Folder::ALL.iter().filter(|f| **f == folder).count(), 1);
        if m.validate().is_ok() {
            let incoming_folder = matches!(folder, Folder::Inbox | Folder::Flows | Folder::Archived);
            prop_assert_eq!(incoming_folder, incoming);
        }
    }
}
