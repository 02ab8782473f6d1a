//! `cargo xtask bench server`: the server's figures over loopback, printed as a table.
//!
//! - Change feed: the initial sync of a 1,000,000-message workspace to one client, in messages/s
//!   served (pages of 5,000 over HTTP, decoded by the client).
//! - Ops: 1,000 agents sending messages at once: ops/s and the p99 latency of a request.
//! - Fan-out: a customer's message posted to the webhook until the stream frame reaches each of
//!   200 connected clients: p50 and p99.
//!
//! - Group commit: another agent's single op while one agent sends batches of 500.
//! - Sign-in flood: 500 concurrent wrong sign-ins from 50 addresses: the server's peak memory
//!   and an honest agent's sign-in latency meanwhile.
//! - Typing flood: one agent sends 2,000 typing frames; the others' `changed` latency p99, with
//!   and without it.
//!
//! Options: `--messages N` for a smaller workspace.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use outpost_protocol::generate::Generator;
use outpost_protocol::*;
use outpost_server::storage::{Storage, StorageError, Tx};
use outpost_server::{add_agent, add_test_channel, auth, workspace};
use serde_json::json;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[path = "../../core/examples/common/bench.rs"]
mod bench;
use bench::{now, percentile, spec_from_args};

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let spec = spec_from_args(&args, now())?;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data/server");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    // The bench speaks from many addresses through X-Forwarded-For, as a proxy would say them.
    let server = outpost_server::start_with(
        &dir,
        "127.0.0.1:0".parse()?,
        outpost_server::system_clock(),
        outpost_server::Options {
            trusted_proxies: vec!["127.0.0.1".parse()?],
            ..Default::default()
        },
    )
    .await?;
    let storage = server.app.storage.clone();
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // ---- Seed the workspace ----
    println!("seeding {} messages…", spec.messages);
    let seeding = Instant::now();
    let mut generator = Generator::new(spec.clone());
    let messages = {
        let storage = storage.clone();
        tokio::task::spawn_blocking(move || {
            outpost_server::demo::load(&*storage, &mut generator, 5_000)
        })
        .await??
    };
    println!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    let owner = add_agent(
        &*storage,
        "Bench Owner",
        "bench@outpost.example",
        "bench-password",
        Role::Owner,
        Visibility::Unrestricted,
        vec![],
    )?;
    let token = login(&http, &base, &owner.email, "bench-password").await?;

    // ---- Change feed: initial sync ----
    let started = Instant::now();
    let (mut after, mut served, mut pages) = (0u64, 0usize, 0usize);
    let mut distinct = std::collections::HashSet::with_capacity(messages);
    loop {
        let page: ChangesPage = http
            .get(format!("{base}/v1/changes?after={after}&limit=5000"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        for c in &page.changes {
            if let ChangeKind::Upsert {
                entity: Entity::Message(m),
            } = &c.kind
            {
                served += 1;
                distinct.insert(m.id);
            }
        }
        pages += 1;
        after = page.cursor;
        if !page.has_more {
            break;
        }
    }
    let took = started.elapsed();
    // Messages the channel moved along during the sync come again at a later seq: every message
    // was served at least once.
    assert_eq!(distinct.len(), messages, "every message was served");
    rows.push((
        format!("initial sync of {messages} messages ({pages} pages of 5,000)"),
        format!("{:.0} msg/s", served as f64 / took.as_secs_f64()),
        format!("{:.1} s", took.as_secs_f64()),
    ));

    // The same sync, the server's side alone: the pages fetched as bytes, not decoded.
    let started = Instant::now();
    let (mut after, mut bytes) = (0u64, 0usize);
    loop {
        let body = http
            .get(format!("{base}/v1/changes?after={after}&limit=5000"))
            .bearer_auth(&token)
            .send()
            .await?
            .bytes()
            .await?;
        bytes += body.len();
        // Only the cursor and has_more are read, from the end of the page.
        let tail = std::str::from_utf8(&body[body.len().saturating_sub(80)..])?;
        let cursor: u64 = tail
            .rsplit("\"cursor\":")
            .next()
            .and_then(|t| t.split(',').next())
            .and_then(|n| n.parse().ok())
            .ok_or("no cursor")?;
        after = cursor;
        if tail.contains("\"has_more\":false") {
            break;
        }
    }
    let took = started.elapsed();
    rows.push((
        "initial sync, served only (pages not decoded)".to_owned(),
        format!("{:.0} msg/s", messages as f64 / took.as_secs_f64()),
        format!(
            "{:.1} s, {:.0} MiB",
            took.as_secs_f64(),
            bytes as f64 / 1048576.0
        ),
    ));

    // ---- Ops: 1,000 agents at once ----
    let agents = 1_000;
    let per_agent = 5;
    println!("preparing {agents} agents…");
    let sessions = signed_in_agents(&storage, "agente", agents).await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (token, conversation_id) in sessions {
        let (http, base) = (http.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_agent);
            for k in 0..per_agent {
                let op = Op {
                    op_id: OpId::new(),
                    at: now(),
                    action: Action::SendMessage {
                        message_id: MessageId::new(),
                        conversation_id,
                        text: format!("Resposta {k}"),
                        attachments: vec![],
                        template: None,
                        reply_to: None,
                    },
                };
                let sent = Instant::now();
                let r = http
                    .post(format!("{base}/v1/ops"))
                    .bearer_auth(&token)
                    .json(&json!({ "ops": [op] }))
                    .send()
                    .await?;
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await?;
                latencies.push(sent.elapsed());
            }
            Ok::<_, Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let took = started.elapsed();
    let total = latencies.len();
    rows.push((
        format!("ops: {agents} agents x {per_agent} sends at once"),
        format!("{:.0} ops/s", total as f64 / took.as_secs_f64()),
        format!(
            "p50 {}, p99 {}",
            ms(percentile(&mut latencies, 0.5)),
            ms(percentile(&mut latencies, 0.99))
        ),
    ));

    // ---- Group commit: one agent's big batches against another's single op ----
    let tokens = signed_in_agents(&storage, "lote", 2).await?;
    {
        let (big, big_c) = tokens[0].clone();
        let (small, small_c) = tokens[1].clone();
        let batches = {
            let (http, base) = (http.clone(), base.clone());
            tokio::spawn(async move {
                for b in 0..10 {
                    let ops: Vec<Op> = (0..500)
                        .map(|k| send_op(big_c, &format!("Lote {b}/{k}")))
                        .collect();
                    let r = http
                        .post(format!("{base}/v1/ops"))
                        .bearer_auth(&big)
                        .json(&json!({ "ops": ops }))
                        .send()
                        .await?;
                    assert_eq!(r.status(), 200);
                    let _ = r.bytes().await?;
                }
                Ok::<_, Error>(())
            })
        };
        let mut waits = Vec::new();
        loop {
            let sent = Instant::now();
            let r = http
                .post(format!("{base}/v1/ops"))
                .bearer_auth(&small)
                .json(&json!({ "ops": [send_op(small_c, "Só uma")] }))
                .send()
                .await?;
            assert_eq!(r.status(), 200);
            let _ = r.bytes().await?;
            waits.push(sent.elapsed());
            if batches.is_finished() || waits.len() >= 2_000 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        batches.await??;
        let max = waits.iter().max().copied().unwrap_or_default();
        rows.push((
            "another agent's op during 10 batches of 500".to_owned(),
            format!("p99 {}", ms(percentile(&mut waits, 0.99))),
            format!("p50 {}, max {}", ms(percentile(&mut waits, 0.5)), ms(max)),
        ));
    }

    // ---- Sign-in flood ----
    {
        let honest = add_agent(
            &*storage,
            "Honest",
            "honest@outpost.example",
            "honest-password-1",
            Role::Agent,
            Visibility::Unrestricted,
            vec![],
        )?;
        // The agent signed in from their own address before.
        let home = "198.51.100.9";
        let r = http
            .post(format!("{base}/v1/auth/login"))
            .header("x-forwarded-for", home)
            .json(&json!({ "email": honest.email, "password": "honest-password-1" }))
            .send()
            .await?;
        assert_eq!(r.status(), 200);
        let before = rss_kib("VmRSS");
        reset_peak();
        let flood: Vec<_> = (0..500)
            .map(|i| {
                let (http, base) = (http.clone(), base.clone());
                // Half against the honest agent's email, half against unknown ones.
                let email = if i % 2 == 0 {
                    honest.email.clone()
                } else {
                    format!("nobody{i}@outpost.example")
                };
                tokio::spawn(async move {
                    let r = http
                        .post(format!("{base}/v1/auth/login"))
                        .header("x-forwarded-for", format!("203.0.113.{}", i % 50))
                        .json(&json!({ "email": email, "password": format!("wrong-{i}-password") }))
                        .send()
                        .await?;
                    Ok::<_, Error>(r.status().as_u16())
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut honest_waits = Vec::new();
        let mut honest_refused = 0;
        for _ in 0..5 {
            let sent = Instant::now();
            let r = http
                .post(format!("{base}/v1/auth/login"))
                .header("x-forwarded-for", home)
                .json(&json!({ "email": honest.email, "password": "honest-password-1" }))
                .send()
                .await?;
            if r.status() == 200 {
                honest_waits.push(sent.elapsed());
            } else {
                honest_refused += 1;
            }
        }
        let mut statuses = std::collections::BTreeMap::new();
        for f in flood {
            *statuses.entry(f.await??).or_insert(0) += 1;
        }
        let peak = rss_kib("VmHWM");
        let after = rss_kib("VmRSS");
        let max = honest_waits.iter().max().copied().unwrap_or_default();
        let p50 = if honest_waits.is_empty() {
            "none".to_owned()
        } else {
            ms(percentile(&mut honest_waits, 0.5))
        };
        rows.push((
            "500 concurrent wrong sign-ins: peak RSS".to_owned(),
            format!("{:.0} MiB", peak as f64 / 1024.0),
            format!(
                "before {:.0} MiB, after {:.0} MiB; answers {statuses:?}",
                before as f64 / 1024.0,
                after as f64 / 1024.0
            ),
        ));
        rows.push((
            "an honest sign-in during that flood".to_owned(),
            format!("max {}", ms(max)),
            format!(
                "p50 {p50}, {} of 5 signed in, {honest_refused} told to retry",
                honest_waits.len()
            ),
        ));
    }

    // ---- Fan-out to 200 stream clients ----
    let channel = add_test_channel(&*storage, ChannelKind::Telegram, "bench", "bench-secret")?;
    let clients = 200;
    let mut streams = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!(
            "ws://{}/v1/stream?token={token}",
            server.addr
        ))
        .await?;
        ws.next().await.ok_or("no first frame")??;
        streams.push(ws);
    }
    let mut samples = inbound_to_changed(
        &http,
        &base,
        channel,
        &*storage,
        &mut streams,
        "cliente",
        50,
    )
    .await?;
    rows.push((
        format!("fan-out: inbound message -> frame at {clients} clients"),
        format!("p99 {}", ms(percentile(&mut samples, 0.99))),
        format!("p50 {}", ms(percentile(&mut samples, 0.5))),
    ));

    // ---- Typing flood: the others' `changed` latency with and without it ----
    {
        let conversation = latest_conversation(&storage)
            .await?
            .ok_or("the workspace has no conversation")?;
        // Another agent floods: the 200 streams are the owner's, who may see the conversation.
        let (mut flooder, _) = tokio_tungstenite::connect_async(format!(
            "ws://{}/v1/stream?token={}",
            server.addr, tokens[0].0
        ))
        .await?;
        for with_flood in [false, true] {
            let flood = with_flood.then(|| {
                serde_json::to_string(&ClientFrame::Typing {
                    conversation_id: conversation,
                })
                .unwrap_or_default()
            });
            if let Some(frame) = &flood {
                use futures_util::SinkExt;
                for _ in 0..2_000 {
                    flooder
                        .send(tokio_tungstenite::tungstenite::Message::Text(
                            frame.clone().into(),
                        ))
                        .await?;
                }
            }
            let label = format!("typing_{with_flood}");
            let mut samples =
                inbound_to_changed(&http, &base, channel, &*storage, &mut streams, &label, 20)
                    .await?;
            rows.push((
                format!(
                    "changed at {clients} clients, {} typing flood",
                    if with_flood {
                        "during a 2,000-frame"
                    } else {
                        "no"
                    }
                ),
                format!("p99 {}", ms(percentile(&mut samples, 0.99))),
                format!("p50 {}", ms(percentile(&mut samples, 0.5))),
            ));
        }
    }

    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    println!("\n| {:<w0$} | {:>w1$} | detail |", "metric", "value");
    println!("|{}|{}|--------|", "-".repeat(w0 + 2), "-".repeat(w1 + 2));
    for (m, v, d) in &rows {
        println!("| {m:<w0$} | {v:>w1$} | {d} |");
    }
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `rounds` customers' messages posted to the webhook, each timed until every stream says
/// `changed` at or past its commit.
async fn inbound_to_changed<S: Storage>(
    http: &reqwest::Client,
    base: &str,
    channel: uuid::Uuid,
    storage: &S,
    streams: &mut [Stream],
    from: &str,
    rounds: usize,
) -> Result<Vec<Duration>, Error> {
    let mut samples = Vec::with_capacity(rounds * streams.len());
    for round in 0..rounds {
        let posted = Instant::now();
        let r = http
            .post(format!("{base}/v1/channels/{channel}/inbound"))
            .header("x-outpost-channel-secret", "bench-secret")
            .json(&json!({ "from": format!("{from}_{round}"), "text": "Olá?" }))
            .send()
            .await?;
        assert_eq!(r.status(), 200);
        let target = storage.seq()?;
        let waits = streams.iter_mut().map(|ws| async move {
            loop {
                let frame = ws.next().await.ok_or("stream ended")??;
                let v: serde_json::Value = serde_json::from_str(frame.to_text()?)?;
                if v["type"] == "changed" && v["seq"].as_u64().unwrap_or(0) >= target {
                    return Ok::<_, Error>(posted.elapsed());
                }
            }
        });
        for d in futures_util::future::join_all(waits).await {
            samples.push(d?);
        }
    }
    Ok(samples)
}

fn bench_agent(name: &str) -> Agent {
    Agent::new(
        AgentId::new(),
        name,
        &format!("{name}@outpost.example"),
        Role::Agent,
        Visibility::Unrestricted,
        vec![],
    )
}

/// An open conversation of `agent`'s, waiting for a reply.
fn bench_conversation(agent: &Agent) -> Conversation {
    let now = now();
    let mut c = Conversation::new(
        ConversationId::new(),
        ContactId::new(),
        ChannelKind::Telegram,
        now,
    );
    c.assignee = Some(agent.id);
    c.unanswered = true;
    c.unread_count = 1;
    c.last_message_direction = Some(Direction::Incoming);
    c.last_message_preview = "Oi".into();
    c.last_incoming_at = Some(now);
    c
}

fn send_op(conversation_id: ConversationId, text: &str) -> Op {
    Op {
        op_id: OpId::new(),
        at: now(),
        action: Action::SendMessage {
            message_id: MessageId::new(),
            conversation_id,
            text: text.into(),
            attachments: vec![],
            template: None,
            reply_to: None,
        },
    }
}

/// `count` agents named `prefix0…`, each with an open conversation of their own, signed in:
/// their tokens and conversations.
async fn signed_in_agents<S: Storage>(
    storage: &std::sync::Arc<S>,
    prefix: &str,
    count: usize,
) -> Result<Vec<(String, ConversationId)>, Error> {
    let (storage, prefix) = (storage.clone(), prefix.to_owned());
    tokio::task::spawn_blocking(move || {
        let now = now();
        (0..count)
            .map(|i| {
                let agent = bench_agent(&format!("{prefix}{i}"));
                let conversation = bench_conversation(&agent);
                storage.write(|tx| {
                    tx.put(&Entity::Agent(agent.clone()))?;
                    workspace::put_announced(tx, &Entity::Conversation(conversation.clone()))
                })?;
                let (token, hash) = auth::new_token().map_err(StorageError::Invalid)?;
                storage.create_session(&hash, agent.id, now, now + auth::SESSION_TTL)?;
                Ok::<_, Error>((token, conversation.id))
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await?
}

/// The most recently active conversation of the workspace.
async fn latest_conversation<S: Storage>(
    storage: &std::sync::Arc<S>,
) -> Result<Option<ConversationId>, Error> {
    let storage = storage.clone();
    Ok(tokio::task::spawn_blocking(move || {
        storage.write(|tx| {
            Ok::<_, StorageError>(
                tx.all_conversations()?
                    .into_iter()
                    .max_by_key(|c| c.last_message_at)
                    .map(|c| c.id),
            )
        })
    })
    .await??)
}

/// A line of /proc/self/status, in KiB (0 where there is none).
fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Starts measuring the peak RSS afresh (Linux: VmHWM is reset by clear_refs 5).
fn reset_peak() {
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        eprintln!("the peak RSS could not be reset ({e}): the figure is the process's peak");
    }
}

async fn login(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> Result<String, Error> {
    let r = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await?;
    let v: serde_json::Value = r.json().await?;
    Ok(v["token"].as_str().ok_or("no token")?.to_owned())
}
