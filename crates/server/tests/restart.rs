//! The real binary, killed with SIGKILL in the middle of a load and started again: nothing it
//! acknowledged is lost, retried ops change nothing twice, and a scheduled message that fell due
//! while it was down is sent after the restart.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use outpost_protocol::*;
use serde_json::{Value, json};

const EMAIL: &str = "dona@outpost.example";
const PASSWORD: &str = "uma-senha-longa";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_outpost-server"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir)
        .envs(common::database_for(dir).map(|url| ("OUTPOST_DATABASE", url)))
        .env("OUTPOST_OWNER_EMAIL", EMAIL)
        .env("OUTPOST_OWNER_PASSWORD", PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start outpost-server")
}

async fn login(http: &reqwest::Client, base: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({ "email": EMAIL, "password": PASSWORD }))
            .send()
            .await
            && r.status() == 200
        {
            return r.json::<Value>().await.unwrap()["token"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post_ops(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    ops: &[Op],
) -> Option<Vec<OpResult>> {
    let r = http
        .post(format!("{base}/v1/ops"))
        .bearer_auth(token)
        .json(&json!({ "ops": ops }))
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    let v: Value = r.json().await.ok()?;
    serde_json::from_value(v["results"].clone()).ok()
}

async fn all_changes(http: &reqwest::Client, base: &str, token: &str) -> Vec<Entity> {
    let mut after = 0;
    let mut out = std::collections::HashMap::new();
    loop {
        let page: ChangesPage = http
            .get(format!("{base}/v1/changes?after={after}&limit=1000"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for c in page.changes {
            match c.kind {
                ChangeKind::Upsert { entity } => {
                    out.insert(entity.reference(), entity);
                }
                ChangeKind::Tombstone { entity } | ChangeKind::Revoke { entity } => {
                    out.remove(&entity);
                }
            }
        }
        after = page.cursor;
        if !page.has_more {
            return out.into_values().collect();
        }
    }
}

fn now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as Millis
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_kill_9_mid_load_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut server = spawn(dir.path(), port);
    let token = login(&http, &base).await;

    // A conversation on a channel without a messaging window, and a message scheduled to fall
    // due while the server is down.
    let conversation_id = ConversationId::new();
    let first = Op {
        op_id: OpId::new(),
        at: now(),
        action: Action::WriteFirst {
            conversation_id,
            contact_id: ContactId::new(),
            message_id: MessageId::new(),
            channel: ChannelKind::Telegram,
            address: "cliente_teste".into(),
            text: "Olá!".into(),
            template: None,
        },
    };
    let scheduled = MessageId::new();
    let schedule = Op {
        op_id: OpId::new(),
        at: now(),
        action: Action::ScheduleMessage {
            message_id: scheduled,
            conversation_id,
            text: "Lembrete".into(),
            attachments: vec![],
            template: None,
            send_at: now() + 1_500,
        },
    };
    let r = post_ops(&http, &base, &token, &[first, schedule])
        .await
        .unwrap();
    assert!(
        r.iter()
            .all(|r| matches!(r.outcome, OpOutcome::Applied { .. })),
        "{r:?}"
    );

    // A load of sends in batches; the server is killed while it runs.
    let ops: Vec<Op> = (0..2_000)
        .map(|i| Op {
            op_id: OpId::new(),
            at: now(),
            action: Action::SendMessage {
                message_id: MessageId::new(),
                conversation_id,
                text: format!("mensagem {i}"),
                attachments: vec![],
                template: None,
                reply_to: None,
            },
        })
        .collect();
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sender = {
        let (http, base, token, ops, progress) = (
            http.clone(),
            base.clone(),
            token.clone(),
            ops.clone(),
            progress.clone(),
        );
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for batch in ops.chunks(5) {
                match post_ops(&http, &base, &token, batch).await {
                    Some(results) => acknowledged.extend(results),
                    None => break,
                }
                progress.store(acknowledged.len(), std::sync::atomic::Ordering::SeqCst);
            }
            acknowledged
        })
    };
    while progress.load(std::sync::atomic::Ordering::SeqCst) < 100 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill().unwrap(); // SIGKILL, in the middle of the load
    server.wait().unwrap();
    let acknowledged = sender.await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_600)).await; // the scheduled message falls due

    let mut server = spawn(dir.path(), port);
    let token = login(&http, &base).await;
    let entities = all_changes(&http, &base, &token).await;
    let texts: Vec<&str> = entities
        .iter()
        .filter_map(|e| match e {
            Entity::Message(m) if m.conversation_id == conversation_id => Some(m.text.as_str()),
            _ => None,
        })
        .collect();
    for r in &acknowledged {
        let op = ops.iter().find(|o| o.op_id == r.op_id).unwrap();
        let Action::SendMessage { text, .. } = &op.action else {
            unreachable!()
        };
        assert!(matches!(r.outcome, OpOutcome::Applied { .. }));
        assert_eq!(
            texts.iter().filter(|t| **t == text).count(),
            1,
            "acknowledged '{text}' is there once"
        );
    }
    println!(
        "{} of 2000 sends acknowledged before the kill",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() < ops.len(),
        "the kill came in the middle of the load"
    );

    // The client retries everything (it cannot know what the server did): nothing doubles.
    for batch in ops.chunks(250) {
        let results = post_ops(&http, &base, &token, batch).await.unwrap();
        for r in results {
            if let Some(first) = acknowledged.iter().find(|a| a.op_id == r.op_id) {
                assert_eq!(&r, first, "a retried op answers its first result");
            }
        }
    }
    let entities = all_changes(&http, &base, &token).await;
    for i in 0..2_000 {
        let text = format!("mensagem {i}");
        let n = entities
            .iter()
            .filter(|e| matches!(e, Entity::Message(m) if m.text == text))
            .count();
        assert_eq!(n, 1, "'{text}' exactly once after the retries");
    }
    // The timer ran after the restart: the scheduled message left the Scheduled folder.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let entities = all_changes(&http, &base, &token).await;
        let status = entities.iter().find_map(|e| match e {
            Entity::Message(m) if m.id == scheduled => Some(m.status),
            _ => None,
        });
        if status.is_some_and(|s| s != MessageStatus::Scheduled) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the message due during the downtime was not sent"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

