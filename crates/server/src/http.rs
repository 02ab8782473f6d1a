//! The HTTP and WebSocket API: the sync protocol of the desktop clients, and the channels'
//! webhooks. Every route but login and the webhooks needs a session token; every error is a JSON
//! `{code, message}` with the right status, and no database work runs on the async runtime.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use outpost_protocol::{
    Agent, AgentId, ClientFrame, ErrorBody, ErrorCode, Millis, OpResult, Presence, StreamFrame,
};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::auth;
use crate::storage::Session;
use crate::storage::{Storage, StorageError};
use crate::workspace::{Inbound, OpError};

mod admin;
mod hooks;
mod widget;

/// Largest request body.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Most ops in one request.
pub const MAX_OPS_PER_REQUEST: usize = 500;
/// Most changes in one page.
pub const MAX_PAGE: u32 = 5_000;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                reason: None,
            },
            retry_after: None,
        }
    }

    /// The reason's key and values, for the agent's language.
    fn because(mut self, reason: outpost_protocol::Reason) -> ApiError {
        self.body.reason = Some(reason);
        self
    }

    fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "Sign in again: the session is missing, expired or was ended.",
        )
        .because(outpost_protocol::Reason::new("session_ended"))
    }

    fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "The server failed; nothing was changed. Try again.",
        )
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> ApiError {
        ApiError::internal(e)
    }
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> ApiError {
        match e {
            OpError::Storage(e) => ApiError::internal(e),
            OpError::NotFound(what) => ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                format!("{what} was not found."),
            ),
            OpError::Invalid(v) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidInput,
                v.to_string(),
            ),
            OpError::Refused(r) => ApiError::new(StatusCode::CONFLICT, r.code, r.reason),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = secs.to_string().parse()
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// A JSON body, with errors in our shape: malformed, wrong types, unknown variants and invalid
/// UTF-8 are 400s that say what is wrong; an oversized body is a 413.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json_type {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::InvalidInput,
                "Send the body as JSON (Content-Type: application/json).",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                unreadable(
                    e,
                    &format!(
                        "The body is larger than {} MiB.",
                        MAX_BODY_BYTES / (1024 * 1024)
                    ),
                )
            })?;
        serde_json::from_slice(&bytes).map(Body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidInput,
                format!("The body is not valid: {e}"),
            )
        })
    }
}

/// A body that could not be read: over its route's limit (a 413 saying `too_large`), or cut off.
fn unreadable(e: axum::extract::rejection::BytesRejection, too_large: &str) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            too_large,
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
            format!("The body could not be read: {e}"),
        )
    }
}

/// The signed-in agent of a request (`Authorization: Bearer TOKEN`).
pub struct Authed(pub Agent);

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
}

async fn session<S: Storage>(app: &Arc<App<S>>, token: &str) -> Result<Session, ApiError> {
    let hash = auth::token_hash(token);
    let now = app.now();
    let storage = app.storage.clone();
    let found = tokio::task::spawn_blocking(move || storage.session(&hash, now))
        .await
        .map_err(ApiError::internal)??;
    found.ok_or_else(ApiError::unauthenticated)
}

impl<S: Storage> FromRequestParts<Arc<App<S>>> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App<S>>) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        session(app, &token).await.map(|s| Authed(s.agent))
    }
}

/// The signed-in agent of a request and the hash of its session's token (the routes that end
/// sessions need to know which one is asking).
pub struct AuthedSession {
    pub session: Session,
    pub token_hash: Vec<u8>,
}

impl<S: Storage> FromRequestParts<Arc<App<S>>> for AuthedSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App<S>>) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        let session = session(app, &token).await?;
        Ok(AuthedSession {
            session,
            token_hash: auth::token_hash(&token),
        })
    }
}

/// The address a request comes from: the peer, or, when the peer is a trusted reverse proxy,
/// the last address its `X-Forwarded-For` names that is not itself a trusted proxy.
pub fn client_address<S: Storage>(app: &App<S>, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    if !app.trusted_proxies.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|a| !app.trusted_proxies.contains(a))
        .unwrap_or(peer)
}

fn rate_limited(wait_ms: Millis, what: &str) -> ApiError {
    let secs = (wait_ms.max(0) as u64).div_ceil(1000).max(1);
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RateLimited,
        format!("{what} Try again in {secs} seconds."),
    )
    .because(outpost_protocol::Reason::new("rate_limited").with("seconds", secs.to_string()));
    e.retry_after = Some(secs);
    e
}

/// Runs blocking storage work off the async runtime.
async fn blocking<T: Send + 'static, E: Into<ApiError> + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
        .map_err(Into::into)
}

