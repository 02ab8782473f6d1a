//! The real channels' providers: WhatsApp (Cloud API), Telegram (Bot API) and email. Each is
//! an adapter with the same four duties:
//!
//! - **inbound**: its webhook (or poll) is checked first (a signature, a secret), then parsed;
//!   each customer message is stored once whatever the number of deliveries (its id derives from
//!   the provider's, see [`crate::workspace::provider_message_id`]); the files it names are
//!   fetched into attachments before the message is stored, so nothing is half-stored;
//! - **outbound**: [`run`] hands queued messages to their channel's provider, one at a time per
//!   conversation (order kept), at most [`PER_CHANNEL`] at once per channel. A refusal for now
//!   (429, 5xx, the provider unreachable) waits and tries again (its `Retry-After`, else an
//!   exponential backoff; a rate limit pauses the whole channel and halves how many requests
//!   it may have out, which grows back by one per window of successes: the queue settles at
//!   the provider's pace instead of bursting into its limit again); a permanent one fails the
//!   message with the provider's own code and words, and a reason the interface says in the
//!   agent's language. A request whose answer never came (a timeout after it left, the server
//!   stopped mid-request) is not sent again: the message fails saying it may have left;
//! - **statuses**: only what the provider reports moves a message (forward only; a status that
//!   overtakes the send's answer is kept until it can apply);
//! - **limits**: each provider's text and file limits, said before a message is sent.
//!
//! Parts: a message with a text and two files is three provider messages; the delivery counts
//! the parts the provider took, so a retry goes on from the next part and none leaves twice.

pub mod email;
pub mod telegram;
pub mod whatsapp;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use outpost_protocol::{
    Channel, ChannelKind, ConversationId, Direction, Entity, EntityRef, Message, MessageId,
    MessageStatus, Millis, Reason, StatusStamp,
};

use crate::App;
use crate::storage::{Storage, StorageError, Tx};

/// Requests out at once per channel.
pub const PER_CHANNEL: usize = 16;
/// How long a message keeps trying its provider before it fails.
pub const GIVE_UP_AFTER: Millis = 24 * 60 * 60 * 1000;
/// The longest wait between two attempts.
const MAX_BACKOFF: Millis = 5 * 60 * 1000;
/// A request's limit (connecting included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP client the providers' adapters share: the platform's root certificates, and those
/// of `OUTPOST_PROVIDER_CA_FILE` (a private provider, a test's).
pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls_config())
        .connect_timeout(Duration::from_secs(10))
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("outpost-server/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("no HTTP client for the providers: {e}"))
}

/// TLS for the providers' connections (HTTP, IMAP, SMTP).
pub fn tls_config() -> rustls::ClientConfig {
    tls_config_with(None)
}

