//! The end-to-end harness: the real server on loopback (started in this process, or as its
//! binary), and clients with real mirrors in SQLite files. Test targets: sync.rs (the rules,
//! offline work, refusals, the stream), session.rs (keyring, sign-in again, presence, first
//! sync), faults.rs (a fault-injecting proxy, kill -9 of the client).

#[path = "proxy.rs"]
pub mod proxy;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use outpost_core::store::{ListQuery, TimelineItem, ViewRef};
use outpost_core::sync::Syncer;
use outpost_core::{Client, ManualClock};
use outpost_protocol::*;

pub const T0: Millis = 1_767_225_600_000;
pub const HOUR: Millis = 3_600_000;
pub const PASSWORD: &str = "senha-de-teste-1";

pub struct World {
    pub dir: tempfile::TempDir,
    pub server: Option<outpost_server::Running>,
    pub addr: SocketAddr,
    pub server_clock: Arc<AtomicI64>,
    pub ana: Agent,
    pub bruno: Agent,
}

pub struct Signed {
    pub client: Arc<Client>,
    pub syncer: Syncer,
    pub clock: Arc<ManualClock>,
}

pub async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let server_clock = Arc::new(AtomicI64::new(T0));
    let c = server_clock.clone();
    let server = outpost_server::start(
        &dir.path().join("server"),
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(move || c.load(Ordering::SeqCst)),
    )
    .await
    .unwrap();
    let storage = server.app.storage.clone();
    let ana = outpost_server::add_agent(
        &*storage,
        "Ana Lima",
        "ana@outpost.example",
        PASSWORD,
        Role::Admin,
        Visibility::Unrestricted,
        vec![],
    )
    .unwrap();
    let bruno = outpost_server::add_agent(
        &*storage,
        "Bruno Reis",
        "bruno@outpost.example",
        PASSWORD,
        Role::Agent,
        Visibility::Unrestricted,
        vec![],
    )
    .unwrap();
    // Customers write on a WhatsApp test channel.
    outpost_server::add_test_channel(
        &*storage,
        ChannelKind::Whatsapp,
        "WhatsApp",
        "segredo-do-canal",
    )
    .unwrap();
    World {
        addr: server.addr,
        server: Some(server),
        dir,
        server_clock,

        ana,
        bruno,
    }
}

impl World {
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn sign_in(&self, agent: &Agent, name: &str) -> Signed {
        let clock = Arc::new(ManualClock::new(self.server_clock.load(Ordering::SeqCst)));
        let client = Arc::new(
            Client::open(self.dir.path().join(format!("{name}.db")), clock.clone()).unwrap(),
        );
        let syncer = Syncer::login(client.clone(), &self.base(), &agent.email, PASSWORD)
            .await
            .unwrap();
        Signed {
            client,
            syncer,
            clock,
        }
    }

    /// A customer writes on WhatsApp (straight into the server's workspace, as the webhook does).
    pub async fn customer_writes(&self, from: &str, text: &str) -> MessageId {
        self.customer_sends(from, text, &[]).await
    }

    /// A customer sends files (name, type, bytes) with a text on WhatsApp: the channel uploads
    /// each, then the message names them.
    pub async fn customer_sends(
        &self,
        from: &str,
        text: &str,
        files: &[(&str, &str, Vec<u8>)],
    ) -> MessageId {
        let app = &self.server.as_ref().unwrap().app;
        let channel = app.channel_of(ChannelKind::Whatsapp).unwrap();
        let mut attachments = Vec::new();
        for (name, mime, bytes) in files {
            let file = app
                .receive_file(channel, mime, bytes.clone())
                .await
                .unwrap();
            attachments.push(outpost_server::workspace::InboundFile {
                file,
                name: (*name).to_owned(),
            });
        }
        let message = outpost_server::workspace::Inbound {
            from: from.to_owned(),
            name: String::new(),
            text: text.to_owned(),
            id: None,
            reply_to: None,
            attachments,
            ..Default::default()
        };
        app.receive(channel, message).await.unwrap()
    }

    pub async fn stop_server(&mut self) {
        self.server.take().unwrap().stop().await;
    }

    pub async fn restart_server(&mut self) {
        let c = self.server_clock.clone();
        let server = outpost_server::start(
            &self.dir.path().join("server"),
            self.addr,
            Arc::new(move || c.load(Ordering::SeqCst)),
        )
        .await
        .unwrap();
        self.server = Some(server);
    }
}

