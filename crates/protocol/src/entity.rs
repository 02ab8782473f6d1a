//! The entities of a workspace, as the server sends them and the client mirrors them.
//!
//! Absent text is the empty string, never `null`: only fields where "none" means something are
//! `Option`s (an unassigned conversation, a message that replies to nothing).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{
    AgentId, CallId, ChannelId, ContactId, ConversationId, EventId, MessageId, Millis, TeamId,
    ViewId,
};

/// The messaging channel a message travels on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Whatsapp,
    Telegram,
    Instagram,
    Messenger,
    Sms,
    Email,
    WebChat,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 7] = [
        ChannelKind::Whatsapp,
        ChannelKind::Telegram,
        ChannelKind::Instagram,
        ChannelKind::Messenger,
        ChannelKind::Sms,
        ChannelKind::Email,
        ChannelKind::WebChat,
    ];

    /// Channels on which a business may send free text only within 24 hours of the contact's
    /// last message; after that, only approved templates.
    pub fn has_messaging_window(self) -> bool {
        matches!(
            self,
            ChannelKind::Whatsapp | ChannelKind::Instagram | ChannelKind::Messenger
        )
    }

    /// The stable name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Whatsapp => "whatsapp",
            ChannelKind::Telegram => "telegram",
            ChannelKind::Instagram => "instagram",
            ChannelKind::Messenger => "messenger",
            ChannelKind::Sms => "sms",
            ChannelKind::Email => "email",
            ChannelKind::WebChat => "web_chat",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One way to reach a contact: a phone number on WhatsApp, a username on Telegram, an address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChannelIdentity {
    pub channel: ChannelKind,
    /// Digits only for phone-based channels; a username or an email address otherwise.
    pub address: String,
}

/// A customer, across all the channels they write on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    /// Digits only, with country code ("5511987654321"); empty when unknown.
    pub phone: String,
    pub email: String,
    /// ISO 3166-1 alpha-2 ("BR"), or empty.
    pub country: String,
    /// BCP 47 tag ("pt-BR"), or empty.
    pub language: String,
    pub avatar_url: String,
    pub identities: Vec<ChannelIdentity>,
    pub tags: Vec<String>,
    /// The workspace's custom fields, by key.
    pub fields: BTreeMap<String, String>,
    /// A note for the team; the contact never sees it.
    pub private_comment: String,
    /// Whether the chatbot answers this contact.
    pub bot_enabled: bool,
    /// The flow this contact is active in, if any: their messages then land in Flows.
    pub active_flow: Option<String>,
    pub created_at: Millis,
}

impl Contact {
    /// A contact first met at `address` on `channel` (an inbound message, or an agent writing
    /// first): the address is their phone on phone channels and their email on email; `name`
    /// is the address when the channel gave none.
    pub fn reached_at(
        id: ContactId,
        channel: crate::ChannelKind,
        address: &str,
        name: &str,
        at: Millis,
    ) -> Contact {
        use crate::ChannelKind as K;
        let on = |yes: bool| {
            if yes {
                address.to_owned()
            } else {
                String::new()
            }
        };
        Contact {
            id,
            name: match name.trim() {
                "" => address.to_owned(),
                name => name.to_owned(),
            },
            phone: on(matches!(channel, K::Whatsapp | K::Sms)),
            email: on(channel == K::Email),
            country: String::new(),
            language: String::new(),
            avatar_url: String::new(),
            identities: vec![ChannelIdentity {
                channel,
                address: address.to_owned(),
            }],
            tags: Vec::new(),
            fields: BTreeMap::new(),
            private_comment: String::new(),
            bot_enabled: false,
            active_flow: None,
            created_at: at,
        }
    }
}

/// Open, closed or snoozed: a conversation is always in exactly one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    Open,
    Closed,
    Snoozed,
}

impl ConversationState {
    pub const ALL: [ConversationState; 3] = [Self::Open, Self::Closed, Self::Snoozed];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Incoming,
    Outgoing,
}

/// The thread with one contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Conversation {
    pub id: ConversationId,
    pub contact_id: ContactId,
    /// The channel last used in this conversation.
    pub channel: ChannelKind,
    pub state: ConversationState,
    /// Set while snoozed: when it comes back.
    pub snoozed_until: Option<Millis>,
    pub assignee: Option<AgentId>,
    pub team: Option<TeamId>,
    /// Waiting for our reply.
    pub unanswered: bool,
    /// Incoming messages the agents have not read.
    pub unread_count: u32,
    /// When the current open period began (the "longest open" sort).
    pub opened_at: Millis,
    pub last_message_at: Millis,
    pub last_message_direction: Option<Direction>,
    /// The start of the last message's text, plain text.
    pub last_message_preview: String,
    /// When the contact last wrote: opens the 24-hour messaging window.
    pub last_incoming_at: Option<Millis>,
    pub closing_note: String,
    pub closing_category: String,
    pub created_at: Millis,
    /// The channel (of `channel`'s kind) the contact last wrote on: replies leave through it
    /// while it is enabled. Unset until they write, and on conversations from before channels
    /// were told apart.
    #[serde(default)]
    pub channel_id: Option<ChannelId>,
}