/// The certificates in PEM text (others, and what is not a certificate, left out).
pub fn pem_certificates(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    rustls::pki_types::pem::PemObject::pem_slice_iter(pem)
        .filter_map(|c: Result<rustls::pki_types::CertificateDer<'static>, _>| c.ok())
        .collect()
}

/// [`tls_config`], trusting besides the platform's roots and `OUTPOST_PROVIDER_CA_FILE` the
/// certificates of `extra_pem` (a channel's own CA).
pub fn tls_config_with(extra_pem: Option<&str>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::warn!("a platform root certificate could not be read: {e}");
    }
    roots.add_parsable_certificates(native.certs);
    if let Some(file) = std::env::var_os("OUTPOST_PROVIDER_CA_FILE") {
        match std::fs::read(&file) {
            Ok(pem) => {
                let (added, _) = roots.add_parsable_certificates(pem_certificates(&pem));
                tracing::info!(file = ?file, added, "providers: trusting an extra CA");
            }
            Err(e) => tracing::error!(file = ?file, "providers: the CA file cannot be read: {e}"),
        }
    }
    if let Some(pem) = extra_pem {
        roots.add_parsable_certificates(pem_certificates(pem.as_bytes()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
        Err(e) => {
            tracing::error!("ring offers no TLS versions ({e}); using the defaults");
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        }
    }
}

/// Why a message failed at its provider: the provider's own code and words (kept in
/// `Message::failure`), and the reason the interface says (`reasons.<key>` in i18n).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub text: String,
    pub reason: Reason,
}

impl Failure {
    /// The channel's settings cannot be read (`why`): an admin must finish them.
    pub fn settings(why: String, provider: &str) -> Failure {
        Failure::new(why, "channel_settings", &[("provider", provider)])
    }

    /// A failure with a reason of ours (`key`) and its values.
    pub fn new(text: impl Into<String>, key: &str, params: &[(&str, &str)]) -> Failure {
        let mut reason = Reason::new(key);
        for (k, v) in params {
            reason.params.insert((*k).to_owned(), (*v).to_owned());
        }
        Failure {
            text: text.into(),
            reason,
        }
    }
}

/// What a provider said about one request to send.
#[derive(Clone, Debug)]
pub enum SendError {
    /// Not now: try again (after `after` when the provider said; a rate limit pauses the whole
    /// channel).
    Retry {
        after: Option<Duration>,
        why: String,
        whole_channel: bool,
    },
    /// Never: the message fails.
    Permanent(Failure),
    /// The request left and no answer came: the message may have been sent. Not sent again.
    Uncertain(String),
}

/// One send's report: the parts the provider took in this attempt (their ids), and how it ended:
/// the status the message reached, or why not.
pub struct Report {
    pub sent: Vec<String>,
    pub outcome: Result<MessageStatus, SendError>,
}

impl Report {
    /// Nothing sent, and never will be: the message fails.
    pub fn refused(f: Failure) -> Report {
        Report {
            sent: Vec::new(),
            outcome: Err(SendError::Permanent(f)),
        }
    }
}

/// A file of an outgoing message, with its bytes.
#[derive(Clone, Debug)]
pub struct File {
    pub name: String,
    pub mime: String,
    pub kind: outpost_protocol::AttachmentKind,
    pub bytes: Vec<u8>,
}

/// An outgoing message, ready for its provider.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub message: Message,
    /// The customer's address on the channel (a phone, a chat id, an email address).
    pub to: String,
    /// The provider's id of the message it replies to, if it names one that left or came here.
    pub reply_to: Option<String>,
    pub files: Vec<File>,
    /// Parts the provider already took (a retry goes on from the next).
    pub parts_done: u32,
    /// Email: the conversation's subject (its latest), and the provider ids of its messages,
    /// oldest first (the thread's `References`).
    pub subject: Option<String>,
    pub references: Vec<String>,
    /// The channel's settings (credentials included).
    pub settings: serde_json::Value,
}

/// The providers' shared state: the HTTP client, channels paused by a rate limit, and the
/// conversations with a request out.
pub struct Hub {
    pub client: reqwest::Client,
    paused: Mutex<HashMap<uuid::Uuid, Millis>>,
    busy: Mutex<HashSet<ConversationId>>,
    in_flight: Mutex<HashMap<uuid::Uuid, usize>>,
    /// Requests a channel may have out now (AIMD: halved by a rate limit, grown back by one
    /// per window of successes), at most [`PER_CHANNEL`].
    window: Mutex<HashMap<uuid::Uuid, f64>>,
}

impl Hub {
    pub fn new() -> Result<Hub, String> {
        Ok(Hub {
            client: client()?,
            paused: Default::default(),
            busy: Default::default(),
            in_flight: Default::default(),
            window: Default::default(),
        })
    }

    /// How many requests the channel may have out now.
    fn window_of(&self, channel: uuid::Uuid) -> usize {
        let w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        w.get(&channel)
            .map_or(PER_CHANNEL, |w| (*w as usize).clamp(1, PER_CHANNEL))
    }

    /// A request went through (the window grows by one per window's worth of successes), or
    /// met a rate limit (it halves).
    fn settle(&self, channel: uuid::Uuid, limited: bool) {
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let now = w.entry(channel).or_insert(PER_CHANNEL as f64);
        *now = if limited {
            (*now / 2.0).max(1.0)
        } else {
            (*now + 1.0 / now.max(1.0)).min(PER_CHANNEL as f64)
        };
    }

    fn pause(&self, channel: uuid::Uuid, until: Millis) {
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        let at = paused.entry(channel).or_insert(until);
        *at = (*at).max(until);
    }
}

/// A wait the provider asked for in a `Retry-After` header (seconds; an HTTP date is not
/// followed: the backoff applies).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(3_600)))
}

