//! Several server processes on one PostgreSQL database (issue 16), behind Debian's nginx (round
//! robin), as a business runs them: agents on different processes see each other's actions in
//! real time (the feed, typing, a session ended); one process killed with SIGKILL in the middle
//! of a load loses nothing acknowledged and doubles nothing, while clients carry on through the
//! other and a reader paging the feed across the kill ends where a fresh full read does; a
//! message that falls due while one process is dead is sent once, by the other; desktop mirrors
//! syncing through a fault-injecting proxy while a process is killed equal a fresh full sync.
//!
//! Run by the conformance pass of `cargo xtask test` (`OUTPOST_TEST_POSTGRES`: PostgreSQL from
//! Debian's packages, started by the xtask).

// A test: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

// The end-to-end harness: real desktop mirrors (`shown`), the fault-injecting proxy.
#[allow(dead_code)]
#[path = "../../../tests/lib.rs"]
mod e2e;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use outpost_protocol::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_outpost-server");
const OWNER: &str = "dona@outpost.example";
const AGENT: &str = "bia@outpost.example";
const PASSWORD: &str = "uma-senha-longa";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as Millis
}

/// One `outpost-server serve` process on `port`, on the shared database.
struct Process {
    child: Child,
    port: u16,
}

impl Process {
    fn start(dir: &Path, database: &str, port: u16) -> Process {
        // Each process has a data directory of its own (nothing of the workspace is in it).
        let data = dir.join(format!("process-{port}"));
        let child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(&data)
            .args(["--database", database, "--trusted-proxy", "127.0.0.1"])
            .env("OUTPOST_OWNER_EMAIL", OWNER)
            .env("OUTPOST_OWNER_PASSWORD", PASSWORD)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start outpost-server");
        Process { child, port }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's nginx in front of the processes, round robin, as `docs/deploy.md` says; run by an
/// unprivileged user when this is root, on a loopback port.
struct Nginx {
    child: Child,
    port: u16,
}

impl Nginx {
    fn start(dir: &Path, upstreams: &[u16]) -> Nginx {
        use std::os::unix::fs::PermissionsExt;
        let program = Path::new("/usr/sbin/nginx");
        assert!(
            program.exists(),
            "nginx is not installed: `cargo xtask test` installs it (apt-get install nginx)"
        );
        let home = dir.join("nginx");
        std::fs::create_dir_all(&home).unwrap();
        let port = free_port();
        let site = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/nginx-two-processes.conf"
        ))
        .unwrap()
        .replace("127.0.0.1:8751", &format!("127.0.0.1:{}", upstreams[0]))
        .replace("127.0.0.1:8752", &format!("127.0.0.1:{}", upstreams[1]))
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"));
        assert!(
            site.contains(&format!("127.0.0.1:{port}")),
            "the sample's listen line"
        );
        let h = home.display();
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {h}/nginx.pid;\nerror_log {h}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n    access_log {h}/access.log;\n    client_body_temp_path {h}/body;\n\
             proxy_temp_path {h}/proxy;\n    fastcgi_temp_path {h}/fastcgi;\n    uwsgi_temp_path {h}/uwsgi;\n\
             scgi_temp_path {h}/scgi;\n{site}\n}}\n"
        );
        std::fs::write(home.join("nginx.conf"), conf).unwrap();
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let mut cmd = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(program);
            c
        } else {
            Command::new(program)
        };
        let child = cmd
            .arg("-c")
            .arg(home.join("nginx.conf"))
            .arg("-e")
            .arg(home.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx { child, port }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn login(http: &reqwest::Client, base: &str, email: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            && r.status() == 200
        {
            return r.json::<Value>().await.unwrap()["token"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        assert!(Instant::now() < deadline, "{base} did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post_ops(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    ops: &[Op],
) -> Option<Vec<OpResult>> {
    let r = http
        .post(format!("{base}/v1/ops"))
        .bearer_auth(token)
        .json(&json!({ "ops": ops }))
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    let v: Value = r.json().await.ok()?;
    serde_json::from_value(v["results"].clone()).ok()
}

/// A reader of the feed: pages after its cursor, applies them, and checks that seqs only grow.
#[derive(Default)]
struct Reader {
    after: u64,
    state: HashMap<EntityRef, Entity>,
}

impl Reader {
    /// The conversation of a message read.
    fn conversation_of(&self, m: MessageId) -> ConversationId {
        match self.state.get(&EntityRef::Message(m)) {
            Some(Entity::Message(m)) => m.conversation_id,
            other => panic!("the customer's message: {other:?}"),
        }
    }

    /// Reads until the feed's head; `None` if a request failed (the caller tries again).
    async fn catch_up(&mut self, http: &reqwest::Client, base: &str, token: &str) -> Option<()> {
        loop {
            let page: ChangesPage = http
                .get(format!("{base}/v1/changes?after={}&limit=500", self.after))
                .bearer_auth(token)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let mut last = self.after;
            for c in page.changes {
                assert!(c.seq > last, "the feed went back: {} after {last}", c.seq);
                last = c.seq;
                match c.kind {
                    ChangeKind::Upsert { entity } => {
                        self.state.insert(entity.reference(), entity);
                    }
                    ChangeKind::Tombstone { entity } | ChangeKind::Revoke { entity } => {
                        self.state.remove(&entity);
                    }
                }
            }
            assert!(page.cursor >= self.after, "the cursor went back");
            self.after = page.cursor;
            if !page.has_more {
                return Some(());
            }
        }
    }
}

/// The workspace: owner and Bia, a test channel, two processes and nginx before them.
struct Setup {
    dir: tempfile::TempDir,
    database: String,
    processes: Vec<Process>,
    nginx: Nginx,
    channel: (String, String),
    http: reqwest::Client,
}

fn cli(database: &str, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.join("cli"))
        .args(["--database", database])
        .args(args)
        .env("OUTPOST_AGENT_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn field(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}\t")))
        .map(|v| v.split('\t').next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{name} in {out}"))
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_for(dir.path()).expect(
        "several processes share a PostgreSQL database: run with OUTPOST_TEST_POSTGRES (`cargo xtask test` does)",
    );
    let http = reqwest::Client::new();
    // The first process makes the schema and the owner; the second finds them.
    let first = Process::start(dir.path(), &database, free_port());
    login(&http, &first.base(), OWNER).await;
    let second = Process::start(dir.path(), &database, free_port());
    login(&http, &second.base(), OWNER).await;
    cli(
        &database,
        dir.path(),
        &["agent", "add", "--name", "Bia Dois", "--email", AGENT],
    );
    let added = cli(
        &database,
        dir.path(),
        &[
            "channel",
            "add",
            "--kind",
            "whatsapp",
            "--name",
            "WhatsApp de teste",
            "--test",
        ],
    );
    let channel = (field(&added, "id"), field(&added, "secret"));
    let nginx = Nginx::start(dir.path(), &[first.port, second.port]);
    Setup {
        dir,
        database,
        processes: vec![first, second],
        nginx,
        channel,
        http,
    }
}

impl Setup {
    async fn customer_writes(&self, base: &str, from: &str, text: &str) -> MessageId {
        let r = self
            .http
            .post(format!("{base}/v1/channels/{}/inbound", self.channel.0))
            .header("x-outpost-channel-secret", &self.channel.1)
            .json(&json!({ "from": from, "name": format!("Cliente {from}"), "text": text }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
        serde_json::from_value(r.json::<Value>().await.unwrap()["message_id"].clone()).unwrap()
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn stream(base: &str, token: &str) -> Ws {
    let url = format!(
        "{}/v1/stream?token={token}",
        base.replace("http://", "ws://")
    );
    let mut ws = tokio_tungstenite::connect_async(url).await.unwrap().0;
    ws.next().await.unwrap().unwrap(); // the first "changed"
    ws
}

/// The next frame that `wanted` accepts, within `within`; its time.
async fn heard<T>(
    ws: &mut Ws,
    within: Duration,
    mut wanted: impl FnMut(&StreamFrame) -> Option<T>,
) -> T {
    tokio::time::timeout(within, async {
        while let Some(Ok(frame)) = ws.next().await {
            if let Ok(text) = frame.to_text()
                && let Ok(frame) = serde_json::from_str::<StreamFrame>(text)
                && let Some(t) = wanted(&frame)
            {
                return t;
            }
        }
        panic!("the stream closed")
    })
    .await
    .expect("the frame came in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_on_two_processes_see_each_others_actions_typing_and_session_ends_at_once() {
    let s = setup().await;
    let (one, two) = (s.processes[0].base(), s.processes[1].base());
    let m = s.customer_writes(&one, "5511977770001", "Bom dia").await;
    let owner = login(&s.http, &one, OWNER).await;
    let bia = login(&s.http, &two, AGENT).await;
    // A web-chat visitor asks the second process whether someone can answer: nobody has a
    // stream open yet; then the owner opens one on the first, and the second says so.
    let web = field(
        &cli(
            &s.database,
            s.dir.path(),
            &[
                "channel",
                "add",
                "--kind",
                "web_chat",
                "--name",
                "Site",
                "--test",
                "--setting",
                "allowed_origins=https://loja.example",
            ],
        ),
        "id",
    );
    let available = |base: String| {
        let (http, web) = (s.http.clone(), web.clone());
        async move {
            let v: Value = http
                .get(format!("{base}/v1/widget/{web}/available"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["available"].as_bool().unwrap()
        }
    };
    assert!(!available(two.clone()).await, "nobody is online");
    let mut owner_ws = stream(&one, &owner).await;
    let deadline = Instant::now() + Duration::from_secs(8);
    while !available(two.clone()).await {
        assert!(
            Instant::now() < deadline,
            "the other process never said the owner is online"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut bia_ws = stream(&two, &bia).await;

    // Bia answers through the second process: the owner's stream on the first hears it, and the
    // first process's feed has it.
    let mut reader = Reader::default();
    reader.catch_up(&s.http, &one, &owner).await.unwrap();
    let conversation = reader.conversation_of(m);
    let answer = MessageId::new();
    let sent = Instant::now();
    let r = post_ops(
        &s.http,
        &two,
        &bia,
        &[Op {
            op_id: OpId::new(),
            at: now(),
            action: Action::SendMessage {
                message_id: answer,
                conversation_id: conversation,
                text: "Bom dia! Como posso ajudar?".into(),
                attachments: vec![],
                template: None,
                reply_to: None,
            },
        }],
    )
    .await
    .unwrap();
    let OpOutcome::Applied { seq } = r[0].outcome else {
        panic!("{r:?}")
    };
    heard(&mut owner_ws, Duration::from_secs(5), |f| match f {
        StreamFrame::Changed { seq: at } if *at >= seq => Some(()),
        _ => None,
    })
    .await;
    println!(
        "a change on one process reached a stream of the other in {:?}",
        sent.elapsed()
    );
    reader.catch_up(&s.http, &one, &owner).await.unwrap();
    assert!(reader.state.contains_key(&EntityRef::Message(answer)));

    // The owner types on the first: Bia hears it on the second.
    let say = |frame: ClientFrame| {
        tokio_tungstenite::tungstenite::Message::Text(serde_json::to_string(&frame).unwrap().into())
    };
    owner_ws
        .send(say(ClientFrame::Typing {
            conversation_id: conversation,
        }))
        .await
        .unwrap();
    let typing = heard(&mut bia_ws, Duration::from_secs(5), |f| match f {
        StreamFrame::Typing {
            conversation_id,
            who,
        } if *conversation_id == conversation => Some(who.name.clone()),
        _ => None,
    })
    .await;
    assert_eq!(typing, "Owner");
    // And who views it.
    owner_ws
        .send(say(ClientFrame::Viewing {
            conversation_id: Some(conversation),
        }))
        .await
        .unwrap();
    heard(&mut bia_ws, Duration::from_secs(5), |f| match f {
        StreamFrame::Viewing {
            conversation_id,
            who,
        } if *conversation_id == conversation && who.iter().any(|p| p.name == "Owner") => Some(()),
        _ => None,
    })
    .await;

    // The owner disables Bia through the first process: her stream on the second closes now.
    let bia_id = reader
        .state
        .values()
        .find_map(|e| match e {
            Entity::Agent(a) if a.email == AGENT => Some(a.id),
            _ => None,
        })
        .unwrap();
    let r = s
        .http
        .patch(format!("{one}/v1/admin/agents/{bia_id}"))
        .bearer_auth(&owner)
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(frame)) = bia_ws.next().await {
            if frame.is_close() {
                return;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "Bia's stream on the other process closed");
    let r = s
        .http
        .get(format!("{two}/v1/changes?after=0&limit=1"))
        .bearer_auth(&bia)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "her session is gone on every process");
    drop(s.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_killed_mid_load_loses_nothing_and_doubles_nothing_through_the_other() {
    let mut s = setup().await;
    let proxy = s.nginx.base();
    let m = s.customer_writes(&proxy, "5511977770002", "Oi").await;
    let owner = login(&s.http, &proxy, OWNER).await;
    let bia = login(&s.http, &proxy, AGENT).await;
    let mut reader = Reader::default();
    reader.catch_up(&s.http, &proxy, &owner).await.unwrap();
    let conversation = reader.conversation_of(m);

    // Two agents send through nginx (which spreads them over both processes), each batch
    // retried with the same op ids until it is answered, as the desktop's outbox does.
    let ops_of = |who: &str| -> Vec<Op> {
        (0..600)
            .map(|i| Op {
                op_id: OpId::new(),
                at: now(),
                action: Action::SendMessage {
                    message_id: MessageId::new(),
                    conversation_id: conversation,
                    text: format!("{who} {i}"),
                    attachments: vec![],
                    template: None,
                    reply_to: None,
                },
            })
            .collect()
    };
    let (owner_ops, bia_ops) = (ops_of("dona"), ops_of("bia"));
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = |token: String, ops: Vec<Op>| {
        let (http, proxy, progress) = (s.http.clone(), proxy.clone(), progress.clone());
        tokio::spawn(async move {
            let mut first: HashMap<OpId, OpResult> = HashMap::new();
            let mut failures = 0;
            for batch in ops.chunks(5) {
                loop {
                    if let Some(results) = post_ops(&http, &proxy, &token, batch).await {
                        for r in results {
                            first.entry(r.op_id).or_insert(r);
                        }
                        progress.fetch_add(batch.len(), std::sync::atomic::Ordering::SeqCst);
                        break;
                    }
                    failures += 1;
                    assert!(failures < 400, "the requests kept failing");
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
            }
            (first, failures)
        })
    };
    let writers = [
        writer(owner.clone(), owner_ops.clone()),
        writer(bia.clone(), bia_ops.clone()),
    ];
    // A reader pages the feed through nginx all along.
    let paging = {
        let (http, proxy, owner) = (s.http.clone(), proxy.clone(), owner.clone());
        let done = progress.clone();
        tokio::spawn(async move {
            let mut reader = reader;
            while done.load(std::sync::atomic::Ordering::SeqCst) < 1_200 {
                // A page lost with the killed process is read again from the same cursor.
                let _ = reader.catch_up(&http, &proxy, &owner).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            reader
        })
    };
    while progress.load(std::sync::atomic::Ordering::SeqCst) < 300 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    s.processes[0].kill(); // SIGKILL, in the middle of the load
    let mut retried = 0;
    let mut first = HashMap::new();
    for w in writers {
        let (results, failures) = w.await.unwrap();
        retried += failures;
        first.extend(results);
    }
    let mut reader = paging.await.unwrap();
    println!(
        "1,200 sends through nginx, one process killed; {retried} requests failed and were sent again"
    );

    // Every op was answered once, applied; each message is there once.
    let survivor = s.processes[1].base();
    for op in owner_ops.iter().chain(&bia_ops) {
        let r = first.get(&op.op_id).expect("every op answered");
        assert!(matches!(r.outcome, OpOutcome::Applied { .. }), "{r:?}");
    }
    let mut fresh = Reader::default();
    fresh.catch_up(&s.http, &survivor, &owner).await.unwrap();
    for op in owner_ops.iter().chain(&bia_ops) {
        let Action::SendMessage { text, .. } = &op.action else {
            unreachable!()
        };
        let n = fresh
            .state
            .values()
            .filter(|e| matches!(e, Entity::Message(m) if &m.text == text))
            .count();
        assert_eq!(n, 1, "'{text}' exactly once");
    }
    // Sent again after the kill, every op answers its first result and changes nothing.
    let token = login(&s.http, &survivor, OWNER).await;
    for batch in owner_ops.chunks(200) {
        for r in post_ops(&s.http, &survivor, &token, batch).await.unwrap() {
            assert_eq!(
                Some(&r),
                first.get(&r.op_id),
                "a retried op answers its first result"
            );
        }
    }
    // The reader that paged through the kill ends where a fresh full read of the feed does,
    // compared at a moment nothing changed in between (the test channel's simulated provider
    // moves messages along for a while).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        reader.catch_up(&s.http, &survivor, &owner).await.unwrap();
        let mut fresh = Reader::default();
        fresh.catch_up(&s.http, &survivor, &owner).await.unwrap();
        reader.catch_up(&s.http, &survivor, &owner).await.unwrap();
        if reader.after == fresh.after {
            let differ: Vec<_> = fresh
                .state
                .iter()
                .filter(|(r, e)| reader.state.get(r) != Some(e))
                .map(|(r, _)| r)
                .collect();
            assert!(
                differ.is_empty(),
                "the paging reader differs from a fresh full read: {differ:?}"
            );
            assert_eq!(reader.state.len(), fresh.state.len());
            break;
        }
        assert!(Instant::now() < deadline, "the workspace never settled");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    drop(s.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_due_while_one_process_is_dead_goes_out_once_through_the_other() {
    let mut s = setup().await;
    let one = s.processes[0].base();
    let m = s
        .customer_writes(&one, "5511977770003", "Me lembra amanhã?")
        .await;
    let owner = login(&s.http, &one, OWNER).await;
    let mut reader = Reader::default();
    reader.catch_up(&s.http, &one, &owner).await.unwrap();
    let conversation = reader.conversation_of(m);
    let scheduled = MessageId::new();
    let r = post_ops(
        &s.http,
        &one,
        &owner,
        &[Op {
            op_id: OpId::new(),
            at: now(),
            action: Action::ScheduleMessage {
                message_id: scheduled,
                conversation_id: conversation,
                text: "Lembrete: seu pedido chega hoje".into(),
                attachments: vec![],
                template: None,
                send_at: now() + 2_000,
            },
        }],
    )
    .await
    .unwrap();
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }), "{r:?}");
    s.processes[0].kill();

    // The other process sends it when it falls due: it leaves Scheduled once.
    let two = s.processes[1].base();
    let owner = login(&s.http, &two, OWNER).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let message = loop {
        reader.catch_up(&s.http, &two, &owner).await.unwrap();
        if let Some(Entity::Message(m)) = reader.state.get(&EntityRef::Message(scheduled))
            && matches!(
                m.status,
                MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read
            )
        {
            break m.clone();
        }
        assert!(Instant::now() < deadline, "the message due was not sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let queued = message
        .history
        .iter()
        .filter(|h| h.status == MessageStatus::Pending)
        .count();
    assert_eq!(queued, 1, "queued once: {:?}", message.history);
    let copies = reader
        .state
        .values()
        .filter(|e| matches!(e, Entity::Message(m) if m.text == message.text))
        .count();
    assert_eq!(copies, 1);
    let _ = &s.database;
    drop(s.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_on_sqlite_is_migrated_to_postgresql_verified_and_served_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_for(dir.path()).expect("run with OUTPOST_TEST_POSTGRES");
    let http = reqwest::Client::new();
    let data = dir.path().join("sqlite");
    // A workspace served on SQLite: a channel, a customer, an answer, a session.
    let added = {
        let out = Command::new(BIN)
            .arg("--data-dir")
            .arg(&data)
            .args([
                "channel",
                "add",
                "--kind",
                "telegram",
                "--name",
                "Telegram de teste",
                "--test",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let port = free_port();
    let mut sqlite = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(&data)
        .env("OUTPOST_OWNER_EMAIL", OWNER)
        .env("OUTPOST_OWNER_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let token = login(&http, &base, OWNER).await;
    let r = http
        .post(format!("{base}/v1/channels/{}/inbound", field(&added, "id")))
        .header("x-outpost-channel-secret", field(&added, "secret"))
        .json(&json!({ "from": "cliente_migrado", "name": "Cliente Migrado", "text": "Vocês mudaram de servidor?" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut before = Reader::default();
    before.catch_up(&http, &base, &token).await.unwrap();
    let conversation = before
        .state
        .values()
        .find_map(|e| match e {
            Entity::Conversation(c) => Some(c.id),
            _ => None,
        })
        .unwrap();
    let r = post_ops(
        &http,
        &base,
        &token,
        &[Op {
            op_id: OpId::new(),
            at: now(),
            action: Action::SendMessage {
                message_id: MessageId::new(),
                conversation_id: conversation,
                text: "Mudamos, sim: nada se perdeu.".into(),
                attachments: vec![],
                template: None,
                reply_to: None,
            },
        }],
    )
    .await
    .unwrap();
    assert!(matches!(r[0].outcome, OpOutcome::Applied { .. }));
    // While it serves, the copy is refused (it would miss what comes after).
    let migrate = |to: &str| {
        Command::new(BIN)
            .args([
                "migrate",
                "--from",
                &format!("sqlite:{}", data.display()),
                "--to",
                to,
            ])
            .output()
            .unwrap()
    };
    let refused = migrate(&database);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop it first"));
    before.catch_up(&http, &base, &token).await.unwrap();
    // Stopped (SIGTERM: it finishes what it was doing), the workspace is copied.
    Command::new("kill")
        .arg(sqlite.id().to_string())
        .status()
        .unwrap();
    sqlite.wait().unwrap();
    let out = migrate(&database);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("verified"), "{said}");
    assert!(
        said.lines()
            .any(|l| l.starts_with("messages\t") && l != "messages\t0"),
        "{said}"
    );
    // Into a database that is no longer empty: refused, nothing changed.
    let twice = migrate(&database);
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("not empty"));

    // Served from PostgreSQL: the session from before still holds, and the feed is the same.
    let served = Process::start(dir.path(), &database, free_port());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut after = Reader::default();
    while after
        .catch_up(&http, &served.base(), &token)
        .await
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the migrated server did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // (The test channel's simulated provider may move the answer along in between: every
    // entity is there, each message with its text.)
    assert!(before.state.len() > 3);
    for (r, e) in &before.state {
        let there = after.state.get(r);
        assert!(there.is_some(), "{r:?} is in PostgreSQL");
        if let (Entity::Message(m), Some(Entity::Message(n))) = (e, there) {
            assert_eq!(m.text, n.text);
        }
    }
    assert!(
        after.after >= before.after,
        "the feed goes on from where it was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_ops_budget_is_one_whichever_process_they_reach() {
    let s = setup().await;
    let (one, two) = (s.processes[0].base(), s.processes[1].base());
    let m = s.customer_writes(&one, "5511977770004", "Oi").await;
    let owner = login(&s.http, &one, OWNER).await;
    let mut reader = Reader::default();
    reader.catch_up(&s.http, &one, &owner).await.unwrap();
    let conversation = reader.conversation_of(m);
    let ops: Vec<Op> = (0..500)
        .map(|_| Op {
            op_id: OpId::new(),
            at: now(),
            action: Action::MarkRead {
                conversation_id: conversation,
            },
        })
        .collect();
    // Twelve requests of 500 at once, six to each process: the one budget (5,000 at once)
    // takes ten. Were each process to keep its own, all twelve would pass.
    let sent = (0..12).map(|i| {
        let (http, base, token, ops) = (
            s.http.clone(),
            if i % 2 == 0 { one.clone() } else { two.clone() },
            owner.clone(),
            ops.clone(),
        );
        async move {
            let r = http
                .post(format!("{base}/v1/ops"))
                .bearer_auth(&token)
                .json(&json!({ "ops": ops }))
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.headers().get("retry-after").is_some(),
            )
        }
    });
    let statuses = futures_util::future::join_all(sent).await;
    assert_eq!(
        statuses.iter().filter(|(s, _)| *s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|(s, retry)| *s == 429 && *retry)
            .count(),
        2,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_guesses_spread_over_two_processes_are_counted_together() {
    let s = setup().await;
    let bases = [s.processes[0].base(), s.processes[1].base()];
    let attempt = |base: String, email: &'static str, password: &'static str| {
        let http = s.http.clone();
        async move {
            http.post(format!("{base}/v1/auth/login"))
                .json(&json!({ "email": email, "password": password }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Successful sign-ins, spread over both, are taken back: never refused.
    for i in 0..8 {
        assert_eq!(attempt(bases[i % 2].clone(), OWNER, PASSWORD).await, 200);
    }
    // Five wrong guesses for one email from one address, spread over both processes, spend the
    // pair's five: the sixth is refused on either (each process alone saw three at most).
    for i in 0..5 {
        assert_eq!(
            attempt(bases[i % 2].clone(), AGENT, "wrong-password").await,
            401
        );
    }
    for base in &bases {
        assert_eq!(attempt(base.clone(), AGENT, "wrong-password").await, 429);
        // Even the right password waits: the guesser is not told which was right.
        assert_eq!(attempt(base.clone(), AGENT, PASSWORD).await, 429);
    }
    // Another email from the same address is not held back by them.
    assert_eq!(attempt(bases[1].clone(), OWNER, PASSWORD).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirrors_through_faults_and_a_killed_process_equal_a_fresh_full_sync() {
    use e2e::proxy::{FAULTS, FaultProxy};
    use outpost_core::sync::{Session, Syncer};
    use outpost_core::{Client, SystemClock};
    use std::sync::Arc;

    let mut s = setup().await;
    let one = s.processes[0].base();
    let mut firsts = Vec::new();
    for i in 0..5 {
        firsts.push(
            s.customer_writes(&one, &format!("55119666000{i:02}"), "Olá")
                .await,
        );
    }
    let nginx = s.nginx.base();
    let nginx_addr: std::net::SocketAddr = nginx.trim_start_matches("http://").parse().unwrap();
    let open = |name: &str| {
        Arc::new(
            Client::open(
                s.dir.path().join(format!("{name}.db")),
                Arc::new(SystemClock),
            )
            .unwrap(),
        )
    };
    // The owner's desktop: signed in through nginx, then syncing through the fault proxy (a
    // connection per request, so that each meets the faults afresh).
    let owner = open("owner");
    let signed = Syncer::login(owner.clone(), &nginx, OWNER, PASSWORD)
        .await
        .unwrap();
    signed.sync().await.unwrap();
    let seed = fastrand::u64(..);
    let proxy = FaultProxy::start(nginx_addr, seed, 0.3).await;
    let faulty = Syncer::resume(
        owner.clone(),
        Session::new(
            &format!("http://{}", proxy.addr),
            OWNER,
            signed.session().token().to_owned(),
        ),
    )
    .with_http(
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_millis(1_500))
            .build()
            .unwrap(),
        Duration::from_millis(1_500),
    );
    let conversations: Vec<ConversationId> = firsts
        .iter()
        .map(|m| e2e::message_in(&owner, *m).unwrap().conversation_id)
        .collect();

    // 200 replies in 20 rounds, each round syncing through the faults; the first process is
    // killed (SIGKILL) in the middle, its connections and its requests in flight with it.
    let mut sent = Vec::new();
    for round in 0..20 {
        for k in 0..10 {
            let id = MessageId::new();
            let c = conversations[(round + k) % conversations.len()];
            owner
                .act(e2e::send_with_id(c, id, &format!("resposta {round}-{k}")))
                .unwrap();
            sent.push((id, format!("resposta {round}-{k}")));
        }
        if round == 10 {
            // While this round's sends are on their way.
            let dying = &mut s.processes[0];
            // Its failure, if any, is a fault's or the kill's (the drain below checks).
            let (_, ()) = tokio::join!(faulty.sync(), async {
                tokio::time::sleep(Duration::from_millis(15)).await;
                dying.kill();
            });
        } else {
            // A sync that meets a fault fails; the drain below tells network-like failures
            // from others.
            if let Err(e) = faulty.sync().await {
                eprintln!("round {round}: the sync met a fault: {e}");
            }
        }
    }
    // Until everything is answered and a whole sync got through the faults.
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(attempts < 500, "the queue never drained (seed {seed})");
        match faulty.sync().await {
            Ok(_) if owner.store().journal().unwrap().is_empty() => break,
            Ok(_) => {}
            Err(e) => assert!(e.recoverable(), "only network-like failures: {e}"),
        }
    }
    let (injected, passed) = proxy.injected();
    println!("fault proxy (seed {seed}): {injected:?}, {passed} passed, {attempts} syncs to drain");
    assert!(
        FAULTS.iter().filter(|f| injected.contains_key(f)).count() >= 2,
        "faults were injected (seed {seed}): {injected:?}"
    );

    // A fresh desktop's full sync, through the process that lives: each reply once.
    let fresh = open("fresh");
    let fresh_syncer = Syncer::login(fresh.clone(), &nginx, OWNER, PASSWORD)
        .await
        .unwrap();
    // Both mirrors at the same head (the test channel's ticks move messages for a while).
    let mut same = false;
    for _ in 0..60 {
        fresh_syncer.sync().await.unwrap();
        // The faults still apply: a failed sync is tried again in the next turn.
        if let Err(e) = faulty.sync().await {
            eprintln!("catching up, the sync met a fault: {e}");
        }
        fresh_syncer.sync().await.unwrap();
        if owner.store().cursor().unwrap() == fresh.store().cursor().unwrap()
            && e2e::shown(&owner) == e2e::shown(&fresh)
        {
            same = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let shown = e2e::shown(&fresh);
    for (id, text) in &sent {
        assert!(e2e::message_in(&fresh, *id).is_some(), "{text} is lost");
        let times = shown
            .iter()
            .filter(|l| l.contains(&format!("\"text\":\"{text}\"")))
            .count();
        assert_eq!(times, 1, "{text} is there {times} times (seed {seed})");
    }
    assert!(
        same,
        "the mirror that lived through the faults equals a fresh full sync (seed {seed})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_on_a_killed_process_stops_viewing_on_the_others() {
    let mut s = setup().await;
    let (one, two) = (s.processes[0].base(), s.processes[1].base());
    let m = s.customer_writes(&two, "5511977770005", "Alguém aí?").await;
    let owner = login(&s.http, &one, OWNER).await;
    let bia = login(&s.http, &two, AGENT).await;
    let mut reader = Reader::default();
    reader.catch_up(&s.http, &two, &bia).await.unwrap();
    let conversation = reader.conversation_of(m);
    let mut owner_ws = stream(&one, &owner).await;
    let mut bia_ws = stream(&two, &bia).await;
    owner_ws
        .send(tokio_tungstenite::tungstenite::Message::Text(
            serde_json::to_string(&ClientFrame::Viewing {
                conversation_id: Some(conversation),
            })
            .unwrap()
            .into(),
        ))
        .await
        .unwrap();
    let viewers = |f: &StreamFrame| match f {
        StreamFrame::Viewing {
            conversation_id,
            who,
        } if *conversation_id == conversation => {
            Some(who.iter().map(|p| p.name.clone()).collect::<Vec<_>>())
        }
        _ => None,
    };
    assert_eq!(
        heard(&mut bia_ws, Duration::from_secs(5), viewers).await,
        ["Owner"]
    );
    // The owner's process dies without a word: once it is seen gone (no heartbeat for 10 s),
    // Bia's process says nobody views the conversation any more.
    s.processes[0].kill();
    let killed = Instant::now();
    assert!(
        heard(&mut bia_ws, Duration::from_secs(30), viewers)
            .await
            .is_empty()
    );
    assert!(
        killed.elapsed() >= Duration::from_secs(5),
        "not before the process could be seen gone"
    );
    drop(owner_ws);
}
