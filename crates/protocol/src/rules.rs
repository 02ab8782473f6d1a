//! The product's rules, as pure functions that both sides call: the server to enforce them, the
//! client to mirror them at once. Each conversation rule changes a [`Conversation`] in place and
//! returns the timeline events it implies, or refuses with a [`RuleError`] the agent can read.

use crate::{
    Agent, AgentId, Availability, Call, Conversation, ConversationState, Direction, ErrorCode,
    EventKind, Message, Millis, Reason, Role, Visibility, limits::MESSAGING_WINDOW_MS,
};

/// A refusal: the code for programs, the reason for people (in English, for logs and
/// integrations) and `why`, a key with its values, for the interface to say in the agent's
/// language.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct RuleError {
    pub code: ErrorCode,
    pub reason: String,
    pub why: Reason,
}

/// A refusal with `code`, the stable `key` of its sentence and the sentence in English.
pub fn refuse(code: ErrorCode, key: &str, reason: impl Into<String>) -> RuleError {
    RuleError {
        code,
        reason: reason.into(),
        why: Reason::new(key),
    }
}

impl RuleError {
    /// A value the sentence names (a channel, an agent's name).
    pub fn with(mut self, name: &str, value: impl Into<String>) -> RuleError {
        self.why = self.why.with(name, value);
        self
    }
}

/// Owners and admins see and may do everything.
pub fn is_privileged(agent: &Agent) -> bool {
    matches!(agent.role, Role::Owner | Role::Admin)
}

/// Whether `agent` may see `conversation`: unrestricted agents see all; team-restricted agents
/// see their own and their teams'; own-only agents see their own.
pub fn may_see(agent: &Agent, conversation: &Conversation) -> bool {
    if is_privileged(agent) {
        return true;
    }
    let mine = conversation.assignee == Some(agent.id);
    match agent.visibility {
        Visibility::Unrestricted => true,
        Visibility::Team => mine || conversation.team.is_some_and(|t| agent.teams.contains(&t)),
        Visibility::OwnOnly => mine,
    }
}

/// Deleting a conversation is for owners and admins.
pub fn may_delete_conversation(agent: &Agent) -> bool {
    is_privileged(agent)
}

/// Whether free text may be sent now: always, on channels with no messaging window; within 24
/// hours of the contact's last message on the others.
pub fn window_open(conversation: &Conversation, now: Millis) -> bool {
    if !conversation.channel.has_messaging_window() {
        return true;
    }
    conversation
        .last_incoming_at
        .is_some_and(|at| now.saturating_sub(at) < MESSAGING_WINDOW_MS)
}

/// The refusal for free text outside the window, said the same way everywhere.
pub fn window_closed(conversation: &Conversation) -> RuleError {
    refuse(
        ErrorCode::WindowClosed,
 "window_closed",
        format!(
            "The 24-hour window on {} has closed: the contact last wrote more than 24 hours ago, so only an approved template can be sent.",
            conversation.channel.as_str()
        ),
    )
.with("channel", conversation.channel.as_str())
}

/// The refusal for free text that would go out after the window has closed: scheduled
/// or edited for a time past it, or due once it closed.
pub fn window_closed_by(conversation: &Conversation) -> RuleError {
    refuse(
        ErrorCode::WindowClosed,
 "window_closed_by",
        format!(
            "The 24-hour window on {} will have closed by the time this goes out: only an approved template can be sent then. Send it sooner, or use a template.",
            conversation.channel.as_str()
        ),
    )
.with("channel", conversation.channel.as_str())
}

/// The one-line preview of a message's text kept on its conversation.
pub fn preview(text: &str) -> String {
    cut(&text.split_whitespace().collect::<Vec<_>>().join(" "), 120)
}

