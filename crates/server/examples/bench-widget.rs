//! `cargo xtask bench widget`: the web-chat widget's figures over loopback, as a table.
//!
//! - Size: what a site's visitor downloads (the tag's script, and the panel: its page, script
//!   and styles), gzipped (`gzip -9`, as a server or CDN would send it). Goal: under 50 KB.
//! - Latency: 200 visitors connected at once each send a message; the time from the visitor's
//!   send to the agent's client holding it (its stream says `changed`, its pull brings the
//!   message): p50 and p99.
//!
//! The launcher's time to visible after a page load is measured in a real browser by the widget
//! browser test (tests/browser/widget.test.mjs prints it).

// A benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use outpost_protocol::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Ws;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[path = "../../core/examples/common/bench.rs"]
mod bench;
use bench::{percentile, verdict};

const VISITORS: usize = 200;

fn gzipped(bytes: &[u8]) -> usize {
    use std::io::Write;
    let mut gzip = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    gzip.stdin.take().unwrap().write_all(bytes).unwrap();
    gzip.wait_with_output().unwrap().stdout.len()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data/widget");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
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
    outpost_server::add_agent(
        &*storage,
        "Bench Owner",
        "bench@outpost.example",
        "bench-password-1",
        Role::Owner,
        Visibility::Unrestricted,
        vec![],
    )?;
    let channel = outpost_server::add_channel(
        &*storage,
        outpost_server::NewChannel {
            kind: ChannelKind::WebChat,
            name: "Bench".into(),
            test: false,
            secret: "bench-widget-secret".into(),
            settings: json!({ "allowed_origins": ["https://loja.example"] }),
        },
    )?;
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();

    // ---- Size ----
    let get = |path: String| {
        let http = http.clone();
        async move { http.get(path).send().await.unwrap().bytes().await.unwrap() }
    };
    let loader = get(format!("{base}/widget/{}.js", channel.id)).await;
    let mut panel = get(format!("{base}/widget/{}/frame", channel.id))
        .await
        .to_vec();
    panel.extend_from_slice(&get(format!("{base}/widget/assets/frame.js")).await);
    panel.extend_from_slice(&get(format!("{base}/widget/assets/frame.css")).await);
    let (loader_gz, panel_gz) = (gzipped(&loader), gzipped(&panel));

    // ---- The agent's client: its stream, and a pull after each `changed` ----
    let login: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({ "email": "bench@outpost.example", "password": "bench-password-1" }))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().unwrap().to_owned();
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let (mut agent, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/v1/stream?token={token}", server.addr))
            .await?;
    let puller = {
        let (seen, http, base, token) = (seen.clone(), http.clone(), base.clone(), token.clone());
        tokio::spawn(async move {
            let mut cursor = 0u64;
            while let Some(Ok(frame)) = agent.next().await {
                let Ws::Text(t) = frame else { continue };
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] != "changed" {
                    continue;
                }
                loop {
                    let page: ChangesPage = http
                        .get(format!("{base}/v1/changes?after={cursor}&limit=5000"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    let at = Instant::now();
                    for c in &page.changes {
                        if let ChangeKind::Upsert {
                            entity: Entity::Message(m),
                        } = &c.kind
                        {
                            seen.lock().unwrap().entry(m.id.to_string()).or_insert(at);
                        }
                    }
                    cursor = page.cursor;
                    if !page.has_more {
                        break;
                    }
                }
            }
        })
    };

    // ---- 200 visitors, connected at once ----
    let mut sockets = Vec::new();
    for i in 0..VISITORS {
        let v: Value = http
            .post(format!("{base}/v1/widget/{}/visitors", channel.id))
            // Each from an address of its own, as a proxy would say.
            .header(
                "x-forwarded-for",
                format!("10.0.{}.{}", i / 250, i % 250 + 1),
            )
            .json(&json!({ "name": format!("Visitante {i}") }))
            .send()
            .await?
            .json()
            .await?;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!(
            "ws://{}/v1/widget/{}/stream?token={}",
            server.addr,
            channel.id,
            v["token"].as_str().unwrap()
        ))
        .await?;
        ws.next().await.unwrap()?; // hello
        sockets.push(ws);
    }
    let sends: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, mut ws)| {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(i as u64 * 10)).await;
                let sent_at = Instant::now();
                let client_id = uuid::Uuid::now_v7();
                ws.send(Ws::text(
                    json!({ "type": "send", "client_id": client_id, "text": format!("Olá, sou a visitante {i}") })
                        .to_string(),
                ))
                .await
                .unwrap();
                loop {
                    let Ws::Text(t) = ws.next().await.unwrap().unwrap() else { continue };
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "sent" {
                        return (v["id"].as_str().unwrap().to_owned(), sent_at, ws);
                    }
                }
            })
        })
        .collect();
    let mut sent = Vec::new();
    for s in sends {
        sent.push(s.await?);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut latencies = loop {
        let seen = seen.lock().unwrap().clone();
        if sent.iter().all(|(id, _, _)| seen.contains_key(id)) {
            break sent
                .iter()
                .map(|(id, at, _)| seen[id].saturating_duration_since(*at))
                .collect::<Vec<_>>();
        }
        assert!(
            Instant::now() < deadline,
            "not every message reached the agent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    puller.abort();
    let (p50, p99) = (
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
    );
    let total_gz = loader_gz + panel_gz;
    println!();
    println!("| figure | value | goal | |");
    println!("|---|---|---|---|");
    println!(
        "| tag's script, gzipped | {:.1} KB ({} B raw) | | |",
        loader_gz as f64 / 1024.0,
        loader.len()
    );
    println!(
        "| panel (page, script, styles), gzipped | {:.1} KB ({} B raw) | | |",
        panel_gz as f64 / 1024.0,
        panel.len()
    );
    println!(
        "| everything a visitor downloads, gzipped | {:.1} KB | < 50 KB | {} |",
        total_gz as f64 / 1024.0,
        verdict(total_gz < 50 * 1024)
    );
    println!(
        "| visitor message → agent's client, {VISITORS} visitors, p50 | {:.1} ms | | |",
        p50.as_secs_f64() * 1e3
    );
    println!(
        "| visitor message → agent's client, {VISITORS} visitors, p99 | {:.1} ms | | |",
        p99.as_secs_f64() * 1e3
    );
    server.stop().await;
    Ok(())
}
