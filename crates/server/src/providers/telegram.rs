//! Telegram, through the Bot API. Followed from its documentation,
//! <https://core.telegram.org/bots/api>:
//!
//! - requests `{api_base}/bot<token>/<method>`, answers `{"ok": true, "result": …}` or
//!   `{"ok": false, "error_code": …, "description": …, "parameters": {"retry_after": …}}`
//!   (#making-requests, #responseparameters);
//! - updates by webhook (`setWebhook` with a `secret_token`, sent back on each delivery as
//!   `X-Telegram-Bot-Api-Secret-Token`) or by long polling (`getUpdates` with an `offset`),
//!   chosen per channel (`mode`: `webhook` or `polling`) (#getting-updates);
//! - `message` and `edited_message` (#update, #message); photos and documents through `getFile`
//!   and `{api_base}/file/bot<token>/<file_path>` (#getfile);
//! - `sendMessage`, `sendPhoto`, `sendDocument` with `reply_parameters` (#sendmessage,
//!   #replyparameters).
//!
//! Telegram reports no delivery or reading: a message it took is "sent", and stays so.
//!
//! The channel's settings: `bot_token` (a credential), `mode`, `api_base` (default
//! [`DEFAULT_API_BASE`]: Telegram's, or a local Bot API server), and `webhook_secret` (made by
//! the server when it sets the webhook).

use std::sync::Arc;
use std::time::Duration;

use outpost_protocol::MessageStatus;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Failure, File, Outgoing, Report, SendError};
use crate::App;
use crate::storage::{Storage, StorageError};
use crate::workspace::{Inbound, InboundFile};

pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";
/// A caption's limit, in characters.
pub const MAX_CAPTION_CHARS: usize = 1_024;
/// The largest file a bot may download through `getFile`.
pub const MAX_DOWNLOAD: u64 = 20 * 1024 * 1024;
/// The largest photo and document a bot may upload.
const MAX_PHOTO: usize = 10 * 1024 * 1024;
const MAX_DOCUMENT: usize = 50 * 1024 * 1024;
/// How long one `getUpdates` waits for an update.
const POLL_SECONDS: u64 = 25;

/// A Telegram channel's settings.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub bot_token: String,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default)]
    pub api_base: Option<String>,
    #[serde(default)]
    pub webhook_secret: Option<String>,
}

/// How a Telegram channel gets its updates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Telegram posts them to the server's webhook (the server needs a public address).
    #[default]
    Webhook,
    /// The server asks for them (`getUpdates`): no public address needed.
    Polling,
}

impl Settings {
    pub fn of(v: &Value) -> Result<Settings, String> {
        serde_json::from_value(v.clone())
            .map_err(|e| format!("the Telegram channel's settings are incomplete: {e}"))
    }

    fn base(&self) -> String {
        self.api_base
            .as_deref()
            .filter(|b| !b.trim().is_empty())
            .unwrap_or(DEFAULT_API_BASE)
            .trim_end_matches('/')
            .to_owned()
    }

    fn method(&self, name: &str) -> String {
        format!("{}/bot{}/{name}", self.base(), self.bot_token)
    }
}

/// Whether the webhook's secret header is the channel's (compared as hashes: no early exit on
/// the first differing byte).
pub fn secret_matches(expected: &str, given: Option<&str>) -> bool {
    let Some(given) = given else { return false };
    !expected.is_empty() && crate::auth::token_hash(expected) == crate::auth::token_hash(given)
}

// --- Updates ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct Update {
    pub update_id: i64,
    #[serde(default)]
    pub message: Option<TgMessage>,
    #[serde(default)]
    pub edited_message: Option<TgMessage>,
}

#[derive(Debug, Deserialize)]
pub struct TgMessage {
    pub message_id: i64,
    #[serde(default)]
    pub from: Option<User>,
    pub chat: Chat,
    #[serde(default)]
    pub date: i64,
    #[serde(default)]
    pub edit_date: Option<i64>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub photo: Option<Vec<PhotoSize>>,
    #[serde(default)]
    pub document: Option<Document>,
    #[serde(default)]
    pub reply_to_message: Option<Box<TgMessage>>,
}