/// Whether a request error means the request never left (safe to send again) or may have.
pub fn request_error(e: &reqwest::Error, provider: &str) -> SendError {
    if e.is_connect() || e.is_builder() {
        SendError::Retry {
            after: None,
            why: format!("{provider} cannot be reached: {e}"),
            whole_channel: true,
        }
    } else {
        SendError::Uncertain(format!("{provider} did not answer: {e}"))
    }
}

/// Reads a response's body, at most `max` bytes: `None` when it is larger.
pub async fn body_capped(
    mut response: reqwest::Response,
    max: u64,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|n| n > max) {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() as u64 + chunk.len() as u64 > max {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

/// A status a provider reported about one of our messages.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Status {
    pub status: MessageStatus,
    /// When the provider says it happened.
    pub at: Millis,
    /// Failed: why.
    pub failure: Option<(String, Reason)>,
}

fn rank(s: MessageStatus) -> u8 {
    match s {
        MessageStatus::Received | MessageStatus::Scheduled => 0,
        MessageStatus::Pending => 1,
        MessageStatus::Wired => 2,
        MessageStatus::Sent => 3,
        MessageStatus::Delivered => 4,
        MessageStatus::Read => 5,
        MessageStatus::Failed => 6,
    }
}

/// Applies a provider's status to a message: forward only (a late "delivered" after "read", a
/// duplicate, says nothing new); a failure only before the message was delivered. Returns
/// whether the message changed.
pub fn apply_status<T: Tx>(tx: &mut T, id: MessageId, s: &Status) -> Result<bool, StorageError> {
    let Some(Entity::Message(mut m)) = tx.get(EntityRef::Message(id))? else {
        return Ok(false);
    };
    if m.direction != Direction::Outgoing || m.status == MessageStatus::Failed {
        return Ok(false);
    }
    let moves = match s.status {
        MessageStatus::Failed => rank(m.status) < rank(MessageStatus::Delivered),
        other => rank(other) > rank(m.status) && rank(other) >= rank(MessageStatus::Sent),
    };
    if !moves {
        return Ok(false);
    }
    if let Some((text, reason)) = &s.failure {
        m.failure = Some(text.clone());
        m.failure_reason = Some(reason.clone());
    }
    let last = m.history.last().map_or(m.created_at, |h| h.at);
    m.status = s.status;
    m.history.push(StatusStamp {
        status: s.status,
        at: s.at.max(last),
    });
    tx.put(&Entity::Message(m))?;
    Ok(true)
}

/// A status about the message the provider calls `provider_id` on `channel`: applied, or kept
/// until the send's answer names it.
pub fn status_for<T: Tx>(
    tx: &mut T,
    channel: uuid::Uuid,
    provider_id: &str,
    s: &Status,
    now: Millis,
) -> Result<bool, StorageError> {
    match tx.provider_message(channel, provider_id)? {
        Some(id) => apply_status(tx, id, s),
        None => {
            tx.keep_early_status(channel, provider_id, &serde_json::to_string(s)?, now)?;
            Ok(false)
        }
    }
}

/// The reason a message that waited too long for its provider fails with.
fn gave_up(why: &str, provider: &str) -> Failure {
    Failure::new(
        format!("{provider} could not be reached for a day: {why}"),
        "provider_unreachable",
        &[("provider", provider)],
    )
}

/// The provider's name, as the interface says it.
pub fn provider_name(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Whatsapp => "WhatsApp",
        ChannelKind::Telegram => "Telegram",
        ChannelKind::Email => "Email",
        ChannelKind::Sms => "SMS",
        ChannelKind::Instagram => "Instagram",
        ChannelKind::Messenger => "Messenger",
        ChannelKind::WebChat => "Web chat",
    }
}

/// Fails the messages whose request was out when the server process that made it stopped (this
/// one's last run, or another process sharing the store that is gone): no answer came, so they
/// may have left; they are not sent again (an agent retries once they checked).
pub fn recover<S: Storage>(
    storage: &S,
    process: uuid::Uuid,
    starting: bool,
    now: Millis,
) -> Result<usize, StorageError> {
    let mut failed = 0;
    for (message, channel) in storage.deliveries_sending(process, starting)? {
        storage.write(|tx| {
            tx.end_delivery(message)?;
            let Some(Entity::Message(m)) = tx.get(EntityRef::Message(message))? else {
                return Ok::<_, StorageError>(());
            };
            if m.status != MessageStatus::Pending {
                return Ok(());
            }
            let provider = provider_name(m.channel);
            let f = Failure::new(
                format!("The server stopped while handing this message to {provider}: it may have been sent."),
                "provider_uncertain",
                &[("provider", provider)],
            );
            fail(tx, m, f, now)?;
            failed += 1;
            tracing::warn!(%message, %channel, "a send's answer never came: failed, saying it may have left");
            Ok(())
        })?;
    }
    Ok(failed)
}

