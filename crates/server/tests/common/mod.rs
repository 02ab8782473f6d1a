//! The test harness: a real server on loopback with its own data directory and clock, a seeded
//! team, and an HTTP client.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use outpost_protocol::*;
use outpost_server::storage::{Storage, Tx};
use outpost_server::{Running, add_agent, add_test_channel};
use serde_json::{Value, json};

pub const T0: Millis = 1_767_225_600_000;
pub const PASSWORD: &str = "senha-forte-123";
pub const SECRET: &str = "segredo-do-canal";

pub struct Harness {
    pub dir: tempfile::TempDir,
    /// The workspace's PostgreSQL database, in the conformance run (else SQLite in `dir`).
    pub database: Option<String>,
    pub server: Option<Running>,
    pub http: reqwest::Client,
    pub clock: Arc<AtomicI64>,
    pub owner: Agent,
    pub team_agent: Agent,
    pub own_only: Agent,
    pub other: Agent,
    pub team: TeamId,
    pub other_team: TeamId,
    pub channel: uuid::Uuid,
}

/// The database of a test's workspace: SQLite in its data directory, or, in the conformance run
/// (`cargo xtask test` runs the server's tests a second time with `OUTPOST_TEST_POSTGRES` set to
/// a PostgreSQL database), a schema of its own in that database.
pub fn database() -> Option<String> {
    let base = std::env::var("OUTPOST_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())?;
    let schema = format!("t{}", uuid::Uuid::now_v7().simple());
    Some(
        outpost_server::storage::postgres::new_schema(&base, &schema)
            .expect("a schema for the test's workspace"),
    )
}

/// The database of the workspace in `dir`, the same each time it is asked (a server started
/// again on the same directory finds the same workspace): in the conformance run, a schema made
/// the first time and named in the directory.
pub fn database_for(dir: &std::path::Path) -> Option<String> {
    if !on_postgres() {
        return None;
    }
    let named = dir.join("test-database-url");
    if let Ok(url) = std::fs::read_to_string(&named) {
        return Some(url);
    }
    let url = database()?;
    std::fs::write(&named, &url).expect("keep the test's database address");
    Some(url)
}

/// Server options with this test's [`database`].
pub fn options() -> outpost_server::Options {
    outpost_server::Options {
        database: database(),
        ..Default::default()
    }
}

/// Whether the tests run on PostgreSQL (the conformance run).
pub fn on_postgres() -> bool {
    std::env::var("OUTPOST_TEST_POSTGRES").is_ok_and(|s| !s.is_empty())
}

pub async fn harness() -> Harness {
    harness_with(outpost_server::Options::default()).await
}

/// [`harness`], the server started with `options`.
pub async fn harness_with(mut options: outpost_server::Options) -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    if options.database.is_none() {
        options.database = database();
    }
    let database = options.database.clone();
    let clock = Arc::new(AtomicI64::new(T0));
    let c = clock.clone();
    let server = outpost_server::start_with(
        dir.path(),
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(move || c.load(Ordering::SeqCst)),
        options,
    )
    .await
    .expect("server starts");
    let storage = server.app.storage.clone();
    let team = TeamId::new();
    let other_team = TeamId::new();
    storage
        .write(|tx| {
            tx.put(&Entity::Team(Team {
                id: team,
                name: "Suporte".into(),
                quick_replies: Vec::new(),
            }))?;
            tx.put(&Entity::Team(Team {
                id: other_team,
                name: "Vendas".into(),
                quick_replies: Vec::new(),
            }))
        })
        .unwrap();
    let owner = add_agent(
        &*storage,
        "Olga Dona",
        "olga@outpost.example",
        PASSWORD,
        Role::Owner,
        Visibility::Unrestricted,
        vec![],
    )
    .unwrap();
    let team_agent = add_agent(
        &*storage,
        "Tiago Time",
        "tiago@outpost.example",
        PASSWORD,
        Role::Agent,
        Visibility::Team,
        vec![team],
    )
    .unwrap();
    let own_only = add_agent(
        &*storage,
        "Paula Própria",
        "paula@outpost.example",
        PASSWORD,
        Role::Agent,
        Visibility::OwnOnly,
        vec![],
    )
    .unwrap();
    let other = add_agent(
        &*storage,
        "Otávio Outro",
        "otavio@outpost.example",
        PASSWORD,
        Role::Agent,
        Visibility::Unrestricted,
        vec![other_team],
    )
    .unwrap();
    let channel = add_test_channel(
        &*storage,
        ChannelKind::Whatsapp,
        "WhatsApp de teste",
        SECRET,
    )
    .unwrap();
    Harness {
        dir,
        database,
        server: Some(server),
        http: reqwest::Client::new(),
        clock,
        owner,
        team_agent,
        own_only,
        other,
        team,
        other_team,
        channel,
    }
}

