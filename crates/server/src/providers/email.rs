//! Email: a mailbox read over IMAP (RFC 9051/3501, with IDLE, RFC 2177, where offered) and
//! replies submitted over SMTP (RFC 6409) with STARTTLS or TLS and authentication. Protocol
//! code is the crates': async-imap, lettre, mail-parser.
//!
//! - **Reading**: the mailbox's UIDVALIDITY and the last UID taken are kept (`channel_cursors`):
//!   a restart fetches from the next UID; a new UIDVALIDITY (the mailbox was rebuilt) reads it
//!   again from the start, and nothing is doubled since a message's id derives from its
//!   Message-ID. The cursor moves past a message only once it is stored: a connection dropped
//!   mid-fetch loses nothing.
//! - **A customer's email**: one conversation per address; Message-ID, In-Reply-To and
//!   References thread it (a reply names the message it answers); the subject is kept; an HTML
//!   body becomes plain text (scripts, styles and images dropped, nothing fetched, never
//!   rendered); the quoted history of a reply is folded away, its signature kept; files become
//!   attachments. An auto-reply (`Auto-Submitted`) is kept but reopens nothing. A bounce (a
//!   delivery status notification, RFC 3464) fails the message it returns, saying why.
//! - **Sending**: a proper MIME message from the channel's address, its Message-ID derived
//!   from ours (so a bounce finds it), `In-Reply-To` and `References` threading it at the
//!   customer's, the conversation's subject as "Re: …", files attached. An SMTP 5xx fails the
//!   message with the server's words; a 4xx or an unreachable server waits and tries again.
//!
//! The channel's settings: `address` (the mailbox's), `imap_host`, `smtp_host`, `username`,
//! `password` (a credential); optional `imap_port` (993), `imap_security` (`tls` or
//! `starttls`), `smtp_port` (465 with `tls`, 587 with `starttls`), `smtp_security`, `mailbox`
//! (`INBOX`), `display_name`, `ca_pem` (a private certificate authority's certificates, trusted
//! besides the platform's), `poll_seconds` (without IDLE, 60).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use mail_parser::{MessageParser, MimeHeaders};
use outpost_protocol::{AttachmentKind, MessageStatus};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Failure, Outgoing, Report, SendError, Status};
use crate::App;
use crate::storage::{Storage, StorageError};
use crate::workspace::{Inbound, InboundFile};

/// The largest email read (a larger one is said, not stored).
pub const MAX_EMAIL_BYTES: u32 = 50 * 1024 * 1024;
/// The largest email sent, files included.
pub const MAX_SEND_BYTES: usize = 25 * 1024 * 1024;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub address: String,
    pub imap_host: String,
    pub smtp_host: String,
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub imap_port: Option<u16>,
    #[serde(default)]
    pub imap_security: Security,
    #[serde(default)]
    pub smtp_port: Option<u16>,
    #[serde(default)]
    pub smtp_security: Security,
    #[serde(default)]
    pub mailbox: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub ca_pem: Option<String>,
    #[serde(default)]
    pub poll_seconds: Option<u64>,
}

/// How a connection is secured: TLS from the start, or upgraded with STARTTLS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    #[default]
    Tls,
    Starttls,
}

impl Settings {
    pub fn of(v: &serde_json::Value) -> Result<Settings, String> {
        serde_json::from_value(v.clone())
            .map_err(|e| format!("the email channel's settings are incomplete: {e}"))
    }

    fn imap_port(&self) -> u16 {
        self.imap_port.unwrap_or(match self.imap_security {
            Security::Tls => 993,
            Security::Starttls => 143,
        })
    }