fn fail<T: Tx>(tx: &mut T, mut m: Message, f: Failure, now: Millis) -> Result<(), StorageError> {
    m.status = MessageStatus::Failed;
    m.failure = Some(f.text);
    m.failure_reason = Some(f.reason);
    let last = m.history.last().map_or(m.created_at, |h| h.at);
    m.history.push(StatusStamp {
        status: MessageStatus::Failed,
        at: now.max(last),
    });
    tx.put(&Entity::Message(m))?;
    Ok(())
}

/// How often a process looks for requests left out by another that died.
const RECOVER_EVERY: Duration = Duration::from_secs(5);

/// Hands queued messages to their providers until the server stops; requests out then finish
/// (up to ten seconds).
pub async fn run<S: Storage>(app: Arc<App<S>>) {
    {
        let (storage, now) = (app.storage.clone(), app.now());
        let process = app.process;
        match tokio::task::spawn_blocking(move || recover(&*storage, process, true, now)).await {
            Ok(Ok(n)) if n > 0 => app.announce(),
            Ok(Err(e)) => tracing::error!(error = %e, "unanswered sends could not be settled"),
            _ => {}
        }
    }
    // Another process sharing the store may die with requests out: looked at now and then.
    let mut recovered_at = std::time::Instant::now();
    let mut seq = app.seq.subscribe();
    let mut closing = app.closing.subscribe();
    let mut tasks = tokio::task::JoinSet::new();
    let mut templates_at: HashMap<uuid::Uuid, std::time::Instant> = HashMap::new();
    let mut listeners = Listeners::default();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = seq.changed() => {}
            Some(_) = tasks.join_next() => {}
            _ = closing.changed() => {}
        }
        if *closing.borrow() {
            break;
        }
        if recovered_at.elapsed() >= RECOVER_EVERY {
            recovered_at = std::time::Instant::now();
            let (storage, process, now) = (app.storage.clone(), app.process, app.now());
            match tokio::task::spawn_blocking(move || recover(&*storage, process, false, now)).await
            {
                Ok(Ok(n)) if n > 0 => app.announce(),
                Ok(Err(e)) => tracing::error!(error = %e, "unanswered sends could not be settled"),
                _ => {}
            }
        }
        match round(&app, &mut tasks).await {
            Ok(channels) => {
                refresh_templates(&app, &channels, &mut templates_at);
                listeners.keep_up(&app, &channels).await;
            }
            Err(e) => tracing::error!(error = %e, "the providers' queue could not be read"),
        }
    }
    listeners.stop();
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(10), drain)
        .await
        .is_err()
    {
        tracing::warn!("requests to providers were still out when the server stopped");
    }
}

/// How each Telegram channel gets its updates: a poller running, or its webhook set at
/// Telegram; followed as channels are made, changed, disabled.
#[derive(Default)]
struct Listeners {
    /// Per channel: the settings it was set up with (token, mode, base), the poller if it
    /// polls, and when its webhook was last set (or tried).
    by_channel: HashMap<uuid::Uuid, Listener>,
    /// Paced by the machine's clock (the server's may be a test's, standing still).
    looked_at: Option<std::time::Instant>,
}

struct Listener {
    fingerprint: String,
    poller: Option<tokio::task::JoinHandle<()>>,
    webhook: Option<(std::time::Instant, bool)>,
}

