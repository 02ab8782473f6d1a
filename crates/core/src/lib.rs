//! `outpost-core`: the Outpost client engine, with no GUI.
//!
//! - [`store`]: the SQLite mirror (schema and migrations, entities, views, search, the op journal);
//! - [`actions`]: the local effect of each agent action, by the product's rules;
//! - [`sync`]: the pull of the change feed and the push of the op journal, over HTTP;
//! - [`app`]: what a shell holds: sign-in, one mirror per account, the sync engine, and
//!   `App::handle` for every request;
//! - [`client`]: the facade, [`Client::handle`] for requests and a stream of [`Event`]s that carry
//!   ids, not data;

pub(crate) mod actions;
pub mod app;
pub mod client;
pub mod error;
pub mod owner_only;
pub mod store;
pub mod sync;
pub mod triage;

/// Realistic generated workspaces (from `outpost-protocol`), for the demo, benchmarks and tests.
pub use outpost_protocol::generate;
#[cfg(test)]
pub(crate) mod testing;

pub use client::{Account, Client, Clock, Event, ManualClock, Request, Response, SystemClock};
pub use error::{Error, Result};
pub use store::{IndexMode, Store};