    fn smtp_port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.smtp_security {
            Security::Tls => 465,
            Security::Starttls => 587,
        })
    }

    fn mailbox(&self) -> &str {
        self.mailbox
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or("INBOX")
    }

    /// The domain of the channel's address (for Message-IDs).
    fn domain(&self) -> &str {
        self.address
            .rsplit_once('@')
            .map_or("outpost.invalid", |(_, d)| d)
    }

    /// TLS for this channel's servers: the platform's roots, and its own CA if it has one.
    fn tls(&self) -> Arc<rustls::ClientConfig> {
        let ca = self.ca_pem.as_deref().filter(|p| !p.trim().is_empty());
        Arc::new(super::tls_config_with(ca))
    }
}

// --- Reading ---------------------------------------------------------------------------------

/// An address as Outpost keeps it: trimmed, lower case.
pub fn normalize(address: &str) -> String {
    address.trim().trim_matches(['<', '>']).to_lowercase()
}

/// A Message-ID without its angle brackets.
fn bare_id(id: &str) -> String {
    id.trim().trim_matches(['<', '>']).to_owned()
}

/// What one email is to Outpost.
#[derive(Debug)]
pub enum Read {
    /// A customer's message.
    Customer(Box<Inbound>, Vec<ReadFile>),
    /// A delivery status notification: the Message-ID of ours it returns, and why it failed.
    Bounce { original: String, failure: Failure },
    /// Nothing for an agent (from the channel's own address, no sender…).
    Skip(String),
}