impl Conversation {
    /// A conversation opened at `at` with `contact` on `channel`: open, unassigned, nothing in
    /// it yet. Set what else is known (the assignee, the first message's effect) after.
    pub fn new(
        id: ConversationId,
        contact_id: ContactId,
        channel: ChannelKind,
        at: Millis,
    ) -> Conversation {
        Conversation {
            id,
            contact_id,
            channel,
            state: ConversationState::Open,
            snoozed_until: None,
            assignee: None,
            team: None,
            unanswered: false,
            unread_count: 0,
            opened_at: at,
            last_message_at: at,
            last_message_direction: None,
            last_message_preview: String::new(),
            last_incoming_at: None,
            closing_note: String::new(),
            closing_category: String::new(),
            created_at: at,
            channel_id: None,
        }
    }
}

/// Where a message is in its life. Incoming messages are `Received`; outgoing ones go
/// `Scheduled` → `Pending` → `Sent` → `Delivered` → `Read`, or end `Failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Received,
    Scheduled,
    /// The clock: in this desktop's queue, or queued at the server for the channel.
    Pending,
    /// Handed to the channel's provider, which has not confirmed sending it yet (still a clock).
    Wired,
    Sent,
    Delivered,
    Read,
    Failed,
}

/// The time a message reached a status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StatusStamp {
    pub status: MessageStatus,
    pub at: Millis,
}

/// Who sent a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SenderKind {
    Contact,
    Agent,
    Flow,
    Bot,
    Broadcast,
    Api,
    /// Sent from the business's own phone, echoed back by the channel.
    ChannelEcho,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Sender {
    pub kind: SenderKind,
    /// The agent, when an agent sent it.
    pub agent_id: Option<AgentId>,
    /// A display name: the agent's, the flow's, the integration's.
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Image,
    Document,
    Audio,
    Video,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Attachment {
    pub kind: AttachmentKind,
    pub name: String,
    pub mime: String,
    pub size: u64,
    /// Where it is kept: `/v1/attachments/<id>` on the Outpost server for what agents send
    /// (chosen by the desktop before the upload, so a queued message already names it), or the
    /// channel's own address for what customers sent.
    pub url: String,
}

impl Attachment {
    /// The server's path of the upload `id`.
    pub fn upload_path(id: uuid::Uuid) -> String {
        format!("/v1/attachments/{id}")
    }

    /// The upload this attachment names, when it is one kept by the Outpost server.
    pub fn upload_id(&self) -> Option<uuid::Uuid> {
        Attachment::upload_id_in(&self.url)
    }

    /// The upload an attachment's `url` names, when it is one kept by the Outpost server.
    pub fn upload_id_in(url: &str) -> Option<uuid::Uuid> {
        url.strip_prefix("/v1/attachments/")
            .and_then(|id| uuid::Uuid::parse_str(id).ok())
    }
}

impl AttachmentKind {
    /// What a file of this media type is shown as.
    pub fn of_mime(mime: &str) -> AttachmentKind {
        match mime.split('/').next().unwrap_or_default() {
            "image" => AttachmentKind::Image,
            "audio" => AttachmentKind::Audio,
            "video" => AttachmentKind::Video,
            _ => AttachmentKind::Document,
        }
    }
}

/// An approved channel template, with the values of its variables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TemplateRef {
    pub name: String,
    pub language: String,
    pub params: Vec<String>,
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub direction: Direction,
    pub channel: ChannelKind,
    /// Plain text, never markup.
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub template: Option<TemplateRef>,
    pub sender: Sender,
    pub status: MessageStatus,
    /// Every status the message reached, in order, with its time.
    pub history: Vec<StatusStamp>,
    /// Why it failed, in the platform's or the channel's words.
    pub failure: Option<String>,
    /// Incoming only: the contact was active in a flow when it arrived.
    pub via_flow: bool,
    /// Incoming only: archived by an agent (kept and searchable).
    pub archived: bool,
    /// Scheduled messages: when the server sends it.
    pub send_at: Option<Millis>,
    /// The message this one replies to, on channels that carry it.
    pub reply_to: Option<MessageId>,
    pub created_at: Millis,
    /// The channel it came by or left through (one of several of its kind); unset on messages
    /// from before channels were told apart, and on outgoing ones until they leave.
    #[serde(default)]
    pub channel_id: Option<ChannelId>,
    /// Email: the subject line, as written.
    #[serde(default)]
    pub subject: Option<String>,
    /// When the customer last edited it (channels that report edits: Telegram).
    #[serde(default)]
    pub edited_at: Option<Millis>,
    /// Why it failed, as a reason the interface says in the agent's language (the provider's
    /// own code and words stay in `failure`).
    #[serde(default)]
    pub failure_reason: Option<crate::Reason>,
}