#[derive(Debug, Deserialize)]
pub struct User {
    #[serde(default)]
    pub is_bot: bool,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PhotoSize {
    pub file_id: String,
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
    #[serde(default)]
    pub file_size: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct Document {
    pub file_id: String,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub file_size: Option<u64>,
}

/// The provider id of a message: its chat and its id there (ids are per chat).
pub fn provider_id(chat: i64, message_id: i64) -> String {
    format!("{chat}:{message_id}")
}

/// Why an update was not taken.
#[derive(Debug)]
pub enum HookError {
    /// Malformed: 400.
    Malformed(String),
    /// A file could not be fetched now: asked again later.
    NotNow(String),
    Storage(StorageError),
}

/// Parses a webhook's body: one update.
pub fn parse(body: &[u8]) -> Result<Update, String> {
    serde_json::from_slice(body).map_err(|e| format!("not a Telegram update: {e}"))
}

/// Takes an update: a customer's message stored (its file fetched first), or an edit applied.
/// Returns whether it stored or changed a message.
pub async fn take<S: Storage>(
    app: &Arc<App<S>>,
    channel: uuid::Uuid,
    settings: &Settings,
    update: Update,
) -> Result<bool, HookError> {
    if let Some(m) = update.edited_message {
        return edit(app, channel, m).await;
    }
    let Some(m) = update.message else {
        return Ok(false);
    };
    if m.chat.kind != "private" || m.from.as_ref().is_some_and(|f| f.is_bot) {
        tracing::info!(chat = m.chat.id, kind = %m.chat.kind, "Telegram: a message outside a private chat, left alone");
        return Ok(false);
    }
    let pid = provider_id(m.chat.id, m.message_id);
    if app.knows(channel, &pid).await.map_err(HookError::Storage)? {
        return Ok(false);
    }
    let mut text = m
        .text
        .clone()
        .or_else(|| m.caption.clone())
        .unwrap_or_default();
    let mut attachments = Vec::new();
    let file = match (&m.photo, &m.document) {
        (Some(sizes), _) => sizes
            .iter()
            .max_by_key(|p| (p.file_size.unwrap_or(0), p.width * p.height))
            .map(|p| (p.file_id.clone(), String::new(), None, p.file_size)),
        (_, Some(d)) => Some((
            d.file_id.clone(),
            d.file_name.clone().unwrap_or_default(),
            d.mime_type.clone(),
            d.file_size,
        )),
        _ => None,
    };
    if let Some((file_id, name, mime, size)) = file {
        match fetch_file(&app.providers.client, settings, &file_id, size).await {
            Ok(Ok((bytes, guessed))) => {
                let mime = mime.unwrap_or(guessed);
                let id = app
                    .receive_file(channel, &mime, bytes)
                    .await
                    .map_err(HookError::Storage)?;
                attachments.push(InboundFile { file: id, name });
            }
            Ok(Err(why)) => {
                tracing::warn!(%file_id, "Telegram: a customer's file not kept: {why}");
                let note = format!("[file not kept: {why}]");
                text = if text.is_empty() {
                    note
                } else {
                    format!("{text}\n{note}")
                };
            }
            Err(why) => return Err(HookError::NotNow(why)),
        }
    }
    if text.trim().is_empty() && attachments.is_empty() {
        // A sticker, a poll, a location…: said as what it is.
        text = "[a message Outpost does not show yet]".into();
    }
    let name = m
        .from
        .as_ref()
        .map(|f| {
            let mut n = f.first_name.clone();
            if let Some(l) = &f.last_name {
                n = format!("{n} {l}");
            }
            n
        })
        .or_else(|| {
            m.chat
                .first_name
                .clone()
                .map(|f| format!("{f} {}", m.chat.last_name.clone().unwrap_or_default()))
        })
        .unwrap_or_default();
    let inbound = Inbound {
        from: m.chat.id.to_string(),
        name: name.trim().to_owned(),
        text,
        attachments,
        provider_id: Some(pid),
        reply_to_provider: m
            .reply_to_message
            .as_ref()
            .map(|r| provider_id(r.chat.id, r.message_id)),
        ..Default::default()
    };
    match app.receive(channel, inbound).await {
        Ok(_) => Ok(true),
        Err(crate::workspace::OpError::Storage(e)) => Err(HookError::Storage(e)),
        Err(e) => {
            tracing::warn!(%channel, "Telegram: a customer's message refused: {e}");
            Ok(false)
        }
    }
}

/// A customer edited a message: its text changes, marked as edited.
async fn edit<S: Storage>(
    app: &Arc<App<S>>,
    channel: uuid::Uuid,
    m: TgMessage,
) -> Result<bool, HookError> {
    let pid = provider_id(m.chat.id, m.message_id);
    let text = m.text.or(m.caption).unwrap_or_default();
    let at = m
        .edit_date
        .map_or_else(|| app.now(), |s| s.saturating_mul(1_000));
    let storage = app.storage.clone();
    let changed = tokio::task::spawn_blocking(move || {
        crate::workspace::edit_inbound(&*storage, channel, &pid, &text, at)
    })
    .await
    .map_err(|e| HookError::Storage(StorageError::Invalid(format!("the write stopped: {e}"))))?
    .map_err(HookError::Storage)?;
    if changed {
        app.announce();
    }
    Ok(changed)
}

/// A file's bytes, through `getFile`. `Ok(Err)`: it cannot be had (too large, gone).
async fn fetch_file(
    client: &reqwest::Client,
    s: &Settings,
    file_id: &str,
    size: Option<u64>,
) -> Result<Result<(Vec<u8>, String), String>, String> {
    let max = MAX_DOWNLOAD.min(outpost_protocol::limits::MAX_ATTACHMENT_BYTES);
    if size.is_some_and(|n| n > max) {
        return Ok(Err(format!(
            "larger than the {} MB a bot may download",
            max / 1024 / 1024
        )));
    }
    let r = client
        .post(s.method("getFile"))
        .json(&json!({ "file_id": file_id }))
        .send()
        .await
        .map_err(|e| format!("Telegram cannot be reached: {e}"))?;
    let status = r.status();
    let v: Value = r
        .json()
        .await
        .map_err(|e| format!("Telegram's getFile answer is unreadable: {e}"))?;
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(format!("Telegram answered {status}"));
    }
    let Some(path) = v.pointer("/result/file_path").and_then(|p| p.as_str()) else {
        let why = v
            .get("description")
            .and_then(|d| d.as_str())
            .unwrap_or("no file path");
        return Ok(Err(why.to_owned()));
    };
    let url = format!("{}/file/bot{}/{}", s.base(), s.bot_token, path);
    let r = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("Telegram cannot be reached: {e}"))?;
    if r.status().is_server_error() {
        return Err(format!("Telegram answered {}", r.status()));
    }
    if !r.status().is_success() {
        return Ok(Err(format!(
            "Telegram would not give the file: {}",
            r.status()
        )));
    }
    let mime = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|m| !m.is_empty() && *m != "application/octet-stream")
        .map(str::to_owned)
        .unwrap_or_else(|| guess_mime(path).to_owned());
    match super::body_capped(r, max).await {
        Ok(Some(bytes)) => Ok(Ok((bytes, mime))),
        Ok(None) => Ok(Err(format!("larger than {} MB", max / 1024 / 1024))),
        Err(e) => Err(format!("the file broke off: {e}")),
    }
}

