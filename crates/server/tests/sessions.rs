//! Sessions end everywhere at once (sign-out, sign out everywhere, a new password, an agent
//! disabled, expiry), streams follow what their agent may see now, passwords meet a policy, and
//! guessing is slow and cheap for the server. Real server over loopback, real WebSockets.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use outpost_protocol::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Ws;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn stream(h: &Harness, token: &str) -> Socket {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/v1/stream?token={token}", h.addr()))
            .await
            .unwrap();
    let first = ws.next().await.unwrap().unwrap();
    assert!(first.to_text().unwrap().contains("changed"));
    ws
}

/// The next frame that is not `changed`, within a few seconds: a close, or presence.
async fn next_other(ws: &mut Socket) -> Option<Ws> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Err(_) | Ok(None) => return None,
            Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(frame))) => {
                if let Ws::Text(t) = &frame
                    && t.contains("\"changed\"")
                {
                    continue;
                }
                return Some(frame);
            }
        }
    }
}

fn closed_for_session(frame: Option<Ws>) {
    match frame {
        Some(Ws::Close(Some(c))) => assert_eq!(u16::from(c.code), 4001, "{c:?}"),
        other => panic!("expected the stream to close for its session, got {other:?}"),
    }
}

async fn status_of(h: &Harness, token: &str) -> u16 {
    h.get(token, "/v1/me").await.status().as_u16()
}

