//! The network at its worst, and the client killed at its worst moments: every message reaches
//! the server exactly once, and the mirror converges to the server's state.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use outpost_core::sync::{Session, Syncer};
use outpost_core::{Client, ManualClock};
use outpost_e2e::proxy::{FAULTS, FaultProxy};
use outpost_e2e::*;
use outpost_protocol::*;

/// `n` customers write (from `prefix` + a number); Ana signs in and pulls their conversations.
async fn customers_and_ana(
    w: &World,
    n: usize,
    prefix: &str,
    text: &str,
) -> (Signed, Vec<ConversationId>) {
    let mut customers = Vec::new();
    for i in 0..n {
        customers.push(w.customer_writes(&format!("{prefix}{i:05}"), text).await);
    }
    let ana = w.sign_in(&w.ana, "ana").await;
    ana.syncer.sync().await.unwrap();
    let conversations = customers
        .iter()
        .map(|m| conversation_of(&ana, *m).id)
        .collect();
    (ana, conversations)
}

fn seed() -> u64 {
    std::env::var("OUTPOST_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_every_message_is_delivered_exactly_once_through_a_faulty_network() {
    let w = world().await;
    let (ana, conversations) = customers_and_ana(&w, 10, "55219000", "Olá").await;

    let seed = seed();
    let proxy = FaultProxy::start(w.addr, seed, 0.5).await;
    let faulty = Syncer::resume(
        ana.client.clone(),
        Session::new(
            &format!("http://{}", proxy.addr),
            &w.ana.email,
            ana.syncer.session().token().to_owned(),
        ),
    )
    // A connection per request, so that each request meets the faults afresh.
    .with_http(
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_millis(700))
            .build()
            .unwrap(),
        Duration::from_millis(700),
    );

    // 400 replies in 40 rounds; each round tries to sync (and mostly meets a fault), while
    // customers keep writing.
    const ROUNDS: usize = 40;
    const PER_ROUND: usize = 10;
    let mut failures = 0;
    for round in 0..ROUNDS {
        for k in 0..PER_ROUND {
            let c = conversations[(round + k) % conversations.len()];
            ana.clock.advance(1_000);
            ana.client
                .act(send(c, &format!("resposta {round}-{k}")))
                .unwrap();
        }
        w.server_clock.fetch_add(1_000, Ordering::SeqCst);
        w.customer_writes(
            &format!("55219000{:05}", round % 10),
            &format!("e agora? {round}"),
        )
        .await;
        if faulty.sync().await.is_err() {
            failures += 1;
        }
    }
    // Keep going until everything is answered and a whole sync got through.
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(
            attempts < 1_000,
            "the queue never drained through the faults"
        );
        match faulty.sync().await {
            Ok(_) if ana.client.store().journal().unwrap().is_empty() => break,
            Ok(_) => {}
            Err(e) => {
                assert!(e.recoverable(), "only network-like failures: {e}");
                failures += 1;
            }
        }
    }
    let (injected, passed) = proxy.injected();
    let total: u32 = injected.values().sum();
    println!(
        "fault proxy (seed {seed}): {total} faults injected {injected:?}, {passed} connections passed; \
         {failures} syncs failed, {attempts} more to drain"
    );
    for fault in FAULTS {
        assert!(
            injected.get(&fault).copied().unwrap_or(0) > 0,
            "{fault:?} was never injected (seed {seed})"
        );
    }

    // Exactly once: each of the 200 replies is at the server one time, in its conversation.
    let outgoing = outgoing_at_server(&w);
    assert_eq!(
        outgoing.len(),
        ROUNDS * PER_ROUND,
        "no reply lost or duplicated"
    );
    for round in 0..ROUNDS {
        for k in 0..PER_ROUND {
            let text = format!("resposta {round}-{k}");
            let c = conversations[(round + k) % conversations.len()];
            let n = outgoing
                .iter()
                .filter(|(cc, t)| *cc == c && *t == text)
                .count();
            assert_eq!(n, 1, "{text}: {n} times (seed {seed})");
        }
    }
    // And the mirror that lived through it equals a fresh full sync.
    let fresh = w.sign_in(&w.ana, "fresh").await;
    in_step(&w, &[&fresh.syncer, &ana.syncer]).await;
    assert_eq!(shown(&ana.client), shown(&fresh.client));
}