/// A media type from a file path's extension (Telegram's file server says little).
fn guess_mime(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "ogg" | "oga" => "audio/ogg",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

// --- Sending ---------------------------------------------------------------------------------

enum Part<'a> {
    Text(&'a str),
    File {
        file: &'a File,
        photo: bool,
        caption: Option<&'a str>,
    },
}

fn plan(o: &Outgoing) -> Result<Vec<Part<'_>>, Failure> {
    let m = &o.message;
    if m.template.is_some() {
        return Err(Failure::new(
            "Telegram has no message templates.",
            "provider_error",
            &[
                ("provider", "Telegram"),
                ("code", "template"),
                ("detail", "no templates"),
            ],
        ));
    }
    for f in &o.files {
        if f.bytes.len() > MAX_DOCUMENT {
            return Err(Failure::new(
                format!(
                    "{} is larger than the 50 MB a Telegram bot may send.",
                    f.name
                ),
                "file_too_large",
                &[
                    ("provider", "Telegram"),
                    ("name", &f.name),
                    ("limit", "50 MB"),
                ],
            ));
        }
    }
    let photo = |f: &File| {
        matches!(f.mime.as_str(), "image/jpeg" | "image/png" | "image/webp")
            && f.bytes.len() <= MAX_PHOTO
    };
    let text = m.text.trim();
    if o.files.is_empty() {
        return Ok(vec![Part::Text(&m.text)]);
    }
    if o.files.len() == 1 && text.chars().count() <= MAX_CAPTION_CHARS {
        return Ok(vec![Part::File {
            file: &o.files[0],
            photo: photo(&o.files[0]),
            caption: (!text.is_empty()).then_some(&m.text),
        }]);
    }
    let mut parts = Vec::new();
    if !text.is_empty() {
        parts.push(Part::Text(&m.text));
    }
    for f in &o.files {
        parts.push(Part::File {
            file: f,
            photo: photo(f),
            caption: None,
        });
    }
    Ok(parts)
}

