//! `outpost-web`: serves the Outpost interface on loopback and prints its address.
//!
//! ```text
//! outpost-web [--listen 127.0.0.1:0] [--data-dir DIR] [--ui DIR] [--log-dir DIR]
//! ```
//!
//! It logs to stderr and to a file a day in the platform's log folder (`outpost-web.log.DATE`,
//! the last 7 kept); `RUST_LOG` sets what is logged (info by default; debug may name ids, never
//! a token, a password or a customer's text).

use std::sync::Arc;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Outpost in a browser: the client engine headless, the interface on loopback")]
struct Args {
    /// Where to listen (loopback only).
    #[arg(long, env = "OUTPOST_WEB_LISTEN", default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Where the mirrors live.
    #[arg(long, env = "OUTPOST_WEB_DATA_DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// The built interface (ui/dist).
    #[arg(long)]
    ui: Option<std::path::PathBuf>,
    /// Where the log files go (the platform's log folder by default).
    #[arg(long, env = "OUTPOST_LOG_DIR")]
    log_dir: Option<std::path::PathBuf>,
}

/// The platform's folder for an app's logs: `$XDG_STATE_HOME/outpost-web/logs` (or
/// `~/.local/state/…`) on Linux, `~/Library/Logs/Outpost Web` on macOS, `%LOCALAPPDATA%\Outpost
/// Web\logs` on Windows.
fn platform_log_dir() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if cfg!(windows) {
        return var("LOCALAPPDATA").map(|d| d.join("Outpost Web").join("logs"));
    }
    if cfg!(target_os = "macos") {
        return var("HOME").map(|h| h.join("Library/Logs/Outpost Web"));
    }
    var("XDG_STATE_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".local/state")))
        .map(|d| d.join("outpost-web/logs"))
}

/// Logs to stderr and, when the folder can be made, to rotating files in it. The guard must
/// live as long as the process (it flushes the file writer).
fn start_logging(
    dir: Option<std::path::PathBuf>,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "outpost_web=info,outpost_core=info".into())
    };
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let files = dir.and_then(|dir| {
        let made = outpost_core::owner_only::dir(&dir)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                tracing_appender::rolling::Builder::new()
                    .rotation(tracing_appender::rolling::Rotation::DAILY)
                    .filename_prefix("outpost-web.log")
                    .max_log_files(7)
                    .build(&dir)
                    .map_err(|e| e.to_string())
            });
        match made {
            Ok(appender) => Some((dir, appender)),
            Err(e) => {
                eprintln!(
                    "outpost-web: no log files in {} ({e}); logging to stderr only",
                    dir.display()
                );
                None
            }
        }
    });
    match files {
        Some((dir, appender)) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            tracing_subscriber::registry()
                .with(stderr.with_filter(filter()))
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_ansi(false)
                        .with_writer(writer)
                        .with_filter(filter()),
                )
                .init();
            tracing::info!("logging to {}", dir.display());
            Some(guard)
        }
        None => {
            tracing_subscriber::registry()
                .with(stderr.with_filter(filter()))
                .init();
            None
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let _logging = start_logging(args.log_dir.clone().or_else(platform_log_dir));
    let data_dir = args.data_dir.unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map(std::path::PathBuf::from)
            .unwrap_or_default()
            .join(".local/share/outpost-web")
    });
    let ui = args.ui.unwrap_or_else(outpost_web::default_ui_dir);
    if !ui.join("index.html").is_file() {
        tracing::error!(
            "no interface in {} (build it: cargo xtask run builds ui/ first)",
            ui.display()
        );
        return std::process::ExitCode::FAILURE;
    }
    let app = Arc::new(
        outpost_core::app::App::start(
            &data_dir,
            outpost_core::sync::keyring::Keyring::default(),
            Arc::new(outpost_core::SystemClock),
        )
        .await,
    );
    if let Some(outpost_core::Response::Error { error }) = app.sign_in_from_env().await {
        tracing::warn!("could not sign in: {}", error.message);
    }
    let running = match outpost_web::serve(app, &ui, args.listen).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("Outpost is at {}", running.url());
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!("no Ctrl+C handler ({e}): stopping now");
    }
    running.stop().await;
    std::process::ExitCode::SUCCESS
}
