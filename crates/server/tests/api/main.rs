//! The server over HTTP on loopback, one module per area: accounts, the rules of PRODUCT.md,
//! contacts, custom views, settings, idempotency, permissions, bad input, the stream, channels,
//! flows, managing the team, attachments. One test binary (one link), split by area.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

use common::*;
use outpost_protocol::*;
use outpost_server::add_test_channel;
use serde_json::{Value, json};

mod accounts;
mod admin;
mod attachments;
mod bad_input;
mod calls;
mod channels;
mod contacts;
mod email;
mod flows;
mod idempotency;
mod mailserver;
mod permissions;
mod rules;
mod settings;
mod standin;
mod stream;
mod team;
mod telegram;
mod views;
mod whatsapp;
mod widget;
