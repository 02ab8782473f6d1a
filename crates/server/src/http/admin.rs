//! The administration API (owners and admins): teams and their quick replies, agents (invited
//! with a one-time link or given a first password; role, visibility, teams, disabled), channels
//! (created with their credentials, which never come back; the webhook address to paste at the
//! provider; a new secret; disabled; templates), and the keyword flows.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use outpost_protocol::admin::{
    AgentAdmin, AgentChange, ChannelAdmin, ChannelChange, NewAgent, NewAgentAnswer, NewChannel,
    NewChannelAnswer, NewTeam, SecretAnswer, TeamChange,
};
use outpost_protocol::{Agent, ChannelKind, ErrorCode};
use serde::Deserialize;

use super::{ApiError, Authed, Body, blocking};
use crate::App;
use crate::storage::Storage;
use crate::workspace;

pub(super) fn routes<S: Storage>() -> Router<Arc<App<S>>> {
    Router::new()
        .route("/v1/flows", axum::routing::put(set_flows::<S>))
        .route("/v1/admin/teams", post(create_team::<S>))
        .route(
            "/v1/admin/teams/{id}",
            axum::routing::patch(update_team::<S>),
        )
        .route(
            "/v1/admin/agents",
            get(list_agents::<S>).post(create_agent::<S>),
        )
        .route(
            "/v1/admin/agents/{id}",
            axum::routing::patch(update_agent::<S>),
        )
        .route(
            "/v1/admin/channels",
            get(list_channels::<S>).post(create_channel::<S>),
        )
        .route(
            "/v1/admin/channels/{id}",
            get(show_channel::<S>).patch(update_channel::<S>),
        )
        .route("/v1/admin/channels/{id}/secret", post(rotate_secret::<S>))
        .route(
            "/v1/admin/channels/{id}/templates",
            post(refresh_templates::<S>),
        )
}

fn require_admin(agent: &Agent) -> Result<(), ApiError> {
    if outpost_protocol::rules::is_privileged(agent) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::NotAllowed,
            "Only the owner or an admin can manage the team.",
        ))
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidInput,
        message,
    )
}

fn no_such(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        format!("There is no such {what}."),
    )
}

/// Stores an entity an admin made or changed, validated, and tells the streams.
async fn put<S: Storage>(app: &App<S>, entity: outpost_protocol::Entity) -> Result<(), ApiError> {
    entity.validate().map_err(|e| invalid(e.to_string()))?;
    let storage = app.storage.clone();
    blocking(move || {
        storage.write(|tx| {
            use crate::storage::Tx;
            tx.put(&entity)
        })
    })
    .await?;
    app.announce();
    Ok(())
}

async fn create_team<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    Body(req): Body<NewTeam>,
) -> Result<Json<outpost_protocol::Team>, ApiError> {
    require_admin(&agent)?;
    let team = outpost_protocol::Team {
        id: outpost_protocol::TeamId::new(),
        name: req.name.trim().to_owned(),
        quick_replies: req.quick_replies,
    };
    if team.name.is_empty() {
        return Err(invalid("A team needs a name."));
    }
    put(&app, outpost_protocol::Entity::Team(team.clone())).await?;
    Ok(Json(team))
}

/// Renames a team or replaces its quick replies.
async fn update_team<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    Path(id): Path<String>,
    Body(change): Body<TeamChange>,
) -> Result<Json<outpost_protocol::Team>, ApiError> {
    require_admin(&agent)?;
    let id = outpost_protocol::TeamId(uuid::Uuid::parse_str(&id).map_err(|_| no_such("team"))?);
    let storage = app.storage.clone();
    let Some(outpost_protocol::Entity::Team(mut team)) =
        blocking(move || storage.get(outpost_protocol::EntityRef::Team(id))).await?
    else {
        return Err(no_such("team"));
    };
    if let Some(name) = change.name {
        team.name = name.trim().to_owned();
        if team.name.is_empty() {
            return Err(invalid("A team needs a name."));
        }
    }
    if let Some(replies) = change.quick_replies {
        team.quick_replies = replies
            .into_iter()
            .map(|q| outpost_protocol::QuickReply {
                shortcut: q.shortcut.trim().trim_start_matches('/').to_owned(),
                text: q.text,
            })
            .collect();
    }
    put(&app, outpost_protocol::Entity::Team(team.clone())).await?;
    Ok(Json(team))
}

