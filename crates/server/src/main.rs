//! `outpost-server serve|demo --listen ADDR --data-dir DIR [--tls-cert FILE --tls-key FILE]`

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "outpost-server",
    about = "The Outpost server: conversations, channels and sync for the desktop clients."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Common {
    /// Address to listen on.
    #[arg(long, env = "OUTPOST_LISTEN", default_value = "127.0.0.1:8750")]
    listen: SocketAddr,
    /// Where the server keeps its database.
    #[arg(long, env = "OUTPOST_DATA_DIR", default_value = "outpost-data")]
    data_dir: PathBuf,
    /// Addresses of reverse proxies whose X-Forwarded-For names the client (comma-separated).
    /// From anyone else the header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "OUTPOST_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve TLS with this certificate chain (PEM); read again when it changes.
    #[arg(long, env = "OUTPOST_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "OUTPOST_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl Common {
    fn options(&self) -> outpost_server::Options {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(outpost_server::tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        };
        outpost_server::Options {
            trusted_proxies: self.trusted_proxies.clone(),
            tls,
            ..Default::default()
        }
    }
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
    /// Serve a demo workspace (seeded on first run) with customers writing every few seconds.
    Demo {
        #[command(flatten)]
        common: Common,
        /// Seconds between two simulated customer messages (0: none).
        #[arg(long, default_value_t = 8)]
        every: u64,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            common,
            owner_email,
        } => serve(common, owner_email).await,
        Command::Demo { common, every } => demo(common, every).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("outpost-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(common: Common, owner_email: Option<String>) -> Result<(), String> {
    let running = outpost_server::start_with(
        &common.data_dir,
        common.listen,
        outpost_server::system_clock(),
        common.options(),
    )
    .await?;
    if let Some(email) = owner_email {
        let password = std::env::var("OUTPOST_OWNER_PASSWORD")
            .map_err(|_| "set OUTPOST_OWNER_PASSWORD to create the owner".to_owned())?;
        let storage = running.app.storage.clone();
        let exists = {
            use outpost_server::storage::Storage;
            storage
                .credentials(&email)
                .map_err(|e| e.to_string())?
                .is_some()
        };
        if !exists {
            outpost_server::add_agent(
                &*storage,
                "Owner",
                &email,
                &password,
                outpost_protocol::Role::Owner,
                outpost_protocol::Visibility::Unrestricted,
                vec![],
            )?;
            tracing::info!(%email, "created the owner");
        }
    }
    println!("outpost-server listening on http://{}", running.addr);
    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    running.stop().await;
    Ok(())
}

async fn demo(common: Common, every: u64) -> Result<(), String> {
    let running = outpost_server::start_with(
        &common.data_dir,
        common.listen,
        outpost_server::system_clock(),
        common.options(),
    )
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
    let channels = {
        use outpost_server::storage::Storage;
        app.storage.channels().map_err(|e| e.to_string())?
    };
    println!(
        "Customers write through the webhooks (header x-outpost-channel-secret: {}):",
        outpost_server::demo::DEMO_CHANNEL_SECRET
    );
    for (id, kind) in channels {
        println!(
            "  {:<10} POST http://{}/v1/channels/{id}/inbound",
            kind.as_str(),
            running.addr
        );
    }
    if every > 0 {
        tokio::spawn(outpost_server::demo::simulate(
            app,
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