/// Sends a message, part after part from the first Telegram has not taken yet. What Telegram
/// takes is sent: it reports nothing after.
pub async fn send(client: &reqwest::Client, o: &Outgoing) -> Report {
    let fail = Report::refused;
    let s = match Settings::of(&o.settings) {
        Ok(s) => s,
        Err(e) => return fail(Failure::settings(e, "Telegram")),
    };
    let parts = match plan(o) {
        Ok(p) => p,
        Err(f) => return fail(f),
    };
    let chat: i64 = match o.to.trim().parse() {
        Ok(c) => c,
        Err(_) => {
            return fail(Failure::new(
                format!("{} is not a Telegram chat.", o.to),
                "provider_error",
                &[
                    ("provider", "Telegram"),
                    ("code", "400"),
                    ("detail", "chat not found"),
                ],
            ));
        }
    };
    // "chat:message" of the message replied to, when it is in this chat.
    let reply = o
        .reply_to
        .as_deref()
        .and_then(|r| r.split_once(':'))
        .filter(|(c, _)| c.parse::<i64>().ok() == Some(chat))
        .and_then(|(_, m)| m.parse::<i64>().ok());
    let mut sent = Vec::new();
    for (i, part) in parts.iter().enumerate().skip(o.parts_done as usize) {
        let reply = if i == 0 { reply } else { None };
        match send_part(client, &s, chat, part, reply).await {
            Ok(id) => sent.push(provider_id(chat, id)),
            Err(e) => {
                return Report {
                    sent,
                    outcome: Err(e),
                };
            }
        }
    }
    Report {
        sent,
        outcome: Ok(MessageStatus::Sent),
    }
}

async fn send_part(
    client: &reqwest::Client,
    s: &Settings,
    chat: i64,
    part: &Part<'_>,
    reply: Option<i64>,
) -> Result<i64, SendError> {
    let reply_parameters =
        reply.map(|m| json!({ "message_id": m, "allow_sending_without_reply": true }));
    let request = match part {
        Part::Text(text) => {
            let mut body = json!({ "chat_id": chat, "text": text });
            if let Some(r) = &reply_parameters {
                body["reply_parameters"] = r.clone();
            }
            client.post(s.method("sendMessage")).json(&body)
        }
        Part::File {
            file,
            photo,
            caption,
        } => {
            let (method, field) = if *photo {
                ("sendPhoto", "photo")
            } else {
                ("sendDocument", "document")
            };
            let bytes = reqwest::multipart::Part::bytes(file.bytes.clone())
                .file_name(file.name.clone())
                .mime_str(&file.mime)
                .map_err(|e| {
                    SendError::Permanent(Failure::new(
                        format!("{}: {e}", file.name),
                        "provider_error",
                        &[
                            ("provider", "Telegram"),
                            ("code", "mime"),
                            ("detail", &file.mime),
                        ],
                    ))
                })?;
            let mut form = reqwest::multipart::Form::new()
                .text("chat_id", chat.to_string())
                .part(field, bytes);
            if let Some(c) = caption {
                form = form.text("caption", c.to_string());
            }
            if let Some(r) = &reply_parameters {
                form = form.text("reply_parameters", r.to_string());
            }
            client.post(s.method(method)).multipart(form)
        }
    };
    let r = request
        .send()
        .await
        .map_err(|e| super::request_error(&e, "Telegram"))?;
    let result = answer(r).await?;
    result
        .get("message_id")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| SendError::Uncertain("Telegram answered without the message's id".into()))
}

