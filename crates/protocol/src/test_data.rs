//! Test data shared by every crate's tests (as matrix-rust-sdk's `matrix-sdk-test` is): the
//! entities a test needs, each with every field filled the usual way, so that a test names only
//! what it is about (`conversation(&ana, T0)` then `c.assignee = …`) and a field added to an
//! entity is added here once. Behind the `test-data` feature (dev-dependencies only).

use crate::*;

/// 2026-01-01 00:00 UTC, the time tests start at unless they say otherwise.
pub const T0: Millis = 1_767_225_600_000;
pub const MINUTE: Millis = 60_000;
pub const HOUR: Millis = 60 * MINUTE;

/// An agent, available, with the email `name@outpost.example` (lower case).
pub fn agent(name: &str, role: Role, visibility: Visibility, teams: Vec<TeamId>) -> Agent {
    let email = format!("{}@outpost.example", name.to_lowercase().replace(' ', "."));
    Agent::new(AgentId::new(), name, &email, role, visibility, teams)
}

/// A Brazilian contact on WhatsApp (phone 55 11 98765-4321), known since `since`.
pub fn contact_since(name: &str, since: Millis) -> Contact {
    let mut c = Contact::reached_at(
        ContactId::new(),
        ChannelKind::Whatsapp,
        "5511987654321",
        name,
        since,
    );
    c.identities.clear();
    c.country = "BR".to_owned();
    c.language = "pt-BR".to_owned();
    c
}

/// An open WhatsApp conversation with `contact`, opened at `at`, nothing in it yet.
pub fn conversation(contact: &Contact, at: Millis) -> Conversation {
    Conversation::new(ConversationId::new(), contact.id, ChannelKind::Whatsapp, at)
}

/// The contact's message in `c`, received at `at`.
pub fn incoming(c: &Conversation, text: &str, at: Millis) -> Message {
    Message::new(
        MessageId::new(),
        c,
        Direction::Incoming,
        Sender::named(SenderKind::Contact, ""),
        text,
        MessageStatus::Received,
        at,
    )
}

/// `agent`'s message `id` in `c`, pending since `at`.
pub fn outgoing(agent: &Agent, id: MessageId, c: &Conversation, text: &str, at: Millis) -> Message {
    Message::new(
        id,
        c,
        Direction::Outgoing,
        Sender::agent(agent),
        text,
        MessageStatus::Pending,
        at,
    )
}

/// An event of `c` at `at`, by the system (set `actor` for someone else's).
pub fn event(c: &Conversation, kind: EventKind, at: Millis) -> ConversationEvent {
    ConversationEvent {
        id: EventId::new(),
        conversation_id: c.id,
        at,
        actor: Actor {
            kind: ActorKind::System,
            agent_id: None,
            name: String::new(),
        },
        kind,
    }
}

/// A call of `c` that began to ring at `at`, ended 30 s later with `outcome` (answered: 25 s
/// talked; failed: WhatsApp's 138006), or still ringing (`Ongoing`).
pub fn call(c: &Conversation, direction: Direction, outcome: CallOutcome, at: Millis) -> Call {
    let answered = outcome == CallOutcome::Answered;
    Call {
        id: CallId::new(),
        conversation_id: c.id,
        contact_id: c.contact_id,
        channel: c.channel,
        channel_id: c.channel_id,
        provider_id: format!("wacid.{}", CallId::new()),
        direction,
        started_at: at,
        answered_at: answered.then_some(at + 5_000),
        ended_at: (outcome != CallOutcome::Ongoing).then_some(at + 30_000),
        duration_secs: answered.then_some(25),
        outcome,
        failure: (outcome == CallOutcome::Failed)
            .then(|| "(#138006) Lack of call request permission".into()),
        failure_reason: None,
    }
}
