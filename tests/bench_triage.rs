//! `cargo xtask bench triage`: from a customer's message committed at the server to its
//! notification shown by the desktop's notification daemon, on loopback. The real server, a real
//! client (mirror, sync engine with its stream, the triage), the shell's own notify-rust builder,
//! and dunst as the daemon (xtask runs this under Xvfb in a D-Bus session). "Shown" is the
//! daemon's answer to Notify: it has taken the notification and put it on screen.
//!
//! Each message comes from a new customer (a notification of its own). Options: `--messages N`
//! (default 200), `--every MS` between messages (default 100).

use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost_core::api::Connection;
use outpost_core::sync::Syncer;
use outpost_core::sync::engine::Engine;
use outpost_core::{Client, Event, SystemClock};
use outpost_protocol::*;

#[path = "../crates/core/examples/common/bench.rs"]
mod bench;
use bench::{arg, percentile};

#[path = "../src-tauri/src/native.rs"]
mod native;

type Error = Box<dyn std::error::Error + Send + Sync>;

const PASSWORD: &str = "bench-password";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let rounds = arg(&args, "--messages", 200)?;
    let every = Duration::from_millis(arg(&args, "--every", 100)? as u64);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data/triage");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;

    // The daemon: dunst, its notifications expiring after a second.
    std::fs::write(dir.join("dunstrc"), "[global]\n    timeout = 1\n")?;
    let mut dunst = std::process::Command::new("dunst")
        .arg("-config")
        .arg(dir.join("dunstrc"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("dunst: {e} (xtask installs it)"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while notify_rust::get_server_information().is_err() {
        if Instant::now() > deadline {
            return Err("the notification daemon did not answer".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let daemon = notify_rust::get_server_information()?;
    let capabilities = native::Daemon::ask();

    let server = outpost_server::start(
        &dir.join("server"),
        "127.0.0.1:0".parse()?,
        outpost_server::system_clock(),
    )
    .await?;
    let storage = server.app.storage.clone();
    let base = format!("http://{}", server.addr);
    let me = outpost_server::add_agent(
        &*storage,
        "Ana Bench",
        "ana.bench@outpost.example",
        PASSWORD,
        Role::Agent,
        Visibility::Unrestricted,
        vec![],
    )?;
    let channel = outpost_server::add_test_channel(
        &*storage,
        ChannelKind::Whatsapp,
        "bench",
        "bench-secret",
    )?;

    let client = Arc::new(Client::open(dir.join("mirror.db"), Arc::new(SystemClock))?);
    let syncer = Syncer::login(client.clone(), &base, &me.email, PASSWORD).await?;
    // Every category on: whoever the server assigns a conversation to, it notifies.
    let mut settings = NotifySettings::defaults(me.id);
    settings.enabled = NotifyCategory::ALL.to_vec();
    settings.muted_when_away.clear();
    client.act(Action::SaveNotifySettings { settings })?;
    let engine = Engine::start(syncer.resume_clone());
    let status = engine.status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while status.borrow().connection != Connection::Online || status.borrow().waiting > 0 {
        if Instant::now() > deadline {
            return Err("the engine did not come online".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The shell's part: each decision shown through notify-rust, the time of the daemon's answer.
    let events = client.subscribe();
    let (shown_tx, mut shown) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    std::thread::spawn(move || {
        for e in events {
            if let Event::Notify { notification } = e {
                let shown = native::native(&notification, capabilities, None).show();
                let at = Instant::now();
                if shown.is_err() || shown_tx.send((notification.title, at)).is_err() {
                    break;
                }
            }
        }
    });

    let http = reqwest::Client::new();
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..rounds {
        while shown.try_recv().is_ok() {}
        let name = format!("Cliente {i}");
        let r = http
            .post(format!("{base}/v1/channels/{channel}/inbound"))
            .header("x-outpost-channel-secret", "bench-secret")
            .json(&serde_json::json!({
                "from": format!("55119{i:08}"),
                "name": name,
                "text": "Olá, vocês podem me ajudar?",
            }))
            .send()
            .await?;
        // The server answers once the message is committed.
        let committed = Instant::now();
        if r.status() != 200 {
            return Err(format!("inbound failed: {}", r.status()).into());
        }
        let deadline = committed + Duration::from_secs(10);
        loop {
            let (title, at) = tokio::time::timeout_at(deadline.into(), shown.recv())
                .await
                .map_err(|_| format!("no notification for message {i}"))?
                .ok_or("the notifier stopped")?;
            if title.starts_with(&name) && title[name.len()..].starts_with(" ·") {
                samples.push(at.saturating_duration_since(committed));
                break;
            }
        }
        tokio::time::sleep(every).await;
    }
    engine.stop().await;
    let _ = dunst.kill();
    let _ = dunst.wait();

    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    let (p50, p95, p99, max) = (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.95),
        percentile(&mut samples, 0.99),
        percentile(&mut samples, 1.0),
    );
    println!(
        "\nOutpost triage benchmark: {rounds} customer messages, one every {} ms; daemon {} {}",
        every.as_millis(),
        daemon.name,
        daemon.version
    );
    println!("| metric | value | goal |");
    println!("|---|---|---|");
    println!(
        "| message committed at the server -> notification shown by the daemon | p50 {} / p95 {} / p99 {} / max {} | p99 < 200 ms {} |",
        ms(p50),
        ms(p95),
        ms(p99),
        ms(max),
        bench::verdict(p99 < Duration::from_millis(200))
    );
    Ok(())
}
