//! Sessions in the OS keyring (the real Secret Service: `cargo xtask test` runs gnome-keyring
//! in a private D-Bus session), signing in again after the server ends a session, presence
//! between two agents, and a first sync that makes the recent conversations usable first.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use outpost_core::api::Connection;
use outpost_core::store::{ListQuery, ViewRef};
use outpost_core::sync::engine::Engine;
use outpost_core::sync::keyring::Keyring;
use outpost_core::sync::{SyncError, Syncer};
use outpost_core::{Client, Event, ManualClock};
use outpost_e2e::*;
use outpost_protocol::*;
use outpost_server::storage::Storage;

fn test_keyring() -> Keyring {
    Keyring::new(&format!("dev.outpost.test.{}", uuid::Uuid::now_v7()))
}

fn open_client(dir: &std::path::Path, name: &str) -> Arc<Client> {
    Arc::new(
        Client::open(
            dir.join(format!("{name}.db")),
            Arc::new(ManualClock::new(T0)),
        )
        .unwrap(),
    )
}

/// Every byte of every file under `dir` (the mirror, its log, anything beside it).
fn files_contain(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// Waits for an event matching `pick` on `events` (a blocking receiver, polled).
async fn event<T>(
    events: &std::sync::mpsc::Receiver<Event>,
    what: &str,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        match events.try_recv() {
            Ok(e) => {
                if let Some(t) = pick(&e) {
                    return t;
                }
            }
            Err(_) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "timed out waiting for: {what}"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_session_token_lives_in_the_keyring_only_and_resumes_after_restart() {
    let w = world().await;
    let (keyring, dir, client, syncer) = ana_through_the_keyring(&w).await;
    let m = w.customer_writes("5511900001111", "Bom dia").await;
    syncer.sync().await.unwrap();
    let token = keyring
        .load(&w.base(), &w.ana.email)
        .unwrap()
        .expect("the token is in the keyring");
    assert_eq!(token, syncer.session().token());
    assert!(!format!("{:?}", syncer.session()).contains(&token));
    drop(syncer);
    drop(client);
    assert_eq!(
        files_contain(dir.path(), token.as_bytes()),
        Vec::<String>::new(),
        "the token is in no file beside the mirror"
    );
    assert_eq!(
        files_contain(dir.path(), PASSWORD.as_bytes()),
        Vec::<String>::new(),
        "nor the password"
    );

    // The app starts again: the mirror knows its account, the keyring its token.
    let client = open_client(dir.path(), "ana");
    let resumed = Syncer::resume_saved(client.clone(), keyring.clone())
        .await
        .unwrap()
        .expect("a kept session");
    assert_eq!(resumed.session().email, w.ana.email);
    let m2 = w.customer_writes("5511900001111", "Ainda aí?").await;
    resumed.sync().await.unwrap();
    assert!(has_message(&client, m) && has_message(&client, m2));

    // Another account on this mirror is refused, and leaves no session behind.
    let other = Syncer::sign_in(
        client.clone(),
        keyring.clone(),
        &w.base(),
        &w.bruno.email,
        PASSWORD,
    )
    .await
    .err()
    .expect("another account is refused");
    assert!(other.to_string().contains("belongs to"), "{other}");
    assert_eq!(keyring.load(&w.base(), &w.bruno.email).unwrap(), None);

    // Signing out ends the session at the server and forgets the token.
    resumed.sign_out().await.unwrap();
    assert_eq!(keyring.load(&w.base(), &w.ana.email).unwrap(), None);
    let status = reqwest::Client::new()
        .get(format!("{}/v1/me", w.base()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401, "the server no longer takes the token");
    assert!(
        Syncer::resume_saved(client.clone(), keyring)
            .await
            .unwrap()
            .is_none(),
        "nothing to resume: the agent signs in"
    );
}

/// Ana signs in with her token kept in a keyring of the test's own.
async fn ana_through_the_keyring(w: &World) -> (Keyring, tempfile::TempDir, Arc<Client>, Syncer) {
    let keyring = test_keyring();
    let dir = tempfile::tempdir().unwrap();
    let client = open_client(dir.path(), "ana");
    let syncer = Syncer::sign_in(
        client.clone(),
        keyring.clone(),
        &w.base(),
        &w.ana.email,
        PASSWORD,
    )
    .await
    .unwrap();
    (keyring, dir, client, syncer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_ended_session_asks_to_sign_in_again_and_loses_nothing_queued() {
    let w = world().await;
    let (keyring, _dir, client, syncer) = ana_through_the_keyring(&w).await;
    let m = w.customer_writes("5511900002222", "Oi").await;
    syncer.sync().await.unwrap();
    let conversation = {
        let page = client
            .store()
            .list_conversations(&ListQuery::new(ViewRef::All), T0)
            .unwrap();
        page.rows[0].conversation.id
    };
    assert!(has_message(&client, m));

    // The session ends at the server (an admin revoked it, or it expired) while the agent works.
    let token = syncer.session().token().to_owned();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/auth/logout", w.base()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let reply = MessageId::new();
    client
        .act(send_with_id(conversation, reply, "Já vejo"))
        .unwrap();

    let events = client.subscribe();
    let engine = Engine::start(syncer.resume_clone());
    let (server, email, reason) = event(&events, "sign in again", |e| match e {
        Event::SignInRequired {
            server,
            email,
            reason,
        } => Some((server.clone(), email.clone(), reason.clone())),
        _ => None,
    })
    .await;
    assert_eq!(
        (server.as_str(), email.as_str()),
        (w.base().as_str(), w.ana.email.as_str())
    );
    assert!(reason.contains("Sign in again"), "{reason}");
    assert_eq!(engine.status().borrow().connection, Connection::SignedOut);
    assert_eq!(engine.status().borrow().waiting, 1, "the reply still waits");
    assert_eq!(
        keyring.load(&w.base(), &w.ana.email).unwrap(),
        None,
        "the dead token is forgotten"
    );
    engine.stop().await;
    let storage = w.server.as_ref().unwrap().app.storage.clone();
    assert!(storage.get(EntityRef::Message(reply)).unwrap().is_none());

    // The agent signs in again: what waited is sent, once.
    let again = Syncer::sign_in(
        client.clone(),
        keyring.clone(),
        &w.base(),
        &w.ana.email,
        PASSWORD,
    )
    .await
    .unwrap();
    let engine = Engine::start(again.resume_clone());
    until("the queued reply is answered", || {
        client.store().journal().unwrap().is_empty()
    })
    .await;
    engine.stop().await;
    assert!(storage.get(EntityRef::Message(reply)).unwrap().is_some());
    let sent = outgoing_at_server(&w)
        .into_iter()
        .filter(|(c, t)| *c == conversation && t == "Já vejo")
        .count();
    assert_eq!(sent, 1);
    keyring.forget(&w.base(), &w.ana.email).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_typing_and_viewing_reach_the_other_agent() {
    let w = world().await;
    let ana = w.sign_in(&w.ana, "ana").await;
    let bruno = w.sign_in(&w.bruno, "bruno").await;
    let m = w.customer_writes("5511900003333", "Alguém aí?").await;
    ana.syncer.sync().await.unwrap();
    bruno.syncer.sync().await.unwrap();
    let c = conversation_of(&ana, m).id;
    let bruno_events = bruno.client.subscribe();
    let ana_engine = Engine::start(ana.syncer.resume_clone());
    let bruno_engine = Engine::start(bruno.syncer.resume_clone());
    for status in [ana_engine.status(), bruno_engine.status()] {
        until("online", || {
            status.borrow().connection == Connection::Online
        })
        .await;
    }
    ana_engine.presence(ClientFrame::Viewing {
        conversation_id: Some(c),
    });
    let who = event(&bruno_events, "Ana viewing", |e| match e {
        Event::Viewing {
            conversation_id,
            who,
        } if *conversation_id == c && !who.is_empty() => Some(who.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        who.iter().map(|p| p.agent_id).collect::<Vec<_>>(),
        vec![w.ana.id]
    );
    assert_eq!(who[0].name, "Ana Lima");
    ana_engine.presence(ClientFrame::Typing { conversation_id: c });
    let typist = event(&bruno_events, "Ana typing", |e| match e {
        Event::Typing {
            conversation_id,
            who,
        } if *conversation_id == c => Some(who.agent_id),
        _ => None,
    })
    .await;
    assert_eq!(typist, w.ana.id);
    // Ana closes the conversation on screen: Bruno sees nobody there.
    ana_engine.presence(ClientFrame::Viewing {
        conversation_id: None,
    });
    event(&bruno_events, "nobody viewing", |e| match e {
        Event::Viewing {
            conversation_id,
            who,
        } if *conversation_id == c && who.is_empty() => Some(()),
        _ => None,
    })
    .await;
    ana_engine.stop().await;
    bruno_engine.stop().await;
}

/// Forwards `/v1/recent` (and sign-in) to the real server and fails `/v1/changes`: what the
/// client has is then exactly what it could work with before the history arrived.
async fn history_unavailable(real: String) -> String {
    use axum::extract::Request;
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |req: Request| {
        let (http, real) = (http.clone(), real.clone());
        async move {
            let path = req
                .uri()
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default();
            if path.starts_with("/v1/changes") {
                return (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    String::from("{}"),
                );
            }
            let method = req.method().clone();
            let headers = req.headers().clone();
            let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap();
            let mut forward = http.request(method, format!("{real}{path}")).body(body);
            for (k, v) in headers.iter() {
                if k != "host" {
                    forward = forward.header(k, v);
                }
            }
            let answer = forward.send().await.unwrap();
            let status = axum::http::StatusCode::from_u16(answer.status().as_u16()).unwrap();
            (status, answer.text().await.unwrap())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_first_sync_makes_recent_conversations_usable_before_the_history_with_progress() {
    let w = world().await;
    // 120 customers, one after another: the last 50 are the recent ones.
    let mut order = Vec::new();
    for i in 0..120 {
        w.server_clock.fetch_add(60_000, Ordering::SeqCst);
        let first = w
            .customer_writes(&format!("55119{i:08}"), &format!("pedido {i}"))
            .await;
        w.server_clock.fetch_add(1_000, Ordering::SeqCst);
        w.customer_writes(&format!("55119{i:08}"), &format!("detalhe {i}"))
            .await;
        order.push(first);
    }
    let dir = tempfile::tempdir().unwrap();
    let client = open_client(dir.path(), "ana");
    let blocked = history_unavailable(w.base()).await;
    let syncer = Syncer::login(client.clone(), &blocked, &w.ana.email, PASSWORD)
        .await
        .unwrap();
    let events = client.subscribe();
    let err = syncer.pull().await.expect_err("the history cannot be had");
    assert!(
        matches!(err, SyncError::Server { status: 503, .. }),
        "{err}"
    );
    let (stored, total) = event(&events, "recent ready", |e| match e {
        Event::SyncProgress {
            stored,
            total,
            recent_ready: true,
        } => Some((*stored, *total)),
        _ => None,
    })
    .await;
    assert_eq!(stored, 0);
    assert!(
        total > 240,
        "the progress knows how far the feed goes: {total}"
    );
    assert_eq!(
        client.store().cursor().unwrap(),
        0,
        "the cursor did not move"
    );

    // Usable: the 50 most recent conversations are listed, newest first, with their messages,
    // and the agent can act on them.
    let mut q = ListQuery::new(ViewRef::All);
    q.limit = 200;
    let rows = client.store().list_conversations(&q, T0).unwrap().rows;
    assert_eq!(rows.len(), 50);
    let recent: Vec<MessageId> = order[70..].iter().rev().copied().collect();
    for (row, first) in rows.iter().zip(&recent) {
        let t = client
            .store()
            .open_conversation(row.conversation.id, None, 50)
            .unwrap();
        assert_eq!(
            t.items.len(),
            3,
            "the contact opened it, and both messages of the conversation"
        );
        assert!(has_message(&client, *first));
    }
    let reply = MessageId::new();
    client
        .act(send_with_id(rows[0].conversation.id, reply, "Oi!"))
        .unwrap();

    // The history arrives; progress is announced page by page up to the whole feed.
    let pulled = Syncer::resume(
        client.clone(),
        outpost_core::sync::Session::new(
            &w.base(),
            &w.ana.email,
            syncer.session().token().to_owned(),
        ),
    );
    pulled.sync().await.unwrap();
    let mut last = 0;
    let mut progress = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let Event::SyncProgress { stored, total, .. } = e {
            assert!(stored >= last && stored <= total, "{stored} of {total}");
            last = stored;
            progress.push((stored, total));
        }
    }
    let (stored, total) = *progress.last().expect("progress during the history");
    assert_eq!(stored, total, "the last progress is the whole feed");
    assert_eq!(
        client
            .store()
            .list_conversations(&q, T0)
            .unwrap()
            .rows
            .len(),
        120
    );
    assert!(!client.store().index_pending().unwrap(), "search is built");
    assert_eq!(
        client.store().search("pedido", 200).unwrap().messages.len(),
        120
    );
    assert!(
        client.store().journal().unwrap().is_empty(),
        "the reply went"
    );

    // And it equals a fresh full sync of the same account.
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = open_client(fresh_dir.path(), "fresh");
    let fresh_syncer = Syncer::login(fresh.clone(), &w.base(), &w.ana.email, PASSWORD)
        .await
        .unwrap();
    in_step(&w, &[&fresh_syncer, &pulled]).await;
    assert_eq!(shown(&client), shown(&fresh));
}