pub fn router<S: Storage>(app: Arc<App<S>>) -> Router {
    Router::new()
        .route("/v1/auth/login", post(login::<S>))
        .route("/v1/auth/logout", post(logout::<S>))
        .route("/v1/auth/logout-everywhere", post(logout_everywhere::<S>))
        .route("/v1/auth/password", post(change_password::<S>))
        .route("/v1/auth/invite", post(accept_invite::<S>))
        .route("/invite/{token}", get(invite_page))
        .route("/v1/me", get(me::<S>))
        .route("/v1/changes", get(changes::<S>))
        .route("/v1/recent", get(recent::<S>))
        .route("/v1/ops", post(ops::<S>))
        .route("/v1/stream", get(stream::<S>))
        .route(
            "/v1/attachments/{id}",
            axum::routing::put(upload::<S>)
                .layer(axum::extract::DefaultBodyLimit::max(
                    outpost_protocol::limits::MAX_ATTACHMENT_BYTES as usize,
                ))
                .get(download::<S>),
        )
        .route("/v1/channels/{id}/inbound", post(inbound::<S>))
        .route("/v1/channels/{id}/calls", post(test_call::<S>))
        .route(
            "/v1/channels/{id}/files/{file}",
            axum::routing::put(channel_file::<S>).layer(axum::extract::DefaultBodyLimit::max(
                outpost_protocol::limits::MAX_ATTACHMENT_BYTES as usize,
            )),
        )
        .route(
            "/v1/channels/{id}/rules",
            axum::routing::put(channel_rules::<S>),
        )
        .merge(admin::routes::<S>())
        .merge(widget::routes::<S>())
        .merge(hooks::routes::<S>())
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz::<S>))
        .route("/metrics", get(metrics::<S>))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "There is no such route.",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            count::<S>,
        ))
        .with_state(app)
}

/// Counts every answer by its status class.
async fn count<S: Storage>(
    State(app): State<Arc<App<S>>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    app.metrics.request(response.status().as_u16());
    response
}

/// Ready to serve: the database answers and the server is not stopping.
async fn readyz<S: Storage>(State(app): State<Arc<App<S>>>) -> (StatusCode, &'static str) {
    if *app.closing.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping\n");
    }
    let storage = app.storage.clone();
    match tokio::task::spawn_blocking(move || storage.seq()).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready\n"),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "not ready: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database does not answer\n",
            )
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the check stopped\n"),
    }
}

/// The server's metrics, to a client on this machine only (not through a proxy).
async fn metrics<S: Storage>(
    State(app): State<Arc<App<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let proxied = headers.contains_key("x-forwarded-for") || headers.contains_key("forwarded");
    if !peer.ip().is_loopback() || proxied {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "There is no such route.",
        ));
    }
    let storage = app.storage.clone();
    let outgoing_queue = blocking(move || storage.outgoing_queue()).await?;
    let text = app.metrics.render(&crate::metrics::Gauges {
        feed_head: *app.seq.borrow(),
        outgoing_queue,
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[derive(Deserialize)]
struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub agent: Agent,
    pub expires_at: Millis,
}

async fn login<S: Storage>(
    State(app): State<Arc<App<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(req): Body<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let now = app.now();
    let from = client_address(&app, peer.ip(), &headers);
    // Counted before the expensive check, so that concurrent guesses are counted too.
    let attempt = app
        .begin_sign_in(from, &req.email, now)
        .await
        .map_err(|wait| rate_limited(wait, "Too many sign-in attempts."))?;
    let found = verify(&app, req.email.clone(), req.password, attempt.known).await?;
    let Some(creds) = found else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "The email or the password is wrong.",
        )
        .because(outpost_protocol::Reason::new("wrong_password")));
    };
    // Said only to whoever knows the password.
    if creds.disabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::NotAllowed,
            "This account was disabled by an admin.",
        )
        .because(outpost_protocol::Reason::new("account_disabled")));
    }
    app.sign_in_succeeded(attempt).await;
    let (token, hash) = auth::new_token().map_err(ApiError::internal)?;
    let expires_at = now + auth::SESSION_TTL;
    let storage = app.storage.clone();
    let agent = creds.agent;
    let id = agent.id;
    blocking(move || storage.create_session(&hash, id, now, expires_at)).await?;
    Ok(Json(LoginResponse {
        token,
        agent,
        expires_at,
    }))
}

#[derive(Deserialize)]
struct AcceptInvite {
    token: String,
    password: String,
}