async fn post(h: &Harness, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = h.post(token, path, &body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn login_status(h: &Harness, email: &str, password: &str, from: Option<&str>) -> u16 {
    let mut r = h
        .http
        .post(h.url("/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }));
    if let Some(from) = from {
        r = r.header("x-forwarded-for", from);
    }
    r.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn test_signing_out_closes_the_sessions_open_stream_at_once() {
    let h = harness().await;
    let token = h.login(&h.owner).await;
    let other = h.login(&h.owner).await;
    let mut ws = stream(&h, &token).await;
    let mut other_ws = stream(&h, &other).await;
    let (status, _) = post(&h, &token, "/v1/auth/logout", json!({})).await;
    assert_eq!(status, 204);
    closed_for_session(next_other(&mut ws).await);
    // The other session of the same agent goes on: it still hears commits.
    h.customer_writes("5511922220001", "Oi").await;
    let frame = tokio::time::timeout(Duration::from_secs(5), other_ws.next())
        .await
        .expect("the other session's stream is open")
        .unwrap()
        .unwrap();
    assert!(frame.to_text().unwrap().contains("changed"));
    assert_eq!(status_of(&h, &token).await, 401);
    assert_eq!(status_of(&h, &other).await, 200);
}

#[tokio::test]
async fn test_a_new_password_ends_the_other_sessions_and_meets_the_policy() {
    let h = harness().await;
    let here = h.login(&h.team_agent).await;
    let elsewhere = h.login(&h.team_agent).await;
    let mut elsewhere_ws = stream(&h, &elsewhere).await;
    let change =
        |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
    // The policy: too short, the email, a common password.
    for bad in ["curta", "tiago@outpost.example", "password123"] {
        let (status, body) = post(&h, &here, "/v1/auth/password", change(PASSWORD, bad)).await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
    // The current password is asked for.
    let (status, _) = post(
        &h,
        &here,
        "/v1/auth/password",
        change("não-é-essa-senha", "uma-senha-nova-e-longa"),
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = post(
        &h,
        &here,
        "/v1/auth/password",
        change(PASSWORD, "uma-senha-nova-e-longa"),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    closed_for_session(next_other(&mut elsewhere_ws).await);
    assert_eq!(status_of(&h, &elsewhere).await, 401);
    assert_eq!(
        status_of(&h, &here).await,
        200,
        "the session that changed it goes on"
    );
    assert_eq!(
        login_status(&h, "tiago@outpost.example", PASSWORD, None).await,
        401
    );
    h.login_as("tiago@outpost.example", "uma-senha-nova-e-longa")
        .await;
}

#[tokio::test]
async fn test_signing_out_everywhere_ends_every_session() {
    let h = harness().await;
    let a = h.login(&h.other).await;
    let b = h.login(&h.other).await;
    let mut a_ws = stream(&h, &a).await;
    let mut b_ws = stream(&h, &b).await;
    let (status, _) = post(&h, &a, "/v1/auth/logout-everywhere", json!({})).await;
    assert_eq!(status, 204);
    closed_for_session(next_other(&mut a_ws).await);
    closed_for_session(next_other(&mut b_ws).await);
    assert_eq!(status_of(&h, &a).await, 401);
    assert_eq!(status_of(&h, &b).await, 401);
}

#[tokio::test]
async fn test_a_disabled_agent_is_signed_out_and_cannot_sign_in() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let paula = h.login(&h.own_only).await;
    let mut ws = stream(&h, &paula).await;
    let patch = |token: &str, id: AgentId, body: Value| {
        h.http
            .patch(h.url(&format!("/v1/admin/agents/{}", id.0)))
            .bearer_auth(token.to_owned())
            .json(&body)
            .send()
    };
    // An agent may not disable anyone; nobody disables the owner.
    let tiago = h.login(&h.team_agent).await;
    let r = patch(&tiago, h.own_only.id, json!({ "disabled": true }))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = patch(&owner, h.owner.id, json!({ "disabled": true }))
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "not oneself");

    let r = patch(&owner, h.own_only.id, json!({ "disabled": true }))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    closed_for_session(next_other(&mut ws).await);
    assert_eq!(status_of(&h, &paula).await, 401);
    assert_eq!(
        login_status(&h, "paula@outpost.example", PASSWORD, None).await,
        403
    );
    // A wrong password says nothing about it.
    assert_eq!(
        login_status(&h, "paula@outpost.example", "senha-errada-123", None).await,
        401
    );
    let r = patch(&owner, h.own_only.id, json!({ "disabled": false }))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    h.login(&h.own_only).await;
}

#[tokio::test]
async fn test_an_expired_session_closes_its_stream() {
    let h = harness().await;
    let token = h.login(&h.owner).await;
    let mut ws = stream(&h, &token).await;
    h.advance(outpost_server::auth::SESSION_TTL + 1);
    // The next commit finds it expired: the stream closes instead of saying "changed".
    h.customer_writes("5511922220002", "Oi").await;
    let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("a frame")
        .unwrap()
        .unwrap();
    closed_for_session(Some(frame));
}

#[tokio::test]
async fn test_presence_stops_at_once_when_its_recipient_is_demoted() {
    let h = harness().await;
    let m = h.customer_writes("5511922220003", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    // Otávio (unrestricted) listens; the owner types.
    let otavio = h.login(&h.other).await;
    let mut listener = stream(&h, &otavio).await;
    let mut typist = stream(&h, &owner).await;
    let typing = Ws::Text(
        serde_json::to_string(&ClientFrame::Typing {
            conversation_id: c.id,
        })
        .unwrap()
        .into(),
    );
    typist.send(typing.clone()).await.unwrap();
    let heard = next_other(&mut listener).await.expect("typing heard");
    assert!(heard.to_text().unwrap().contains("typing"), "{heard:?}");
    // Demoted to own-only: the conversation is not theirs, so nothing more reaches them.
    let r = h
        .http
        .patch(h.url(&format!("/v1/admin/agents/{}", h.other.id.0)))
        .bearer_auth(&owner)
        .json(&json!({ "visibility": "own_only" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Past the typing budget's second, the owner types again.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    typist.send(typing).await.unwrap();
    let heard = tokio::time::timeout(Duration::from_millis(1_500), async {
        loop {
            match listener.next().await {
                Some(Ok(Ws::Text(t))) if t.contains("typing") => return Some(t),
                Some(Ok(_)) => {}
                _ => return None,
            }
        }
    })
    .await;
    assert!(
        !matches!(heard, Ok(Some(_))),
        "a demoted agent still hears typing: {heard:?}"
    );
}

#[tokio::test]
async fn test_one_agents_typing_flood_is_relayed_a_bounded_number_of_times() {
    let h = harness().await;
    let m = h.customer_writes("5511922220004", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let mut listener = stream(&h, &h.login(&h.other).await).await;
    let mut typist = stream(&h, &owner).await;
    let typing = serde_json::to_string(&ClientFrame::Typing {
        conversation_id: c.id,
    })
    .unwrap();
    for _ in 0..2_000 {
        typist.send(Ws::Text(typing.clone().into())).await.unwrap();
    }
    let mut heard = 0;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(frame)) = listener.next().await {
            if frame.to_text().unwrap_or_default().contains("typing") {
                heard += 1;
            }
        }
    })
    .await;
    assert!(heard >= 1, "typing still reaches who may see it");
    assert!(heard <= 4, "2,000 frames relayed {heard} times in 2 s");
}

/// A server that trusts 127.0.0.1 as its reverse proxy, so tests can speak from any address.
async fn behind_proxy() -> (tempfile::TempDir, outpost_server::Running) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let c = clock.clone();
    let server = outpost_server::start_with(
        dir.path(),
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(move || c.load(Ordering::SeqCst)),
        outpost_server::Options {
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..common::options()
        },
    )
    .await
    .unwrap();
    outpost_server::add_agent(
        &*server.app.storage,
        "Ana",
        "ana@outpost.example",
        PASSWORD,
        Role::Agent,
        Visibility::Unrestricted,
        vec![],
    )
    .unwrap();
    (dir, server)
}

#[tokio::test]
async fn test_concurrent_guesses_are_counted_before_they_are_checked() {
    let (_dir, server) = behind_proxy().await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/v1/auth/login", server.addr);
    let guesses = (0..40).map(|i| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            http.post(url)
                .header("x-forwarded-for", "203.0.113.7")
                .json(&json!({ "email": "ana@outpost.example", "password": format!("errada-{i:04}-xyz") }))
                .send()
                .await
                .unwrap()
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let wrong = answers.iter().filter(|r| r.status() == 401).count();
    let limited: Vec<_> = answers.iter().filter(|r| r.status() == 429).collect();
    assert!(
        wrong <= outpost_server::auth::LOGIN_ATTEMPTS,
        "{wrong} passwords checked"
    );
    assert_eq!(wrong + limited.len(), 40);
    assert!(
        limited
            .iter()
            .all(|r| r.headers().contains_key("retry-after"))
    );
    // The agent, from their own address, still signs in.
    let r = http
        .post(&url)
        .header("x-forwarded-for", "198.51.100.2")
        .json(&json!({ "email": "ana@outpost.example", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn test_a_forwarded_address_is_believed_only_from_a_trusted_proxy() {
    // The plain harness trusts no proxy: a forged header does not buy fresh attempts.
    let h = harness().await;
    for i in 0..outpost_server::auth::LOGIN_ATTEMPTS {
        let from = format!("192.0.2.{i}");
        let status =
            login_status(&h, "olga@outpost.example", "senha-errada-123", Some(&from)).await;
        assert_eq!(status, 401);
    }
    let status = login_status(&h, "olga@outpost.example", PASSWORD, Some("192.0.2.200")).await;
    assert_eq!(status, 429, "the peer's own address is spent");
}

#[tokio::test]
async fn test_one_agents_flood_of_ops_is_told_to_wait_and_others_go_on() {
    let h = harness().await;
    let m = h.customer_writes("5511922220005", "Oi").await;
    let owner = h.login(&h.owner).await;
    let c = h.conversation_of(&owner, m).await;
    let ops: Vec<Op> = (0..500)
        .map(|_| Op {
            op_id: OpId::new(),
            at: T0,
            action: Action::MarkRead {
                conversation_id: c.id,
            },
        })
        .collect();
    // Twelve requests of 500 at once (sent together, as a reconnecting desktop's flush would
    // be, whatever the time the store takes to apply each): the budget holds 5,000.
    let sent = (0..12).map(|_| async {
        let r = h.post(&owner, "/v1/ops", &json!({ "ops": ops })).await;
        let retry = r.headers().get("retry-after").is_some();
        (r.status().as_u16(), retry)
    });
    let statuses = futures_util::future::join_all(sent).await;
    assert_eq!(
        statuses.iter().filter(|(s, _)| *s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|(s, retry)| *s == 429 && *retry)
            .count(),
        2,
        "past 5,000 ops at once the agent is told to wait: {statuses:?}"
    );
    // Another agent is not held back by it.
    let otavio = h.login(&h.other).await;
    let r = h
        .ops(
            &otavio,
            vec![Action::MarkRead {
                conversation_id: c.id,
            }],
        )
        .await;
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }));
}
