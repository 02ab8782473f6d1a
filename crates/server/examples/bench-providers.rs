//! `cargo xtask bench providers`: a real WhatsApp channel's figures over loopback, as a table.
//!
//! - Inbound: 2,000 webhooks from 200 customers, 16 at once (as Meta delivers), each signed
//!   (`X-Hub-Signature-256`, checked before parsing): messages/s, and p50/p99 from the POST to
//!   its 200 (the message is stored and announced to the desktops' streams by then).
//! - Outbound: 1,000 agents' replies (5 in each of 200 conversations) to a stand-in of the Cloud
//!   API answering each send in 50 ms: messages/s, and p50/p99 from the op to "handed over".
//! - Outbound under a rate limit: the same, the stand-in taking at most 100 messages a second
//!   (a token bucket, as Meta's throughput limit) and answering the others 429 with
//!   `Retry-After: 1`: messages/s, how many 429s, and that each message was taken once and in
//!   its conversation's order.

// A benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outpost_protocol::*;
use outpost_server::providers::whatsapp;
use outpost_server::storage::Storage;
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[path = "../../core/examples/common/bench.rs"]
mod bench;
use bench::{percentile, verdict};

const CUSTOMERS: usize = 200;
const INBOUND: usize = 2_000;
const PER_CONVERSATION: usize = 5;
const APP_SECRET: &str = "bench-app-secret";
const TOKEN: &str = "bench-access-token";
const PHONE: &str = "100200300400";

/// Messages a second the stand-in takes while `limited`.
const LIMIT_PER_SECOND: f64 = 100.0;

/// The stand-in of the Graph API: sends answered after 50 ms; while `limited`, beyond
/// [`LIMIT_PER_SECOND`] refused with 429. It keeps the texts it took, in order.
#[derive(Default)]
struct StandIn {
    limited: std::sync::atomic::AtomicBool,
    seen: AtomicU64,
    refused: AtomicUsize,
    taken: Mutex<Vec<(String, String)>>,
    /// The token bucket: tokens, and when it was last filled.
    bucket: Mutex<Option<(f64, Instant)>>,
}