impl Listeners {
    async fn keep_up<S: Storage>(&mut self, app: &Arc<App<S>>, channels: &[Channel]) {
        let now = std::time::Instant::now();
        if self
            .looked_at
            .is_some_and(|at| now - at < Duration::from_secs(2))
        {
            return;
        }
        self.looked_at = Some(now);
        let live: Vec<(uuid::Uuid, ChannelKind)> = channels
            .iter()
            .filter(|c| matches!(c.kind, ChannelKind::Telegram | ChannelKind::Email) && has_real(c))
            .map(|c| (c.id.0, c.kind))
            .collect();
        self.by_channel.retain(|id, l| {
            let keep = live.iter().any(|(c, _)| c == id);
            if !keep && let Some(p) = l.poller.take() {
                p.abort();
            }
            keep
        });
        for (id, kind) in live {
            let storage = app.storage.clone();
            let settings =
                match tokio::task::spawn_blocking(move || storage.channel_settings(id)).await {
                    Ok(Ok(Some(v))) => v,
                    _ => continue,
                };
            if kind == ChannelKind::Email {
                self.keep_email(app, id, &settings);
                continue;
            }
            let s = match telegram::Settings::of(&settings) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(channel = %id, "Telegram: {e}");
                    continue;
                }
            };
            let fingerprint = format!("{}|{:?}|{:?}", s.bot_token, s.mode, s.api_base);
            let same = self
                .by_channel
                .get(&id)
                .is_some_and(|l| l.fingerprint == fingerprint);
            if !same {
                if let Some(mut old) = self.by_channel.remove(&id)
                    && let Some(p) = old.poller.take()
                {
                    p.abort();
                }
                let poller = (s.mode == telegram::Mode::Polling)
                    .then(|| tokio::spawn(telegram::poll(app.clone(), id, s.clone())));
                self.by_channel.insert(
                    id,
                    Listener {
                        fingerprint,
                        poller,
                        webhook: None,
                    },
                );
            }
            let Some(l) = self.by_channel.get_mut(&id) else {
                continue;
            };
            if s.mode != telegram::Mode::Webhook {
                continue;
            }
            let due = match l.webhook {
                None => true,
                Some((_, true)) => false,
                Some((at, false)) => now - at > Duration::from_secs(60),
            };
            if !due {
                continue;
            }
            let Some(base) = app.public_url.clone() else {
                if l.webhook.is_none() {
                    tracing::error!(channel = %id, "Telegram: webhook mode needs the server's public_url (or set the channel to polling)");
                }
                l.webhook = Some((now, false));
                continue;
            };
            let ok = match telegram::set_webhook(app, id, &base).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(channel = %id, "Telegram: the webhook could not be set: {e}");
                    false
                }
            };
            l.webhook = Some((now, ok));
        }
    }

    /// An email channel's mailbox is watched with its current settings.
    fn keep_email<S: Storage>(
        &mut self,
        app: &Arc<App<S>>,
        id: uuid::Uuid,
        settings: &serde_json::Value,
    ) {
        let fingerprint = settings.to_string();
        if self
            .by_channel
            .get(&id)
            .is_some_and(|l| l.fingerprint == fingerprint)
        {
            return;
        }
        if let Some(mut old) = self.by_channel.remove(&id)
            && let Some(p) = old.poller.take()
        {
            p.abort();
        }
        let s = match email::Settings::of(settings) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(channel = %id, "email: {e}");
                return;
            }
        };
        let poller = Some(tokio::spawn(email::watch(app.clone(), id, s)));
        self.by_channel.insert(
            id,
            Listener {
                fingerprint,
                poller,
                webhook: None,
            },
        );
    }

    fn stop(&mut self) {
        for l in self.by_channel.values_mut() {
            if let Some(p) = l.poller.take() {
                p.abort();
            }
        }
    }
}

/// An enabled channel with a real provider.
fn has_real(c: &Channel) -> bool {
    crate::channels::has_provider(c) && !c.disabled
}

/// WhatsApp channels' approved templates, fetched when the channel is first seen and hourly.
fn refresh_templates<S: Storage>(
    app: &Arc<App<S>>,
    channels: &[Channel],
    fetched_at: &mut HashMap<uuid::Uuid, std::time::Instant>,
) {
    let now = std::time::Instant::now();
    for c in channels {
        if c.kind != ChannelKind::Whatsapp || c.disabled || c.test {
            continue;
        }
        if fetched_at
            .get(&c.id.0)
            .is_some_and(|at| now - *at < Duration::from_secs(60 * 60))
        {
            continue;
        }
        fetched_at.insert(c.id.0, now);
        let (app, id) = (app.clone(), c.id.0);
        tokio::spawn(async move {
            if let Err(e) = whatsapp::refresh_templates(&app, id).await {
                tracing::warn!(channel = %id, "WhatsApp templates not fetched: {e}");
            }
        });
    }
}

