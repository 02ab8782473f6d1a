//! Attachments: uploads, quotas, who may read them.

use super::*;

fn with_file(conversation_id: ConversationId, id: uuid::Uuid, size: u64) -> Action {
    Action::SendMessage {
        message_id: MessageId::new(),
        conversation_id,
        text: String::new(),
        attachments: vec![Attachment {
            kind: AttachmentKind::Image,
            name: "comprovante.png".into(),
            mime: "image/png".into(),
            size,
            url: Attachment::upload_path(id),
        }],
        template: None,
        reply_to: None,
    }
}

fn refusal(r: &[OpResult]) -> String {
    match &r[0].outcome {
        OpOutcome::Refused { reason, .. } => reason.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn test_attachments_are_uploaded_once_then_sent_and_seen_only_by_who_sees_the_conversation() {
    let h = harness().await;
    let m = h
        .customer_writes("5511956565656", "Mando o comprovante?")
        .await;
    let owner = h.login(&h.owner).await;
    let other = h.login(&h.other).await;
    let team_agent = h.login(&h.team_agent).await;
    let c = h.conversation_of(&owner, m).await;

    // 5 MiB: above the 4 MiB limit of JSON bodies, well under the 100 MiB of a file.
    let png: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let id = uuid::Uuid::now_v7();
    assert_eq!(h.put_file(&other, id, "image/png", png.clone()).await, 201);
    assert_eq!(
        h.put_file(&other, id, "image/png", png.clone()).await,
        200,
        "a retried upload is a no-op"
    );
    assert_eq!(
        h.put_file(&other, id, "image/png", vec![1, 2, 3]).await,
        409,
        "another file under the id"
    );
    assert_eq!(
        h.put_file(&team_agent, id, "image/png", png.clone()).await,
        409,
        "another agent under the id"
    );
    let no_type = h
        .http
        .put(h.url(&format!("/v1/attachments/{}", uuid::Uuid::now_v7())))
        .bearer_auth(&other)
        .body(vec![1u8])
        .send()
        .await
        .unwrap();
    assert_eq!(no_type.status(), 415);
    let anonymous = h
        .http
        .put(h.url(&format!("/v1/attachments/{}", uuid::Uuid::now_v7())))
        .header("content-type", "image/png")
        .body(vec![1u8])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let too_big = vec![0u8; (limits::MAX_ATTACHMENT_BYTES + 1) as usize];
    assert_eq!(
        h.put_file(&other, uuid::Uuid::now_v7(), "video/mp4", too_big)
            .await,
        413
    );
    assert_eq!(h.get_file(&other, uuid::Uuid::now_v7()).await.status(), 404);

    // Before a message takes it, only the uploader can fetch it.
    let r = h.get_file(&other, id).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["content-disposition"], "attachment");
    assert_eq!(r.bytes().await.unwrap().as_ref(), png.as_slice());
    assert_eq!(
        h.get_file(&owner, id).await.status(),
        404,
        "nobody else, not even the owner"
    );

    // A message may only carry the sender's own, whole, unclaimed uploads.
    let size = png.len() as u64;
    let never = uuid::Uuid::now_v7();
    let r = h.ops(&other, vec![with_file(c.id, never, 10)]).await;
    assert!(refusal(&r).contains("never reached the server"), "{r:?}");
    let r = h.ops(&owner, vec![with_file(c.id, id, size)]).await;
    assert!(
        refusal(&r).contains("never reached the server"),
        "someone else's upload: {r:?}"
    );
    let r = h.ops(&other, vec![with_file(c.id, id, size - 1)]).await;
    assert!(refusal(&r).contains("bytes instead of"), "{r:?}");
    h.applied(&other, with_file(c.id, id, size)).await;
    let r = h.ops(&other, vec![with_file(c.id, id, size)]).await;
    assert!(
        refusal(&r).contains("never reached the server"),
        "one upload, one message: {r:?}"
    );

    let mirror = h.synced(&owner, 1000).await;
    let sent: Vec<&Message> = mirror
        .entities
        .values()
        .filter_map(|e| match e {
            Entity::Message(m) if m.conversation_id == c.id && !m.attachments.is_empty() => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].attachments[0].url, Attachment::upload_path(id));

    // Now whoever sees the conversation may fetch it; who may not, may not.
    assert_eq!(h.get_file(&owner, id).await.status(), 200);
    h.applied(
        &owner,
        Action::SetTeam {
            conversation_id: c.id,
            team: Some(h.other_team),
        },
    )
    .await;
    assert_eq!(h.get_file(&team_agent, id).await.status(), 404);
    assert_eq!(h.get_file(&owner, id).await.status(), 200);
}

#[tokio::test]
async fn test_customers_files_come_through_their_channel_and_are_seen_only_by_who_sees_the_conversation()
 {
    let h = harness().await;
    let storage = h.storage();
    let telegram = add_test_channel(
        &*storage,
        ChannelKind::Telegram,
        "Telegram",
        "outro-segredo",
    )
    .unwrap();
    let owner = h.login(&h.owner).await;
    let team_agent = h.login(&h.team_agent).await;
    let file_url = |channel: uuid::Uuid, file: uuid::Uuid| {
        h.url(&format!("/v1/channels/{channel}/files/{file}"))
    };
    let put = |channel: uuid::Uuid,
               secret: &'static str,
               file: uuid::Uuid,
               mime: &'static str,
               body: Vec<u8>| {
        let r = h
            .http
            .put(file_url(channel, file))
            .header("x-outpost-channel-secret", secret)
            .header("content-type", mime)
            .body(body);
        async move { r.send().await.unwrap().status().as_u16() }
    };
    let inbound = |channel: uuid::Uuid, secret: &'static str, body: Value| {
        let r = h
            .http
            .post(h.url(&format!("/v1/channels/{channel}/inbound")))
            .header("x-outpost-channel-secret", secret)
            .json(&body);
        async move {
            let r = r.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or_default(),
            )
        }
    };

    // The channel uploads the photo first: only with its secret, typed, not empty, once per id.
    // A JPEG's signature, then bytes: the server reads the type from them.
    let photo: Vec<u8> = [0xFF, 0xD8, 0xFF, 0xE0]
        .into_iter()
        .chain((4..300_000u32).map(|i| (i % 253) as u8))
        .collect();
    let pdf = b"%PDF-1.4 boleto".to_vec();
    let (p1, p2) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    assert_eq!(
        put(h.channel, "errado", p1, "image/jpeg", photo.clone()).await,
        401
    );
    assert_eq!(
        put(
            uuid::Uuid::now_v7(),
            SECRET,
            p1,
            "image/jpeg",
            photo.clone()
        )
        .await,
        404
    );
    assert_eq!(
        put(h.channel, SECRET, p1, "not a type", photo.clone()).await,
        415
    );
    assert_eq!(
        put(h.channel, SECRET, p1, "image/jpeg", Vec::new()).await,
        400
    );
    assert_eq!(
        put(h.channel, SECRET, p1, "image/jpeg", photo.clone()).await,
        201
    );
    assert_eq!(
        put(h.channel, SECRET, p1, "image/jpeg", photo.clone()).await,
        200,
        "a retry"
    );
    assert_eq!(
        put(telegram, "outro-segredo", p1, "image/jpeg", photo.clone()).await,
        409,
        "another channel under the id"
    );
    assert_eq!(
        put(h.channel, SECRET, p2, "Application/PDF; q=1", pdf.clone()).await,
        201
    );
    assert_eq!(
        h.get_file(&owner, p1).await.status(),
        404,
        "no message has it yet"
    );

    // Another channel cannot attach it; a message needs text or a file.
    let (status, body) = inbound(
        telegram,
        "outro-segredo",
        json!({ "from": "ana_tg", "text": "", "attachments": [{ "file": p1 }] }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not uploaded by this channel"),
        "{body}"
    );
    let (status, _) = inbound(
        h.channel,
        SECRET,
        json!({ "from": "5511944443333", "text": " " }),
    )
    .await;
    assert_eq!(status, 422);

    // The photo alone, and the boleto with a folder in its name.
    let (status, body) = inbound(
        h.channel,
        SECRET,
        json!({ "from": "5511944443333", "name": "Ana", "text": "",
                "attachments": [{ "file": p1 }, { "file": p2, "name": "C:\\Users\\ana\\boleto março.pdf" }] }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let m: MessageId = serde_json::from_value(body["message_id"].clone()).unwrap();
    let (status, body) = inbound(
        h.channel,
        SECRET,
        json!({ "from": "5511944443333", "text": "de novo", "attachments": [{ "file": p1 }] }),
    )
    .await;
    assert_eq!(status, 422, "one file, one message: {body}");

    let mirror = h.synced(&owner, 1000).await;
    let Some(Entity::Message(msg)) = mirror.entities.get(&EntityRef::Message(m)) else {
        panic!("the message is in the feed")
    };
    assert_eq!(msg.direction, Direction::Incoming);
    let files: Vec<(AttachmentKind, &str, &str, u64)> = msg
        .attachments
        .iter()
        .map(|a| (a.kind, a.name.as_str(), a.mime.as_str(), a.size))
        .collect();
    assert_eq!(
        files,
        vec![
            (
                AttachmentKind::Image,
                "image.jpeg",
                "image/jpeg",
                photo.len() as u64
            ),
            (
                AttachmentKind::Document,
                "boleto março.pdf",
                "application/pdf",
                pdf.len() as u64
            ),
        ]
    );
    let Some(Entity::Conversation(c)) = mirror
        .entities
        .get(&EntityRef::Conversation(msg.conversation_id))
    else {
        panic!("its conversation is in the feed")
    };
    assert_eq!(c.last_message_preview, "📎 image.jpeg, boleto março.pdf");
    assert_eq!(c.unread_count, 1);

    // Whoever sees the conversation fetches the files, byte for byte; nobody else.
    let r = h.get_file(&owner, p1).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.bytes().await.unwrap().as_ref(), photo.as_slice());
    assert_eq!(
        h.get_file(&owner, p2).await.bytes().await.unwrap().as_ref(),
        pdf.as_slice()
    );
    assert_eq!(
        h.get_file(&team_agent, p1).await.status(),
        404,
        "unassigned, no team: not hers"
    );
    h.applied(
        &owner,
        Action::SetTeam {
            conversation_id: c.id,
            team: Some(h.team),
        },
    )
    .await;
    assert_eq!(
        h.get_file(&team_agent, p1).await.status(),
        200,
        "now her team's"
    );
}
