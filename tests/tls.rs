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
    let server = outpost_server::start_with(
        &dir.join("server"),
        "127.0.0.1:0".parse().unwrap(),
        outpost_server::system_clock(),
        outpost_server::Options {
            tls: Some(outpost_server::tls::TlsFiles {
                cert: cert.0,
                key: cert.1,
            }),
            ..Default::default()
        },
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
    let syncer = sign_in(&base, dir.path()).await.unwrap();
    syncer.sync().await.unwrap();

    // The stream (wss) tells of a customer's message at once; the pull brings it.
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
                from: "5511944440000".into(),
                name: "Cliente Cifrado".into(),
                text: "Chegou pelo https?".into(),
                id: None,
                reply_to: None,
                attachments: Vec::new(),
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

    // Plain http to the same server: its port speaks TLS only, so nothing gets through.
    let plain = sign_in(
        &format!("http://127.0.0.1:{}", server.addr.port()),
        &dir.path().join("p"),
    )
    .await;
    assert!(plain.is_err());
    server.stop().await;
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
