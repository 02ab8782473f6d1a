//! The WhatsApp channel against a stand-in of the Cloud API (`standin.rs`), with Meta's payload
//! shapes (`tests/fixtures/whatsapp/`): webhook verification and signatures, every message type
//! once however often delivered, statuses in any order, sending with retries, permanent errors
//! with their reasons, media both ways, templates.

use super::standin::{
    ACCESS_TOKEN, APP_SECRET, PHONE_NUMBER_ID, Scripted, StandIn, WABA_ID, fixture,
};
use super::*;
use outpost_server::providers::whatsapp;
use outpost_server::storage::Storage;

/// A real WhatsApp channel on the stand-in, made by the owner: its id and secret.
pub(super) async fn wa_channel(h: &Harness, owner: &str, api_base: &str) -> (String, String) {
    let r = h
        .post(
            owner,
            "/v1/admin/channels",
            &json!({ "kind": "whatsapp", "name": "WhatsApp Loja", "settings": {
                "phone_number_id": PHONE_NUMBER_ID,
                "business_account_id": WABA_ID,
                "access_token": ACCESS_TOKEN,
                "app_secret": APP_SECRET,
                "api_base": api_base,
            } }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let id = v["channel"]["id"].as_str().unwrap().to_owned();
    // A reachable business account's templates are fetched at once: the workspace settles.
    if api_base.ends_with("/v21.0") {
        let storage = h.storage();
        let channel = ChannelId(uuid::Uuid::parse_str(&id).unwrap());
        until("the channel's templates", || async {
            match storage.get(EntityRef::Channel(channel)).unwrap() {
                Some(Entity::Channel(c)) if !c.templates.is_empty() => Some(()),
                _ => None,
            }
        })
        .await;
    }
    (id, v["secret"].as_str().unwrap().to_owned())
}

/// Meta posts `body` to the channel's webhook, signed with `secret`.
pub(super) async fn deliver_signed(h: &Harness, channel: &str, body: &Value, secret: &str) -> u16 {
    let bytes = serde_json::to_vec(body).unwrap();
    h.http
        .post(h.url(&format!("/v1/webhooks/whatsapp/{channel}")))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", whatsapp::signature(secret, &bytes))
        .body(bytes)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

pub(super) async fn deliver(h: &Harness, channel: &str, body: &Value) -> u16 {
    deliver_signed(h, channel, body, APP_SECRET).await
}

/// A status fixture about the message WhatsApp calls `wamid`.
fn status_of(name: &str, wamid: &str) -> Value {
    let mut v = fixture("whatsapp", name);
    v["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = json!(wamid);
    v
}

/// The incoming messages the owner sees, by text.
#[tokio::test]
async fn webhook_verification_answers_the_challenge_only_with_the_channels_secret() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let (id, secret) = wa_channel(&h, &owner, &stand.graph()).await;
    let verify = |token: &str, mode: &str| {
        h.http
            .get(h.url(&format!(
                "/v1/webhooks/whatsapp/{id}?hub.mode={mode}&hub.verify_token={token}&hub.challenge=1158201444"
            )))
            .send()
    };
    let r = verify(&secret, "subscribe").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "1158201444");
    assert_eq!(
        verify("wrong-token", "subscribe").await.unwrap().status(),
        403
    );
    assert_eq!(verify(&secret, "unsubscribe").await.unwrap().status(), 403);
    // The test channel has no WhatsApp webhook: only real channels do.
    let r = h
        .http
        .get(h.url(&format!(
            "/v1/webhooks/whatsapp/{}?hub.mode=subscribe&hub.verify_token={SECRET}&hub.challenge=1",
            h.channel
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn every_message_type_arrives_once_with_its_files_and_reply_context() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let (id, _) = wa_channel(&h, &owner, &stand.graph()).await;
    let jpeg = b"\xFF\xD8\xFF\xE0 a photo of a box".to_vec();
    let pdf = b"%PDF-1.7 the invoice".to_vec();
    stand.media("1003383421387256", &jpeg, "image/jpeg");
    stand.media("1003383421387257", &pdf, "application/pdf");
    stand.media("1003383421387258", b"OggS a voice note", "audio/ogg");
    stand.media(
        "1003383421387259",
        b"\0\0\0\x18ftypmp42 a video",
        "video/mp4",
    );
    stand.media(
        "1003383421387260",
        b"RIFF\0\0\0\0WEBPVP8 a sticker",
        "image/webp",
    );
    let kinds = [
        "text.json",
        "image.json",
        "document.json",
        "audio.json",
        "video.json",
        "sticker.json",
        "location.json",
        "contacts.json",
        "interactive_list_reply.json",
        "reaction.json",
        "reply_context.json",
        "unsupported.json",
    ];
    for k in kinds {
        assert_eq!(deliver(&h, &id, &fixture("whatsapp", k)).await, 200, "{k}");
    }
    // Meta delivers again when it did not hear back: each is stored once.
    for k in ["text.json", "image.json", "reaction.json"] {
        assert_eq!(
            deliver(&h, &id, &fixture("whatsapp", k)).await,
            200,
            "{k} again"
        );
    }
    let got = h.incoming(&owner).await;
    assert_eq!(got.len(), kinds.len(), "{got:#?}");
    let by_text = |t: &str| {
        got.iter()
            .find(|m| m.text.contains(t))
            .unwrap_or_else(|| panic!("no {t}"))
    };
    let text = by_text("Meu pedido 4521");
    assert_eq!(text.channel, ChannelKind::Whatsapp);
    assert_eq!(text.channel_id.map(|c| c.0.to_string()), Some(id.clone()));
    // The image came with its caption and its bytes, now an attachment of ours.
    let image = by_text("A caixa chegou assim");
    assert_eq!(image.attachments.len(), 1);
    assert_eq!(image.attachments[0].kind, AttachmentKind::Image);
    let file = image.attachments[0].upload_id().unwrap();
    let r = h.get_file(&owner, file).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), jpeg);
    let doc = by_text("Nota fiscal");
    assert_eq!(doc.attachments[0].name, "nota-4521.pdf");
    assert_eq!(doc.attachments[0].kind, AttachmentKind::Document);
    let audio = got.iter().find(|m| {
        m.attachments
            .iter()
            .any(|a| a.kind == AttachmentKind::Audio)
    });
    assert!(audio.is_some(), "the voice note is an audio attachment");
    assert!(got.iter().any(|m| {
        m.attachments
            .iter()
            .any(|a| a.kind == AttachmentKind::Video)
    }));
    assert!(
        got.iter()
            .any(|m| m.attachments.iter().any(|a| a.mime == "image/webp"))
    );
    let place = by_text("Loja Centro");
    assert!(
        place.text.contains("Praça da Sé") && place.text.contains("-23.550500"),
        "{}",
        place.text
    );
    let card = by_text("Ana Souza");
    assert!(card.text.contains("+55 11 98765-4321") && card.text.contains("ana@example.com"));
    let choice = by_text("Trocar produto");
    assert!(choice.text.contains("Até 30 dias"));
    // A reaction and a reply name the message they are about.
    let reaction = by_text("👍");
    assert_eq!(reaction.reply_to, Some(text.id));
    let reply = by_text("Sobre isso aqui");
    assert_eq!(reply.reply_to, Some(text.id));
    assert!(by_text("[unsupported]").attachments.is_empty());
    // One contact, named as WhatsApp says, one conversation on this channel.
    let mirror = h.synced(&owner, 1000).await;
    let contacts: Vec<&Contact> = mirror
        .entities
        .values()
        .filter_map(|e| match e {
            Entity::Contact(k) if k.name == "Kerry Fisher" => Some(k),
            _ => None,
        })
        .collect();
    assert_eq!(contacts.len(), 1);
    let c = h.conversation_of(&owner, text.id).await;
    assert_eq!(c.channel_id.map(|c| c.0.to_string()), Some(id));
    assert!(c.unanswered);
}

#[tokio::test]
async fn a_delivery_not_signed_by_the_app_secret_or_malformed_is_refused_and_nothing_is_stored() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let (id, _) = wa_channel(&h, &owner, &stand.graph()).await;
    let seq = h.storage().seq().unwrap();
    let body = fixture("whatsapp", "text.json");
    let url = h.url(&format!("/v1/webhooks/whatsapp/{id}"));
    // No signature, another secret's, a signature of another body, a malformed one.
    let bytes = serde_json::to_vec(&body).unwrap();
    let no_sig = h
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(no_sig.status(), 401);
    assert_eq!(
        deliver_signed(&h, &id, &body, "another-app-secret").await,
        401
    );
    let tampered = h
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            whatsapp::signature(APP_SECRET, b"{}"),
        )
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 401);
    let garbled = h
        .http
        .post(&url)
        .header("x-hub-signature-256", "sha256=not-hex")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status(), 401);
    // Signed, but not a payload: 400, said.
    for bad in [
        json!({ "object": "page", "entry": [] }),
        json!({ "object": "whatsapp_business_account", "entry": [{ "changes": [{ "field": "messages", "value": { "messages": [{ "from": 5 }] } }] }] }),
        json!("just a string"),
    ] {
        assert_eq!(deliver(&h, &id, &bad).await, 400, "{bad}");
    }
    let raw = b"{\"object\": \"whatsapp_business_account\", \"entry\": [".to_vec();
    let r = h
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", whatsapp::signature(APP_SECRET, &raw))
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Signed, but not JSON by its own account: 415.
    let bytes = serde_json::to_vec(&body).unwrap();
    let r = h
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .header(
            "x-hub-signature-256",
            whatsapp::signature(APP_SECRET, &bytes),
        )
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // Larger than any webhook: refused before it is read whole.
    let huge = vec![b' '; 5 * 1024 * 1024];
    let r = h
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            whatsapp::signature(APP_SECRET, &huge),
        )
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(h.storage().seq().unwrap(), seq, "nothing was stored");
    // A disabled channel refuses even a signed delivery.
    let r = h
        .http
        .patch(h.url(&format!("/v1/admin/channels/{id}")))
        .bearer_auth(&owner)
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(deliver(&h, &id, &body).await, 403);
    assert!(h.incoming(&owner).await.is_empty());
}

