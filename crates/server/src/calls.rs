//! Calls made and received on a channel (WhatsApp calling; a test channel's simulated ones):
//! each provider report of a call (it rang, it ended) recorded in the conversation with its
//! contact, whatever order the reports arrive in and however often.
//!
//! A call's id derives from the provider's id of it ([`call_id`]), so the connect and terminate
//! reports of one call, each delivered once or more, name one [`Call`]. A call only moves
//! forward: an ended call stays as it ended (a late or repeated report changes nothing), an
//! ongoing one takes the end when it comes; a call deleted with its conversation is never
//! brought back by a report delivered again. The first report of a customer's call opens or
//! reopens the conversation as their message would (`rules::on_call`); the report that makes
//! it missed leaves the conversation unanswered (`rules::on_missed_call`). Outpost records
//! calls: it never answers or places one.

use outpost_protocol::{
    Actor, ActorKind, Call, CallId, CallOutcome, ChannelId, ChannelKind, Conversation,
    ConversationId, Direction, Entity, EntityRef, EventKind, Millis, Reason, rules,
};

use crate::storage::{Storage, Tx as _};
use crate::workspace::{self, OpError};

/// How a call ended, as its provider reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallEnd {
    pub ended_at: Millis,
    /// When it was picked up (answered calls).
    pub answered_at: Option<Millis>,
    pub duration_secs: Option<u32>,
    pub outcome: CallOutcome,
    /// Why it failed: the provider's words, and a reason for the agent's language.
    pub failure: Option<(String, Option<Reason>)>,
}

/// One report of a call: it rang (`end` none), or it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallReport {
    /// The customer's address on the channel (digits only for phone channels).
    pub customer: String,
    /// Their display name, when the provider gives one.
    pub name: String,
    /// The provider's id of the call.
    pub provider_id: String,
    /// Incoming: the customer called.
    pub direction: Direction,
    /// When the provider says this happened (the report's time).
    pub at: Millis,
    pub end: Option<CallEnd>,
}

/// The id of the call a provider names `provider_id` on channel `channel`: the same for each of
/// its reports (a UUID of version 8 from a SHA-256; never a message's id).
pub fn call_id(channel: uuid::Uuid, provider_id: &str) -> CallId {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"call\0");
    h.update(channel.as_bytes());
    h.update(provider_id.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    CallId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// What recording a report did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The call is new or moved forward.
    Changed(CallId),
    /// Nothing to do: a repeated report, or one older than what is known.
    Unchanged(CallId),
}

/// Records one report of a call on channel `(id, kind)`, in one write transaction.
pub fn record<S: Storage>(
    storage: &S,
    (channel_id, channel): (uuid::Uuid, ChannelKind),
    report: &CallReport,
    now: Millis,
) -> Result<Recorded, OpError> {
    if report.provider_id.trim().is_empty() {
        return Err(outpost_protocol::ValidationError {
            field: "id",
            problem: "a call needs the provider's id".into(),
        }
        .into());
    }
    if report.customer.trim().is_empty() {
        return Err(outpost_protocol::ValidationError {
            field: "from",
            problem: "a call needs the customer's address".into(),
        }
        .into());
    }
    if matches!(channel, ChannelKind::Whatsapp | ChannelKind::Sms) {
        outpost_protocol::limits::check_phone("from", &report.customer)?;
    }
    let id = call_id(channel_id, &report.provider_id);
    storage.write(|tx| {
        let known = match tx.get(EntityRef::Call(id))? {
            Some(Entity::Call(c)) => Some(c),
            _ => None,
        };
        // Deleted with its conversation (or its id ever used): never brought back by a report
        // delivered again, as a customer's message is not.
        if known.is_none() && tx.ever_stored(EntityRef::Call(id))? {
            return Ok(Recorded::Unchanged(id));
        }
        match (&known, &report.end) {
            // Ended already, or rang again: nothing new.
            (Some(k), _) if k.outcome != CallOutcome::Ongoing => {
                return Ok(Recorded::Unchanged(id));
            }
            (Some(_), None) => return Ok(Recorded::Unchanged(id)),
            _ => {}
        }
        // The conversation it belongs to: the one it was recorded in while that still exists,
        // else the contact's latest, else a new one.
        let contact = workspace::contact_at(tx, channel, &report.customer, &report.name, now)?;
        let mut conversation = None;
        if let Some(k) = &known
            && let Some(Entity::Conversation(c)) =
                tx.get(EntityRef::Conversation(k.conversation_id))?
        {
            conversation = Some(c);
        }
        if conversation.is_none() {
            conversation = workspace::latest_conversation(&*tx, contact.id)?;
        }
        let opened = conversation.is_none();
        let before = conversation.clone();
        let mut conversation = conversation.unwrap_or_else(|| {
            let mut c = Conversation::new(ConversationId::new(), contact.id, channel, now);
            c.channel_id = Some(ChannelId(channel_id));
            c
        });
        let mut call = known.clone().unwrap_or_else(|| Call {
            id,
            conversation_id: conversation.id,
            contact_id: contact.id,
            channel,
            channel_id: Some(ChannelId(channel_id)),
            provider_id: report.provider_id.clone(),
            direction: report.direction,
            started_at: report.at,
            answered_at: None,
            ended_at: None,
            duration_secs: None,
            outcome: CallOutcome::Ongoing,
            failure: None,
            failure_reason: None,
        });
        call.conversation_id = conversation.id;
        if let Some(end) = &report.end {
            // A call first heard of at its end began when it was picked up, or else when it
            // ended (the provider does not say when an unanswered call began to ring).
            if known.is_none() {
                call.started_at = end.answered_at.unwrap_or(end.ended_at).min(report.at);
            }
            call.ended_at = Some(end.ended_at.max(call.started_at));
            call.outcome = end.outcome;
            if end.outcome == CallOutcome::Answered {
                call.answered_at = end.answered_at.map(|a| a.max(call.started_at));
                call.duration_secs = end.duration_secs;
            }
            if let Some((text, reason)) = &end.failure {
                call.failure = Some(text.clone());
                call.failure_reason = reason.clone();
            }
        }
        call.validate()?;
        let mut events = Vec::new();
        if opened {
            events.push(EventKind::Opened { first: true });
        }
        if known.is_none() {
            events.extend(rules::on_call(&mut conversation, &call));
        }
        if call.is_missed() {
            rules::on_missed_call(&mut conversation);
        }
        let call_started = call.started_at;
        tx.put(&Entity::Call(call))?;
        // Stored again only when the call changed it (a ringing call in an open conversation
        // does not).
        if before.as_ref() != Some(&conversation) {
            workspace::put_announced(tx, &Entity::Conversation(conversation.clone()))?;
            let actor = Actor {
                kind: ActorKind::Contact,
                agent_id: None,
                name: contact.name.clone(),
            };
            // A conversation the call began, began when it rang.
            let at = if opened { call_started.min(now) } else { now };
            workspace::record_events(tx, &conversation, actor, events, at)?;
        }
        Ok(Recorded::Changed(id))
    })
}
