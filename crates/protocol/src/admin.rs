//! The administration API's messages (`/v1/admin/…`), shared by the server, the desktop core and
//! the interface's Admin area: channels, agents, teams.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Agent, Channel, ChannelKind, Millis, QuickReply, Role, TeamId, Template, Visibility};

/// Settings or credentials of a channel, by name (`allowed_origins`, `access_token`…).
pub type Settings = serde_json::Map<String, serde_json::Value>;

/// A channel as an admin sees it: the entity, its settings without credentials (only whether
/// each is set), and where its provider sends to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct ChannelAdmin {
    pub channel: Channel,
    /// Settings that are not credentials, as saved.
    #[ts(type = "Record<string, unknown>")]
    pub settings: Settings,
    /// The credentials that are set (their values never leave the server).
    pub credentials_set: Vec<String>,
    /// The address to paste at the provider (a webhook), when it sends to us.
    pub webhook_url: Option<String>,
    /// For web chat: the tag to put on the business's site.
    pub embed: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    pub kind: ChannelKind,
    pub name: String,
    /// A test channel, its provider simulated: only on purpose.
    #[serde(default)]
    pub test: bool,
    #[serde(default)]
    #[ts(type = "Record<string, unknown>")]
    pub settings: Settings,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct NewChannelAnswer {
    #[serde(flatten)]
    pub admin: ChannelAdmin,
    /// The channel's secret, shown this once.
    pub secret: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ChannelChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub templates: Option<Vec<Template>>,
    /// Settings to change (a credential given here replaces the saved one); others are kept.
    #[serde(default)]
    #[ts(type = "Record<string, unknown> | null")]
    pub settings: Option<Settings>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SecretAnswer {
    /// The new secret, shown this once; the old one no longer works.
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NewAgent {
    pub name: String,
    pub email: String,
    /// A first password, or none: an invitation link to set one is made instead.
    #[serde(default)]
    pub password: Option<String>,
    pub role: Role,
    pub visibility: Visibility,
    #[serde(default)]
    pub teams: Vec<TeamId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NewAgentAnswer {
    pub agent: Agent,
    /// The one-time link that lets them choose their password (when no password was given).
    pub invite_url: Option<String>,
    pub invite_expires_at: Option<Millis>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct AgentChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub visibility: Option<Visibility>,
    #[serde(default)]
    pub teams: Option<Vec<TeamId>>,
    /// Disabled: their sessions end at once and they cannot sign in.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// An agent as an admin sees them: with whether they are disabled, or still invited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AgentAdmin {
    pub agent: Agent,
    pub disabled: bool,
    /// Invited, no password chosen yet.
    pub invited: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NewTeam {
    pub name: String,
    #[serde(default)]
    pub quick_replies: Vec<QuickReply>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct TeamChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub quick_replies: Option<Vec<QuickReply>>,
}