/// A stand-in of the Graph API that takes requests and never answers; it counts the sends.
async fn silent_provider() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sends = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = sends.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if String::from_utf8_lossy(&seen).contains("/messages") {
                        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        seen.clear();
                    }
                }
                // Held open, never answered.
                tokio::time::sleep(Duration::from_secs(600)).await;
            });
        }
    });
    (port, sends)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_send_whose_answer_never_came_is_failed_after_kill_9_and_not_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut server = spawn(dir.path(), port);
    let token = login(&http, &base).await;
    let (graph, sends) = silent_provider().await;
    let r = http
        .post(format!("{base}/v1/admin/channels"))
        .bearer_auth(&token)
        .json(
            &json!({ "kind": "whatsapp", "name": "WhatsApp", "settings": {
            "phone_number_id": "1001", "business_account_id": "2002", "access_token": "token-1",
            "app_secret": "app-secret-1", "api_base": format!("http://127.0.0.1:{graph}/v21.0"),
        } }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let channel = r.json::<Value>().await.unwrap()["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A customer writes (a signed webhook), the owner replies.
    let body = serde_json::to_vec(&json!({ "object": "whatsapp_business_account", "entry": [{ "id": "2002", "changes": [{ "field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": { "display_phone_number": "551140000000", "phone_number_id": "1001" },
        "contacts": [{ "profile": { "name": "Ana" }, "wa_id": "5511988887777" }],
        "messages": [{ "from": "5511988887777", "id": "wamid.K1", "timestamp": "1767225600", "type": "text", "text": { "body": "Oi" } }]
    } }] }] }))
    .unwrap();
    let r = http
        .post(format!("{base}/v1/webhooks/whatsapp/{channel}"))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            outpost_server::providers::whatsapp::signature("app-secret-1", &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let conversation = all_changes(&http, &base, &token)
        .await
        .into_iter()
        .find_map(|e| match e {
            Entity::Conversation(c) => Some(c.id),
            _ => None,
        })
        .unwrap();
    let reply = MessageId::new();
    let op = Op {
        op_id: OpId::new(),
        at: now(),
        action: Action::SendMessage {
            message_id: reply,
            conversation_id: conversation,
            text: "Olá Ana!".into(),
            attachments: vec![],
            template: None,
            reply_to: None,
        },
    };
    assert!(post_ops(&http, &base, &token, &[op]).await.is_some());
    // The request is out, its answer never comes: the server dies.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sends.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the send never reached the provider"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let mut server = spawn(dir.path(), port);
    let token = login(&http, &base).await;
    // It may have left: failed, saying so, and not sent a second time.
    let deadline = Instant::now() + Duration::from_secs(10);
    let failed = loop {
        let m = all_changes(&http, &base, &token)
            .await
            .into_iter()
            .find_map(|e| match e {
                Entity::Message(m) if m.id == reply => Some(m),
                _ => None,
            });
        if let Some(m) = m.filter(|m| m.status == MessageStatus::Failed) {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "the unanswered send was not settled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(failed.failure_reason.unwrap().key, "provider_uncertain");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sends.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "not sent again"
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