/// An invited agent chooses their password with the invitation's token (once) and is signed in.
async fn accept_invite<S: Storage>(
    State(app): State<Arc<App<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(req): Body<AcceptInvite>,
) -> Result<Json<LoginResponse>, ApiError> {
    let now = app.now();
    let from = client_address(&app, peer.ip(), &headers);
    // Guessing tokens is guessing passwords: the same limit.
    let attempt = app
        .begin_sign_in(from, "invite", now)
        .await
        .map_err(|wait| rate_limited(wait, "Too many attempts."))?;
    let hash = auth::token_hash(req.token.trim());
    let storage = app.storage.clone();
    let taken = {
        let hash = hash.clone();
        blocking(move || {
            let Some((id, expires)) = storage.take_invite(&hash, now)? else {
                return Ok(None);
            };
            Ok::<_, ApiError>(match storage.get(outpost_protocol::EntityRef::Agent(id))? {
                Some(outpost_protocol::Entity::Agent(a)) => Some((a, expires)),
                _ => None,
            })
        })
        .await?
    };
    let Some((agent, invite_expires)) = taken else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "This invitation was used, has expired or does not exist: ask an admin for a new one.",
        )
        .because(outpost_protocol::Reason::new("invite_invalid")));
    };
    app.sign_in_succeeded(attempt).await;
    if let Err(e) = auth::check_password(&req.password, &agent.email) {
        // A weak password does not use the invitation up: it works again with a better one.
        let (storage, id) = (app.storage.clone(), agent.id);
        blocking(move || storage.create_invite(&hash, id, invite_expires)).await?;
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidInput,
            e.message,
        )
        .because(e.reason));
    }
    let password_hash = {
        let p = req.password.clone();
        blocking(move || auth::hash_password(&p).map_err(ApiError::internal)).await?
    };
    let (token, token_hash) = auth::new_token().map_err(ApiError::internal)?;
    let expires_at = now + auth::SESSION_TTL;
    let storage = app.storage.clone();
    let (id, email) = (agent.id, agent.email.clone());
    blocking(move || {
        storage.set_password(id, &email, &password_hash)?;
        storage.create_session(&token_hash, id, now, expires_at)
    })
    .await?;
    tracing::info!(agent = %agent.id, "invitation accepted");
    Ok(Json(LoginResponse {
        token,
        agent,
        expires_at,
    }))
}

/// What an invitation link shows in a browser: how to use it in Outpost. Says nothing of the
/// workspace or the agent (whoever holds the link sees only this).
async fn invite_page(Path(_token): Path<String>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        INVITE_PAGE,
    )
}

const INVITE_PAGE: &str = "<!doctype html><html><head><meta charset=utf-8><meta name=viewport content='width=device-width'><title>Outpost invitation</title>\
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34em;margin:4em auto;padding:0 1em;color:#222}h1{font-size:1.4em}</style></head>\
<body><h1>You are invited to Outpost</h1>\
<p>Open the Outpost app, choose <b>I have an invitation</b> on the sign-in screen, and paste this page's address. You will choose your password there.</p>\
<p lang=pt-BR>Abra o Outpost, escolha <b>Tenho um convite</b> na tela de entrada e cole o endereço desta página.</p>\
<p lang=es>Abra Outpost, elija <b>Tengo una invitación</b> en la pantalla de inicio y pegue la dirección de esta página.</p>\
<p>The link works once, for seven days.</p></body></html>";

/// The credentials of `email` if `password` is theirs. At most [`auth::MAX_VERIFYING`]
/// verifications run at once (one more for an address `known` for the email); a request that cannot start one within a second is told to come
/// back. An unknown email is verified against a real hash too, so timing says nothing.
async fn verify<S: Storage>(
    app: &Arc<App<S>>,
    email: String,
    password: String,
    known: bool,
) -> Result<Option<crate::storage::Credentials>, ApiError> {
    let permit = async {
        if known {
            tokio::select! {
                p = app.verifying_known.clone().acquire_owned() => p,
                p = app.verifying.clone().acquire_owned() => p,
            }
        } else {
            app.verifying.clone().acquire_owned().await
        }
    };
    let permit = tokio::time::timeout(std::time::Duration::from_secs(1), permit)
        .await
        .map_err(|_| rate_limited(1_000, "The server is busy checking passwords."))?
        .map_err(ApiError::internal)?;
    let storage = app.storage.clone();
    let creds = blocking(move || storage.credentials(&email)).await?;
    // An unknown email is checked against a real hash too, so timing says nothing.
    let stored = match &creds {
        Some(c) => c.password_hash.clone(),
        None => DUMMY_HASH
            .get_or_init(|| auth::hash_password("x").unwrap_or_default())
            .clone(),
    };
    let ok = app.verifiers.verify(password, stored).await;
    drop(permit);
    Ok(creds.filter(|_| ok))
}

