//! The web-chat widget's protocol: a visitor and an agent converse; receipts are the widget's
//! (delivered when it has the message, read when shown); typing both ways; a visitor reaches
//! only their own conversation; the panel embeds only on the channel's origins.

use super::*;
use futures_util::{SinkExt, StreamExt};
use outpost_server::storage::Storage;
use tokio_tungstenite::tungstenite::Message as Ws;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A web chat for https://loja.example, made by the owner; its id.
async fn web_chat(h: &Harness, owner: &str) -> String {
    let r = h
        .post(
            owner,
            "/v1/admin/channels",
            &json!({ "kind": "web_chat", "name": "Loja <Site>", "settings": { "allowed_origins": ["https://loja.example"] } }),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn visitor(h: &Harness, channel: &str, name: &str) -> String {
    let r = h
        .http
        .post(h.url(&format!("/v1/widget/{channel}/visitors")))
        .json(&json!({ "name": name, "email": "" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn connect(h: &Harness, channel: &str, token: &str) -> Socket {
    tokio_tungstenite::connect_async(format!(
        "ws://{}/v1/widget/{channel}/stream?token={token}",
        h.addr()
    ))
    .await
    .unwrap()
    .0
}

/// The next frame of `type` (others skipped), within five seconds.
async fn next_of(ws: &mut Socket, kind: &str) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} frame"))
            .unwrap()
            .unwrap();
        if let Ws::Text(t) = frame {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
    }
}

async fn say(ws: &mut Socket, v: Value) {
    ws.send(Ws::text(v.to_string())).await.unwrap();
}

fn message_in(mirror: &Mirror, id: &str) -> Option<Message> {
    mirror.entities.values().find_map(|e| match e {
        Entity::Message(m) if m.id.to_string() == id => Some(m.clone()),
        _ => None,
    })
}

#[tokio::test]
async fn test_a_visitor_and_an_agent_converse_with_the_widgets_own_receipts() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let channel = web_chat(&h, &owner).await;
    let available: Value = h
        .http
        .get(h.url(&format!("/v1/widget/{channel}/available")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(available["available"], false, "no agent is connected yet");
    let token = visitor(&h, &channel, "Vera Visitante").await;
    let mut ws = connect(&h, &channel, &token).await;
    let hello = next_of(&mut ws, "hello").await;
    assert_eq!(hello["messages"], json!([]));
    assert_eq!(hello["name"], "Loja <Site>");

    // The visitor writes (hostile text stays text, as written); a retry is the same message.
    let hostile = "<img src=x onerror=alert(1)> Olá!";
    let client_id = uuid::Uuid::now_v7();
    say(
        &mut ws,
        json!({ "type": "send", "client_id": client_id, "text": hostile }),
    )
    .await;
    let sent = next_of(&mut ws, "sent").await;
    say(
        &mut ws,
        json!({ "type": "send", "client_id": client_id, "text": hostile }),
    )
    .await;
    assert_eq!(next_of(&mut ws, "sent").await["id"], sent["id"], "once");
    let id = sent["id"].as_str().unwrap().to_owned();
    let mirror = h.synced(&owner, 1000).await;
    let incoming = message_in(&mirror, &id).expect("the agent has it");
    assert_eq!(incoming.text, hostile);
    assert_eq!(incoming.channel, ChannelKind::WebChat);
    let same = mirror
        .entities
        .values()
        .filter(|e| matches!(e, Entity::Message(m) if m.text == hostile))
        .count();
    assert_eq!(same, 1);

    // The agent answers: sent (the server holds it for the widget), then the widget's receipts.
    let reply = send(incoming.conversation_id, "Olá Vera! Como posso ajudar?");
    let Action::SendMessage { message_id, .. } = reply.clone() else {
        unreachable!()
    };
    h.applied(&owner, reply).await;
    let ours = next_of(&mut ws, "message").await;
    assert_eq!(ours["from"], "us");
    assert_eq!(ours["text"], "Olá Vera! Como posso ajudar?");
    assert_eq!(ours["status"], "sent");
    assert!(
        ours.get("sender").is_none(),
        "no internal detail reaches the visitor"
    );
    async fn status_of(h: &Harness, owner: &str, id: MessageId) -> MessageStatus {
        message_in(&h.synced(owner, 1000).await, &id.to_string())
            .unwrap()
            .status
    }
    assert_eq!(
        status_of(&h, &owner, message_id).await,
        MessageStatus::Sent,
        "no tick until the widget says"
    );
    say(&mut ws, json!({ "type": "received", "ids": [message_id] })).await;
    assert_eq!(next_of(&mut ws, "message").await["status"], "delivered");
    assert_eq!(
        status_of(&h, &owner, message_id).await,
        MessageStatus::Delivered
    );
    say(&mut ws, json!({ "type": "seen", "ids": [message_id] })).await;
    assert_eq!(next_of(&mut ws, "message").await["status"], "read");
    let read = message_in(&h.synced(&owner, 1000).await, &message_id.to_string()).unwrap();
    let steps: Vec<MessageStatus> = read.history.iter().map(|s| s.status).collect();
    assert_eq!(
        steps,
        vec![
            MessageStatus::Pending,
            MessageStatus::Sent,
            MessageStatus::Delivered,
            MessageStatus::Read
        ]
    );
    // A receipt never moves a message back, nor one of someone else's.
    say(&mut ws, json!({ "type": "received", "ids": [message_id] })).await;
    say(&mut ws, json!({ "type": "seen", "ids": [id] })).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(status_of(&h, &owner, message_id).await, MessageStatus::Read);

    // Typing both ways, and the agent is now someone available.
    let (mut agent, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/v1/stream?token={owner}", h.addr()))
            .await
            .unwrap();
    let conversation = incoming.conversation_id;
    say(
        &mut agent,
        json!({ "type": "typing", "conversation_id": conversation }),
    )
    .await;
    let first_name = h.owner.name.split_whitespace().next().unwrap();
    assert_eq!(next_of(&mut ws, "typing").await["name"], first_name);
    say(&mut ws, json!({ "type": "typing" })).await;
    let typing = next_of(&mut agent, "customer_typing").await;
    assert_eq!(typing["conversation_id"], conversation.to_string());

    // A file from the agent reaches the visitor, fetched with their token.
    let file = uuid::Uuid::now_v7();
    assert_eq!(
        h.put_file(&owner, file, "application/pdf", b"%PDF-1.4 boleto".to_vec())
            .await,
        201
    );
    h.applied(
        &owner,
        Action::SendMessage {
            message_id: MessageId::new(),
            conversation_id: conversation,
            text: "Segue o boleto".into(),
            attachments: vec![Attachment {
                kind: AttachmentKind::Document,
                name: "boleto.pdf".into(),
                mime: "application/pdf".into(),
                size: 15,
                url: format!("/v1/attachments/{file}"),
            }],
            template: None,
            reply_to: None,
        },
    )
    .await;
    let with_file = next_of(&mut ws, "message").await;
    assert_eq!(with_file["files"][0]["name"], "boleto.pdf");
    assert_eq!(with_file["files"][0]["file"], file.to_string());
    let fetched = h
        .http
        .get(h.url(&format!("/v1/widget/{channel}/files/{file}?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(&fetched.bytes().await.unwrap()[..], b"%PDF-1.4 boleto");

    let again = connect(&h, &channel, &token).await;
    let mut again = again;
    let hello = next_of(&mut again, "hello").await;
    assert_eq!(hello["available"], true);
    assert_eq!(
        hello["messages"].as_array().unwrap().len(),
        3,
        "the history"
    );
}

#[tokio::test]
async fn test_a_visitor_reaches_only_their_own_conversation() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let channel = web_chat(&h, &owner).await;
    let (first, second) = (
        visitor(&h, &channel, "Primeira").await,
        visitor(&h, &channel, "Segunda").await,
    );
    let mut a = connect(&h, &channel, &first).await;
    next_of(&mut a, "hello").await;
    // The first visitor sends a file with their message.
    let file = uuid::Uuid::now_v7();
    let r = h
        .http
        .put(h.url(&format!("/v1/widget/{channel}/files/{file}")))
        .header("x-outpost-visitor-token", &first)
        .header("content-type", "text/plain")
        .body("meu comprovante")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let client_id = uuid::Uuid::now_v7();
    say(&mut a, json!({ "type": "send", "client_id": client_id, "text": "Segredo da primeira", "files": [{ "file": file, "name": "comprovante.txt" }] })).await;
    let id = next_of(&mut a, "sent").await["id"].clone();
    let get = |token: String| {
        let url = h.url(&format!("/v1/widget/{channel}/files/{file}?token={token}"));
        let http = h.http.clone();
        async move { http.get(url).send().await.unwrap() }
    };
    let mine = get(first.clone()).await;
    assert_eq!(mine.status(), 200);
    assert_eq!(mine.text().await.unwrap(), "meu comprovante");

    // The second: their history is empty; the first's file is not there for them; guessing the
    // first's ids or sending with the first's client id reaches nothing of hers.
    let mut b = connect(&h, &channel, &second).await;
    assert_eq!(next_of(&mut b, "hello").await["messages"], json!([]));
    assert_eq!(get(second.clone()).await.status(), 404);
    say(&mut b, json!({ "type": "seen", "ids": [id] })).await;
    say(
        &mut b,
        json!({ "type": "send", "client_id": client_id, "text": "Sou a segunda" }),
    )
    .await;
    let theirs = next_of(&mut b, "sent").await["id"].clone();
    assert_ne!(theirs, id, "a client id is the visitor's own");
    let mirror = h.synced(&owner, 1000).await;
    let (m1, m2) = (
        message_in(&mirror, id.as_str().unwrap()).unwrap(),
        message_in(&mirror, theirs.as_str().unwrap()).unwrap(),
    );
    assert_ne!(
        m1.conversation_id, m2.conversation_id,
        "two visitors, two conversations"
    );
    assert_eq!(m1.text, "Segredo da primeira");

    // A token that is not a visitor's, or another channel's, opens nothing.
    assert_eq!(get("f".repeat(64)).await.status(), 401);
    let other = web_chat(&h, &owner).await;
    assert!(
        tokio_tungstenite::connect_async(format!(
            "ws://{}/v1/widget/{other}/stream?token={first}",
            h.addr()
        ))
        .await
        .is_err()
    );
}

#[tokio::test]
async fn test_the_panel_embeds_only_on_the_channels_origins_and_its_script_names_the_server() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let channel = web_chat(&h, &owner).await;
    let frame = h
        .http
        .get(h.url(&format!("/widget/{channel}/frame")))
        .send()
        .await
        .unwrap();
    assert_eq!(frame.status(), 200);
    let csp = frame.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors https://loja.example"),
        "{csp}"
    );
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    let html = frame.text().await.unwrap();
    assert!(
        html.contains("Loja &lt;Site&gt;") && !html.contains("<Site>"),
        "the name is text"
    );

    let script = h
        .http
        .get(h.url(&format!("/widget/{channel}.js")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(script.contains(&format!("http://{}", h.addr())) && script.contains(&channel));
    assert!(script.len() < 4_000, "the tag's script is small");

    // A channel that is not a web chat, or a disabled one, has no widget.
    for id in [h.channel.to_string(), uuid::Uuid::now_v7().to_string()] {
        let r = h
            .http
            .get(h.url(&format!("/widget/{id}/frame")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    let r = h
        .http
        .patch(h.url(&format!("/v1/admin/channels/{channel}")))
        .bearer_auth(&owner)
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = h
        .http
        .post(h.url(&format!("/v1/widget/{channel}/visitors")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn test_the_demos_customers_write_through_the_widgets_protocol_too() {
    let dir = tempfile::tempdir().unwrap();
    let server = outpost_server::start_with(
        dir.path(),
        "127.0.0.1:0".parse().unwrap(),
        outpost_server::system_clock(),
        options(),
    )
    .await
    .unwrap();
    let (storage, now) = (server.app.storage.clone(), server.app.now());
    let logins = tokio::task::spawn_blocking(move || outpost_server::demo::seed(&*storage, now))
        .await
        .unwrap()
        .unwrap();
    let owner_email = logins
        .iter()
        .find(|l| l.role == Role::Owner)
        .expect("the demo has an owner")
        .email
        .clone();
    let simulating = tokio::spawn(outpost_server::demo::simulate(
        server.app.clone(),
        server.addr,
        std::time::Duration::from_millis(40),
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        // A visitor of the demo's web chat wrote: a contact whose web-chat address is a widget
        // visitor's id (what the widget's protocol gives them) holds web-chat messages.
        let (storage, email) = (server.app.storage.clone(), owner_email.clone());
        let visitors = tokio::task::spawn_blocking(move || {
            let owner = storage
                .credentials(&email)
                .unwrap()
                .expect("the demo's owner")
                .agent;
            let mut changes = Vec::new();
            let mut after = 0;
            loop {
                let page: ChangesPage =
                    serde_json::from_str(&storage.changes(&owner, after, 5_000).unwrap().json)
                        .unwrap();
                changes.extend(page.changes);
                after = page.cursor;
                if !page.has_more {
                    break;
                }
            }
            changes
                .iter()
                .filter_map(|c| match &c.kind {
                    ChangeKind::Upsert {
                        entity: Entity::Contact(k),
                    } => Some(k.identities.clone()),
                    _ => None,
                })
                .flatten()
                .filter(|i| {
                    i.channel == ChannelKind::WebChat && uuid::Uuid::parse_str(&i.address).is_ok()
                })
                .filter(|i| {
                    !storage
                        .web_chat_messages(&i.address, 10)
                        .unwrap()
                        .is_empty()
                })
                .count()
        })
        .await
        .unwrap();
        if visitors > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no demo visitor wrote"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    simulating.abort();
    server.stop().await;
}
