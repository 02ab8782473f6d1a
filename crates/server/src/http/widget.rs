//! The web-chat widget's side of the server: the script a business puts on its site, the panel it
//! opens (an iframe served from here, so the host page's CSS and script cannot reach into it;
//! `frame-ancestors` lets only the channel's listed origins embed it), and the visitors' API:
//!
//! - `POST /v1/widget/{channel}/visitors` {name?, email?}: a visitor and their token (kept by
//!   the panel; it names this visitor alone, so they see only their own conversation);
//! - `GET /v1/widget/{channel}/stream?token=…`: a WebSocket. The server sends `hello` (the
//!   history and whether anyone is available), then each `message` new or changed, `typing`
//!   (the agent's name) and `available`; the panel sends `send` {client_id, text, files},
//!   `typing`, `received` {ids} (the message is in the widget: delivered) and `seen` {ids}
//!   (shown to the visitor: read). A `send` is idempotent by its client id;
//! - `PUT /v1/widget/{channel}/files/{id}` (header `x-outpost-visitor-token`): a file the
//!   visitor sends; `GET …/files/{id}?token=…`: a file of their conversation.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use outpost_protocol::{
    Channel, ChannelKind, Direction, Entity, EntityRef, ErrorCode, Message, MessageId,
    MessageStatus, StatusStamp,
};
use serde::{Deserialize, Serialize};

use super::{ApiError, Body, blocking, client_address, rate_limited};
use crate::App;
use crate::storage::{Storage, StorageError, Visitor};

const LOADER: &str = include_str!("../../widget/loader.js");
const FRAME_HTML: &str = include_str!("../../widget/frame.html");
const FRAME_JS: &str = include_str!("../../widget/frame.js");
const FRAME_CSS: &str = include_str!("../../widget/frame.css");

/// Messages of the visitor's history sent on connecting.
const HISTORY: u32 = 200;

pub(super) fn routes<S: Storage>() -> Router<Arc<App<S>>> {
    Router::new()
        .route("/widget/{script}", get(loader::<S>))
        .route("/widget/{channel}/frame", get(frame::<S>))
        .route(
            "/widget/assets/frame.js",
            get(|| async { asset(FRAME_JS, "text/javascript") }),
        )
        .route(
            "/widget/assets/frame.css",
            get(|| async { asset(FRAME_CSS, "text/css") }),
        )
        .route("/v1/widget/{channel}/visitors", post(new_visitor::<S>))
        .route("/v1/widget/{channel}/available", get(available::<S>))
        .route("/v1/widget/{channel}/stream", get(stream::<S>))
        .route(
            "/v1/widget/{channel}/files/{file}",
            put(upload::<S>)
                .layer(axum::extract::DefaultBodyLimit::max(
                    outpost_protocol::limits::MAX_ATTACHMENT_BYTES as usize,
                ))
                .get(download::<S>),
        )
}

fn no_widget() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "There is no such web chat.",
    )
}

/// The web-chat channel named in a path, enabled.
async fn web_chat<S: Storage>(app: &App<S>, id: &str) -> Result<(Channel, Vec<String>), ApiError> {
    let id = outpost_protocol::ChannelId(uuid::Uuid::parse_str(id).map_err(|_| no_widget())?);
    let storage = app.storage.clone();
    blocking(move || {
        let Some(Entity::Channel(c)) = storage.get(EntityRef::Channel(id))? else {
            return Err(no_widget());
        };
        if c.kind != ChannelKind::WebChat || c.disabled {
            return Err(no_widget());
        }
        let origins = storage
            .channel_settings(c.id.0)?
            .and_then(|s| s.get("allowed_origins").cloned())
            .and_then(|o| serde_json::from_value::<Vec<String>>(o).ok())
            .unwrap_or_default()
            .into_iter()
            .filter(|o| crate::widget::is_origin(o))
            .collect();
        Ok((c, origins))
    })
    .await
}

fn asset(body: &'static str, mime: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, format!("{mime}; charset=utf-8")),
            (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        body,
    )
}

/// The script tag's script: it adds the panel's iframe to the host page, and nothing else.
async fn loader<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path(script): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = script.strip_suffix(".js").ok_or_else(no_widget)?;
    let (channel, _) = web_chat(&app, id).await?;
    let base = app.public_base(&headers);
    let body = LOADER
        .replace("__OUTPOST_BASE__", &base)
        .replace("__OUTPOST_CHANNEL__", &channel.id.to_string());
    Ok((
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // Any site may fetch the script; only the listed ones may show the panel.
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
        .into_response())
}

