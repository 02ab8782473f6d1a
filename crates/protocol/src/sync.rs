//! The sync vocabulary: what the server tells a client ([`Change`], in pages of the change feed)
//! and what a client asks of the server ([`Op`]: one agent action, with the id that makes it
//! idempotent), and the server's answer to each op ([`OpResult`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{
    Agent, AgentId, Attachment, Availability, Call, CallId, Channel, ChannelId, ChannelKind,
    Contact, ContactId, Conversation, ConversationEvent, ConversationId, CustomView, EventId,
    Message, MessageId, Millis, NotifySettings, OpId, Team, TeamId, TemplateRef, ViewId,
};

/// An entity, as carried by a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Entity {
    Contact(Contact),
    Conversation(Conversation),
    Message(Message),
    Event(ConversationEvent),
    /// A call of a conversation (WhatsApp calling).
    Call(Call),
    Agent(Agent),
    Team(Team),
    Channel(Channel),
    View(CustomView),
    /// An agent's notification choices: only that agent's own feed carries them.
    Settings(NotifySettings),
}

/// The name of an entity, without its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum EntityRef {
    Contact(ContactId),
    Conversation(ConversationId),
    Message(MessageId),
    Event(EventId),
    Call(CallId),
    Agent(AgentId),
    Team(TeamId),
    Channel(ChannelId),
    View(ViewId),
    /// The notification settings of the agent.
    Settings(AgentId),
}

impl Entity {
    pub fn reference(&self) -> EntityRef {
        match self {
            Entity::Contact(c) => EntityRef::Contact(c.id),
            Entity::Conversation(c) => EntityRef::Conversation(c.id),
            Entity::Message(m) => EntityRef::Message(m.id),
            Entity::Event(e) => EntityRef::Event(e.id),
            Entity::Call(c) => EntityRef::Call(c.id),
            Entity::Agent(a) => EntityRef::Agent(a.id),
            Entity::Team(t) => EntityRef::Team(t.id),
            Entity::Channel(c) => EntityRef::Channel(c.id),
            Entity::View(v) => EntityRef::View(v.id),
            Entity::Settings(s) => EntityRef::Settings(s.agent_id),
        }
    }

    /// The entity's own data as JSON, without the kind (as stores keep it beside its kind).
    pub fn data_json(&self) -> serde_json::Result<String> {
        match self {
            Entity::Contact(x) => serde_json::to_string(x),
            Entity::Conversation(x) => serde_json::to_string(x),
            Entity::Message(x) => serde_json::to_string(x),
            Entity::Event(x) => serde_json::to_string(x),
            Entity::Call(x) => serde_json::to_string(x),
            Entity::Agent(x) => serde_json::to_string(x),
            Entity::Team(x) => serde_json::to_string(x),
            Entity::Channel(x) => serde_json::to_string(x),
            Entity::View(x) => serde_json::to_string(x),
            Entity::Settings(x) => serde_json::to_string(x),
        }
    }

    /// An entity from its kind (`EntityRef`'s name: "contact", "message"…) and its data as
    /// [`Entity::data_json`] wrote it; `Ok(None)` for a kind this version does not know.
    pub fn from_data_json(kind: &str, json: &str) -> serde_json::Result<Option<Entity>> {
        Ok(Some(match kind {
            "contact" => Entity::Contact(serde_json::from_str(json)?),
            "conversation" => Entity::Conversation(serde_json::from_str(json)?),
            "message" => Entity::Message(serde_json::from_str(json)?),
            "event" => Entity::Event(serde_json::from_str(json)?),
            "call" => Entity::Call(serde_json::from_str(json)?),
            "agent" => Entity::Agent(serde_json::from_str(json)?),
            "team" => Entity::Team(serde_json::from_str(json)?),
            "channel" => Entity::Channel(serde_json::from_str(json)?),
            "view" => Entity::View(serde_json::from_str(json)?),
            "settings" => Entity::Settings(serde_json::from_str(json)?),
            _ => return Ok(None),
        }))
    }
}

