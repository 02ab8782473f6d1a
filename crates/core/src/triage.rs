//! Which changes raise a desktop notification, and how they are grouped. Pure: the client says
//! what happened (the messages and timeline events a pull brought that the mirror did not have,
//! failures, refusals) and in what situation (the agent, their settings, the time, the window);
//! [`Triage::decide`] answers the notifications to show. The shell shows them (notify-rust).
//!
//! The rules (PRODUCT.md, "Notifications and triage"):
//! - only the categories the agent switched on, and not those they mute while away;
//! - never for the agent's own actions;
//! - never for history: a first sync, or messages that arrive long after they were written (an
//!   offline spell), give one summary ("37 new messages in 12 conversations") instead;
//! - never for the conversation open in the focused window;
//! - nothing at all while "do not disturb" (set until a time, or the daily quiet hours);
//! - one notification per conversation: a burst of messages is "3 new messages from Ana", and
//!   it replaces the earlier one instead of stacking.

use std::collections::{BTreeMap, HashMap};

use outpost_protocol::{
    Agent, AgentId, Availability, ChannelKind, Conversation, ConversationEvent, ConversationId,
    Direction, EventKind, Message, Millis, NotifyCategory, NotifySettings, OpId, rules,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A message written this long before it reaches the desktop is history, not news: it goes into
/// the summary (the desktop was offline, or the feed is catching up).
pub const FRESH_FOR: Millis = 5 * 60 * 1000;

/// The longest preview of a customer's text in a notification, in characters.
pub const PREVIEW_CHARS: usize = 160;

/// Something a pull (or the server's answer to an action) brought.
#[derive(Clone, Debug)]
pub enum Happening {
    /// A message the mirror did not have, with its conversation as it now is.
    Message {
        message: Message,
        conversation: Conversation,
        contact: String,
    },
    /// A timeline event the mirror did not have.
    Event {
        event: ConversationEvent,
        conversation: Conversation,
        contact: String,
    },
    /// A customer's call nobody picked up (newly known as missed).
    MissedCall {
        call: outpost_protocol::Call,
        conversation: Conversation,
        contact: String,
    },
    /// A scheduled message that has now failed.
    ScheduledFailed {
        message: Message,
        conversation: Conversation,
        contact: String,
    },
    /// The server refused an action of the agent's: its effect was undone.
    Refused {
        op_id: OpId,
        /// The action's kind, as `Action::kind` names it.
        action: String,
        conversation_id: Option<ConversationId>,
        /// In English; `why` is said in the agent's language when known.
        reason: String,
        why: Option<outpost_protocol::Reason>,
    },
}

/// The situation a decision is taken in.
#[derive(Clone, Debug)]
pub struct Situation<'a> {
    pub me: &'a Agent,
    pub settings: &'a NotifySettings,
    pub now: Millis,
    /// Minutes after midnight in the agent's local time (for quiet hours).
    pub local_minute: u16,
    /// The conversation open in the window, when the window has the focus.
    pub focused: Option<ConversationId>,
    /// The language of the agent's interface: "en", "pt-BR" or "es".
    pub language: &'a str,
}

impl Situation<'_> {
    /// Do not disturb: set until a time still to come, or within the quiet hours.
    pub fn quiet(&self) -> bool {
        self.settings
            .dnd_until
            .is_some_and(|until| until > self.now)
            || self
                .settings
                .quiet_hours
                .is_some_and(|q| q.contains(self.local_minute))
    }

    /// Whether `category` may notify: switched on, and not muted while away.
    pub fn allows(&self, category: NotifyCategory) -> bool {
        self.settings.wants(category)
            && !(self.me.availability == Availability::Away
                && self.settings.muted_when_away.contains(&category))
    }

    fn mine(&self, agent: Option<AgentId>) -> bool {
        agent == Some(self.me.id)
    }
}

/// A notification to show. Crosses to the shell in [`crate::Event::Notify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Notification {
    /// A notification with the same key replaces the one shown before (one per conversation).
    pub key: String,
    pub conversation_id: Option<ConversationId>,
    pub category: Option<NotifyCategory>,
    /// Plain text: the contact and the channel.
    pub title: String,
    /// Plain text, never markup: the shell escapes it for daemons that read markup.
    pub body: String,
    /// The messages this notification stands for (a burst, or a summary).
    pub count: u32,
    /// What the notification offers, where the desktop shows actions (a click is "open").
    pub actions: Vec<QuickAction>,
}

