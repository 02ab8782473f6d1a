//! A business's own workspace, set up only through the admin API (no demo): the owner adds a
//! web chat and invites an agent; the agent joins with the link in Outpost (the core app); a
//! customer writes through the widget's protocol; the agent answers from Outpost; the visitor
//! sees the answer, and their widget's receipts are the agent's ticks.

// A test: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use outpost_core::api::{Password, Request, Response};
use outpost_e2e::until_async;
use outpost_protocol::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Ws;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_owner_channel_invited_agent_and_a_visitor_who_gets_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = outpost_server::start(
        &dir.path().join("server"),
        "127.0.0.1:0".parse().unwrap(),
        outpost_server::system_clock(),
    )
    .await
    .unwrap();
    // The owner, as `outpost-server serve --owner-email` makes them on a new server.
    outpost_server::add_agent(
        &*server.app.storage,
        "Dona Loja",
        "dona@loja.example",
        "a senha da dona 2026",
        Role::Owner,
        Visibility::Unrestricted,
        vec![],
    )
    .unwrap();
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let owner: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({ "email": "dona@loja.example", "password": "a senha da dona 2026" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let owner = owner["token"].as_str().unwrap().to_owned();
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&owner)
            .json(&body)
            .send()
    };
    let channel: Value = post(
        "/v1/admin/channels",
        json!({ "kind": "web_chat", "name": "loja.example", "settings": { "allowed_origins": ["https://loja.example"] } }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let channel = channel["channel"]["id"].as_str().unwrap().to_owned();
    let invited: Value = post(
        "/v1/admin/agents",
        json!({ "name": "Caio Atendente", "email": "caio@loja.example", "role": "agent", "visibility": "unrestricted" }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let link = invited["invite_url"].as_str().unwrap().to_owned();

    // The agent joins from Outpost with the link.
    let app = Arc::new(
        outpost_core::app::App::start(
            &dir.path().join("caio"),
            outpost_core::sync::keyring::Keyring::new(&format!(
                "dev.outpost.test.{}",
                uuid::Uuid::now_v7()
            )),
            Arc::new(outpost_core::SystemClock),
        )
        .await,
    );
    let joined = app
        .handle(Request::AcceptInvite {
            link,
            password: Password("a senha do Caio 2026".into()),
        })
        .await;
    assert!(matches!(joined, Response::Session { .. }), "{joined:?}");

    // A customer writes through the widget.
    let visitor: Value = http
        .post(format!("{base}/v1/widget/{channel}/visitors"))
        .json(&json!({ "name": "Rosa Cliente" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/v1/widget/{channel}/stream?token={}",
        server.addr,
        visitor["token"].as_str().unwrap()
    ))
    .await
    .unwrap();
    let hello = loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a frame")
            .unwrap()
            .unwrap();
        if let Ws::Text(t) = frame {
            break serde_json::from_str::<Value>(&t).unwrap();
        }
    };
    assert_eq!(hello["type"], "hello");
    ws.send(Ws::text(
        json!({ "type": "send", "client_id": uuid::Uuid::now_v7(), "text": "Oi, cheguei pelo site!" })
            .to_string(),
    ))
    .await
    .unwrap();

    // It is in the agent's Inbox; the agent answers from Outpost.
    let inbox = || {
        app.handle(Request::ListFolder {
            folder: Folder::Inbox,
            before: None,
            limit: 50,
        })
    };
    let conversation = until_async("the customer's message reaches Outpost", || async {
        let page = serde_json::to_value(inbox().await).unwrap();
        page["page"]["rows"].as_array().and_then(|rows| {
            rows.iter()
                .find(|r| r["message"]["text"] == "Oi, cheguei pelo site!")
                .map(|r| r["message"]["conversation_id"].as_str().unwrap().to_owned())
        })
    })
    .await;
    let reply = MessageId::new();
    let acted = app
        .handle(Request::Act {
            action: Action::SendMessage {
                message_id: reply,
                conversation_id: conversation.parse().unwrap(),
                text: "Olá Rosa! Em que posso ajudar?".into(),
                attachments: vec![],
                template: None,
                reply_to: None,
            },
        })
        .await;
    assert!(matches!(acted, Response::Acted { .. }), "{acted:?}");

    // The visitor sees it, from Caio; their widget's receipt is Caio's tick.
    let answer = loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("the answer")
            .unwrap()
            .unwrap();
        let Ws::Text(t) = frame else { continue };
        let v: Value = serde_json::from_str(&t).unwrap();
        if v["type"] == "message" && v["from"] == "us" {
            break v;
        }
    };
    assert_eq!(answer["text"], "Olá Rosa! Em que posso ajudar?");
    assert_eq!(answer["agent"], "Caio");
    ws.send(Ws::text(
        json!({ "type": "seen", "ids": [reply] }).to_string(),
    ))
    .await
    .unwrap();
    until_async("the agent's tick turns read", || async {
        let page = serde_json::to_value(
            app.handle(Request::ListFolder {
                folder: Folder::Sent,
                before: None,
                limit: 50,
            })
            .await,
        )
        .unwrap();
        page["page"]["rows"].as_array().and_then(|rows| {
            rows.iter()
                .find(|r| {
                    r["message"]["id"] == reply.to_string() && r["message"]["status"] == "read"
                })
                .map(|_| ())
        })
    })
    .await;
    app.handle(Request::SignOut).await;
    server.stop().await;
}
