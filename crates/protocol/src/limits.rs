//! What an entity or an action may hold. Both sides check: the client before it queues an action
//! (so the agent hears about it at once), the server before it stores anything, and the client
//! again on everything the server sends (bad input never reaches the mirror).

use crate::{
    Action, Agent, Attachment, ChannelKind, Condition, Contact, ContactEdit, Conversation,
    ConversationEvent, ConversationState, CustomView, Direction, Entity, Message, MessageStatus,
    Millis, TemplateRef,
};

/// Longest text of a message, in characters (long emails included).
pub const MAX_TEXT_CHARS: usize = 100_000;
/// Attachments one message may carry.
pub const MAX_ATTACHMENTS: usize = 10;
/// Largest attachment, in bytes.
pub const MAX_ATTACHMENT_BYTES: u64 = 100 * 1024 * 1024;
/// Longest name, email, tag, field key, view name... in characters.
pub const MAX_SHORT_TEXT_CHARS: usize = 255;
/// Longest private comment or closing note, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;
/// How deep a custom view's AND/OR nesting may go, and how many conditions it may hold.
pub const MAX_VIEW_DEPTH: usize = 8;
pub const MAX_VIEW_CONDITIONS: usize = 64;
/// Messages one archive, restore or delete may name.
pub const MAX_BATCH: usize = 1_000;
/// Tags and custom fields on one contact.
pub const MAX_TAGS: usize = 100;
pub const MAX_FIELDS: usize = 100;
/// Quick replies of one team, and templates of one channel.
pub const MAX_SNIPPETS: usize = 500;
/// An email subject, in characters (RFC 5322 lines stop at 998).
pub const MAX_SUBJECT_CHARS: usize = 998;
/// The messaging window of channels that have one.
pub const MESSAGING_WINDOW_MS: Millis = 24 * 60 * 60 * 1000;

/// Channel-specific cap on outgoing text, in characters.
pub fn max_outgoing_chars(channel: ChannelKind) -> usize {
    match channel {
        ChannelKind::Whatsapp | ChannelKind::Telegram => 4_096,
        ChannelKind::Sms => 1_600,
        ChannelKind::Instagram | ChannelKind::Messenger => 2_000,
        ChannelKind::Email | ChannelKind::WebChat => MAX_TEXT_CHARS,
    }
}

/// What is wrong with a value, in words an agent or an integrator can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ValidationError {
    pub field: &'static str,
    pub problem: String,
}

fn invalid(field: &'static str, problem: impl Into<String>) -> ValidationError {
    ValidationError {
        field,
        problem: problem.into(),
    }
}

fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    // Counting chars is O(n); a byte length under the cap proves the char count is too.
    if value.len() > max && value.chars().count() > max {
        return Err(invalid(field, format!("longer than {max} characters")));
    }
    Ok(())
}

fn check_time(field: &'static str, at: Millis) -> Result<(), ValidationError> {
    // Year 1970 to year 3000: anything else is a unit mix-up or garbage.
    if !(0..=32_503_680_000_000).contains(&at) {
        return Err(invalid(
            field,
            format!("{at} is not a time in milliseconds"),
        ));
    }
    Ok(())
}

/// Digits only, as the product asks for phone numbers ("5511987654321").
pub fn check_phone(field: &'static str, phone: &str) -> Result<(), ValidationError> {
    if phone.len() > 20 || !phone.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(field, "a phone number is digits only, at most 20"));
    }
    Ok(())
}

fn check_template(t: &Option<TemplateRef>) -> Result<(), ValidationError> {
    if let Some(t) = t {
        if t.name.is_empty() {
            return Err(invalid("template", "has no name"));
        }
        check_len("template", &t.name, MAX_SHORT_TEXT_CHARS)?;
        if t.params.len() > 50 {
            return Err(invalid("template", "more than 50 parameters"));
        }
        for p in &t.params {
            check_len("template", p, 1_024)?;
        }
    }
    Ok(())
}

