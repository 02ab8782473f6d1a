//! `outpost-protocol`: the vocabulary shared by the Outpost desktop core and the Outpost server.
//!
//! Plain serde types and pure functions, no I/O:
//! - [`entity`]: contacts, conversations, messages, timeline events, agents, teams, custom views;
//! - [`folder`]: [`Folder::of`], the one rule that places a message in exactly one folder;
//! - [`sync`]: the change feed ([`Change`]) and the agent's actions ([`Op`], [`Action`], [`OpResult`]);
//! - [`limits`]: what a message, a contact or a view may hold, checked on both sides;
//! - [`rules`]: who may see a conversation, and the conversation rules both sides apply.
//!
//! Every type here crosses the bridge to the UI too: their TypeScript declarations are generated
//! from these definitions (see [`typescript`]), never written by hand.

pub mod admin;
pub mod apply;
pub mod entity;
pub mod folder;
#[cfg(feature = "generate")]
pub mod generate;
pub mod ids;
pub mod limits;
pub mod notify;
pub mod rules;
pub mod sync;
#[cfg(any(test, feature = "test-data"))]
pub mod test_data;
pub mod typescript;

pub use entity::*;
pub use folder::Folder;
pub use ids::*;
pub use limits::ValidationError;
pub use notify::{NotifyCategory, NotifySettings, QuietHours};
pub use sync::*;

/// Milliseconds since the Unix epoch, UTC. Every timestamp on the wire is one of these.
pub type Millis = i64;
