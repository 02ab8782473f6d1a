//! The real channels' webhooks: `GET`/`POST /v1/webhooks/whatsapp/{id}` (Meta's verification
//! and deliveries) and `POST /v1/webhooks/telegram/{id}` (the Bot API's updates). Each checks
//! its provider's proof first (the signature, the secret), then parses; nothing is stored from
//! a delivery that fails either, and every refusal is logged with its reason.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use outpost_protocol::{ChannelKind, Entity, EntityRef, ErrorCode};
use serde::Deserialize;

use super::ApiError;
use crate::App;
use crate::providers::{telegram, whatsapp};
use crate::storage::Storage;

pub(super) fn routes<S: Storage>() -> Router<Arc<App<S>>> {
    Router::new()
        .route(
            "/v1/webhooks/whatsapp/{id}",
            get(whatsapp_verify::<S>).post(whatsapp_delivery::<S>),
        )
        .route(
            "/v1/webhooks/telegram/{id}",
            axum::routing::post(telegram_update::<S>),
        )
}

/// A real (not test) channel of `kind`, its secret's hash and its settings; a disabled one is
/// refused (403), an unknown one is 404.
async fn channel_of<S: Storage>(
    app: &App<S>,
    id: &str,
    kind: ChannelKind,
) -> Result<(uuid::Uuid, Vec<u8>, serde_json::Value), ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "There is no such channel.",
        )
    };
    let id = uuid::Uuid::parse_str(id).map_err(|_| not_found())?;
    let storage = app.storage.clone();
    let (entity, private, settings) = super::blocking(move || {
        Ok::<_, crate::storage::StorageError>((
            storage.get(EntityRef::Channel(outpost_protocol::ChannelId(id)))?,
            storage.channel(id)?,
            storage.channel_settings(id)?,
        ))
    })
    .await?;
    let (Some(Entity::Channel(c)), Some((_, secret_hash))) = (entity, private) else {
        return Err(not_found());
    };
    if c.kind != kind || c.test {
        return Err(not_found());
    }
    if c.disabled {
        tracing::warn!(channel = %id, "a webhook for a disabled channel, refused");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::NotAllowed,
            "This channel is disabled: an admin turned it off.",
        ));
    }
    Ok((id, secret_hash, settings.unwrap_or(serde_json::Value::Null)))
}

#[derive(Deserialize)]
struct Verification {
    #[serde(rename = "hub.mode", default)]
    mode: String,
    #[serde(rename = "hub.verify_token", default)]
    verify_token: String,
    #[serde(rename = "hub.challenge", default)]
    challenge: String,
}

/// Whether a delivery says its body is JSON (`application/json`, with or without a charset).
fn says_json(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

fn not_json(channel: uuid::Uuid, provider: &str, headers: &HeaderMap) -> ApiError {
    let given = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    tracing::warn!(%channel, content_type = given, "{provider}: a delivery that is not JSON, refused");
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::InvalidInput,
        format!("A {provider} delivery is JSON (Content-Type: application/json), not {given}."),
    )
}

/// Meta's verification: `hub.mode=subscribe`, the channel's secret as `hub.verify_token`; the
/// answer is `hub.challenge`, as plain text.
async fn whatsapp_verify<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    Query(q): Query<Verification>,
) -> Result<Response, ApiError> {
    let (id, secret_hash, _) = channel_of(&app, &id, ChannelKind::Whatsapp).await?;
    let token_ok = crate::auth::token_hash(&q.verify_token) == secret_hash;
    if q.mode != "subscribe" || !token_ok || q.challenge.is_empty() || q.challenge.len() > 256 {
        tracing::warn!(channel = %id, "WhatsApp webhook verification refused: wrong mode or verify token");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::NotAllowed,
            "The verify token is not this channel's secret.",
        ));
    }
    tracing::info!(channel = %id, "WhatsApp webhook verified");
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        q.challenge,
    )
        .into_response())
}

/// A delivery from Meta: signed with the app secret, then parsed and taken.
async fn whatsapp_delivery<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (id, _, settings) = channel_of(&app, &id, ChannelKind::Whatsapp).await?;
    let settings = whatsapp::Settings::of(&settings).map_err(|e| {
        tracing::error!(channel = %id, "WhatsApp: {e}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal,
            "This channel's settings are incomplete: an admin must finish them.",
        )
    })?;
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    // The signature first (nothing is read from an unsigned body), then what it says it is.
    if !whatsapp::signed(&settings.app_secret, &body, signature) {
        tracing::warn!(channel = %id, bytes = body.len(), "WhatsApp: a delivery without a valid X-Hub-Signature-256, refused");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "The delivery is not signed with this channel's app secret.",
        ));
    }
    if !says_json(&headers) {
        return Err(not_json(id, "WhatsApp", &headers));
    }
    match whatsapp::take(&app, id, &settings, &body).await {
        Ok((messages, statuses)) => {
            tracing::debug!(channel = %id, messages, statuses, "WhatsApp delivery taken");
            Ok((StatusCode::OK, "ok").into_response())
        }
        Err(whatsapp::HookError::Malformed(why)) => {
            tracing::warn!(channel = %id, "WhatsApp: a malformed delivery, refused: {why}");
            Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidInput,
                why,
            ))
        }
        Err(whatsapp::HookError::NotNow(why)) => {
            tracing::warn!(channel = %id, "WhatsApp: a delivery's file could not be fetched; Meta will deliver it again: {why}");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal,
                "A file of this delivery could not be fetched now: deliver it again.",
            ))
        }
        Err(whatsapp::HookError::Storage(e)) => Err(e.into()),
    }
}

/// An update from Telegram: its secret header first, then parsed and taken.
async fn telegram_update<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (id, _, settings) = channel_of(&app, &id, ChannelKind::Telegram).await?;
    let settings = telegram::Settings::of(&settings).map_err(|e| {
        tracing::error!(channel = %id, "Telegram: {e}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal,
            "This channel's settings are incomplete: an admin must finish them.",
        )
    })?;
    let given = headers
        .get("x-telegram-bot-api-secret-token")
        .and_then(|v| v.to_str().ok());
    let expected = settings.webhook_secret.clone().unwrap_or_default();
    if !telegram::secret_matches(&expected, given) {
        tracing::warn!(channel = %id, "Telegram: an update without this channel's secret token, refused");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::NotAllowed,
            "The update does not carry this channel's secret token.",
        ));
    }
    if !says_json(&headers) {
        return Err(not_json(id, "Telegram", &headers));
    }
    let update = telegram::parse(&body).map_err(|why| {
        tracing::warn!(channel = %id, "Telegram: a malformed update, refused: {why}");
        ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidInput, why)
    })?;
    match telegram::take(&app, id, &settings, update).await {
        Ok(_) => Ok((StatusCode::OK, "ok").into_response()),
        Err(telegram::HookError::Malformed(why)) => {
            tracing::warn!(channel = %id, "Telegram: a malformed update, refused: {why}");
            Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidInput,
                why,
            ))
        }
        Err(telegram::HookError::NotNow(why)) => {
            tracing::warn!(channel = %id, "Telegram: an update's file could not be fetched; Telegram will send it again: {why}");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal,
                "A file of this update could not be fetched now: send it again.",
            ))
        }
        Err(telegram::HookError::Storage(e)) => Err(e.into()),
    }
}
