//! Connections cannot starve the server: half-sent requests and idle connections are closed
//! after the header timeout, and past the caps new connections are refused at once, while real
//! requests go on being answered. Raw TCP clients against the real server on loopback; every
//! loop is bounded.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use outpost_server::serve::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server(limits: Limits) -> (tempfile::TempDir, outpost_server::Running) {
    let dir = tempfile::tempdir().unwrap();
    let server = outpost_server::start_with(
        dir.path(),
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(|| 1_767_225_600_000),
        outpost_server::Options {
            connections: limits,
            ..common::options()
        },
    )
    .await
    .unwrap();
    (dir, server)
}

/// Whether the server closed the connection (end of stream or reset) within `within`.
async fn closed_within(tcp: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {} // an answer (a 408 or the like): read on to the end
        }
    }
}

/// A connection to `addr` from the loopback address `source`.
async fn from(source: &str, addr: std::net::SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// A real request: the route answers (401 without a session).
async fn answered(addr: std::net::SocketAddr) -> u16 {
    reqwest::Client::new()
        .get(format!("http://{addr}/v1/me"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test]
async fn test_half_sent_requests_and_idle_connections_are_closed_and_do_not_starve_real_ones() {
    let (_dir, server) = server(Limits {
        header_timeout: Duration::from_millis(700),
        ..Limits::default()
    })
    .await;
    let addr = server.addr;
    // From another loopback address than the real requests' (past 256 from one address, the
    // rest are refused at once).
    let mut sockets = Vec::new();
    for i in 0..300 {
        let mut tcp = from("127.0.0.2", addr).await;
        if i % 2 == 0 {
            // Headers begun, never finished.
            tcp.write_all(b"GET /v1/me HTTP/1.1\r\nHost: outpost\r\nX-Slow: ")
                .await
                .unwrap();
        }
        sockets.push(tcp);
    }
    assert_eq!(
        answered(addr).await,
        401,
        "a real request is answered meanwhile"
    );
    let mut closed = 0;
    for tcp in &mut sockets {
        if closed_within(tcp, Duration::from_secs(5)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 300, "every slow or idle connection was closed");

    // A kept-alive connection that goes quiet after an answer is closed too.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /v1/me HTTP/1.1\r\nHost: outpost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = tcp.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 401"));
    assert!(closed_within(&mut tcp, Duration::from_secs(5)).await);
    assert_eq!(answered(addr).await, 401);
    server.stop().await;
}

#[tokio::test]
async fn test_past_the_cap_from_one_address_new_connections_are_refused_at_once() {
    let (_dir, server) = server(Limits {
        per_address: 20,
        ..Limits::default()
    })
    .await;
    let addr = server.addr;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // Let the server take them in before the next ones knock.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..5 {
        let mut extra = TcpStream::connect(addr).await.unwrap();
        assert!(
            closed_within(&mut extra, Duration::from_secs(2)).await,
            "the 21st connection is closed at once"
        );
    }
    // Those held are still served, and once some close, others are taken again.
    drop(held.drain(..10));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(answered(addr).await, 401);
    server.stop().await;
}