/// A customer writes on the stand-in's channel; the conversation and the message's id.
async fn customer_wrote(h: &Harness, owner: &str, channel: &str) -> (ConversationId, MessageId) {
    assert_eq!(
        deliver(h, channel, &fixture("whatsapp", "text.json")).await,
        200
    );
    let m = h.incoming(owner).await.pop().unwrap();
    (m.conversation_id, m.id)
}

fn reply(c: ConversationId, text: &str, reply_to: Option<MessageId>) -> (MessageId, Action) {
    let id = MessageId::new();
    (
        id,
        Action::SendMessage {
            message_id: id,
            conversation_id: c,
            text: text.into(),
            attachments: vec![],
            template: None,
            reply_to,
        },
    )
}

#[tokio::test]
async fn a_reply_leaves_with_its_context_and_only_the_providers_statuses_move_it_forward() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let (id, _) = wa_channel(&h, &owner, &stand.graph()).await;
    let (c, theirs) = customer_wrote(&h, &owner, &id).await;
    let (mine, action) = reply(c, "Vou verificar agora mesmo.", Some(theirs));
    h.applied(&owner, action).await;
    // Handed over (a clock): WhatsApp has not said it sent it yet.
    let m = h.status_is(&owner, mine, MessageStatus::Wired).await;
    assert_eq!(m.channel_id.map(|c| c.0.to_string()), Some(id.clone()));
    let sent = stand.to("/messages");
    assert_eq!(sent.len(), 1);
    let body = sent[0].json();
    assert_eq!(body["to"], "16315551181");
    assert_eq!(body["type"], "text");
    assert_eq!(body["text"]["body"], "Vou verificar agora mesmo.");
    assert_eq!(body["context"]["message_id"], "wamid.TEXT1");
    assert_eq!(
        sent[0].auth.as_deref(),
        Some(&*format!("Bearer {ACCESS_TOKEN}"))
    );
    let wamid = stand.last_given();
    // Nothing moves without WhatsApp: no tick after seconds.
    h.advance(60_000);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        h.message(&owner, mine).await.unwrap().status,
        MessageStatus::Wired
    );
    // Read arrives before delivered; sent arrives twice and late: read it stays.
    assert_eq!(
        deliver(&h, &id, &status_of("status_read.json", &wamid)).await,
        200
    );
    h.status_is(&owner, mine, MessageStatus::Read).await;
    for late in [
        "status_sent.json",
        "status_delivered.json",
        "status_sent.json",
    ] {
        assert_eq!(deliver(&h, &id, &status_of(late, &wamid)).await, 200);
    }
    // A failure after it was read is no failure.
    assert_eq!(
        deliver(&h, &id, &status_of("status_failed_131026.json", &wamid)).await,
        200
    );
    let m = h.message(&owner, mine).await.unwrap();
    assert_eq!(m.status, MessageStatus::Read);
    let steps: Vec<MessageStatus> = m.history.iter().map(|s| s.status).collect();
    assert_eq!(
        steps,
        [
            MessageStatus::Pending,
            MessageStatus::Wired,
            MessageStatus::Read
        ]
    );
    // The provider's time: 1767225660 s.
    assert_eq!(m.history.last().unwrap().at, T0.max(1_767_225_660_000));
}

