//! WhatsApp, through Meta's Cloud API (Graph API). Followed from Meta's documentation:
//!
//! - webhooks: verification (`hub.mode`, `hub.verify_token`, `hub.challenge`) and the
//!   `X-Hub-Signature-256` signature (HMAC-SHA256 of the raw body with the app secret),
//!   <https://developers.facebook.com/docs/graph-api/webhooks/getting-started>;
//! - the `messages` field's payloads (messages of every type, with `context`; statuses with
//!   `errors[]`), <https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components>
//!   and <https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples>;
//! - sending text, media and templates to `/{phone-number-id}/messages`,
//!   <https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages>, and media
//!   (`/{phone-number-id}/media` to upload, `/{media-id}` to fetch),
//!   <https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media>;
//! - error codes, <https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes>;
//! - approved templates, `/{whatsapp-business-account-id}/message_templates`,
//!   <https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates>;
//! - the Calling API's `calls` field: `connect` and `terminate` events (`direction`
//!   `USER_INITIATED` or `BUSINESS_INITIATED`; a terminate's `status` `COMPLETED` or `FAILED`,
//!   with `start_time`, `end_time` and `duration` only when the call was picked up, and
//!   `errors[]` when it failed), <https://developers.facebook.com/docs/whatsapp/cloud-api/calling/reference>,
//!   <https://developers.facebook.com/docs/whatsapp/cloud-api/calling/user-initiated-calls> and
//!   <https://developers.facebook.com/docs/whatsapp/cloud-api/calling/business-initiated-calls>.
//!   Outpost records calls (see `crate::calls`); it never accepts one (no SDP answer is sent),
//!   so the business answers in its own calling tools.
//!
//! The channel's settings: `phone_number_id`, `business_account_id`, `access_token` and
//! `app_secret` (credentials), `api_base` (default [`DEFAULT_API_BASE`]: a Graph API version,
//! or a stand-in), and `calling` (`on` to record the number's calls; off by default). The
//! verify token Meta asks for is the channel's secret.

use std::sync::Arc;

use hmac::Mac;
use outpost_protocol::{Entity, EntityRef, MessageStatus, Millis, Template};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Failure, File, Outgoing, Report, SendError, Status};
use crate::App;
use crate::storage::{Storage, StorageError};
use crate::workspace::{Inbound, InboundFile};

/// The Graph API, at the version Outpost follows.
pub const DEFAULT_API_BASE: &str = "https://graph.facebook.com/v21.0";
/// A caption's limit, in characters (longer text goes as a message of its own).
pub const MAX_CAPTION_CHARS: usize = 1_024;

/// A WhatsApp channel's settings.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub phone_number_id: String,
    pub business_account_id: String,
    pub access_token: String,
    pub app_secret: String,
    #[serde(default)]
    pub api_base: Option<String>,
    /// `on` (or `true`): the admin switched calling on, and the number's calls are recorded.
    #[serde(default)]
    pub calling: Option<Value>,
}

impl Settings {
    /// Whether the number's calls are recorded.
    pub fn calling_on(&self) -> bool {
        match &self.calling {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => matches!(s.trim(), "on" | "true"),
            _ => false,
        }
    }

    pub fn of(v: &Value) -> Result<Settings, String> {
        serde_json::from_value(v.clone())
            .map_err(|e| format!("the WhatsApp channel's settings are incomplete: {e}"))
    }

    fn base(&self) -> String {
        self.api_base
            .as_deref()
            .filter(|b| !b.trim().is_empty())
            .unwrap_or(DEFAULT_API_BASE)
            .trim_end_matches('/')
            .to_owned()
    }
}

/// Whether `signature` (the `X-Hub-Signature-256` header: `sha256=<hex>`) signs `body` with the
/// app secret. Checked in constant time, before the body is parsed.
pub fn signed(app_secret: &str, body: &[u8], signature: Option<&str>) -> bool {
    let Some(hex_sig) = signature.and_then(|s| s.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The signature Meta would send for `body` (for stand-ins and benchmarks).
pub fn signature(app_secret: &str, body: &[u8]) -> String {
    match hmac::Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        // HMAC takes a key of any length.
        Err(_) => String::new(),
    }
}

// --- The webhook's payload -------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct Payload {
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
pub struct Change {
    pub field: String,
    pub value: Value,
}

#[derive(Debug, Default, Deserialize)]
pub struct MessagesValue {
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub contacts: Vec<WaContact>,
    #[serde(default)]
    pub messages: Vec<WaMessage>,
    #[serde(default)]
    pub statuses: Vec<WaStatus>,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub phone_number_id: String,
}

#[derive(Debug, Deserialize)]
pub struct WaContact {
    #[serde(default)]
    pub profile: Option<Profile>,
    pub wa_id: String,
}

#[derive(Debug, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct WaMessage {
    pub from: String,
    pub id: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<Text>,
    #[serde(default)]
    pub image: Option<Media>,
    #[serde(default)]
    pub video: Option<Media>,
    #[serde(default)]
    pub audio: Option<Media>,
    #[serde(default)]
    pub document: Option<Media>,
    #[serde(default)]
    pub sticker: Option<Media>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub contacts: Option<Vec<SharedContact>>,
    #[serde(default)]
    pub interactive: Option<Interactive>,
    #[serde(default)]
    pub button: Option<Button>,
    #[serde(default)]
    pub reaction: Option<Reaction>,
    #[serde(default)]
    pub context: Option<Context>,
}