/// The panel: served from here, embeddable only by the channel's origins.
async fn frame<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (channel, origins) = web_chat(&app, &id).await?;
    let base = app.public_base(&headers);
    let ws = base.replacen("http", "ws", 1);
    let ancestors = if origins.is_empty() {
        "'none'".to_owned()
    } else {
        origins.join(" ")
    };
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; \
         connect-src 'self' {ws}; form-action 'none'; base-uri 'none'; frame-ancestors {ancestors}"
    );
    let html = FRAME_HTML
        .replace("__OUTPOST_CHANNEL__", &channel.id.to_string())
        .replace("__OUTPOST_NAME__", &html_escape(&channel.name));
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        html,
    )
        .into_response())
}

/// Text for an HTML attribute or element: markup characters escaped.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Whether someone can answer now, for a visitor who has not written yet.
async fn available<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    web_chat(&app, &id).await?;
    let app2 = app.clone();
    let available = blocking(move || Ok::<_, StorageError>(anyone_available(&*app2))).await?;
    Ok(Json(serde_json::json!({ "available": available })))
}

#[derive(Deserialize)]
struct NewVisitor {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

#[derive(Serialize, Deserialize)]
pub struct NewVisitorAnswer {
    pub visitor: uuid::Uuid,
    pub token: String,
}

async fn new_visitor<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Body(req): Body<NewVisitor>,
) -> Result<Json<NewVisitorAnswer>, ApiError> {
    let (channel, _) = web_chat(&app, &id).await?;
    // New visitors per address: as many as a family behind one router makes, not a flood.
    let from = client_address(&app, peer.ip(), &headers);
    // Counted once across the server's processes.
    app.take_shared(&app.visitor_budget, &from, format!("visitors:{from}"), 1.0)
        .await
        .map_err(|wait| rate_limited(wait.as_millis() as i64, "Too many new chats at once."))?;
    let name: String = req.name.trim().chars().take(80).collect();
    let email: String = req.email.trim().chars().take(120).collect();
    if !email.is_empty() && !email.contains('@') {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidInput,
            "That is not an email address.",
        ));
    }
    let (token, hash) = crate::auth::new_token().map_err(ApiError::internal)?;
    let visitor = Visitor {
        id: uuid::Uuid::now_v7(),
        channel: channel.id.0,
        name,
        email,
        created_at: app.now(),
    };
    let storage = app.storage.clone();
    let kept = visitor.clone();
    blocking(move || storage.create_visitor(&kept, &hash)).await?;
    Ok(Json(NewVisitorAnswer {
        visitor: visitor.id,
        token,
    }))
}

/// The visitor a token names, on this channel.
async fn visitor_of<S: Storage>(
    app: &App<S>,
    channel: &Channel,
    token: &str,
) -> Result<Visitor, ApiError> {
    let storage = app.storage.clone();
    let hash = crate::auth::token_hash(token);
    let found = blocking(move || storage.visitor(&hash)).await?;
    match found {
        Some(v) if v.channel == channel.id.0 => Ok(v),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "This chat is not known here: start a new one.",
        )),
    }
}