/// An action a notification offers, with its label in the interface's language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct QuickAction {
    pub id: QuickActionId,
    pub label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum QuickActionId {
    /// Open the conversation (also what a click does).
    Open,
    AssignToMe,
    Close,
    /// Snooze for an hour.
    Snooze,
    /// Answer from the notification (where the daemon offers inline replies).
    Reply,
}

impl QuickActionId {
    pub fn as_str(self) -> &'static str {
        match self {
            QuickActionId::Open => "open",
            QuickActionId::AssignToMe => "assign_to_me",
            QuickActionId::Close => "close",
            QuickActionId::Snooze => "snooze",
            // The action name desktops with inline replies know (KDE Plasma).
            QuickActionId::Reply => "inline-reply",
        }
    }

    pub fn parse(s: &str) -> Option<QuickActionId> {
        [
            QuickActionId::Open,
            QuickActionId::AssignToMe,
            QuickActionId::Close,
            QuickActionId::Snooze,
            QuickActionId::Reply,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// Messages of a conversation notified since the agent last looked at it.
#[derive(Clone, Debug, Default)]
struct Burst {
    count: u32,
}

/// The decisions' memory: the bursts notified per conversation, until the agent looks.
#[derive(Debug, Default)]
pub struct Triage {
    bursts: HashMap<ConversationId, Burst>,
}

/// What one conversation's happenings in one decision come to.
#[derive(Default)]
struct Lines {
    title: String,
    channel: Option<ChannelKind>,
    category: Option<NotifyCategory>,
    messages: u32,
    first_name: String,
    latest: String,
    other: Vec<String>,
}

impl Triage {
    pub fn new() -> Triage {
        Triage::default()
    }

    /// The agent looked at the conversation (opened it, read it): its burst starts again.
    pub fn seen(&mut self, conversation: ConversationId) {
        self.bursts.remove(&conversation);
    }

    /// The notifications `happened` calls for, in `situation`.
    pub fn decide(&mut self, s: &Situation<'_>, happened: &[Happening]) -> Vec<Notification> {
        if s.quiet() {
            return Vec::new();
        }
        let t = Texts::of(s.language);
        let mut per_conversation: BTreeMap<ConversationId, Lines> = BTreeMap::new();
        let mut refusals = Vec::new();
        let (mut stale_messages, mut stale_conversations) = (0u32, Vec::new());
        for h in happened {
            match h {
                Happening::Message {
                    message,
                    conversation,
                    contact,
                } => {
                    // Only customers' messages are news; an agent's (mine above all) are not.
                    if message.direction != Direction::Incoming || s.mine(message.sender.agent_id) {
                        continue;
                    }
                    let category = match conversation.assignee {
                        Some(a) if a == s.me.id => NotifyCategory::MessageMine,
                        Some(_) => NotifyCategory::MessageOthers,
                        None => NotifyCategory::MessageUnassigned,
                    };
                    if !s.allows(category) || s.focused == Some(conversation.id) {
                        continue;
                    }
                    if message.created_at < s.now - FRESH_FOR {
                        stale_messages += 1;
                        if !stale_conversations.contains(&conversation.id) {
                            stale_conversations.push(conversation.id);
                        }
                        continue;
                    }
                    let lines = lines_for(&mut per_conversation, conversation, contact);
                    lines.category.get_or_insert(category);
                    lines.messages += 1;
                    lines.latest = plain(&rules::message_preview(message));
                    if lines.first_name.is_empty() {
                        lines.first_name = first_name(contact).to_owned();
                    }
                }
                Happening::Event {
                    event,
                    conversation,
                    contact,
                } => {
                    if s.mine(event.actor.agent_id) || event.at < s.now - FRESH_FOR {
                        continue;
                    }
                    let (category, line) = match &event.kind {
                        EventKind::Assigned { assignee } if s.mine(*assignee) => (
                            NotifyCategory::AssignedToMe,
                            t.assigned_by(&plain(&event.actor.name)),
                        ),
                        EventKind::Unsnoozed
                            if conversation.assignee.is_none() || s.mine(conversation.assignee) =>
                        {
                            (NotifyCategory::SnoozeWoke, t.woke())
                        }
                        _ => continue,
                    };
                    if !s.allows(category) || s.focused == Some(conversation.id) {
                        continue;
                    }
                    let lines = lines_for(&mut per_conversation, conversation, contact);
                    // An assignment names the notification over the messages that came with it.
                    if category == NotifyCategory::AssignedToMe || lines.category.is_none() {
                        lines.category = Some(category);
                    }
                    lines.other.push(line);
                }
                Happening::MissedCall {
                    call,
                    conversation,
                    contact,
                } => {
                    // Like a message: for the conversation's agent, or anyone when it has none;
                    // never history (a call that ended long ago), never the open conversation.
                    let category = NotifyCategory::MissedCall;
                    let mine_or_nobodys =
                        conversation.assignee.is_none() || s.mine(conversation.assignee);
                    if !call.is_missed()
                        || !mine_or_nobodys
                        || !s.allows(category)
                        || s.focused == Some(conversation.id)
                        || call.ended_at.unwrap_or(call.started_at) < s.now - FRESH_FOR
                    {
                        continue;
                    }
                    let lines = lines_for(&mut per_conversation, conversation, contact);
                    lines.category.get_or_insert(category);
                    lines.other.push(t.missed_call());
                }
                Happening::ScheduledFailed {
                    message,
                    conversation,
                    contact,
                } => {
                    let category = NotifyCategory::ScheduledFailed;
                    if !s.mine(message.sender.agent_id) || !s.allows(category) {
                        continue;
                    }
                    let lines = lines_for(&mut per_conversation, conversation, contact);
                    lines.category.get_or_insert(category);
                    lines.other.push(
                        t.scheduled_failed(&plain(message.failure.as_deref().unwrap_or_default())),
                    );
                }
                Happening::Refused {
                    op_id,
                    action,
                    conversation_id,
                    reason,
                    why,
                } => {
                    if !s.allows(NotifyCategory::ActionRefused) {
                        continue;
                    }
                    refusals.push(Notification {
                        key: format!("refused:{}", op_id.0),
                        conversation_id: *conversation_id,
                        category: Some(NotifyCategory::ActionRefused),
                        title: t.refused_title(action),
                        body: plain(&t.reason(why.as_ref(), reason)),
                        count: 1,
                        actions: match conversation_id {
                            Some(_) => vec![t.action(QuickActionId::Open)],
                            None => Vec::new(),
                        },
                    });
                }
            }
        }
        let mut out = Vec::new();
        for (id, lines) in per_conversation {
            let mut body = Vec::new();
            body.extend(lines.other.iter().cloned());
            let mut count = 0;
            if lines.messages > 0 {
                let burst = self.bursts.entry(id).or_default();
                burst.count += lines.messages;
                count = burst.count;
                if count == 1 {
                    body.push(lines.latest.clone());
                } else {
                    body.push(t.burst(count, &lines.first_name));
                    body.push(lines.latest.clone());
                }
            }
            let title = match lines.channel {
                Some(channel) => format!("{} · {}", lines.title, channel_name(channel)),
                None => lines.title.clone(),
            };
            // Assigning to me what is already mine is no action.
            let assign = lines.category != Some(NotifyCategory::MessageMine)
                && lines.category != Some(NotifyCategory::AssignedToMe);
            out.push(Notification {
                key: format!("conversation:{}", id.0),
                conversation_id: Some(id),
                category: lines.category,
                title,
                body: body.join("\n"),
                count: count.max(1),
                actions: t.actions(assign),
            });
        }
        out.extend(refusals);
        if stale_messages > 0 {
            out.extend(self.summary(s, stale_messages, stale_conversations.len() as u32));
        }
        out
    }

    /// One notification for history instead of one per message: `messages` new messages in
    /// `conversations` conversations (after a first sync, or an offline spell). None while quiet.
    pub fn summary(
        &self,
        s: &Situation<'_>,
        messages: u32,
        conversations: u32,
    ) -> Option<Notification> {
        if s.quiet() || messages == 0 {
            return None;
        }
        let t = Texts::of(s.language);
        Some(Notification {
            key: "summary".into(),
            conversation_id: None,
            category: None,
            title: "Outpost".into(),
            body: t.summary(messages, conversations),
            count: messages,
            actions: Vec::new(),
        })
    }
}

fn lines_for<'a>(
    all: &'a mut BTreeMap<ConversationId, Lines>,
    conversation: &Conversation,
    contact: &str,
) -> &'a mut Lines {
    all.entry(conversation.id).or_insert_with(|| Lines {
        title: plain(contact),
        channel: Some(conversation.channel),
        ..Lines::default()
    })
}

