use super::*;
use crate::*;

const T0: Millis = 1_700_000_000_000;
const HOUR: Millis = 3_600_000;

fn conversation() -> Conversation {
    Conversation::new(
        ConversationId::new(),
        ContactId::new(),
        ChannelKind::Whatsapp,
        T0,
    )
}

fn agent(visibility: Visibility, role: Role) -> Agent {
    Agent::new(
        AgentId::new(),
        "Beatriz",
        "bia@example.com",
        role,
        visibility,
        vec![],
    )
}

fn msg(c: &Conversation, direction: Direction, at: Millis, agent_id: Option<AgentId>) -> Message {
    let sender = Sender {
        kind: if agent_id.is_some() {
            SenderKind::Agent
        } else {
            SenderKind::Contact
        },
        agent_id,
        name: String::new(),
    };
    let status = if direction == Direction::Incoming {
        MessageStatus::Received
    } else {
        MessageStatus::Pending
    };
    Message::new(
        MessageId::new(),
        c,
        direction,
        sender,
        "  Bom dia,\n tudo bem?  ",
        status,
        at,
    )
}

#[test]
fn test_message_to_closed_conversation_reopens_it() {
    let mut c = conversation();
    close(&mut c, "", "").unwrap();
    let events = {
        let m = msg(&c, Direction::Incoming, T0 + HOUR, None);
        on_incoming(&mut c, &m)
    };
    assert_eq!(c.state, ConversationState::Open);
    assert_eq!(
        c.opened_at,
        T0 + HOUR,
        "a reopened conversation starts a new open period"
    );
    assert_eq!(events, vec![EventKind::Opened { first: false }]);
    assert!(c.unanswered);
    assert_eq!(c.unread_count, 1);
    assert_eq!(c.last_message_preview, "Bom dia, tudo bem?");
}