static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn logout<S: Storage>(
    State(app): State<Arc<App<S>>>,
    me: AuthedSession,
) -> Result<StatusCode, ApiError> {
    let storage = app.storage.clone();
    let hash = me.token_hash.clone();
    blocking(move || storage.end_session(&hash)).await?;
    app.end_sessions(crate::SessionEnd::Token(me.token_hash));
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the agent, this one included.
async fn logout_everywhere<S: Storage>(
    State(app): State<Arc<App<S>>>,
    me: AuthedSession,
) -> Result<StatusCode, ApiError> {
    let storage = app.storage.clone();
    let agent = me.session.agent.id;
    blocking(move || storage.end_sessions(agent)).await?;
    app.end_sessions(crate::SessionEnd::Agent { agent, keep: None });
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// A new password for the signed-in agent: the current one is asked for (and counted as a
/// sign-in attempt), the new one must meet the policy; every other session ends.
async fn change_password<S: Storage>(
    State(app): State<Arc<App<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    me: AuthedSession,
    Body(req): Body<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let agent = me.session.agent;
    auth::check_password(&req.new_password, &agent.email).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidInput,
            e.message,
        )
        .because(e.reason)
    })?;
    let from = client_address(&app, peer.ip(), &headers);
    let attempt = app
        .begin_sign_in(from, &agent.email, app.now())
        .await
        .map_err(|wait| rate_limited(wait, "Too many attempts."))?;
    if verify(
        &app,
        agent.email.clone(),
        req.current_password,
        attempt.known,
    )
    .await?
    .is_none()
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::NotAllowed,
            "The current password is wrong.",
        )
        .because(outpost_protocol::Reason::new("wrong_current_password")));
    }
    app.sign_in_succeeded(attempt).await;
    let hash = blocking(move || auth::hash_password(&req.new_password).map_err(ApiError::internal))
        .await?;
    let storage = app.storage.clone();
    let keep = me.token_hash.clone();
    blocking(move || storage.change_password(agent.id, &hash, Some(&keep))).await?;
    app.end_sessions(crate::SessionEnd::Agent {
        agent: agent.id,
        keep: Some(me.token_hash),
    });
    Ok(StatusCode::NO_CONTENT)
}

async fn me<S: Storage>(_: State<Arc<App<S>>>, Authed(agent): Authed) -> Json<Agent> {
    Json(agent)
}

#[derive(Deserialize)]
struct ChangesQuery {
    after: u64,
    limit: Option<u32>,
}

async fn changes<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    query: Result<Query<ChangesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
            format!("Give `after` (a sequence number) and optionally `limit`: {e}"),
        )
    })?;
    let limit = q.limit.unwrap_or(1_000).clamp(1, MAX_PAGE);
    let storage = app.storage.clone();
    let page = blocking(move || storage.changes(&agent, q.after, limit)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::HeaderName::from_static(CURSOR_HEADER),
                page.cursor.to_string(),
            ),
            (
                header::HeaderName::from_static(HAS_MORE_HEADER),
                page.has_more.to_string(),
            ),
        ],
        page.json,
    )
        .into_response())
}

/// Headers of a changes page: where it ends, and whether more follows (as in its body).
pub const CURSOR_HEADER: &str = "x-outpost-cursor";
pub const HAS_MORE_HEADER: &str = "x-outpost-has-more";

#[derive(Deserialize)]
struct RecentQuery {
    conversations: Option<u32>,
    messages: Option<u32>,
}

/// What a first sync stores before the feed: the recently active conversations, ready to work.
async fn recent<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    query: Result<Query<RecentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
            format!("Give `conversations` and `messages` as numbers: {e}"),
        )
    })?;
    let storage = app.storage.clone();
    let snapshot = blocking(move || {
        storage.recent(
            &agent,
            q.conversations.unwrap_or(50),
            q.messages.unwrap_or(50),
        )
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], snapshot).into_response())
}

#[derive(Serialize, Deserialize)]
pub struct OpsResponse {
    pub results: Vec<OpResult>,
}

async fn ops<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    Body(req): Body<outpost_protocol::OpsRequest>,
) -> Result<Json<OpsResponse>, ApiError> {
    if req.ops.len() > MAX_OPS_PER_REQUEST {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            format!("At most {MAX_OPS_PER_REQUEST} ops per request."),
        ));
    }
    // One agent's flood waits for its budget instead of costing everyone else.
    if let Err(wait) = app.take_ops_budget(agent.id, req.ops.len() as f64).await {
        return Err(rate_limited(
            wait.as_millis() as Millis,
            "Too many actions at once.",
        ));
    }
    let now = app.now();
    // In order (an op that depends on an earlier one sees its effect), group-committed with
    // other agents' ops.
    let results = app.committer.apply(agent, req.ops, now).await?;
    let applied = results
        .iter()
        .filter(|r| matches!(r.outcome, outpost_protocol::OpOutcome::Applied { .. }))
        .count() as u64;
    app.metrics.ops(applied, results.len() as u64 - applied);
    app.announce();
    Ok(Json(OpsResponse { results }))
}

#[derive(Deserialize)]
struct StreamQuery {
    token: Option<String>,
}

async fn stream<S: Storage>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, axum::extract::rejection::QueryRejection>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let from_query = query.ok().and_then(|Query(q)| q.token);
    let token = bearer(&headers)
        .or(from_query)
        .ok_or_else(ApiError::unauthenticated)?;
    let session = session(&app, &token).await?;
    let token_hash = auth::token_hash(&token);
    let upgrade = upgrade.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
            format!("Open the stream as a WebSocket: {e}"),
        )
    })?;
    Ok(upgrade.on_upgrade(move |socket| serve_stream(socket, app, session, token_hash)))
}