/// Every agent, with whether they are disabled or still invited.
async fn list_agents<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(admin): Authed,
) -> Result<Json<Vec<AgentAdmin>>, ApiError> {
    require_admin(&admin)?;
    let storage = app.storage.clone();
    let agents = blocking(move || {
        let agents = storage.write(|tx| {
            use crate::storage::Tx;
            tx.agents()
        })?;
        agents
            .into_iter()
            .map(|agent| {
                let disabled = storage.is_disabled(agent.id)?;
                let invited = storage
                    .password_hash(agent.id)?
                    .is_none_or(|h| h.is_empty());
                Ok(AgentAdmin {
                    agent,
                    disabled,
                    invited,
                })
            })
            .collect::<Result<Vec<_>, crate::storage::StorageError>>()
    })
    .await?;
    Ok(Json(agents))
}

async fn create_agent<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(admin): Authed,
    headers: HeaderMap,
    Body(req): Body<NewAgent>,
) -> Result<Json<NewAgentAnswer>, ApiError> {
    require_admin(&admin)?;
    if req.role != outpost_protocol::Role::Agent && admin.role != outpost_protocol::Role::Owner {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::NotAllowed,
            "Only the owner can add admins.",
        ));
    }
    if req.role == outpost_protocol::Role::Owner {
        return Err(invalid("A workspace has one owner."));
    }
    if !req.email.contains('@') {
        return Err(invalid("That is not an email address."));
    }
    let storage = app.storage.clone();
    let taken = {
        let (storage, email) = (storage.clone(), req.email.clone());
        blocking(move || storage.credentials(&email))
            .await?
            .is_some()
    };
    if taken {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            "Someone already signs in with that email.",
        ));
    }
    let teams = {
        let storage = storage.clone();
        let wanted = req.teams.clone();
        blocking(move || {
            wanted
                .into_iter()
                .map(|t| {
                    storage
                        .get(outpost_protocol::EntityRef::Team(t))
                        .map(|e| e.is_some())
                })
                .collect::<Result<Vec<bool>, _>>()
        })
        .await?
    };
    if teams.contains(&false) {
        return Err(no_such("team"));
    }
    let now = app.now();
    let invite = match req.password {
        Some(_) => None,
        None => Some(crate::auth::new_token().map_err(ApiError::internal)?),
    };
    let base = app.public_base(&headers);
    let (agent, invite) = blocking(move || {
        let agent = match &req.password {
            Some(password) => crate::add_agent(
                &*storage,
                &req.name,
                &req.email,
                password,
                req.role,
                req.visibility,
                req.teams,
            ),
            None => crate::add_invited_agent(
                &*storage,
                &req.name,
                &req.email,
                req.role,
                req.visibility,
                req.teams,
            ),
        }
        .map_err(invalid)?;
        let invite = match invite {
            Some((token, hash)) => {
                storage.create_invite(&hash, agent.id, now + crate::auth::INVITE_TTL)?;
                Some(token)
            }
            None => None,
        };
        Ok::<_, ApiError>((agent, invite))
    })
    .await?;
    app.announce();
    Ok(Json(NewAgentAnswer {
        agent,
        invite_expires_at: invite.as_ref().map(|_| now + crate::auth::INVITE_TTL),
        invite_url: invite.map(|token| format!("{base}/invite/{token}")),
    }))
}

async fn update_agent<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(admin): Authed,
    Path(id): Path<String>,
    Body(change): Body<AgentChange>,
) -> Result<Json<Agent>, ApiError> {
    require_admin(&admin)?;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "There is no such agent.",
        )
    };
    let id = outpost_protocol::AgentId(uuid::Uuid::parse_str(&id).map_err(|_| not_found())?);
    if change.disabled == Some(true) && id == admin.id {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidInput,
            "You cannot disable yourself.",
        ));
    }
    let disabled = change.disabled;
    let storage = app.storage.clone();
    let updated = blocking(move || {
        storage.write(|tx| {
            use crate::storage::Tx;
            let Some(outpost_protocol::Entity::Agent(mut agent)) =
                tx.get(outpost_protocol::EntityRef::Agent(id))?
            else {
                return Err(not_found());
            };
            let touches_admins = agent.role != outpost_protocol::Role::Agent
                || change
                    .role
                    .is_some_and(|r| r != outpost_protocol::Role::Agent);
            if touches_admins && admin.role != outpost_protocol::Role::Owner {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    ErrorCode::NotAllowed,
                    "Only the owner can change admins.",
                ));
            }
            if disabled == Some(true) && agent.role == outpost_protocol::Role::Owner {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    ErrorCode::NotAllowed,
                    "The owner cannot be disabled.",
                ));
            }
            if let Some(name) = change.name {
                agent.name = name.trim().to_owned();
            }
            if let Some(role) = change.role {
                agent.role = role;
            }
            if let Some(v) = change.visibility {
                agent.visibility = v;
            }
            if let Some(teams) = change.teams {
                agent.teams = teams;
            }
            agent.validate().map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::InvalidInput,
                    e.to_string(),
                )
            })?;
            workspace::put_agent(tx, &agent)?;
            Ok(agent)
        })
    })
    .await?;
    if let Some(disabled) = disabled {
        let storage = app.storage.clone();
        let id = updated.id;
        blocking(move || storage.set_disabled(id, disabled)).await?;
        if disabled {
            app.end_sessions(crate::SessionEnd::Agent {
                agent: id,
                keep: None,
            });
        }
    }
    app.agents_changed();
    app.announce();
    Ok(Json(updated))
}

