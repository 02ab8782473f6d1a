//! The web edition against the real server on loopback, with the real OS keyring (run inside
//! `cargo xtask test`'s D-Bus session).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use outpost_core::api::{BridgeReply, BridgeRequest, Password};
use outpost_core::app::App;
use outpost_core::store::{ListQuery, ViewRef};
use outpost_core::sync::keyring::Keyring;
use outpost_core::{Event, Request, Response};
use outpost_protocol::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::*;
use outpost_server::storage::Storage;

struct Fixture {
    _dir: tempfile::TempDir,
    server: outpost_server::Running,
    web: Running,
    keyring: Keyring,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let server = outpost_server::start(
        &dir.path().join("server"),
        "127.0.0.1:0".parse().unwrap(),
        outpost_server::system_clock(),
    )
    .await
    .unwrap();
    outpost_server::add_agent(
        &*server.app.storage,
        "Ana Lima",
        "ana@outpost.example",
        "senha-da-ana-1",
        Role::Agent,
        Visibility::Unrestricted,
        vec![],
    )
    .unwrap();
    outpost_server::add_test_channel(
        &*server.app.storage,
        ChannelKind::Whatsapp,
        "WhatsApp",
        "segredo-do-canal",
    )
    .unwrap();
    let ui = dir.path().join("ui");
    std::fs::create_dir_all(ui.join("assets")).unwrap();
    std::fs::write(
        ui.join("index.html"),
        "<!doctype html><title>Outpost</title>",
    )
    .unwrap();
    std::fs::write(ui.join("assets/app.js"), "console.log('ok')").unwrap();
    let keyring = Keyring::new(&format!("dev.outpost.test.{}", uuid::Uuid::now_v7()));
    let app = Arc::new(
        App::start(
            &dir.path().join("data"),
            keyring.clone(),
            Arc::new(outpost_core::SystemClock),
        )
        .await,
    );
    let web = serve(app, &ui, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    Fixture {
        _dir: dir,
        server,
        web,
        keyring,
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(f: &Fixture, token: &str, origin: Option<&str>) -> Result<Ws, u16> {
    let mut request = format!("ws://{}/bridge?token={token}", f.web.addr)
        .into_client_request()
        .unwrap();
    if let Some(o) = origin {
        request.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

/// Sends a request and waits for its answer; events met on the way are kept.
async fn ask(ws: &mut Ws, id: u64, request: Request, events: &mut Vec<Event>) -> Response {
    let text = serde_json::to_string(&BridgeRequest { id, request }).unwrap();
    ws.send(Message::text(text)).await.unwrap();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("an answer in time")
            .unwrap()
            .unwrap();
        match serde_json::from_str::<BridgeReply>(msg.to_text().unwrap()).unwrap() {
            BridgeReply::Answer { id: got, response } if got == id => return response,
            BridgeReply::Answer { .. } => {}
            BridgeReply::Event { event } => events.push(event),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_bridge_refuses_without_the_token_or_from_another_origin() {
    let f = fixture().await;
    assert_eq!(connect(&f, "", None).await.err(), Some(401));
    let wrong = "0".repeat(f.web.token.len());
    assert_eq!(connect(&f, &wrong, None).await.err(), Some(401));
    assert_eq!(
        connect(&f, &f.web.token, Some("http://evil.example"))
            .await
            .err(),
        Some(403)
    );
    let own = format!("http://{}", f.web.addr);
    assert!(connect(&f, &f.web.token, Some(&own)).await.is_ok());
    // Only loopback is served.
    let app = f.web.app.clone();
    let elsewhere = serve(app, Path::new("."), "0.0.0.0:0".parse().unwrap()).await;
    assert!(elsewhere.err().is_some_and(|e| e.contains("loopback")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_request_this_server_does_not_know_is_answered_with_why_under_its_id() {
    let f = fixture().await;
    let own = format!("http://{}", f.web.addr);
    let mut ws = connect(&f, &f.web.token, Some(&own)).await.unwrap();
    ws.send(Message::Text(
        r#"{"id": 41, "request": {"type": "from_a_newer_interface"}}"#.into(),
    ))
    .await
    .unwrap();
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
            .await
            .expect("an answer in time")
            .unwrap()
            .unwrap();
        if let BridgeReply::Answer { id, response } =
            serde_json::from_str::<BridgeReply>(msg.to_text().unwrap()).unwrap()
        {
            assert_eq!(id, 41, "its caller hears it");
            assert!(
                matches!(&response, Response::Error { error } if error.message.starts_with("Not a request")),
                "{response:?}"
            );
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_interface_is_served_under_a_strict_content_security_policy() {
    let f = fixture().await;
    for path in ["/", "/assets/app.js", "/some/route/of/the/app"] {
        let r = reqwest::get(format!("http://{}{path}", f.web.addr))
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
    let page = reqwest::get(format!("http://{}/elsewhere", f.web.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<title>Outpost</title>"),
        "the app's routes serve the app"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_agent_signs_in_works_and_signs_out_through_the_bridge() {
    let f = fixture().await;
    let mut ws = connect(&f, &f.web.token, None).await.unwrap();
    let mut events = Vec::new();
    let base = format!("http://{}", f.server.addr);

    let Response::Session { session } = ask(&mut ws, 1, Request::Session, &mut events).await else {
        panic!("a session answer")
    };
    assert_eq!(session.account, None, "nobody signed in yet");
    let Response::Error { error } = ask(&mut ws, 2, Request::Counts, &mut events).await else {
        panic!("counts need a sign-in")
    };
    assert_eq!(error.code, ErrorCode::Unauthenticated);

    let wrong = ask(
        &mut ws,
        3,
        Request::SignIn {
            server: base.clone(),
            email: "ana@outpost.example".into(),
            password: Password("errada".into()),
        },
        &mut events,
    )
    .await;
    assert!(
        matches!(&wrong, Response::Error { error } if error.message.contains("wrong")),
        "{wrong:?}"
    );
    let Response::Session { session } = ask(
        &mut ws,
        4,
        Request::SignIn {
            server: format!("{base}/"),
            email: " Ana@Outpost.example".into(),
            password: Password("senha-da-ana-1".into()),
        },
        &mut events,
    )
    .await
    else {
        panic!("signed in")
    };
    assert_eq!(session.agent.map(|a| a.name), Some("Ana Lima".into()));
    assert!(
        f.keyring
            .load(&base, "ana@outpost.example")
            .unwrap()
            .is_some(),
        "the token went to the keyring"
    );

    // A customer writes: the event crosses the bridge, and the conversation lists.
    let m = f
        .server
        .app
        .receive(
            f.server.app.channel_of(ChannelKind::Whatsapp).unwrap(),
            outpost_server::workspace::Inbound {
                from: "5511977770000".into(),
                name: "Bia".into(),
                text: "<b>Oi</b>, tudo bem?".into(),
                id: None,
                reply_to: None,
                attachments: Vec::new(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let conversation = loop {
        let Response::Conversations { page } = ask(
            &mut ws,
            5,
            Request::ListConversations {
                query: ListQuery::new(ViewRef::All),
            },
            &mut events,
        )
        .await
        else {
            panic!("a page")
        };
        if let Some(row) = page.rows.first() {
            break row.conversation.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the message never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        conversation.last_message_preview, "<b>Oi</b>, tudo bem?",
        "text stays text"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Changed { conversations, .. } if conversations.contains(&conversation.id))),
        "the change was announced over the bridge: {events:?}"
    );
    let _ = m;

    // The agent answers; the server gets it.
    let reply = MessageId::new();
    let acted = ask(
        &mut ws,
        6,
        Request::Act {
            action: Action::SendMessage {
                message_id: reply,
                conversation_id: conversation.id,
                text: "Tudo, e você?".into(),
                attachments: vec![],
                template: None,
                reply_to: None,
            },
        },
        &mut events,
    )
    .await;
    assert!(
        matches!(acted, Response::Acted { op_id: Some(_) }),
        "{acted:?}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while f
        .server
        .app
        .storage
        .get(EntityRef::Message(reply))
        .unwrap()
        .is_none()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the reply never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    assert_eq!(
        ask(&mut ws, 7, Request::SignOut, &mut events).await,
        Response::Done
    );
    assert_eq!(f.keyring.load(&base, "ana@outpost.example").unwrap(), None);
    let Response::Session { session } = ask(&mut ws, 8, Request::Session, &mut events).await else {
        panic!("a session answer")
    };
    assert_eq!(session.account, None);
}

/// The permission bits of what is at `path`.
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn test_files_at_rest_are_owner_only_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: umask only sets this process's file-creation mask (each test has its own process).
    unsafe { libc::umask(0o022) };
    let f = fixture().await;
    let token = f.web.token.clone();
    let mut ws = connect(&f, &token, None).await.unwrap();
    let mut events = Vec::new();
    let base = format!("http://{}", f.server.addr);
    let signed = ask(
        &mut ws,
        1,
        Request::SignIn {
            server: base.clone(),
            email: "ana@outpost.example".into(),
            password: Password("senha-da-ana-1".into()),
        },
        &mut events,
    )
    .await;
    assert!(matches!(signed, Response::Session { .. }), "{signed:?}");
    // Something written, so that the WAL and SHM exist.
    ask(
        &mut ws,
        2,
        Request::Act {
            action: Action::SetAvailability {
                availability: Availability::Away,
            },
        },
        &mut events,
    )
    .await;
    let data = f._dir.path().join("data");
    let mirrors = data.join("mirrors");
    let mut private: Vec<(std::path::PathBuf, u32)> = vec![
        (data.clone(), 0o700),
        (mirrors.clone(), 0o700),
        (data.join("account.json"), 0o600),
    ];
    let kept: Vec<std::path::PathBuf> = std::fs::read_dir(&mirrors)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        kept.iter().any(|p| p.to_string_lossy().ends_with("-wal")),
        "{kept:?}"
    );
    for p in kept {
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        private.push((p, want));
    }
    let server = f._dir.path().join("server");
    private.push((server.clone(), 0o700));
    private.push((server.join("outpost-server.db"), 0o600));
    private.push((server.join("outpost-server.db-wal"), 0o600));
    for (path, want) in &private {
        assert_eq!(mode(path), *want, "{}", path.display());
    }

    // An older version left them readable: the next start tightens them.
    for (path, _) in &private {
        let loose = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(loose)).unwrap();
    }
    let again = App::start(
        &data,
        f.keyring.clone(),
        Arc::new(outpost_core::SystemClock),
    )
    .await;
    let Response::Session { session } = again.handle(Request::Session).await else {
        panic!("a session")
    };
    assert!(session.agent.is_some(), "resumed: {session:?}");
    for (path, want) in private.iter().filter(|(p, _)| p.starts_with(&data)) {
        assert_eq!(mode(path), *want, "tightened at start: {}", path.display());
    }
    drop(again);
    f.server.stop().await;
    let reopened = outpost_server::storage::sqlite::Sqlite::open(&server).unwrap();
    for (path, want) in private.iter().filter(|(p, _)| p.starts_with(&server)) {
        if path.exists() {
            assert_eq!(mode(path), *want, "tightened at start: {}", path.display());
        }
    }
    assert_eq!(mode(&server.join("outpost-server.db")), 0o600);
    drop(reopened);
}