/// Whether `agent` may see the conversation (off the runtime).
async fn may_see<S: Storage>(
    app: &Arc<App<S>>,
    agent: &Agent,
    id: outpost_protocol::ConversationId,
) -> bool {
    let storage = app.storage.clone();
    let agent = agent.clone();
    tokio::task::spawn_blocking(move || {
        match storage.get(outpost_protocol::EntityRef::Conversation(id)) {
            Ok(Some(outpost_protocol::Entity::Conversation(c))) => {
                outpost_protocol::rules::may_see(&agent, &c)
            }
            _ => false,
        }
    })
    .await
    .unwrap_or(false)
}

/// Tells everyone who may see it who is viewing a conversation now.
fn announce_viewers<S: Storage>(
    app: &Arc<App<S>>,
    from: AgentId,
    conversation_id: outpost_protocol::ConversationId,
) {
    let who: Vec<Presence> = app
        .viewers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&conversation_id)
        .map(|v| v.iter().map(|(_, p)| p.clone()).collect())
        .unwrap_or_default();
    let note = crate::PresenceNote {
        conversation_id,
        from,
        frame: StreamFrame::Viewing {
            conversation_id,
            who,
        },
    };
    if app.presence.send(note).is_err() {
        tracing::debug!("no stream is listening: nobody to tell who is viewing");
    }
}

fn set_viewing<S: Storage>(
    app: &Arc<App<S>>,
    connection: u64,
    me: &Presence,
    now_viewing: Option<outpost_protocol::ConversationId>,
) -> Vec<outpost_protocol::ConversationId> {
    let mut viewers = app.viewers.lock().unwrap_or_else(|p| p.into_inner());
    let mut touched = Vec::new();
    for (c, list) in viewers.iter_mut() {
        let before = list.len();
        list.retain(|(conn, _)| *conn != connection);
        if list.len() != before {
            touched.push(*c);
        }
    }
    viewers.retain(|_, list| !list.is_empty());
    if let Some(c) = now_viewing {
        viewers.entry(c).or_default().push((connection, me.clone()));
        if !touched.contains(&c) {
            touched.push(c);
        }
    }
    touched
}

/// How often an idle stream checks that its session still holds (it also checks before each
/// frame, and at once when a session ends in this process).
const STREAM_RECHECK: std::time::Duration = std::time::Duration::from_secs(10);

/// Close code of a stream whose session ended (sign-out, expiry, new password, disabled).
const SESSION_ENDED: u16 = 4001;