/// A Bot API answer: its `result`, or what its error means.
async fn answer(r: reqwest::Response) -> Result<Value, SendError> {
    let status = r.status();
    let header_after = super::retry_after(r.headers());
    let bytes = r.bytes().await.map_err(|e| {
        if status.is_success() {
            SendError::Uncertain(format!("Telegram's answer broke off: {e}"))
        } else {
            SendError::Retry {
                after: header_after,
                why: format!("Telegram answered {status} and broke off"),
                whole_channel: false,
            }
        }
    })?;
    let v: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) if status.is_success() => {
            return Err(SendError::Uncertain(format!(
                "Telegram's answer is unreadable: {e}"
            )));
        }
        Err(_) => Value::Null,
    };
    if v.get("ok").and_then(|o| o.as_bool()) == Some(true) {
        return v
            .get("result")
            .cloned()
            .ok_or_else(|| SendError::Uncertain("Telegram answered without a result".into()));
    }
    let code = v
        .get("error_code")
        .and_then(|c| c.as_i64())
        .unwrap_or(status.as_u16() as i64);
    let description = v
        .get("description")
        .and_then(|d| d.as_str())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error"))
        .to_owned();
    let after = v
        .pointer("/parameters/retry_after")
        .and_then(|s| s.as_u64())
        .map(|s| Duration::from_secs(s.min(3_600)))
        .or(header_after);
    if code == 429 || code >= 500 {
        return Err(SendError::Retry {
            after,
            why: format!("{code} {description}"),
            whole_channel: code == 429 || code >= 500,
        });
    }
    Err(SendError::Permanent(failure_of(code, &description)))
}

/// A Bot API error as a failure: the interface's words for the ones agents meet.
pub fn failure_of(code: i64, description: &str) -> Failure {
    let lower = description.to_lowercase();
    let key = if lower.contains("bot was blocked by the user") {
        Some("telegram_blocked")
    } else if lower.contains("chat not found") {
        Some("telegram_chat_not_found")
    } else if lower.contains("user is deactivated") {
        Some("telegram_deactivated")
    } else if code == 401 {
        Some("telegram_unauthorized")
    } else {
        None
    };
    let code_s = code.to_string();
    let text = format!("({code}) {description}");
    match key {
        Some(k) => Failure::new(text, k, &[("code", &code_s)]),
        None => Failure::new(
            text,
            "provider_error",
            &[
                ("provider", "Telegram"),
                ("code", &code_s),
                ("detail", description),
            ],
        ),
    }
}

// --- Getting updates -------------------------------------------------------------------------

