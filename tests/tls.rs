//! TLS end to end: the real server serving https/wss with a certificate from a test CA made
//! here (rcgen), and real clients: trusted through the extra CA file they sign in, sync and
//! stream; an untrusted, expired or wrong-name certificate is refused with a sentence the agent
//! understands, and nothing is sent; plain http to another computer is refused before a byte.
//! Each test is its own process (nextest), so each sets its own `OUTPOST_CA_FILE`.

// A test: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use outpost_core::api::Connection;
use outpost_core::sync::engine::Engine;
use outpost_core::sync::{SyncError, Syncer};
use outpost_core::{Client, ManualClock};
use outpost_e2e::{PASSWORD, T0, until};
use outpost_protocol::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};

/// A certificate authority made for one test.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca { cert, key }
}

/// A server certificate for `names` signed by `ca`, valid from `from` to `to` (years), written
/// as cert.pem and key.pem in a folder of `dir`; the files' paths.
fn server_cert(dir: &Path, ca: &Ca, names: &[&str], years: (i32, i32)) -> (PathBuf, PathBuf) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName((*n).try_into().unwrap()),
        })
        .collect();
    params.not_before = rcgen::date_time_ymd(years.0, 1, 1);
    params.not_after = rcgen::date_time_ymd(years.1, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
    let folder = dir.join(uuid::Uuid::now_v7().to_string());
    std::fs::create_dir_all(&folder).unwrap();
    let (cert_file, key_file) = (folder.join("cert.pem"), folder.join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    (cert_file, key_file)
}

/// Trust `ca` (as a business with a private CA would), for this test's process.
fn trust(dir: &Path, ca: &Ca) {
    let file = dir.join("ca.pem");
    std::fs::write(&file, ca.cert.pem()).unwrap();
    // SAFETY: set before any thread reads it (the first TLS use reads it once).
    unsafe { std::env::set_var(outpost_core::tls::CA_FILE_ENV, &file) };
}

async fn server_with(dir: &Path, cert: (PathBuf, PathBuf)) -> outpost_server::Running {
    server_opts(
        dir,
        outpost_server::Options {
            tls: Some(outpost_server::tls::TlsFiles {
                cert: cert.0,
                key: cert.1,
            }),
            ..Default::default()
        },
    )
    .await
}

/// The server with `options`, its owner Tânia and a WhatsApp test channel.
async fn server_opts(dir: &Path, options: outpost_server::Options) -> outpost_server::Running {
    let server = outpost_server::start_with(
        &dir.join("server"),
        "127.0.0.1:0".parse().unwrap(),
        outpost_server::system_clock(),
        options,
    )
    .await
    .unwrap();
    outpost_server::add_agent(
        &*server.app.storage,
        "Tânia Segura",
        "tania@outpost.example",
        PASSWORD,
        Role::Owner,
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
    server
}

fn client(dir: &Path) -> Arc<Client> {
    std::fs::create_dir_all(dir).unwrap();
    Arc::new(Client::open(dir.join("mirror.db"), Arc::new(ManualClock::new(T0))).unwrap())
}

async fn sign_in(server: &str, dir: &Path) -> Result<Syncer, SyncError> {
    Syncer::login(client(dir), server, "tania@outpost.example", PASSWORD).await
}

#[tokio::test]
async fn test_over_https_the_client_signs_in_syncs_and_streams_trusting_the_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca("Loja Teste CA");
    trust(dir.path(), &ca);
    let cert = server_cert(dir.path(), &ca, &["localhost", "127.0.0.1"], (2020, 2100));
    let server = server_with(dir.path(), cert).await;
    let base = format!("https://localhost:{}", server.addr.port());
    sync_and_stream(
        &server,
        &base,
        dir.path(),
        "5511944440000",
        "Chegou pelo https?",
    )
    .await;

    // Plain http to the same server: its port speaks TLS only, so nothing gets through.
    let plain = sign_in(
        &format!("http://127.0.0.1:{}", server.addr.port()),
        &dir.path().join("p"),
    )
    .await;
    assert!(plain.is_err());
    server.stop().await;
}

/// Signs in to `base`, syncs, and waits for the stream (wss) to be up; a customer's message then
/// reaches the mirror through it.
async fn sync_and_stream(
    server: &outpost_server::Running,
    base: &str,
    dir: &Path,
    from: &str,
    text: &str,
) {
    let syncer = sign_in(base, dir).await.unwrap();
    syncer.sync().await.unwrap();
    let engine = Engine::start(syncer.resume_clone());
    let status = engine.status();
    until("the stream is up", || {
        status.borrow().connection == Connection::Online
    })
    .await;
    let channel = server.app.channel_of(ChannelKind::Whatsapp).unwrap();
    let m = server
        .app
        .receive(
            channel,
            outpost_server::workspace::Inbound {
                from: from.into(),
                name: "Cliente Cifrado".into(),
                text: text.into(),
                id: None,
                reply_to: None,
                attachments: Vec::new(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let client = syncer.client().clone();
    until("the message is in the mirror", || {
        outpost_e2e::has_message(&client, m)
    })
    .await;
    engine.stop().await;
}

/// What signing in to a server with this certificate says, the client trusting `trusted`.
async fn refused_with(names: &[&str], years: (i32, i32), signer: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let trusted = ca("Loja Teste CA");
    trust(dir.path(), &trusted);
    let other = ca("Someone Else CA");
    let cert = server_cert(
        dir.path(),
        if signer == "trusted" {
            &trusted
        } else {
            &other
        },
        names,
        years,
    );
    let server = server_with(dir.path(), cert).await;
    let base = format!("https://localhost:{}", server.addr.port());
    let refused = match sign_in(&base, &dir.path().join("c")).await {
        Err(SyncError::Tls(sentence, reason)) => (sentence, reason.key),
        Err(other) => panic!("expected a certificate refusal, got {other}"),
        Ok(_) => panic!("signed in to a server it should not trust"),
    };
    // Nothing was sent: the server holds no session.
    let db = rusqlite::Connection::open(dir.path().join("server/outpost-server.db")).unwrap();
    let sessions: i64 = db
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sessions, 0, "a session was created");
    server.stop().await;
    refused
}

#[tokio::test]
async fn test_an_untrusted_certificate_is_refused_with_a_sentence() {
    let (sentence, key) = refused_with(&["localhost"], (2020, 2100), "other").await;
    assert_eq!(key, "tls_untrusted");
    assert!(sentence.contains("not trusted"), "{sentence}");
}

#[tokio::test]
async fn test_an_expired_certificate_is_refused_with_a_sentence() {
    let (sentence, key) = refused_with(&["localhost"], (2010, 2020), "trusted").await;
    assert_eq!(key, "tls_expired");
    assert!(sentence.contains("expired"), "{sentence}");
}

#[tokio::test]
async fn test_a_certificate_for_another_name_is_refused_with_a_sentence() {
    let (sentence, key) = refused_with(&["outra-loja.example"], (2020, 2100), "trusted").await;
    assert_eq!(key, "tls_wrong_name");
    assert!(sentence.contains("another address"), "{sentence}");
}

#[tokio::test]
async fn test_plain_http_is_only_for_this_computer() {
    let dir = tempfile::tempdir().unwrap();
    for server in [
        "http://outpost.loja.example",
        "http://192.0.2.10:8750",
        "HTTP://[2001:db8::1]:80/",
    ] {
        match sign_in(server, dir.path()).await {
            Err(SyncError::Tls(sentence, reason)) => {
                assert_eq!(reason.key, "http_not_local", "{server}");
                assert!(sentence.contains("https"), "{sentence}");
            }
            other => panic!("{server}: {:?}", other.err()),
        }
    }
    for local in ["http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1"] {
        assert!(outpost_core::tls::check_server(local).is_ok(), "{local}");
    }
}

#[tokio::test]
async fn test_a_renewed_certificate_is_used_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca("Loja Teste CA");
    trust(dir.path(), &ca);
    // Served first with a certificate for another name: refused.
    let (cert, key) = server_cert(dir.path(), &ca, &["outra-loja.example"], (2020, 2100));
    let server = server_with(dir.path(), (cert.clone(), key.clone())).await;
    let base = format!("https://localhost:{}", server.addr.port());
    match sign_in(&base, &dir.path().join("a")).await {
        Err(SyncError::Tls(_, reason)) => assert_eq!(reason.key, "tls_wrong_name"),
        other => panic!("{:?}", other.err()),
    }
    // The certificate is renewed in place (as certbot does); the next handshake uses it.
    let (good_cert, good_key) = server_cert(dir.path(), &ca, &["localhost"], (2020, 2100));
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    std::fs::copy(&good_key, &key).unwrap();
    std::fs::copy(&good_cert, &cert).unwrap();
    let syncer = sign_in(&base, &dir.path().join("b")).await.unwrap();
    syncer.sync().await.unwrap();
    server.stop().await;
}

/// Debian's nginx terminating TLS in front of the server, on loopback, run by an unprivileged
/// user (nobody, when the test runs as root) from a folder of its own: its configuration, the
/// certificate, its pid, logs and buffers. Stopped when dropped.
struct Nginx {
    child: std::process::Child,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // One that already ended is fine; anything else is said.
        if let Err(e) = self
            .child
            .kill()
            .and_then(|()| self.child.wait().map(|_| ()))
        {
            eprintln!("a process the test started did not stop: {e}");
        }
    }
}

/// A port free now on loopback (for nginx to listen on).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn nginx(dir: &Path, cert: &(PathBuf, PathBuf), upstream: std::net::SocketAddr) -> Nginx {
    use std::os::unix::fs::PermissionsExt;
    let program = Path::new("/usr/sbin/nginx");
    assert!(
        program.exists(),
        "nginx is not installed: `cargo xtask test` installs it (apt-get install nginx)"
    );
    let home = dir.join("nginx");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::copy(&cert.0, home.join("cert.pem")).unwrap();
    std::fs::copy(&cert.1, home.join("key.pem")).unwrap();
    let port = free_port();
    let h = home.display();
    let conf = format!(
        r#"
pid {h}/nginx.pid;
error_log {h}/error.log info;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log {h}/access.log;
    client_body_temp_path {h}/body;
    proxy_temp_path {h}/proxy;
    fastcgi_temp_path {h}/fastcgi;
    uwsgi_temp_path {h}/uwsgi;
    scgi_temp_path {h}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {h}/cert.pem;
        ssl_certificate_key {h}/key.pem;
        location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
            proxy_read_timeout 1h;
        }}
    }}
}}
"#
    );
    std::fs::write(home.join("nginx.conf"), conf).unwrap();
    // Readable by the unprivileged user: the folders on the way, and the files in it.
    for d in [dir, home.as_path()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    for f in ["cert.pem", "key.pem", "nginx.conf"] {
        std::fs::set_permissions(home.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut command = if root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(program);
        c
    } else {
        std::process::Command::new(program)
    };
    command
        .arg("-p")
        .arg(&home)
        .arg("-e")
        .arg(home.join("error.log"))
        .arg("-c")
        .arg(home.join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().unwrap();
    // Up when it accepts connections.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            let log = std::fs::read_to_string(home.join("error.log")).unwrap_or_default();
            panic!("nginx stopped ({status}):\n{log}");
        }
        assert!(std::time::Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Nginx { child, port }
}

/// The web edition's binary, built beside this test (`cargo xtask test` builds every target
/// before running any).
fn web_edition() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("outpost-web");
    assert!(
        bin.exists(),
        "build outpost-web first (cargo build --workspace)"
    );
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_behind_nginx_terminating_tls_the_core_and_the_web_edition_sign_in_sync_and_stream() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca("Loja Teste CA");
    trust(dir.path(), &ca);
    let cert = server_cert(dir.path(), &ca, &["localhost"], (2020, 2100));
    // The server itself speaks plain http on loopback, trusting the proxy's forwarded headers.
    let server = server_opts(
        dir.path(),
        outpost_server::Options {
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..Default::default()
        },
    )
    .await;
    let proxy = nginx(dir.path(), &cert, server.addr);
    let base = format!("https://localhost:{}", proxy.port);

    // The core: sign-in, sync, and the stream (wss through the proxy's upgrade).
    sync_and_stream(
        &server,
        &base,
        &dir.path().join("core"),
        "5511933330000",
        "Passou pelo nginx?",
    )
    .await;

    // The web edition (its binary), trusting the same private CA, signs in through nginx too.
    let logs = dir.path().join("web-logs");
    let ui = dir.path().join("ui");
    std::fs::create_dir_all(&ui).unwrap();
    std::fs::write(
        ui.join("index.html"),
        "<!doctype html><title>Outpost</title>",
    )
    .unwrap();
    let mut web = std::process::Command::new(web_edition())
        .arg("--data-dir")
        .arg(dir.path().join("web"))
        .arg("--ui")
        .arg(&ui)
        .arg("--log-dir")
        .arg(&logs)
        .env("OUTPOST_SIGN_IN_SERVER", &base)
        .env("OUTPOST_SIGN_IN_EMAIL", "tania@outpost.example")
        .env("OUTPOST_SIGN_IN_PASSWORD", PASSWORD)
        .env(outpost_core::tls::CA_FILE_ENV, dir.path().join("ca.pem"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let read_logs = || -> String {
        std::fs::read_dir(&logs)
            .map(|files| {
                files
                    .flatten()
                    .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    };
    until("the web edition is online through nginx", || {
        let text = read_logs();
        text.contains("signed in") && text.contains("Online")
    })
    .await;
    web.kill().unwrap();
    web.wait().unwrap();

    // nginx carried it all: its access log has the sign-ins and the stream's upgrade.
    let access = std::fs::read_to_string(dir.path().join("nginx/access.log")).unwrap();
    assert!(access.contains("POST /v1/auth/login"), "{access}");
    assert!(access.contains("GET /v1/stream"), "{access}");
    drop(proxy);
    server.stop().await;
}

#[tokio::test]
async fn test_the_apps_private_ca_setting_is_what_lets_it_sign_in() {
    use outpost_core::api::{Password, Request, Response};
    let dir = tempfile::tempdir().unwrap();
    // No OUTPOST_CA_FILE here: only the app's own setting can make this CA trusted.
    let ca = ca("Loja Configurada CA");
    let cert = server_cert(dir.path(), &ca, &["localhost"], (2020, 2100));
    let server = server_with(dir.path(), cert).await;
    let base = format!("https://localhost:{}", server.addr.port());
    let app = outpost_core::app::App::start(
        &dir.path().join("app"),
        outpost_core::sync::keyring::Keyring::new(&format!(
            "dev.outpost.test.{}",
            uuid::Uuid::now_v7()
        )),
        Arc::new(outpost_core::SystemClock),
    )
    .await;
    let sign_in = || {
        app.handle(Request::SignIn {
            server: base.clone(),
            email: "tania@outpost.example".into(),
            password: Password(PASSWORD.into()),
        })
    };
    let reason = |r: Response| match r {
        Response::Error { error } => error.reason.map(|r| r.key),
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(reason(sign_in().await).as_deref(), Some("tls_untrusted"));

    // Not a certificate: refused, and nothing is kept.
    let junk = app
        .handle(Request::SetTrustedCa {
            pem: Some(
                "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n".into(),
            ),
        })
        .await;
    assert_eq!(reason(junk).as_deref(), Some("ca_unreadable"));
    assert!(matches!(
        app.handle(Request::TrustedCa).await,
        Response::TrustedCa { certificates: 0 }
    ));

    let set = app
        .handle(Request::SetTrustedCa {
            pem: Some(ca.cert.pem()),
        })
        .await;
    assert!(
        matches!(set, Response::TrustedCa { certificates: 1 }),
        "{set:?}"
    );
    assert!(matches!(sign_in().await, Response::Session { .. }));
    let kept =
        std::fs::metadata(dir.path().join("app").join(outpost_core::tls::SETTING_FILE)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(kept.permissions().mode() & 0o077, 0, "owner-only");
    app.handle(Request::SignOut).await;

    // Removed: the same server is refused again.
    app.handle(Request::SetTrustedCa { pem: None }).await;
    assert_eq!(reason(sign_in().await).as_deref(), Some("tls_untrusted"));
    server.stop().await;
}