/// One entry of the change feed.
// Upserts are nearly every change of a feed: boxing them would only add an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ChangeKind {
    /// The latest state of an entity the agent may see.
    Upsert { entity: Entity },
    /// The entity was deleted.
    Tombstone { entity: EntityRef },
    /// The agent may no longer see the entity (and, for a conversation, its messages and events):
    /// the client purges it.
    Revoke { entity: EntityRef },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Change {
    /// The workspace's sequence number of this change: strictly increasing along the feed.
    pub seq: u64,
    #[serde(flatten)]
    pub kind: ChangeKind,
}

/// A page of `GET /v1/changes?after=SEQ&limit=N`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChangesPage {
    pub changes: Vec<Change>,
    /// Where the next page starts: `after=cursor`.
    pub cursor: u64,
    pub has_more: bool,
    /// The last seq of the whole feed when the page was read: how far a first sync has to go
    /// (for its progress). Zero from a server that does not say.
    #[serde(default)]
    pub head: u64,
}

impl ChangesPage {
    /// A page must move forward from `cursor`: every change after it, in strictly increasing
    /// order, none past the page's own cursor, every entity valid. The reason when it does not.
    pub fn check(&self, cursor: u64) -> Result<(), String> {
        if self.cursor < cursor {
            return Err(format!(
                "the page's cursor {} is behind the stored cursor {cursor}",
                self.cursor
            ));
        }
        let mut last = cursor;
        for change in &self.changes {
            if change.seq <= last {
                return Err(format!(
                    "change {} is out of order (after {last})",
                    change.seq
                ));
            }
            if change.seq > self.cursor {
                return Err(format!(
                    "change {} lies beyond the page's cursor {}",
                    change.seq, self.cursor
                ));
            }
            last = change.seq;
            if let ChangeKind::Upsert { entity } = &change.kind {
                entity
                    .validate()
                    .map_err(|e| format!("change {}: {e}", change.seq))?;
            }
        }
        Ok(())
    }
}

/// The body of `POST /v1/ops`: the agent's ops, applied in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpsRequest {
    pub ops: Vec<Op>,
}

/// `GET /v1/recent?conversations=N`: the agent's most recently active conversations with their
/// contacts, latest messages and events, plus the agents, teams and views they refer to, as the
/// feed has them at `head`. A first sync stores it before the feed, so the agent can work on
/// what is recent while the history streams in. The cursor does not move: the feed brings the
/// same entities again (or newer versions of them) in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RecentSnapshot {
    pub changes: Vec<Change>,
    pub head: u64,
}

/// A partial edit of a contact card: only the fields that are set change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ContactEdit {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub country: Option<String>,
    pub language: Option<String>,
    pub tags: Option<Vec<String>>,
    pub fields: Option<BTreeMap<String, String>>,
    pub private_comment: Option<String>,
}

/// Every action an agent can take. Each is applied to the local mirror at once and sent to the
/// server as an [`Op`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Send now. `message_id` is chosen by the client: the server keeps it, so a retried send
    /// never makes a second message.
    SendMessage {
        message_id: MessageId,
        conversation_id: ConversationId,
        text: String,
        attachments: Vec<Attachment>,
        template: Option<TemplateRef>,
        reply_to: Option<MessageId>,
    },
    /// Send at `send_at`, by the server.
    ScheduleMessage {
        message_id: MessageId,
        conversation_id: ConversationId,
        text: String,
        attachments: Vec<Attachment>,
        template: Option<TemplateRef>,
        send_at: Millis,
    },
    /// Edit or reschedule a message that is still scheduled.
    EditScheduled {
        message_id: MessageId,
        text: String,
        send_at: Millis,
    },
    CancelScheduled {
        message_id: MessageId,
    },
    /// Send a failed message again, edited; a template replaces the text when one is given.
    RetryMessage {
        message_id: MessageId,
        text: String,
        template: Option<TemplateRef>,
    },
    /// Drop a failed message.
    DiscardMessage {
        message_id: MessageId,
    },
    /// Start a conversation: a channel, an address (digits only for phone channels), a first message.
    WriteFirst {
        conversation_id: ConversationId,
        contact_id: ContactId,
        message_id: MessageId,
        channel: ChannelKind,
        address: String,
        text: String,
        template: Option<TemplateRef>,
    },
    Archive {
        message_ids: Vec<MessageId>,
    },
    Restore {
        message_ids: Vec<MessageId>,
    },
    /// Delete messages for good: only archived ones.
    DeleteArchived {
        message_ids: Vec<MessageId>,
    },
    /// Assign to an agent, or unassign when `assignee` is none.
    Assign {
        conversation_id: ConversationId,
        assignee: Option<AgentId>,
    },
    SetTeam {
        conversation_id: ConversationId,
        team: Option<TeamId>,
    },
    Close {
        conversation_id: ConversationId,
        note: String,
        category: String,
    },
    Reopen {
        conversation_id: ConversationId,
    },
    Snooze {
        conversation_id: ConversationId,
        until: Millis,
    },
    Unsnooze {
        conversation_id: ConversationId,
    },
    /// Mark as waiting for our reply (`true`) or answered (`false`).
    SetUnanswered {
        conversation_id: ConversationId,
        unanswered: bool,
    },
    MarkRead {
        conversation_id: ConversationId,
    },
    /// Owner or admin only: removes the conversation's history from the inbox.
    DeleteConversation {
        conversation_id: ConversationId,
    },
    EditContact {
        contact_id: ContactId,
        edit: ContactEdit,
    },
    SetBot {
        contact_id: ContactId,
        enabled: bool,
    },
    /// Create a custom view, or change one the agent created.
    SaveView {
        view: CustomView,
    },
    DeleteView {
        view_id: ViewId,
    },
    SetAvailability {
        availability: Availability,
    },
    /// Store the agent's own notification choices.
    SaveNotifySettings {
        settings: NotifySettings,
    },
}