/// A stream: `changed` after every commit, presence of the agents who may see a conversation.
/// It lives as long as its session: an ended session closes it at once, and what its agent may
/// see is read again whenever an agent changes, so presence follows a demotion at once.
async fn serve_stream<S: Storage>(
    mut socket: WebSocket,
    app: Arc<App<S>>,
    session: Session,
    token_hash: Vec<u8>,
) {
    let mut agent = session.agent;
    let _counted = app.metrics.stream_opened();
    let _online = Online::new(&app, agent.id);
    let connection = fastrand::u64(..);
    let me = Presence {
        agent_id: agent.id,
        name: agent.name.clone(),
    };
    let mut seq = app.seq.subscribe();
    let mut presence = app.presence.subscribe();
    let mut closing = app.closing.subscribe();
    let mut ended = app.ended.subscribe();
    let mut agents = app.agents_changed.subscribe();
    let mut recheck = tokio::time::interval(STREAM_RECHECK);
    recheck.reset();
    let send = |frame: &StreamFrame| match serde_json::to_string(frame) {
        Ok(json) => WsMessage::Text(json.into()),
        Err(e) => {
            tracing::error!(error = %e, "a stream frame could not be encoded");
            WsMessage::Ping(Default::default())
        }
    };
    let session_ended = || {
        WsMessage::Close(Some(axum::extract::ws::CloseFrame {
            code: SESSION_ENDED,
            reason: "The session ended: sign in again.".into(),
        }))
    };
    let current = *seq.borrow_and_update();
    if socket
        .send(send(&StreamFrame::Changed { seq: current }))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            changed = closing.changed() => {
                let stop = changed.is_err() || *closing.borrow();
                if stop {
                    let _closed = socket.send(WsMessage::Close(None)).await;
                    break;
                }
            }
            end = ended.recv() => {
                let gone = match end {
                    Ok(end) => end.ends(&token_hash, agent.id),
                    // Missed some: ask the store whether this one still holds.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        !session_holds(&app, &token_hash).await
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => true,
                };
                if gone {
                    let _closed = socket.send(session_ended()).await;
                    break;
                }
            }
            _ = recheck.tick() => {
                if app.now() >= session.expires_at || !session_holds(&app, &token_hash).await {
                    let _closed = socket.send(session_ended()).await;
                    break;
                }
            }
            changed = agents.changed() => {
                if changed.is_err() {
                    break;
                }
                agents.borrow_and_update();
                match reread_agent(&app, &token_hash).await {
                    Some(a) => agent = a,
                    None => {
                        let _closed = socket.send(session_ended()).await;
                        break;
                    }
                }
            }
            changed = seq.changed() => {
                if changed.is_err() {
                    break;
                }
                let n = *seq.borrow_and_update();
                if app.now() >= session.expires_at {
                    let _closed = socket.send(session_ended()).await;
                    break;
                }
                if socket.send(send(&StreamFrame::Changed { seq: n })).await.is_err() {
                    break;
                }
            }
            note = presence.recv() => match note {
                Ok(note) => {
                    if app.now() >= session.expires_at {
                        let _closed = socket.send(session_ended()).await;
                        break;
                    }
                    if note.from != agent.id
                        && may_see(&app, &agent, note.conversation_id).await
                        && socket.send(send(&note.frame)).await.is_err()
                    {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    // Beyond its budget an agent's frames are dropped: presence is ephemeral.
                    if app.frame_budget.take(&agent.id, 1.0).is_err() {
                        continue;
                    }
                    match serde_json::from_str::<ClientFrame>(&text) {
                        Ok(ClientFrame::Typing { conversation_id }) => {
                            if app.typing_budget.take(&(agent.id, conversation_id), 1.0).is_ok()
                                && may_see(&app, &agent, conversation_id).await
                            {
                                app.typing(crate::PresenceNote {
                                    conversation_id,
                                    from: agent.id,
                                    frame: StreamFrame::Typing { conversation_id, who: me.clone() },
                                });
                            }
                        }
                        Ok(ClientFrame::Viewing { conversation_id }) => {
                            let allowed = match conversation_id {
                                Some(c) => may_see(&app, &agent, c).await,
                                None => true,
                            };
                            if allowed {
                                for c in set_viewing(&app, connection, &me, conversation_id) {
                                    announce_viewers(&app, agent.id, c);
                                }
                                app.share(crate::SharedNote::Viewing {
                                    connection,
                                    who: me.clone(),
                                    conversation: conversation_id,
                                });
                            }
                        }
                        Err(_) => {} // an unknown frame from a newer client: ignored
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    for c in set_viewing(&app, connection, &me, None) {
        announce_viewers(&app, agent.id, c);
    }
    app.share(crate::SharedNote::Viewing {
        connection,
        who: me.clone(),
        conversation: None,
    });
}

/// A stream of another server process now views `conversation` (or none): this process's
/// streams are told who views what, as for its own.
pub(crate) fn viewing_elsewhere<S: Storage>(
    app: &Arc<App<S>>,
    connection: u64,
    who: &Presence,
    conversation: Option<outpost_protocol::ConversationId>,
) {
    for c in set_viewing(app, connection, who, conversation) {
        announce_viewers(app, who.agent_id, c);
    }
}

/// Whether the stream's session still holds.
/// Counts an agent as connected while their stream is open.
struct Online<'a, S: Storage> {
    app: &'a App<S>,
    agent: AgentId,
}

impl<'a, S: Storage> Online<'a, S> {
    fn new(app: &'a App<S>, agent: AgentId) -> Self {
        *app.online
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(agent)
            .or_default() += 1;
        Online { app, agent }
    }
}

impl<S: Storage> Drop for Online<'_, S> {
    fn drop(&mut self) {
        let mut online = self.app.online.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = online.get_mut(&self.agent) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                online.remove(&self.agent);
            }
        }
    }
}

async fn session_holds<S: Storage>(app: &Arc<App<S>>, token_hash: &[u8]) -> bool {
    reread_agent(app, token_hash).await.is_some()
}

/// The session's agent as stored now, if the session still holds.
async fn reread_agent<S: Storage>(app: &Arc<App<S>>, token_hash: &[u8]) -> Option<Agent> {
    let (storage, hash, now) = (app.storage.clone(), token_hash.to_vec(), app.now());
    match tokio::task::spawn_blocking(move || storage.session(&hash, now)).await {
        Ok(Ok(found)) => found.map(|s| s.agent),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "a stream's session could not be read");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "a stream's session check stopped");
            None
        }
    }
}

#[derive(Serialize, Deserialize)]
pub struct InboundResponse {
    pub message_id: outpost_protocol::MessageId,
}

