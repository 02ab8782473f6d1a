//! The channel layer. Every channel kind is reached through a provider; the built-in *test
//! channel* behaves like one: customers' messages arrive on its webhook
//! (`POST /v1/channels/{id}/inbound`, authenticated by the channel's secret), and outgoing
//! messages go queued → wired → sent → delivered → read, one step per `step_ms`, or fail with the
//! provider's error, as its rules say. Tests (and the demo) set the rules with
//! `PUT /v1/channels/{id}/rules`, with the same secret.

use outpost_protocol::{
    Contact, Direction, Entity, EntityRef, Message, MessageStatus, Millis, StatusStamp,
};
use serde::{Deserialize, Serialize};

use crate::storage::{Storage, StorageError};

/// How long the channel keeps following a message's delivery.
pub const FOLLOW_FOR: Millis = 7 * 24 * 60 * 60 * 1000;

/// How the test channel treats outgoing messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TestRules {
    /// Addresses whose messages always fail.
    pub fail: Vec<String>,
    /// The provider's error for them.
    pub failure_reason: String,
    /// Time between two steps of a message's life.
    pub step_ms: Millis,
    /// Whether contacts read what they receive.
    pub read: bool,
}

impl Default for TestRules {
    fn default() -> Self {
        TestRules {
            fail: Vec::new(),
            failure_reason: "(#131026) Message undeliverable: the number is not on WhatsApp."
                .into(),
            step_ms: 500,
            read: true,
        }
    }
}

/// The address a message goes to on its channel: the contact's identity there, or their phone.
fn address(contact: &Contact, m: &Message) -> String {
    contact
        .identities
        .iter()
        .find(|i| i.channel == m.channel)
        .map(|i| i.address.clone())
        .unwrap_or_else(|| contact.phone.clone())
}

/// Moves each outgoing message one step along, when its time has come. Returns how many moved.
pub fn deliver<S: Storage>(storage: &S, now: Millis) -> Result<usize, StorageError> {
    let mut moved = 0;
    // A provider stops reporting on old messages: only those that moved in the last week move on.
    let due = storage.messages_in_delivery(now - FOLLOW_FOR, 500)?;
    if due.is_empty() {
        return Ok(0);
    }
    // Each channel's rules, read once per round (not once per message, inside its write).
    let mut rules_of = std::collections::HashMap::new();
    for kind in outpost_protocol::ChannelKind::ALL {
        let rules: TestRules = storage
            .channel_settings(kind)?
            .and_then(|v| v.get("rules").cloned())
            .and_then(|r| serde_json::from_value(r).ok())
            .unwrap_or_default();
        rules_of.insert(kind, rules);
    }
    for id in due {
        storage.write(|tx| {
            use crate::storage::Tx;
            let Some(Entity::Message(mut m)) = tx.get(EntityRef::Message(id))? else {
                return Ok::<_, StorageError>(());
            };
            if m.direction != Direction::Outgoing {
                return Ok(());
            }
            let rules = &rules_of[&m.channel];
            let last = m.history.last().map_or(m.created_at, |s| s.at);
            if now - last < rules.step_ms {
                return Ok(());
            }
            let to = match tx.get(EntityRef::Conversation(m.conversation_id))? {
                Some(Entity::Conversation(c)) => match tx.get(EntityRef::Contact(c.contact_id))? {
                    Some(Entity::Contact(k)) => address(&k, &m),
                    _ => String::new(),
                },
                _ => String::new(),
            };
            let next = match m.status {
                MessageStatus::Pending if rules.fail.contains(&to) => {
                    m.failure = Some(rules.failure_reason.clone());
                    MessageStatus::Failed
                }
                MessageStatus::Pending => MessageStatus::Wired,
                MessageStatus::Wired => MessageStatus::Sent,
                MessageStatus::Sent => MessageStatus::Delivered,
                MessageStatus::Delivered if rules.read => MessageStatus::Read,
                _ => return Ok(()),
            };
            m.status = next;
            m.history.push(StatusStamp {
                status: next,
                at: now,
            });
            tx.put(&Entity::Message(m))?;
            moved += 1;
            Ok(())
        })?;
    }
    Ok(moved)
}
