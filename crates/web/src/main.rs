//! `outpost-web`: serves the Outpost interface on loopback and prints its address.
//!
//! ```text
//! outpost-web [--listen 127.0.0.1:0] [--data-dir DIR] [--ui DIR]
//! ```

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
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "outpost_web=info".into()),
        )
        .init();
    let args = Args::parse();
    let data_dir = args.data_dir.unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map(std::path::PathBuf::from)
            .unwrap_or_default()
            .join(".local/share/outpost-web")
    });
    let ui = args.ui.unwrap_or_else(outpost_web::default_ui_dir);
    if !ui.join("index.html").is_file() {
        eprintln!(
            "outpost-web: no interface in {} (build it: cargo xtask run builds ui/ first)",
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
        eprintln!("outpost-web: could not sign in: {}", error.message);
    }
    let running = match outpost_web::serve(app, &ui, args.listen).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("outpost-web: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("Outpost is at {}", running.url());
    let _ = tokio::signal::ctrl_c().await;
    running.stop().await;
    std::process::ExitCode::SUCCESS
}