/// A message as the visitor's panel shows it: never an internal detail (sender ids, failures,
/// who else is in the team).
#[derive(Clone, Debug, PartialEq, Serialize)]
struct Shown {
    id: MessageId,
    /// Theirs (the visitor's) or ours (the business's).
    from: &'static str,
    text: String,
    /// The agent's first name, on the business's messages.
    agent: Option<String>,
    at: i64,
    status: MessageStatus,
    files: Vec<ShownFile>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
struct ShownFile {
    name: String,
    mime: String,
    size: u64,
    /// The file's id here (fetched with the visitor's token).
    file: Option<uuid::Uuid>,
}

/// What of `m` the visitor sees, if anything: their own messages, and ours once sent.
fn shown(m: &Message) -> Option<Shown> {
    let ours = m.direction == Direction::Outgoing;
    if ours
        && !matches!(
            m.status,
            MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read
        )
    {
        return None;
    }
    let files = m
        .attachments
        .iter()
        .map(|a| ShownFile {
            name: a.name.clone(),
            mime: a.mime.clone(),
            size: a.size,
            file: outpost_protocol::Attachment::upload_id_in(&a.url).or_else(|| {
                a.url
                    .rsplit('/')
                    .next()
                    .and_then(|id| uuid::Uuid::parse_str(id).ok())
            }),
        })
        .collect();
    Some(Shown {
        id: m.id,
        from: if ours { "us" } else { "visitor" },
        text: m.text.clone(),
        agent: ours.then(|| {
            m.sender
                .name
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        }),
        at: m.created_at,
        status: m.status,
        files,
    })
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ToVisitor<'a> {
    Hello {
        name: &'a str,
        available: bool,
        messages: Vec<Shown>,
    },
    Message(Shown),
    Typing {
        name: String,
    },
    Available {
        available: bool,
    },
    Sent {
        client_id: uuid::Uuid,
        id: MessageId,
    },
    Refused {
        client_id: Option<uuid::Uuid>,
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum FromVisitor {
    Send {
        client_id: uuid::Uuid,
        #[serde(default)]
        text: String,
        #[serde(default)]
        files: Vec<crate::workspace::InboundFile>,
    },
    Typing,
    Received {
        ids: Vec<MessageId>,
    },
    Seen {
        ids: Vec<MessageId>,
    },
}

#[derive(Deserialize)]
struct StreamQuery {
    token: String,
}

async fn stream<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path(id): Path<String>,
    Query(q): Query<StreamQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let (channel, _) = web_chat(&app, &id).await?;
    let visitor = visitor_of(&app, &channel, &q.token).await?;
    Ok(ws
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| serve_visitor(socket, app, channel, visitor)))
}

/// The message id a visitor's `send` is stored under: the same for a retry of the same send,
/// and never another visitor's (their client ids are only theirs).
fn message_id_of(visitor: uuid::Uuid, client_id: uuid::Uuid) -> uuid::Uuid {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"outpost-widget");
    h.update(visitor.as_bytes());
    h.update(client_id.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // A version-8 (custom) UUID of RFC 9562.
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Whether someone can answer now: an agent who is available and connected.
fn anyone_available<S: Storage>(app: &App<S>) -> bool {
    let mut online = app.online_here();
    // And on the other processes sharing the store (as they said at their last heartbeat).
    match app.storage.online_elsewhere(app.process) {
        Ok(elsewhere) => online.extend(elsewhere),
        Err(e) => tracing::warn!(error = %e, "who is online on the other processes is unknown"),
    }
    online.into_iter().any(|a| {
        matches!(
            app.storage.get(EntityRef::Agent(a)),
            Ok(Some(Entity::Agent(agent))) if agent.availability == outpost_protocol::Availability::Available
        )
    })
}

async fn serve_visitor<S: Storage>(
    mut socket: WebSocket,
    app: Arc<App<S>>,
    channel: Channel,
    visitor: Visitor,
) {
    let address = visitor.id.to_string();
    let mut seq = app.seq.subscribe();
    let mut presence = app.presence.subscribe();
    let mut closing = app.closing.subscribe();
    let mut recheck = tokio::time::interval(std::time::Duration::from_secs(2));
    recheck.reset();
    let frame = |f: &ToVisitor<'_>| match serde_json::to_string(f) {
        Ok(json) => WsMessage::Text(json.into()),
        Err(e) => {
            tracing::error!(error = %e, "a widget frame could not be encoded");
            WsMessage::Ping(Default::default())
        }
    };
    let read = |app: Arc<App<S>>, address: String| async move {
        tokio::task::spawn_blocking(move || app.storage.web_chat_messages(&address, HISTORY))
            .await
            .map_err(|e| StorageError::Invalid(e.to_string()))
            .and_then(|r| r)
    };
    let mut known: HashMap<MessageId, Shown> = HashMap::new();
    // The seq the visitor's view is read at, and their conversations: a change elsewhere in the
    // workspace (most of them) costs one look at the feed, not a read of their messages.
    let mut read_at = *seq.borrow_and_update();
    let Ok(history) = read(app.clone(), address.clone()).await else {
        return;
    };
    let mut mine: Vec<outpost_protocol::ConversationId> = Vec::new();
    let mut wrote = false;
    for m in &history {
        if !mine.contains(&m.conversation_id) {
            mine.push(m.conversation_id);
        }
    }
    let shown_now: Vec<Shown> = history.iter().filter_map(shown).collect();
    for s in &shown_now {
        known.insert(s.id, s.clone());
    }
    let mut available = {
        let app = app.clone();
        tokio::task::spawn_blocking(move || anyone_available(&*app))
            .await
            .unwrap_or(false)
    };
    let hello = ToVisitor::Hello {
        name: &channel.name,
        available,
        messages: shown_now,
    };
    if socket.send(frame(&hello)).await.is_err() {
        return;
    }
    seq.borrow_and_update();
    loop {
        tokio::select! {
            changed = closing.changed() => {
                if changed.is_err() || *closing.borrow() {
                    let _closed = socket.send(WsMessage::Close(None)).await;
                    break;
                }
            }
            _ = recheck.tick() => {
                let app2 = app.clone();
                let now = tokio::task::spawn_blocking(move || anyone_available(&*app2)).await.unwrap_or(false);
                if now != available {
                    available = now;
                    if socket.send(frame(&ToVisitor::Available { available })).await.is_err() {
                        break;
                    }
                }
            }
            changed = seq.changed() => {
                if changed.is_err() {
                    break;
                }
                let head = *seq.borrow_and_update();
                // Nothing of theirs yet: only their own first message brings something to show.
                if mine.is_empty() && !wrote {
                    read_at = head;
                    continue;
                }
                if !mine.is_empty() {
                    let (storage, after, ids) = (app.storage.clone(), read_at, mine.clone());
                    let touched = tokio::task::spawn_blocking(move || {
                        storage.conversations_changed_since(after, &ids)
                    })
                    .await;
                    read_at = head;
                    if matches!(touched, Ok(Ok(false))) {
                        continue;
                    }
                }
                read_at = head;
                let Ok(messages) = read(app.clone(), address.clone()).await else { break };
                for m in &messages {
                    if !mine.contains(&m.conversation_id) {
                        mine.push(m.conversation_id);
                    }
                }
                let mut failed = false;
                for s in messages.iter().filter_map(shown) {
                    if known.get(&s.id) != Some(&s) {
                        known.insert(s.id, s.clone());
                        if socket.send(frame(&ToVisitor::Message(s))).await.is_err() {
                            failed = true;
                            break;
                        }
                    }
                }
                if failed {
                    break;
                }
            }
            note = presence.recv() => match note {
                Ok(note) => {
                    if let outpost_protocol::StreamFrame::Typing { conversation_id, who } = &note.frame {
                        let ours = known.keys().next().is_some() && conversation_of(&app, &known, *conversation_id).await;
                        if ours {
                            let name = who.name.split_whitespace().next().unwrap_or_default().to_owned();
                            if socket.send(frame(&ToVisitor::Typing { name })).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    if app.visitor_frames.take(&visitor.id, 1.0).is_err() {
                        continue;
                    }
                    let Ok(said) = serde_json::from_str::<FromVisitor>(&text) else { continue };
                    wrote |= matches!(said, FromVisitor::Send { .. });
                    if let Some(answer) = heard(&app, &channel, &visitor, &known, said).await
                        && socket.send(frame(&answer)).await.is_err()
                    {
                        break;
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Whether `conversation` is the visitor's (one of their messages is in it).
async fn conversation_of<S: Storage>(
    app: &Arc<App<S>>,
    known: &HashMap<MessageId, Shown>,
    conversation: outpost_protocol::ConversationId,
) -> bool {
    let Some(any) = known.keys().next().copied() else {
        return false;
    };
    let storage = app.storage.clone();
    matches!(
        tokio::task::spawn_blocking(move || storage.get(EntityRef::Message(any))).await,
        Ok(Ok(Some(Entity::Message(m)))) if m.conversation_id == conversation
    )
}

/// What the visitor said, done; the answer to send back, if any.
async fn heard<S: Storage>(
    app: &Arc<App<S>>,
    channel: &Channel,
    visitor: &Visitor,
    known: &HashMap<MessageId, Shown>,
    said: FromVisitor,
) -> Option<ToVisitor<'static>> {
    match said {
        FromVisitor::Send {
            client_id,
            text,
            files,
        } => {
            let inbound = crate::workspace::Inbound {
                from: visitor.id.to_string(),
                name: visitor.name.clone(),
                text,
                id: Some(message_id_of(visitor.id, client_id)),
                reply_to: None,
                attachments: files,
                ..Default::default()
            };
            Some(match app.receive(channel.id.0, inbound).await {
                Ok(id) => ToVisitor::Sent { client_id, id },
                Err(e) => ToVisitor::Refused {
                    client_id: Some(client_id),
                    message: e.to_string(),
                },
            })
        }
        FromVisitor::Typing => {
            let any = known.values().find(|s| s.from == "visitor").map(|s| s.id)?;
            let storage = app.storage.clone();
            if let Ok(Ok(Some(Entity::Message(m)))) =
                tokio::task::spawn_blocking(move || storage.get(EntityRef::Message(any))).await
            {
                app.typing(crate::PresenceNote {
                    conversation_id: m.conversation_id,
                    from: outpost_protocol::AgentId(uuid::Uuid::nil()),
                    frame: outpost_protocol::StreamFrame::CustomerTyping {
                        conversation_id: m.conversation_id,
                    },
                });
            }
            None
        }
        FromVisitor::Received { ids } => {
            advance(app, known, ids, MessageStatus::Delivered).await;
            None
        }
        FromVisitor::Seen { ids } => {
            advance(app, known, ids, MessageStatus::Read).await;
            None
        }
    }
}

/// How far along a message the widget reports on is (0: not one it reports on).
fn rank(s: MessageStatus) -> u8 {
    match s {
        MessageStatus::Sent => 1,
        MessageStatus::Delivered => 2,
        MessageStatus::Read => 3,
        _ => 0,
    }
}

/// Moves the business's messages the visitor's widget has (delivered) or showed (read) on to
/// that status, never back; only messages of their own conversation.
async fn advance<S: Storage>(
    app: &Arc<App<S>>,
    known: &HashMap<MessageId, Shown>,
    ids: Vec<MessageId>,
    to: MessageStatus,
) {
    // Only what would move: a receipt said again, or for an older status, costs no write.
    let ours: Vec<MessageId> = ids
        .into_iter()
        .filter(|id| {
            known
                .get(id)
                .is_some_and(|s| s.from == "us" && rank(s.status) < rank(to))
        })
        .take(HISTORY as usize)
        .collect();
    if ours.is_empty() {
        return;
    }
    let (storage, now) = (app.storage.clone(), app.now());
    let moved = tokio::task::spawn_blocking(move || {
        storage.write(|tx| {
            use crate::storage::Tx;
            let mut moved = 0;
            for id in ours {
                let Some(Entity::Message(mut m)) = tx.get(EntityRef::Message(id))? else {
                    continue;
                };
                if rank(m.status) == 0 || rank(to) <= rank(m.status) {
                    continue;
                }
                // Read implies delivered: both are kept, in order.
                if to == MessageStatus::Read && m.status == MessageStatus::Sent {
                    m.history.push(StatusStamp {
                        status: MessageStatus::Delivered,
                        at: now,
                    });
                }
                m.status = to;
                m.history.push(StatusStamp {
                    status: to,
                    at: now,
                });
                tx.put(&Entity::Message(m))?;
                moved += 1;
            }
            Ok::<_, StorageError>(moved)
        })
    })
    .await;
    match moved {
        Ok(Ok(n)) if n > 0 => app.announce(),
        Ok(Err(e)) => tracing::error!(error = %e, "a widget's receipt could not be kept"),
        _ => {}
    }
}

#[derive(Deserialize)]
struct FileQuery {
    token: String,
}

/// A file the visitor sends, before the message naming it.
async fn upload<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<super::UploadResponse>), ApiError> {
    let (channel, _) = web_chat(&app, &id).await?;
    let token = headers
        .get("x-outpost-visitor-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let visitor = visitor_of(&app, &channel, &token).await?;
    if app.visitor_frames.take(&visitor.id, 5.0).is_err() {
        return Err(rate_limited(1_000, "Too many files at once."));
    }
    let file = super::upload_id(&file)?;
    let mime = super::content_type(&headers)?;
    super::keep_file(
        &app,
        file,
        crate::storage::Uploader::Channel(channel.id.0),
        mime,
        body,
    )
    .await
}

/// A file of the visitor's conversation (theirs, or one an agent sent them).
async fn download<S: Storage>(
    State(app): State<Arc<App<S>>>,
    Path((id, file)): Path<(String, String)>,
    Query(q): Query<FileQuery>,
) -> Result<Response, ApiError> {
    let (channel, _) = web_chat(&app, &id).await?;
    let visitor = visitor_of(&app, &channel, &q.token).await?;
    let file = super::upload_id(&file)?;
    let storage = app.storage.clone();
    let found = blocking(move || {
        let Some((up, bytes)) = storage.attachment(file)? else {
            return Ok::<_, StorageError>(None);
        };
        let Some(message) = up.message else {
            return Ok(None);
        };
        let theirs = storage
            .web_chat_messages(&visitor.id.to_string(), u32::MAX)?
            .iter()
            .any(|m| m.id == message && shown(m).is_some());
        Ok(theirs.then_some((up.mime, bytes)))
    })
    .await?;
    let Some((mime, bytes)) = found else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "There is no such file.",
        ));
    };
    Ok(super::file_response(mime, bytes, "private, no-store"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitors_message_ids_are_theirs_alone_and_stable() {
        let (a, b, c) = (
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
        );
        assert_eq!(message_id_of(a, c), message_id_of(a, c));
        assert_ne!(message_id_of(a, c), message_id_of(b, c));
    }

    #[test]
    fn names_are_escaped_for_html() {
        assert_eq!(
            html_escape("<b>\"Loja\" & 'Cia'</b>"),
            "&lt;b&gt;&quot;Loja&quot; &amp; &#39;Cia&#39;&lt;/b&gt;"
        );
    }
}