#[tokio::test]
async fn a_status_that_overtakes_the_sends_answer_applies_when_the_answer_lands() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let (id, _) = wa_channel(&h, &owner, &stand.graph()).await;
    let (c, _) = customer_wrote(&h, &owner, &id).await;
    stand
        .state
        .send_delay_ms
        .store(1_500, std::sync::atomic::Ordering::SeqCst);
    let (mine, action) = reply(c, "Chegando.", None);
    h.applied(&owner, action).await;
    until("the send to reach WhatsApp", || async {
        (!stand.state.given.lock().unwrap().is_empty()).then_some(())
    })
    .await;
    let wamid = stand.last_given();
    // Delivered, before the send's answer came back.
    assert_eq!(
        deliver(&h, &id, &status_of("status_delivered.json", &wamid)).await,
        200
    );
    assert_eq!(
        h.message(&owner, mine).await.unwrap().status,
        MessageStatus::Pending
    );
    let m = h.status_is(&owner, mine, MessageStatus::Delivered).await;
    let steps: Vec<MessageStatus> = m.history.iter().map(|s| s.status).collect();
    assert_eq!(
        steps,
        [
            MessageStatus::Pending,
            MessageStatus::Wired,
            MessageStatus::Delivered
        ]
    );
}

#[tokio::test]
async fn rate_limits_and_outages_delay_messages_and_each_leaves_once_in_order() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let (id, _) = wa_channel(&h, &owner, &stand.graph()).await;
    let (c, _) = customer_wrote(&h, &owner, &id).await;
    // 429 with Retry-After (the number's throughput), then a 503 with no body, then a Graph
    // "something went wrong", then all is well.
    stand.then(Scripted {
        retry_after: Some(30),
        ..Scripted::error(429, fixture("whatsapp", "error_130429.json"))
    });
    stand.then(Scripted::error(503, Value::Null));
    stand.then(Scripted::error(
        500,
        fixture("whatsapp", "error_131000.json"),
    ));
    let mut mine = Vec::new();
    for text in ["primeira", "segunda", "terceira"] {
        let (m, action) = reply(c, text, None);
        h.applied(&owner, action).await;
        mine.push(m);
    }
    until("the rate-limited attempt", || async {
        (stand.to("/messages").len() == 1).then_some(())
    })
    .await;
    // Retry-After is kept: nothing more before 30 s.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(stand.to("/messages").len(), 1);
    for m in &mine {
        assert_eq!(
            h.message(&owner, *m).await.unwrap().status,
            MessageStatus::Pending
        );
    }
    // Time passes: the next attempts meet the 503 and the 500, with backoff between.
    for _ in 0..40 {
        h.advance(31_000);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if mine.len() == 3
            && h.message(&owner, mine[2]).await.unwrap().status == MessageStatus::Wired
        {
            break;
        }
    }
    for m in &mine {
        h.status_is(&owner, *m, MessageStatus::Wired).await;
    }
    // Each text reached WhatsApp accepted once, in the order written.
    let texts: Vec<String> = stand
        .to("/messages")
        .iter()
        .map(|r| r.json()["text"]["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        texts,
        [
            "primeira", "primeira", "primeira", "primeira", "segunda", "terceira"
        ]
    );
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_keeps_the_message_queued_until_it_can() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (id, _) = wa_channel(&h, &owner, &format!("http://{closed}/closed")).await;
    // The customer's message arrives by webhook (no provider call needed for text).
    let (c, _) = customer_wrote(&h, &owner, &id).await;
    let (mine, action) = reply(c, "Oi!", None);
    h.applied(&owner, action).await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(
        h.message(&owner, mine).await.unwrap().status,
        MessageStatus::Pending
    );
    // An admin points the channel at the reachable provider; the message goes, once.
    let stand = StandIn::start().await;
    let r = h
        .http
        .patch(h.url(&format!("/v1/admin/channels/{id}")))
        .bearer_auth(&owner)
        .json(&json!({ "settings": { "api_base": stand.graph() } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for _ in 0..20 {
        h.advance(60_000);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if !stand.to("/messages").is_empty() {
            break;
        }
    }
    h.status_is(&owner, mine, MessageStatus::Wired).await;
    assert_eq!(stand.to("/messages").len(), 1);
}

#[tokio::test]
async fn a_permanent_error_fails_the_message_with_the_providers_code_and_our_reason() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let (id, _) = wa_channel(&h, &owner, &stand.graph()).await;
    let (c, _) = customer_wrote(&h, &owner, &id).await;
    stand.then(Scripted::error(
        400,
        fixture("whatsapp", "error_131030.json"),
    ));
    let (refused, action) = reply(c, "Vai falhar", None);
    h.applied(&owner, action).await;
    let m = h.status_is(&owner, refused, MessageStatus::Failed).await;
    assert!(
        m.failure
            .as_deref()
            .unwrap()
            .starts_with("(#131030) Recipient phone number not in allowed list"),
        "{:?}",
        m.failure
    );
    let reason = m.failure_reason.unwrap();
    assert_eq!(reason.key, "whatsapp_131030");
    assert_eq!(stand.to("/messages").len(), 1, "not tried again");
    // Accepted, then failed by a status: the provider's reason too.
    let (later, action) = reply(c, "Depois da janela", None);
    h.applied(&owner, action).await;
    h.status_is(&owner, later, MessageStatus::Wired).await;
    let wamid = stand.last_given();
    assert_eq!(
        deliver(&h, &id, &status_of("status_failed_131047.json", &wamid)).await,
        200
    );
    let m = h.status_is(&owner, later, MessageStatus::Failed).await;
    assert_eq!(m.failure_reason.as_ref().unwrap().key, "whatsapp_131047");
    assert!(m.failure.unwrap().contains("more than 24 hours"));
    // An error the interface has no words for is said with WhatsApp's code and words.
    let f = whatsapp::failure_of(131999, "Something new", "A detail");
    assert_eq!(f.reason.key, "provider_error");
    assert_eq!(f.reason.params["code"], "131999");
    assert_eq!(f.reason.params["detail"], "A detail");
    // Retrying a failed message sends it again, through the same channel.
    h.applied(
        &owner,
        Action::RetryMessage {
            message_id: refused,
            text: "Vai falhar".into(),
            template: None,
        },
    )
    .await;
    h.status_is(&owner, refused, MessageStatus::Wired).await;
}

#[tokio::test]
async fn files_are_uploaded_then_sent_by_id_with_the_text_as_caption() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let (id, _) = wa_channel(&h, &owner, &stand.graph()).await;
    let (c, _) = customer_wrote(&h, &owner, &id).await;
    let photo = b"\xFF\xD8\xFF\xE0 the replacement".to_vec();
    let file = uuid::Uuid::now_v7();
    assert_eq!(
        h.put_file(&owner, file, "image/jpeg", photo.clone()).await,
        201
    );
    let mine = MessageId::new();
    h.applied(
        &owner,
        Action::SendMessage {
            message_id: mine,
            conversation_id: c,
            text: "Aqui está a nova".into(),
            attachments: vec![Attachment {
                kind: AttachmentKind::Image,
                name: "nova.jpg".into(),
                mime: "image/jpeg".into(),
                size: photo.len() as u64,
                url: format!("/v1/attachments/{file}"),
            }],
            template: None,
            reply_to: None,
        },
    )
    .await;
    h.status_is(&owner, mine, MessageStatus::Wired).await;
    let uploads = stand.to("/media");
    assert_eq!(uploads.len(), 1);
    assert!(uploads[0].carries(&photo), "the file's bytes were uploaded");
    assert!(uploads[0].carries(b"whatsapp"), "with messaging_product");
    let sent = stand.to("/messages");
    let body = sent.last().unwrap().json();
    assert_eq!(body["type"], "image");
    assert!(body["image"]["id"].as_str().unwrap().starts_with("upload"));
    assert_eq!(body["image"]["caption"], "Aqui está a nova");
}

#[tokio::test]
async fn a_customers_file_that_cannot_be_fetched_now_is_asked_again_and_one_too_large_is_said() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let (id, _) = wa_channel(&h, &owner, &stand.graph()).await;
    let jpeg = b"\xFF\xD8\xFF\xE0 a photo".to_vec();
    stand.media("1003383421387256", &jpeg, "image/jpeg");
    stand
        .state
        .media_failures
        .lock()
        .unwrap()
        .insert("1003383421387256".into(), 1);
    let seq = h.storage().seq().unwrap();
    // The file's server fails: Meta is asked to deliver again; nothing is stored.
    assert_eq!(
        deliver(&h, &id, &fixture("whatsapp", "image.json")).await,
        503
    );
    assert_eq!(h.storage().seq().unwrap(), seq);
    // Delivered again: stored once, with its file.
    assert_eq!(
        deliver(&h, &id, &fixture("whatsapp", "image.json")).await,
        200
    );
    let got = h.incoming(&owner).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].attachments.len(), 1);
    // A video larger than Outpost keeps: the message arrives saying so, without the file.
    stand.media("1003383421387259", b"tiny", "video/mp4");
    stand
        .state
        .claimed_size
        .lock()
        .unwrap()
        .insert("1003383421387259".into(), 200 * 1024 * 1024);
    assert_eq!(
        deliver(&h, &id, &fixture("whatsapp", "video.json")).await,
        200
    );
    let got = h.incoming(&owner).await;
    let video = got
        .iter()
        .find(|m| m.text.contains("Veja o defeito"))
        .unwrap();
    assert!(video.attachments.is_empty());
    assert!(video.text.contains("not kept"), "{}", video.text);
}

