//! `cargo xtask bench server`: the server's figures over loopback, printed as a table.
//!
//! - Change feed: the initial sync of a 1,000,000-message workspace to one client, in messages/s
//!   served (pages of 5,000 over HTTP, decoded by the client).
//! - Ops: 1,000 agents sending messages at once: ops/s and the p99 latency of a request.
//! - Fan-out: a customer's message posted to the webhook until the stream frame reaches each of
//!   200 connected clients: p50 and p99.
//!
//! Options: `--messages N` for a smaller workspace.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use outpost_protocol::generate::Generator;
use outpost_protocol::*;
use outpost_server::storage::{Storage, StorageError, Tx};
use outpost_server::{add_agent, add_channel, auth, workspace};
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
    let server =
        outpost_server::start(&dir, "127.0.0.1:0".parse()?, outpost_server::system_clock()).await?;
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
    let mut sessions = Vec::with_capacity(agents);
    {
        let storage = storage.clone();
        let prepared = tokio::task::spawn_blocking(
            move || -> Result<Vec<(String, ConversationId)>, StorageError> {
                let mut out = Vec::new();
                let now = now();
                for i in 0..agents {
                    let agent = Agent {
                        id: AgentId::new(),
                        name: format!("Agente {i}"),
                        email: format!("agente{i}@outpost.example"),
                        role: Role::Agent,
                        visibility: Visibility::Unrestricted,
                        teams: vec![],
                        availability: Availability::Available,
                    };
                    let conversation = Conversation {
                        id: ConversationId::new(),
                        contact_id: ContactId::new(),
                        channel: ChannelKind::Telegram,
                        state: ConversationState::Open,
                        snoozed_until: None,
                        assignee: Some(agent.id),
                        team: None,
                        unanswered: true,
                        unread_count: 1,
                        opened_at: now,
                        last_message_at: now,
                        last_message_direction: Some(Direction::Incoming),
                        last_message_preview: "Oi".into(),
                        last_incoming_at: Some(now),
                        closing_note: String::new(),
                        closing_category: String::new(),
                        created_at: now,
                    };
                    storage.write(|tx| {
                        tx.put(&Entity::Agent(agent.clone()))?;
                        workspace::put_announced(tx, &Entity::Conversation(conversation.clone()))
                    })?;
                    let (token, hash) = auth::new_token().map_err(StorageError::Invalid)?;
                    storage.create_session(&hash, agent.id, now, now + auth::SESSION_TTL)?;
                    out.push((token, conversation.id));
                }
                Ok(out)
            },
        )
        .await??;
        sessions.extend(prepared);
    }
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

    // ---- Fan-out to 200 stream clients ----
    let channel = add_channel(&*storage, ChannelKind::Telegram, "bench", "bench-secret")?;
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
    let rounds = 50;
    let mut samples = Vec::with_capacity(rounds * clients);
    for round in 0..rounds {
        let posted = Instant::now();
        let r = http
            .post(format!("{base}/v1/channels/{channel}/inbound"))
            .header("x-outpost-channel-secret", "bench-secret")
            .json(&json!({ "from": format!("cliente_{round}"), "text": "Olá?" }))
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
    rows.push((
        format!("fan-out: inbound message -> frame at {clients} clients"),
        format!("p99 {}", ms(percentile(&mut samples, 0.99))),
        format!("p50 {}", ms(percentile(&mut samples, 0.5))),
    ));

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