impl Harness {
    pub fn addr(&self) -> SocketAddr {
        self.server.as_ref().expect("running").addr
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    pub fn storage(&self) -> Arc<outpost_server::storage::store::Store> {
        self.server.as_ref().expect("running").app.storage.clone()
    }

    pub fn advance(&self, ms: Millis) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    pub async fn put_file(&self, token: &str, id: uuid::Uuid, mime: &str, bytes: Vec<u8>) -> u16 {
        self.http
            .put(self.url(&format!("/v1/attachments/{id}")))
            .bearer_auth(token)
            .header("content-type", mime)
            .body(bytes)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub async fn get_file(&self, token: &str, id: uuid::Uuid) -> reqwest::Response {
        self.http
            .get(self.url(&format!("/v1/attachments/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, agent: &Agent) -> String {
        self.login_as(&agent.email, PASSWORD).await
    }

    /// Signs in with an email and a password; the session's token.
    pub async fn login_as(&self, email: &str, password: &str) -> String {
        let r = self
            .http
            .post(self.url("/v1/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login of {email}");
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A customer writes on the test channel; returns the new message's id.
    pub async fn customer_writes(&self, from: &str, text: &str) -> MessageId {
        let r = self
            .http
            .post(self.url(&format!("/v1/channels/{}/inbound", self.channel)))
            .header("x-outpost-channel-secret", SECRET)
            .json(&json!({ "from": from, "name": format!("Cliente {from}"), "text": text }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
        serde_json::from_value(r.json::<Value>().await.unwrap()["message_id"].clone()).unwrap()
    }

    pub async fn ops(&self, token: &str, actions: Vec<Action>) -> Vec<OpResult> {
        let ops: Vec<Op> = actions
            .into_iter()
            .map(|action| Op {
                op_id: OpId::new(),
                at: self.clock.load(Ordering::SeqCst),
                action,
            })
            .collect();
        self.send_ops(token, &ops).await
    }

    /// `GET path` as the agent of `token`.
    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `POST path` with a JSON `body`, as the agent of `token`.
    pub async fn post(
        &self,
        token: &str,
        path: &str,
        body: &impl serde::Serialize,
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `POST path` with no body, as the agent of `token`.
    pub async fn post_empty(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Takes `action` as the agent of `token`, and checks that it was applied.
    pub async fn applied(&self, token: &str, action: Action) -> Vec<OpResult> {
        let r = self.ops(token, vec![action]).await;
        applied(&r);
        r
    }

    /// Takes `action` as the agent of `token`, and checks that it was refused: the code and why.
    pub async fn refused(&self, token: &str, action: Action) -> (ErrorCode, String) {
        refused(&self.ops(token, vec![action]).await)
    }

    pub async fn send_ops(&self, token: &str, ops: &[Op]) -> Vec<OpResult> {
        let r = self
            .http
            .post(self.url("/v1/ops"))
            .bearer_auth(token)
            .json(&json!({ "ops": ops }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
        r.json::<Value>()
            .await
            .map(|v| serde_json::from_value(v["results"].clone()).unwrap())
            .unwrap()
    }

    pub async fn page(&self, token: &str, after: u64, limit: u32) -> ChangesPage {
        let r = self
            .http
            .get(self.url(&format!("/v1/changes?after={after}&limit={limit}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// Everything an agent's feed says, applied from the start: the client's view.
    pub async fn synced(&self, token: &str, limit: u32) -> Mirror {
        let mut mirror = Mirror::default();
        mirror.pull(self, token, limit).await;
        mirror
    }

    pub async fn conversation_of(&self, token: &str, message: MessageId) -> Conversation {
        let m = self.synced(token, 1000).await;
        let Some(Entity::Message(msg)) = m.entities.get(&EntityRef::Message(message)) else {
            panic!("message not in the feed")
        };
        match m
            .entities
            .get(&EntityRef::Conversation(msg.conversation_id))
        {
            Some(Entity::Conversation(c)) => c.clone(),
            _ => panic!("conversation not in the feed"),
        }
    }
}

/// A client's view of the feed, applied page by page.
#[derive(Default, Clone)]
pub struct Mirror {
    pub entities: HashMap<EntityRef, Entity>,
    pub cursor: u64,
    pub pages: usize,
}

impl Mirror {
    pub async fn pull(&mut self, h: &Harness, token: &str, limit: u32) {
        loop {
            let page = h.page(token, self.cursor, limit).await;
            let mut last = self.cursor;
            for change in &page.changes {
                assert!(change.seq > last, "changes in order, after the cursor");
                last = change.seq;
                match &change.kind {
                    ChangeKind::Upsert { entity } => {
                        self.entities.insert(entity.reference(), entity.clone());
                    }
                    ChangeKind::Tombstone { entity } => {
                        self.entities.remove(entity);
                    }
                    ChangeKind::Revoke { entity } => {
                        let EntityRef::Conversation(id) = entity else {
                            self.entities.remove(entity);
                            continue;
                        };
                        self.entities.retain(|_, e| match e {
                            Entity::Conversation(c) => c.id != *id,
                            Entity::Message(m) => m.conversation_id != *id,
                            Entity::Event(ev) => ev.conversation_id != *id,
                            Entity::Call(c) => c.conversation_id != *id,
                            _ => true,
                        });
                    }
                }
            }
            assert!(page.cursor >= self.cursor);
            self.cursor = page.cursor;
            self.pages += 1;
            if !page.has_more {
                break;
            }
        }
    }

    pub fn conversations(&self) -> Vec<&Conversation> {
        self.entities
            .values()
            .filter_map(|e| match e {
                Entity::Conversation(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    pub fn messages_of(&self, c: ConversationId) -> Vec<&Message> {
        self.entities
            .values()
            .filter_map(|e| match e {
                Entity::Message(m) if m.conversation_id == c => Some(m),
                _ => None,
            })
            .collect()
    }
}

pub fn send(conversation_id: ConversationId, text: &str) -> Action {
    Action::SendMessage {
        message_id: MessageId::new(),
        conversation_id,
        text: text.into(),
        attachments: vec![],
        template: None,
        reply_to: None,
    }
}

/// Every op was applied.
pub fn applied(r: &[OpResult]) {
    assert!(
        r.iter()
            .all(|r| matches!(r.outcome, OpOutcome::Applied { .. })),
        "{r:?}"
    );
}

/// The first op was refused: its code and why.
pub fn refused(r: &[OpResult]) -> (ErrorCode, String) {
    match &r[0].outcome {
        OpOutcome::Refused { code, reason, .. } => (*code, reason.clone()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Waits (up to ten seconds, checking every 50 ms) until `check` gives a value; panics saying
/// `what` otherwise.
pub async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

impl Harness {
    /// The message as the owner's feed says it now.
    pub async fn message(&self, token: &str, id: MessageId) -> Option<Message> {
        match self
            .synced(token, 1000)
            .await
            .entities
            .remove(&EntityRef::Message(id))
        {
            Some(Entity::Message(m)) => Some(m),
            _ => None,
        }
    }

    /// The customers' messages the agent of `token` sees.
    pub async fn incoming(&self, token: &str) -> Vec<Message> {
        self.messages(token)
            .await
            .into_iter()
            .filter(|m| m.direction == Direction::Incoming)
            .collect()
    }

    /// Waits until the message reaches `want` (the feed says so); the message then.
    pub async fn status_is(&self, token: &str, id: MessageId, want: MessageStatus) -> Message {
        until(&format!("{want:?}"), || async {
            self.message(token, id).await.filter(|m| m.status == want)
        })
        .await
    }

    /// Every message the agent of `token` sees.
    pub async fn messages(&self, token: &str) -> Vec<Message> {
        let mut all: Vec<Message> = self
            .synced(token, 1000)
            .await
            .entities
            .into_values()
            .filter_map(|e| match e {
                Entity::Message(m) => Some(m),
                _ => None,
            })
            .collect();
        all.sort_by_key(|m| (m.created_at, m.id.0));
        all
    }
}