impl Action {
    /// The files a message of this action carries (none for every other action).
    pub fn attachments(&self) -> &[Attachment] {
        match self {
            Action::SendMessage { attachments, .. }
            | Action::ScheduleMessage { attachments, .. } => attachments,
            _ => &[],
        }
    }

    /// The stable name of the action's kind, as on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::SendMessage { .. } => "send_message",
            Action::ScheduleMessage { .. } => "schedule_message",
            Action::EditScheduled { .. } => "edit_scheduled",
            Action::CancelScheduled { .. } => "cancel_scheduled",
            Action::RetryMessage { .. } => "retry_message",
            Action::DiscardMessage { .. } => "discard_message",
            Action::WriteFirst { .. } => "write_first",
            Action::Archive { .. } => "archive",
            Action::Restore { .. } => "restore",
            Action::DeleteArchived { .. } => "delete_archived",
            Action::Assign { .. } => "assign",
            Action::SetTeam { .. } => "set_team",
            Action::Close { .. } => "close",
            Action::Reopen { .. } => "reopen",
            Action::Snooze { .. } => "snooze",
            Action::Unsnooze { .. } => "unsnooze",
            Action::SetUnanswered { .. } => "set_unanswered",
            Action::MarkRead { .. } => "mark_read",
            Action::DeleteConversation { .. } => "delete_conversation",
            Action::EditContact { .. } => "edit_contact",
            Action::SetBot { .. } => "set_bot",
            Action::SaveView { .. } => "save_view",
            Action::DeleteView { .. } => "delete_view",
            Action::SetAvailability { .. } => "set_availability",
            Action::SaveNotifySettings { .. } => "save_notify_settings",
        }
    }

    /// The conversation the action names, for "what was affected". Actions on a message name
    /// the message (its conversation is the message's); the others name no conversation. Every
    /// action is listed, so a new one must say which it is.
    pub fn conversation_id(&self) -> Option<ConversationId> {
        match self {
            Action::SendMessage {
                conversation_id, ..
            }
            | Action::ScheduleMessage {
                conversation_id, ..
            }
            | Action::WriteFirst {
                conversation_id, ..
            }
            | Action::Assign {
                conversation_id, ..
            }
            | Action::SetTeam {
                conversation_id, ..
            }
            | Action::Close {
                conversation_id, ..
            }
            | Action::Reopen {
                conversation_id, ..
            }
            | Action::Snooze {
                conversation_id, ..
            }
            | Action::Unsnooze {
                conversation_id, ..
            }
            | Action::SetUnanswered {
                conversation_id, ..
            }
            | Action::MarkRead {
                conversation_id, ..
            }
            | Action::DeleteConversation { conversation_id } => Some(*conversation_id),
            Action::EditScheduled { .. }
            | Action::CancelScheduled { .. }
            | Action::RetryMessage { .. }
            | Action::DiscardMessage { .. }
            | Action::Archive { .. }
            | Action::Restore { .. }
            | Action::DeleteArchived { .. }
            | Action::EditContact { .. }
            | Action::SetBot { .. }
            | Action::SaveView { .. }
            | Action::DeleteView { .. }
            | Action::SetAvailability { .. }
            | Action::SaveNotifySettings { .. } => None,
        }
    }
}

