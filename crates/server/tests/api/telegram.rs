//! The Telegram channel against a stand-in of the Bot API (`standin.rs`), with its documented
//! shapes (`tests/fixtures/telegram/`): long polling and the webhook with its secret, messages,
//! photos, documents, replies and edits, sending with `reply_parameters`, retries and errors.

use super::standin::{BOT_TOKEN, Scripted, StandIn, fixture};
use super::*;
use outpost_server::storage::Storage;

/// A real Telegram bot channel on the stand-in, getting its updates as `mode` says.
async fn tg_channel(h: &Harness, owner: &str, stand: &StandIn, mode: &str) -> String {
    let r = h
        .post(
            owner,
            "/v1/admin/channels",
            &json!({ "kind": "telegram", "name": "@loja_exemplo_bot", "settings": {
                "bot_token": BOT_TOKEN, "mode": mode, "api_base": stand.bot_api(),
            } }),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn polling_takes_each_update_once_with_files_replies_and_edits() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let jpeg = b"\xFF\xD8\xFF\xE0 the shirt".to_vec();
    stand.media("AgACAgEAAxkBAAIBlarge", &jpeg, "image/jpeg");
    stand.media(
        "BQACAgEAAxkBAAIBdoc",
        b"%PDF-1.4 receipt",
        "application/pdf",
    );
    for f in [
        "message_text.json",
        "message_photo.json",
        "message_document.json",
        "message_reply.json",
        "message_group.json",
        "edited_message.json",
    ] {
        stand.update(fixture("telegram", f));
    }
    let id = tg_channel(&h, &owner, &stand, "polling").await;
    let got = until("the updates", || async {
        let got = h.incoming(&owner).await;
        let edited = got.iter().any(|m| m.edited_at.is_some());
        (got.len() == 4 && edited).then_some(got)
    })
    .await;
    // The webhook went first (a bot with one gets nothing by polling).
    assert_eq!(stand.to("/deleteWebhook").len(), 1);
    let text = got
        .iter()
        .find(|m| m.text.starts_with("Oi, quero trocar"))
        .unwrap();
    assert_eq!(
        text.text, "Oi, quero trocar o tamanho da camiseta para M.",
        "the edit shows"
    );
    assert_eq!(text.edited_at, Some(1_767_225_700_000));
    let photo = got.iter().find(|m| m.text == "Essa aqui").unwrap();
    assert_eq!(photo.attachments.len(), 1);
    assert_eq!(photo.attachments[0].kind, AttachmentKind::Image);
    let r = h
        .get_file(&owner, photo.attachments[0].upload_id().unwrap())
        .await;
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        jpeg,
        "the largest size was fetched"
    );
    let doc = got
        .iter()
        .find(|m| !m.attachments.is_empty() && m.id != photo.id)
        .unwrap();
    assert_eq!(doc.attachments[0].name, "comprovante.pdf");
    let reply = got.iter().find(|m| m.text == "Isso mesmo").unwrap();
    assert_eq!(reply.reply_to, Some(text.id));
    // The group's message was left alone; the contact is named as Telegram says.
    assert!(!got.iter().any(|m| m.text == "Olá grupo"));
    let c = h.conversation_of(&owner, text.id).await;
    let mirror = h.synced(&owner, 1000).await;
    let Some(Entity::Contact(k)) = mirror.entities.get(&EntityRef::Contact(c.contact_id)) else {
        panic!("the contact")
    };
    assert_eq!(k.name, "Bruna Lima");
    // Where reading stands is kept: the next poll asks after the last update.
    let channel = uuid::Uuid::parse_str(&id).unwrap();
    let offset = until("the offset", || async {
        h.storage()
            .channel_cursor(channel, "update_offset")
            .unwrap()
            .filter(|o| o == "900000007")
    })
    .await;
    assert_eq!(offset, "900000007");
    until("a poll from the offset", || async {
        stand
            .to("/getUpdates")
            .iter()
            .any(|r| r.json()["offset"] == 900000007)
            .then_some(())
    })
    .await;
    // Polled again and again: still four messages.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(h.incoming(&owner).await.len(), 4);
}

