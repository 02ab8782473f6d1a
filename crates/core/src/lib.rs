//! `outpost-core`: the Outpost client engine, with no GUI. Its modules, each using only those
//! above it in this list (no module imports one that imports it back):
//!
//! - [`error`], [`owner_only`]: the core's errors; files at rest readable by their owner only;
//! - [`store`]: the SQLite mirror (schema and migrations, entities, views, search, the op journal,
//!   and the mirror as the protocol's `Workspace`, where every action takes effect);
//! - [`triage`]: which changes notify the agent, and how they group;
//! - [`api`]: what crosses to the interface: `Request`, `Response`, `Event` and the bridge's
//!   envelopes (types only);
//! - [`client`]: one mirror at work: reads, actions, drafts, files, and the events they cause;
//! - [`sync`]: the pull of the change feed and the push of the op journal, over HTTP, and the
//!   realtime engine;
//! - [`app`]: what a shell holds: sign-in, one mirror per account, the sync engine, and
//!   [`app::App::handle`], the one place that answers every request;
//! - [`typescript`]: the TypeScript twins of `api`'s types, for the interface.

pub mod api;
pub mod app;
pub mod client;
pub mod error;
pub mod i18n;
pub mod owner_only;
pub mod store;
pub mod sync;
pub mod tls;
pub mod triage;
pub mod typescript;

/// Realistic generated workspaces (from `outpost-protocol`), for the demo, benchmarks and tests.
pub use outpost_protocol::generate;
#[cfg(test)]
pub(crate) mod testing;

pub use api::{Account, Event, Request, Response};
pub use client::{Client, Clock, ManualClock, SystemClock};
pub use error::{Error, Result};
pub use store::{IndexMode, Store};
