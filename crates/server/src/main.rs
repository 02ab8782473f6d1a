//! `outpost-server`: serve a workspace, or set one up and look after it from the command line.
//!
//! ```text
//! outpost-server [--config FILE] serve|demo [--listen ADDR] [--data-dir DIR] [--tls-cert FILE --tls-key FILE] …
//! outpost-server channel add --kind web_chat --name "Site" --setting allowed_origins=https://shop.example
//! outpost-server channel list | disable ID | secret ID
//! outpost-server agent add --name Ana --email ana@shop.example [--role agent] [--visibility team] [--team ID] [--invite]
//! outpost-server team add --name Suporte
//! outpost-server backup --to FILE | restore --from FILE
//! ```
//!
//! `--database postgres://…` (or `database` in the file, or `OUTPOST_DATABASE`) keeps the
//! workspace in PostgreSQL, which several server processes may share; without it, SQLite in the
//! data directory.
//!
//! Settings come from flags, then the environment (`OUTPOST_…`), then the configuration file
//! (`--config`, or /etc/outpost/outpost-server.toml when it exists; see `config.rs`), then the
//! defaults. The set-up commands write the data directory directly, as the admin API would;
//! run them before `serve`, or while it runs (clients see the change at their next sync).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use outpost_protocol::{ChannelKind, Role, Visibility};
use outpost_server::config::{Config, LogFormat};
use outpost_server::storage::Storage;
use outpost_server::storage::sqlite::Sqlite;
use outpost_server::storage::store::Store;