#[tokio::test]
async fn approved_templates_come_from_the_business_account_and_go_with_their_variables() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let (id, _) = wa_channel(&h, &owner, &stand.graph()).await;
    // Fetched into the channel every agent sees: approved, with values only in their body.
    let agent = h.login(&h.team_agent).await;
    let templates = until("the templates", || async {
        let m = h.synced(&agent, 1000).await;
        m.entities.values().find_map(|e| match e {
            Entity::Channel(c) if c.id.0.to_string() == id && !c.templates.is_empty() => {
                Some(c.templates.clone())
            }
            _ => None,
        })
    })
    .await;
    let names: Vec<&str> = templates.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["order_update", "welcome_back"]);
    assert_eq!(
        templates[0].body,
        "Olá {{1}}, seu pedido {{2}} saiu para entrega."
    );
    assert_eq!(templates[0].language, "pt_BR");
    // The window closed a day after the customer wrote: free text is refused, a template goes.
    let (c, _) = customer_wrote(&h, &owner, &id).await;
    h.advance(25 * 60 * 60 * 1000);
    let (_, free) = reply(c, "Oi de novo", None);
    let (code, _) = h.refused(&owner, free).await;
    assert_eq!(code, ErrorCode::WindowClosed);
    let mine = MessageId::new();
    h.applied(
        &owner,
        Action::SendMessage {
            message_id: mine,
            conversation_id: c,
            text: "Olá Kerry, seu pedido 4521 saiu para entrega.".into(),
            attachments: vec![],
            template: Some(TemplateRef {
                name: "order_update".into(),
                language: "pt_BR".into(),
                params: vec!["Kerry".into(), "4521".into()],
            }),
            reply_to: None,
        },
    )
    .await;
    h.status_is(&owner, mine, MessageStatus::Wired).await;
    let body = stand.to("/messages").last().unwrap().json();
    assert_eq!(body["type"], "template");
    assert_eq!(body["template"]["name"], "order_update");
    assert_eq!(body["template"]["language"]["code"], "pt_BR");
    assert_eq!(
        body["template"]["components"],
        json!([{ "type": "body", "parameters": [{ "type": "text", "text": "Kerry" }, { "type": "text", "text": "4521" }] }])
    );
}

