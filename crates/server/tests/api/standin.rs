//! A local stand-in for the providers' HTTP APIs (WhatsApp's Graph API, Telegram's Bot API), on
//! loopback: it answers with the documented shapes (the fixtures in `tests/fixtures/`, whose
//! README names each page), records every request, and can be told what to answer next (an
//! error, a rate limit, a slow answer).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const ACCESS_TOKEN: &str = "EAAG-test-access-token";
pub const APP_SECRET: &str = "app-secret-of-the-meta-app";
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const WABA_ID: &str = "102290129340398";
pub const BOT_TOKEN: &str = "7000000001:AAE-test-bot-token";

/// A fixture's JSON.
pub fn fixture(provider: &str, name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/{provider}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// One request the stand-in got.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub auth: Option<String>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Whether the body holds `bytes` (a multipart upload's file).
    pub fn carries(&self, bytes: &[u8]) -> bool {
        self.body.windows(bytes.len()).any(|w| w == bytes)
    }
}

/// An answer to give instead of the usual one.
#[derive(Clone, Debug)]
pub struct Scripted {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<u64>,
    pub delay_ms: u64,
}

impl Scripted {
    pub fn error(status: u16, body: Value) -> Scripted {
        Scripted {
            status,
            body,
            retry_after: None,
            delay_ms: 0,
        }
    }
}

#[derive(Default)]
pub struct State {
    pub requests: Mutex<Vec<Recorded>>,
    /// Answers for sends (WhatsApp `/messages`, Telegram `send*`), in order, before the usual.
    pub script: Mutex<VecDeque<Scripted>>,
    /// Files to give: media id (or Telegram file id) → bytes and type.
    pub media: Mutex<HashMap<String, (Vec<u8>, String)>>,
    /// A size to claim for a media instead of its real one.
    pub claimed_size: Mutex<HashMap<String, u64>>,
    /// Media whose download answers 500 (as many times as set).
    pub media_failures: Mutex<HashMap<String, u32>>,
    /// Telegram updates for `getUpdates`.
    pub updates: Mutex<VecDeque<Value>>,
    /// How long every send takes.
    pub send_delay_ms: AtomicU64,
    /// The ids given to the messages taken, in order.
    pub given: Mutex<Vec<String>>,
    next: AtomicU64,
    addr: Mutex<Option<SocketAddr>>,
}

pub struct StandIn {
    pub addr: SocketAddr,
    pub state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    pub async fn start() -> StandIn {
        let state = Arc::new(State::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        *state.addr.lock().unwrap() = Some(addr);
        let s = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let s = s.clone();
                async move { answer(s, method, uri, headers, body).await }
            },
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        StandIn { addr, state, task }
    }

    /// The Graph API's base for a channel's `api_base`.
    pub fn graph(&self) -> String {
        format!("http://{}/v21.0", self.addr)
    }

    /// The Bot API's base.
    pub fn bot_api(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Requests whose path ends with `suffix`.
    pub fn to(&self, suffix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with(suffix))
            .collect()
    }

    pub fn then(&self, s: Scripted) {
        self.state.script.lock().unwrap().push_back(s);
    }

    pub fn media(&self, id: &str, bytes: &[u8], mime: &str) {
        self.state
            .media
            .lock()
            .unwrap()
            .insert(id.to_owned(), (bytes.to_vec(), mime.to_owned()));
    }

    /// The id given to the last message taken.
    pub fn last_given(&self) -> String {
        self.state.given.lock().unwrap().last().cloned().unwrap()
    }

    pub fn update(&self, u: Value) {
        self.state.updates.lock().unwrap().push_back(u);
    }
}

fn graph_error(status: StatusCode, name: &str) -> Response {
    (status, axum::Json(fixture("whatsapp", name))).into_response()
}