/// `line` cut to `max` characters, ending in "…" when it was longer.
pub fn cut(line: &str, max: usize) -> String {
    if line.chars().count() <= max {
        line.to_owned()
    } else {
        let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

fn note_last_message(c: &mut Conversation, m: &Message) {
    // Histories arrive out of order: only a newer message moves the "last message".
    if m.created_at >= c.last_message_at {
        c.last_message_at = m.created_at;
        c.last_message_direction = Some(m.direction);
        c.last_message_preview = message_preview(m);
        c.channel = m.channel;
    }
}

/// A message in one line of plain text (lists, notifications): its text, else the names of its
/// files, else its template's name.
pub fn message_preview(m: &Message) -> String {
    if m.text.trim().is_empty() && !m.attachments.is_empty() {
        // A file alone: its name, marked as a file (the same in every language).
        let names: Vec<&str> = m.attachments.iter().map(|a| a.name.as_str()).collect();
        preview(&format!("📎 {}", names.join(", ")))
    } else if let (true, Some(t)) = (m.text.trim().is_empty(), &m.template) {
        // A template without its text here: its name, as the channel lists it.
        preview(&format!("[{}]", t.name))
    } else {
        preview(&m.text)
    }
}

/// A message from the contact: reopens a closed conversation, wakes a snoozed one, and leaves it
/// waiting for our reply.
pub fn on_incoming(c: &mut Conversation, m: &Message) -> Vec<EventKind> {
    let events = contact_came(c, m.created_at);
    waits_for_us(c);
    c.last_incoming_at = Some(
        c.last_incoming_at
            .map_or(m.created_at, |t| t.max(m.created_at)),
    );
    note_last_message(c, m);
    events
}

/// A call with the contact, first heard of (it rang, or the provider's report of its end came
/// first): a customer's call reopens a closed conversation and wakes a snoozed one, as their
/// message does. A call the business placed changes nothing.
pub fn on_call(c: &mut Conversation, call: &Call) -> Vec<EventKind> {
    if call.direction != Direction::Incoming {
        return Vec::new();
    }
    contact_came(c, call.started_at)
}

/// A customer's call nobody picked up: the conversation waits for our reply, with one more
/// thing unread, as after their message. (Calls never move the last message or the 24-hour
/// window: a call is not a message.)
pub fn on_missed_call(c: &mut Conversation) {
    waits_for_us(c);
}

/// The contact reached out at `at` (a message, a call): a closed conversation reopens, a
/// snoozed one wakes.
fn contact_came(c: &mut Conversation, at: Millis) -> Vec<EventKind> {
    match c.state {
        ConversationState::Closed => {
            c.state = ConversationState::Open;
            c.opened_at = at;
            vec![EventKind::Opened { first: false }]
        }
        ConversationState::Snoozed => {
            c.state = ConversationState::Open;
            c.snoozed_until = None;
            vec![EventKind::Unsnoozed]
        }
        ConversationState::Open => Vec::new(),
    }
}

/// Something of the contact's waits for our reply, one more thing unread.
fn waits_for_us(c: &mut Conversation) {
    c.unanswered = true;
    c.unread_count = c.unread_count.saturating_add(1);
}

/// A message a machine sent for the contact (an email auto-reply: `Auto-Submitted`): kept in
/// the conversation, but it neither reopens a closed or snoozed one nor asks for a reply, and it
/// opens no messaging window.
pub fn on_automatic(c: &mut Conversation, m: &Message) -> Vec<EventKind> {
    if c.state == ConversationState::Open {
        c.unread_count = c.unread_count.saturating_add(1);
    }
    note_last_message(c, m);
    Vec::new()
}

/// A reply from the organisation. An agent's reply to an unassigned conversation assigns it to
/// them; any reply answers the contact.
pub fn on_reply(c: &mut Conversation, m: &Message) -> Vec<EventKind> {
    debug_assert_eq!(m.direction, Direction::Outgoing);
    let mut events = Vec::new();
    if c.assignee.is_none()
        && let Some(agent) = m.sender.agent_id
    {
        c.assignee = Some(agent);
        events.push(EventKind::Assigned {
            assignee: Some(agent),
        });
    }
    if c.unanswered {
        c.unanswered = false;
    }
    note_last_message(c, m);
    events
}

/// Assigns to `assignee` (unassigns with `None`). An away agent receives no new assignments.
pub fn assign(c: &mut Conversation, assignee: Option<&Agent>) -> Result<Vec<EventKind>, RuleError> {
    let new = assignee.map(|a| a.id);
    if c.assignee == new {
        return Ok(Vec::new());
    }
    if let Some(agent) = assignee
        && agent.availability == Availability::Away
    {
        return Err(refuse(
            ErrorCode::AgentAway,
            "agent_away",
            format!("{} is away and receives no new assignments.", agent.name),
        )
        .with("name", agent.name.clone()));
    }
    c.assignee = new;
    Ok(vec![EventKind::Assigned { assignee: new }])
}

/// Closes, unassigning it; a note and a category may be attached.
pub fn close(
    c: &mut Conversation,
    note: &str,
    category: &str,
) -> Result<Vec<EventKind>, RuleError> {
    if c.state == ConversationState::Closed {
        return Err(refuse(
            ErrorCode::WrongState,
            "already_closed",
            "This conversation is already closed.",
        ));
    }
    c.state = ConversationState::Closed;
    c.snoozed_until = None;
    c.assignee = None;
    c.closing_note = note.to_owned();
    c.closing_category = category.to_owned();
    Ok(vec![EventKind::Closed {
        note: note.to_owned(),
        category: category.to_owned(),
    }])
}

/// Opens a closed or snoozed conversation again.
pub fn reopen(c: &mut Conversation, at: Millis) -> Result<Vec<EventKind>, RuleError> {
    match c.state {
        ConversationState::Open => Err(refuse(
            ErrorCode::WrongState,
            "already_open",
            "This conversation is already open.",
        )),
        ConversationState::Snoozed => unsnooze(c),
        ConversationState::Closed => {
            c.state = ConversationState::Open;
            c.opened_at = at;
            Ok(vec![EventKind::Opened { first: false }])
        }
    }
}

/// Hides an open conversation until `until`.
pub fn snooze(
    c: &mut Conversation,
    until: Millis,
    now: Millis,
) -> Result<Vec<EventKind>, RuleError> {
    if c.state == ConversationState::Closed {
        return Err(refuse(
            ErrorCode::WrongState,
            "snooze_closed",
            "A closed conversation cannot be snoozed; reopen it first.",
        ));
    }
    if until <= now {
        return Err(refuse(
            ErrorCode::InvalidInput,
            "snooze_past",
            "Choose a time in the future to snooze until.",
        ));
    }
    c.state = ConversationState::Snoozed;
    c.snoozed_until = Some(until);
    Ok(vec![EventKind::Snoozed { until }])
}

/// Brings a snoozed conversation back before its time.
pub fn unsnooze(c: &mut Conversation) -> Result<Vec<EventKind>, RuleError> {
    if c.state != ConversationState::Snoozed {
        return Err(refuse(
            ErrorCode::WrongState,
            "not_snoozed",
            "This conversation is not snoozed.",
        ));
    }
    c.state = ConversationState::Open;
    c.snoozed_until = None;
    Ok(vec![EventKind::Unsnoozed])
}

/// The snooze timer: a snoozed conversation whose time has come opens again.
pub fn wake_if_due(c: &mut Conversation, now: Millis) -> Vec<EventKind> {
    match (c.state, c.snoozed_until) {
        (ConversationState::Snoozed, Some(until)) if until <= now => {
            c.state = ConversationState::Open;
            c.snoozed_until = None;
            vec![EventKind::Unsnoozed]
        }
        _ => Vec::new(),
    }
}

/// Marks as waiting for our reply, or as answered.
pub fn set_unanswered(c: &mut Conversation, unanswered: bool) -> Vec<EventKind> {
    if c.unanswered == unanswered {
        return Vec::new();
    }
    c.unanswered = unanswered;
    vec![if unanswered {
        EventKind::MarkedUnanswered
    } else {
        EventKind::MarkedAnswered
    }]
}

/// Whether `agent` is the assignee (used by "Mine").
pub fn is_mine(c: &Conversation, agent: AgentId) -> bool {
    c.assignee == Some(agent)
}

#[cfg(test)]
mod rules_tests;
