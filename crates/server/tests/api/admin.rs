//! Administration: channels (credentials that never come back, secrets, disabling, templates),
//! honest delivery (no ticks without a provider), invitations, teams' quick replies, and the
//! endpoints a business runs the server with (health, readiness, metrics).

use super::*;
use outpost_server::storage::Storage;

async fn created(h: &Harness, token: &str, body: Value) -> Value {
    let r = h.post(token, "/v1/admin/channels", &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

fn channel_in(mirror: &Mirror, id: &str) -> Option<Channel> {
    mirror.entities.values().find_map(|e| match e {
        Entity::Channel(c) if c.id.to_string() == id => Some(c.clone()),
        _ => None,
    })
}

#[tokio::test]
async fn test_channels_are_made_by_admins_and_their_credentials_never_come_back() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let agent = h.login(&h.team_agent).await;
    let whatsapp = json!({
        "kind": "whatsapp", "name": "Loja (WhatsApp)",
        "settings": { "phone_number_id": "106540352242922", "business_account_id": "102290129340398",
                      "access_token": "EAAJB-token-secreto-123", "app_secret": "app-secret-456" }
    });
    assert_eq!(
        h.post(&agent, "/v1/admin/channels", &whatsapp)
            .await
            .status(),
        403,
        "agents do not manage channels"
    );
    assert_eq!(h.get(&agent, "/v1/admin/channels").await.status(), 403);

    let made = created(&h, &owner, whatsapp).await;
    let id = made["channel"]["id"].as_str().unwrap().to_owned();
    assert_eq!(made["channel"]["test"], false);
    assert!(
        made["secret"].as_str().unwrap().len() >= 32,
        "a secret, shown once"
    );
    assert!(
        made["webhook_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v1/webhooks/whatsapp/{id}")),
        "{made}"
    );
    assert_eq!(made["settings"]["phone_number_id"], "106540352242922");
    assert_eq!(
        made["credentials_set"],
        json!(["access_token", "app_secret"])
    );

    // Whatever an admin reads back, and whatever any agent syncs, holds no credential.
    let listed = h
        .get(&owner, "/v1/admin/channels")
        .await
        .text()
        .await
        .unwrap();
    let shown = h
        .get(&owner, &format!("/v1/admin/channels/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let feed = serde_json::to_string(
        &h.synced(&agent, 1000)
            .await
            .entities
            .values()
            .collect::<Vec<_>>(),
    )
    .unwrap();
    for text in [&listed, &shown, &feed] {
        assert!(!text.contains("EAAJB-token-secreto-123"), "{text}");
        assert!(!text.contains("app-secret-456"));
    }
    let seen = channel_in(&h.synced(&agent, 1000).await, &id).expect("agents see the channel");
    assert_eq!(seen.name, "Loja (WhatsApp)");
    assert!(!seen.test);

    // A web chat lists the origins that may embed it, and gets its tag.
    let web = created(
        &h,
        &owner,
        json!({ "kind": "web_chat", "name": "Site", "settings": { "allowed_origins": ["https://loja.example"] } }),
    )
    .await;
    assert!(
        web["embed"].as_str().unwrap().contains("<script src="),
        "{web}"
    );

    // What a kind needs, and what is not an origin, are said.
    for (bad, why) in [
        (
            json!({ "kind": "whatsapp", "name": "X", "settings": { "phone_number_id": "1" } }),
            "business_account_id",
        ),
        (
            json!({ "kind": "web_chat", "name": "X", "settings": { "allowed_origins": ["loja.example/"] } }),
            "not an origin",
        ),
        (json!({ "kind": "sms", "name": "X" }), "no sms provider"),
        (
            json!({ "kind": "telegram", "name": " ", "settings": { "bot_token": "1:x" } }),
            "name",
        ),
    ] {
        let r = h.post(&owner, "/v1/admin/channels", &bad).await;
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains(why), "{body}");
    }
    // Only on purpose: a test channel of any kind.
    let test = created(
        &h,
        &owner,
        json!({ "kind": "sms", "name": "SMS de teste", "test": true }),
    )
    .await;
    assert_eq!(test["channel"]["test"], true);

    // A credential changed replaces the old one; the others are kept.
    let r = h
        .http
        .patch(h.url(&format!("/v1/admin/channels/{id}")))
        .bearer_auth(&owner)
        .json(&json!({ "settings": { "access_token": "EAAJB-novo-token" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let settings = h
        .storage()
        .channel_settings(uuid::Uuid::parse_str(&id).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(settings["access_token"], "EAAJB-novo-token");
    assert_eq!(settings["app_secret"], "app-secret-456");
}

#[tokio::test]
async fn test_a_new_secret_replaces_the_old_and_a_disabled_channel_neither_receives_nor_sends() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let m = h.customer_writes("5511955550000", "Olá").await;
    let c = h.conversation_of(&owner, m).await;

    let r = h
        .post_empty(&owner, &format!("/v1/admin/channels/{}/secret", h.channel))
        .await;
    assert_eq!(r.status(), 200);
    let secret = r.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let inbound = |secret: String| {
        let h = &h;
        async move {
            h.http
                .post(h.url(&format!("/v1/channels/{}/inbound", h.channel)))
                .header("x-outpost-channel-secret", secret)
                .json(&json!({ "from": "5511955550000", "text": "De novo" }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        inbound(SECRET.to_owned()).await,
        401,
        "the old secret stopped working"
    );
    assert_eq!(inbound(secret.clone()).await, 200);

    let r = h
        .http
        .patch(h.url(&format!("/v1/admin/channels/{}", h.channel)))
        .bearer_auth(&owner)
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        inbound(secret).await,
        403,
        "a disabled channel receives nothing"
    );

    // A reply on WhatsApp has no channel to leave through: it fails, saying why.
    let reply = send(c.id, "Oi, tudo bem?");
    let Action::SendMessage { message_id, .. } = reply else {
        unreachable!()
    };
    h.applied(&owner, reply).await;
    let mut failed = None;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if let Some(Entity::Message(m)) = h
            .synced(&owner, 1000)
            .await
            .entities
            .get(&EntityRef::Message(message_id))
            && m.status == MessageStatus::Failed
        {
            failed = Some(m.clone());
            break;
        }
    }
    let failed = failed.expect("the message failed");
    assert_eq!(
        failed.failure.as_deref(),
        Some(outpost_server::channels::NO_CHANNEL)
    );
}

#[tokio::test]
async fn test_without_a_provider_report_a_message_stays_queued_and_never_gets_ticks() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    // A real Telegram channel: its provider, not the server, reports what becomes of a message
    // (here one that cannot be reached: the message waits for it, retried).
    created(
        &h,
        &owner,
        json!({ "kind": "telegram", "name": "@loja_bot", "settings": { "bot_token": "123456:ABC-DEF", "mode": "polling", "api_base": "http://127.0.0.1:1" } }),
    )
    .await;
    let (conversation_id, message_id) = (ConversationId::new(), MessageId::new());
    h.applied(
        &owner,
        Action::WriteFirst {
            conversation_id,
            contact_id: ContactId::new(),
            channel: ChannelKind::Telegram,
            address: "123456789".into(),
            message_id,
            text: "Olá Ana!".into(),
            template: None,
        },
    )
    .await;
    // The test channel's pace is half a second a step: a simulated provider would be at "read".
    for _ in 0..8 {
        h.advance(1_000);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let mirror = h.synced(&owner, 1000).await;
    let Some(Entity::Message(m)) = mirror.entities.get(&EntityRef::Message(message_id)) else {
        panic!("the message is there");
    };
    assert_eq!(
        m.status,
        MessageStatus::Pending,
        "queued at the server for its provider"
    );
    assert_eq!(m.history.len(), 1);
}

#[tokio::test]
async fn test_an_invited_agent_chooses_a_password_once_with_the_link() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let r = h
        .post(
            &owner,
            "/v1/admin/agents",
            &json!({ "name": "Iara", "email": "iara@outpost.example", "role": "agent", "visibility": "team", "teams": [h.team] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let link = body["invite_url"].as_str().unwrap().to_owned();
    let token = link.rsplit('/').next().unwrap().to_owned();
    assert!(
        link.starts_with(&format!("http://{}/invite/", h.addr())),
        "{link}"
    );
    // Nobody signs in as an invited agent before they choose a password.
    let r = h
        .http
        .post(h.url("/v1/auth/login"))
        .json(&json!({ "email": "iara@outpost.example", "password": "" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // The link's page says what to do, and nothing of the workspace.
    let page = h.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("I have an invitation") && !page.contains("iara"));

    let accept = |password: &str| {
        let body = json!({ "token": token, "password": password });
        let h = &h;
        async move {
            h.http
                .post(h.url("/v1/auth/invite"))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        accept("iara").await.status(),
        422,
        "a weak password is refused…"
    );
    let r = accept("uma senha bem comprida").await;
    assert_eq!(r.status(), 200, "…without using the invitation up");
    let session: Value = r.json().await.unwrap();
    let me = h.get(session["token"].as_str().unwrap(), "/v1/me").await;
    assert_eq!(
        me.json::<Value>().await.unwrap()["email"],
        "iara@outpost.example"
    );
    assert_eq!(
        accept("outra senha bem comprida").await.status(),
        401,
        "once"
    );
    h.login_as("iara@outpost.example", "uma senha bem comprida")
        .await;
}

#[tokio::test]
async fn test_a_teams_quick_replies_and_a_channels_templates_reach_the_agents() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let agent = h.login(&h.team_agent).await;
    let patch = |path: String, body: Value, token: String| {
        let h = &h;
        async move {
            h.http
                .patch(h.url(&path))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let replies = json!({ "quick_replies": [{ "shortcut": "/prazo", "text": "Olá {first_name}, o prazo é de 5 dias úteis." }] });
    let path = format!("/v1/admin/teams/{}", h.team);
    assert_eq!(
        patch(path.clone(), replies.clone(), agent.clone())
            .await
            .status(),
        403
    );
    assert_eq!(patch(path, replies, owner.clone()).await.status(), 200);
    let templates = json!({ "templates": [{ "name": "pedido_enviado", "language": "pt_BR", "body": "Olá {{1}}, seu pedido {{2}} foi enviado." }] });
    assert_eq!(
        patch(
            format!("/v1/admin/channels/{}", h.channel),
            templates,
            owner.clone()
        )
        .await
        .status(),
        200
    );

    let mirror = h.synced(&agent, 1000).await;
    let team = mirror
        .entities
        .values()
        .find_map(|e| match e {
            Entity::Team(t) if t.id == h.team => Some(t.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(team.quick_replies[0].shortcut, "prazo");
    let channel = channel_in(&mirror, &h.channel.to_string()).unwrap();
    assert_eq!(channel.templates[0].name, "pedido_enviado");
    assert_eq!(channel.templates[0].variables(), 2);
}

#[tokio::test]
async fn test_health_readiness_and_metrics() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let get = |path: &str| h.http.get(h.url(path)).send();
    let r = get("/healthz").await.unwrap();
    assert_eq!(r.status(), 200);
    let r = get("/readyz").await.unwrap();
    assert_eq!(r.status(), 200);

    let m = h.customer_writes("5511966660000", "Oi").await;
    let c = h.conversation_of(&owner, m).await;
    h.applied(&owner, send(c.id, "Olá!")).await;
    let metrics = get("/metrics").await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    let value = |name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    assert!(value("outpost_ops_total{result=\"applied\"}") >= 1);
    assert!(value("outpost_http_requests_total{class=\"2xx\"}") >= 3);
    assert!(value("outpost_feed_head") > 0);
    assert!(text.contains("outpost_outgoing_queue"));
    assert!(text.contains("outpost_stream_clients 0"));
    // Through a proxy it is not there: only this machine asks.
    let proxied = h
        .http
        .get(h.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 404);
}