/// One look at the queue: claims what may go now and starts its requests. Returns the channels.
async fn round<S: Storage>(
    app: &Arc<App<S>>,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<Vec<Channel>, StorageError> {
    let storage = app.storage.clone();
    let channels = {
        let s = storage.clone();
        tokio::task::spawn_blocking(move || crate::channels::all(&*s))
            .await
            .map_err(|e| StorageError::Invalid(format!("the read stopped: {e}")))??
    };
    let kinds: Vec<ChannelKind> = channels
        .iter()
        .filter(|c| crate::channels::has_provider(c) && !c.disabled)
        .map(|c| c.kind)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if kinds.is_empty() {
        return Ok(channels);
    }
    let (now, process) = (app.now(), app.process);
    let hub = &app.providers;
    let busy: HashSet<ConversationId> = hub.busy.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let in_flight = hub
        .in_flight
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let paused = hub.paused.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let windows: HashMap<uuid::Uuid, usize> = channels
        .iter()
        .map(|c| (c.id.0, hub.window_of(c.id.0)))
        .collect();
    let chosen = {
        let (s, channels) = (storage.clone(), channels.clone());
        tokio::task::spawn_blocking(move || {
            let limits = Limits {
                process,
                busy: &busy,
                paused: &paused,
                windows: &windows,
            };
            choose(&*s, &channels, &kinds, &limits, in_flight, now)
        })
        .await
        .map_err(|e| StorageError::Invalid(format!("the read stopped: {e}")))??
    };
    for (message, conversation, channel, attempt, parts) in chosen {
        hub.busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(conversation);
        *hub.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(channel.id.0)
            .or_default() += 1;
        let app = app.clone();
        tasks.spawn(async move {
            let id = channel.id.0;
            send_one(&app, channel, message, attempt, parts).await;
            let hub = &app.providers;
            hub.busy
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&conversation);
            if let Some(n) = hub
                .in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_mut(&id)
            {
                *n = n.saturating_sub(1);
            }
        });
    }
    Ok(channels)
}

type Chosen = (MessageId, ConversationId, Channel, u32, u32);

/// What holds messages back: conversations with a request out, channels paused by a rate
/// limit, and each channel's window of requests out.
struct Limits<'a> {
    /// This process: its claims are its own.
    process: uuid::Uuid,
    busy: &'a HashSet<ConversationId>,
    paused: &'a HashMap<uuid::Uuid, Millis>,
    windows: &'a HashMap<uuid::Uuid, usize>,
}

/// The queued messages that go now: each conversation's first (order kept), not waiting for a
/// retry, its channel not paused and under its window of requests out; each claimed.
fn choose<S: Storage>(
    storage: &S,
    channels: &[Channel],
    kinds: &[ChannelKind],
    limits: &Limits,
    mut in_flight: HashMap<uuid::Uuid, usize>,
    now: Millis,
) -> Result<Vec<Chosen>, StorageError> {
    let Limits {
        process,
        busy,
        paused,
        windows,
    } = limits;
    let mut seen: HashSet<ConversationId> = HashSet::new();
    let mut chosen = Vec::new();
    for p in storage.pending_deliveries(kinds, 2_000)? {
        // Only a conversation's first queued message may go: the next waits for it.
        if !seen.insert(p.conversation) || busy.contains(&p.conversation) || p.sending {
            continue;
        }
        if p.next_at.is_some_and(|at| at > now) {
            continue;
        }
        let Some(Entity::Message(m)) = storage.get(EntityRef::Message(p.message))? else {
            continue;
        };
        let Some(channel) = crate::channels::route_of(m.channel_id, m.channel, channels) else {
            continue;
        };
        if !crate::channels::has_provider(channel)
            || paused.get(&channel.id.0).is_some_and(|until| *until > now)
        {
            continue;
        }
        let out = in_flight.entry(channel.id.0).or_default();
        if *out >= windows.get(&channel.id.0).copied().unwrap_or(PER_CHANNEL) {
            continue;
        }
        if let Some((attempt, parts)) = storage.claim_delivery(m.id, channel.id.0, now, *process)? {
            *out += 1;
            chosen.push((m.id, m.conversation_id, channel.clone(), attempt, parts));
        }
    }
    Ok(chosen)
}