#[derive(Parser)]
#[command(
    name = "outpost-server",
    version,
    about = "The Outpost server: conversations, channels and sync for the desktop clients."
)]
struct Cli {
    /// The configuration file (TOML). Default: /etc/outpost/outpost-server.toml, if it exists.
    #[arg(long, env = "OUTPOST_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Where the server keeps its database.
    #[arg(long, env = "OUTPOST_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Keep the workspace in this PostgreSQL database (postgres://user:password@host/db), which
    /// several server processes may share. Default: SQLite in the data directory.
    #[arg(long, env = "OUTPOST_DATABASE", global = true)]
    database: Option<String>,
    /// Logs as lines a person reads (human) or one JSON object a line (json).
    #[arg(long, env = "OUTPOST_LOG_FORMAT", global = true)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Common {
    /// Address to listen on (default 127.0.0.1:8750).
    #[arg(long, env = "OUTPOST_LISTEN")]
    listen: Option<SocketAddr>,
    /// Where clients reach this server (https://outpost.example.com), for the addresses it
    /// gives out: invitations, webhooks, the widget's tag. Default: the request's own host.
    #[arg(long, env = "OUTPOST_PUBLIC_URL")]
    public_url: Option<String>,
    /// Addresses of reverse proxies whose X-Forwarded-For names the client (comma-separated).
    /// From anyone else the header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "OUTPOST_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve TLS with this certificate chain (PEM); read again when it changes.
    #[arg(long, env = "OUTPOST_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "OUTPOST_TLS_KEY")]
    tls_key: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the workspace in DATA_DIR. With --owner-email (and OUTPOST_OWNER_PASSWORD in the
    /// environment) on a server that has no agent yet, creates its owner first.
    Serve {
        #[command(flatten)]
        common: Common,
        #[arg(long, env = "OUTPOST_OWNER_EMAIL")]
        owner_email: Option<String>,
    },
    /// Serve a demo workspace (seeded on first run, its channels test channels) with customers
    /// writing every few seconds.
    Demo {
        #[command(flatten)]
        common: Common,
        /// Seconds between two simulated customer messages (0: none).
        #[arg(long, default_value_t = 8)]
        every: u64,
    },
    /// The workspace's channels.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// The workspace's agents.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// The workspace's teams.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Copies the database to FILE while the server may be serving (a consistent moment).
    Backup {
        #[arg(long)]
        to: PathBuf,
    },
    /// Puts a backup in place of the database (the server must be stopped); the database it
    /// replaces is kept beside it.
    Restore {
        #[arg(long)]
        from: PathBuf,
    },
    /// Copies a workspace from SQLite (`sqlite:DATA_DIR`, its server stopped) into an empty
    /// PostgreSQL database (`postgres://…`), then verifies it: every table's rows, and the
    /// whole feed as each agent reads it, the same from both.
    Migrate {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum ChannelCommand {
    /// Adds a channel; prints its id, its secret (once) and where its provider sends to.
    Add {
        #[arg(long, value_parser = parse_kind)]
        kind: ChannelKind,
        #[arg(long)]
        name: String,
        /// A test channel: its provider is simulated (never for real customers).
        #[arg(long)]
        test: bool,
        /// A setting or credential, NAME=VALUE (repeat; allowed_origins takes a comma list).
        #[arg(long = "setting", value_parser = parse_setting)]
        settings: Vec<(String, String)>,
    },
    /// Lists the channels (never their credentials).
    List,
    /// Disables a channel: nothing is received or sent through it.
    Disable { id: uuid::Uuid },
    /// Enables a disabled channel.
    Enable { id: uuid::Uuid },
    /// Makes a new secret for the channel's webhooks (the old one stops working); prints it.
    Secret { id: uuid::Uuid },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Adds an agent. The first password comes from OUTPOST_AGENT_PASSWORD, or with --invite a
    /// one-time link is printed for them to choose one.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role, default_value = "agent")]
        role: Role,
        #[arg(long, value_parser = parse_visibility, default_value = "unrestricted")]
        visibility: Visibility,
        /// A team the agent belongs to (repeat).
        #[arg(long = "team")]
        teams: Vec<uuid::Uuid>,
        /// Print an invitation link instead of setting a password.
        #[arg(long)]
        invite: bool,
        /// Where clients reach the server, for the invitation link.
        #[arg(long, env = "OUTPOST_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Lists the agents.
    List,
    /// Disables an agent: they cannot sign in, and their sessions end.
    Disable { id: uuid::Uuid },
}

#[derive(Subcommand)]
enum TeamCommand {
    /// Adds a team; prints its id.
    Add {
        #[arg(long)]
        name: String,
    },
}

fn parse_kind(s: &str) -> Result<ChannelKind, String> {
    ChannelKind::parse(s).ok_or_else(|| {
        let kinds: Vec<&str> = ChannelKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("one of {}", kinds.join(", "))
    })
}

fn parse_setting(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| "write NAME=VALUE".to_owned())
}

fn parse_role(s: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| "admin or agent".to_owned())
}

fn parse_visibility(s: &str) -> Result<Visibility, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| "unrestricted, team or own_only".to_owned())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("outpost-server: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let format = cli.log_format.or(config.log_format).unwrap_or_default();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    match format {
        // Logs go to stderr: stdout carries what a command prints (ids, secrets, the address).
        LogFormat::Human => tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init(),
    }
    let data_dir = cli
        .data_dir
        .clone()
        .or_else(|| config.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("outpost-data"));
    let database = cli.database.clone().or_else(|| config.database.clone());
    let result = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(run(cli.command, config, data_dir, database)),
        Err(e) => Err(format!("no async runtime: {e}")),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("outpost-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(
    command: Command,
    config: Config,
    data_dir: PathBuf,
    database: Option<String>,
) -> Result<(), String> {
    let db = database.as_deref();
    match command {
        Command::Serve {
            common,
            owner_email,
        } => {
            let owner = owner_email.or_else(|| config.owner_email.clone());
            serve(options(common, &config, db)?, &data_dir, owner).await
        }
        Command::Demo { common, every } => {
            demo(options(common, &config, db)?, &data_dir, every).await
        }
        Command::Channel(c) => channel(c, &open(&data_dir, db)?),
        Command::Agent(c) => agent(c, &open(&data_dir, db)?, config.public_url.as_deref()),
        Command::Team(TeamCommand::Add { name }) => {
            let team = outpost_protocol::Team {
                id: outpost_protocol::TeamId::new(),
                name: name.trim().to_owned(),
                quick_replies: Vec::new(),
            };
            put(
                &open(&data_dir, db)?,
                outpost_protocol::Entity::Team(team.clone()),
            )?;
            println!("{}\t{}", team.id, team.name);
            Ok(())
        }
        Command::Backup { to } => {
            sqlite_only(db, "backup", "pg_dump")?;
            let bytes = Sqlite::backup(&data_dir, &to).map_err(|e| e.to_string())?;
            println!(
                "backed up {} to {} ({bytes} bytes)",
                data_dir.display(),
                to.display()
            );
            Ok(())
        }
        Command::Migrate { from, to } => migrate(&from, &to),
        Command::Restore { from } => {
            sqlite_only(db, "restore", "pg_restore")?;
            let _lock = outpost_server::lock_data_dir(&data_dir)?;
            let now = (outpost_server::system_clock())();
            let kept = Sqlite::restore(&data_dir, &from, now).map_err(|e| e.to_string())?;
            println!("restored {} into {}", from.display(), data_dir.display());
            if let Some(kept) = kept {
                println!("the database it replaced is kept as {}", kept.display());
            }
            Ok(())
        }
    }
}