/// Sets the channel's webhook at Telegram, with a secret Telegram sends back on each delivery
/// (made now if the channel has none yet, and kept in its settings).
pub async fn set_webhook<S: Storage>(
    app: &Arc<App<S>>,
    channel: uuid::Uuid,
    public_base: &str,
) -> Result<(), String> {
    let storage = app.storage.clone();
    let mut settings_json = tokio::task::spawn_blocking(move || storage.channel_settings(channel))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
        .ok_or("no such channel")?;
    let mut s = Settings::of(&settings_json)?;
    let secret = match s.webhook_secret.clone().filter(|w| !w.is_empty()) {
        Some(w) => w,
        None => {
            let (w, _) = crate::auth::new_token()?;
            settings_json["webhook_secret"] = json!(w);
            let (storage, v) = (app.storage.clone(), settings_json.clone());
            tokio::task::spawn_blocking(move || storage.set_channel_settings(channel, &v))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            s.webhook_secret = Some(w.clone());
            w
        }
    };
    let url = format!(
        "{}/v1/webhooks/telegram/{channel}",
        public_base.trim_end_matches('/')
    );
    let r = app
        .providers
        .client
        .post(s.method("setWebhook"))
        .json(&json!({
            "url": url,
            "secret_token": secret,
            "allowed_updates": ["message", "edited_message"],
        }))
        .send()
        .await
        .map_err(|e| format!("Telegram cannot be reached: {e}"))?;
    answer(r).await.map_err(|e| format!("{e:?}"))?;
    tracing::info!(%channel, %url, "Telegram webhook set");
    Ok(())
}

/// Asks Telegram for the channel's updates until stopped (long polling), taking each; the
/// offset is kept, so a restart neither loses nor repeats one.
pub async fn poll<S: Storage>(app: Arc<App<S>>, channel: uuid::Uuid, settings: Settings) {
    let client = &app.providers.client;
    // A bot with a webhook gets no updates by polling: the webhook goes first.
    match client
        .post(settings.method("deleteWebhook"))
        .json(&json!({}))
        .send()
        .await
    {
        Ok(r) => {
            if let Err(e) = answer(r).await {
                tracing::warn!(%channel, "Telegram: the webhook could not be removed: {e:?}");
            }
        }
        Err(e) => tracing::warn!(%channel, "Telegram cannot be reached: {e}"),
    }
    let mut failures: u32 = 0;
    loop {
        let storage = app.storage.clone();
        let offset: i64 = match tokio::task::spawn_blocking(move || {
            storage.channel_cursor(channel, "update_offset")
        })
        .await
        {
            Ok(Ok(v)) => v.and_then(|v| v.parse().ok()).unwrap_or(0),
            _ => 0,
        };
        let asked = client
            .post(settings.method("getUpdates"))
            .timeout(Duration::from_secs(POLL_SECONDS + 10))
            .json(&json!({
                "offset": offset,
                "timeout": POLL_SECONDS,
                "allowed_updates": ["message", "edited_message"],
            }))
            .send()
            .await;
        let updates = match asked {
            Ok(r) => answer(r).await.map_err(|e| format!("{e:?}")),
            Err(e) => Err(format!("Telegram cannot be reached: {e}")),
        };
        let updates: Vec<Value> = match updates {
            Ok(Value::Array(u)) => {
                failures = 0;
                u
            }
            Ok(_) => Vec::new(),
            Err(why) => {
                failures = failures.saturating_add(1);
                let wait = (1u64 << failures.min(6)).min(60);
                tracing::warn!(%channel, wait_s = wait, "Telegram: no updates: {why}");
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
        };
        for u in updates {
            let id = u.get("update_id").and_then(|i| i.as_i64());
            let taken = match serde_json::from_value::<Update>(u) {
                Ok(update) => take(&app, channel, &settings, update).await,
                Err(e) => Err(HookError::Malformed(e.to_string())),
            };
            match taken {
                Ok(_) => {}
                Err(HookError::Malformed(why)) => {
                    tracing::warn!(%channel, "Telegram: an update Outpost cannot read, skipped: {why}");
                }
                Err(HookError::NotNow(why)) => {
                    // Asked again from this update on, after a pause.
                    tracing::warn!(%channel, "Telegram: an update's file could not be fetched now: {why}");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    break;
                }
                Err(HookError::Storage(e)) => {
                    tracing::error!(%channel, error = %e, "Telegram: an update could not be stored");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    break;
                }
            }
            if let Some(id) = id {
                let storage = app.storage.clone();
                let next = (id + 1).to_string();
                let kept = tokio::task::spawn_blocking(move || {
                    storage.set_channel_cursor(channel, "update_offset", &next)
                })
                .await;
                if !matches!(kept, Ok(Ok(()))) {
                    tracing::error!(%channel, "Telegram: the update offset could not be kept");
                }
            }
        }
    }
}
