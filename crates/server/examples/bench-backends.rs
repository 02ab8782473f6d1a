//! `cargo xtask bench server --database postgres`: the server on SQLite and on PostgreSQL, side
//! by side in one run, each as real `outpost-server` processes on loopback (the xtask starts a
//! PostgreSQL cluster of its own, fsync on, and builds the release binary):
//!
//! - Ops: 1,000 agents x 5 sends at once: ops/s, p50 and p99 of a request, for SQLite (one
//!   process), PostgreSQL (one process) and PostgreSQL (two processes, the agents spread over
//!   both). Goal: two processes ≥ 1.6x the ops/s of one, p99 under 100 ms.
//! - Initial sync of the whole workspace (1,000,000 messages) to one client from each backend,
//!   in messages/s (pages of 5,000 over HTTP, decoded).
//! - Fan-out: a customer's message posted to one process until 200 streams spread over two
//!   processes say `changed`: p50 and p99.
//!
//! The workspace is made once on SQLite and copied into PostgreSQL by `Postgres::copy_from`
//! (what `outpost-server migrate` does); the copy's time is printed too.
//! Options: `--messages N` for a smaller workspace.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use outpost_protocol::generate::Generator;
use outpost_protocol::*;
use outpost_server::storage::postgres::Postgres;
use outpost_server::storage::sqlite::Sqlite;
use outpost_server::storage::{Storage, StorageError, Tx};
use outpost_server::{add_agent, add_test_channel, auth, workspace};
use serde_json::json;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[path = "../../core/examples/common/bench.rs"]
mod bench;
use bench::{now, percentile, spec_from_args};

const OWNER: &str = "bench@outpost.example";
const PASSWORD: &str = "bench-password";

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The machine's CPU time so far, busy and in all (jiffies, from /proc/stat).
fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some((total - idle, total))
}

/// How busy every core was since `before`, e.g. "97% of 2 cores".
fn busy_since(before: Option<(u64, u64)>) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match (before, cpu_jiffies()) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => format!(
            "{:.0}% of {cores} cores",
            (b1 - b0) as f64 * 100.0 / (t1 - t0) as f64
        ),
        _ => format!("? of {cores} cores"),
    }
}

/// Server processes of one configuration, stopped (SIGTERM) when dropped.
struct Served {
    children: Vec<Child>,
    bases: Vec<String>,
}

