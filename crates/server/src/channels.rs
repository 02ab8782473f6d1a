//! The channel layer. A channel is one of the business's ways to reach its customers (a WhatsApp
//! number, a Telegram bot, a web-chat widget…): an entity agents see (`Entity::Channel`: kind,
//! name, test or not, disabled, templates) and, at the server only, its secret and settings.
//!
//! Statuses come only from a channel's provider: an outgoing message moves along only when its
//! provider says so. The one exception is the **test channel**, an explicit kind of channel made
//! by the demo or on purpose, whose simulated provider moves messages queued → wired → sent →
//! delivered → read, one step per `step_ms`, or fails them with the provider's error, as its rules
//! say (`PUT /v1/channels/{id}/rules`, authenticated by the channel's secret). A message whose
//! channel kind has no enabled channel fails at once, saying so; one on a real channel waits in
//! the outgoing queue for its provider.
//!
//! Customers' messages arrive on a channel's webhook (`POST /v1/channels/{id}/inbound`, with the
//! channel's secret); a disabled channel refuses them.

use std::collections::HashMap;

use outpost_protocol::{
    Channel, ChannelId, ChannelKind, Contact, Direction, Entity, EntityRef, Message, MessageStatus,
    Millis, StatusStamp,
};
use serde::{Deserialize, Serialize};

use crate::storage::{Storage, StorageError};

/// How long the channel keeps following a message's delivery.
pub const FOLLOW_FOR: Millis = 7 * 24 * 60 * 60 * 1000;

/// Why a message failed when no enabled channel of its kind exists.
pub const NO_CHANNEL: &str =
    "No channel of this kind is connected or enabled: ask an admin, then retry.";

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

/// Every channel of the workspace, oldest first (one read: the timers ask every round).
pub fn all<S: Storage>(storage: &S) -> Result<Vec<Channel>, StorageError> {
    storage.channel_entities()
}

/// The channel each kind's outgoing messages leave through: the oldest enabled one.
pub fn routes<S: Storage>(storage: &S) -> Result<HashMap<ChannelKind, Channel>, StorageError> {
    let mut routes = HashMap::new();
    for c in all(storage)? {
        if !c.disabled {
            routes.entry(c.kind).or_insert(c);
        }
    }
    Ok(routes)
}

/// The channel an outgoing message leaves through: the one it names while that is enabled (the
/// one its customer wrote on), else the oldest enabled channel of its kind; none when its kind
/// has no enabled channel. `channels` oldest first, as [`all`] gives them.
pub fn route_of(
    channel_id: Option<ChannelId>,
    kind: ChannelKind,
    channels: &[Channel],
) -> Option<&Channel> {
    let enabled = |c: &&Channel| !c.disabled && c.kind == kind;
    channel_id
        .and_then(|id| channels.iter().filter(enabled).find(|c| c.id == id))
        .or_else(|| channels.iter().find(enabled))
}

/// Whether the channel's provider is one of the adapters of `crate::providers` (a real
/// WhatsApp number, Telegram bot or mailbox), not the server itself or a simulation.
pub fn has_provider(c: &Channel) -> bool {
    !c.test
        && matches!(
            c.kind,
            ChannelKind::Whatsapp | ChannelKind::Telegram | ChannelKind::Email
        )
}

/// The address a message goes to on its channel: the contact's identity there, or their phone.
pub fn address(contact: &Contact, m: &Message) -> String {
    contact
        .identities
        .iter()
        .find(|i| i.channel == m.channel)
        .map(|i| i.address.clone())
        .unwrap_or_else(|| contact.phone.clone())
}

/// What happens next to an outgoing message, by the channel it leaves through.
enum Next {
    /// The test channel's simulated provider moves it along, by these rules.
    Simulated(TestRules),
    /// No enabled channel of its kind: it fails, saying so.
    NoChannel,
    /// A web-chat widget: the server is its provider, holding the message for the visitor's
    /// widget (sent); the widget says when it has it (delivered) and showed it (read).
    Widget,
    /// A real provider's: `crate::providers` hands it over.
    Provider,
}