/// The channel named in the path, if the request carries its secret
/// (`X-Outpost-Channel-Secret`).
///
/// This generic webhook is the test channel's provider protocol: a real channel receives from
/// its own provider, so it is refused here; so is a disabled channel.
async fn authorized_channel<S: Storage>(
    app: &Arc<App<S>>,
    id: &str,
    headers: &HeaderMap,
) -> Result<(uuid::Uuid, outpost_protocol::ChannelKind), ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "There is no such channel.",
        )
    };
    let id = uuid::Uuid::parse_str(id).map_err(|_| not_found())?;
    let secret = headers
        .get("x-outpost-channel-secret")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                "The channel's secret is missing.",
            )
        })?;
    let storage = app.storage.clone();
    let (hash, channel) = blocking(move || {
        let Some((_, hash)) = storage.channel(id)? else {
            return Ok(None);
        };
        let channel = storage.get(outpost_protocol::EntityRef::Channel(
            outpost_protocol::ChannelId(id),
        ))?;
        Ok::<_, StorageError>(match channel {
            Some(outpost_protocol::Entity::Channel(c)) => Some((hash, c)),
            _ => None,
        })
    })
    .await?
    .ok_or_else(not_found)?;
    if auth::token_hash(&secret) != hash {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "The channel's secret is wrong.",
        ));
    }
    if channel.disabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::NotAllowed,
            "This channel is disabled: an admin turned it off.",
        )
        .because(outpost_protocol::Reason::new("channel_disabled")));
    }
    if !channel.test {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::NotAllowed,
            "This channel receives from its provider, not here: this address is the test channel's.",
        ));
    }
    Ok((id, channel.kind))
}

/// Sets the test channel's rules (which addresses fail, how fast messages move along).
async fn channel_rules<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(rules): Body<crate::channels::TestRules>,
) -> Result<StatusCode, ApiError> {
    let (id, _) = authorized_channel(&app, &id, &headers).await?;
    let storage = app.storage.clone();
    blocking(move || {
        let mut settings = storage
            .channel_settings(id)?
            .and_then(|s| s.as_object().cloned())
            .unwrap_or_default();
        settings.insert("rules".into(), serde_json::to_value(rules)?);
        storage.set_channel_settings(id, &serde_json::Value::Object(settings))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The channel's webhook for customers' messages.
async fn inbound<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(msg): Body<Inbound>,
) -> Result<Json<InboundResponse>, ApiError> {
    let (id, _) = authorized_channel(&app, &id, &headers).await?;
    let message_id = app.receive(id, msg).await?;
    Ok(Json(InboundResponse { message_id }))
}

/// A call on a test channel, as its simulated provider reports it: it rings (`outcome` none),
/// or it ended now with its outcome.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCall {
    /// The simulated provider's id of the call: its reports name it again.
    pub id: String,
    /// The customer's address.
    pub from: String,
    #[serde(default)]
    pub name: String,
    /// Who called: the customer (`incoming`, the default) or the business (`outgoing`).
    #[serde(default = "incoming")]
    pub direction: outpost_protocol::Direction,
    #[serde(default)]
    pub outcome: Option<outpost_protocol::CallOutcome>,
    /// How long an answered call lasted.
    #[serde(default)]
    pub duration_secs: Option<u32>,
    /// Why a failed call failed, in the simulated provider's words.
    #[serde(default)]
    pub failure: Option<String>,
}

fn incoming() -> outpost_protocol::Direction {
    outpost_protocol::Direction::Incoming
}

#[derive(Serialize, Deserialize)]
pub struct CallResponse {
    pub call_id: outpost_protocol::CallId,
    /// Whether the report changed the call (a repeated one does not).
    pub changed: bool,
}

/// A test channel's simulated calls (`POST /v1/channels/{id}/calls`, the channel's secret).
/// A real channel's calls come only from its provider's webhook.
async fn test_call<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(call): Body<TestCall>,
) -> Result<Json<CallResponse>, ApiError> {
    use outpost_protocol::CallOutcome;
    let (id, _) = authorized_channel(&app, &id, &headers).await?;
    let storage = app.storage.clone();
    let test = blocking(move || {
        Ok::<_, crate::storage::StorageError>(matches!(
            storage.get(outpost_protocol::EntityRef::Channel(outpost_protocol::ChannelId(id)))?,
            Some(outpost_protocol::Entity::Channel(c)) if c.test
        ))
    })
    .await?;
    if !test {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::NotAllowed,
            "Only a test channel's simulated calls are reported here: a real channel's calls come from its provider.",
        ));
    }
    let now = app.now();
    let end = match call.outcome {
        None | Some(CallOutcome::Ongoing) => None,
        Some(outcome) => {
            let duration =
                (outcome == CallOutcome::Answered).then(|| call.duration_secs.unwrap_or(0));
            Some(crate::calls::CallEnd {
                ended_at: now,
                answered_at: duration.map(|d| now - i64::from(d) * 1_000),
                duration_secs: duration,
                outcome,
                failure: (outcome == CallOutcome::Failed).then(|| {
                    let text = call
                        .failure
                        .clone()
                        .filter(|f| !f.trim().is_empty())
                        .unwrap_or_else(|| {
                            "The simulated provider could not connect the call.".into()
                        });
                    let reason = outpost_protocol::Reason::new("provider_error")
                        .with("provider", "Test")
                        .with("code", "0")
                        .with("detail", text.clone());
                    (text, Some(reason))
                }),
            })
        }
    };
    let report = crate::calls::CallReport {
        customer: call.from,
        name: call.name,
        provider_id: call.id,
        direction: call.direction,
        at: now,
        end,
    };
    let recorded = app.record_call(id, report).await?;
    let (call_id, changed) = match recorded {
        crate::calls::Recorded::Changed(id) => (id, true),
        crate::calls::Recorded::Unchanged(id) => (id, false),
    };
    Ok(Json(CallResponse { call_id, changed }))
}