fn first_name(contact: &str) -> &str {
    contact.split_whitespace().next().unwrap_or(contact)
}

/// Customer text made safe to show as a notification's plain text: one line, no control or
/// direction-override characters (they could disguise the text), cut to [`PREVIEW_CHARS`].
pub fn plain(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .filter(|c| !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        .collect();
    rules::cut(
        &clean.split_whitespace().collect::<Vec<_>>().join(" "),
        PREVIEW_CHARS,
    )
}

pub fn channel_name(c: ChannelKind) -> &'static str {
    match c {
        ChannelKind::Whatsapp => "WhatsApp",
        ChannelKind::Telegram => "Telegram",
        ChannelKind::Instagram => "Instagram",
        ChannelKind::Messenger => "Messenger",
        ChannelKind::Sms => "SMS",
        ChannelKind::Email => "Email",
        ChannelKind::WebChat => "Web chat",
    }
}

/// The few sentences notifications say, in the interface's language (its own translations,
/// through [`crate::i18n`]).
struct Texts<'a> {
    lang: &'a str,
}

impl<'a> Texts<'a> {
    fn of(language: &'a str) -> Texts<'a> {
        Texts { lang: language }
    }

    fn t(&self, key: &str, params: &[(&str, &str)]) -> String {
        crate::i18n::t(self.lang, &format!("native.notify.{key}"), params)
    }

    fn woke(&self) -> String {
        self.t("woke", &[])
    }

    fn missed_call(&self) -> String {
        self.t("missedCall", &[])
    }

    fn burst(&self, n: u32, from: &str) -> String {
        self.t("burst", &[("count", &n.to_string()), ("from", from)])
    }

    fn assigned_by(&self, who: &str) -> String {
        if who.is_empty() {
            self.t("assigned", &[])
        } else {
            self.t("assignedBy", &[("who", who)])
        }
    }

    fn scheduled_failed(&self, reason: &str) -> String {
        self.t("scheduledFailed", &[("reason", reason)])
    }

    /// A refusal's reason in the interface's language; the English sentence when its key is
    /// not known here (a newer server).
    fn reason(&self, why: Option<&outpost_protocol::Reason>, english: &str) -> String {
        let Some(why) = why else {
            return english.to_owned();
        };
        let key = format!("reasons.{}", why.key);
        let params: Vec<(&str, &str)> = why
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match crate::i18n::t(self.lang, &key, &params) {
            said if said == key => english.to_owned(),
            said => said,
        }
    }

    fn refused_title(&self, _action: &str) -> String {
        self.t("refusedTitle", &[])
    }

    fn action(&self, id: QuickActionId) -> QuickAction {
        let key = match id {
            QuickActionId::Open => "open",
            QuickActionId::AssignToMe => "assignToMe",
            QuickActionId::Close => "close",
            QuickActionId::Snooze => "snooze",
            QuickActionId::Reply => "reply",
        };
        QuickAction {
            id,
            label: self.t(&format!("actions.{key}"), &[]),
        }
    }

    /// A conversation's actions: open, assign to me (unless it is mine), close, snooze, reply.
    fn actions(&self, assign: bool) -> Vec<QuickAction> {
        let mut ids = vec![QuickActionId::Open];
        if assign {
            ids.push(QuickActionId::AssignToMe);
        }
        ids.extend([
            QuickActionId::Close,
            QuickActionId::Snooze,
            QuickActionId::Reply,
        ]);
        ids.into_iter().map(|id| self.action(id)).collect()
    }

    fn summary(&self, messages: u32, conversations: u32) -> String {
        let (m, c) = (messages.to_string(), conversations.to_string());
        match (messages, conversations) {
            (1, _) => self.t("summary_one", &[]),
            (_, 1) => self.t("summaryIn_one", &[("count", &m)]),
            _ => self.t("summaryIn_other", &[("count", &m), ("conversations", &c)]),
        }
    }
}

#[cfg(test)]
mod triage_tests;