impl Served {
    async fn start(
        bin: &str,
        data_dirs: &[std::path::PathBuf],
        database: Option<&str>,
    ) -> Result<Served, Error> {
        let mut served = Served {
            children: Vec::new(),
            bases: Vec::new(),
        };
        let http = reqwest::Client::new();
        for dir in data_dirs {
            let port = free_port();
            let mut cmd = Command::new(bin);
            // The bench's thousand connections come from loopback, as through a proxy: its
            // per-address connection cap would otherwise hold them back.
            cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .args(["--trusted-proxy", "127.0.0.1"])
                .arg("--data-dir")
                .arg(dir)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null());
            if let Some(url) = database {
                cmd.args(["--database", url]);
            }
            served.children.push(cmd.spawn()?);
            let base = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if let Ok(r) = http.get(format!("{base}/healthz")).send().await
                    && r.status().is_success()
                {
                    break;
                }
                if login(&http, &base).await.is_ok() {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!("{base} did not come up").into());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            served.bases.push(base);
        }
        Ok(served)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

async fn login(http: &reqwest::Client, base: &str) -> Result<String, Error> {
    let r = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({ "email": OWNER, "password": PASSWORD }))
        .send()
        .await?;
    let v: serde_json::Value = r.json().await?;
    Ok(v["token"].as_str().ok_or("no token")?.to_owned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let spec = spec_from_args(&args, now())?;
    let url = std::env::var("OUTPOST_BENCH_POSTGRES").map_err(
        |_| "OUTPOST_BENCH_POSTGRES: run it as `cargo xtask bench server --database postgres`",
    )?;
    let bin = std::env::var("OUTPOST_SERVER_BIN")
        .map_err(|_| "OUTPOST_SERVER_BIN: the outpost-server binary (the xtask builds it)")?;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data/backends");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let mut rows: Vec<(String, String, String)> = Vec::new();
    // `--only a,b`: only these parts (sync, ops-sqlite, ops-pg1, ops-pg2, fanout), to study one.
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').map(str::to_owned).collect());
    let runs = |part: &str| only.as_ref().is_none_or(|o| o.iter().any(|p| p == part));

    // ---- The workspace, once, on SQLite ----
    println!("seeding {} messages on SQLite…", spec.messages);
    let sqlite_dir = dir.join("sqlite");
    let (agents, messages) = {
        let sqlite = Sqlite::open(&sqlite_dir)?;
        let mut generator = Generator::new(spec.clone());
        let messages = outpost_server::demo::load(&sqlite, &mut generator, 5_000)?;
        add_agent(
            &sqlite,
            "Bench Owner",
            OWNER,
            PASSWORD,
            Role::Owner,
            Visibility::Unrestricted,
            vec![],
        )?;
        add_test_channel(&sqlite, ChannelKind::Whatsapp, "Bench", "bench-secret")?;
        let agents = signed_in_agents(&sqlite, 1_000)?;
        (agents, messages)
    };
    let channel = {
        let sqlite = Sqlite::open(&sqlite_dir)?;
        sqlite
            .channels()?
            .into_iter()
            .find(|(_, k)| *k == ChannelKind::Whatsapp)
            .map(|(id, _)| id)
            .ok_or("no channel")?
    };
    println!("copying it into PostgreSQL…");
    let schema = format!("bench_{}", std::process::id());
    let pg_url = outpost_server::storage::postgres::new_schema(&url, &schema)?;
    let copying = Instant::now();
    {
        let sqlite = Sqlite::open(&sqlite_dir)?;
        let pg = Postgres::open(&pg_url)?;
        pg.copy_from(&sqlite)?;
    }
    rows.push((
        "migrate: the workspace copied into PostgreSQL".to_owned(),
        format!("{:.1} s", copying.elapsed().as_secs_f64()),
        format!("{messages} messages and everything else, verified by row counts"),
    ));

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let pg_dirs = [dir.join("pg1"), dir.join("pg2")];

    // ---- Initial sync from each backend ----
    for (name, dirs, database) in [
        ("SQLite", vec![sqlite_dir.clone()], None),
        (
            "PostgreSQL",
            vec![pg_dirs[0].clone()],
            Some(pg_url.as_str()),
        ),
    ] {
        if !runs("sync") {
            continue;
        }
        let served = Served::start(&bin, &dirs, database).await?;
        let token = login(&http, &served.bases[0]).await?;
        let started = Instant::now();
        let mut after = 0u64;
        let mut got = 0usize;
        loop {
            let page: ChangesPage = http
                .get(format!(
                    "{}/v1/changes?after={after}&limit=5000",
                    served.bases[0]
                ))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            got += page
                .changes
                .iter()
                .filter(|c| {
                    matches!(
                        &c.kind,
                        ChangeKind::Upsert {
                            entity: Entity::Message(_)
                        }
                    )
                })
                .count();
            after = page.cursor;
            if !page.has_more {
                break;
            }
        }
        let took = started.elapsed();
        rows.push((
            format!("initial sync from {name}, one client"),
            format!("{:.0} msg/s", got as f64 / took.as_secs_f64()),
            format!(
                "{got} messages in {:.1} s (pages of 5,000, decoded)",
                took.as_secs_f64()
            ),
        ));
    }

    // ---- Ops: 1,000 agents x 5 sends at once, on each configuration ----
    let mut ops_per_s = Vec::new();
    for (part, name, dirs, database) in [
        (
            "ops-sqlite",
            "SQLite, 1 process",
            vec![sqlite_dir.clone()],
            None,
        ),
        (
            "ops-pg1",
            "PostgreSQL, 1 process",
            vec![pg_dirs[0].clone()],
            Some(pg_url.as_str()),
        ),
        (
            "ops-pg2",
            "PostgreSQL, 2 processes",
            pg_dirs.to_vec(),
            Some(pg_url.as_str()),
        ),
    ] {
        if !runs(part) {
            continue;
        }
        let served = Served::start(&bin, &dirs, database).await?;
        let before = cpu_jiffies();
        let (rate, mut latencies) = sends(&http, &served.bases, &agents, 5).await?;
        let busy = busy_since(before);
        rows.push((
            format!("ops: 1,000 agents x 5 sends at once, {name}"),
            format!("{rate:.0} ops/s"),
            format!(
                "p50 {}, p99 {}; the machine's CPU {busy} busy (servers, PostgreSQL and this client share it)",
                ms(percentile(&mut latencies, 0.5)),
                ms(percentile(&mut latencies, 0.99))
            ),
        ));
        ops_per_s.push((part, rate));
    }
    let rate_of = |part| ops_per_s.iter().find(|(p, _)| *p == part).map(|(_, r)| *r);
    if let (Some(one), Some(two)) = (rate_of("ops-pg1"), rate_of("ops-pg2")) {
        rows.push((
            "PostgreSQL: 2 processes / 1 process".to_owned(),
            format!("{:.2}x", two / one),
            "goal ≥ 1.6x".to_owned(),
        ));
    }

    // ---- Fan-out over two processes ----
    if runs("fanout") {
        let served = Served::start(&bin, &pg_dirs, Some(&pg_url)).await?;
        let mut streams = Vec::new();
        for (i, (token, _)) in agents.iter().take(200).enumerate() {
            let base = &served.bases[i % 2];
            let url = format!(
                "{}/v1/stream?token={token}",
                base.replace("http://", "ws://")
            );
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
            ws.next().await.ok_or("stream ended")??; // the first "changed"
            streams.push(ws);
        }
        let mut samples = Vec::new();
        for round in 0..20 {
            let posted = Instant::now();
            let r = http
                .post(format!(
                    "{}/v1/channels/{channel}/inbound",
                    served.bases[round % 2]
                ))
                .header("x-outpost-channel-secret", "bench-secret")
                .json(&json!({ "from": format!("5511988880{round:03}"), "text": "Olá?" }))
                .send()
                .await?;
            assert_eq!(r.status(), 200);
            let waits = streams.iter_mut().map(|ws| async move {
                loop {
                    let frame = ws.next().await.ok_or("stream ended")??;
                    let v: serde_json::Value = serde_json::from_str(frame.to_text()?)?;
                    if v["type"] == "changed" {
                        return Ok::<_, Error>(posted.elapsed());
                    }
                }
            });
            for d in futures_util::future::join_all(waits).await {
                samples.push(d?);
            }
            // The test channel's ticks settle before the next round.
            tokio::time::sleep(Duration::from_millis(300)).await;
            for ws in &mut streams {
                while let Ok(Some(_)) =
                    tokio::time::timeout(Duration::from_millis(1), ws.next()).await
                {
                }
            }
        }
        rows.push((
            "inbound → stream `changed`, 200 clients over 2 PostgreSQL processes".to_owned(),
            format!("p99 {}", ms(percentile(&mut samples, 0.99))),
            format!(
                "p50 {}, {} samples",
                ms(percentile(&mut samples, 0.5)),
                samples.len()
            ),
        ));
    }

    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(10);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(10);
    println!("\n| {:<w0$} | {:>w1$} | detail |", "metric", "value");
    println!("|{}|{}|--------|", "-".repeat(w0 + 2), "-".repeat(w1 + 2));
    for (m, v, d) in &rows {
        println!("| {m:<w0$} | {v:>w1$} | {d} |");
    }
    Ok(())
}

/// Every agent sends `per_agent` messages, one request each, all agents at once (agent i to
/// process i mod n): ops/s and each request's time.
async fn sends(
    http: &reqwest::Client,
    bases: &[String],
    agents: &[(String, ConversationId)],
    per_agent: usize,
) -> Result<(f64, Vec<Duration>), Error> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, (token, conversation_id)) in agents.iter().enumerate() {
        let (http, base, token, conversation_id) = (
            http.clone(),
            bases[i % bases.len()].clone(),
            token.clone(),
            *conversation_id,
        );
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
    Ok((latencies.len() as f64 / took.as_secs_f64(), latencies))
}

/// `count` agents, each with an open conversation of their own, signed in: their tokens and
/// conversations.
fn signed_in_agents(
    storage: &Sqlite,
    count: usize,
) -> Result<Vec<(String, ConversationId)>, Error> {
    let now = now();
    (0..count)
        .map(|i| {
            let agent = Agent::new(
                AgentId::new(),
                &format!("agente{i}"),
                &format!("agente{i}@outpost.example"),
                Role::Agent,
                Visibility::Unrestricted,
                vec![],
            );
            let mut c = Conversation::new(
                ConversationId::new(),
                ContactId::new(),
                ChannelKind::Telegram,
                now,
            );
            c.assignee = Some(agent.id);
            c.unanswered = true;
            c.last_message_direction = Some(Direction::Incoming);
            c.last_incoming_at = Some(now);
            storage.write(|tx| {
                tx.put(&Entity::Agent(agent.clone()))?;
                workspace::put_announced(tx, &Entity::Conversation(c.clone()))
            })?;
            let (token, hash) = auth::new_token().map_err(StorageError::Invalid)?;
            storage.create_session(&hash, agent.id, now, now + auth::SESSION_TTL)?;
            Ok::<_, Error>((token, c.id))
        })
        .collect()
}