#[derive(Debug, Deserialize)]
pub struct Text {
    pub body: String,
}

#[derive(Debug, Deserialize)]
pub struct Media {
    pub id: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SharedContact {
    #[serde(default)]
    pub name: Option<SharedName>,
    #[serde(default)]
    pub phones: Vec<SharedPhone>,
    #[serde(default)]
    pub emails: Vec<SharedEmail>,
}

#[derive(Debug, Deserialize)]
pub struct SharedName {
    #[serde(default)]
    pub formatted_name: String,
}

#[derive(Debug, Deserialize)]
pub struct SharedPhone {
    #[serde(default)]
    pub phone: String,
}

#[derive(Debug, Deserialize)]
pub struct SharedEmail {
    #[serde(default)]
    pub email: String,
}

#[derive(Debug, Deserialize)]
pub struct Interactive {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub button_reply: Option<Choice>,
    #[serde(default)]
    pub list_reply: Option<Choice>,
}

#[derive(Debug, Deserialize)]
pub struct Choice {
    #[serde(default)]
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Button {
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct Reaction {
    pub message_id: String,
    #[serde(default)]
    pub emoji: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Context {
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct WaStatus {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub errors: Vec<WaError>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WaError {
    pub code: i64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_data: Option<ErrorData>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorData {
    #[serde(default)]
    pub details: Option<String>,
}

/// The `calls` field's value: the calls of the business number, and why one failed.
#[derive(Debug, Default, Deserialize)]
pub struct CallsValue {
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub contacts: Vec<WaContact>,
    #[serde(default)]
    pub calls: Vec<WaCall>,
    #[serde(default)]
    pub errors: Vec<WaError>,
}

/// One call event (`connect` or `terminate`).
#[derive(Debug, Clone, Deserialize)]
pub struct WaCall {
    pub id: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    pub event: String,
    #[serde(default)]
    pub direction: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub start_time: Option<Value>,
    #[serde(default)]
    pub end_time: Option<Value>,
    #[serde(default)]
    pub duration: Option<Value>,
    #[serde(default)]
    pub errors: Vec<WaError>,
}

impl WaCall {
    /// The customer's WhatsApp id: who called, or who the business called.
    pub fn customer(&self) -> &str {
        let number = if self.direction == "BUSINESS_INITIATED" {
            &self.to
        } else {
            &self.from
        };
        number.trim().trim_start_matches('+')
    }
}

/// Codes that mean "not now": the request was not taken, try again later.
const TRY_AGAIN: &[i64] = &[1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004];
/// Of those, the ones that are a limit on the whole number (pause the channel).
const WHOLE_NUMBER: &[i64] = &[4, 80007, 130429];

/// A WhatsApp error, as a failure: "(#code) title: details", and a reason.
pub fn failure_of(code: i64, title: &str, details: &str) -> Failure {
    let (text, reason) = crate::reasons::whatsapp(code, title, details);
    Failure { text, reason }
}

fn error_failure(e: &WaError) -> Failure {
    let title = e
        .title
        .as_deref()
        .or(e.message.as_deref())
        .unwrap_or("Error");
    let details = e
        .error_data
        .as_ref()
        .and_then(|d| d.details.as_deref())
        .unwrap_or("");
    failure_of(e.code, title, details)
}

/// A number or a numeric string of the payload (Meta writes times as strings, durations as
/// numbers), as an integer.
fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A call event of the payload, as a report of ours; `Err` says why it cannot be one.
pub fn call_report(
    c: &WaCall,
    name: &str,
    errors: &[WaError],
    now: Millis,
) -> Result<crate::calls::CallReport, String> {
    use crate::calls::{CallEnd, CallReport};
    use outpost_protocol::{CallOutcome, Direction};
    let direction = match c.direction.as_str() {
        "USER_INITIATED" => Direction::Incoming,
        "BUSINESS_INITIATED" => Direction::Outgoing,
        other => {
            return Err(format!(
                "call {} has no direction Outpost knows ({other:?})",
                c.id
            ));
        }
    };
    let customer = c.customer().to_owned();
    let at = millis_of(&c.timestamp, now);
    let end = match c.event.as_str() {
        "connect" => None,
        "terminate" => {
            let seconds = |v: &Option<Value>| v.as_ref().and_then(integer).filter(|s| *s > 0);
            let start = seconds(&c.start_time).map(|s| s.saturating_mul(1_000));
            let ended = seconds(&c.end_time).map_or(at, |s| s.saturating_mul(1_000));
            let duration = seconds(&c.duration).map(|d| d.min(i64::from(u32::MAX)) as u32);
            let error = c.errors.first().or(errors.first());
            let picked_up = start.is_some() || duration.is_some();
            let outcome = if error.is_some() && !picked_up {
                CallOutcome::Failed
            } else if picked_up {
                CallOutcome::Answered
            } else {
                CallOutcome::Missed
            };
            let failure = error.filter(|_| outcome == CallOutcome::Failed).map(|e| {
                let f = error_failure(e);
                (f.text, Some(f.reason))
            });
            Some(CallEnd {
                ended_at: ended,
                answered_at: start
                    .or_else(|| duration.map(|d| ended.saturating_sub(i64::from(d) * 1_000))),
                duration_secs: duration.or_else(|| {
                    start.map(|s| {
                        (ended.saturating_sub(s) / 1_000).clamp(0, i64::from(u32::MAX)) as u32
                    })
                }),
                outcome,
                failure,
            })
        }
        other => {
            return Err(format!(
                "call {} has an event Outpost does not follow ({other:?})",
                c.id
            ));
        }
    };
    Ok(CallReport {
        customer,
        name: name.to_owned(),
        provider_id: c.id.clone(),
        direction,
        at,
        end,
    })
}

fn millis_of(timestamp: &str, now: Millis) -> Millis {
    timestamp
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|s| *s > 0)
        .map_or(now, |s| s.saturating_mul(1_000))
}

/// A status of the payload, as ours; `None` for statuses Outpost does not follow.
pub fn status_of(s: &WaStatus, now: Millis) -> Option<Status> {
    let status = match s.status.as_str() {
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" => MessageStatus::Read,
        "failed" => MessageStatus::Failed,
        _ => return None,
    };
    let failure = (status == MessageStatus::Failed).then(|| {
        let f = s.errors.first().map_or_else(
            || failure_of(0, "Failed", "WhatsApp did not say why."),
            error_failure,
        );
        (f.text, f.reason)
    });
    Some(Status {
        status,
        at: millis_of(&s.timestamp, now),
        failure,
    })
}

/// What a webhook delivery brings, checked and parsed (nothing stored yet).
#[derive(Debug, Default)]
pub struct Delivery {
    pub messages: Vec<(WaMessage, String)>,
    pub statuses: Vec<WaStatus>,
    /// Call events, each with the customer's profile name and the errors of its change.
    pub calls: Vec<(WaCall, String, Vec<WaError>)>,
}

/// Parses a webhook's body: a WhatsApp Business Account's `messages` changes for this number.
pub fn parse(body: &[u8], phone_number_id: &str) -> Result<Delivery, String> {
    let payload: Payload =
        serde_json::from_slice(body).map_err(|e| format!("not a WhatsApp webhook payload: {e}"))?;
    if payload.object != "whatsapp_business_account" {
        return Err(format!(
            "a webhook for {:?}, not a WhatsApp Business Account",
            payload.object
        ));
    }
    let mut delivery = Delivery::default();
    for entry in payload.entry {
        for change in entry.changes {
            if change.field == "calls" {
                let value: CallsValue = serde_json::from_value(change.value)
                    .map_err(|e| format!("a malformed `calls` change: {e}"))?;
                if let Some(m) = &value.metadata
                    && m.phone_number_id != phone_number_id
                {
                    tracing::warn!(
                        phone_number_id = %m.phone_number_id,
                        "WhatsApp: calls of another number of the app, left alone"
                    );
                    continue;
                }
                for c in value.calls {
                    let name = value
                        .contacts
                        .iter()
                        .find(|k| k.wa_id == c.customer())
                        .and_then(|k| k.profile.as_ref())
                        .map(|p| p.name.clone())
                        .unwrap_or_default();
                    delivery.calls.push((c, name, value.errors.clone()));
                }
                continue;
            }
            if change.field != "messages" {
                tracing::debug!(field = %change.field, "WhatsApp: a change Outpost does not follow");
                continue;
            }
            let value: MessagesValue = serde_json::from_value(change.value)
                .map_err(|e| format!("a malformed `messages` change: {e}"))?;
            if let Some(m) = &value.metadata
                && m.phone_number_id != phone_number_id
            {
                tracing::warn!(
                    phone_number_id = %m.phone_number_id,
                    "WhatsApp: a change for another number of the app, left alone"
                );
                continue;
            }
            for m in value.messages {
                let name = value
                    .contacts
                    .iter()
                    .find(|c| c.wa_id == m.from)
                    .and_then(|c| c.profile.as_ref())
                    .map(|p| p.name.clone())
                    .unwrap_or_default();
                delivery.messages.push((m, name));
            }
            delivery.statuses.extend(value.statuses);
        }
    }
    Ok(delivery)
}

/// A message's text, as the agent reads it, and the media it names (fetched next).
fn text_of(m: &WaMessage) -> (String, Option<&Media>) {
    let media = match m.kind.as_str() {
        "image" => m.image.as_ref(),
        "video" => m.video.as_ref(),
        "audio" => m.audio.as_ref(),
        "document" => m.document.as_ref(),
        "sticker" => m.sticker.as_ref(),
        _ => None,
    };
    if let Some(media) = media {
        return (media.caption.clone().unwrap_or_default(), Some(media));
    }
    let text = match m.kind.as_str() {
        "text" => m.text.as_ref().map(|t| t.body.clone()).unwrap_or_default(),
        "location" => m.location.as_ref().map_or_else(String::new, |l| {
            let mut lines = Vec::new();
            let place: Vec<&str> = [l.name.as_deref(), l.address.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.trim().is_empty())
                .collect();
            if !place.is_empty() {
                lines.push(format!("📍 {}", place.join(" — ")));
            }
            lines.push(format!(
                "https://www.openstreetmap.org/?mlat={:.6}&mlon={:.6}",
                l.latitude, l.longitude
            ));
            lines.join("\n")
        }),
        "contacts" => m
            .contacts
            .as_ref()
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        let mut parts = vec![
                            c.name
                                .as_ref()
                                .map(|n| n.formatted_name.clone())
                                .unwrap_or_default(),
                        ];
                        parts.extend(c.phones.iter().map(|p| p.phone.clone()));
                        parts.extend(c.emails.iter().map(|e| e.email.clone()));
                        let parts: Vec<String> =
                            parts.into_iter().filter(|p| !p.trim().is_empty()).collect();
                        format!("👤 {}", parts.join(" · "))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default(),
        "interactive" => m
            .interactive
            .as_ref()
            .and_then(|i| i.button_reply.as_ref().or(i.list_reply.as_ref()))
            .map(|c| match &c.description {
                Some(d) if !d.trim().is_empty() => format!("{}\n{}", c.title, d),
                _ => c.title.clone(),
            })
            .unwrap_or_default(),
        "button" => m
            .button
            .as_ref()
            .map(|b| b.text.clone())
            .unwrap_or_default(),
        "reaction" => m
            .reaction
            .as_ref()
            .and_then(|r| r.emoji.clone())
            .unwrap_or_default(),
        other => format!("[{other}]"),
    };
    (text, None)
}

/// Fetches a media's bytes: its address from `/{media-id}`, then the file (both with the
/// token). `Ok(None)` when it is larger than Outpost keeps.
async fn fetch_media(
    client: &reqwest::Client,
    s: &Settings,
    id: &str,
) -> Result<Result<(Vec<u8>, String), String>, String> {
    #[derive(Deserialize)]
    struct Info {
        url: String,
        #[serde(default)]
        mime_type: Option<String>,
        #[serde(default)]
        file_size: Option<Value>,
    }
    let max = outpost_protocol::limits::MAX_ATTACHMENT_BYTES;
    let url = format!("{}/{}", s.base(), urlencode(id));
    let r = client
        .get(&url)
        .bearer_auth(&s.access_token)
        .send()
        .await
        .map_err(|e| format!("WhatsApp's media {id} could not be asked for: {e}"))?;
    if r.status().is_server_error() || r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(format!("WhatsApp's media {id}: {}", r.status()));
    }
    if !r.status().is_success() {
        return Ok(Err(format!(
            "WhatsApp would not give media {id}: {}",
            r.status()
        )));
    }
    let info: Info = match r.json().await {
        Ok(i) => i,
        Err(e) => {
            return Ok(Err(format!(
                "WhatsApp's answer about media {id} is unreadable: {e}"
            )));
        }
    };
    let size = info.file_size.as_ref().and_then(|v| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    if size.is_some_and(|n| n > max) {
        return Ok(Err(format!("larger than {} MiB", max / 1024 / 1024)));
    }
    let r = client
        .get(&info.url)
        .bearer_auth(&s.access_token)
        .send()
        .await
        .map_err(|e| format!("WhatsApp's media {id} could not be fetched: {e}"))?;
    if r.status().is_server_error() || r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(format!("WhatsApp's media {id}: {}", r.status()));
    }
    if !r.status().is_success() {
        return Ok(Err(format!(
            "WhatsApp would not give media {id}: {}",
            r.status()
        )));
    }
    let mime = info.mime_type.unwrap_or_else(|| {
        r.headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned()
    });
    match super::body_capped(r, max).await {
        Ok(Some(bytes)) => Ok(Ok((bytes, mime))),
        Ok(None) => Ok(Err(format!("larger than {} MiB", max / 1024 / 1024))),
        Err(e) => Err(format!("WhatsApp's media {id} broke off: {e}")),
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Why a webhook delivery was not taken.
#[derive(Debug)]
pub enum HookError {
    /// Malformed: 400.
    Malformed(String),
    /// A file could not be fetched now: 503, so that Meta delivers it again.
    NotNow(String),
    Storage(StorageError),
}

/// Takes a webhook delivery whose signature was checked ([`signed`]): customers' messages
/// stored (their files fetched first), statuses applied, calls recorded when the channel's
/// admin switched calling on. Returns how many messages and statuses it brought.
pub async fn take<S: Storage>(
    app: &Arc<App<S>>,
    channel: uuid::Uuid,
    settings: &Settings,
    body: &[u8],
) -> Result<(usize, usize), HookError> {
    let delivery = parse(body, &settings.phone_number_id).map_err(HookError::Malformed)?;
    // Every message is read and its files fetched before anything is stored.
    let mut inbound = Vec::new();
    for (m, name) in &delivery.messages {
        if m.kind == "reaction"
            && m.reaction
                .as_ref()
                .is_none_or(|r| r.emoji.as_deref().unwrap_or("").is_empty())
        {
            // A reaction taken back: nothing to show.
            continue;
        }
        if app
            .knows(channel, &m.id)
            .await
            .map_err(HookError::Storage)?
        {
            continue;
        }
        let (mut text, media) = text_of(m);
        let mut attachments = Vec::new();
        if let Some(media) = media {
            match fetch_media(&app.providers.client, settings, &media.id).await {
                Ok(Ok((bytes, mime))) => {
                    let file = app
                        .receive_file(channel, &mime, bytes)
                        .await
                        .map_err(HookError::Storage)?;
                    attachments.push(InboundFile {
                        file,
                        name: media.filename.clone().unwrap_or_default(),
                    });
                }
                Ok(Err(why)) => {
                    tracing::warn!(id = %media.id, "WhatsApp: a customer's file not kept: {why}");
                    let note = format!("[{} not kept: {why}]", m.kind);
                    text = if text.is_empty() {
                        note
                    } else {
                        format!("{text}\n{note}")
                    };
                }
                Err(why) => return Err(HookError::NotNow(why)),
            }
        }
        let reply_to_provider = match (&m.reaction, &m.context) {
            (Some(r), _) if m.kind == "reaction" => Some(r.message_id.clone()),
            (_, Some(c)) => c.id.clone(),
            _ => None,
        };
        inbound.push(Inbound {
            from: m.from.clone(),
            name: name.clone(),
            text,
            attachments,
            provider_id: Some(m.id.clone()),
            reply_to_provider,
            ..Default::default()
        });
    }
    let mut stored = 0;
    for message in inbound {
        match app.receive(channel, message).await {
            Ok(_) => stored += 1,
            Err(crate::workspace::OpError::Storage(e)) => return Err(HookError::Storage(e)),
            Err(e) => {
                // The customer's message breaks a rule of ours (an address that is no phone…):
                // said in the log; Meta is not asked to send it again.
                tracing::warn!(channel = %channel, "WhatsApp: a customer's message refused: {e}");
            }
        }
    }
    let now = app.now();
    if !delivery.calls.is_empty() && !settings.calling_on() {
        tracing::info!(
            channel = %channel,
            calls = delivery.calls.len(),
            "WhatsApp: calls left unrecorded: calling is off for this channel"
        );
    } else {
        for (c, name, errors) in &delivery.calls {
            let report = match call_report(c, name, errors, now) {
                Ok(r) => r,
                Err(why) => {
                    tracing::warn!(channel = %channel, "WhatsApp: a call event left alone: {why}");
                    continue;
                }
            };
            match app.record_call(channel, report).await {
                Ok(_) => {}
                Err(crate::workspace::OpError::Storage(e)) => return Err(HookError::Storage(e)),
                Err(e) => tracing::warn!(channel = %channel, "WhatsApp: a call refused: {e}"),
            }
        }
    }
    let statuses: Vec<(String, Status)> = delivery
        .statuses
        .iter()
        .filter_map(|s| status_of(s, now).map(|st| (s.id.clone(), st)))
        .collect();
    let count = statuses.len();
    if !statuses.is_empty() {
        let storage = app.storage.clone();
        tokio::task::spawn_blocking(move || {
            storage.write(|tx| {
                for (id, s) in &statuses {
                    super::status_for(tx, channel, id, s, now)?;
                }
                Ok::<_, StorageError>(())
            })
        })
        .await
        .map_err(|e| HookError::Storage(StorageError::Invalid(format!("the write stopped: {e}"))))?
        .map_err(HookError::Storage)?;
        app.announce();
    }
    Ok((stored, count))
}

// --- Sending ---------------------------------------------------------------------------------

/// One WhatsApp message of an outgoing message.
enum Part<'a> {
    Text(&'a str),
    Template(&'a outpost_protocol::TemplateRef),
    Media {
        file: &'a File,
        kind: &'static str,
        caption: Option<&'a str>,
    },
}

/// The WhatsApp type a file is sent as, by its media type and size
/// (<https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types>);
/// a file WhatsApp takes only as a document goes as one.
fn media_kind(f: &File) -> Result<&'static str, Failure> {
    const MB: usize = 1024 * 1024;
    let mime = f.mime.as_str();
    let size = f.bytes.len();
    let kind = match mime {
        "image/jpeg" | "image/png" if size <= 5 * MB => "image",
        "video/mp4" | "video/3gpp" if size <= 16 * MB => "video",
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" if size <= 16 * MB => {
            "audio"
        }
        _ if size <= 100 * MB => "document",
        _ => {
            return Err(Failure::new(
                format!("{} is larger than WhatsApp's 100 MB.", f.name),
                "file_too_large",
                &[
                    ("provider", "WhatsApp"),
                    ("name", &f.name),
                    ("limit", "100 MB"),
                ],
            ));
        }
    };
    Ok(kind)
}

/// The parts of a message, in order: a template alone; a file with its text as caption; or the
/// text, then each file.
fn plan(o: &Outgoing) -> Result<Vec<Part<'_>>, Failure> {
    let m = &o.message;
    if let Some(t) = &m.template {
        return Ok(vec![Part::Template(t)]);
    }
    let text = m.text.trim();
    let mut kinds = Vec::with_capacity(o.files.len());
    for f in &o.files {
        kinds.push(media_kind(f)?);
    }
    if o.files.is_empty() {
        return Ok(vec![Part::Text(&m.text)]);
    }
    let captioned =
        o.files.len() == 1 && kinds[0] != "audio" && text.chars().count() <= MAX_CAPTION_CHARS;
    if captioned {
        return Ok(vec![Part::Media {
            file: &o.files[0],
            kind: kinds[0],
            caption: (!text.is_empty()).then_some(&m.text),
        }]);
    }
    let mut parts = Vec::new();
    if !text.is_empty() {
        parts.push(Part::Text(&m.text));
    }
    for (f, kind) in o.files.iter().zip(kinds) {
        parts.push(Part::Media {
            file: f,
            kind,
            caption: None,
        });
    }
    Ok(parts)
}

/// Sends a message, part after part from the first the provider has not taken yet.
pub async fn send(client: &reqwest::Client, o: &Outgoing) -> Report {
    let fail = Report::refused;
    let s = match Settings::of(&o.settings) {
        Ok(s) => s,
        Err(e) => return fail(Failure::settings(e, "WhatsApp")),
    };
    let parts = match plan(o) {
        Ok(p) => p,
        Err(f) => return fail(f),
    };
    let mut sent = Vec::new();
    for (i, part) in parts.iter().enumerate().skip(o.parts_done as usize) {
        let context = if i == 0 { o.reply_to.as_deref() } else { None };
        match send_part(client, &s, &o.to, part, context).await {
            Ok(id) => sent.push(id),
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
        outcome: Ok(MessageStatus::Wired),
    }
}

async fn send_part(
    client: &reqwest::Client,
    s: &Settings,
    to: &str,
    part: &Part<'_>,
    context: Option<&str>,
) -> Result<String, SendError> {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
    });
    match part {
        Part::Text(text) => {
            body["type"] = json!("text");
            body["text"] = json!({ "preview_url": false, "body": text });
        }
        Part::Template(t) => {
            let mut template = json!({ "name": t.name, "language": { "code": t.language } });
            if !t.params.is_empty() {
                let parameters: Vec<Value> = t
                    .params
                    .iter()
                    .map(|p| json!({ "type": "text", "text": p }))
                    .collect();
                template["components"] = json!([{ "type": "body", "parameters": parameters }]);
            }
            body["type"] = json!("template");
            body["template"] = template;
        }
        Part::Media {
            file,
            kind,
            caption,
        } => {
            let id = upload(client, s, file).await?;
            let mut media = json!({ "id": id });
            if let Some(c) = caption {
                media["caption"] = json!(c);
            }
            if *kind == "document" {
                media["filename"] = json!(file.name);
            }
            body["type"] = json!(kind);
            body[*kind] = media;
        }
    }
    if let Some(c) = context {
        body["context"] = json!({ "message_id": c });
    }
    let url = format!("{}/{}/messages", s.base(), urlencode(&s.phone_number_id));
    let r = client
        .post(url)
        .bearer_auth(&s.access_token)
        .json(&body)
        .send()
        .await
        .map_err(|e| super::request_error(&e, "WhatsApp"))?;
    let answer = answer(r).await?;
    answer
        .pointer("/messages/0/id")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| SendError::Uncertain("WhatsApp answered without the message's id".into()))
}

/// Uploads a file for a message; returns its media id. A refused upload sent nothing.
async fn upload(client: &reqwest::Client, s: &Settings, f: &File) -> Result<String, SendError> {
    let part = reqwest::multipart::Part::bytes(f.bytes.clone())
        .file_name(f.name.clone())
        .mime_str(&f.mime)
        .map_err(|e| {
            SendError::Permanent(Failure::new(
                format!("{} has a media type WhatsApp cannot take: {e}", f.name),
                "provider_error",
                &[
                    ("provider", "WhatsApp"),
                    ("code", "mime"),
                    ("detail", &f.mime),
                ],
            ))
        })?;
    let form = reqwest::multipart::Form::new()
        .text("messaging_product", "whatsapp")
        .text("type", f.mime.clone())
        .part("file", part);
    let url = format!("{}/{}/media", s.base(), urlencode(&s.phone_number_id));
    let r = client
        .post(url)
        .bearer_auth(&s.access_token)
        .multipart(form)
        .send()
        .await
        .map_err(|e| match super::request_error(&e, "WhatsApp") {
            // An upload that got no answer sent no message: it is safe to try again.
            SendError::Uncertain(why) => SendError::Retry {
                after: None,
                why,
                whole_channel: false,
            },
            other => other,
        })?;
    let answer = answer(r).await.map_err(|e| match e {
        SendError::Uncertain(why) => SendError::Retry {
            after: None,
            why,
            whole_channel: false,
        },
        other => other,
    })?;
    answer
        .get("id")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| SendError::Retry {
            after: None,
            why: "WhatsApp took the file without giving its id".into(),
            whole_channel: false,
        })
}

/// A Graph API answer: its JSON when it succeeded, else what its error means.
async fn answer(r: reqwest::Response) -> Result<Value, SendError> {
    let status = r.status();
    let after = super::retry_after(r.headers());
    let bytes = r.bytes().await.map_err(|e| {
        if status.is_success() {
            SendError::Uncertain(format!("WhatsApp's answer broke off: {e}"))
        } else {
            SendError::Retry {
                after,
                why: format!("WhatsApp answered {status} and broke off"),
                whole_channel: false,
            }
        }
    })?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| SendError::Uncertain(format!("WhatsApp's answer is unreadable: {e}")));
    }
    #[derive(Deserialize)]
    struct ErrorBody {
        error: GraphError,
    }
    #[derive(Deserialize)]
    struct GraphError {
        #[serde(default)]
        message: String,
        #[serde(default)]
        code: i64,
        #[serde(default)]
        error_data: Option<ErrorData>,
    }
    let parsed: Option<GraphError> = serde_json::from_slice::<ErrorBody>(&bytes)
        .ok()
        .map(|b| b.error);
    let Some(e) = parsed else {
        // No Graph error: a proxy's or the provider's outage.
        return Err(if status.is_server_error() || status.as_u16() == 429 {
            SendError::Retry {
                after,
                why: format!("WhatsApp answered {status}"),
                whole_channel: true,
            }
        } else {
            SendError::Permanent(Failure::new(
                format!("WhatsApp answered {status}"),
                "provider_error",
                &[
                    ("provider", "WhatsApp"),
                    ("code", status.as_str()),
                    ("detail", status.canonical_reason().unwrap_or("")),
                ],
            ))
        });
    };
    // "(#131030) Recipient phone number not in allowed list": the title without its code.
    let title = e
        .message
        .split_once(") ")
        .filter(|(code, _)| code.starts_with("(#"))
        .map_or(e.message.as_str(), |(_, rest)| rest);
    let details = e
        .error_data
        .as_ref()
        .and_then(|d| d.details.as_deref())
        .unwrap_or("");
    if TRY_AGAIN.contains(&e.code) || status.is_server_error() || status.as_u16() == 429 {
        return Err(SendError::Retry {
            after,
            why: format!("(#{}) {}", e.code, e.message),
            whole_channel: WHOLE_NUMBER.contains(&e.code) || status.as_u16() == 429,
        });
    }
    Err(SendError::Permanent(failure_of(e.code, title, details)))
}

