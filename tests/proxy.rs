//! A fault-injecting TCP proxy: the network between a client and the server, at its worst.
//!
//! Every accepted connection draws one fault (from a seeded generator, so a run can be
//! replayed with the same seed), and the proxy counts what it injected. Faults are dealt from a
//! shuffled deck of one of each, dealt again when empty: their order is random, and any six
//! faults in a row include every kind (drawn independently, a run of ~30 faults missed one kind
//! about once in twenty-five runs, and the test that asks for each kind failed for it):
//! - `Drop`: closed at once, nothing forwarded (the server never hears of it);
//! - `Delay`: forwarded after a pause of 20–300 ms each way;
//! - `Reset`: part of the request forwarded, then a TCP reset to both sides;
//! - `HalfOpen`: accepted and never answered, the request swallowed (only a timeout ends it);
//! - `Truncate`: the request forwarded whole, the answer cut after a few bytes;
//! - `LoseAnswer`: the request forwarded whole and answered by the server (so it committed),
//!   and the answer thrown away: the client cannot tell it from a failure.
//!
//! Connections without a fault pass through, and live at most a short while (as behind a NAT
//! or a load balancer), so that a kept-alive connection does not escape the faults.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    Drop,
    Delay,
    Reset,
    HalfOpen,
    Truncate,
    LoseAnswer,
}

pub const FAULTS: [Fault; 6] = [
    Fault::Drop,
    Fault::Delay,
    Fault::Reset,
    Fault::HalfOpen,
    Fault::Truncate,
    Fault::LoseAnswer,
];

struct State {
    rng: fastrand::Rng,
    /// The faults still to deal before the deck is shuffled again.
    deck: Vec<Fault>,
    /// Chance that a connection gets a fault.
    rate: f64,
    injected: std::collections::BTreeMap<Fault, u32>,
    passed: u32,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream`; `rate` of the connections get a fault.
    pub async fn start(upstream: SocketAddr, seed: u64, rate: f64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let state = Arc::new(Mutex::new(State {
            rng: fastrand::Rng::with_seed(seed),
            deck: Vec::new(),
            rate,
            injected: Default::default(),
            passed: 0,
        }));
        let s = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (fault, pause, cut, lifetime) = {
                    let mut st = s.lock().unwrap();
                    let fault = if st.rng.f64() < st.rate {
                        if st.deck.is_empty() {
                            let mut deck = FAULTS.to_vec();
                            st.rng.shuffle(&mut deck);
                            st.deck = deck;
                        }
                        let f = st.deck.pop().unwrap_or(Fault::Drop);
                        *st.injected.entry(f).or_default() += 1;
                        Some(f)
                    } else {
                        st.passed += 1;
                        None
                    };
                    (
                        fault,
                        Duration::from_millis(st.rng.u64(20..300)),
                        st.rng.usize(1..120),
                        Duration::from_millis(st.rng.u64(100..1_500)),
                    )
                };
                tokio::spawn(serve(client, upstream, fault, pause, cut, lifetime));
            }
        });
        FaultProxy { addr, state }
    }

    /// Stops injecting (the network heals); connections pass from now on.
    pub fn heal(&self) {
        self.state.lock().unwrap().rate = 0.0;
    }

    /// How many of each fault were injected, and how many connections passed.
    pub fn injected(&self) -> (std::collections::BTreeMap<Fault, u32>, u32) {
        let st = self.state.lock().unwrap();
        (st.injected.clone(), st.passed)
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: Option<Fault>,
    pause: Duration,
    cut: usize,
    lifetime: Duration,
) {
    let mut buf = vec![0u8; 64 * 1024];
    match fault {
        Some(Fault::Drop) => {}
        Some(Fault::HalfOpen) => {
            // Swallow whatever comes, answer nothing, until the client gives up.
            while let Ok(n) = client.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        }
        Some(Fault::Reset) => {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            if let Ok(n) = client.read(&mut buf).await {
                let part = n.min(cut).min(n.saturating_sub(1));
                let _ = server.write_all(&buf[..part]).await;
            }
            let _ = client.set_zero_linger();
            let _ = server.set_zero_linger();
        }
        Some(Fault::Truncate) => {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let (mut cr, mut cw) = client.split();
            let (mut sr, mut sw) = server.split();
            let up = tokio::io::copy(&mut cr, &mut sw);
            let down = async {
                let mut sent = 0;
                while sent < cut {
                    let Ok(n) = sr.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    let part = n.min(cut - sent);
                    if cw.write_all(&buf[..part]).await.is_err() {
                        return;
                    }
                    sent += part;
                }
            };
            tokio::select! { _ = up => {}, _ = down => {} }
        }
        Some(Fault::LoseAnswer) => {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let (mut cr, _cw) = client.split();
            let (mut sr, mut sw) = server.split();
            let up = tokio::io::copy(&mut cr, &mut sw);
            // The server answers only after it committed: its first bytes are the proof.
            let down = sr.read(&mut buf);
            tokio::select! { _ = up => {}, _ = down => {} }
        }
        Some(Fault::Delay) | None => {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            if fault == Some(Fault::Delay) {
                tokio::time::sleep(pause).await;
            }
            let _ = tokio::time::timeout(
                lifetime,
                tokio::io::copy_bidirectional(&mut client, &mut server),
            )
            .await;
        }
    }
}