/// A file's name as both sides keep it: without any folder part (`C:\docs\a.pdf` is `a.pdf`),
/// without control or bidirectional-override characters (which make `invoice\u{202E}fdp.exe`
/// read as `invoiceexe.pdf`), trimmed; empty when it names no file.
pub fn file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !hidden_in_a_name(*c)).collect();
    clean.trim().to_owned()
}

/// Characters a file's name never keeps: controls, and the marks that reorder or hide text.
fn hidden_in_a_name(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}'
        )
}

/// A media type as both sides keep it: `type/subtype`, lower case, printable tokens, no
/// parameters ("Image/PNG; q=1" is "image/png"); none when it is not one.
pub fn plain_mime(mime: &str) -> Option<String> {
    let mime = mime.split(';').next()?.trim().to_ascii_lowercase();
    let (kind, sub) = mime.split_once('/')?;
    let token = |t: &str| {
        !t.is_empty()
            && t.len() <= 100
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    (token(kind) && token(sub)).then_some(mime)
}

/// What an agent attaches: uploads to the Outpost server, each named, typed, at most 100 MiB.
fn check_outgoing_attachments(attachments: &[Attachment]) -> Result<(), ValidationError> {
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(invalid(
            "attachments",
            format!("more than {MAX_ATTACHMENTS}"),
        ));
    }
    for a in attachments {
        if a.name.trim().is_empty() {
            return Err(invalid("attachments", "a file needs a name"));
        }
        check_len("attachments", &a.name, MAX_SHORT_TEXT_CHARS)?;
        check_len("attachments", &a.mime, MAX_SHORT_TEXT_CHARS)?;
        if a.size > MAX_ATTACHMENT_BYTES {
            return Err(invalid(
                "attachments",
                format!("{} is larger than 100 MiB", a.name),
            ));
        }
        if a.upload_id().is_none() {
            return Err(invalid(
                "attachments",
                format!("{} is not an upload to the Outpost server", a.name),
            ));
        }
    }
    Ok(())
}

fn check_outgoing_text(
    channel: Option<ChannelKind>,
    text: &str,
    template: &Option<TemplateRef>,
    attachments: usize,
) -> Result<(), ValidationError> {
    check_template(template)?;
    if text.trim().is_empty() && template.is_none() && attachments == 0 {
        return Err(invalid(
            "text",
            "a message needs text, a template or an attachment",
        ));
    }
    let max = channel.map_or(MAX_TEXT_CHARS, max_outgoing_chars);
    check_len("text", text, max)
}

impl Message {
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_len("text", &self.text, MAX_TEXT_CHARS)?;
        check_time("created_at", self.created_at)?;
        if self.attachments.len() > MAX_ATTACHMENTS {
            return Err(invalid(
                "attachments",
                format!("more than {MAX_ATTACHMENTS}"),
            ));
        }
        for a in &self.attachments {
            check_len("attachments", &a.name, MAX_SHORT_TEXT_CHARS)?;
            if a.size > MAX_ATTACHMENT_BYTES {
                return Err(invalid(
                    "attachments",
                    format!("{} is larger than 100 MiB", a.name),
                ));
            }
        }
        check_template(&self.template)?;
        match self.direction {
            Direction::Incoming => {
                if self.status != MessageStatus::Received {
                    return Err(invalid("status", "an incoming message is always received"));
                }
            }
            Direction::Outgoing => {
                if self.status == MessageStatus::Received {
                    return Err(invalid("status", "an outgoing message is never 'received'"));
                }
                if self.archived || self.via_flow {
                    return Err(invalid(
                        "archived",
                        "only incoming messages are archived or flow-handled",
                    ));
                }
            }
        }
        if self.status == MessageStatus::Scheduled && self.send_at.is_none() {
            return Err(invalid("send_at", "a scheduled message needs a time"));
        }
        if let Some(at) = self.send_at {
            check_time("send_at", at)?;
        }
        for s in &self.history {
            check_time("history", s.at)?;
        }
        if let Some(f) = &self.failure {
            check_len("failure", f, MAX_NOTE_CHARS)?;
        }
        if let Some(subject) = &self.subject {
            check_len("subject", subject, MAX_SUBJECT_CHARS)?;
        }
        if let Some(at) = self.edited_at {
            check_time("edited_at", at)?;
        }
        check_len("sender", &self.sender.name, MAX_SHORT_TEXT_CHARS)
    }
}

