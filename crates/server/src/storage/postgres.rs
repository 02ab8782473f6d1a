//! The PostgreSQL backend: the same two traits as the embedded SQLite store ([`super::sqlite`]),
//! for a workspace that several server processes share (`--database postgres://…`).
//!
//! # One feed, several writers
//! Sequence numbers that commit out of order are the classic trap of a change feed on a shared
//! database: were two transactions to take seqs 7 and 8 and the one with 8 commit first, a reader
//! paging in between would move its cursor past 7 and never see it. Here every write transaction,
//! in whichever process, first locks the workspace's one `head` row (`SELECT … FOR UPDATE`) and
//! holds it until it commits: writes are serialised, each takes its seqs under the lock, and its
//! changes become visible only after those of every earlier seq (PostgreSQL releases a
//! transaction's locks after its commit is visible). A reader's snapshot therefore always holds
//! a prefix of the feed: gap-free and in order, whichever process wrote what. The lock is taken
//! once per transaction, and each process's group commit (`workspace::Committer`) puts many
//! agents' ops in one; everything else a request does (TLS, sessions, JSON, reading the feed,
//! providers' calls) runs in parallel across processes. A feed page is read in one REPEATABLE
//! READ snapshot, so its head and its rows agree.
//!
//! Writes that are not the feed's (sessions, deliveries' claims, uploads) are single statements
//! or short transactions of their own, made safe across processes by their statements: a
//! delivery is claimed by one `INSERT … ON CONFLICT … WHERE NOT sending RETURNING`, an invitation
//! is taken by one `DELETE … RETURNING`, an upload id by `ON CONFLICT DO NOTHING`.
//!
//! # Realtime across processes
//! A transaction that moved the feed calls `pg_notify` on the workspace's channel before it
//! commits: PostgreSQL delivers it at the commit, in commit order, to every process that LISTENs
//! ([`Postgres::listen`]), which tells its own stream clients.
//!
//! # The client
//! tokio-postgres, its connections driven by a small runtime of this module's own. The traits are
//! synchronous (the server calls them from blocking threads and its writer thread); a call waits
//! for its answer with `futures_executor::block_on`, which needs no tokio context. Statements are
//! prepared once per connection and kept.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use outpost_protocol::{
    Agent, AgentId, ChannelKind, ContactId, Conversation, ConversationId, Entity, EntityRef,
    EventId, MessageId, Millis, OpId, OpResult, rules,
};
use rusqlite::OptionalExtension;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};
use uuid::Uuid;

use super::sqlite::{
    decode_entity, kind_of, reference, scope, shared_with, state_code, status_name, table_of,
};
use super::{
    Credentials, FeedPage, Result, Session, Storage, StorageError, Tx, Upload, Uploaded, Uploader,
};

/// The schema's migrations, in order; `outpost_schema` says how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("postgres/001_initial.sql"),
    include_str!("postgres/002_sign_ins.sql"),
    include_str!("postgres/003_calls.sql"),
];

/// Connections one process keeps at most (each blocking call holds one while it runs; more
/// callers wait for one to come back).
const MAX_CONNECTIONS: usize = 24;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The runtime that drives every connection of this process.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("outpost-postgres")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| StorageError::Invalid(format!("the PostgreSQL client cannot start: {e}")))
}

/// Waits for a future of the client: its I/O runs on [`runtime`], so any thread may wait.
fn wait<F: Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// One connection and the statements prepared on it.
struct Conn {
    client: Client,
    statements: RefCell<HashMap<String, Statement>>,
    /// Left in an unknown state (an error while rolling back): not put back in the pool.
    broken: std::cell::Cell<bool>,
}

impl Conn {
    fn statement(&self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = wait(self.client.prepare(sql))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let s = self.statement(sql)?;
        Ok(wait(self.client.query(&s, params))?)
    }

    fn opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let s = self.statement(sql)?;
        Ok(wait(self.client.query_opt(&s, params))?)
    }

    fn one(&self, sql: &str, params: Params<'_>) -> Result<Row> {
        let s = self.statement(sql)?;
        Ok(wait(self.client.query_one(&s, params))?)
    }

    fn exec(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        let s = self.statement(sql)?;
        Ok(wait(self.client.execute(&s, params))?)
    }

    fn batch(&self, sql: &str) -> Result<()> {
        Ok(wait(self.client.batch_execute(sql))?)
    }

    /// Runs `sql` once for each row of parameters, pipelined (every statement is sent before
    /// the answers are awaited): for copying many rows. Returns the rows written.
    fn exec_many(&self, sql: &str, rows: &[Vec<Box<dyn ToSql + Sync + Send>>]) -> Result<u64> {
        let s = self.statement(sql)?;
        let params: Vec<Vec<&(dyn ToSql + Sync)>> = rows
            .iter()
            .map(|row| row.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect())
            .collect();
        let written = wait(futures_util::future::join_all(
            params.iter().map(|p| self.client.execute(&s, p)),
        ));
        let mut n = 0;
        for w in written {
            n += w?;
        }
        Ok(n)
    }

    /// Runs `f` in a transaction of its own (`begin`: the BEGIN statement), committed if it
    /// returns Ok and rolled back otherwise.
    fn transaction<T, E: From<StorageError>>(
        &self,
        begin: &str,
        f: impl FnOnce(&Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        self.batch(begin)?;
        let out = f(self).and_then(|v| {
            self.batch("COMMIT")?;
            Ok(v)
        });
        if out.is_err() && self.batch("ROLLBACK").is_err() {
            self.broken.set(true);
        }
        out
    }
}

/// A connection lent by the pool, given back when dropped.
struct Lent<'p> {
    pool: &'p Postgres,
    conn: Option<Conn>,
}

impl std::ops::Deref for Lent<'_> {
    type Target = Conn;
    #[allow(
        clippy::expect_used,
        reason = "the connection is taken out only by drop, after which nothing derefs it"
    )]
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("lent until dropped")
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
        // A connection given back in the middle of a panic may be inside a transaction.
        if conn.broken.get() || conn.client.is_closed() || std::thread::panicking() {
            idle.open -= 1;
        } else {
            idle.conns.push(conn);
        }
        drop(idle);
        self.pool.returned.notify_one();
    }
}

struct Idle {
    conns: Vec<Conn>,
    /// Connections open, lent or idle.
    open: usize,
}

pub struct Postgres {
    config: tokio_postgres::Config,
    idle: Mutex<Idle>,
    returned: Condvar,
    /// The workspace's notification channels (its schema's name in them): the feed's head,
    /// and notes between processes.
    channel: String,
    bus: String,
    /// Notes to send to the other processes, through the listener's connection.
    outgoing: Mutex<Option<tokio::sync::mpsc::UnboundedSender<String>>>,
}

fn connect(config: &tokio_postgres::Config) -> Result<Conn> {
    let config = config.clone();
    let connected = wait(runtime()?.spawn(async move {
        let (client, connection) = config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "a PostgreSQL connection ended");
            }
        });
        Ok::<_, tokio_postgres::Error>(client)
    }))
    .map_err(|e| StorageError::Invalid(format!("the PostgreSQL client stopped: {e}")))?;
    Ok(Conn {
        client: connected?,
        statements: RefCell::new(HashMap::new()),
        broken: std::cell::Cell::new(false),
    })
}

/// A database address with its password hidden, for messages and logs.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// Makes the schema `name` in the database `url` names (if it is not there yet), and returns the
/// address of a workspace kept in it: several workspaces (the tests', one each) in one database.
pub fn new_schema(url: &str, name: &str) -> Result<String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(StorageError::Invalid(format!(
            "{name:?} is not a schema name (lower-case letters, digits and _)"
        )));
    }
    let config: tokio_postgres::Config = url.parse().map_err(|e| {
        StorageError::Invalid(format!(
            "{} is not a PostgreSQL address: {e}",
            redacted(url)
        ))
    })?;
    connect(&config)?.batch(&format!("CREATE SCHEMA IF NOT EXISTS {name}"))?;
    let joint = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{joint}options=-csearch_path%3D{name}"))
}

