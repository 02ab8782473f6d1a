//! The server's connections: accepted here, served by hyper (HTTP/1.1, upgrades for the stream)
//! with the limits that keep one client from starving the others:
//!
//! - a request's headers must arrive within [`Limits::header_timeout`], and a kept-alive
//!   connection waiting for its next request is closed after the same time (hyper starts that
//!   timer whenever it waits for a request's head), so half-sent requests and idle connections
//!   do not pile up;
//! - at most [`Limits::connections`] connections at once, and [`Limits::per_address`] from one
//!   address (a trusted reverse proxy is exempt: it carries everyone's), refused at accept
//!   past that;
//! - on stop, no new connection is taken and those open finish their requests (the streams are
//!   told to close by the app), within [`STOP_GRACE`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};

/// How long open connections may take to finish once the server stops.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// Limits on connections.
#[derive(Clone, Debug)]
pub struct Limits {
    pub header_timeout: Duration,
    pub connections: usize,
    pub per_address: usize,
    /// Addresses exempt from `per_address` (trusted reverse proxies).
    pub exempt: Vec<IpAddr>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(20),
            connections: 4_096,
            per_address: 256,
            exempt: Vec::new(),
        }
    }
}

/// Open connections by address, given back as each closes.
struct Open {
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection's place, held until it closes.
struct Place {
    open: Arc<Open>,
    address: IpAddr,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut map = self
            .open
            .by_address
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.address);
            }
        }
    }
}

/// Serves `router` on `listener` until `stop` resolves; over TLS when `tls` is given (the
/// handshake happens on the connection's own task, within the header timeout).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: impl std::future::Future<Output = ()>,
) {
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.connections));
    let open = Arc::new(Open {
        by_address: Mutex::new(HashMap::new()),
    });
    let (stopping, stopping_seen) = tokio::sync::watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "a connection could not be accepted");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Some(place) = admit(&slots, &open, &limits, peer.ip()) else {
            tracing::debug!(%peer, "connection refused: too many open");
            continue;
        };
        // Frames and answers go out at once (no Nagle wait behind a delayed acknowledgement).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set");
        }
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            tower::ServiceExt::oneshot(router.clone(), request)
        });
        let (builder, stopping, tls) = (builder.clone(), stopping_seen.clone(), tls.clone());
        let handshake_timeout = limits.header_timeout;
        tokio::spawn(async move {
            match tls {
                None => serve_one(builder, TokioIo::new(tcp), service, stopping, peer).await,
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            serve_one(builder, TokioIo::new(tls), service, stopping, peer).await
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
            drop(place);
        });
    }
    drop(listener);
    stopping.send_replace(true);
    let all = u32::try_from(limits.connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(STOP_GRACE, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the grace period were dropped");
    }
}

/// One connection, served by hyper until it ends (or, once the server stops, until its request
/// in flight is answered).
async fn serve_one<I, S>(
    builder: hyper::server::conn::http1::Builder,
    io: I,
    service: S,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    peer: std::net::SocketAddr,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send + 'static,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send + 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(connection);
    let ended = tokio::select! {
        ended = connection.as_mut() => ended,
        _ = async { stopping.wait_for(|s| *s).await.map(|_| ()) } => {
            // Its request in flight finishes; then it closes.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!(error = %e, %peer, "a connection ended with an error");
    }
}

/// A place for a new connection from `address`, if the limits allow one.
fn admit(
    slots: &Arc<tokio::sync::Semaphore>,
    open: &Arc<Open>,
    limits: &Limits,
    address: IpAddr,
) -> Option<Place> {
    let permit = slots.clone().try_acquire_owned().ok()?;
    let mut map = open.by_address.lock().unwrap_or_else(|p| p.into_inner());
    let n = map.entry(address).or_insert(0);
    if *n >= limits.per_address && !limits.exempt.contains(&address) {
        return None;
    }
    *n += 1;
    drop(map);
    Some(Place {
        open: open.clone(),
        address,
        _permit: permit,
    })
}