impl Conversation {
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_time("created_at", self.created_at)?;
        check_time("opened_at", self.opened_at)?;
        check_time("last_message_at", self.last_message_at)?;
        if let Some(at) = self.last_incoming_at {
            check_time("last_incoming_at", at)?;
        }
        match (self.state, self.snoozed_until) {
            (ConversationState::Snoozed, None) => {
                return Err(invalid(
                    "snoozed_until",
                    "a snoozed conversation needs a wake-up time",
                ));
            }
            (ConversationState::Snoozed, Some(at)) => check_time("snoozed_until", at)?,
            (_, Some(_)) => {
                return Err(invalid(
                    "snoozed_until",
                    "set on a conversation that is not snoozed",
                ));
            }
            (_, None) => {}
        }
        check_len(
            "last_message_preview",
            &self.last_message_preview,
            MAX_SHORT_TEXT_CHARS,
        )?;
        check_len("closing_note", &self.closing_note, MAX_NOTE_CHARS)?;
        check_len(
            "closing_category",
            &self.closing_category,
            MAX_SHORT_TEXT_CHARS,
        )
    }
}

impl Contact {
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_len("name", &self.name, MAX_SHORT_TEXT_CHARS)?;
        check_phone("phone", &self.phone)?;
        check_len("email", &self.email, MAX_SHORT_TEXT_CHARS)?;
        check_len("country", &self.country, 8)?;
        check_len("language", &self.language, 35)?;
        check_len("avatar_url", &self.avatar_url, 2_048)?;
        check_len("private_comment", &self.private_comment, MAX_NOTE_CHARS)?;
        check_time("created_at", self.created_at)?;
        if self.tags.len() > MAX_TAGS {
            return Err(invalid("tags", format!("more than {MAX_TAGS}")));
        }
        for t in &self.tags {
            if t.trim().is_empty() {
                return Err(invalid("tags", "a tag cannot be empty"));
            }
            check_len("tags", t, MAX_SHORT_TEXT_CHARS)?;
        }
        if self.fields.len() > MAX_FIELDS {
            return Err(invalid("fields", format!("more than {MAX_FIELDS}")));
        }
        for (k, v) in &self.fields {
            check_len("fields", k, MAX_SHORT_TEXT_CHARS)?;
            check_len("fields", v, 4_096)?;
        }
        for i in &self.identities {
            check_len("identities", &i.address, MAX_SHORT_TEXT_CHARS)?;
        }
        Ok(())
    }
}

impl ContactEdit {
    /// Applies the edit to a copy of the contact; the result is validated as a whole.
    pub fn applied_to(&self, contact: &Contact) -> Result<Contact, ValidationError> {
        let mut c = contact.clone();
        if let Some(v) = &self.name {
            c.name = v.trim().to_owned();
        }
        if let Some(v) = &self.phone {
            c.phone = v.clone();
        }
        if let Some(v) = &self.email {
            c.email = v.trim().to_owned();
        }
        if let Some(v) = &self.country {
            c.country = v.clone();
        }
        if let Some(v) = &self.language {
            c.language = v.clone();
        }
        if let Some(v) = &self.tags {
            let mut tags: Vec<String> = v.iter().map(|t| t.trim().to_owned()).collect();
            tags.sort();
            tags.dedup();
            c.tags = tags;
        }
        if let Some(v) = &self.fields {
            c.fields = v.clone();
        }
        if let Some(v) = &self.private_comment {
            c.private_comment = v.clone();
        }
        c.validate()?;
        Ok(c)
    }
}

