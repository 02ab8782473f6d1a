//! The web edition's log: the binary, signed in to the real server on loopback, writes its
//! rotating log file in the folder it is given; what happens is there (sign-in, sync), and no
//! password, token or customer's text is (run inside `cargo xtask test`'s D-Bus session, for
//! the keyring).

// A test: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use outpost_protocol::*;

const PASSWORD: &str = "senha-do-log-1";
const SECRET: &str = "Meu cartão é 4111 1111 1111 1111";

// Two threads: the server runs in this process while the test waits on the binary's output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_the_log_file_says_what_happened_and_nothing_secret() {
    let dir = tempfile::tempdir().unwrap();
    let server = outpost_server::start(
        &dir.path().join("server"),
        "127.0.0.1:0".parse().unwrap(),
        outpost_server::system_clock(),
    )
    .await
    .unwrap();
    let storage = server.app.storage.clone();
    outpost_server::add_agent(
        &*storage,
        "Lia Logs",
        "lia@outpost.example",
        PASSWORD,
        Role::Agent,
        Visibility::Unrestricted,
        vec![],
    )
    .unwrap();
    outpost_server::add_test_channel(
        &*storage,
        ChannelKind::Whatsapp,
        "WhatsApp",
        "segredo-do-canal",
    )
    .unwrap();
    let channel = server.app.channel_of(ChannelKind::Whatsapp).unwrap();
    server
        .app
        .receive(
            channel,
            outpost_server::workspace::Inbound {
                from: "5511966660000".into(),
                name: "Cliente".into(),
                text: SECRET.into(),
                id: None,
                reply_to: None,
                attachments: Vec::new(),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let ui = dir.path().join("ui");
    std::fs::create_dir_all(&ui).unwrap();
    std::fs::write(
        ui.join("index.html"),
        "<!doctype html><title>Outpost</title>",
    )
    .unwrap();
    let logs = dir.path().join("logs");
    let mut web = Command::new(env!("CARGO_BIN_EXE_outpost-web"))
        .arg("--data-dir")
        .arg(dir.path().join("web"))
        .arg("--ui")
        .arg(&ui)
        .arg("--log-dir")
        .arg(&logs)
        .env("OUTPOST_SIGN_IN_SERVER", format!("http://{}", server.addr))
        .env("OUTPOST_SIGN_IN_EMAIL", "lia@outpost.example")
        .env("OUTPOST_SIGN_IN_PASSWORD", PASSWORD)
        // Debug from the core: even there, no secret.
        .env("RUST_LOG", "outpost_web=debug,outpost_core=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(web.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url_token = line.trim().rsplit("token=").next().unwrap().to_owned();
    assert!(line.starts_with("Outpost is at"), "{line}");

    // The mirror pulls the customer's message; the log says it went online.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text: String = std::fs::read_dir(&logs)
            .map(|files| {
                files
                    .flatten()
                    .filter(|f| {
                        f.file_name()
                            .to_string_lossy()
                            .starts_with("outpost-web.log")
                    })
                    .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default();
        if text.contains("signed in") && text.contains("Online") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the log says nothing yet:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    web.kill().unwrap();
    web.wait().unwrap();
    server.stop().await;

    for secret in [PASSWORD, SECRET, "4111", url_token.as_str()] {
        assert!(!text.contains(secret), "the log holds {secret:?}:\n{text}");
    }
    // Only the owner reads it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&logs).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