/// Moves outgoing messages along where the server itself is their provider: on test channels,
/// one step when its time has come; with no channel of their kind, to Failed. Messages on real
/// channels are left to their providers. Returns how many moved.
pub fn deliver<S: Storage>(
    storage: &S,
    now: Millis,
    metrics: &crate::metrics::Metrics,
) -> Result<usize, StorageError> {
    let channels = all(storage)?;
    // Kinds whose messages may be the server's to move: with a test or web-chat channel, or
    // with no enabled channel at all. A kind with only real providers is theirs alone (its
    // messages wait a week for statuses: not read here four times a second).
    let kinds: Vec<ChannelKind> = ChannelKind::ALL
        .into_iter()
        .filter(|k| {
            let mut enabled = channels.iter().filter(|c| c.kind == *k && !c.disabled);
            enabled.clone().next().is_none() || enabled.any(|c| !has_provider(c))
        })
        .collect();
    if kinds.is_empty() {
        return Ok(0);
    }
    // Each channel's fate, read once per round (not once per message, inside its write).
    let mut next_of: HashMap<Option<ChannelId>, Next> = HashMap::new();
    let mut next = |m: &Message| -> Result<(Option<ChannelId>, bool), StorageError> {
        let route = route_of(m.channel_id, m.channel, &channels);
        let key = route.map(|c| c.id);
        if let std::collections::hash_map::Entry::Vacant(slot) = next_of.entry(key) {
            let n = match route {
                None => Next::NoChannel,
                Some(c) if c.test => {
                    let rules: TestRules = storage
                        .channel_settings(c.id.0)?
                        .and_then(|v| v.get("rules").cloned())
                        .and_then(|r| serde_json::from_value(r).ok())
                        .unwrap_or_default();
                    Next::Simulated(rules)
                }
                Some(c) if c.kind == ChannelKind::WebChat => Next::Widget,
                Some(_) => Next::Provider,
            };
            slot.insert(n);
        }
        let waits = match next_of.get(&key) {
            Some(Next::Widget | Next::NoChannel) => m.status != MessageStatus::Pending,
            Some(Next::Simulated(rules)) => {
                now - m.history.last().map_or(m.created_at, |s| s.at) < rules.step_ms
            }
            Some(Next::Provider) | None => true,
        };
        Ok((key, waits))
    };
    // A provider stops reporting on old messages: only those that moved in the last week move on.
    let due = storage.messages_in_delivery(now - FOLLOW_FOR, &kinds, 500)?;
    let mut moving = Vec::new();
    // Read first (in one read): most rounds move nothing (a widget's message waits for its
    // visitor, a test channel's for its next step), and a read costs no write transaction.
    for m in storage.messages(&due)? {
        let (route, waits) = next(&m)?;
        if !waits && m.direction == Direction::Outgoing {
            moving.push((m.id, route));
        }
    }
    if moving.is_empty() {
        return Ok(0);
    }
    // One transaction for the round: each message's step is judged again inside it.
    storage.write(|tx| {
        use crate::storage::Tx;
        let refs: Vec<EntityRef> = moving
            .iter()
            .map(|(id, _)| EntityRef::Message(*id))
            .collect();
        tx.prefetch(&refs, &[])?;
        let mut moved = 0;
        for (id, route) in moving {
            let Some(Entity::Message(mut m)) = tx.get(EntityRef::Message(id))? else {
                continue;
            };
            if m.direction != Direction::Outgoing {
                continue;
            }
            let next = match next_of.get(&route) {
                Some(Next::Widget) if m.status == MessageStatus::Pending => MessageStatus::Sent,
                Some(Next::NoChannel) if m.status == MessageStatus::Pending => {
                    m.failure = Some(NO_CHANNEL.into());
                    m.failure_reason = Some(outpost_protocol::Reason::new("no_channel"));
                    MessageStatus::Failed
                }
                Some(Next::Simulated(rules)) => {
                    let last = m.history.last().map_or(m.created_at, |s| s.at);
                    if now - last < rules.step_ms {
                        continue;
                    }
                    let to = match tx.get(EntityRef::Conversation(m.conversation_id))? {
                        Some(Entity::Conversation(c)) => {
                            match tx.get(EntityRef::Contact(c.contact_id))? {
                                Some(Entity::Contact(k)) => address(&k, &m),
                                _ => String::new(),
                            }
                        }
                        _ => String::new(),
                    };
                    match m.status {
                        MessageStatus::Pending if rules.fail.contains(&to) => {
                            m.failure = Some(rules.failure_reason.clone());
                            m.failure_reason = simulated_reason(m.channel, &rules.failure_reason);
                            metrics.provider_error(m.channel);
                            MessageStatus::Failed
                        }
                        MessageStatus::Pending => MessageStatus::Wired,
                        MessageStatus::Wired => MessageStatus::Sent,
                        MessageStatus::Sent => MessageStatus::Delivered,
                        MessageStatus::Delivered if rules.read => MessageStatus::Read,
                        _ => continue,
                    }
                }
                _ => continue,
            };
            if m.status == MessageStatus::Pending && route.is_some() {
                m.channel_id = route;
            }
            m.status = next;
            m.history.push(StatusStamp {
                status: next,
                at: now,
            });
            tx.put(&Entity::Message(m))?;
            moved += 1;
        }
        Ok::<_, StorageError>(moved)
    })
}