impl Condition {
    fn check(&self, depth: usize, count: &mut usize) -> Result<(), ValidationError> {
        *count += 1;
        if depth > MAX_VIEW_DEPTH {
            return Err(invalid(
                "filter",
                format!("nested deeper than {MAX_VIEW_DEPTH} levels"),
            ));
        }
        if *count > MAX_VIEW_CONDITIONS {
            return Err(invalid(
                "filter",
                format!("more than {MAX_VIEW_CONDITIONS} conditions"),
            ));
        }
        match self {
            Condition::All { of } | Condition::Any { of } => {
                of.iter().try_for_each(|c| c.check(depth + 1, count))
            }
            Condition::Contact { value, .. } => check_len("filter", value, MAX_SHORT_TEXT_CHARS),
            Condition::CustomField { key, value, .. } => {
                check_len("filter", key, MAX_SHORT_TEXT_CHARS)?;
                check_len("filter", value, MAX_SHORT_TEXT_CHARS)
            }
            Condition::Tag { tag, .. } => check_len("filter", tag, MAX_SHORT_TEXT_CHARS),
            Condition::LastChannel { .. } => Ok(()),
            Condition::SinceLastIncoming { minutes, .. } => {
                if !(0..=10 * 365 * 24 * 60).contains(minutes) {
                    return Err(invalid("filter", "minutes must be between 0 and ten years"));
                }
                Ok(())
            }
        }
    }
}

impl CustomView {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.name.trim().is_empty() {
            return Err(invalid("name", "a view needs a name"));
        }
        check_len("name", &self.name, MAX_SHORT_TEXT_CHARS)?;
        self.filter.check(1, &mut 0)
    }
}

impl Agent {
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_len("name", &self.name, MAX_SHORT_TEXT_CHARS)?;
        check_len("email", &self.email, MAX_SHORT_TEXT_CHARS)
    }
}

impl ConversationEvent {
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_time("at", self.at)?;
        check_len("actor", &self.actor.name, MAX_SHORT_TEXT_CHARS)
    }
}

impl crate::Call {
    pub fn validate(&self) -> Result<(), ValidationError> {
        use crate::CallOutcome;
        check_time("started_at", self.started_at)?;
        if self.provider_id.trim().is_empty() {
            return Err(invalid("provider_id", "a call needs the provider's id"));
        }
        check_len("provider_id", &self.provider_id, MAX_SHORT_TEXT_CHARS)?;
        for (field, t) in [
            ("answered_at", self.answered_at),
            ("ended_at", self.ended_at),
        ] {
            if let Some(t) = t {
                check_time(field, t)?;
            }
        }
        if self.ended_at.is_some_and(|e| e < self.started_at) {
            return Err(invalid("ended_at", "before the call began"));
        }
        if self.outcome == CallOutcome::Ongoing && self.ended_at.is_some() {
            return Err(invalid("outcome", "an ended call needs its outcome"));
        }
        if self.outcome != CallOutcome::Ongoing && self.ended_at.is_none() {
            return Err(invalid("ended_at", "an ended call needs its end"));
        }
        if self.duration_secs.is_some() && self.outcome != CallOutcome::Answered {
            return Err(invalid("duration_secs", "only an answered call lasts"));
        }
        if let Some(f) = &self.failure {
            check_len("failure", f, MAX_NOTE_CHARS)?;
        }
        Ok(())
    }
}

impl crate::Team {
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_len("name", &self.name, MAX_SHORT_TEXT_CHARS)?;
        if self.quick_replies.len() > MAX_SNIPPETS {
            return Err(invalid(
                "quick_replies",
                format!("more than {MAX_SNIPPETS}"),
            ));
        }
        for q in &self.quick_replies {
            if q.shortcut.trim().is_empty() || q.text.trim().is_empty() {
                return Err(invalid(
                    "quick_replies",
                    "a quick reply needs a shortcut and a text",
                ));
            }
            check_len("shortcut", &q.shortcut, MAX_SHORT_TEXT_CHARS)?;
            check_len("text", &q.text, MAX_NOTE_CHARS)?;
        }
        Ok(())
    }
}