/// The child of the kill -9 test: acts and syncs until killed (run only by that test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of test_client_killed_at_random_points_loses_and_duplicates_nothing"]
async fn crash_child_acts_and_syncs_until_killed() {
    let Ok(spec) = std::env::var("OUTPOST_CRASH_CHILD") else {
        return;
    };
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    let field = |k: &str| spec[k].as_str().unwrap().to_owned();
    // The server's time (a test clock): the customers' 24-hour windows are open then.
    let clock = Arc::new(ManualClock::new(spec["now"].as_i64().unwrap()));
    let client = Arc::new(Client::open(field("mirror"), clock.clone()).unwrap());
    let syncer = Syncer::resume(
        client.clone(),
        Session::new(&field("server"), &field("email"), field("token")),
    );
    let conversations: Vec<ConversationId> =
        serde_json::from_value(spec["conversations"].clone()).unwrap();
    let trial = spec["trial"].as_u64().unwrap();
    // Whatever an earlier trial left queued goes first, then new replies, each pushed at once.
    for k in 0.. {
        let c = conversations[k % conversations.len()];
        clock.advance(1);
        client
            .act(send(c, &format!("tentativa {trial}-{k}")))
            .unwrap();
        if k % 3 == 0 {
            let _ = syncer.push().await;
        } else {
            let _ = syncer.sync().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_client_killed_at_random_points_loses_and_duplicates_nothing() {
    let w = world().await;
    let (ana, conversations) = customers_and_ana(&w, 5, "55319000", "Oi").await;
    let mirror = w.dir.path().join("ana.db");
    let token = ana.syncer.session().token().to_owned();
    drop(ana);

    let me = std::env::current_exe().unwrap();
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    const TRIALS: u64 = 100;
    for trial in 0..TRIALS {
        let spec = serde_json::json!({
            "mirror": mirror, "server": w.base(), "email": w.ana.email, "token": token,
            "conversations": conversations, "trial": trial,
            "now": w.server_clock.load(Ordering::SeqCst),
        });
        let mut child = std::process::Command::new(&me)
            .args([
                "--exact",
                "crash_child_acts_and_syncs_until_killed",
                "--ignored",
            ])
            .env("OUTPOST_CRASH_CHILD", spec.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Somewhere in opening the mirror, acting, pushing, answering or pulling.
        tokio::time::sleep(Duration::from_millis(rng.u64(20..400))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Customers keep writing between trials, so pulls have work too.
        if trial % 10 == 0 {
            w.server_clock.fetch_add(1_000, Ordering::SeqCst);
            w.customer_writes("5531900000000", &format!("ainda esperando {trial}"))
                .await;
        }
    }

    // After the last kill, the app starts once more and finishes what was queued.
    let client = Arc::new(Client::open(&mirror, Arc::new(ManualClock::new(T0))).unwrap());
    let ok: String = client
        .store()
        .read(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(ok, "ok");
    let queued: Vec<String> = client
        .store()
        .journal()
        .unwrap()
        .iter()
        .filter_map(|e| match &e.op.action {
            Action::SendMessage { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect();
    let syncer = Syncer::resume(client.clone(), Session::new(&w.base(), &w.ana.email, token));
    syncer.sync().await.unwrap();
    assert!(client.store().journal().unwrap().is_empty());

    // Every reply the mirror ever recorded is at the server exactly once; nothing else is.
    let outgoing = outgoing_at_server(&w);
    let mut texts: Vec<&str> = outgoing.iter().map(|(_, t)| t.as_str()).collect();
    texts.sort();
    let before = texts.len();
    texts.dedup();
    assert_eq!(
        texts.len(),
        before,
        "a reply reached the server twice (seed {seed})"
    );
    for text in &queued {
        assert!(texts.contains(&text.as_str()), "{text} was queued and lost");
    }
    let fresh = w.sign_in(&w.ana, "fresh").await;
    in_step(&w, &[&fresh.syncer, &syncer]).await;
    let mirror_outgoing: Vec<String> = shown(&client)
        .into_iter()
        .filter(|row| row.contains("\"direction\":\"outgoing\""))
        .collect();
    assert_eq!(
        mirror_outgoing.len(),
        outgoing.len(),
        "the mirror shows exactly what the server has"
    );
    assert_eq!(shown(&client), shown(&fresh.client));
    println!(
        "kill -9: {TRIALS} trials (seed {seed}), {} replies at the server, {} were still queued at the end",
        outgoing.len(),
        queued.len()
    );
    assert!(
        outgoing.len() >= 20,
        "the children got work done: {}",
        outgoing.len()
    );
}