#[derive(Deserialize)]
struct FlowsRequest {
    flows: Vec<crate::flows::Flow>,
}

/// Replaces the workspace's keyword flows (owners and admins only).
async fn set_flows<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    Body(req): Body<FlowsRequest>,
) -> Result<StatusCode, ApiError> {
    if !outpost_protocol::rules::is_privileged(&agent) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::NotAllowed,
            "Only the owner or an admin can change the flows.",
        ));
    }
    for f in &req.flows {
        f.validate().map_err(|e| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidInput, e)
        })?;
    }
    let storage = app.storage.clone();
    blocking(move || {
        storage.write(|tx| {
            use crate::storage::Tx;
            tx.set_flows(&req.flows)
        })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn admin_view(
    channel: outpost_protocol::Channel,
    settings: serde_json::Value,
    base: &str,
) -> ChannelAdmin {
    let mut open = serde_json::Map::new();
    let mut set = Vec::new();
    if let serde_json::Value::Object(map) = settings {
        for (k, v) in map {
            if crate::channels::is_credential(channel.kind, &k) {
                set.push(k);
            } else if k != "rules" {
                open.insert(k, v);
            }
        }
    }
    let id = channel.id;
    let (webhook_url, embed) = match (channel.test, channel.kind) {
        (true, _) => (Some(format!("{base}/v1/channels/{id}/inbound")), None),
        (false, ChannelKind::WebChat) => (
            None,
            Some(format!(
                "<script src=\"{base}/widget/{id}.js\" async></script>"
            )),
        ),
        (false, ChannelKind::Whatsapp) => (Some(format!("{base}/v1/webhooks/whatsapp/{id}")), None),
        (false, ChannelKind::Telegram) => (Some(format!("{base}/v1/webhooks/telegram/{id}")), None),
        _ => (None, None),
    };
    ChannelAdmin {
        channel,
        settings: open,
        credentials_set: set,
        webhook_url,
        embed,
    }
}

async fn load_channel<S: Storage>(
    app: &App<S>,
    id: &str,
) -> Result<(outpost_protocol::Channel, serde_json::Value), ApiError> {
    let id =
        outpost_protocol::ChannelId(uuid::Uuid::parse_str(id).map_err(|_| no_such("channel"))?);
    let storage = app.storage.clone();
    blocking(move || {
        let Some(outpost_protocol::Entity::Channel(c)) =
            storage.get(outpost_protocol::EntityRef::Channel(id))?
        else {
            return Err(no_such("channel"));
        };
        let settings = storage.channel_settings(id.0)?.unwrap_or_default();
        Ok((c, settings))
    })
    .await
}

async fn list_channels<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    headers: HeaderMap,
) -> Result<Json<Vec<ChannelAdmin>>, ApiError> {
    require_admin(&agent)?;
    let base = app.public_base(&headers);
    let storage = app.storage.clone();
    let all = blocking(move || {
        crate::channels::all(&*storage)?
            .into_iter()
            .map(|c| {
                let settings = storage.channel_settings(c.id.0)?.unwrap_or_default();
                Ok((c, settings))
            })
            .collect::<Result<Vec<_>, crate::storage::StorageError>>()
    })
    .await?;
    Ok(Json(
        all.into_iter()
            .map(|(c, s)| admin_view(c, s, &base))
            .collect(),
    ))
}

async fn show_channel<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ChannelAdmin>, ApiError> {
    require_admin(&agent)?;
    let (c, settings) = load_channel(&app, &id).await?;
    Ok(Json(admin_view(c, settings, &app.public_base(&headers))))
}

async fn create_channel<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    headers: HeaderMap,
    Body(req): Body<NewChannel>,
) -> Result<(StatusCode, Json<NewChannelAnswer>), ApiError> {
    require_admin(&agent)?;
    let settings = serde_json::Value::Object(req.settings);
    crate::channels::check_settings(req.kind, req.test, &settings).map_err(invalid)?;
    let (secret, _) = crate::auth::new_token().map_err(ApiError::internal)?;
    let storage = app.storage.clone();
    let new = crate::NewChannel {
        kind: req.kind,
        name: req.name,
        test: req.test,
        secret: secret.clone(),
        settings: settings.clone(),
    };
    let channel = blocking(move || crate::add_channel(&*storage, new).map_err(invalid)).await?;
    tracing::info!(channel = %channel.id, kind = channel.kind.as_str(), test = channel.test, by = %agent.id, "channel added");
    app.announce();
    let admin = admin_view(channel, settings, &app.public_base(&headers));
    Ok((
        StatusCode::CREATED,
        Json(NewChannelAnswer { admin, secret }),
    ))
}

