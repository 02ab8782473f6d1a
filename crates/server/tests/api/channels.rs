//! Channels: the test channel's delivery, and its webhook's secret.

use super::*;

#[tokio::test]
async fn test_outgoing_messages_go_wired_sent_delivered_read_or_fail_with_the_providers_error() {
    let h = harness().await;
    let rules = json!({ "fail": ["5511900000013"], "failure_reason": "(#131026) Número sem WhatsApp", "step_ms": 1000, "read": true });
    let url = h.url(&format!("/v1/channels/{}/rules", h.channel));
    let r = h.http.put(&url).json(&rules).send().await.unwrap();
    assert_eq!(r.status(), 401, "rules need the channel's secret");
    let r = h
        .http
        .put(&url)
        .header("x-outpost-channel-secret", SECRET)
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let ok = h.customer_writes("5511911110000", "Oi").await;
    let bad = h.customer_writes("5511900000013", "Oi").await;
    let owner = h.login(&h.owner).await;
    let (c_ok, c_bad) = (
        h.conversation_of(&owner, ok).await,
        h.conversation_of(&owner, bad).await,
    );
    let (to_ok, to_bad) = (send(c_ok.id, "Tudo certo!"), send(c_bad.id, "Tudo certo?"));
    let id = |a: &Action| match a {
        Action::SendMessage { message_id, .. } => *message_id,
        _ => unreachable!(),
    };
    let (id_ok, id_bad) = (id(&to_ok), id(&to_bad));
    h.ops(&owner, vec![to_ok, to_bad]).await;
    let message = |mirror: &Mirror, id| match mirror.entities.get(&EntityRef::Message(id)) {
        Some(Entity::Message(m)) => m.clone(),
        _ => panic!("missing"),
    };
    for _ in 0..60 {
        h.advance(1_000);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mirror = h.synced(&owner, 1000).await;
        let (m_ok, m_bad) = (message(&mirror, id_ok), message(&mirror, id_bad));
        if m_ok.status == MessageStatus::Read && m_bad.status == MessageStatus::Failed {
            let steps: Vec<MessageStatus> = m_ok.history.iter().map(|s| s.status).collect();
            assert_eq!(
                steps,
                vec![
                    MessageStatus::Pending,
                    MessageStatus::Wired,
                    MessageStatus::Sent,
                    MessageStatus::Delivered,
                    MessageStatus::Read
                ]
            );
            assert!(
                m_ok.history.windows(2).all(|w| w[0].at < w[1].at),
                "each status keeps its own time"
            );
            assert_eq!(
                m_bad.failure.as_deref(),
                Some("(#131026) Número sem WhatsApp")
            );
            assert_eq!(Folder::of(&m_bad), Folder::Failed);
            return;
        }
    }
    panic!("the messages did not move along their channel");
}

#[tokio::test]
async fn test_channel_webhook_checks_its_secret() {
    let h = harness().await;
    let url = h.url(&format!("/v1/channels/{}/inbound", h.channel));
    let body = json!({ "from": "5511900000000", "text": "oi" });
    let r = h.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = h
        .http
        .post(&url)
        .header("x-outpost-channel-secret", "errado")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = h
        .http
        .post(h.url(&format!("/v1/channels/{}/inbound", uuid::Uuid::now_v7())))
        .header("x-outpost-channel-secret", SECRET)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let bad_phone = json!({ "from": "+55 (11) 9", "text": "oi" });
    let r = h
        .http
        .post(&url)
        .header("x-outpost-channel-secret", SECRET)
        .json(&bad_phone)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}