/// A file of a customer's email.
#[derive(Debug)]
pub struct ReadFile {
    pub name: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// Reads an email: who wrote it, what (as plain text), its files, its thread.
pub fn read(raw: &[u8], own_address: &str) -> Read {
    let Some(m) = MessageParser::default().parse(raw) else {
        return Read::Skip("not an email".into());
    };
    if let Some(bounce) = bounce_of(&m) {
        return bounce;
    }
    let Some(from) = m.from().and_then(|a| a.first()) else {
        return Read::Skip("no sender".into());
    };
    let Some(address) = from.address().map(normalize).filter(|a| a.contains('@')) else {
        return Read::Skip("no sender address".into());
    };
    if address == normalize(own_address) {
        return Read::Skip("sent from the channel's own address".into());
    }
    let provider_id = m.message_id().map(bare_id).unwrap_or_else(|| {
        use sha2::Digest;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(raw)))
    });
    let in_reply_to = m
        .in_reply_to()
        .as_text_list()
        .and_then(|l| l.first().map(|s| bare_id(s)))
        .or_else(|| m.in_reply_to().as_text().map(bare_id));
    let automatic = m
        .header_raw("Auto-Submitted")
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
    let text = m.body_text(0).map(|t| fold_quoted(&t)).unwrap_or_default();
    let mut files = Vec::new();
    for part in m.attachments() {
        let inline = part
            .content_disposition()
            .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline"));
        let name = part.attachment_name().unwrap_or("").to_owned();
        // Images inside an HTML body (a logo, a tracking pixel) are not files the customer sent.
        if inline && name.is_empty() {
            continue;
        }
        let mime = part
            .content_type()
            .map(|c| match c.subtype() {
                Some(sub) => format!("{}/{}", c.ctype(), sub),
                None => c.ctype().to_owned(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_lowercase();
        let bytes = part.contents().to_vec();
        if bytes.is_empty() {
            continue;
        }
        files.push(ReadFile { name, mime, bytes });
    }
    let subject = m.subject().map(|s| s.trim().to_owned());
    let name = from.name().unwrap_or("").trim().to_owned();
    let text = if text.trim().is_empty() && files.is_empty() {
        subject.clone().unwrap_or_else(|| "(empty email)".into())
    } else {
        text
    };
    Read::Customer(
        Box::new(Inbound {
            from: address,
            name,
            text,
            provider_id: Some(provider_id),
            reply_to_provider: in_reply_to,
            subject,
            automatic,
            ..Default::default()
        }),
        files,
    )
}

/// A delivery status notification (`multipart/report; report-type=delivery-status`): the
/// returned message's Message-ID and the failure, from its `message/delivery-status` part.
fn bounce_of(m: &mail_parser::Message) -> Option<Read> {
    let ct = m.content_type()?;
    let is_report = ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        && ct
            .attribute("report-type")
            .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"));
    if !is_report {
        return None;
    }
    let mut status = String::new();
    let mut original = None;
    for part in &m.parts {
        let Some(pct) = part.content_type() else {
            continue;
        };
        let kind = format!(
            "{}/{}",
            pct.ctype().to_lowercase(),
            pct.subtype().unwrap_or("").to_lowercase()
        );
        match kind.as_str() {
            "message/delivery-status" => {
                status = String::from_utf8_lossy(part.contents()).into_owned();
            }
            "message/rfc822" | "message/global" => {
                if let Some(inner) = part.message() {
                    original = inner.message_id().map(bare_id);
                }
                if original.is_none() {
                    original = header_in(part.contents(), "message-id").map(|v| bare_id(&v));
                }
            }
            "text/rfc822-headers" | "message/global-headers" => {
                original = original
                    .or_else(|| header_in(part.contents(), "message-id").map(|v| bare_id(&v)));
            }
            _ => {}
        }
    }
    let Some(original) = original else {
        return Some(Read::Skip("a bounce that names no message".into()));
    };
    let field = |name: &str| header_in(status.as_bytes(), name).unwrap_or_default();
    let action = field("action");
    if !action.is_empty() && !action.eq_ignore_ascii_case("failed") {
        // Delayed, relayed, delivered: a notice, not a failure.
        return Some(Read::Skip(format!("a delivery notice ({action})")));
    }
    let recipient = field("final-recipient");
    let recipient = recipient.rsplit(';').next().unwrap_or("").trim().to_owned();
    let diagnostic = field("diagnostic-code");
    let diagnostic = diagnostic
        .rsplit(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let code = field("status");
    let detail = if diagnostic.is_empty() {
        code.clone()
    } else {
        diagnostic
    };
    let text = format!("The email to {recipient} came back ({code}): {detail}");
    Some(Read::Bounce {
        original,
        failure: Failure::new(
            text,
            "email_bounced",
            &[("recipient", &recipient), ("detail", &detail)],
        ),
    })
}

/// A header's value in a block of headers (the first, unfolded), by case-insensitive name.
fn header_in(block: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(block);
    let mut found: Option<String> = None;
    for line in text.lines() {
        if let Some(v) = found.as_mut() {
            if line.starts_with([' ', '\t']) {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.trim().eq_ignore_ascii_case(name)
        {
            found = Some(v.trim().to_owned());
        }
    }
    found
}

/// A reply's text without the history it quotes: a trailing block of `>` lines and the
/// "On … wrote:" line above it go (the conversation already shows them); a signature stays.
pub fn fold_quoted(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let quoted = |l: &str| l.trim_start().starts_with('>');
    // The last line that is neither quoted nor blank, before the trailing quote block.
    let mut end = lines.len();
    while end > 0 && (quoted(lines[end - 1]) || lines[end - 1].trim().is_empty()) {
        end -= 1;
    }
    let trailing_quote = lines[end..].iter().any(|l| quoted(l));
    let mut cut = if trailing_quote { end } else { lines.len() };
    // Outlook and others: the history starts with a header line and is not quoted.
    for (i, l) in lines.iter().enumerate().take(cut) {
        let t = l.trim();
        if t.starts_with("-----Original Message-----")
            || t.starts_with("-----Mensagem original-----")
            || t.starts_with("-----Mensaje original-----")
        {
            cut = i;
            break;
        }
    }
    if cut > 0 && cut < lines.len() || (cut == 0 && trailing_quote) {
        // The attribution line: "On Mon, … Ana wrote:", "Em …, escreveu:", "El …, escribió:".
        let mut c = cut;
        while c > 0 && lines[c - 1].trim().is_empty() {
            c -= 1;
        }
        if c > 0 {
            let last = lines[c - 1].trim();
            let attribution = last.ends_with(':')
                && ["wrote", "escreveu", "escribió", "a écrit", "schrieb"]
                    .iter()
                    .any(|w| last.to_lowercase().contains(w));
            if attribution {
                c -= 1;
            }
        }
        cut = c;
    }
    let kept = lines[..cut].join("\n");
    let kept = kept.trim_end();
    if kept.is_empty() {
        text.trim_end().to_owned()
    } else {
        kept.to_owned()
    }
}

/// A kind for a file by its type (what the interface shows it as).
pub fn kind_of(mime: &str) -> AttachmentKind {
    AttachmentKind::of_mime(mime)
}

/// Takes an email: a customer's message stored with its files, or a bounce applied. Returns
/// whether something was stored.
pub async fn take<S: Storage>(
    app: &Arc<App<S>>,
    channel: uuid::Uuid,
    settings: &Settings,
    raw: &[u8],
) -> Result<bool, StorageError> {
    match read(raw, &settings.address) {
        Read::Skip(why) => {
            tracing::debug!(%channel, "email: left alone: {why}");
            Ok(false)
        }
        Read::Bounce { original, failure } => {
            let (storage, now) = (app.storage.clone(), app.now());
            let status = Status {
                status: MessageStatus::Failed,
                at: now,
                failure: Some((failure.text.clone(), failure.reason.clone())),
            };
            let applied = tokio::task::spawn_blocking(move || {
                storage.write(|tx| super::status_for(tx, channel, &original, &status, now))
            })
            .await
            .map_err(|e| StorageError::Invalid(format!("the write stopped: {e}")))??;
            if applied {
                app.announce();
            }
            tracing::info!(%channel, "email: a bounce: {}", failure.text);
            Ok(applied)
        }
        Read::Customer(mut inbound, files) => {
            let pid = inbound.provider_id.clone().unwrap_or_default();
            if app.knows(channel, &pid).await? {
                return Ok(false);
            }
            for f in files {
                let max = outpost_protocol::limits::MAX_ATTACHMENT_BYTES;
                if f.bytes.len() as u64 > max {
                    let note = format!(
                        "[{} not kept: larger than {} MiB]",
                        f.name,
                        max / 1024 / 1024
                    );
                    inbound.text = format!("{}\n{note}", inbound.text);
                    continue;
                }
                let mime = outpost_protocol::limits::plain_mime(&f.mime)
                    .unwrap_or_else(|| "application/octet-stream".into());
                let id = app.receive_file(channel, &mime, f.bytes).await?;
                inbound.attachments.push(InboundFile {
                    file: id,
                    name: f.name,
                });
            }
            if inbound.attachments.len() > outpost_protocol::limits::MAX_ATTACHMENTS {
                inbound
                    .attachments
                    .truncate(outpost_protocol::limits::MAX_ATTACHMENTS);
                inbound
                    .text
                    .push_str("\n[more files than Outpost keeps on one message]");
            }
            match app.receive(channel, *inbound).await {
                Ok(_) => Ok(true),
                Err(crate::workspace::OpError::Storage(e)) => Err(e),
                Err(e) => {
                    tracing::warn!(%channel, "email: a customer's message refused: {e}");
                    Ok(false)
                }
            }
        }
    }
}

/// Something IMAP or TLS said went wrong.
type ImapResult<T> = Result<T, String>;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Stream for T {}

async fn connect_imap(s: &Settings) -> ImapResult<async_imap::Client<Box<dyn Stream>>> {
    let tcp = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::net::TcpStream::connect((s.imap_host.as_str(), s.imap_port())),
    )
    .await
    .map_err(|_| format!("{}:{} did not answer", s.imap_host, s.imap_port()))?
    .map_err(|e| format!("{}:{} cannot be reached: {e}", s.imap_host, s.imap_port()))?;
    let name = rustls::pki_types::ServerName::try_from(s.imap_host.clone())
        .map_err(|e| format!("{} is not a host name: {e}", s.imap_host))?;
    let tls = tokio_rustls::TlsConnector::from(s.tls());
    match s.imap_security {
        Security::Tls => {
            let stream = tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {}: {e}", s.imap_host))?;
            let mut client = async_imap::Client::new(Box::new(stream) as Box<dyn Stream>);
            client
                .read_response()
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the IMAP server said nothing")?;
            Ok(client)
        }
        Security::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            client
                .read_response()
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the IMAP server said nothing")?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| format!("STARTTLS refused: {e}"))?;
            let tcp = client.into_inner();
            let stream = tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {}: {e}", s.imap_host))?;
            Ok(async_imap::Client::new(Box::new(stream) as Box<dyn Stream>))
        }
    }
}

/// Reads the channel's mailbox until stopped: every new email taken, then waiting for more
/// (IDLE, or a poll). A broken connection is made again, with a growing pause.
pub async fn watch<S: Storage>(app: Arc<App<S>>, channel: uuid::Uuid, settings: Settings) {
    let mut failures: u32 = 0;
    loop {
        match session(&app, channel, &settings).await {
            Ok(()) => failures = 0,
            Err(why) => {
                failures = failures.saturating_add(1);
                let wait = (1u64 << failures.min(6)).min(60);
                tracing::warn!(%channel, wait_s = wait, "email: the mailbox cannot be read: {why}");
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
        }
    }
}

/// One IMAP session: log in, take what is new, wait for more; returns when the connection ends.
async fn session<S: Storage>(
    app: &Arc<App<S>>,
    channel: uuid::Uuid,
    s: &Settings,
) -> ImapResult<()> {
    let client = connect_imap(s).await?;
    let mut session = client
        .login(&s.username, &s.password)
        .await
        .map_err(|(e, _)| format!("the IMAP server refused the sign-in: {e}"))?;
    let idle = session
        .capabilities()
        .await
        .map_err(|e| e.to_string())?
        .has_str("IDLE");
    loop {
        let mailbox = session
            .select(s.mailbox())
            .await
            .map_err(|e| format!("{} cannot be opened: {e}", s.mailbox()))?;
        while session.unsolicited_responses.try_recv().is_ok() {}
        fetch_new(
            app,
            channel,
            s,
            &mut session,
            mailbox.uid_validity.unwrap_or(0),
        )
        .await?;
        if idle {
            let mut handle = session.idle();
            handle
                .init()
                .await
                .map_err(|e| format!("IDLE refused: {e}"))?;
            let (wait, _stop) = handle.wait_with_timeout(Duration::from_secs(25 * 60));
            let answer = wait.await.map_err(|e| e.to_string())?;
            tracing::debug!(%channel, ?answer, "email: the mailbox changed or IDLE timed out");
            session = handle.done().await.map_err(|e| e.to_string())?;
        } else {
            let seconds = s.poll_seconds.unwrap_or(60).clamp(5, 3_600);
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            session.noop().await.map_err(|e| e.to_string())?;
        }
    }
}

/// Fetches the messages after the last UID taken, one by one, each stored before the cursor
/// moves past it.
async fn fetch_new<S: Storage, T>(
    app: &Arc<App<S>>,
    channel: uuid::Uuid,
    s: &Settings,
    session: &mut async_imap::Session<T>,
    uid_validity: u32,
) -> ImapResult<()>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug,
{
    let storage = app.storage.clone();
    let (validity, last) = tokio::task::spawn_blocking(move || {
        Ok::<_, StorageError>((
            storage.channel_cursor(channel, "imap_uidvalidity")?,
            storage.channel_cursor(channel, "imap_last_uid")?,
        ))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let mut last: u32 = last.and_then(|l| l.parse().ok()).unwrap_or(0);
    if validity.as_deref() != Some(&uid_validity.to_string()) {
        if validity.is_some() {
            tracing::warn!(%channel, "email: the mailbox's UIDVALIDITY changed: read again from the start");
        }
        last = 0;
        set_cursor(app, channel, "imap_uidvalidity", uid_validity.to_string()).await?;
        set_cursor(app, channel, "imap_last_uid", "0".into()).await?;
    }
    // The UIDs first (cheap), then each message in order.
    let uids: Vec<u32> = {
        let mut fetches = session
            .uid_fetch(format!("{}:*", last + 1), "(UID RFC822.SIZE)")
            .await
            .map_err(|e| e.to_string())?;
        let mut uids = Vec::new();
        while let Some(f) = fetches.next().await {
            let f = f.map_err(|e| e.to_string())?;
            if let Some(uid) = f.uid.filter(|u| *u > last) {
                uids.push((uid, f.size.unwrap_or(0)));
            }
        }
        let mut uids: Vec<(u32, u32)> = uids;
        uids.sort();
        uids.into_iter()
            .filter_map(|(uid, size)| {
                if size > MAX_EMAIL_BYTES {
                    tracing::warn!(%channel, uid, size, "email: larger than Outpost reads, skipped");
                    None
                } else {
                    Some(uid)
                }
            })
            .collect()
    };
    for uid in uids {
        let raw = {
            let mut fetches = session
                .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
                .await
                .map_err(|e| e.to_string())?;
            let mut raw = None;
            while let Some(f) = fetches.next().await {
                let f = f.map_err(|e| e.to_string())?;
                if f.uid == Some(uid)
                    && let Some(body) = f.body()
                {
                    raw = Some(body.to_vec());
                }
            }
            raw
        };
        if let Some(raw) = raw {
            take(app, channel, s, &raw)
                .await
                .map_err(|e| format!("an email could not be stored: {e}"))?;
        }
        set_cursor(app, channel, "imap_last_uid", uid.to_string()).await?;
    }
    Ok(())
}

async fn set_cursor<S: Storage>(
    app: &Arc<App<S>>,
    channel: uuid::Uuid,
    name: &'static str,
    value: String,
) -> ImapResult<()> {
    let storage = app.storage.clone();
    tokio::task::spawn_blocking(move || storage.set_channel_cursor(channel, name, &value))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

// --- Sending ---------------------------------------------------------------------------------

/// The Message-ID of one of our messages: its id at the channel's domain.
pub fn message_id_of(message: outpost_protocol::MessageId, domain: &str) -> String {
    format!("{}@{}", message.0, domain)
}

/// Sends a message as one email: text, files attached, threaded at the customer's.
pub async fn send(o: &Outgoing) -> Report {
    let fail = Report::refused;
    let s = match Settings::of(&o.settings) {
        Ok(s) => s,
        Err(e) => return fail(Failure::settings(e, "Email")),
    };
    if o.message.template.is_some() {
        return fail(Failure::new(
            "Email has no templates.",
            "provider_error",
            &[
                ("provider", "Email"),
                ("code", "template"),
                ("detail", "no templates"),
            ],
        ));
    }
    let total: usize = o.files.iter().map(|f| f.bytes.len()).sum();
    if total > MAX_SEND_BYTES {
        let name = o
            .files
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return fail(Failure::new(
            format!("{name}: more than the 25 MB an email carries."),
            "file_too_large",
            &[("provider", "Email"), ("name", &name), ("limit", "25 MB")],
        ));
    }
    let id = message_id_of(o.message.id, s.domain());
    let mail = match build(&s, o, &id) {
        Ok(m) => m,
        Err(e) => {
            return fail(Failure::new(
                e.clone(),
                "provider_error",
                &[("provider", "Email"), ("code", "message"), ("detail", &e)],
            ));
        }
    };
    let transport = match transport(&s) {
        Ok(t) => t,
        Err(e) => return fail(Failure::settings(e, "Email")),
    };
    use lettre::AsyncTransport;
    match transport.send(mail).await {
        Ok(_) => Report {
            sent: vec![id],
            outcome: Ok(MessageStatus::Sent),
        },
        Err(e) => Report {
            sent: Vec::new(),
            outcome: Err(smtp_error(&e)),
        },
    }
}

fn smtp_error(e: &lettre::transport::smtp::Error) -> SendError {
    let code = e.status().map(|c| c.to_string()).unwrap_or_default();
    let words = e.to_string();
    if e.is_permanent() {
        let text = format!("The mail server refused it ({code}): {words}");
        let reason = if code.starts_with("535") || code.starts_with("530") {
            Failure::new(text, "email_auth", &[("detail", &words)])
        } else {
            Failure::new(
                text,
                "email_refused",
                &[("code", &code), ("detail", &words)],
            )
        };
        SendError::Permanent(reason)
    } else if e.is_transient() {
        SendError::Retry {
            after: None,
            why: format!("the mail server said not now ({code}): {words}"),
            whole_channel: false,
        }
    } else if e.is_timeout() {
        SendError::Uncertain(format!("the mail server did not answer in time: {words}"))
    } else {
        SendError::Retry {
            after: None,
            why: format!("the mail server cannot be reached: {words}"),
            whole_channel: true,
        }
    }
}

fn transport(s: &Settings) -> Result<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>, String> {
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    let mut params = TlsParameters::builder(s.smtp_host.clone());
    if let Some(pem) = s.ca_pem.as_deref().filter(|p| !p.trim().is_empty()) {
        for c in super::pem_certificates(pem.as_bytes()) {
            let c =
                Certificate::from_der(c.to_vec()).map_err(|e| format!("the channel's CA: {e}"))?;
            params = params.add_root_certificate(c);
        }
    }
    let params = params
        .build_rustls()
        .map_err(|e| format!("TLS for {}: {e}", s.smtp_host))?;
    let tls = match s.smtp_security {
        Security::Tls => Tls::Wrapper(params),
        Security::Starttls => Tls::Required(params),
    };
    Ok(
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(&s.smtp_host)
            .port(s.smtp_port())
            .tls(tls)
            .credentials(Credentials::new(s.username.clone(), s.password.clone()))
            .timeout(Some(Duration::from_secs(60)))
            .build(),
    )
}

fn build(s: &Settings, o: &Outgoing, id: &str) -> Result<lettre::Message, String> {
    use lettre::message::header::ContentType;
    use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
    let from: Mailbox = format!(
        "{} <{}>",
        s.display_name
            .clone()
            .unwrap_or_default()
            .replace(['<', '>', '"'], ""),
        s.address
    )
    .trim()
    .parse()
    .or_else(|_| s.address.parse())
    .map_err(|e| format!("{} is not an email address: {e}", s.address))?;
    let to: Mailbox =
        o.to.parse()
            .map_err(|e| format!("{} is not an email address: {e}", o.to))?;
    let subject = match o
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) if s.to_lowercase().starts_with("re:") => s.to_owned(),
        Some(s) => format!("Re: {s}"),
        None => String::new(),
    };
    let mut b = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{id}>")));
    if let Some(r) = o
        .reply_to
        .as_deref()
        .or(o.references.last().map(String::as_str))
    {
        b = b.in_reply_to(format!("<{r}>"));
    }
    if !o.references.is_empty() {
        let refs: Vec<String> = o.references.iter().map(|r| format!("<{r}>")).collect();
        b = b.references(refs.join(" "));
    }
    let text = SinglePart::plain(o.message.text.clone());
    let mail = if o.files.is_empty() {
        b.singlepart(text)
    } else {
        let mut mixed = MultiPart::mixed().singlepart(text);
        for f in &o.files {
            let ct = ContentType::parse(&f.mime).unwrap_or(
                ContentType::parse("application/octet-stream").map_err(|e| e.to_string())?,
            );
            mixed = mixed.singlepart(Attachment::new(f.name.clone()).body(f.bytes.clone(), ct));
        }
        b.multipart(mixed)
    };
    mail.map_err(|e| e.to_string())
}