/// Everything a provider needs to send a message: its recipient, what it replies to, its files.
fn prepare<S: Storage>(
    storage: &S,
    channel: &Channel,
    id: MessageId,
    parts_done: u32,
) -> Result<Option<Outgoing>, StorageError> {
    let Some(Entity::Message(m)) = storage.get(EntityRef::Message(id))? else {
        return Ok(None);
    };
    let Some(Entity::Conversation(c)) = storage.get(EntityRef::Conversation(m.conversation_id))?
    else {
        return Ok(None);
    };
    let Some(Entity::Contact(k)) = storage.get(EntityRef::Contact(c.contact_id))? else {
        return Ok(None);
    };
    let to = crate::channels::address(&k, &m);
    let reply_to = match m.reply_to {
        Some(r) => storage
            .provider_id_of(r)?
            .filter(|(ch, _)| *ch == channel.id.0)
            .map(|(_, p)| p),
        None => None,
    };
    let mut files = Vec::with_capacity(m.attachments.len());
    for a in &m.attachments {
        let Some(upload) = a.upload_id() else {
            continue;
        };
        let Some((_, bytes)) = storage.attachment(upload)? else {
            continue;
        };
        files.push(File {
            name: a.name.clone(),
            mime: a.mime.clone(),
            kind: a.kind,
            bytes,
        });
    }
    let settings = storage
        .channel_settings(channel.id.0)?
        .unwrap_or(serde_json::Value::Null);
    let (mut subject, mut references) = (None, Vec::new());
    if channel.kind == ChannelKind::Email {
        let ids = storage.messages_of(m.conversation_id)?;
        let mut thread = Vec::new();
        for id in ids {
            if let Some(Entity::Message(t)) = storage.get(EntityRef::Message(id))?
                && t.id != m.id
            {
                thread.push(t);
            }
        }
        thread.sort_by_key(|t| t.created_at);
        subject = thread.iter().rev().find_map(|t| t.subject.clone());
        for t in &thread {
            if let Some((ch, p)) = storage.provider_id_of(t.id)?
                && ch == channel.id.0
            {
                references.push(p);
            }
        }
        let keep = references.len().saturating_sub(10);
        references.drain(..keep);
    }
    Ok(Some(Outgoing {
        message: m,
        to,
        reply_to,
        files,
        parts_done,
        settings,
        subject,
        references,
    }))
}

/// One attempt at sending one message, and what it leads to.
async fn send_one<S: Storage>(
    app: &Arc<App<S>>,
    channel: Channel,
    id: MessageId,
    attempt: u32,
    parts_done: u32,
) {
    let prepared = {
        let (s, c) = (app.storage.clone(), channel.clone());
        tokio::task::spawn_blocking(move || prepare(&*s, &c, id, parts_done)).await
    };
    let outgoing = match prepared {
        Ok(Ok(Some(o))) => o,
        Ok(Ok(None)) => {
            // Gone (its conversation was deleted): nothing to send.
            let s = app.storage.clone();
            let _ended =
                tokio::task::spawn_blocking(move || s.write(|tx| tx.end_delivery(id))).await;
            return;
        }
        Ok(Err(e)) => {
            tracing::error!(%id, error = %e, "a queued message could not be read");
            release(app, id, app.now() + 5_000, &e.to_string()).await;
            return;
        }
        Err(e) => {
            tracing::error!(%id, error = %e, "a queued message could not be read");
            return;
        }
    };
    let hub = &app.providers;
    let report = match channel.kind {
        ChannelKind::Whatsapp => whatsapp::send(&hub.client, &outgoing).await,
        ChannelKind::Telegram => telegram::send(&hub.client, &outgoing).await,
        ChannelKind::Email => email::send(&outgoing).await,
        _ => Report {
            sent: Vec::new(),
            outcome: Err(SendError::Permanent(Failure::new(
                format!(
                    "Outpost cannot send through {} yet.",
                    provider_name(channel.kind)
                ),
                "no_channel",
                &[],
            ))),
        },
    };
    let now = app.now();
    let provider = provider_name(channel.kind);
    let kind = channel.kind;
    match &report.outcome {
        Ok(_) => hub.settle(channel.id.0, false),
        Err(SendError::Retry {
            after,
            why,
            whole_channel,
        }) => {
            if *whole_channel {
                hub.settle(channel.id.0, true);
            }
            app.metrics.provider_error(kind);
            let wait = after.map_or_else(|| backoff(attempt), |d| d.as_millis() as Millis);
            if *whole_channel {
                hub.pause(channel.id.0, now + wait);
            }
            tracing::warn!(%id, attempt, wait_ms = wait, "{provider}: not now: {why}");
        }
        Err(SendError::Permanent(f)) => {
            app.metrics.provider_error(kind);
            tracing::warn!(%id, "{provider} refused a message: {}", f.text);
        }
        Err(SendError::Uncertain(why)) => {
            app.metrics.provider_error(kind);
            tracing::warn!(%id, "{provider}: {why}");
        }
    }
    let (s, channel_id) = (app.storage.clone(), channel.id.0);
    let wait = match &report.outcome {
        Err(SendError::Retry { after, .. }) => {
            Some(after.map_or_else(|| backoff(attempt), |d| d.as_millis() as Millis))
        }
        _ => None,
    };
    let done = tokio::task::spawn_blocking(move || {
        record(&*s, channel_id, id, parts_done, report, wait, now, provider)
    })
    .await;
    match done {
        Ok(Ok(())) => app.announce(),
        Ok(Err(e)) => tracing::error!(%id, error = %e, "a send's answer could not be written"),
        Err(e) => tracing::error!(%id, error = %e, "a send's answer could not be written"),
    }
}