impl StandIn {
    /// Whether a send is within the limit (a token taken).
    fn within_limit(&self) -> bool {
        let mut b = self.bucket.lock().unwrap();
        let now = Instant::now();
        let (tokens, at) = b.get_or_insert((LIMIT_PER_SECOND, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * LIMIT_PER_SECOND)
            .min(LIMIT_PER_SECOND);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn stand_in() -> (std::net::SocketAddr, Arc<StandIn>) {
    let state = Arc::new(StandIn::default());
    let s = state.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: axum::body::Bytes| {
        let s = s.clone();
        async move {
            use axum::response::IntoResponse;
            if uri.path().ends_with("/message_templates") {
                return axum::Json(json!({ "data": [] })).into_response();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            let n = s.seen.fetch_add(1, Ordering::SeqCst);
            if s.limited.load(Ordering::SeqCst) && !s.within_limit() {
                s.refused.fetch_add(1, Ordering::SeqCst);
                let mut r = (
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    axum::Json(json!({ "error": { "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429 } })),
                )
                    .into_response();
                r.headers_mut().insert("retry-after", "1".parse().unwrap());
                return r;
            }
            let v: Value = serde_json::from_slice(&body).unwrap_or_default();
            let to = v["to"].as_str().unwrap_or("").to_owned();
            let text = v["text"]["body"].as_str().unwrap_or("").to_owned();
            s.taken.lock().unwrap().push((to, text));
            axum::Json(json!({ "messaging_product": "whatsapp", "messages": [{ "id": format!("wamid.B{n}") }] })).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, state)
}

fn webhook(i: usize) -> Value {
    let from = format!("55119{:07}", i % CUSTOMERS);
    json!({ "object": "whatsapp_business_account", "entry": [{ "id": "1", "changes": [{ "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": "5511400000000", "phone_number_id": PHONE },
        "contacts": [{ "profile": { "name": format!("Cliente {}", i % CUSTOMERS) }, "wa_id": from }],
        "messages": [{ "from": from, "id": format!("wamid.IN{i}"), "timestamp": "1767225600", "type": "text", "text": { "body": format!("Mensagem {i} do cliente") } }]
    } }] }] })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data/providers");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let (graph, stand) = stand_in().await;
    let server =
        outpost_server::start(&dir, "127.0.0.1:0".parse()?, outpost_server::system_clock()).await?;
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
            kind: ChannelKind::Whatsapp,
            name: "Bench WhatsApp".into(),
            test: false,
            secret: "bench-verify-token".into(),
            settings: json!({
                "phone_number_id": PHONE, "business_account_id": "1", "access_token": TOKEN,
                "app_secret": APP_SECRET, "api_base": format!("http://{graph}/v21.0"),
            }),
        },
    )?;
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let token = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({ "email": "bench@outpost.example", "password": "bench-password-1" }))
        .send()
        .await?
        .json::<Value>()
        .await?["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Inbound: signed webhooks, 16 at once.
    let url = format!("{base}/v1/webhooks/whatsapp/{}", channel.id);
    let bodies: Vec<Vec<u8>> = (0..INBOUND)
        .map(|i| serde_json::to_vec(&webhook(i)).unwrap())
        .collect();
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(INBOUND)));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (http, url, next, latencies, bodies) = (
            http.clone(),
            url.clone(),
            next.clone(),
            latencies.clone(),
            bodies.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= bodies.len() {
                    break;
                }
                let t = Instant::now();
                let r = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(
                        "x-hub-signature-256",
                        whatsapp::signature(APP_SECRET, &bodies[i]),
                    )
                    .body(bodies[i].clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                latencies.lock().unwrap().push(t.elapsed());
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let inbound_secs = start.elapsed().as_secs_f64();
    let mut lat = latencies.lock().unwrap().clone();
    let (in_p50, in_p99) = (percentile(&mut lat, 0.5), percentile(&mut lat, 0.99));

    // The conversations the customers opened.
    let conversations: Vec<ConversationId> = storage.write(|tx| {
        use outpost_server::storage::Tx;
        Ok::<_, outpost_server::storage::StorageError>(
            tx.all_conversations()?.into_iter().map(|c| c.id).collect(),
        )
    })?;
    assert_eq!(conversations.len(), CUSTOMERS);

    let outbound = |label: &'static str| {
        let (http, base, token, storage, conversations) = (
            http.clone(),
            base.clone(),
            token.clone(),
            storage.clone(),
            conversations.clone(),
        );
        async move {
            let mut sent_at: HashMap<MessageId, Instant> = HashMap::new();
            let start = Instant::now();
            for round in 0..PER_CONVERSATION {
                let ops: Vec<Op> = conversations
                    .iter()
                    .map(|c| {
                        let id = MessageId::new();
                        sent_at.insert(id, Instant::now());
                        Op {
                            op_id: OpId::new(),
                            at: bench::now(),
                            action: Action::SendMessage {
                                message_id: id,
                                conversation_id: *c,
                                text: format!("{label} {round}"),
                                attachments: vec![],
                                template: None,
                                reply_to: None,
                            },
                        }
                    })
                    .collect();
                let r = http
                    .post(format!("{base}/v1/ops"))
                    .bearer_auth(&token)
                    .json(&json!({ "ops": ops }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }
            let mut handed: HashMap<MessageId, Duration> = HashMap::new();
            let deadline = Instant::now() + Duration::from_secs(300);
            while handed.len() < sent_at.len() && Instant::now() < deadline {
                for (id, at) in &sent_at {
                    if handed.contains_key(id) {
                        continue;
                    }
                    if let Some(Entity::Message(m)) = storage.get(EntityRef::Message(*id)).unwrap()
                        && m.status != MessageStatus::Pending
                    {
                        assert_eq!(m.status, MessageStatus::Wired, "{:?}", m.failure);
                        handed.insert(*id, at.elapsed());
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(handed.len(), sent_at.len(), "every message handed over");
            let secs = start.elapsed().as_secs_f64();
            let mut lat: Vec<Duration> = handed.into_values().collect();
            (
                sent_at.len() as f64 / secs,
                percentile(&mut lat, 0.5),
                percentile(&mut lat, 0.99),
            )
        }
    };
    let (out_rate, out_p50, out_p99) = outbound("Resposta").await;
    stand.limited.store(true, Ordering::SeqCst);
    let (lim_rate, lim_p50, lim_p99) = outbound("Limitada").await;
    // Each message taken once, in its conversation's order.
    let taken = stand.taken.lock().unwrap().clone();
    let mut by_customer: HashMap<String, Vec<String>> = HashMap::new();
    for (to, text) in &taken {
        by_customer
            .entry(to.clone())
            .or_default()
            .push(text.clone());
    }
    let expected: Vec<String> = (0..PER_CONVERSATION)
        .map(|r| format!("Resposta {r}"))
        .chain((0..PER_CONVERSATION).map(|r| format!("Limitada {r}")))
        .collect();
    let once_in_order =
        by_customer.len() == CUSTOMERS && by_customer.values().all(|v| *v == expected);
    let refused = stand.refused.load(Ordering::SeqCst);

    println!();
    println!("| figure | value | goal | |");
    println!("|---|---|---|---|");
    println!(
        "| inbound webhooks, signed, stored and announced ({INBOUND}, 16 at once) | {:.0} msg/s | | |",
        INBOUND as f64 / inbound_secs
    );
    println!(
        "| inbound p50 / p99 (POST to 200) | {in_p50:.1?} / {in_p99:.1?} | p99 < 100 ms | {} |",
        verdict(in_p99 < Duration::from_millis(100))
    );
    println!(
        "| outbound to a 50 ms stand-in ({} messages, {CUSTOMERS} conversations) | {out_rate:.0} msg/s | ≥ 200 msg/s | {} |",
        CUSTOMERS * PER_CONVERSATION,
        verdict(out_rate >= 200.0)
    );
    println!("| outbound p50 / p99 (op to handed over) | {out_p50:.0?} / {out_p99:.0?} | | |");
    println!(
        "| outbound against a limit of 100 msg/s (429, Retry-After 1 s) | {lim_rate:.0} msg/s, {refused} × 429 | | |"
    );
    println!("| under 429s: p50 / p99 | {lim_p50:.0?} / {lim_p99:.0?} | | |");
    println!(
        "| each message taken once, in its conversation's order | {} | yes | {} |",
        if once_in_order { "yes" } else { "no" },
        verdict(once_in_order)
    );
    server.stop().await;
    Ok(())
}