async fn update_channel<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(change): Body<ChannelChange>,
) -> Result<Json<ChannelAdmin>, ApiError> {
    require_admin(&agent)?;
    let (mut channel, mut settings) = load_channel(&app, &id).await?;
    if let Some(name) = change.name {
        channel.name = name.trim().to_owned();
    }
    if let Some(disabled) = change.disabled {
        channel.disabled = disabled;
    }
    if let Some(templates) = change.templates {
        if channel.kind != ChannelKind::Whatsapp {
            return Err(invalid("Only WhatsApp channels have templates."));
        }
        if !channel.test {
            return Err(invalid(
                "A WhatsApp channel's templates are the ones WhatsApp approved: fetch them again instead.",
            ));
        }
        channel.templates = templates;
    }
    if let Some(more) = change.settings {
        let mut merged = settings.as_object().cloned().unwrap_or_default();
        // A setting given as null goes back to its default.
        for (k, v) in more {
            if v.is_null() {
                merged.remove(&k);
            } else {
                merged.insert(k, v);
            }
        }
        settings = serde_json::Value::Object(merged);
        crate::channels::check_settings(channel.kind, channel.test, &settings).map_err(invalid)?;
        let (storage, id, saved) = (app.storage.clone(), channel.id.0, settings.clone());
        blocking(move || storage.set_channel_settings(id, &saved)).await?;
    }
    put(&app, outpost_protocol::Entity::Channel(channel.clone())).await?;
    tracing::info!(channel = %channel.id, disabled = channel.disabled, by = %agent.id, "channel changed");
    Ok(Json(admin_view(
        channel,
        settings,
        &app.public_base(&headers),
    )))
}

/// A real WhatsApp channel's approved templates, fetched again now from its business account.
async fn refresh_templates<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ChannelAdmin>, ApiError> {
    require_admin(&agent)?;
    let (channel, _) = load_channel(&app, &id).await?;
    if channel.kind != ChannelKind::Whatsapp || channel.test {
        return Err(invalid(
            "Only a WhatsApp channel (not a test one) has templates to fetch.",
        ));
    }
    let count = crate::providers::whatsapp::refresh_templates(&app, channel.id.0)
        .await
        .map_err(|e| {
            tracing::warn!(channel = %channel.id, "templates not fetched: {e}");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::Internal,
                format!("WhatsApp's templates could not be fetched: {e}"),
            )
        })?;
    tracing::info!(channel = %channel.id, count, by = %agent.id, "WhatsApp templates fetched");
    let (channel, settings) = load_channel(&app, &id).await?;
    Ok(Json(admin_view(
        channel,
        settings,
        &app.public_base(&headers),
    )))
}

/// A new secret for the channel's webhooks; the old one stops working at once.
async fn rotate_secret<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    Path(id): Path<String>,
) -> Result<Json<SecretAnswer>, ApiError> {
    require_admin(&agent)?;
    let (channel, _) = load_channel(&app, &id).await?;
    let (secret, hash) = crate::auth::new_token().map_err(ApiError::internal)?;
    let storage = app.storage.clone();
    blocking(move || storage.set_channel_secret(channel.id.0, &hash)).await?;
    tracing::info!(channel = %channel.id, by = %agent.id, "channel secret rotated");
    Ok(Json(SecretAnswer { secret }))
}