/// One agent action on its way to the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Op {
    /// UUID v7, chosen when the agent acted; the server keeps results by it.
    pub op_id: OpId,
    /// When the agent acted (the time its effects carry, wherever they are applied).
    pub at: Millis,
    pub action: Action,
}

/// Why the server refused an op, or a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidInput,
    TooLarge,
    NotFound,
    NotAllowed,
    Unauthenticated,
    /// Free text outside the channel's 24-hour window: only templates may be sent.
    WindowClosed,
    /// The agent is away and takes no new assignments.
    AgentAway,
    ConversationDeleted,
    /// The message is not in a state that allows this (not archived, no longer scheduled...).
    WrongState,
    Conflict,
    RateLimited,
    Internal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OpOutcome {
    /// Applied; its effects are in the change feed at or before `seq`.
    Applied { seq: u64 },
    /// Refused, with a reason to show to the agent. Nothing changed at the server.
    Refused {
        code: ErrorCode,
        reason: String,
        /// The reason's key and values, for the agent's language.
        #[serde(default)]
        why: Option<Reason>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OpResult {
    pub op_id: OpId,
    #[serde(flatten)]
    pub outcome: OpOutcome,
}

/// An error as it crosses a boundary (HTTP body, bridge to the UI): a code for programs, a
/// sentence in English (logs, integrations), and `reason`, for the interface to say it in the
/// agent's language (none from an older server: then the sentence is shown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default)]
    pub reason: Option<Reason>,
}

impl ErrorBody {
    /// An error with its reason's key and values.
    pub fn because(code: ErrorCode, message: impl Into<String>, reason: Reason) -> ErrorBody {
        ErrorBody {
            code,
            message: message.into(),
            reason: Some(reason),
        }
    }
}

/// Why something was refused or failed, as the interface phrases it: the stable key of its
/// sentence (`window_closed`; the interface's `reasons.window_closed`) and the values that
/// sentence names (`channel: whatsapp`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Reason {
    pub key: String,
    pub params: BTreeMap<String, String>,
}

impl Reason {
    pub fn new(key: &str) -> Reason {
        Reason {
            key: key.to_owned(),
            params: BTreeMap::new(),
        }
    }

    pub fn with(mut self, name: &str, value: impl Into<String>) -> Reason {
        self.params.insert(name.to_owned(), value.into());
        self
    }

    /// "That conversation was not found" and its kin: `not_found_conversation`, by the kind of thing
    /// (conversation, message, contact, agent, view, team, file), from the English phrase.
    pub fn not_found(what: &str) -> Reason {
        let what = what.to_lowercase();
        let kind = [
            "conversation",
            "message",
            "contact",
            "agent",
            "view",
            "team",
            "file",
        ]
        .into_iter()
        .find(|k| what.contains(k))
        .unwrap_or("thing");
        Reason::new(&format!("not_found_{kind}"))
    }
}

impl crate::ValidationError {
    /// `invalid`, naming the field (its problem stays in the English message).
    pub fn reason(&self) -> Reason {
        Reason::new("invalid").with("field", self.field)
    }
}

/// Someone in a presence frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Presence {
    pub agent_id: AgentId,
    pub name: String,
}

/// What the server says on `GET /v1/stream`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamFrame {
    /// Changes were committed up to `seq`: pull.
    Changed { seq: u64 },
    /// Another agent is typing in a conversation this agent may see.
    Typing {
        conversation_id: ConversationId,
        who: Presence,
    },
    /// Who else has the conversation open now (empty: nobody).
    Viewing {
        conversation_id: ConversationId,
        who: Vec<Presence>,
    },
    /// The customer is typing (on channels that say so: the web-chat widget).
    CustomerTyping { conversation_id: ConversationId },
}

/// What a client says on the stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// The agent is typing in the conversation.
    Typing { conversation_id: ConversationId },
    /// The agent now has this conversation open (or none).
    Viewing {
        conversation_id: Option<ConversationId>,
    },
}