/// The serving options: flags and environment first, then the configuration file.
/// `outpost-server migrate --from sqlite:DIR --to postgres://…`.
fn migrate(from: &str, to: &str) -> Result<(), String> {
    let dir = Path::new(from.strip_prefix("sqlite:").unwrap_or(from));
    if !dir.join("outpost-server.db").exists() {
        return Err(format!("there is no Outpost database in {}", dir.display()));
    }
    // The server must be stopped: what it wrote after the copy began would be left behind.
    let _lock = outpost_server::lock_data_dir(dir)?;
    let sqlite = Sqlite::open(dir).map_err(|e| e.to_string())?;
    let pg = outpost_server::storage::postgres::Postgres::open(to).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let copied = pg.copy_from(&sqlite).map_err(|e| e.to_string())?;
    for (table, rows) in &copied {
        println!("{table}\t{rows}");
    }
    // The feed as every agent reads it: the same pages, byte for byte, from both.
    let agents = sqlite
        .write(|tx| {
            use outpost_server::storage::Tx;
            tx.agents()
        })
        .map_err(|e| e.to_string())?;
    let mut changes = 0u64;
    for agent in &agents {
        let mut after = 0;
        loop {
            let here = sqlite
                .changes(agent, after, 1_000)
                .map_err(|e| e.to_string())?;
            let there = pg.changes(agent, after, 1_000).map_err(|e| e.to_string())?;
            if here.json != there.json {
                return Err(format!(
                    "the copy differs: {}'s feed after {after} is not the same in PostgreSQL",
                    agent.email
                ));
            }
            changes += here.json.matches(r#""seq":"#).count() as u64;
            after = here.cursor;
            if !here.has_more {
                break;
            }
        }
    }
    println!(
        "migrated {} to {} in {:.1} s: verified ({} agents' feeds, {changes} changes, the same)",
        dir.display(),
        outpost_server::storage::postgres::redacted(to),
        started.elapsed().as_secs_f64(),
        agents.len()
    );
    Ok(())
}

/// Backup and restore copy the SQLite file; a PostgreSQL database has its own tools.
fn sqlite_only(database: Option<&str>, command: &str, instead: &str) -> Result<(), String> {
    match database {
        Some(_) => Err(format!(
            "{command} copies the SQLite database of a data directory; this workspace is in PostgreSQL: use {instead}"
        )),
        None => Ok(()),
    }
}

fn options(
    common: Common,
    config: &Config,
    database: Option<&str>,
) -> Result<(SocketAddr, outpost_server::Options), String> {
    let listen = common
        .listen
        .or(config.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8750)));
    let tls = match (
        common.tls_cert.or_else(|| config.tls_cert.clone()),
        common.tls_key.or_else(|| config.tls_key.clone()),
    ) {
        (Some(cert), Some(key)) => Some(outpost_server::tls::TlsFiles { cert, key }),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    let trusted_proxies = if common.trusted_proxies.is_empty() {
        config.trusted_proxies.clone().unwrap_or_default()
    } else {
        common.trusted_proxies
    };
    Ok((
        listen,
        outpost_server::Options {
            trusted_proxies,
            tls,
            public_url: common.public_url.or_else(|| config.public_url.clone()),
            database: database.map(str::to_owned),
            ..Default::default()
        },
    ))
}

/// The workspace's store for a set-up command (which may run while the server serves: no lock).
fn open(data_dir: &Path, database: Option<&str>) -> Result<Store, String> {
    let storage = match database {
        Some(_) => outpost_server::open_store(data_dir, database)?.0,
        None => Store::Sqlite(Sqlite::open(data_dir).map_err(|e| e.to_string())?),
    };
    outpost_server::channels::adopt_legacy(&storage).map_err(|e| e.to_string())?;
    Ok(storage)
}