/// Lets a claimed message go back to the queue, to try at `next_at`.
async fn release<S: Storage>(app: &Arc<App<S>>, id: MessageId, next_at: Millis, why: &str) {
    let (s, why) = (app.storage.clone(), why.to_owned());
    let _released = tokio::task::spawn_blocking(move || s.retry_delivery(id, next_at, &why)).await;
}

/// The wait before attempt `attempt + 1`: 1 s, 2 s, 4 s… up to five minutes, with jitter.
fn backoff(attempt: u32) -> Millis {
    let base = 1_000i64.saturating_mul(1i64 << attempt.saturating_sub(1).min(16));
    let base = base.min(MAX_BACKOFF);
    base + fastrand::i64(0..=base / 4)
}

/// Writes what a send came to, in one transaction: the parts the provider took (their ids),
/// then the message's status, a failure, or the wait before the next attempt.
#[allow(clippy::too_many_arguments)]
fn record<S: Storage>(
    storage: &S,
    channel: uuid::Uuid,
    id: MessageId,
    parts_done: u32,
    report: Report,
    wait: Option<Millis>,
    now: Millis,
    provider: &str,
) -> Result<(), StorageError> {
    let began = storage.delivery_began(id)?.unwrap_or(now);
    storage.write(|tx| {
        for p in &report.sent {
            tx.set_provider_message(channel, p, id)?;
        }
        let Some(Entity::Message(mut m)) = tx.get(EntityRef::Message(id))? else {
            tx.end_delivery(id)?;
            return Ok::<_, StorageError>(());
        };
        if m.status != MessageStatus::Pending {
            tx.end_delivery(id)?;
            return Ok(());
        }
        match report.outcome {
            Ok(status) => {
                tx.end_delivery(id)?;
                m.status = status;
                m.channel_id = Some(outpost_protocol::ChannelId(channel));
                let last = m.history.last().map_or(m.created_at, |h| h.at);
                m.history.push(StatusStamp {
                    status,
                    at: now.max(last),
                });
                tx.put(&Entity::Message(m))?;
                // Statuses that overtook this answer apply now, in the order they came.
                for p in &report.sent {
                    for s in tx.take_early_statuses(channel, p)? {
                        match serde_json::from_str::<Status>(&s) {
                            Ok(s) => {
                                apply_status(tx, id, &s)?;
                            }
                            Err(e) => tracing::warn!("a kept status is unreadable: {e}"),
                        }
                    }
                }
            }
            Err(SendError::Permanent(f)) => {
                tx.end_delivery(id)?;
                fail(tx, m, f, now)?;
            }
            Err(SendError::Uncertain(why)) => {
                tx.end_delivery(id)?;
                let f = Failure::new(
                    format!("{why}: it may have been sent."),
                    "provider_uncertain",
                    &[("provider", provider)],
                );
                fail(tx, m, f, now)?;
            }
            Err(SendError::Retry { why, .. }) => {
                if now - began > GIVE_UP_AFTER {
                    tx.end_delivery(id)?;
                    fail(tx, m, gave_up(&why, provider), now)?;
                } else {
                    let parts = parts_done + report.sent.len() as u32;
                    tx.delay_delivery(id, parts, now + wait.unwrap_or(1_000), &why)?;
                }
            }
        }
        Ok(())
    })
}
