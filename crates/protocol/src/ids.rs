//! Identifiers. Every entity is named by a UUID, so a client can create one offline (a message, a
//! "write first" conversation, a custom view) and the server keeps the id it was given: the id is
//! the client id that makes a retried send idempotent. New ids are UUID v7, ordered by time.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id (UUID v7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A contact (a customer), across all its channel identities.
    ContactId
);
id_type!(
    /// A conversation: the thread with one contact.
    ConversationId
);
id_type!(
    /// A message, incoming or outgoing. For outgoing messages it is chosen by the client.
    MessageId
);
id_type!(
    /// An event in a conversation's timeline (assigned, closed, snoozed...).
    EventId
);
id_type!(
    /// A call on a channel (WhatsApp calling): derived from the provider's call id, so the
    /// provider's connect and terminate webhooks (each delivered once or more) name one call.
    CallId
);
id_type!(
    /// A user of the workspace: an agent, an admin or the owner.
    AgentId
);
id_type!(
    /// A team of agents.
    TeamId
);
id_type!(
    /// One of the business's channels (a WhatsApp number, a Telegram bot, a web-chat widget…).
    ChannelId
);
id_type!(
    /// A custom inbox (saved filter).
    ViewId
);
id_type!(
    /// An agent's action: the key that makes it idempotent at the server.
    OpId
);