// --- Templates -------------------------------------------------------------------------------

/// The business account's approved templates, as the composer offers them: those whose only
/// variables are in their body (a header or button that needs a value is not offered).
pub async fn fetch_templates(
    client: &reqwest::Client,
    s: &Settings,
) -> Result<Vec<Template>, String> {
    let mut url = Some(format!(
        "{}/{}/message_templates?status=APPROVED&limit=100&fields=name,language,status,components",
        s.base(),
        urlencode(&s.business_account_id)
    ));
    let mut templates = Vec::new();
    let mut pages = 0;
    while let Some(u) = url.take() {
        pages += 1;
        if pages > 20 {
            break;
        }
        let r = client
            .get(&u)
            .bearer_auth(&s.access_token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let page: Value = r.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            let msg = page
                .pointer("/error/message")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            return Err(format!("WhatsApp answered {status}: {msg}"));
        }
        for t in page
            .get("data")
            .and_then(|d| d.as_array())
            .into_iter()
            .flatten()
        {
            if t.get("status")
                .and_then(|v| v.as_str())
                .is_some_and(|s| s != "APPROVED")
            {
                continue;
            }
            let (Some(name), Some(language)) = (
                t.get("name").and_then(|v| v.as_str()),
                t.get("language").and_then(|v| v.as_str()),
            ) else {
                continue;
            };
            let mut body = None;
            let mut offered = true;
            for c in t
                .get("components")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
            {
                let kind = c.get("type").and_then(|v| v.as_str()).unwrap_or("");
                let text = c.get("text").and_then(|v| v.as_str()).unwrap_or("");
                match kind {
                    "BODY" => body = Some(text.to_owned()),
                    "HEADER" => {
                        let format = c.get("format").and_then(|v| v.as_str()).unwrap_or("TEXT");
                        if format != "TEXT" || text.contains("{{") {
                            offered = false;
                        }
                    }
                    "BUTTONS" if c.to_string().contains("{{") => offered = false,
                    _ => {}
                }
            }
            match (offered, body) {
                (true, Some(body)) => templates.push(Template {
                    name: name.to_owned(),
                    language: language.to_owned(),
                    body,
                }),
                _ => tracing::info!(
                    template = name,
                    "WhatsApp: a template that needs values outside its body is not offered"
                ),
            }
        }
        url = page
            .pointer("/paging/next")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
    }
    templates.sort_by(|a, b| (&a.name, &a.language).cmp(&(&b.name, &b.language)));
    Ok(templates)
}

/// Fetches a WhatsApp channel's approved templates into its entity (every agent's composer
/// offers them). Returns how many it has.
pub async fn refresh_templates<S: Storage>(
    app: &Arc<App<S>>,
    channel: uuid::Uuid,
) -> Result<usize, String> {
    let storage = app.storage.clone();
    let settings = tokio::task::spawn_blocking(move || storage.channel_settings(channel))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
        .ok_or("no such channel")?;
    let s = Settings::of(&settings)?;
    let templates = fetch_templates(&app.providers.client, &s).await?;
    let count = templates.len();
    let storage = app.storage.clone();
    let changed = tokio::task::spawn_blocking(move || {
        storage.write(|tx| {
            use crate::storage::Tx;
            let r = EntityRef::Channel(outpost_protocol::ChannelId(channel));
            let Some(Entity::Channel(mut c)) = tx.get(r)? else {
                return Ok::<_, StorageError>(false);
            };
            if c.templates == templates {
                return Ok(false);
            }
            c.templates = templates;
            tx.put(&Entity::Channel(c))?;
            Ok(true)
        })
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    if changed {
        app.announce();
        tracing::info!(%channel, count, "WhatsApp templates fetched");
    }
    Ok(count)
}
