//! `outpost-web`: the Outpost interface in a browser, for tests and for agents who cannot install
//! the desktop app. It runs the client engine ([`App`]) headless and serves, on loopback only:
//! - `/` and `/assets/*`: the built interface (`ui/dist`), under a strict Content Security Policy
//!   (no remote or inline script);
//! - `/bridge?token=…`: a WebSocket carrying the same [`Request`]/[`Response`]/[`Event`] as the
//!   desktop shell's IPC ([`BridgeRequest`] in, [`BridgeReply`] out).
//!
//! The bridge is the agent's data: it takes only the random token printed with the address (a
//! page from another site cannot guess it), and only from the page's own origin.
//!
//! [`Request`]: outpost_core::Request
//! [`Response`]: outpost_core::Response
//! [`Event`]: outpost_core::Event

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use outpost_core::api::{BridgeReply, BridgeRequest};
use outpost_core::app::App;

/// The policy the interface runs under: its own scripts and styles only; it talks to its own
/// origin (the bridge); images may be inline data (avatars) or blobs it made from attachments.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The largest bridge message: a 100 MiB attachment in base64 (4/3) and its JSON around it.
const BRIDGE_MAX_MESSAGE: usize = 140 << 20;

struct Web {
    app: Arc<App>,
    token: String,
}

/// A running web edition.
pub struct Running {
    pub addr: SocketAddr,
    /// The secret the page's address carries.
    pub token: String,
    pub app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The address to open in a browser.
    pub fn url(&self) -> String {
        format!("http://{}/?token={}", self.addr, self.token)
    }

    pub async fn stop(mut self) {
        // A server already stopped has dropped the other end: nothing to tell.
        if let Some(stop) = self.stop.take()
            && stop.send(()).is_err()
        {
            tracing::debug!("the web edition's server had already stopped");
        }
        if let Err(e) = (&mut self.task).await {
            tracing::error!("the web edition's server ended with a panic: {e}");
        }
        self.app.stop().await;
    }
}

fn new_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for the token: {e}"))?;
    Ok(hex::encode(bytes))
}

/// Serves `app` and the interface built in `ui_dir` on `listen` (a loopback address).
pub async fn serve(app: Arc<App>, ui_dir: &Path, listen: SocketAddr) -> Result<Running, String> {
    if !listen.ip().is_loopback() {
        return Err(format!(
            "{listen} is not a loopback address: the web edition serves this computer only"
        ));
    }
    let token = new_token()?;
    let web = Arc::new(Web {
        app: app.clone(),
        token: token.clone(),
    });
    let index = ui_dir.join("index.html");
    let static_files = tower_http::services::ServeDir::new(ui_dir)
        .fallback(tower_http::services::ServeFile::new(&index));
    let router = Router::new()
        .route("/bridge", get(bridge))
        .with_state(web)
        .fallback_service(static_files)
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("no local address: {e}"))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        // Answers are sent at once: with Nagle's algorithm a large answer's last segment waited
        // for the browser's delayed acknowledgement (measured: 40 ms added to some openings).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!("answers on this connection may wait for Nagle: {e}");
            }
        });
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                // Dropped or sent: either way the server stops.
                if stopped.await.is_err() {
                    tracing::debug!("the web edition was dropped without a stop");
                }
            })
            .await;
        if let Err(e) = served {
            tracing::error!("the web edition stopped serving: {e}");
        }
    });
    Ok(Running {
        addr,
        token,
        app,
        stop: Some(stop),
        task,
    })
}

#[derive(serde::Deserialize)]
struct BridgeQuery {
    token: Option<String>,
}

/// Compares in constant time (the token is a secret).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn bridge(
    State(web): State<Arc<Web>>,
    Query(q): Query<BridgeQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !q.token.as_deref().is_some_and(|t| same(t, &web.token)) {
        return (
            StatusCode::UNAUTHORIZED,
            "The bridge needs the token of the page's address.",
        )
            .into_response();
    }
    // A browser says where the page came from: only our own pages may open the bridge.
    if let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        let own = format!("http://{}", host.to_str().unwrap_or_default());
        if origin.to_str().unwrap_or_default() != own {
            return (
                StatusCode::FORBIDDEN,
                "The bridge serves this page's own origin only.",
            )
                .into_response();
        }
    }
    // A request may carry a file of up to 100 MiB, in base64.
    upgrade
        .max_message_size(BRIDGE_MAX_MESSAGE)
        .max_frame_size(BRIDGE_MAX_MESSAGE)
        .on_upgrade(move |socket| serve_bridge(socket, web.app.clone()))
}

async fn serve_bridge(socket: WebSocket, app: Arc<App>) {
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out) = tokio::sync::mpsc::unbounded_channel::<String>();
    // Events, from their thread to this connection.
    let events = app.subscribe();
    let event_tx = out_tx.clone();
    std::thread::spawn(move || {
        for event in events {
            let Ok(text) = serde_json::to_string(&BridgeReply::Event { event }) else {
                continue;
            };
            if event_tx.send(text).is_err() {
                break;
            }
        }
    });
    let writer = tokio::spawn(async move {
        while let Some(text) = out.recv().await {
            if sink.send(WsMessage::Text(text.into())).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(msg)) = stream.next().await {
        let WsMessage::Text(text) = msg else {
            continue;
        };
        let reply = match serde_json::from_str::<BridgeRequest>(&text) {
            Ok(BridgeRequest { id, request }) => {
                // Requests are answered concurrently: a slow one does not hold the others.
                let (app, out_tx) = (app.clone(), out_tx.clone());
                tokio::spawn(async move {
                    let response = app.handle(request).await;
                    answer(&out_tx, &BridgeReply::Answer { id, response });
                });
                continue;
            }
            // The request's id is still read when its request is not one (an interface newer or
            // older than this server): its caller hears why instead of waiting for ever.
            Err(e) => BridgeReply::Answer {
                id: serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("id")?.as_u64())
                    .unwrap_or(0),
                response: outpost_core::Response::Error {
                    error: outpost_protocol::ErrorBody::because(
                        outpost_protocol::ErrorCode::InvalidInput,
                        format!("Not a request: {e}"),
                        outpost_protocol::Reason::new("internal"),
                    ),
                },
            },
        };
        answer(&out_tx, &reply);
    }
    drop(out_tx);
    writer.abort();
}

/// Queues `reply` for the page; a page gone meanwhile is not an error (it asks again when back).
fn answer(out: &tokio::sync::mpsc::UnboundedSender<String>, reply: &BridgeReply) {
    match serde_json::to_string(reply) {
        Ok(text) => {
            if out.send(text).is_err() {
                tracing::debug!("an answer for a page that has gone");
            }
        }
        Err(e) => tracing::error!("an answer could not be written as JSON: {e}"),
    }
}

/// Where the built interface lives in a checkout (`ui/dist`).
pub fn default_ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist")
}

#[cfg(test)]
#[path = "web_tests.rs"]
mod web_tests;