impl crate::Channel {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.name.trim().is_empty() {
            return Err(invalid("name", "is empty"));
        }
        check_len("name", &self.name, MAX_SHORT_TEXT_CHARS)?;
        if self.templates.len() > MAX_SNIPPETS {
            return Err(invalid("templates", format!("more than {MAX_SNIPPETS}")));
        }
        for t in &self.templates {
            if t.name.trim().is_empty() || t.language.trim().is_empty() {
                return Err(invalid(
                    "templates",
                    "a template needs a name and a language",
                ));
            }
            check_len("name", &t.name, MAX_SHORT_TEXT_CHARS)?;
            check_len("language", &t.language, 16)?;
            check_len("body", &t.body, MAX_NOTE_CHARS)?;
        }
        Ok(())
    }
}

impl Entity {
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Entity::Contact(c) => c.validate(),
            Entity::Conversation(c) => c.validate(),
            Entity::Message(m) => m.validate(),
            Entity::Event(e) => e.validate(),
            Entity::Call(c) => c.validate(),
            Entity::Agent(a) => a.validate(),
            Entity::Team(t) => t.validate(),
            Entity::Channel(c) => c.validate(),
            Entity::View(v) => v.validate(),
            Entity::Settings(s) => s.validate(),
        }
    }
}

fn check_batch(ids: usize) -> Result<(), ValidationError> {
    if ids == 0 {
        return Err(invalid("message_ids", "names no message"));
    }
    if ids > MAX_BATCH {
        return Err(invalid(
            "message_ids",
            format!("more than {MAX_BATCH} messages at once"),
        ));
    }
    Ok(())
}

impl Action {
    /// Checks what can be checked without the workspace's state (lengths, shapes, times).
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Action::SendMessage {
                text,
                attachments,
                template,
                ..
            } => {
                check_outgoing_attachments(attachments)?;
                check_outgoing_text(None, text, template, attachments.len())
            }
            Action::ScheduleMessage {
                text,
                attachments,
                template,
                send_at,
                ..
            } => {
                check_time("send_at", *send_at)?;
                check_outgoing_attachments(attachments)?;
                check_outgoing_text(None, text, template, attachments.len())
            }
            Action::EditScheduled { text, send_at, .. } => {
                check_time("send_at", *send_at)?;
                check_outgoing_text(None, text, &None, 0)
            }
            Action::RetryMessage { text, template, .. } => {
                check_outgoing_text(None, text, template, 0)
            }
            Action::WriteFirst {
                channel,
                address,
                text,
                template,
                ..
            } => {
                if address.trim().is_empty() {
                    return Err(invalid("address", "needs a phone number or a username"));
                }
                if matches!(channel, ChannelKind::Whatsapp | ChannelKind::Sms) {
                    check_phone("address", address)?;
                } else {
                    check_len("address", address, MAX_SHORT_TEXT_CHARS)?;
                }
                check_outgoing_text(Some(*channel), text, template, 0)
            }
            Action::Archive { message_ids }
            | Action::Restore { message_ids }
            | Action::DeleteArchived { message_ids } => check_batch(message_ids.len()),
            Action::Close { note, category, .. } => {
                check_len("note", note, MAX_NOTE_CHARS)?;
                check_len("category", category, MAX_SHORT_TEXT_CHARS)
            }
            Action::Snooze { until, .. } => check_time("until", *until),
            Action::EditContact { edit, .. } => {
                if let Some(p) = &edit.phone {
                    check_phone("phone", p)?;
                }
                Ok(())
            }
            Action::SaveView { view } => view.validate(),
            Action::SaveNotifySettings { settings } => settings.validate(),
            Action::CancelScheduled { .. }
            | Action::DiscardMessage { .. }
            | Action::Assign { .. }
            | Action::SetTeam { .. }
            | Action::Reopen { .. }
            | Action::Unsnooze { .. }
            | Action::SetUnanswered { .. }
            | Action::MarkRead { .. }
            | Action::DeleteConversation { .. }
            | Action::SetBot { .. }
            | Action::DeleteView { .. }
            | Action::SetAvailability { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod limits_tests;