#[test]
fn the_signature_is_hmac_sha256_of_the_raw_body_with_the_app_secret() {
    // From Meta's "Validating payloads": sha256=<hex of HMAC-SHA256(app secret, raw body)>.
    let body = br#"{"object":"whatsapp_business_account"}"#;
    let sig = whatsapp::signature("s3cr3t", body);
    assert!(whatsapp::signed("s3cr3t", body, Some(&sig)));
    assert!(!whatsapp::signed("other", body, Some(&sig)));
    assert!(!whatsapp::signed("s3cr3t", b"{}", Some(&sig)));
    assert!(!whatsapp::signed(
        "s3cr3t",
        body,
        Some(sig.trim_start_matches("sha256="))
    ));
    assert!(!whatsapp::signed("s3cr3t", body, None));
}

#[tokio::test]
async fn an_admin_fetches_the_templates_again_and_cannot_write_them_by_hand() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let agent = h.login(&h.team_agent).await;
    let stand = StandIn::start().await;
    let (id, _) = wa_channel(&h, &owner, &stand.graph()).await;
    let fetches = stand.to("/message_templates").len();
    let r = h
        .post_empty(&owner, &format!("/v1/admin/channels/{id}/templates"))
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["channel"]["templates"].as_array().unwrap().len(), 2);
    assert_eq!(stand.to("/message_templates").len(), fetches + 1);
    assert_eq!(
        h.post_empty(&agent, &format!("/v1/admin/channels/{id}/templates"))
            .await
            .status(),
        403
    );
    let r = h
        .http
        .patch(h.url(&format!("/v1/admin/channels/{id}")))
        .bearer_auth(&owner)
        .json(&json!({ "templates": [{ "name": "mine", "language": "en", "body": "Hi" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // The test channel's templates are written by hand, and fetched from nowhere.
    let r = h
        .post_empty(
            &owner,
            &format!("/v1/admin/channels/{}/templates", h.channel),
        )
        .await;
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn a_text_and_two_files_go_as_three_messages_and_a_retry_never_repeats_a_part() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let stand = StandIn::start().await;
    let (id, _) = wa_channel(&h, &owner, &stand.graph()).await;
    let (c, _) = customer_wrote(&h, &owner, &id).await;
    let pdf = b"%PDF-1.7 the invoice".to_vec();
    let voice = b"ID3 a voice note".to_vec();
    let mut attachments = Vec::new();
    for (name, mime, kind, bytes) in [
        (
            "nota.pdf",
            "application/pdf",
            AttachmentKind::Document,
            &pdf,
        ),
        ("audio.mp3", "audio/mpeg", AttachmentKind::Audio, &voice),
    ] {
        let file = uuid::Uuid::now_v7();
        assert_eq!(h.put_file(&owner, file, mime, bytes.clone()).await, 201);
        attachments.push(Attachment {
            kind,
            name: name.into(),
            mime: mime.into(),
            size: bytes.len() as u64,
            url: format!("/v1/attachments/{file}"),
        });
    }
    // The text goes; the document's send meets a 503; then all is well.
    stand.then(Scripted::error(
        200,
        fixture("whatsapp", "send_response.json"),
    ));
    stand.then(Scripted::error(503, Value::Null));
    let mine = MessageId::new();
    h.applied(
        &owner,
        Action::SendMessage {
            message_id: mine,
            conversation_id: c,
            text: "Segue a nota e um áudio explicando.".into(),
            attachments,
            template: None,
            reply_to: None,
        },
    )
    .await;
    until("the refused part", || async {
        (stand.to("/messages").len() == 2).then_some(())
    })
    .await;
    assert_eq!(
        h.message(&owner, mine).await.unwrap().status,
        MessageStatus::Pending
    );
    h.advance(5_000);
    h.status_is(&owner, mine, MessageStatus::Wired).await;
    let kinds: Vec<String> = stand
        .to("/messages")
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["text", "document", "document", "audio"],
        "the text went once"
    );
    let sent = stand.to("/messages");
    assert_eq!(
        sent[0].json()["text"]["body"],
        "Segue a nota e um áudio explicando."
    );
    assert_eq!(sent[2].json()["document"]["filename"], "nota.pdf");
    let uploads = stand.to("/media");
    assert!(uploads.iter().any(|u| u.carries(&pdf)) && uploads.iter().any(|u| u.carries(&voice)));
}