impl Message {
    /// A message of `conversation` (its channel) from `sender`, with `status` reached at `at`:
    /// `Received` for a customer's, `Pending` or `Scheduled` for an agent's. No files, template,
    /// reply or schedule: set them after.
    pub fn new(
        id: MessageId,
        conversation: &Conversation,
        direction: Direction,
        sender: Sender,
        text: &str,
        status: MessageStatus,
        at: Millis,
    ) -> Message {
        Message {
            id,
            conversation_id: conversation.id,
            direction,
            channel: conversation.channel,
            text: text.to_owned(),
            attachments: Vec::new(),
            template: None,
            sender,
            status,
            history: vec![StatusStamp { status, at }],
            failure: None,
            via_flow: false,
            archived: false,
            send_at: None,
            reply_to: None,
            created_at: at,
            channel_id: conversation.channel_id,
            subject: None,
            edited_at: None,
            failure_reason: None,
        }
    }
}

impl Sender {
    /// The agent who wrote it.
    pub fn agent(agent: &Agent) -> Sender {
        Sender {
            kind: SenderKind::Agent,
            agent_id: Some(agent.id),
            name: agent.name.clone(),
        }
    }

    /// Anyone but an agent: the contact, a flow, a bot…
    pub fn named(kind: SenderKind, name: &str) -> Sender {
        Sender {
            kind,
            agent_id: None,
            name: name.to_owned(),
        }
    }
}

/// Who did something in a conversation's timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Agent,
    Contact,
    Automation,
    Flow,
    Bot,
    /// A welcome event (the contact opened the chat widget, for example).
    Welcome,
    ContactMerge,
    Api,
    System,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Actor {
    pub kind: ActorKind,
    pub agent_id: Option<AgentId>,
    pub name: String,
}

/// What happened between the messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// Assigned to an agent, or unassigned when `assignee` is none.
    Assigned {
        assignee: Option<AgentId>,
    },
    TeamChanged {
        team: Option<TeamId>,
    },
    /// Opened: `first` when this began the conversation (the contact's first message or call,
    /// or an agent writing first), else a closed conversation opened again. (Events stored
    /// before `first` existed read as reopenings.)
    Opened {
        #[serde(default)]
        first: bool,
    },
    Closed {
        note: String,
        category: String,
    },
    Snoozed {
        until: Millis,
    },
    Unsnoozed,
    MarkedAnswered,
    MarkedUnanswered,
    BroadcastSent {
        name: String,
    },
    FlowStarted {
        flow: String,
    },
    FlowEnded {
        flow: String,
    },
    BotSwitched {
        on: bool,
    },
    ContactMerged {
        other: ContactId,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ConversationEvent {
    pub id: EventId,
    pub conversation_id: ConversationId,
    pub at: Millis,
    pub actor: Actor,
    pub kind: EventKind,
}

/// How a call ended, or that it has not yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Ringing or under way: the provider has not said it ended.
    Ongoing,
    /// Picked up: it has a start, an end and a duration.
    Answered,
    /// Nobody picked up (ours for an incoming call, the customer for an outgoing one).
    Missed,
    /// It could not be made; the provider's reason is in `failure`.
    Failed,
}

/// A call made or received on a channel (WhatsApp calling). Outpost records calls; the audio is
/// answered in the provider's tools. It belongs to the conversation with its contact, and is
/// seen by whoever sees that conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Call {
    pub id: CallId,
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    pub channel: ChannelKind,
    pub channel_id: Option<ChannelId>,
    /// The provider's id of the call (a `wacid.…`).
    pub provider_id: String,
    /// Incoming: the customer called; outgoing: the business did.
    pub direction: Direction,
    /// When it began to ring.
    pub started_at: Millis,
    /// When it was picked up (answered calls).
    pub answered_at: Option<Millis>,
    /// When it ended (none while ongoing).
    pub ended_at: Option<Millis>,
    /// How long the parties talked, in seconds (answered calls).
    pub duration_secs: Option<u32>,
    pub outcome: CallOutcome,
    /// Why it failed, in the provider's words (its code and title).
    pub failure: Option<String>,
    /// Why it failed, as a reason the interface says in the agent's language.
    #[serde(default)]
    pub failure_reason: Option<crate::Reason>,
}