#[tokio::test]
async fn the_webhook_is_set_with_a_secret_and_an_update_without_it_is_refused() {
    let h = harness_with(outpost_server::Options {
        public_url: Some("https://outpost.loja.example".into()),
        ..Default::default()
    })
    .await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let id = tg_channel(&h, &owner, &stand, "webhook").await;
    let set = until("setWebhook", || async { stand.to("/setWebhook").pop() }).await;
    let body = set.json();
    assert_eq!(
        body["url"],
        format!("https://outpost.loja.example/v1/webhooks/telegram/{id}")
    );
    assert_eq!(
        body["allowed_updates"],
        json!(["message", "edited_message"])
    );
    let secret = body["secret_token"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32);
    let post = |header: Option<&str>, body: Value| {
        let mut r = h
            .http
            .post(h.url(&format!("/v1/webhooks/telegram/{id}")))
            .json(&body);
        if let Some(s) = header {
            r = r.header("x-telegram-bot-api-secret-token", s);
        }
        r.send()
    };
    let update = fixture("telegram", "message_text.json");
    let seq = h.storage().seq().unwrap();
    assert_eq!(post(None, update.clone()).await.unwrap().status(), 403);
    assert_eq!(
        post(Some("wrong"), update.clone()).await.unwrap().status(),
        403
    );
    assert_eq!(
        post(Some(&secret), json!({ "update": "nope" }))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(h.storage().seq().unwrap(), seq, "nothing stored");
    assert_eq!(
        post(Some(&secret), update.clone()).await.unwrap().status(),
        200
    );
    assert_eq!(post(Some(&secret), update).await.unwrap().status(), 200);
    assert_eq!(
        h.incoming(&owner).await.len(),
        1,
        "delivered twice, stored once"
    );
    // The secret never reaches an agent: the admin view says only that it is set.
    let r = h.get(&owner, &format!("/v1/admin/channels/{id}")).await;
    let text = r.text().await.unwrap();
    assert!(
        !text.contains(&secret) && !text.contains(BOT_TOKEN),
        "{text}"
    );
}

#[tokio::test]
async fn a_reply_goes_with_reply_parameters_and_stays_sent_for_telegram_reports_nothing_more() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    stand.update(fixture("telegram", "message_text.json"));
    tg_channel(&h, &owner, &stand, "polling").await;
    let theirs = until("the customer's message", || async {
        h.incoming(&owner).await.pop()
    })
    .await;
    let mine = MessageId::new();
    h.applied(
        &owner,
        Action::SendMessage {
            message_id: mine,
            conversation_id: theirs.conversation_id,
            text: "Claro! Qual tamanho?".into(),
            attachments: vec![],
            template: None,
            reply_to: Some(theirs.id),
        },
    )
    .await;
    h.status_is(&owner, mine, MessageStatus::Sent).await;
    let sent = stand.to("/sendMessage");
    assert_eq!(sent.len(), 1);
    let body = sent[0].json();
    assert_eq!(body["chat_id"], 111222333);
    assert_eq!(body["text"], "Claro! Qual tamanho?");
    assert_eq!(body["reply_parameters"]["message_id"], 41);
    h.advance(10 * 60_000);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let m = h.message(&owner, mine).await.unwrap();
    assert_eq!(m.status, MessageStatus::Sent);
    let steps: Vec<MessageStatus> = m.history.iter().map(|s| s.status).collect();
    assert_eq!(steps, [MessageStatus::Pending, MessageStatus::Sent]);
}

#[tokio::test]
async fn photos_go_by_send_photo_a_rate_limit_waits_and_a_blocked_bot_fails_the_message() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    stand.update(fixture("telegram", "message_text.json"));
    tg_channel(&h, &owner, &stand, "polling").await;
    let theirs = until("the customer's message", || async {
        h.incoming(&owner).await.pop()
    })
    .await;
    let c = theirs.conversation_id;
    let photo = b"\xFF\xD8\xFF\xE0 size chart".to_vec();
    let file = uuid::Uuid::now_v7();
    assert_eq!(
        h.put_file(&owner, file, "image/jpeg", photo.clone()).await,
        201
    );
    // A rate limit first: Telegram's retry_after is kept, then the photo goes once.
    stand.then(Scripted::error(429, fixture("telegram", "error_429.json")));
    let mine = MessageId::new();
    h.applied(
        &owner,
        Action::SendMessage {
            message_id: mine,
            conversation_id: c,
            text: "Tabela de tamanhos".into(),
            attachments: vec![Attachment {
                kind: AttachmentKind::Image,
                name: "tamanhos.jpg".into(),
                mime: "image/jpeg".into(),
                size: photo.len() as u64,
                url: format!("/v1/attachments/{file}"),
            }],
            template: None,
            reply_to: None,
        },
    )
    .await;
    until("the rate-limited attempt", || async {
        (stand.to("/sendPhoto").len() == 1).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(stand.to("/sendPhoto").len(), 1, "retry_after is kept");
    h.advance(4_000);
    h.status_is(&owner, mine, MessageStatus::Sent).await;
    let sends = stand.to("/sendPhoto");
    assert_eq!(sends.len(), 2);
    assert!(sends[1].carries(&photo) && sends[1].carries(b"Tabela de tamanhos"));
    // The customer blocked the bot: failed, in Telegram's words and ours.
    stand.then(Scripted::error(
        403,
        fixture("telegram", "error_403_blocked.json"),
    ));
    let blocked = MessageId::new();
    h.applied(&owner, send_with_id(c, blocked, "Ainda está aí?"))
        .await;
    let m = h.status_is(&owner, blocked, MessageStatus::Failed).await;
    assert_eq!(m.failure_reason.unwrap().key, "telegram_blocked");
    assert_eq!(
        m.failure.as_deref(),
        Some("(403) Forbidden: bot was blocked by the user")
    );
}

fn send_with_id(c: ConversationId, id: MessageId, text: &str) -> Action {
    Action::SendMessage {
        message_id: id,
        conversation_id: c,
        text: text.into(),
        attachments: vec![],
        template: None,
        reply_to: None,
    }
}

#[test]
fn errors_are_said_in_the_interfaces_words_where_it_has_them() {
    use outpost_server::providers::telegram::failure_of;
    let f = failure_of(400, "Bad Request: chat not found");
    assert_eq!(f.reason.key, "telegram_chat_not_found");
    let f = failure_of(400, "Bad Request: message text is empty");
    assert_eq!(f.reason.key, "provider_error");
    assert_eq!(
        f.reason.params["detail"],
        "Bad Request: message text is empty"
    );
    let v = fixture("telegram", "error_502.json");
    assert_eq!(v["error_code"], 502);
}