/// The media type a request's Content-Type names, or a refusal that says what is missing.
fn content_type(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(outpost_protocol::limits::plain_mime)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::InvalidInput,
                "Say what the file is (Content-Type: type/subtype).",
            )
        })
}

/// Keeps a file under `id` for its uploader: 201 when new, 200 when the same uploader sent the
/// same file before (a retry), 409 when the id is another's.
async fn keep_file<S: Storage>(
    app: &App<S>,
    id: uuid::Uuid,
    uploader: crate::storage::Uploader,
    mime: String,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<UploadResponse>), ApiError> {
    let bytes = body.map_err(|e| unreadable(e, "A file may be at most 100 MiB."))?;
    if bytes.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
            "The file is empty.",
        ));
    }
    let size = bytes.len() as u64;
    let now = app.now();
    if let crate::storage::Uploader::Agent(agent) = uploader {
        let storage = app.storage.clone();
        let since = now - crate::files::QUOTA_WINDOW;
        let used = blocking(move || storage.uploaded_since(agent, since)).await?;
        if used + size > app.upload_quota {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!(
                    "You uploaded {} MiB of files in the last day, the most allowed: wait before sending more.",
                    app.upload_quota / (1024 * 1024)
                ),
            );
            e.retry_after = Some(3_600);
            return Err(e);
        }
    }
    let mime = crate::files::sniff(&bytes, &mime);
    let storage = app.storage.clone();
    let done = blocking(move || storage.put_attachment(id, uploader, &mime, &bytes, now)).await?;
    let status = match done {
        crate::storage::Uploaded::Stored => StatusCode::CREATED,
        crate::storage::Uploaded::AlreadyThere => StatusCode::OK,
        crate::storage::Uploaded::Taken => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                "Another file was uploaded under this id.",
            ));
        }
    };
    Ok((
        status,
        Json(UploadResponse {
            url: outpost_protocol::Attachment::upload_path(id),
            size,
        }),
    ))
}

/// A file a customer sent, uploaded by their channel before the inbound message naming it.
async fn channel_file<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path((channel, file)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<UploadResponse>), ApiError> {
    let (channel, _) = authorized_channel(&app, &channel, &headers).await?;
    let file = upload_id(&file)?;
    let mime = content_type(&headers)?;
    keep_file(
        &app,
        file,
        crate::storage::Uploader::Channel(channel),
        mime,
        body,
    )
    .await
}

fn upload_id(id: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(id).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
            "An attachment is named by a UUID.",
        )
    })
}

#[derive(Serialize, Deserialize)]
pub struct UploadResponse {
    pub url: String,
    pub size: u64,
}

/// An agent's desktop uploads a file before the message that names it (`PUT` again with the
/// same file is a no-op, so a retried upload is harmless).
async fn upload<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<UploadResponse>), ApiError> {
    let id = upload_id(&id)?;
    let mime = content_type(&headers)?;
    keep_file(
        &app,
        id,
        crate::storage::Uploader::Agent(agent.id),
        mime,
        body,
    )
    .await
}

/// A file, to its uploader or to whoever may see the conversation of the message carrying it;
/// to anyone else it does not exist. Served as a download, never as a page.
async fn download<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Authed(agent): Authed,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = upload_id(&id)?;
    let storage = app.storage.clone();
    let found = blocking(move || {
        let Some((up, bytes)) = storage.attachment(id)? else {
            return Ok::<_, StorageError>(None);
        };
        let allowed = up.uploader == crate::storage::Uploader::Agent(agent.id)
            || match up.conversation {
                Some(c) => matches!(
                    storage.get(outpost_protocol::EntityRef::Conversation(c))?,
                    Some(outpost_protocol::Entity::Conversation(c))
                        if outpost_protocol::rules::may_see(&agent, &c)
                ),
                None => false,
            };
        Ok(allowed.then_some((up.mime, bytes)))
    })
    .await?;
    let Some((mime, bytes)) = found else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "There is no such attachment.",
        ));
    };
    Ok(file_response(
        mime,
        bytes,
        "private, max-age=31536000, immutable",
    ))
}

/// A kept file as a download: never shown as a page of this origin (an HTML or SVG a customer
/// sent stays inert), its type as sniffed when kept.
fn file_response(mime: String, bytes: Vec<u8>, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CONTENT_DISPOSITION, "attachment".to_owned()),
            (header::CONTENT_SECURITY_POLICY, "sandbox".to_owned()),
            (header::CACHE_CONTROL, cache.to_owned()),
        ],
        bytes,
    )
        .into_response()
}