impl Call {
    /// An incoming call nobody picked up: the conversation waits for us.
    pub fn is_missed(&self) -> bool {
        self.direction == Direction::Incoming && self.outcome == CallOutcome::Missed
    }

    /// When it happened, for timelines and lists: when it began to ring.
    pub fn at(&self) -> Millis {
        self.started_at
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Agent,
}

/// Which conversations an agent may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Every conversation of the workspace.
    Unrestricted,
    /// Their own, and their teams'.
    Team,
    /// Only the ones assigned to them.
    OwnOnly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Available,
    /// Receives no new assignments.
    Away,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// Owners and admins always see everything, whatever this says.
    pub visibility: Visibility,
    pub teams: Vec<TeamId>,
    pub availability: Availability,
}

impl Agent {
    /// An agent, available, in `teams`.
    pub fn new(
        id: AgentId,
        name: &str,
        email: &str,
        role: Role,
        visibility: Visibility,
        teams: Vec<TeamId>,
    ) -> Agent {
        Agent {
            id,
            name: name.to_owned(),
            email: email.to_owned(),
            role,
            visibility,
            teams,
            availability: Availability::Available,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    /// The team's quick replies, offered in the composer to its members (set by admins).
    #[serde(default)]
    pub quick_replies: Vec<QuickReply>,
}

/// A snippet an agent inserts with a few keys; `{first_name}` and `{name}` take the contact's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct QuickReply {
    /// What the agent types after "/" to find it.
    pub shortcut: String,
    pub text: String,
}

/// One of the business's channels as agents see it: never its credentials, which stay at the
/// server. Messages name the channel by kind; a conversation's replies leave through the first
/// enabled channel of that kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Channel {
    pub id: ChannelId,
    pub kind: ChannelKind,
    pub name: String,
    /// A test channel: a simulated provider moves its messages along (the demo's, or one an admin
    /// created on purpose). Shown as "test channel" wherever the channel is named.
    pub test: bool,
    /// Disabled by an admin: nothing is received or sent through it.
    pub disabled: bool,
    /// The approved message templates (WhatsApp), for when the 24 h window has closed.
    #[serde(default)]
    pub templates: Vec<Template>,
}

/// An approved template of a channel: its body names its variables `{{1}}`, `{{2}}`…
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Template {
    pub name: String,
    pub language: String,
    pub body: String,
}

impl Template {
    /// How many variables the body names (the highest `{{n}}`).
    pub fn variables(&self) -> usize {
        let mut most = 0;
        let mut rest = self.body.as_str();
        while let Some(open) = rest.find("{{") {
            rest = &rest[open + 2..];
            let Some(close) = rest.find("}}") else { break };
            if let Ok(n) = rest[..close].trim().parse::<usize>() {
                most = most.max(n);
            }
            rest = &rest[close + 2..];
        }
        most
    }
}

/// A contact field a custom view can test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ContactField {
    Name,
    Phone,
    Email,
    Country,
    Language,
}

/// How a text field is compared. Comparisons ignore case and accents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TextOp {
    Is,
    IsNot,
    Contains,
    StartsWith,
    IsSet,
    IsNotSet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    MoreThan,
    LessThan,
}

/// A custom view's filter: conditions nested with AND (`all`) and OR (`any`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Condition {
    /// Every one holds (an empty list always holds).
    All { of: Vec<Condition> },
    /// At least one holds (an empty list never holds).
    Any { of: Vec<Condition> },
    Contact {
        field: ContactField,
        op: TextOp,
        value: String,
    },
    CustomField {
        key: String,
        op: TextOp,
        value: String,
    },
    /// The contact has (or has not) the tag.
    Tag { tag: String, present: bool },
    /// The conversation's last channel is one of these.
    LastChannel { channels: Vec<ChannelKind> },
    /// Time since the contact's last message, in minutes. A conversation with no incoming message
    /// has waited forever: it is "more than" any number and "less than" none.
    SinceLastIncoming { op: Compare, minutes: i64 },
}

/// Who else may use a custom view. Empty lists: private to its creator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Sharing {
    pub agents: Vec<AgentId>,
    pub teams: Vec<TeamId>,
}

/// A custom inbox: a saved filter over conversations. Only its creator edits, renames or deletes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CustomView {
    pub id: ViewId,
    pub name: String,
    pub owner: AgentId,
    pub sharing: Sharing,
    pub filter: Condition,
}