pub fn conversation_of(a: &Signed, message: MessageId) -> Conversation {
    let store = a.client.store();
    let m = store
        .read(|c| outpost_core::store::get_entity(c, EntityRef::Message(message)))
        .unwrap()
        .and_then(|e| match e {
            Entity::Message(m) => Some(m),
            _ => None,
        })
        .expect("the message is in the mirror");
    store
        .open_conversation(m.conversation_id, None, 50)
        .unwrap()
        .conversation
}

pub fn mine(a: &Signed) -> Vec<ConversationId> {
    let page = a
        .client
        .store()
        .list_conversations(&ListQuery::new(ViewRef::Mine), T0)
        .unwrap();
    page.rows.iter().map(|r| r.conversation.id).collect()
}

/// What a client shows: every conversation in every state, with its timeline, as text.
pub fn shown(client: &Client) -> Vec<String> {
    let store = client.store();
    let mut out = Vec::new();
    for state in ConversationState::ALL {
        let mut q = ListQuery::new(ViewRef::All);
        q.state = state;
        q.limit = 500;
        for row in store.list_conversations(&q, T0).unwrap().rows {
            out.push(serde_json::to_string(&row.conversation).unwrap());
            // The whole timeline, page after page.
            let mut before = None;
            loop {
                let t = store
                    .open_conversation(row.conversation.id, before, 500)
                    .unwrap();
                for item in t.items {
                    out.push(match item {
                        TimelineItem::Message { message, .. } => {
                            serde_json::to_string(&message).unwrap()
                        }
                        TimelineItem::Event { event } => serde_json::to_string(&event).unwrap(),
                        TimelineItem::Call { call } => serde_json::to_string(&call).unwrap(),
                    });
                }
                match t.older {
                    Some(older) => before = Some(older),
                    None => break,
                }
            }
        }
    }
    out.sort();
    out
}

pub fn send(conversation_id: ConversationId, text: &str) -> Action {
    send_with_id(conversation_id, MessageId::new(), text)
}

/// The send of a message whose id the test knows beforehand.
pub fn send_with_id(conversation_id: ConversationId, message_id: MessageId, text: &str) -> Action {
    Action::SendMessage {
        message_id,
        conversation_id,
        text: text.into(),
        attachments: vec![],
        template: None,
        reply_to: None,
    }
}

/// Every outgoing message at the server, as (conversation, text).
pub fn outgoing_at_server(w: &World) -> Vec<(ConversationId, String)> {
    use outpost_server::storage::{Storage, Tx};
    let storage = w.server.as_ref().unwrap().app.storage.clone();
    storage
        .write(|tx| -> Result<_, outpost_server::storage::StorageError> {
            let mut out = Vec::new();
            for c in tx.all_conversations()? {
                for id in tx.messages_of(c.id)? {
                    if let Some(Entity::Message(m)) = tx.get(EntityRef::Message(id))?
                        && m.direction == Direction::Outgoing
                    {
                        out.push((c.id, m.text));
                    }
                }
            }
            Ok(out)
        })
        .unwrap()
}

pub async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Waits (up to 15 s) until `found` gives something, and returns it.
pub async fn until_async<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut found: impl FnMut() -> F,
) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if let Some(v) = found().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A message as the mirror holds it.
pub fn message_in(client: &Client, id: MessageId) -> Option<Message> {
    match client
        .store()
        .read(|c| outpost_core::store::get_entity(c, EntityRef::Message(id)))
        .unwrap()
    {
        Some(Entity::Message(m)) => Some(m),
        _ => None,
    }
}

pub fn has_message(client: &Client, id: MessageId) -> bool {
    client
        .store()
        .read(|c| outpost_core::store::get_entity(c, EntityRef::Message(id)))
        .unwrap()
        .is_some()
}

/// Syncs each syncer until all of them have pulled the server's whole feed and the feed stood
/// still meanwhile (the test channel's simulated provider moves messages along on its own), so
/// that their mirrors may be compared.
pub async fn in_step(w: &World, syncers: &[&Syncer]) {
    let storage = w
        .server
        .as_ref()
        .expect("the server runs")
        .app
        .storage
        .clone();
    for _ in 0..100 {
        let head = {
            use outpost_server::storage::Storage;
            storage.seq().expect("the server's seq")
        };
        let mut cursors = Vec::new();
        for s in syncers {
            s.sync().await.expect("sync");
            cursors.push(s.client().store().cursor().expect("cursor"));
        }
        let now = {
            use outpost_server::storage::Storage;
            storage.seq().expect("the server's seq")
        };
        if now == head && cursors.iter().all(|c| *c == head) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    panic!("the server's feed never stood still");
}