impl Postgres {
    /// Connects to the database `url` names (`postgres://user:password@host:port/db`; a
    /// `?options=-csearch_path%3D<schema>` keeps the workspace in a schema of its own) and
    /// brings its schema up to date.
    pub fn open(url: &str) -> Result<Postgres> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| {
            StorageError::Invalid(format!(
                "{} is not a PostgreSQL address: {e}",
                redacted(url)
            ))
        })?;
        let first = connect(&config).map_err(|e| {
            StorageError::Invalid(format!(
                "cannot connect to PostgreSQL at {}: {e}",
                redacted(url)
            ))
        })?;
        migrate(&first)?;
        let schema: String = first.one("SELECT current_schema()::text", &[])?.get(0);
        let pg = Postgres {
            config,
            idle: Mutex::new(Idle {
                conns: vec![first],
                open: 1,
            }),
            returned: Condvar::new(),
            channel: format!("outpost_changes.{schema}"),
            bus: format!("outpost_bus.{schema}"),
            outgoing: Mutex::new(None),
        };
        Ok(pg)
    }

    /// A connection from the pool (a new one while fewer than [`MAX_CONNECTIONS`] are open).
    fn conn(&self) -> Result<Lent<'_>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(conn) = idle.conns.pop() {
                return Ok(Lent {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if idle.open < MAX_CONNECTIONS {
                idle.open += 1;
                drop(idle);
                return match connect(&self.config) {
                    Ok(conn) => Ok(Lent {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(e) => {
                        self.idle.lock().unwrap_or_else(|p| p.into_inner()).open -= 1;
                        Err(e)
                    }
                };
            }
            let (back, timeout) = self
                .returned
                .wait_timeout(idle, Duration::from_secs(30))
                .unwrap_or_else(|p| p.into_inner());
            idle = back;
            if timeout.timed_out() && idle.conns.is_empty() {
                return Err(StorageError::Invalid(
                    "every PostgreSQL connection stayed busy for half a minute".into(),
                ));
            }
        }
    }

    /// Calls `changed` with the feed's head whenever a transaction of any process moves it
    /// (PostgreSQL's LISTEN/NOTIFY), and once after every reconnection (notifications sent
    /// while the listener was away are lost: the head is read again instead); `noted` with the
    /// notes other processes [`Storage::publish`] (this one's come back too). Runs until the
    /// process ends, reconnecting when its connection is lost.
    pub fn listen(
        &self,
        noted: impl Fn(String) + Send + Sync + 'static,
        changed: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<()> {
        let config = self.config.clone();
        let (channel, bus) = (self.channel.clone(), self.bus.clone());
        let (outgoing, mut to_send) = tokio::sync::mpsc::unbounded_channel::<String>();
        *self.outgoing.lock().unwrap_or_else(|p| p.into_inner()) = Some(outgoing);
        runtime()?.spawn(async move {
            use futures_util::StreamExt;
            let quoted = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
            let mut delay = Duration::from_millis(100);
            loop {
                match config.connect(NoTls).await {
                    Ok((client, mut connection)) => {
                        let (tx, mut heard) = tokio::sync::mpsc::unbounded_channel();
                        let driver = tokio::spawn(async move {
                            let mut messages = futures_util::stream::poll_fn(move |cx| {
                                connection.poll_message(cx)
                            });
                            while let Some(m) = messages.next().await {
                                match m {
                                    Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                                        let said = (n.channel().to_owned(), n.payload().to_owned());
                                        if tx.send(said).is_err() {
                                            break;
                                        }
                                    }
                                    Ok(_) => {}
                                    Err(e) => {
                                        tracing::warn!(error = %e, "the PostgreSQL listener's connection ended");
                                        break;
                                    }
                                }
                            }
                        });
                        let listening = client
                            .batch_execute(&format!("LISTEN {}; LISTEN {}", quoted(&channel), quoted(&bus)))
                            .await;
                        match listening {
                            Err(e) => tracing::warn!(error = %e, "cannot LISTEN for the feed's changes"),
                            Ok(()) => {
                                delay = Duration::from_millis(100);
                                // What may have been missed while not listening.
                                if let Ok(row) =
                                    client.query_one("SELECT seq FROM head WHERE id = 1", &[]).await
                                {
                                    changed(row.get::<_, i64>(0) as u64);
                                }
                                loop {
                                    tokio::select! {
                                        said = heard.recv() => match said {
                                            Some((on, payload)) if on == channel => {
                                                if let Ok(seq) = payload.parse::<u64>() {
                                                    changed(seq);
                                                }
                                            }
                                            Some((_, payload)) => noted(payload),
                                            None => break,
                                        },
                                        note = to_send.recv() => match note {
                                            Some(note) => {
                                                // A note lost with the connection is lost: they
                                                // are of the moment (who is typing), or repeated.
                                                if let Err(e) = client.execute("SELECT pg_notify($1, $2)", &[&bus, &note]).await {
                                                    tracing::warn!(error = %e, "a note for the other processes was not sent");
                                                }
                                            }
                                            None => return,
                                        },
                                    }
                                }
                            }
                        }
                        driver.abort();
                    }
                    Err(e) => tracing::warn!(error = %e, "the feed's listener cannot connect to PostgreSQL"),
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        });
        Ok(())
    }

    /// Whether the workspace holds nothing yet (`migrate` copies into a new one only).
    pub fn is_empty(&self) -> Result<bool> {
        let c = self.conn()?;
        let seq: i64 = c.one("SELECT seq FROM head WHERE id = 1", &[])?.get(0);
        let agents: i64 = c.one("SELECT count(*) FROM agents", &[])?.get(0);
        Ok(seq == 0 && agents == 0)
    }
}

/// Brings the schema up to date, once however many processes start at the same moment (an
/// advisory lock for the schema's name, for the migration's transaction).
fn migrate(c: &Conn) -> Result<()> {
    c.transaction("BEGIN", |c| {
        c.batch(
            "SELECT pg_advisory_xact_lock(hashtext('outpost-migrate:' || current_schema()));
             CREATE TABLE IF NOT EXISTS outpost_schema (version INTEGER NOT NULL);",
        )?;
        let version: i64 = match c.opt("SELECT version::bigint FROM outpost_schema", &[])? {
            Some(row) => row.get(0),
            None => {
                c.exec("INSERT INTO outpost_schema (version) VALUES (0)", &[])?;
                0
            }
        };
        if version > MIGRATIONS.len() as i64 {
            return Err(StorageError::Invalid(format!(
                "the database was written by a newer Outpost server (schema {version})"
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            c.batch(sql)?;
            c.exec(
                "UPDATE outpost_schema SET version = $1",
                &[&((i + 1) as i32)],
            )?;
        }
        Ok(())
    })
}

fn get_entity(c: &Conn, r: EntityRef) -> Result<Option<Entity>> {
    let (kind, id) = kind_of(&r);
    let row = c.opt(
        &format!("SELECT data FROM {} WHERE id = $1", table_of(kind)),
        &[&id],
    )?;
    row.map(|r| decode_entity(kind, &r.get::<_, String>(0)))
        .transpose()
}

fn decode_all<T: serde::de::DeserializeOwned>(rows: Vec<Row>) -> Result<Vec<T>> {
    rows.iter()
        .map(|r| serde_json::from_str(&r.get::<_, String>(0)).map_err(StorageError::from))
        .collect()
}

fn head(c: &Conn) -> Result<u64> {
    Ok(c.one("SELECT seq FROM head WHERE id = 1", &[])?
        .get::<_, i64>(0) as u64)
}

fn messages_of(c: &Conn, conversation: ConversationId) -> Result<Vec<MessageId>> {
    Ok(c.query(
        "SELECT id FROM messages WHERE conversation = $1",
        &[&conversation.0],
    )?
    .iter()
    .map(|r| MessageId(r.get(0)))
    .collect())
}

fn upload_of(c: &Conn, id: Uuid) -> Result<Option<Upload>> {
    Ok(c.opt(
        "SELECT uploader, mime, size, message, conversation, by_channel FROM attachments WHERE id = $1",
        &[&id],
    )?
    .map(|r| upload_row(&r)))
}

/// An upload from the first six columns: uploader, mime, size, message, conversation, by_channel.
fn upload_row(r: &Row) -> Upload {
    let who: Uuid = r.get(0);
    Upload {
        uploader: if r.get(5) {
            Uploader::Channel(who)
        } else {
            Uploader::Agent(AgentId(who))
        },
        mime: r.get(1),
        size: r.get::<_, i64>(2) as u64,
        message: r.get::<_, Option<Uuid>>(3).map(MessageId),
        conversation: r.get::<_, Option<Uuid>>(4).map(ConversationId),
    }
}

/// A value of a deferred statement, owned until the statement is sent.
type Param = Box<dyn ToSql + Sync + Send>;

macro_rules! params {
    ($($p:expr),* $(,)?) => {
        vec![$(Box::new($p) as Param),*]
    };
}

/// A write of a transaction, kept until the next read or the commit sends it.
enum Write {
    /// One row of an `INSERT … VALUES (…)` (an upsert, or an insert of a new key), named by
    /// its key in its table: the rows of one statement between two other writes are sent as
    /// multi-row statements, the last row of each key kept ([`batched`]).
    Row {
        sql: &'static str,
        key: String,
        params: Vec<Param>,
    },
    Exec(String, Vec<Param>),
    /// A statement of the simple protocol (savepoints).
    Simple(&'static str),
}

/// A statement ready to send.
enum Sendable {
    Prepared(Statement, Vec<Param>),
    Simple(&'static str),
}

/// `sql` (`INSERT … VALUES (<one row>) …`) for `rows` rows: the row's parameters numbered on
/// for each further row. None for a statement of another shape.
fn multi_row(sql: &str, rows: usize) -> Option<String> {
    let start = sql.find(" VALUES (")? + " VALUES ".len();
    let mut depth = 0;
    let mut end = None;
    for (i, ch) in sql[start..].char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(start + i + 1);
                    break;
                }
            }
            _ => {}
        }
    }
    let end = end?;
    let tuple = &sql[start..end];
    let numbers = |t: &str| -> Vec<(usize, usize, usize)> {
        // (start, end, n) of each `$n`
        let b = t.as_bytes();
        let mut found = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'$' {
                let j = (i + 1..b.len())
                    .find(|&j| !b[j].is_ascii_digit())
                    .unwrap_or(b.len());
                if let Ok(n) = t[i + 1..j].parse::<usize>() {
                    found.push((i, j, n));
                }
                i = j;
            } else {
                i += 1;
            }
        }
        found
    };
    let found = numbers(tuple);
    let width = found.iter().map(|f| f.2).max()?;
    let mut out = String::with_capacity(sql.len() + rows * (tuple.len() + 8));
    out.push_str(&sql[..start]);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        let mut at = 0;
        for (i, j, n) in &found {
            out.push_str(&tuple[at..*i]);
            out.push('$');
            out.push_str(&(n + r * width).to_string());
            at = *j;
        }
        out.push_str(&tuple[at..]);
    }
    out.push_str(&sql[end..]);
    Some(out)
}

/// Rows of one statement sent together at most (a power of two; runs are cut into powers of
/// two, so that each statement is prepared for a few sizes only).
const MAX_ROWS: usize = 256;

impl Conn {
    /// The statement `sql` for `rows` rows ([`multi_row`]), prepared once per size.
    fn statement_for_rows(&self, sql: &'static str, rows: usize) -> Result<Statement> {
        if rows == 1 {
            return self.statement(sql);
        }
        let key = format!("{rows}\u{0}{sql}");
        if let Some(s) = self.statements.borrow().get(&key) {
            return Ok(s.clone());
        }
        let text = multi_row(sql, rows)
            .ok_or_else(|| StorageError::Invalid(format!("not a one-row insert: {sql}")))?;
        let s = wait(self.client.prepare(&text))?;
        self.statements.borrow_mut().insert(key, s.clone());
        Ok(s)
    }

    /// `writes` as statements to send: each run of rows between other writes becomes, for each
    /// of its statements, multi-row statements (in the order the statements first appear; the
    /// last row of each key kept, as the writes one by one would have left it).
    fn batched(&self, writes: Vec<Write>) -> Result<Vec<Sendable>> {
        type Run = Vec<(&'static str, Vec<Vec<Param>>, HashMap<String, usize>)>;
        fn emit(conn: &Conn, run: &mut Run, out: &mut Vec<Sendable>) -> Result<()> {
            for (sql, rows, _) in run.drain(..) {
                let mut rows = rows.into_iter().peekable();
                while rows.peek().is_some() {
                    let left = rows.len();
                    let size = if left >= MAX_ROWS {
                        MAX_ROWS
                    } else {
                        1 << (usize::BITS - 1 - left.leading_zeros())
                    };
                    let params: Vec<Param> = rows.by_ref().take(size).flatten().collect();
                    out.push(Sendable::Prepared(
                        conn.statement_for_rows(sql, size)?,
                        params,
                    ));
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        let mut run: Run = Vec::new();
        for w in writes {
            match w {
                Write::Row { sql, key, params } => {
                    let at = match run.iter().position(|(s, _, _)| *s == sql) {
                        Some(at) => at,
                        None => {
                            run.push((sql, Vec::new(), HashMap::new()));
                            run.len() - 1
                        }
                    };
                    let (_, rows, index) = &mut run[at];
                    match index.get(&key) {
                        Some(&i) => rows[i] = params,
                        None => {
                            index.insert(key, rows.len());
                            rows.push(params);
                        }
                    }
                }
                Write::Exec(sql, params) => {
                    emit(self, &mut run, &mut out)?;
                    out.push(Sendable::Prepared(self.statement(&sql)?, params));
                }
                Write::Simple(sql) => {
                    emit(self, &mut run, &mut out)?;
                    out.push(Sendable::Simple(sql));
                }
            }
        }
        emit(self, &mut run, &mut out)?;
        Ok(out)
    }

    /// Sends `writes` pipelined (all of them before the first answer is awaited: one round
    /// trip), in order; the first error is returned (PostgreSQL refuses the ones after it,
    /// the transaction being aborted).
    fn pipeline(&self, writes: Vec<Write>) -> Result<()> {
        let sendable = self.batched(writes)?;
        type Sent<'a> = std::pin::Pin<
            Box<dyn Future<Output = std::result::Result<(), tokio_postgres::Error>> + 'a>,
        >;
        let params: Vec<Vec<&(dyn ToSql + Sync)>> = sendable
            .iter()
            .map(|w| match w {
                Sendable::Prepared(_, ps) => {
                    ps.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect()
                }
                Sendable::Simple(_) => Vec::new(),
            })
            .collect();
        let client = &self.client;
        let sent: Vec<Sent<'_>> = sendable
            .iter()
            .zip(&params)
            .map(|(w, ps)| -> Sent<'_> {
                match w {
                    Sendable::Prepared(s, _) => {
                        Box::pin(async move { client.execute(s, ps).await.map(|_| ()) })
                    }
                    Sendable::Simple(sql) => Box::pin(client.batch_execute(sql)),
                }
            })
            .collect();
        for answer in wait(futures_util::future::join_all(sent)) {
            answer?;
        }
        Ok(())
    }
}

/// Where an entity stands in the feed: its conversation, its contact, whether it is deleted.
type FeedRow = (Option<Uuid>, Option<Uuid>, bool);

/// What a transaction read or wrote, so that reading it again costs no round trip. Sound
/// because the transaction holds the workspace's write lock: no other writer, in any process,
/// changes an entity, the feed or an op's result until it commits.
#[derive(Default)]
struct Known {
    entities: HashMap<(&'static str, Uuid), Option<Entity>>,
    feed: HashMap<(&'static str, Uuid), Option<FeedRow>>,
    op_results: HashMap<(Uuid, Uuid), Option<OpResult>>,
    /// Every conversation of a contact, for the contacts listed whole.
    conversations_of: HashMap<Uuid, Vec<Uuid>>,
}

impl Known {
    fn entity_put(&mut self, e: &Entity) {
        let (kind, id) = kind_of(&e.reference());
        if let Entity::Conversation(c) = e {
            for (contact, ids) in &mut self.conversations_of {
                let here = *contact == c.contact_id.0;
                match (here, ids.contains(&id)) {
                    (true, false) => ids.push(id),
                    (false, true) => ids.retain(|i| *i != id),
                    _ => {}
                }
            }
        }
        self.entities.insert((kind, id), Some(e.clone()));
    }

    fn entity_deleted(&mut self, kind: &'static str, id: Uuid) {
        if kind == "conversation" {
            for ids in self.conversations_of.values_mut() {
                ids.retain(|i| *i != id);
            }
        }
        self.entities.insert((kind, id), None);
    }
}

/// The current attempt ([`Tx::begin_attempt`]).
struct Attempt {
    /// The seq when it began.
    seq: u64,
    /// Where its writes begin among the unsent ones, while its SAVEPOINT is not yet sent (an
    /// attempt whose writes all wait is undone by forgetting them).
    mark: Option<usize>,
}

/// A write transaction. Its writes are kept and sent together, pipelined, before the next
/// read that needs the database and at the commit; what it read or wrote is known
/// ([`Known`]), and [`Tx::prefetch`] reads what a group of ops will need in one round trip.
/// Together they make a group of ops a few round trips instead of a dozen per op: the write
/// lock is held that much shorter.
pub struct PgTx<'c> {
    conn: &'c Conn,
    seq: u64,
    attempt: RefCell<Option<Attempt>>,
    writes: RefCell<Vec<Write>>,
    known: RefCell<Known>,
}

impl<'c> PgTx<'c> {
    fn new(conn: &'c Conn, seq: u64) -> PgTx<'c> {
        PgTx {
            conn,
            seq,
            attempt: RefCell::new(None),
            writes: RefCell::new(Vec::new()),
            known: RefCell::new(Known::default()),
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A row of an insert or upsert, named by its key in its table ([`Write::Row`]).
    fn row(&self, sql: &'static str, key: String, params: Vec<Param>) {
        self.writes
            .borrow_mut()
            .push(Write::Row { sql, key, params });
    }

    fn defer(&self, sql: &str, params: Vec<Param>) {
        self.writes
            .borrow_mut()
            .push(Write::Exec(sql.to_owned(), params));
    }

    /// Sends the writes kept so far (a SAVEPOINT first for those of a current attempt).
    fn flush(&self) -> Result<()> {
        let mut writes = self.writes.borrow_mut();
        if writes.is_empty() {
            return Ok(());
        }
        if let Some(attempt) = self.attempt.borrow_mut().as_mut()
            && let Some(mark) = attempt.mark.take()
        {
            writes.insert(mark, Write::Simple("SAVEPOINT attempt"));
        }
        let sent = std::mem::take(&mut *writes);
        drop(writes);
        self.conn.pipeline(sent)
    }

    /// The connection, for a read: the writes kept so far are sent first.
    fn db(&self) -> Result<&'c Conn> {
        self.flush()?;
        Ok(self.conn)
    }

    fn feed_row(&self, kind: &'static str, id: Uuid) -> Result<Option<FeedRow>> {
        if let Some(row) = self.known.borrow().feed.get(&(kind, id)) {
            return Ok(*row);
        }
        let row = self
            .db()?
            .opt(
                "SELECT conversation, contact, deleted FROM feed WHERE kind = $1 AND entity = $2",
                &[&kind, &id],
            )?
            .map(|r| (r.get(0), r.get(1), r.get(2)));
        self.known.borrow_mut().feed.insert((kind, id), row);
        Ok(row)
    }

    fn move_in_feed(
        &mut self,
        r: &EntityRef,
        conversation: Option<Uuid>,
        contact: Option<Uuid>,
        deleted: bool,
    ) -> Result<u64> {
        let (kind, id) = kind_of(r);
        let seq = self.next_seq();
        self.row(
            "INSERT INTO feed (seq, kind, entity, conversation, contact, deleted) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (kind, entity) DO UPDATE SET seq = excluded.seq, conversation = excluded.conversation,
                contact = excluded.contact, deleted = excluded.deleted",
            format!("{kind}:{id}"),
            params![seq as i64, kind, id, conversation, contact, deleted],
        );
        self.known
            .borrow_mut()
            .feed
            .insert((kind, id), Some((conversation, contact, deleted)));
        Ok(seq)
    }

    /// Sends what is left and moves the head: the end of [`Storage::write`]'s work.
    fn finish(self, started_at: u64, channel: &str) -> Result<()> {
        let mut writes = std::mem::take(&mut *self.writes.borrow_mut());
        if self.seq != started_at {
            writes.push(Write::Exec(
                "UPDATE head SET seq = $1 WHERE id = 1".to_owned(),
                params![self.seq as i64],
            ));
            // Delivered at the commit, to every process listening.
            writes.push(Write::Exec(
                "SELECT pg_notify($1, $2)".to_owned(),
                params![channel.to_owned(), self.seq.to_string()],
            ));
        }
        self.conn.pipeline(writes)
    }
}

impl Tx for PgTx<'_> {
    fn get(&self, r: EntityRef) -> Result<Option<Entity>> {
        let key = kind_of(&r);
        if let Some(e) = self.known.borrow().entities.get(&key) {
            return Ok(e.clone());
        }
        let e = get_entity(self.db()?, r)?;
        self.known.borrow_mut().entities.insert(key, e.clone());
        Ok(e)
    }

    fn ever_stored(&self, r: EntityRef) -> Result<bool> {
        let (kind, id) = kind_of(&r);
        Ok(self.feed_row(kind, id)?.is_some())
    }

    fn prefetch(&self, refs: &[EntityRef], ops: &[(AgentId, OpId)]) -> Result<()> {
        let c = self.db()?;
        let known = self.known.borrow();
        // The ids of `kind` among `refs` not known yet, as entities or as feed rows.
        let unknown = |kind: &str, feed: bool| -> Vec<Uuid> {
            refs.iter()
                .map(kind_of)
                .filter(|key| key.0 == kind)
                .filter(|key| match feed {
                    true => !known.feed.contains_key(key),
                    false => !known.entities.contains_key(key),
                })
                .map(|(_, id)| id)
                .collect()
        };
        let (conversations, messages) = (unknown("conversation", false), unknown("message", false));
        let (feed_conversations, feed_messages) =
            (unknown("conversation", true), unknown("message", true));
        let (agents, op_ids): (Vec<Uuid>, Vec<Uuid>) = ops
            .iter()
            .filter(|(a, o)| !known.op_results.contains_key(&(a.0, o.0)))
            .map(|(a, o)| (a.0, o.0))
            .unzip();
        drop(known);
        let siblings = c.statement(
            "SELECT id, contact, data FROM conversations
             WHERE contact IN (SELECT contact FROM conversations WHERE id = ANY($1))",
        )?;
        let messages_sql = c.statement("SELECT id, data FROM messages WHERE id = ANY($1)")?;
        // Kind by kind: the feed's unique index leads with the kind.
        let feed_sql = c.statement(
            "SELECT entity, conversation, contact, deleted FROM feed WHERE kind = $1 AND entity = ANY($2)",
        )?;
        let results_sql = c.statement(
            "SELECT r.agent, r.op_id, r.result FROM op_results r
             JOIN unnest($1::uuid[], $2::uuid[]) AS w(agent, op_id)
               ON r.agent = w.agent AND r.op_id = w.op_id",
        )?;
        let p: [&[&(dyn ToSql + Sync)]; 5] = [
            &[&conversations],
            &[&messages],
            &[&"conversation", &feed_conversations],
            &[&"message", &feed_messages],
            &[&agents, &op_ids],
        ];
        // One round trip for them all.
        let (a, b, f1, f2, o) = wait(async {
            futures_util::join!(
                c.client.query(&siblings, p[0]),
                c.client.query(&messages_sql, p[1]),
                c.client.query(&feed_sql, p[2]),
                c.client.query(&feed_sql, p[3]),
                c.client.query(&results_sql, p[4]),
            )
        });
        let (a, b, o) = (a?, b?, o?);
        let mut known = self.known.borrow_mut();
        for id in &conversations {
            known.entities.insert(("conversation", *id), None);
        }
        let mut listed: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for row in &a {
            let (id, contact): (Uuid, Uuid) = (row.get(0), row.get(1));
            let e = decode_entity("conversation", &row.get::<_, String>(2))?;
            known.entities.insert(("conversation", id), Some(e));
            listed.entry(contact).or_default().push(id);
        }
        for (contact, ids) in listed {
            known.conversations_of.entry(contact).or_insert(ids);
        }
        for id in &messages {
            known.entities.insert(("message", *id), None);
        }
        for row in &b {
            let e = decode_entity("message", &row.get::<_, String>(1))?;
            known.entities.insert(("message", row.get(0)), Some(e));
        }
        for (kind, ids, rows) in [
            ("conversation", &feed_conversations, f1?),
            ("message", &feed_messages, f2?),
        ] {
            for id in ids {
                known.feed.insert((kind, *id), None);
            }
            for row in rows {
                known.feed.insert(
                    (kind, row.get(0)),
                    Some((row.get(1), row.get(2), row.get(3))),
                );
            }
        }
        for (agent, op_id) in agents.iter().zip(&op_ids) {
            known.op_results.insert((*agent, *op_id), None);
        }
        for row in &o {
            let result: OpResult = serde_json::from_str(&row.get::<_, String>(2))?;
            known
                .op_results
                .insert((row.get(0), row.get(1)), Some(result));
        }
        Ok(())
    }

    fn put(&mut self, e: &Entity) -> Result<u64> {
        let json = e.data_json()?;
        match e {
            Entity::Contact(k) => {
                self.row(
                    "INSERT INTO contacts (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                    k.id.0.to_string(),
                    params![k.id.0, json],
                );
                for i in &k.identities {
                    self.row(
                        "INSERT INTO identities (channel, address, contact) VALUES ($1, $2, $3)
                         ON CONFLICT (channel, address) DO UPDATE SET contact = excluded.contact",
                        format!("{}:{}", i.channel.as_str(), i.address),
                        params![i.channel.as_str(), i.address.clone(), k.id.0],
                    );
                }
            }
            Entity::Conversation(v) => {
                self.row(
                    "INSERT INTO conversations (id, contact, assignee, team, state, snoozed_until, data)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (id) DO UPDATE SET contact = excluded.contact, assignee = excluded.assignee,
                        team = excluded.team, state = excluded.state, snoozed_until = excluded.snoozed_until,
                        data = excluded.data",
                    v.id.0.to_string(),
                    params![
                        v.id.0,
                        v.contact_id.0,
                        v.assignee.map(|a| a.0),
                        v.team.map(|t| t.0),
                        state_code(v.state) as i16,
                        v.snoozed_until,
                        json,
                    ],
                );
            }
            Entity::Message(m) => {
                self.row(
                    "INSERT INTO messages (id, conversation, status, channel, created_at, send_at, moved_at, data)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (id) DO UPDATE SET conversation = excluded.conversation, status = excluded.status,
                        channel = excluded.channel, created_at = excluded.created_at,
                        send_at = excluded.send_at, moved_at = excluded.moved_at, data = excluded.data",
                    m.id.0.to_string(),
                    params![
                        m.id.0,
                        m.conversation_id.0,
                        status_name(m.status),
                        m.channel.as_str(),
                        m.created_at,
                        m.send_at,
                        m.history.last().map_or(m.created_at, |s| s.at),
                        json,
                    ],
                );
            }
            Entity::Event(ev) => {
                self.row(
                    "INSERT INTO events (id, conversation, data) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                    ev.id.0.to_string(),
                    params![ev.id.0, ev.conversation_id.0, json],
                );
            }
            Entity::Call(call) => {
                self.row(
                    "INSERT INTO calls (id, conversation, data) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET conversation = excluded.conversation, data = excluded.data",
                    call.id.0.to_string(),
                    params![call.id.0, call.conversation_id.0, json],
                );
            }
            Entity::Agent(a) => {
                // An agent without a password yet cannot sign in until one is set.
                self.row(
                    "INSERT INTO agents (id, email, password_hash, data) VALUES ($1, $2, '', $3)
                     ON CONFLICT (id) DO UPDATE SET email = excluded.email, data = excluded.data",
                    a.id.0.to_string(),
                    params![a.id.0, a.email.to_lowercase(), json],
                );
            }
            Entity::Team(t) => {
                self.row(
                    "INSERT INTO teams (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                    t.id.0.to_string(),
                    params![t.id.0, json],
                );
            }
            Entity::Channel(ch) => {
                self.row(
                    "INSERT INTO channel_entities (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                    ch.id.0.to_string(),
                    params![ch.id.0, json],
                );
                // Its private side: no secret yet (no webhook is accepted until one is set).
                self.defer(
                    "INSERT INTO channels (id, kind, secret_hash, data) VALUES ($1, $2, ''::bytea, '{}') ON CONFLICT (id) DO NOTHING",
                    params![ch.id.0, ch.kind.as_str()],
                );
            }
            Entity::View(v) => {
                self.row(
                    "INSERT INTO views (id, owner, data) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, data = excluded.data",
                    v.id.0.to_string(),
                    params![v.id.0, v.owner.0, json],
                );
            }
            Entity::Settings(s) => {
                self.row(
                    "INSERT INTO settings (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                    s.agent_id.0.to_string(),
                    params![s.agent_id.0, json],
                );
            }
        }
        self.known.borrow_mut().entity_put(e);
        let (conversation, contact) = scope(e);
        self.move_in_feed(&e.reference(), conversation, contact, false)
    }

    fn delete(&mut self, r: EntityRef) -> Result<u64> {
        let (kind, id) = kind_of(&r);
        let row = self.feed_row(kind, id)?;
        self.defer(
            &format!("DELETE FROM {} WHERE id = $1", table_of(kind)),
            params![id],
        );
        self.known.borrow_mut().entity_deleted(kind, id);
        let (conversation, contact) = row.map_or((None, None), |(c, k, _)| (c, k));
        self.move_in_feed(&r, conversation, contact, true)
    }

    fn touch(&mut self, r: EntityRef) -> Result<()> {
        let (kind, id) = kind_of(&r);
        if let Some((conversation, contact, deleted)) = self.feed_row(kind, id)? {
            self.move_in_feed(&r, conversation, contact, deleted)?;
        }
        Ok(())
    }

    fn revoke(&mut self, agent: AgentId, entity: EntityRef) -> Result<()> {
        let seq = self.next_seq();
        self.defer(
            "INSERT INTO revocations (agent, seq, entity) VALUES ($1, $2, $3)",
            params![agent.0, seq as i64, serde_json::to_string(&entity)?],
        );
        Ok(())
    }

    fn agents(&self) -> Result<Vec<Agent>> {
        decode_all(self.db()?.query("SELECT data FROM agents", &[])?)
    }

    fn messages_of(&self, conversation: ConversationId) -> Result<Vec<MessageId>> {
        messages_of(self.db()?, conversation)
    }

    fn events_of(&self, conversation: ConversationId) -> Result<Vec<EventId>> {
        Ok(self
            .db()?
            .query(
                "SELECT id FROM events WHERE conversation = $1",
                &[&conversation.0],
            )?
            .iter()
            .map(|r| EventId(r.get(0)))
            .collect())
    }

    fn calls_of(&self, conversation: ConversationId) -> Result<Vec<outpost_protocol::CallId>> {
        Ok(self
            .db()?
            .query(
                "SELECT id FROM calls WHERE conversation = $1",
                &[&conversation.0],
            )?
            .iter()
            .map(|r| outpost_protocol::CallId(r.get(0)))
            .collect())
    }

    fn conversations_of(&self, contact: ContactId) -> Result<Vec<ConversationId>> {
        if let Some(ids) = self.known.borrow().conversations_of.get(&contact.0) {
            return Ok(ids.iter().copied().map(ConversationId).collect());
        }
        let ids: Vec<Uuid> = self
            .db()?
            .query(
                "SELECT id FROM conversations WHERE contact = $1",
                &[&contact.0],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        self.known
            .borrow_mut()
            .conversations_of
            .insert(contact.0, ids.clone());
        Ok(ids.into_iter().map(ConversationId).collect())
    }

    fn all_conversations(&self) -> Result<Vec<Conversation>> {
        decode_all(self.db()?.query("SELECT data FROM conversations", &[])?)
    }

    fn contact_by_identity(
        &self,
        channel: ChannelKind,
        address: &str,
    ) -> Result<Option<ContactId>> {
        Ok(self
            .db()?
            .opt(
                "SELECT contact FROM identities WHERE channel = $1 AND address = $2",
                &[&channel.as_str(), &address],
            )?
            .map(|r| ContactId(r.get(0))))
    }

    fn op_result(&self, agent: AgentId, op_id: OpId) -> Result<Option<OpResult>> {
        if let Some(r) = self.known.borrow().op_results.get(&(agent.0, op_id.0)) {
            return Ok(r.clone());
        }
        self.db()?
            .opt(
                "SELECT result FROM op_results WHERE agent = $1 AND op_id = $2",
                &[&agent.0, &op_id.0],
            )?
            .map(|r| serde_json::from_str(&r.get::<_, String>(0)).map_err(StorageError::from))
            .transpose()
    }

    fn save_op_result(&mut self, agent: AgentId, result: &OpResult, at: Millis) -> Result<()> {
        self.row(
            "INSERT INTO op_results (op_id, agent, result, at) VALUES ($1, $2, $3, $4)",
            format!("{}:{}", agent.0, result.op_id.0),
            params![result.op_id.0, agent.0, serde_json::to_string(result)?, at],
        );
        self.known
            .borrow_mut()
            .op_results
            .insert((agent.0, result.op_id.0), Some(result.clone()));
        Ok(())
    }

    fn seq(&self) -> Result<u64> {
        Ok(self.seq)
    }

    fn attachment(&self, id: Uuid) -> Result<Option<Upload>> {
        upload_of(self.db()?, id)
    }

    fn provider_message(&self, channel: Uuid, provider_id: &str) -> Result<Option<MessageId>> {
        Ok(self
            .db()?
            .opt(
                "SELECT message FROM provider_messages WHERE channel = $1 AND provider_id = $2",
                &[&channel, &provider_id],
            )?
            .map(|r| MessageId(r.get(0))))
    }

    fn set_provider_message(
        &mut self,
        channel: Uuid,
        provider_id: &str,
        message: MessageId,
    ) -> Result<()> {
        self.row(
            "INSERT INTO provider_messages (channel, provider_id, message) VALUES ($1, $2, $3)
             ON CONFLICT (channel, provider_id) DO UPDATE SET message = excluded.message",
            format!("{channel}:{provider_id}"),
            params![channel, provider_id.to_owned(), message.0],
        );
        Ok(())
    }

    fn keep_early_status(
        &mut self,
        channel: Uuid,
        provider_id: &str,
        status: &str,
        at: Millis,
    ) -> Result<()> {
        self.defer(
            "INSERT INTO early_statuses (channel, provider_id, status, received_at) VALUES ($1, $2, $3, $4)",
            params![channel, provider_id.to_owned(), status.to_owned(), at],
        );
        Ok(())
    }

    fn take_early_statuses(&mut self, channel: Uuid, provider_id: &str) -> Result<Vec<String>> {
        let mut statuses: Vec<(i64, String)> = self
            .db()?
            .query(
                "DELETE FROM early_statuses WHERE channel = $1 AND provider_id = $2 RETURNING n, status",
                &[&channel, &provider_id],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        statuses.sort_by_key(|(n, _)| *n);
        Ok(statuses.into_iter().map(|(_, s)| s).collect())
    }

    fn end_delivery(&mut self, message: MessageId) -> Result<()> {
        self.defer(
            "DELETE FROM deliveries WHERE message = $1",
            params![message.0],
        );
        Ok(())
    }

    fn delay_delivery(
        &mut self,
        message: MessageId,
        parts: u32,
        next_at: Millis,
        error: &str,
    ) -> Result<()> {
        self.defer(
            "UPDATE deliveries SET parts = $2, sending = false, next_at = $3, last_error = $4 WHERE message = $1",
            params![message.0, i64::from(parts), next_at, error.to_owned()],
        );
        Ok(())
    }

    fn link_attachment(
        &mut self,
        id: Uuid,
        message: MessageId,
        conversation: ConversationId,
    ) -> Result<()> {
        self.defer(
            "UPDATE attachments SET message = $2, conversation = $3 WHERE id = $1",
            params![id, message.0, conversation.0],
        );
        Ok(())
    }

    fn flows(&self) -> Result<Vec<super::Flow>> {
        decode_all(
            self.db()?
                .query("SELECT data FROM flows ORDER BY name", &[])?,
        )
    }

    fn flow_run(&self, contact: ContactId) -> Result<Option<(String, u32)>> {
        Ok(self
            .db()?
            .opt(
                "SELECT flow, step FROM flow_runs WHERE contact = $1",
                &[&contact.0],
            )?
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u32)))
    }

    fn set_flow_run(&mut self, contact: ContactId, run: Option<(&str, u32)>) -> Result<()> {
        match run {
            Some((flow, step)) => self.row(
                "INSERT INTO flow_runs (contact, flow, step) VALUES ($1, $2, $3)
                 ON CONFLICT (contact) DO UPDATE SET flow = excluded.flow, step = excluded.step",
                contact.0.to_string(),
                params![contact.0, flow.to_owned(), i64::from(step)],
            ),
            None => self.defer(
                "DELETE FROM flow_runs WHERE contact = $1",
                params![contact.0],
            ),
        }
        Ok(())
    }

    fn set_flows(&mut self, flows: &[super::Flow]) -> Result<()> {
        self.defer("DELETE FROM flows", params![]);
        for f in flows {
            self.defer(
                "INSERT INTO flows (name, data) VALUES ($1, $2)",
                params![f.name.clone(), serde_json::to_string(f)?],
            );
        }
        Ok(())
    }

    fn set_channel_private(
        &mut self,
        id: Uuid,
        secret_hash: &[u8],
        settings: &serde_json::Value,
    ) -> Result<()> {
        let n = self.db()?.exec(
            "UPDATE channels SET secret_hash = $2, data = $3 WHERE id = $1",
            &[&id, &secret_hash, &settings.to_string()],
        )?;
        if n == 0 {
            return Err(StorageError::Invalid(format!("there is no channel {id}")));
        }
        Ok(())
    }

    fn begin_attempt(&mut self) -> Result<()> {
        *self.attempt.borrow_mut() = Some(Attempt {
            seq: self.seq,
            mark: Some(self.writes.borrow().len()),
        });
        Ok(())
    }

    fn rollback_attempt(&mut self) -> Result<()> {
        let Some(attempt) = self.attempt.borrow_mut().take() else {
            return Ok(());
        };
        let mut writes = self.writes.borrow_mut();
        match attempt.mark {
            // None of its writes was sent: forgetting them undoes it.
            Some(mark) => writes.truncate(mark),
            None => {
                writes.clear();
                writes.push(Write::Simple(
                    "ROLLBACK TO SAVEPOINT attempt; RELEASE SAVEPOINT attempt",
                ));
            }
        }
        self.seq = attempt.seq;
        // What it read or wrote may no longer hold: read again from the database.
        *self.known.borrow_mut() = Known::default();
        Ok(())
    }

    fn commit_attempt(&mut self) -> Result<()> {
        if let Some(attempt) = self.attempt.borrow_mut().take()
            && attempt.mark.is_none()
        {
            self.writes
                .borrow_mut()
                .push(Write::Simple("RELEASE SAVEPOINT attempt"));
        }
        Ok(())
    }
}

/// Whether a restricted agent may see a feed row, by the current state of its scope.
fn visible(
    c: &Conn,
    agent: &Agent,
    kind: &str,
    deleted: bool,
    conversation: Option<&str>,
    contact: Option<Uuid>,
) -> Result<bool> {
    match kind {
        "conversation" | "message" | "event" | "call" => match conversation {
            Some(data) => {
                let conversation: Conversation = serde_json::from_str(data)?;
                Ok(rules::may_see(agent, &conversation))
            }
            // The conversation is gone: a tombstone is harmless to anyone.
            None => Ok(deleted),
        },
        "contact" => {
            let Some(contact) = contact else {
                return Ok(false);
            };
            if deleted {
                return Ok(true);
            }
            for row in c.query(
                "SELECT data FROM conversations WHERE contact = $1",
                &[&contact],
            )? {
                let conversation: Conversation = serde_json::from_str(&row.get::<_, String>(0))?;
                if rules::may_see(agent, &conversation) {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        _ => Ok(true),
    }
}

fn page_of(changes: &mut [(u64, String)], tail: &str) -> String {
    changes.sort_by_key(|c| c.0);
    let mut page = String::with_capacity(changes.iter().map(|c| c.1.len() + 1).sum::<usize>() + 64);
    page.push_str(r#"{"changes":["#);
    for (i, (_, json)) in changes.iter().enumerate() {
        if i > 0 {
            page.push(',');
        }
        page.push_str(json);
    }
    page.push_str(tail);
    page
}

fn upsert(seq: u64, kind: &str, data: &str) -> String {
    format!(r#"{{"seq":{seq},"change":"upsert","entity":{{"type":"{kind}","data":{data}}}}}"#)
}

/// A read in one snapshot: what it reads is one moment of the workspace.
const SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

impl Storage for Postgres {
    type Tx<'a> = PgTx<'a>;

    fn write<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&mut PgTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let conn = self.conn()?;
        conn.transaction("BEGIN", |c| {
            // The workspace's write lock, held to the commit (the module doc says why).
            let seq = c
                .one("SELECT seq FROM head WHERE id = 1 FOR UPDATE", &[])?
                .get::<_, i64>(0) as u64;
            let mut t = PgTx::new(c, seq);
            let value = f(&mut t)?;
            t.finish(seq, &self.channel)?;
            Ok(value)
        })
    }

    fn changes(&self, agent: &Agent, after: u64, limit: u32) -> Result<FeedPage> {
        let limit = limit.clamp(1, 5_000) as usize;
        let unrestricted = rules::is_privileged(agent)
            || agent.visibility == outpost_protocol::Visibility::Unrestricted;
        // Rows scanned for a restricted agent before the page is cut, visible or not.
        let scan = if unrestricted {
            limit as i64
        } else {
            (limit * 8) as i64
        };
        let conn = self.conn()?;
        conn.transaction(SNAPSHOT, |c| {
            let head = head(c)?;
            let rows = c.query(
                "SELECT f.seq, f.kind, f.entity, f.deleted,
                    CASE f.kind
                        WHEN 'contact' THEN (SELECT data FROM contacts WHERE id = f.entity)
                        WHEN 'conversation' THEN (SELECT data FROM conversations WHERE id = f.entity)
                        WHEN 'message' THEN (SELECT data FROM messages WHERE id = f.entity)
                        WHEN 'event' THEN (SELECT data FROM events WHERE id = f.entity)
                        WHEN 'call' THEN (SELECT data FROM calls WHERE id = f.entity)
                        WHEN 'agent' THEN (SELECT data FROM agents WHERE id = f.entity)
                        WHEN 'team' THEN (SELECT data FROM teams WHERE id = f.entity)
                        WHEN 'channel' THEN (SELECT data FROM channel_entities WHERE id = f.entity)
                        WHEN 'view' THEN (SELECT data FROM views WHERE id = f.entity)
                        WHEN 'settings' THEN (SELECT data FROM settings WHERE id = f.entity)
                    END,
                    CASE WHEN $3 THEN NULL ELSE (SELECT data FROM conversations WHERE id = f.conversation) END,
                    f.contact
                 FROM feed f WHERE f.seq > $1 ORDER BY f.seq LIMIT $2",
                &[&(after as i64), &scan, &unrestricted],
            )?;
            let scanned_all = (rows.len() as i64) < scan;
            let mut changes: Vec<(u64, String)> = Vec::new();
            let mut last_scanned = after;
            for row in rows {
                if changes.len() >= limit {
                    break;
                }
                let seq = row.get::<_, i64>(0) as u64;
                let kind: String = row.get(1);
                let entity: Uuid = row.get(2);
                let deleted: bool = row.get(3);
                let data: Option<String> = row.get(4);
                last_scanned = seq;
                let Some(r) = reference(&kind, entity) else { continue };
                // An agent's notification settings are theirs alone, whatever their role.
                if kind == "settings" && entity != agent.id.0 {
                    continue;
                }
                if !unrestricted
                    && !visible(c, agent, &kind, deleted, row.get::<_, Option<&str>>(5), row.get(6))?
                {
                    continue;
                }
                if kind == "view"
                    && !deleted
                    && let Some(data) = &data
                    && !shared_with(&serde_json::from_str(data)?, agent)
                {
                    continue;
                }
                // The stored JSON goes into the page as it is: the shape of `Change`.
                let json = match (&data, deleted) {
                    (Some(data), false) => upsert(seq, &kind, data),
                    _ => format!(
                        r#"{{"seq":{seq},"change":"tombstone","entity":{}}}"#,
                        serde_json::to_string(&r)?
                    ),
                };
                changes.push((seq, json));
            }
            let cursor = if changes.len() < limit && scanned_all {
                head.max(after)
            } else {
                last_scanned
            };
            // Revocations up to the cursor, merged in seq order (each has a seq of its own).
            for row in c.query(
                "SELECT seq, entity FROM revocations WHERE agent = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
                &[&agent.id.0, &(after as i64), &(cursor as i64)],
            )? {
                let seq = row.get::<_, i64>(0);
                let entity: &str = row.get(1);
                changes.push((
                    seq as u64,
                    format!(r#"{{"seq":{seq},"change":"revoke","entity":{entity}}}"#),
                ));
            }
            let json = page_of(
                &mut changes,
                &format!(
                    r#"],"cursor":{cursor},"has_more":{},"head":{head}}}"#,
                    cursor < head
                ),
            );
            Ok(FeedPage {
                json,
                cursor,
                has_more: cursor < head,
            })
        })
    }

    fn recent(&self, agent: &Agent, conversations: u32, messages: u32) -> Result<String> {
        /// Conversation rows read, newest change first, to find the most recently active.
        const CANDIDATES: usize = 1_000;
        let wanted = conversations.clamp(1, 500) as usize;
        let messages = i64::from(messages.clamp(1, 200));
        let conn = self.conn()?;
        conn.transaction(SNAPSHOT, |c| {
            let head = head(c)?;
            // Every new message touches its conversation, so the recently active ones are among
            // the last conversation rows of the feed; of those, the latest messages win. Read
            // in batches, newest first, until enough are visible to the agent.
            let mut candidates: Vec<(u64, Millis, Conversation, String)> = Vec::new();
            let mut below = i64::MAX;
            'batches: loop {
                let rows = c.query(
                    "SELECT f.seq, c.data FROM feed f JOIN conversations c ON c.id = f.entity
                     WHERE f.kind = 'conversation' AND NOT f.deleted AND f.seq < $1
                     ORDER BY f.seq DESC LIMIT 500",
                    &[&below],
                )?;
                if rows.is_empty() {
                    break;
                }
                for row in rows {
                    let seq: i64 = row.get(0);
                    below = seq;
                    let data: String = row.get(1);
                    let conversation: Conversation = serde_json::from_str(&data)?;
                    if rules::may_see(agent, &conversation) {
                        candidates.push((seq as u64, conversation.last_message_at, conversation, data));
                        if candidates.len() >= CANDIDATES {
                            break 'batches;
                        }
                    }
                }
            }
            candidates.sort_by_key(|c| std::cmp::Reverse(c.1));
            candidates.truncate(wanted);
            let mut changes: Vec<(u64, String)> = Vec::new();
            let mut contacts = std::collections::HashSet::new();
            for (seq, _, conversation, data) in &candidates {
                changes.push((*seq, upsert(*seq, "conversation", data)));
                if contacts.insert(conversation.contact_id)
                    && let Some(row) = c.opt(
                        "SELECT f.seq, k.data FROM contacts k JOIN feed f ON f.kind = 'contact' AND f.entity = k.id
                         WHERE k.id = $1",
                        &[&conversation.contact_id.0],
                    )?
                {
                    let seq = row.get::<_, i64>(0) as u64;
                    changes.push((seq, upsert(seq, "contact", row.get(1))));
                }
                for (table, kind) in [("messages", "message"), ("events", "event"), ("calls", "call")] {
                    for row in c.query(
                        &format!(
                            "SELECT f.seq, m.data FROM (SELECT id, data FROM {table} WHERE conversation = $1
                                                       ORDER BY n DESC LIMIT $2) m
                             JOIN feed f ON f.kind = '{kind}' AND f.entity = m.id"
                        ),
                        &[&conversation.id.0, &messages],
                    )? {
                        let seq = row.get::<_, i64>(0) as u64;
                        changes.push((seq, upsert(seq, kind, row.get(1))));
                    }
                }
            }
            // Who and what the conversations refer to: agents, teams, the views shared.
            for (kind, table) in [("agent", "agents"), ("team", "teams"), ("view", "views")] {
                for row in c.query(
                    &format!(
                        "SELECT f.seq, t.data FROM feed f JOIN {table} t ON t.id = f.entity
                         WHERE f.kind = '{kind}' AND NOT f.deleted"
                    ),
                    &[],
                )? {
                    let data: &str = row.get(1);
                    if kind == "view" && !shared_with(&serde_json::from_str(data)?, agent) {
                        continue;
                    }
                    let seq = row.get::<_, i64>(0) as u64;
                    changes.push((seq, upsert(seq, kind, data)));
                }
            }
            Ok(page_of(&mut changes, &format!(r#"],"head":{head}}}"#)))
        })
    }

    fn seq(&self) -> Result<u64> {
        head(&*self.conn()?)
    }

    fn credentials(&self, email: &str) -> Result<Option<Credentials>> {
        self.conn()?
            .opt(
                "SELECT data, password_hash, disabled FROM agents WHERE email = $1",
                &[&email.trim().to_lowercase()],
            )?
            .map(|r| {
                Ok(Credentials {
                    agent: serde_json::from_str(r.get(0))?,
                    password_hash: r.get(1),
                    disabled: r.get(2),
                })
            })
            .transpose()
    }

    fn set_password(&self, agent: AgentId, email: &str, password_hash: &str) -> Result<()> {
        let n = self.conn()?.exec(
            "UPDATE agents SET password_hash = $2, email = $3 WHERE id = $1",
            &[&agent.0, &password_hash, &email.trim().to_lowercase()],
        )?;
        if n == 0 {
            return Err(StorageError::Invalid("no such agent".into()));
        }
        Ok(())
    }

    fn password_hash(&self, agent: AgentId) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .opt(
                "SELECT password_hash FROM agents WHERE id = $1",
                &[&agent.0],
            )?
            .map(|r| r.get(0)))
    }

    fn change_password(
        &self,
        agent: AgentId,
        password_hash: &str,
        keep: Option<&[u8]>,
    ) -> Result<()> {
        self.conn()?.transaction("BEGIN", |c| {
            c.exec(
                "UPDATE agents SET password_hash = $2 WHERE id = $1",
                &[&agent.0, &password_hash],
            )?;
            c.exec(
                "DELETE FROM sessions WHERE agent = $1 AND token_hash IS DISTINCT FROM $2",
                &[&agent.0, &keep],
            )?;
            Ok(())
        })
    }

    fn end_sessions(&self, agent: AgentId) -> Result<()> {
        self.conn()?
            .exec("DELETE FROM sessions WHERE agent = $1", &[&agent.0])?;
        Ok(())
    }

    fn set_disabled(&self, agent: AgentId, disabled: bool) -> Result<()> {
        self.conn()?.transaction("BEGIN", |c| {
            c.exec(
                "UPDATE agents SET disabled = $2 WHERE id = $1",
                &[&agent.0, &disabled],
            )?;
            if disabled {
                c.exec("DELETE FROM sessions WHERE agent = $1", &[&agent.0])?;
            }
            Ok(())
        })
    }

    fn create_invite(&self, token_hash: &[u8], agent: AgentId, expires_at: Millis) -> Result<()> {
        self.conn()?.exec(
            "INSERT INTO invites (token_hash, agent, expires_at) VALUES ($1, $2, $3)",
            &[&token_hash, &agent.0, &expires_at],
        )?;
        Ok(())
    }

    fn take_invite(&self, token_hash: &[u8], now: Millis) -> Result<Option<(AgentId, Millis)>> {
        Ok(self
            .conn()?
            .opt(
                "DELETE FROM invites WHERE token_hash = $1 AND expires_at > $2 RETURNING agent, expires_at",
                &[&token_hash, &now],
            )?
            .map(|r| (AgentId(r.get(0)), r.get(1))))
    }

    fn is_disabled(&self, agent: AgentId) -> Result<bool> {
        Ok(self
            .conn()?
            .opt("SELECT disabled FROM agents WHERE id = $1", &[&agent.0])?
            .is_some_and(|r| r.get(0)))
    }

    fn create_session(
        &self,
        token_hash: &[u8],
        agent: AgentId,
        now: Millis,
        expires_at: Millis,
    ) -> Result<()> {
        let c = self.conn()?;
        c.exec("DELETE FROM sessions WHERE expires_at <= $1", &[&now])?;
        c.exec(
            "INSERT INTO sessions (token_hash, agent, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[&token_hash, &agent.0, &now, &expires_at],
        )?;
        Ok(())
    }

    fn session(&self, token_hash: &[u8], now: Millis) -> Result<Option<Session>> {
        self.conn()?
            .opt(
                "SELECT a.data, s.expires_at FROM sessions s JOIN agents a ON a.id = s.agent
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT a.disabled",
                &[&token_hash, &now],
            )?
            .map(|r| {
                Ok(Session {
                    agent: serde_json::from_str(r.get(0))?,
                    expires_at: r.get(1),
                })
            })
            .transpose()
    }

    fn end_session(&self, token_hash: &[u8]) -> Result<()> {
        self.conn()?
            .exec("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])?;
        Ok(())
    }

    fn set_channel_secret(&self, id: Uuid, secret_hash: &[u8]) -> Result<()> {
        let n = self.conn()?.exec(
            "UPDATE channels SET secret_hash = $2 WHERE id = $1",
            &[&id, &secret_hash],
        )?;
        if n == 0 {
            return Err(StorageError::Invalid(format!("there is no channel {id}")));
        }
        Ok(())
    }

    fn channel(&self, id: Uuid) -> Result<Option<(ChannelKind, Vec<u8>)>> {
        Ok(self
            .conn()?
            .opt(
                "SELECT kind, secret_hash FROM channels WHERE id = $1",
                &[&id],
            )?
            .and_then(|r| ChannelKind::parse(r.get(0)).map(|k| (k, r.get(1)))))
    }

    fn channel_entities(&self) -> Result<Vec<outpost_protocol::Channel>> {
        decode_all(
            self.conn()?
                .query("SELECT data FROM channel_entities ORDER BY id", &[])?,
        )
    }

    fn channels(&self) -> Result<Vec<(Uuid, ChannelKind)>> {
        Ok(self
            .conn()?
            .query("SELECT id, kind FROM channels ORDER BY kind, id", &[])?
            .iter()
            .filter_map(|r| ChannelKind::parse(r.get(1)).map(|k| (r.get(0), k)))
            .collect())
    }

    fn create_visitor(&self, v: &super::Visitor, token_hash: &[u8]) -> Result<()> {
        self.conn()?.exec(
            "INSERT INTO widget_visitors (id, channel, token_hash, name, email, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&v.id, &v.channel, &token_hash, &v.name, &v.email, &v.created_at],
        )?;
        Ok(())
    }

    fn visitor(&self, token_hash: &[u8]) -> Result<Option<super::Visitor>> {
        Ok(self
            .conn()?
            .opt(
                "SELECT id, channel, name, email, created_at FROM widget_visitors WHERE token_hash = $1",
                &[&token_hash],
            )?
            .map(|r| super::Visitor {
                id: r.get(0),
                channel: r.get(1),
                name: r.get(2),
                email: r.get(3),
                created_at: r.get(4),
            }))
    }

    fn web_chat_messages(
        &self,
        address: &str,
        limit: u32,
    ) -> Result<Vec<outpost_protocol::Message>> {
        decode_all(self.conn()?.query(
            "SELECT data FROM (
                SELECT m.data, m.created_at, m.n FROM identities i
                JOIN conversations c ON c.contact = i.contact
                JOIN messages m ON m.conversation = c.id
                WHERE i.channel = 'web_chat' AND i.address = $1 AND m.channel = 'web_chat'
                ORDER BY m.created_at DESC, m.n DESC LIMIT $2
             ) latest ORDER BY created_at, n",
            &[&address, &i64::from(limit)],
        )?)
    }

    fn conversations_changed_since(
        &self,
        after: u64,
        conversations: &[ConversationId],
    ) -> Result<bool> {
        let ids: Vec<Uuid> = conversations.iter().map(|c| c.0).collect();
        Ok(self
            .conn()?
            .opt(
                "SELECT 1 FROM feed WHERE seq > $1 AND conversation = ANY($2) LIMIT 1",
                &[&(after as i64), &ids],
            )?
            .is_some())
    }

    fn outgoing_queue(&self) -> Result<u64> {
        Ok(self
            .conn()?
            .one(
                "SELECT count(*) FROM messages WHERE status = 'pending'",
                &[],
            )?
            .get::<_, i64>(0) as u64)
    }

    fn due_messages(&self, now: Millis) -> Result<Vec<MessageId>> {
        Ok(self
            .conn()?
            .query(
                "SELECT id FROM messages WHERE status = 'scheduled' AND send_at <= $1 ORDER BY send_at LIMIT 500",
                &[&now],
            )?
            .iter()
            .map(|r| MessageId(r.get(0)))
            .collect())
    }

    fn due_snoozes(&self, now: Millis) -> Result<Vec<ConversationId>> {
        Ok(self
            .conn()?
            .query(
                "SELECT id FROM conversations WHERE snoozed_until IS NOT NULL AND snoozed_until <= $1 LIMIT 500",
                &[&now],
            )?
            .iter()
            .map(|r| ConversationId(r.get(0)))
            .collect())
    }

    fn messages_in_delivery(
        &self,
        since: Millis,
        kinds: &[ChannelKind],
        limit: u32,
    ) -> Result<Vec<MessageId>> {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        Ok(self
            .conn()?
            .query(
                "SELECT id FROM messages
                 WHERE status IN ('pending', 'wired', 'sent', 'delivered') AND moved_at >= $1
                   AND channel = ANY($3)
                 ORDER BY moved_at LIMIT $2",
                &[&since, &i64::from(limit), &kinds],
            )?
            .iter()
            .map(|r| MessageId(r.get(0)))
            .collect())
    }

    fn channel_settings(&self, id: Uuid) -> Result<Option<serde_json::Value>> {
        self.conn()?
            .opt("SELECT data FROM channels WHERE id = $1", &[&id])?
            .map(|r| serde_json::from_str(r.get(0)).map_err(StorageError::from))
            .transpose()
    }

    fn set_channel_settings(&self, id: Uuid, settings: &serde_json::Value) -> Result<()> {
        self.conn()?.exec(
            "UPDATE channels SET data = $2 WHERE id = $1",
            &[&id, &settings.to_string()],
        )?;
        Ok(())
    }

    fn get(&self, r: EntityRef) -> Result<Option<Entity>> {
        get_entity(&*self.conn()?, r)
    }

    fn messages(&self, ids: &[MessageId]) -> Result<Vec<outpost_protocol::Message>> {
        let ids: Vec<Uuid> = ids.iter().map(|m| m.0).collect();
        self.conn()?
            .query("SELECT data FROM messages WHERE id = ANY($1)", &[&ids])?
            .iter()
            .map(
                |r| match decode_entity("message", &r.get::<_, String>(0))? {
                    Entity::Message(m) => Ok(m),
                    _ => Err(StorageError::Invalid("not a message".into())),
                },
            )
            .collect()
    }

    fn put_attachment(
        &self,
        id: Uuid,
        uploader: Uploader,
        mime: &str,
        bytes: &[u8],
        now: Millis,
    ) -> Result<Uploaded> {
        let (who, by_channel) = match uploader {
            Uploader::Agent(a) => (a.0, false),
            Uploader::Channel(c) => (c, true),
        };
        let c = self.conn()?;
        // One statement: of two processes storing the same id at once, one stores it.
        let stored = c.exec(
            "INSERT INTO attachments (id, uploader, by_channel, mime, size, bytes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            &[
                &id,
                &who,
                &by_channel,
                &mime,
                &(bytes.len() as i64),
                &bytes,
                &now,
            ],
        )?;
        if stored == 1 {
            return Ok(Uploaded::Stored);
        }
        let same = upload_of(&c, id)?.is_some_and(|up| {
            up.uploader == uploader && up.size == bytes.len() as u64 && up.mime == mime
        });
        Ok(if same {
            Uploaded::AlreadyThere
        } else {
            Uploaded::Taken
        })
    }

    fn attachment(&self, id: Uuid) -> Result<Option<(Upload, Vec<u8>)>> {
        Ok(self
            .conn()?
            .opt(
                "SELECT uploader, mime, size, message, conversation, by_channel, bytes FROM attachments WHERE id = $1",
                &[&id],
            )?
            .map(|r| (upload_row(&r), r.get(6))))
    }

    fn uploaded_since(&self, agent: AgentId, since: Millis) -> Result<u64> {
        let total: i64 = self
            .conn()?
            .one(
                "SELECT coalesce(sum(size), 0)::bigint FROM attachments
                 WHERE uploader = $1 AND NOT by_channel AND created_at >= $2",
                &[&agent.0, &since],
            )?
            .get(0);
        Ok(total.max(0) as u64)
    }

    fn sweep_unclaimed(&self, before: Millis) -> Result<usize> {
        Ok(self.conn()?.exec(
            "DELETE FROM attachments WHERE message IS NULL AND created_at < $1",
            &[&before],
        )? as usize)
    }

    fn pending_deliveries(&self, kinds: &[ChannelKind], limit: u32) -> Result<Vec<super::Pending>> {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        Ok(self
            .conn()?
            .query(
                "SELECT m.id, m.conversation, d.next_at, d.sending FROM messages m
                 LEFT JOIN deliveries d ON d.message = m.id
                 WHERE m.status = 'pending' AND m.channel = ANY($2)
                 ORDER BY m.moved_at LIMIT $1",
                &[&i64::from(limit), &kinds],
            )?
            .iter()
            .map(|r| super::Pending {
                message: MessageId(r.get(0)),
                conversation: ConversationId(r.get(1)),
                next_at: r.get(2),
                sending: r.get::<_, Option<bool>>(3).unwrap_or(false),
            })
            .collect())
    }

    fn claim_delivery(
        &self,
        message: MessageId,
        channel: Uuid,
        now: Millis,
        process: Uuid,
    ) -> Result<Option<(u32, u32)>> {
        // One statement: the message is still queued, and no request for it is out (of two
        // processes claiming it at once, one gets it).
        Ok(self
            .conn()?
            .opt(
                "INSERT INTO deliveries (message, channel, attempts, sending, first_at, next_at, owner)
                 SELECT id, $2, 1, true, $3, $3, $4 FROM messages WHERE id = $1 AND status = 'pending'
                 ON CONFLICT (message) DO UPDATE
                   SET attempts = deliveries.attempts + 1, sending = true, channel = excluded.channel,
                       owner = excluded.owner
                   WHERE NOT deliveries.sending
                 RETURNING attempts, parts",
                &[&message.0, &channel, &now, &process],
            )?
            .map(|r| (r.get::<_, i64>(0) as u32, r.get::<_, i64>(1) as u32)))
    }

    fn messages_of(&self, conversation: ConversationId) -> Result<Vec<MessageId>> {
        messages_of(&*self.conn()?, conversation)
    }

    fn provider_id_of(&self, message: MessageId) -> Result<Option<(Uuid, String)>> {
        Ok(self
            .conn()?
            .opt(
                "SELECT channel, provider_id FROM provider_messages WHERE message = $1 ORDER BY n LIMIT 1",
                &[&message.0],
            )?
            .map(|r| (r.get(0), r.get(1))))
    }

    fn retry_delivery(&self, message: MessageId, next_at: Millis, error: &str) -> Result<()> {
        self.conn()?.exec(
            "UPDATE deliveries SET sending = false, next_at = $2, last_error = $3 WHERE message = $1",
            &[&message.0, &next_at, &error],
        )?;
        Ok(())
    }

    fn deliveries_sending(&self, process: Uuid, starting: bool) -> Result<Vec<(MessageId, Uuid)>> {
        // Gone: not heard from (PostgreSQL's clock, the same for every process) for a while.
        Ok(self
            .conn()?
            .query(
                "SELECT d.message, d.channel FROM deliveries d
                 WHERE d.sending AND (
                    ($3 AND d.owner = $1)
                    OR (d.owner IS DISTINCT FROM $1
                        AND NOT EXISTS (SELECT 1 FROM processes p WHERE p.id = d.owner
                                        AND p.seen_at > clock_timestamp() - make_interval(secs => $2))))",
                &[&process, &f64::from(super::PROCESS_GONE_AFTER_SECS), &starting],
            )?
            .iter()
            .map(|r| (MessageId(r.get(0)), r.get(1)))
            .collect())
    }

    fn heartbeat(&self, process: Uuid, online: &[AgentId]) -> Result<()> {
        let online: Vec<Uuid> = online.iter().map(|a| a.0).collect();
        self.conn()?.exec(
            "INSERT INTO processes (id, started_at, seen_at, online) VALUES ($1, clock_timestamp(), clock_timestamp(), $2)
             ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at, online = excluded.online",
            &[&process, &online],
        )?;
        Ok(())
    }

    fn online_elsewhere(&self, process: Uuid) -> Result<Vec<AgentId>> {
        Ok(self
            .conn()?
            .query(
                "SELECT DISTINCT unnest(online) FROM processes
                 WHERE id <> $1 AND seen_at > clock_timestamp() - make_interval(secs => $2)",
                &[&process, &f64::from(super::PROCESS_GONE_AFTER_SECS)],
            )?
            .iter()
            .map(|r| AgentId(r.get(0)))
            .collect())
    }

    fn live_processes(&self) -> Result<Option<Vec<Uuid>>> {
        Ok(Some(
            self.conn()?
                .query(
                    "SELECT id FROM processes WHERE seen_at > clock_timestamp() - make_interval(secs => $1)",
                    &[&f64::from(super::PROCESS_GONE_AFTER_SECS)],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect(),
        ))
    }

    fn delivery_began(&self, message: MessageId) -> Result<Option<Millis>> {
        Ok(self
            .conn()?
            .opt(
                "SELECT first_at FROM deliveries WHERE message = $1",
                &[&message.0],
            )?
            .map(|r| r.get(0)))
    }

    fn sweep_early_statuses(&self, before: Millis) -> Result<usize> {
        Ok(self.conn()?.exec(
            "DELETE FROM early_statuses WHERE received_at < $1",
            &[&before],
        )? as usize)
    }

    fn channel_cursor(&self, channel: Uuid, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .opt(
                "SELECT value FROM channel_cursors WHERE channel = $1 AND name = $2",
                &[&channel, &name],
            )?
            .map(|r| r.get(0)))
    }

    fn take_budget(
        &self,
        key: &str,
        rate: f64,
        burst: f64,
        n: f64,
    ) -> Result<Option<Result<(), Duration>>> {
        // One statement: the bucket's row is locked while it is judged (two processes' requests
        // at once take in turn), refilled by PostgreSQL's clock (the same for every process),
        // and taken from only if it holds enough. Nothing comes back when it does not.
        let need = n.min(burst);
        let c = self.conn()?;
        let taken = c.opt(
            "INSERT INTO budgets AS b (key, tokens, at) VALUES ($1, $2::float8 - $4::float8, clock_timestamp())
             ON CONFLICT (key) DO UPDATE
               SET tokens = LEAST($2, b.tokens + GREATEST(EXTRACT(EPOCH FROM clock_timestamp() - b.at)::float8, 0) * $3) - $4,
                   at = clock_timestamp()
             WHERE LEAST($2, b.tokens + GREATEST(EXTRACT(EPOCH FROM clock_timestamp() - b.at)::float8, 0) * $3) >= $4
             RETURNING tokens",
            &[&key, &burst, &rate, &need],
        )?;
        if taken.is_some() {
            return Ok(Some(Ok(())));
        }
        let tokens: f64 = c
            .opt(
                "SELECT LEAST($2, tokens + GREATEST(EXTRACT(EPOCH FROM clock_timestamp() - at)::float8, 0) * $3)
                 FROM budgets WHERE key = $1",
                &[&key, &burst, &rate],
            )?
            .map_or(0.0, |r| r.get(0));
        let short = (need - tokens).max(0.0);
        Ok(Some(Err(
            Duration::try_from_secs_f64(short / rate).unwrap_or(Duration::from_secs(3_600))
        )))
    }

    fn begin_sign_in(&self, attempt: &super::SignIn<'_>) -> Result<Option<Result<bool, Millis>>> {
        let c = self.conn()?;
        let answer = c.transaction("BEGIN", |c| {
            // Each key's count is judged and added to under a lock of the key (taken in one
            // order, so two attempts at once never wait for each other in a circle).
            let mut all: Vec<&str> = attempt.keys.iter().map(|(k, _)| k.as_str()).collect();
            all.push(&attempt.email_key.0);
            all.sort_unstable();
            c.exec(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 7)) FROM unnest($1::text[]) WITH ORDINALITY AS u(k, i) ORDER BY i",
                &[&all],
            )?;
            let known = c
                .opt(
                    "SELECT at FROM login_known WHERE pair = $1",
                    &[&attempt.pair],
                )?
                .is_some_and(|r| attempt.now - r.get::<_, i64>(0) < attempt.known_for);
            let mut keys: Vec<&(String, usize)> = attempt.keys.iter().collect();
            if !known {
                keys.push(attempt.email_key);
            }
            let names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
            let since = attempt.now - attempt.window;
            c.exec(
                "DELETE FROM login_attempts WHERE key = ANY($1) AND at <= $2",
                &[&names, &since],
            )?;
            let counts = c.query(
                "SELECT key, count(*), min(at) FROM login_attempts WHERE key = ANY($1) GROUP BY key",
                &[&names],
            )?;
            let mut wait: Option<Millis> = None;
            for row in &counts {
                let (key, n, first): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
                let limit = keys
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or(usize::MAX, |(_, l)| *l);
                if n as usize >= limit {
                    let until = first + attempt.window - attempt.now;
                    wait = Some(wait.map_or(until, |w| w.max(until)));
                }
            }
            if let Some(wait) = wait {
                return Ok::<_, StorageError>(Err(wait.max(1)));
            }
            c.exec(
                "INSERT INTO login_attempts (key, at) SELECT k, $2 FROM unnest($1::text[]) AS k",
                &[&names, &attempt.now],
            )?;
            Ok(Ok(known))
        })?;
        Ok(Some(answer))
    }

    fn sign_in_succeeded(&self, pair: &str, keys: &[String], at: Millis) -> Result<()> {
        let c = self.conn()?;
        c.transaction("BEGIN", |c| {
            // One attempt of each key taken back (another at the same millisecond stays).
            c.exec(
                "DELETE FROM login_attempts a USING (
                    SELECT DISTINCT ON (key) ctid FROM login_attempts WHERE key = ANY($1) AND at = $2
                 ) d WHERE a.ctid = d.ctid",
                &[&keys, &at],
            )?;
            c.exec(
                "INSERT INTO login_known (pair, at) VALUES ($1, $2)
                 ON CONFLICT (pair) DO UPDATE SET at = GREATEST(login_known.at, excluded.at)",
                &[&pair, &at],
            )?;
            Ok(())
        })
    }

    fn sweep_sign_ins(&self, attempts_before: Millis, known_before: Millis) -> Result<usize> {
        let c = self.conn()?;
        let n = c.exec(
            "DELETE FROM login_attempts WHERE at < $1",
            &[&attempts_before],
        )? + c.exec("DELETE FROM login_known WHERE at < $1", &[&known_before])?;
        Ok(n as usize)
    }

    fn publish(&self, note: &str) {
        let outgoing = self.outgoing.lock().unwrap_or_else(|p| p.into_inner());
        match outgoing.as_ref() {
            Some(to) if to.send(note.to_owned()).is_ok() => {}
            _ => tracing::debug!("no listener: a note for the other processes is dropped"),
        }
    }

    fn set_channel_cursor(&self, channel: Uuid, name: &str, value: &str) -> Result<()> {
        self.conn()?.exec(
            "INSERT INTO channel_cursors (channel, name, value) VALUES ($1, $2, $3)
             ON CONFLICT (channel, name) DO UPDATE SET value = excluded.value",
            &[&channel, &name, &value],
        )?;
        Ok(())
    }
}

/// How a column is read from SQLite and written to PostgreSQL.
#[derive(Clone, Copy)]
enum Col {
    Uuid,
    OptUuid,
    Text,
    Int,
    /// A small integer (a conversation's state).
    Small,
    OptInt,
    Bool,
    Bytes,
}

/// A table copied by `outpost-server migrate`: what is read from SQLite (in its order), and the
/// columns of PostgreSQL's table it goes to.
struct TableCopy {
    table: &'static str,
    select: &'static str,
    columns: &'static [(&'static str, Col)],
}

const COPIES: &[TableCopy] = {
    use Col::*;
    &[
        TableCopy {
            table: "agents",
            select: "SELECT id, email, password_hash, disabled, data FROM agents",
            columns: &[("id", Uuid), ("email", Text), ("password_hash", Text), ("disabled", Bool), ("data", Text)],
        },
        TableCopy { table: "teams", select: "SELECT id, data FROM teams", columns: &[("id", Uuid), ("data", Text)] },
        TableCopy {
            table: "sessions",
            select: "SELECT token_hash, agent, created_at, expires_at FROM sessions",
            columns: &[("token_hash", Bytes), ("agent", Uuid), ("created_at", Int), ("expires_at", Int)],
        },
        TableCopy { table: "contacts", select: "SELECT id, data FROM contacts", columns: &[("id", Uuid), ("data", Text)] },
        TableCopy {
            table: "identities",
            select: "SELECT channel, address, contact FROM identities",
            columns: &[("channel", Text), ("address", Text), ("contact", Uuid)],
        },
        TableCopy {
            table: "conversations",
            select: "SELECT id, contact, assignee, team, state, snoozed_until, data FROM conversations",
            columns: &[
                ("id", Uuid), ("contact", Uuid), ("assignee", OptUuid), ("team", OptUuid),
                ("state", Small), ("snoozed_until", OptInt), ("data", Text),
            ],
        },
        TableCopy {
            table: "messages",
            select: "SELECT id, conversation, status, json_extract(data, '$.channel'), json_extract(data, '$.created_at'),
                            send_at, moved_at, data FROM messages ORDER BY rowid",
            columns: &[
                ("id", Uuid), ("conversation", Uuid), ("status", Text), ("channel", Text), ("created_at", Int),
                ("send_at", OptInt), ("moved_at", Int), ("data", Text),
            ],
        },
        TableCopy {
            table: "events",
            select: "SELECT id, conversation, data FROM events ORDER BY rowid",
            columns: &[("id", Uuid), ("conversation", Uuid), ("data", Text)],
        },
        TableCopy {
            table: "calls",
            select: "SELECT id, conversation, data FROM calls ORDER BY rowid",
            columns: &[("id", Uuid), ("conversation", Uuid), ("data", Text)],
        },
        TableCopy { table: "views", select: "SELECT id, owner, data FROM views", columns: &[("id", Uuid), ("owner", Uuid), ("data", Text)] },
        TableCopy { table: "settings", select: "SELECT id, data FROM settings", columns: &[("id", Uuid), ("data", Text)] },
        TableCopy { table: "channel_entities", select: "SELECT id, data FROM channel_entities", columns: &[("id", Uuid), ("data", Text)] },
        TableCopy {
            table: "feed",
            select: "SELECT seq, kind, entity, conversation, contact, deleted FROM feed ORDER BY seq",
            columns: &[
                ("seq", Int), ("kind", Text), ("entity", Uuid), ("conversation", OptUuid), ("contact", OptUuid),
                ("deleted", Bool),
            ],
        },
        TableCopy {
            table: "revocations",
            select: "SELECT agent, seq, entity FROM revocations",
            columns: &[("agent", Uuid), ("seq", Int), ("entity", Text)],
        },
        TableCopy {
            table: "op_results",
            select: "SELECT agent, op_id, result, at FROM op_results",
            columns: &[("agent", Uuid), ("op_id", Uuid), ("result", Text), ("at", Int)],
        },
        TableCopy {
            table: "channels",
            select: "SELECT id, kind, secret_hash, data FROM channels",
            columns: &[("id", Uuid), ("kind", Text), ("secret_hash", Bytes), ("data", Text)],
        },
        TableCopy { table: "flows", select: "SELECT name, data FROM flows", columns: &[("name", Text), ("data", Text)] },
        TableCopy {
            table: "flow_runs",
            select: "SELECT contact, flow, step FROM flow_runs",
            columns: &[("contact", Uuid), ("flow", Text), ("step", Int)],
        },
        TableCopy {
            table: "attachments",
            select: "SELECT id, uploader, by_channel, mime, size, bytes, message, conversation, created_at FROM attachments",
            columns: &[
                ("id", Uuid), ("uploader", Uuid), ("by_channel", Bool), ("mime", Text), ("size", Int), ("bytes", Bytes),
                ("message", OptUuid), ("conversation", OptUuid), ("created_at", Int),
            ],
        },
        TableCopy {
            table: "invites",
            select: "SELECT token_hash, agent, expires_at FROM invites",
            columns: &[("token_hash", Bytes), ("agent", Uuid), ("expires_at", Int)],
        },
        TableCopy {
            table: "widget_visitors",
            select: "SELECT id, channel, token_hash, name, email, created_at FROM widget_visitors",
            columns: &[
                ("id", Uuid), ("channel", Uuid), ("token_hash", Bytes), ("name", Text), ("email", Text),
                ("created_at", Int),
            ],
        },
        TableCopy {
            table: "provider_messages",
            select: "SELECT channel, provider_id, message FROM provider_messages ORDER BY rowid",
            columns: &[("channel", Uuid), ("provider_id", Text), ("message", Uuid)],
        },
        TableCopy {
            table: "early_statuses",
            select: "SELECT channel, provider_id, status, received_at FROM early_statuses ORDER BY rowid",
            columns: &[("channel", Uuid), ("provider_id", Text), ("status", Text), ("received_at", Int)],
        },
        TableCopy {
            table: "deliveries",
            select: "SELECT message, owner, channel, attempts, sending, first_at, next_at, parts, last_error FROM deliveries",
            columns: &[
                ("message", Uuid), ("owner", OptUuid), ("channel", Uuid), ("attempts", Int), ("sending", Bool),
                ("first_at", Int), ("next_at", Int), ("parts", Int), ("last_error", Text),
            ],
        },
        TableCopy {
            table: "channel_cursors",
            select: "SELECT channel, name, value FROM channel_cursors",
            columns: &[("channel", Uuid), ("name", Text), ("value", Text)],
        },
    ]
};

/// One SQLite value, as PostgreSQL takes it.
fn value_of(
    row: &rusqlite::Row<'_>,
    i: usize,
    col: Col,
) -> rusqlite::Result<Box<dyn ToSql + Sync + Send>> {
    Ok(match col {
        Col::Uuid => Box::new(row.get::<_, Uuid>(i)?),
        Col::OptUuid => Box::new(row.get::<_, Option<Uuid>>(i)?),
        Col::Text => Box::new(row.get::<_, String>(i)?),
        Col::Int => Box::new(row.get::<_, i64>(i)?),
        Col::Small => Box::new(row.get::<_, i16>(i)?),
        Col::OptInt => Box::new(row.get::<_, Option<i64>>(i)?),
        Col::Bool => Box::new(row.get::<_, bool>(i)?),
        Col::Bytes => Box::new(row.get::<_, Vec<u8>>(i)?),
    })
}

impl Postgres {
    /// Copies the workspace of a SQLite store (its server stopped) into this one, which must be
    /// empty: every table, in one transaction, in batches of pipelined inserts; then checks that
    /// every table holds as many rows as the source's. Returns each table's rows.
    pub fn copy_from(&self, from: &super::sqlite::Sqlite) -> Result<Vec<(&'static str, u64)>> {
        if !self.is_empty()? {
            return Err(StorageError::Invalid(
                "the PostgreSQL workspace is not empty: migrate into a new database or schema"
                    .into(),
            ));
        }
        const BATCH: usize = 2_000;
        let conn = self.conn()?;
        let copied = from.read_all(|src| {
            conn.transaction("BEGIN", |dst| {
                let mut copied = Vec::new();
                for copy in COPIES {
                    let names: Vec<&str> = copy.columns.iter().map(|(n, _)| *n).collect();
                    let marks: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
                    let insert = format!(
                        "INSERT INTO {} ({}) VALUES ({})",
                        copy.table,
                        names.join(", "),
                        marks.join(", ")
                    );
                    let mut statement = src.prepare(copy.select)?;
                    let mut rows = statement.query([])?;
                    let mut batch = Vec::with_capacity(BATCH);
                    let mut n = 0;
                    while let Some(row) = rows.next()? {
                        let values = copy
                            .columns
                            .iter()
                            .enumerate()
                            .map(|(i, (_, col))| value_of(row, i, *col))
                            .collect::<rusqlite::Result<Vec<_>>>()?;
                        batch.push(values);
                        if batch.len() == BATCH {
                            n += dst.exec_many(&insert, &batch)?;
                            batch.clear();
                        }
                    }
                    n += dst.exec_many(&insert, &batch)?;
                    copied.push((copy.table, n));
                }
                let seq: Option<String> = src
                    .query_row("SELECT value FROM meta WHERE key = 'seq'", [], |r| r.get(0))
                    .optional()?;
                let seq: i64 = seq.and_then(|s| s.parse().ok()).unwrap_or(0);
                dst.exec("UPDATE head SET seq = $1 WHERE id = 1", &[&seq])?;
                Ok::<_, StorageError>(copied)
            })
        })?;
        // Every table as many rows as the source's, read again from both.
        let c = self.conn()?;
        for copy in COPIES {
            let there: i64 = c
                .one(&format!("SELECT count(*) FROM {}", copy.table), &[])?
                .get(0);
            let here: i64 = from.read_all(|src| {
                Ok(
                    src.query_row(&format!("SELECT count(*) FROM {}", copy.table), [], |r| {
                        r.get(0)
                    })?,
                )
            })?;
            if there != here {
                return Err(StorageError::Invalid(format!(
                    "{}: {here} rows in SQLite, {there} copied",
                    copy.table
                )));
            }
        }
        Ok(copied)
    }
}

#[cfg(test)]
mod tests {
    use super::multi_row;

    #[test]
    fn a_one_row_insert_becomes_a_multi_row_one_its_parameters_numbered_on() {
        let sql = "INSERT INTO agents (id, email, password_hash, data) VALUES ($1, $2, '', $3)
                   ON CONFLICT (id) DO UPDATE SET email = excluded.email, data = excluded.data";
        let three = multi_row(sql, 3).unwrap();
        assert!(three.contains("VALUES ($1, $2, '', $3), ($4, $5, '', $6), ($7, $8, '', $9)\n"));
        assert!(three.ends_with("data = excluded.data"));
        // Two-digit numbers and functions inside the row.
        let sql = "INSERT INTO t (a, b) VALUES (lower($1), $2) ON CONFLICT (a) DO NOTHING";
        assert_eq!(
            multi_row(&sql.replace("$2", "$10"), 2).unwrap(),
            "INSERT INTO t (a, b) VALUES (lower($1), $10), (lower($11), $20) ON CONFLICT (a) DO NOTHING"
        );
        assert_eq!(multi_row("DELETE FROM t WHERE a = $1", 2), None);
    }
}