fn put(storage: &Store, entity: outpost_protocol::Entity) -> Result<(), String> {
    entity.validate().map_err(|e| e.to_string())?;
    storage
        .write(|tx| {
            use outpost_server::storage::Tx;
            tx.put(&entity)
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn channel(command: ChannelCommand, storage: &Store) -> Result<(), String> {
    match command {
        ChannelCommand::Add {
            kind,
            name,
            test,
            settings,
        } => {
            let mut map = serde_json::Map::new();
            for (k, v) in settings {
                let value = if k == "allowed_origins" {
                    serde_json::Value::Array(
                        v.split(',')
                            .map(|o| serde_json::Value::String(o.trim().to_owned()))
                            .collect(),
                    )
                } else {
                    serde_json::Value::String(v)
                };
                map.insert(k, value);
            }
            let settings = serde_json::Value::Object(map);
            outpost_server::channels::check_settings(kind, test, &settings)?;
            let (secret, _) = outpost_server::auth::new_token()?;
            let channel = outpost_server::add_channel(
                storage,
                outpost_server::NewChannel {
                    kind,
                    name,
                    test,
                    secret: secret.clone(),
                    settings,
                },
            )?;
            println!("id\t{}", channel.id);
            println!("secret\t{secret}\t(shown this once)");
            Ok(())
        }
        ChannelCommand::List => {
            for c in outpost_server::channels::all(storage).map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\t{}\t{}{}",
                    c.id,
                    c.kind.as_str(),
                    c.name,
                    if c.test { "test channel" } else { "live" },
                    if c.disabled { ", disabled" } else { "" }
                );
            }
            Ok(())
        }
        ChannelCommand::Disable { id } | ChannelCommand::Enable { id } => {
            let disabled = matches!(command, ChannelCommand::Disable { .. });
            let r = outpost_protocol::EntityRef::Channel(outpost_protocol::ChannelId(id));
            let Some(outpost_protocol::Entity::Channel(mut c)) =
                storage.get(r).map_err(|e| e.to_string())?
            else {
                return Err(format!("there is no channel {id}"));
            };
            c.disabled = disabled;
            put(storage, outpost_protocol::Entity::Channel(c))?;
            println!("{id}\t{}", if disabled { "disabled" } else { "enabled" });
            Ok(())
        }
        ChannelCommand::Secret { id } => {
            let (secret, hash) = outpost_server::auth::new_token()?;
            storage
                .set_channel_secret(id, &hash)
                .map_err(|e| e.to_string())?;
            println!("secret\t{secret}\t(shown this once; the old one no longer works)");
            Ok(())
        }
    }
}

fn agent(command: AgentCommand, storage: &Store, config_url: Option<&str>) -> Result<(), String> {
    match command {
        AgentCommand::Add {
            name,
            email,
            role,
            visibility,
            teams,
            invite,
            public_url,
        } => {
            let teams: Vec<outpost_protocol::TeamId> =
                teams.into_iter().map(outpost_protocol::TeamId).collect();
            for t in &teams {
                let known = storage
                    .get(outpost_protocol::EntityRef::Team(*t))
                    .map_err(|e| e.to_string())?;
                if known.is_none() {
                    return Err(format!("there is no team {t}"));
                }
            }
            if storage
                .credentials(&email)
                .map_err(|e| e.to_string())?
                .is_some()
            {
                return Err(format!("someone already signs in with {email}"));
            }
            if invite {
                let agent = outpost_server::add_invited_agent(
                    storage, &name, &email, role, visibility, teams,
                )?;
                let (token, hash) = outpost_server::auth::new_token()?;
                let now = (outpost_server::system_clock())();
                let expires = now + outpost_server::auth::INVITE_TTL;
                storage
                    .create_invite(&hash, agent.id, expires)
                    .map_err(|e| e.to_string())?;
                let base = public_url
                    .as_deref()
                    .or(config_url)
                    .ok_or("--invite needs --public-url (where clients reach the server)")?;
                println!("id\t{}", agent.id);
                println!("invite\t{}/invite/{token}", base.trim_end_matches('/'));
            } else {
                let password = std::env::var("OUTPOST_AGENT_PASSWORD").map_err(|_| {
                    "set OUTPOST_AGENT_PASSWORD to the first password, or use --invite".to_owned()
                })?;
                let agent = outpost_server::add_agent(
                    storage, &name, &email, &password, role, visibility, teams,
                )?;
                println!("id\t{}", agent.id);
            }
            Ok(())
        }
        AgentCommand::List => {
            let agents = storage
                .write(|tx| {
                    use outpost_server::storage::Tx;
                    tx.agents()
                })
                .map_err(|e| e.to_string())?;
            for a in agents {
                let disabled = storage.is_disabled(a.id).map_err(|e| e.to_string())?;
                println!(
                    "{}\t{}\t{}\t{:?}\t{:?}{}",
                    a.id,
                    a.name,
                    a.email,
                    a.role,
                    a.visibility,
                    if disabled { "\tdisabled" } else { "" }
                );
            }
            Ok(())
        }
        AgentCommand::Disable { id } => {
            let id = outpost_protocol::AgentId(id);
            match storage
                .get(outpost_protocol::EntityRef::Agent(id))
                .map_err(|e| e.to_string())?
            {
                Some(outpost_protocol::Entity::Agent(a)) if a.role == Role::Owner => {
                    Err("the owner cannot be disabled".into())
                }
                Some(_) => {
                    storage.set_disabled(id, true).map_err(|e| e.to_string())?;
                    println!("{id}\tdisabled");
                    Ok(())
                }
                None => Err(format!("there is no agent {id}")),
            }
        }
    }
}

async fn serve(
    (listen, options): (SocketAddr, outpost_server::Options),
    data_dir: &Path,
    owner_email: Option<String>,
) -> Result<(), String> {
    let running =
        outpost_server::start_with(data_dir, listen, outpost_server::system_clock(), options)
            .await?;
    if let Some(email) = owner_email {
        create_owner(&running.app.storage, &email)?;
    }
    println!("outpost-server listening on {}", running.addr);
    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    running.stop().await;
    Ok(())
}

fn create_owner(storage: &Arc<Store>, email: &str) -> Result<(), String> {
    let password = std::env::var("OUTPOST_OWNER_PASSWORD")
        .map_err(|_| "set OUTPOST_OWNER_PASSWORD to create the owner".to_owned())?;
    let exists = storage
        .credentials(email)
        .map_err(|e| e.to_string())?
        .is_some();
    if !exists {
        let made = outpost_server::add_agent(
            &**storage,
            "Owner",
            email,
            &password,
            Role::Owner,
            Visibility::Unrestricted,
            vec![],
        );
        match made {
            Ok(_) => tracing::info!(%email, "created the owner"),
            // Another process sharing the database made them at the same moment.
            Err(_) if storage.credentials(email).is_ok_and(|c| c.is_some()) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn demo(
    (listen, options): (SocketAddr, outpost_server::Options),
    data_dir: &Path,
    every: u64,
) -> Result<(), String> {
    let running =
        outpost_server::start_with(data_dir, listen, outpost_server::system_clock(), options)
            .await?;
    let app = running.app.clone();
    let now = app.now();
    let storage = app.storage.clone();
    let logins = tokio::task::spawn_blocking(move || outpost_server::demo::seed(&*storage, now))
        .await
        .map_err(|e| e.to_string())??;
    println!("outpost-server demo on http://{}", running.addr);
    println!(
        "Sign in with any of these (password: {}):",
        outpost_server::demo::DEMO_PASSWORD
    );
    for l in &logins {
        println!(
            "  {:<34} {:<22} {:?}, {:?}",
            l.email, l.name, l.role, l.visibility
        );
    }
    // Where a customer's message can be posted, as a provider would (tests and demos use it).
    let channels = outpost_server::channels::all(&*app.storage).map_err(|e| e.to_string())?;
    println!(
        "Customers write through the test channels' webhooks (header x-outpost-channel-secret: {}):",
        outpost_server::demo::DEMO_CHANNEL_SECRET
    );
    for c in channels {
        println!(
            "  {:<10} POST http://{}/v1/channels/{}/inbound",
            c.kind.as_str(),
            running.addr,
            c.id
        );
    }
    if every > 0 {
        tokio::spawn(outpost_server::demo::simulate(
            app,
            running.addr,
            std::time::Duration::from_secs(every),
        ));
    }
    shutdown_signal().await;
    running.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("no Ctrl+C handler ({e}); stop the server with SIGTERM");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
