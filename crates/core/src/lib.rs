//! `outpost-core`: the Outpost client engine, with no GUI.
//!
//! - [`store`]: the SQLite mirror (schema and migrations, entities, views, search, the op journal);
//! - [`actions`]: the local effect of each agent action, by the product's rules;
//! - [`client`]: the facade, [`Client::handle`] for requests and a stream of [`Event`]s that carry
//!   ids, not data;
//! - [`generate`]: realistic generated workspaces, for the demo, the benchmarks and the tests.

pub(crate) mod actions;
pub mod client;
pub mod error;
pub mod generate;
pub mod store;
#[cfg(test)]
pub(crate) mod testing;

pub use client::{Client, Clock, Event, ManualClock, Request, Response, SystemClock};
pub use error::{Error, Result};
pub use store::{IndexMode, Store};
