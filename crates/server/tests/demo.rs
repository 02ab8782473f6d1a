//! The demo workspace: seeded once, with messages in every folder and agents who can sign in.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use outpost_protocol::*;
use outpost_server::demo::{DEMO_PASSWORD, seed};

#[tokio::test]
async fn test_demo_seeds_every_folder_once_and_its_agents_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = outpost_server::start_with(
        dir.path(),
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(|| common::T0),
        common::options(),
    )
    .await
    .unwrap();
    let storage = server.app.storage.clone();
    let logins = seed(&*storage, common::T0).unwrap();
    let again = seed(&*storage, common::T0).unwrap();
    assert_eq!(logins.len(), again.len());
    assert!(logins.iter().any(|l| l.role == Role::Owner));
    assert!(logins.iter().any(|l| l.visibility == Visibility::OwnOnly));
    let http = reqwest::Client::new();
    let owner = logins.iter().find(|l| l.role == Role::Owner).unwrap();
    let r = http
        .post(format!("http://{}/v1/auth/login", server.addr))
        .json(&serde_json::json!({ "email": owner.email, "password": DEMO_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut after = 0;
    let mut entities = HashMap::new();
    loop {
        let page: ChangesPage = http
            .get(format!(
                "http://{}/v1/changes?after={after}&limit=2000",
                server.addr
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for c in page.changes {
            if let ChangeKind::Upsert { entity } = c.kind {
                entities.insert(entity.reference(), entity);
            }
        }
        after = page.cursor;
        if !page.has_more {
            break;
        }
    }
    let mut folders: HashMap<Folder, usize> = HashMap::new();
    for e in entities.values() {
        if let Entity::Message(m) = e {
            *folders.entry(Folder::of(m)).or_default() += 1;
        }
    }
    // The channel sends the seeded queued messages within a tick, so the server's Outbox drains:
    // every other folder keeps messages.
    for f in Folder::ALL.into_iter().filter(|f| *f != Folder::Outbox) {
        assert!(
            folders.get(&f).copied().unwrap_or(0) > 0,
            "{f:?} has messages: {folders:?}"
        );
    }
    assert_eq!(
        folders.values().sum::<usize>(),
        5_000,
        "seeded once, not twice"
    );
    server.stop().await;
}