async fn answer(
    s: Arc<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    s.requests.lock().unwrap().push(Recorded {
        path: path.clone(),
        auth: auth.clone(),
        body: body.to_vec(),
    });
    let n = s.next.fetch_add(1, Ordering::SeqCst) + 1;
    let addr = s.addr.lock().unwrap().unwrap();
    // Telegram: /bot<token>/<method>, /file/bot<token>/<path>.
    if let Some(rest) = path.strip_prefix("/file/bot") {
        let Some((token, file)) = rest.split_once('/') else {
            return StatusCode::NOT_FOUND.into_response();
        };
        if token != BOT_TOKEN {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let id = file
            .rsplit('/')
            .next()
            .unwrap_or("")
            .split('.')
            .next()
            .unwrap_or("");
        return match s.media.lock().unwrap().get(id) {
            Some((bytes, _)) => bytes.clone().into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    if let Some(rest) = path.strip_prefix("/bot") {
        let Some((token, name)) = rest.split_once('/') else {
            return StatusCode::NOT_FOUND.into_response();
        };
        if token != BOT_TOKEN {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(
                    json!({ "ok": false, "error_code": 401, "description": "Unauthorized" }),
                ),
            )
                .into_response();
        }
        return telegram(&s, name, &body, n).await;
    }
    // WhatsApp: the Graph API (bearer token), and media files (also with it).
    if auth.as_deref() != Some(&format!("Bearer {ACCESS_TOKEN}")) {
        return graph_error(StatusCode::UNAUTHORIZED, "error_190.json");
    }
    if let Some(id) = path.strip_prefix("/files/") {
        let failing = {
            let mut f = s.media_failures.lock().unwrap();
            match f.get_mut(id) {
                Some(left) if *left > 0 => {
                    *left -= 1;
                    true
                }
                _ => false,
            }
        };
        if failing {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        return match s.media.lock().unwrap().get(id) {
            Some((bytes, mime)) => {
                ([("content-type", mime.clone())], bytes.clone()).into_response()
            }
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    let Some(graph) = path.strip_prefix("/v21.0/") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let parts: Vec<&str> = graph.split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("POST", [pn, "messages"]) if *pn == PHONE_NUMBER_ID => {
            if let Some(r) = scripted(&s).await {
                return r;
            }
            let mut v = fixture("whatsapp", "send_response.json");
            let wamid = format!("wamid.OUT{n}");
            s.given.lock().unwrap().push(wamid.clone());
            delay(&s).await;
            v["messages"][0]["id"] = json!(wamid);
            axum::Json(v).into_response()
        }
        ("POST", [pn, "media"]) if *pn == PHONE_NUMBER_ID => {
            axum::Json(json!({ "id": format!("upload{n}") })).into_response()
        }
        ("GET", [waba, "message_templates"]) if *waba == WABA_ID => {
            axum::Json(fixture("whatsapp", "message_templates.json")).into_response()
        }
        ("GET", [id]) => {
            let media = s.media.lock().unwrap().get(*id).cloned();
            match media {
                Some((bytes, mime)) => {
                    let size = s
                        .claimed_size
                        .lock()
                        .unwrap()
                        .get(*id)
                        .copied()
                        .unwrap_or(bytes.len() as u64);
                    let mut v = fixture("whatsapp", "media_url_response.json");
                    v["url"] = json!(format!("http://{addr}/files/{id}"));
                    v["mime_type"] = json!(mime);
                    v["file_size"] = json!(size.to_string());
                    v["id"] = json!(id);
                    axum::Json(v).into_response()
                }
                None => (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({ "error": { "message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100 } })),
                )
                    .into_response(),
            }
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Waits the send delay.
async fn delay(s: &State) {
    let wait = s.send_delay_ms.load(Ordering::SeqCst);
    if wait > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    }
}

/// The next scripted answer for a send, if any (after its delay).
async fn scripted(s: &State) -> Option<Response> {
    let next = s.script.lock().unwrap().pop_front()?;
    if next.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(next.delay_ms)).await;
    }
    let status = StatusCode::from_u16(next.status).unwrap();
    let mut r = if next.body.is_null() {
        status.into_response()
    } else {
        (status, axum::Json(next.body)).into_response()
    };
    if let Some(after) = next.retry_after {
        r.headers_mut()
            .insert("retry-after", after.to_string().parse().unwrap());
    }
    Some(r)
}

async fn telegram(s: &State, method: &str, body: &[u8], n: u64) -> Response {
    let ok = |result: Value| axum::Json(json!({ "ok": true, "result": result })).into_response();
    match method {
        "sendMessage" | "sendPhoto" | "sendDocument" => {
            if let Some(r) = scripted(s).await {
                return r;
            }
            let mut v = fixture("telegram", "send_message_response.json");
            v["result"]["message_id"] = json!(500 + n);
            s.given.lock().unwrap().push((500 + n).to_string());
            delay(s).await;
            axum::Json(v).into_response()
        }
        "getFile" => {
            let file_id = serde_json::from_slice::<Value>(body).unwrap_or_default()["file_id"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            if !s.media.lock().unwrap().contains_key(&file_id) {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({ "ok": false, "error_code": 400, "description": "Bad Request: invalid file_id" })),
                )
                    .into_response();
            }
            let mut v = fixture("telegram", "get_file_response.json");
            v["result"]["file_id"] = json!(file_id);
            v["result"]["file_path"] = json!(format!("documents/{file_id}.bin"));
            axum::Json(v).into_response()
        }
        "setWebhook" => axum::Json(fixture("telegram", "set_webhook_response.json")).into_response(),
        "deleteWebhook" => ok(json!(true)),
        "getUpdates" => {
            let offset = serde_json::from_slice::<Value>(body).unwrap_or_default()["offset"]
                .as_i64()
                .unwrap_or(0);
            // Long polling, kept short for tests: up to a second for an update.
            for _ in 0..20 {
                let updates: Vec<Value> = s
                    .updates
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|u| u["update_id"].as_i64().unwrap_or(0) >= offset)
                    .cloned()
                    .collect();
                if !updates.is_empty() {
                    return ok(Value::Array(updates));
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            ok(json!([]))
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "ok": false, "error_code": 404, "description": "Not Found: method not found" })),
        )
            .into_response(),
    }
}