/// The reason of a simulated provider's failure: for WhatsApp, its "(#code) title: details"
/// read as the real one's would be.
fn simulated_reason(kind: ChannelKind, text: &str) -> Option<outpost_protocol::Reason> {
    if kind != ChannelKind::Whatsapp {
        return None;
    }
    let rest = text.strip_prefix("(#")?;
    let (code, words) = rest.split_once(')')?;
    let code: i64 = code.parse().ok()?;
    let (title, details) = words.trim().split_once(':').unwrap_or((words.trim(), ""));
    Some(crate::reasons::whatsapp(code, title, details).1)
}

/// Gives an entity to channels made before channels were entities: they were all simulated, so
/// they become test channels, named as they were. Run once when the server starts.
pub fn adopt_legacy<S: Storage>(storage: &S) -> Result<usize, StorageError> {
    let mut adopted = 0;
    for (id, kind) in storage.channels()? {
        let r = EntityRef::Channel(outpost_protocol::ChannelId(id));
        if storage.get(r)?.is_some() {
            continue;
        }
        let name = storage
            .channel_settings(id)?
            .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_owned))
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| kind.as_str().to_owned());
        let channel = Channel {
            id: outpost_protocol::ChannelId(id),
            kind,
            name,
            test: true,
            disabled: false,
            templates: Vec::new(),
        };
        storage.write(|tx| {
            use crate::storage::Tx;
            tx.put(&Entity::Channel(channel))
        })?;
        adopted += 1;
    }
    Ok(adopted)
}

/// Channel kinds with a real provider here; others exist only as test channels.
const REAL_KINDS: [ChannelKind; 4] = [
    ChannelKind::WebChat,
    ChannelKind::Whatsapp,
    ChannelKind::Telegram,
    ChannelKind::Email,
];

/// The settings a channel of this kind needs, and which of them are credentials (never sent
/// back once saved).
fn settings_of(kind: ChannelKind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        ChannelKind::WebChat => (&["allowed_origins"], &[]),
        ChannelKind::Whatsapp => (
            &[
                "phone_number_id",
                "business_account_id",
                "access_token",
                "app_secret",
            ],
            &["access_token", "app_secret"],
        ),
        ChannelKind::Telegram => (&["bot_token"], &["bot_token", "webhook_secret"]),
        ChannelKind::Email => (
            &["address", "imap_host", "smtp_host", "username", "password"],
            &["password"],
        ),
        _ => (&[], &[]),
    }
}

/// Every key that is a credential, whatever the kind (for the test channel's too).
pub fn is_credential(kind: ChannelKind, key: &str) -> bool {
    settings_of(kind).1.contains(&key)
}

/// Checks a channel's settings: the ones its kind needs are there, and each is well formed.
pub fn check_settings(
    kind: ChannelKind,
    test: bool,
    settings: &serde_json::Value,
) -> Result<(), String> {
    let Some(map) = settings.as_object() else {
        return Err("A channel's settings are an object of names and values.".into());
    };
    if test {
        return Ok(());
    }
    if !REAL_KINDS.contains(&kind) {
        return Err(format!(
            "Outpost has no {} provider yet: only a test channel of this kind can be made.",
            kind.as_str()
        ));
    }
    for key in settings_of(kind).0 {
        let present = match map.get(*key) {
            Some(serde_json::Value::String(s)) => !s.trim().is_empty(),
            Some(serde_json::Value::Array(a)) => !a.is_empty(),
            Some(serde_json::Value::Number(_)) => true,
            _ => false,
        };
        if !present {
            return Err(format!("A {} channel needs {key}.", kind.as_str()));
        }
    }
    if let Some(base) = map.get("api_base") {
        let ok = base
            .as_str()
            .is_some_and(|b| b.is_empty() || b.starts_with("https://") || b.starts_with("http://"));
        if !ok {
            return Err(format!(
                "{base} is not an address: write the provider's API as https://host/path."
            ));
        }
    }
    if kind == ChannelKind::Telegram
        && let Some(mode) = map.get("mode")
        && !matches!(mode.as_str(), Some("webhook" | "polling"))
    {
        return Err(format!(
            "{mode} is no way to get Telegram's updates: say webhook or polling."
        ));
    }
    if kind == ChannelKind::Whatsapp
        && let Some(calling) = map.get("calling")
        && !matches!(calling, serde_json::Value::Bool(_))
        && !matches!(calling.as_str(), Some("on" | "off"))
    {
        return Err(format!(
            "{calling} is no calling setting: say on (record the number's calls) or off."
        ));
    }
    if kind == ChannelKind::WebChat {
        let origins = map
            .get("allowed_origins")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default();
        for o in origins {
            let ok = o.as_str().is_some_and(crate::widget::is_origin);
            if !ok {
                return Err(format!(
                    "{o} is not an origin: write it as https://example.com (scheme, host, port if any)."
                ));
            }
        }
    }
    Ok(())
}