#[test]
fn test_an_opening_says_whether_it_began_the_conversation_on_the_wire() {
    let began = serde_json::to_value(EventKind::Opened { first: true }).unwrap();
    assert_eq!(began, serde_json::json!({"type": "opened", "first": true}));
    // Stored before `first` was said: a reopening, as it was drawn then.
    let old: EventKind = serde_json::from_str(r#"{"type":"opened"}"#).unwrap();
    assert_eq!(old, EventKind::Opened { first: false });
}

#[test]
fn test_message_from_contact_wakes_snoozed_conversation() {
    let mut c = conversation();
    snooze(&mut c, T0 + 10 * HOUR, T0).unwrap();
    let events = {
        let m = msg(&c, Direction::Incoming, T0 + HOUR, None);
        on_incoming(&mut c, &m)
    };
    assert_eq!(c.state, ConversationState::Open);
    assert_eq!(c.snoozed_until, None);
    assert_eq!(events, vec![EventKind::Unsnoozed]);
}

#[test]
fn test_reply_to_unassigned_assigns_the_replying_agent() {
    let mut c = conversation();
    c.unanswered = true;
    let me = AgentId::new();
    let events = {
        let m = msg(&c, Direction::Outgoing, T0 + 1, Some(me));
        on_reply(&mut c, &m)
    };
    assert_eq!(c.assignee, Some(me));
    assert!(!c.unanswered);
    assert_eq!(events, vec![EventKind::Assigned { assignee: Some(me) }]);
}

#[test]
fn test_reply_to_assigned_conversation_keeps_its_assignee() {
    let mut c = conversation();
    let other = AgentId::new();
    c.assignee = Some(other);
    let events = {
        let m = msg(&c, Direction::Outgoing, T0 + 1, Some(AgentId::new()));
        on_reply(&mut c, &m)
    };
    assert_eq!(c.assignee, Some(other));
    assert!(events.is_empty());
}

#[test]
fn test_flow_reply_does_not_assign() {
    let mut c = conversation();
    {
        let m = msg(&c, Direction::Outgoing, T0 + 1, None);
        on_reply(&mut c, &m)
    };
    assert_eq!(c.assignee, None);
}

#[test]
fn test_closing_unassigns_and_keeps_note() {
    let mut c = conversation();
    c.assignee = Some(AgentId::new());
    close(&mut c, "resolvido", "billing").unwrap();
    assert_eq!(c.assignee, None);
    assert_eq!(c.state, ConversationState::Closed);
    assert_eq!(c.closing_note, "resolvido");
    assert_eq!(
        close(&mut c, "", "").unwrap_err().code,
        ErrorCode::WrongState
    );
}

#[test]
fn test_assign_to_away_agent_is_refused() {
    let mut c = conversation();
    let mut away = agent(Visibility::Unrestricted, Role::Agent);
    away.availability = Availability::Away;
    let err = assign(&mut c, Some(&away)).unwrap_err();
    assert_eq!(err.code, ErrorCode::AgentAway);
    assert!(err.reason.contains("Beatriz"));
    assert_eq!(c.assignee, None, "a refused rule changes nothing");
    assert_eq!(assign(&mut c, None).unwrap(), vec![]);
}

#[test]
fn test_snooze_needs_a_future_time_and_an_open_conversation() {
    let mut c = conversation();
    assert_eq!(
        snooze(&mut c, T0, T0).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    close(&mut c, "", "").unwrap();
    assert_eq!(
        snooze(&mut c, T0 + HOUR, T0).unwrap_err().code,
        ErrorCode::WrongState
    );
}

#[test]
fn test_snoozed_conversation_wakes_when_due() {
    let mut c = conversation();
    snooze(&mut c, T0 + HOUR, T0).unwrap();
    assert!(wake_if_due(&mut c, T0 + HOUR - 1).is_empty());
    assert_eq!(wake_if_due(&mut c, T0 + HOUR), vec![EventKind::Unsnoozed]);
    assert_eq!(c.state, ConversationState::Open);
}

#[test]
fn test_whatsapp_window_closes_after_24_hours() {
    let mut c = conversation();
    assert!(
        !window_open(&c, T0),
        "no message from the contact yet: no window"
    );
    c.last_incoming_at = Some(T0);
    assert!(window_open(&c, T0 + 23 * HOUR));
    assert!(!window_open(&c, T0 + 24 * HOUR));
    c.channel = ChannelKind::Telegram;
    assert!(window_open(&c, T0 + 1000 * HOUR), "telegram has no window");
}

#[test]
fn test_visibility_by_role() {
    let team = TeamId::new();
    let mut team_agent = agent(Visibility::Team, Role::Agent);
    team_agent.teams = vec![team];
    let own_only = agent(Visibility::OwnOnly, Role::Agent);
    let mut admin = agent(Visibility::OwnOnly, Role::Admin);
    admin.teams = vec![];

    let mut c = conversation();
    assert!(
        may_see(&admin, &c),
        "admins see everything whatever their visibility says"
    );
    assert!(!may_see(&team_agent, &c));
    assert!(!may_see(&own_only, &c));
    c.team = Some(team);
    assert!(may_see(&team_agent, &c));
    assert!(!may_see(&own_only, &c));
    c.assignee = Some(own_only.id);
    assert!(may_see(&own_only, &c));
    assert!(!may_delete_conversation(&own_only));
    assert!(may_delete_conversation(&admin));
}

#[test]
fn test_older_message_does_not_become_the_last_message() {
    let mut c = conversation();
    let mut newer = msg(&c, Direction::Incoming, T0 + 2 * HOUR, None);
    newer.text = "newer".into();
    on_incoming(&mut c, &newer);
    let mut older = msg(&c, Direction::Incoming, T0 + HOUR, None);
    older.text = "older".into();
    on_incoming(&mut c, &older);
    assert_eq!(c.last_message_preview, "newer");
    assert_eq!(c.last_incoming_at, Some(T0 + 2 * HOUR));
}

/// A workspace in memory, to apply actions without a store.
struct Memory(std::collections::HashMap<EntityRef, Entity>);

#[derive(Debug)]
struct MemoryError(String);

impl From<RuleError> for MemoryError {
    fn from(e: RuleError) -> Self {
        MemoryError(e.reason)
    }
}

impl From<ValidationError> for MemoryError {
    fn from(e: ValidationError) -> Self {
        MemoryError(e.to_string())
    }
}

impl crate::apply::Workspace for Memory {
    type Error = MemoryError;
    fn get(&self, r: EntityRef) -> Result<Option<Entity>, MemoryError> {
        Ok(self.0.get(&r).cloned())
    }
    fn exists(&self, r: EntityRef) -> Result<bool, MemoryError> {
        Ok(self.0.contains_key(&r))
    }
    fn conversations_of(
        &self,
        contact: ContactId,
    ) -> Result<Vec<crate::apply::Glance>, MemoryError> {
        Ok(self
            .0
            .values()
            .filter_map(|e| match e {
                Entity::Conversation(c) if c.contact_id == contact => {
                    Some(crate::apply::Glance::of(c))
                }
                _ => None,
            })
            .collect())
    }
    fn put(&mut self, e: &Entity) -> Result<(), MemoryError> {
        self.0.insert(e.reference(), e.clone());
        Ok(())
    }
    fn delete(&mut self, r: EntityRef) -> Result<(), MemoryError> {
        self.0.remove(&r);
        Ok(())
    }
    fn not_found(what: &str) -> MemoryError {
        MemoryError(what.to_owned())
    }
}

#[test]
fn test_messages_sent_at_the_same_instant_keep_their_order() {
    use crate::apply::{Mode, Workspace, apply};
    let me = agent(Visibility::Unrestricted, Role::Agent);
    let mut c = conversation();
    c.channel = ChannelKind::Telegram;
    let mut w = Memory(Default::default());
    w.put(&Entity::Conversation(c.clone())).unwrap();
    let mut times = Vec::new();
    for text in ["primeira", "segunda", "terceira"] {
        let id = MessageId::new();
        let op = Op {
            op_id: OpId::new(),
            at: T0, // the same instant for all three
            action: Action::SendMessage {
                message_id: id,
                conversation_id: c.id,
                text: text.into(),
                attachments: vec![],
                template: None,
                reply_to: None,
            },
        };
        apply(&mut w, &me, &op, T0, Mode::Fresh).unwrap_or_else(|e| panic!("{}", e.0));
        let Some(Entity::Message(m)) = w.get(EntityRef::Message(id)).unwrap() else {
            panic!("the message was stored")
        };
        times.push(m.created_at);
    }
    assert!(times.windows(2).all(|t| t[0] < t[1]), "{times:?}");
}

#[test]
fn test_a_file_sent_alone_is_previewed_by_its_name() {
    let mut c = conversation();
    let mut m = msg(&c, Direction::Incoming, T0 + HOUR, None);
    m.text = "  ".into();
    m.attachments = vec![Attachment {
        kind: AttachmentKind::Document,
        name: "boleto.pdf".into(),
        mime: "application/pdf".into(),
        size: 10,
        url: "https://files.example/1".into(),
    }];
    on_incoming(&mut c, &m);
    assert_eq!(c.last_message_preview, "📎 boleto.pdf");
}
