//! The desktop app's log: tauri-plugin-log writes the shell's `log` records and the core's
//! `tracing` events (bridged to `log`) to rotating files in the platform's log folder
//! (`~/.local/share/<app id>/logs` on Linux, `~/Library/Logs/<app id>` on macOS,
//! `%LOCALAPPDATA%\\<app id>\\logs` on Windows) and to stderr. Info by default, `OUTPOST_LOG=debug`
//! for more; never a token, a password or a customer's text above debug.

use tauri_plugin_log::{RotationStrategy, Target, TargetKind};

/// The plugin, set up: 5 files of at most 5 MB each are kept.
pub fn plugin<R: tauri::Runtime>() -> tauri::plugin::TauriPlugin<R> {
    let level = match std::env::var("OUTPOST_LOG").as_deref() {
        Ok("debug") => log::LevelFilter::Debug,
        Ok("trace") => log::LevelFilter::Trace,
        Ok("warn") => log::LevelFilter::Warn,
        _ => log::LevelFilter::Info,
    };
    tauri_plugin_log::Builder::new()
        .clear_targets()
        .targets([
            Target::new(TargetKind::Stderr),
            Target::new(TargetKind::LogDir {
                file_name: Some("outpost".into()),
            }),
        ])
        .level(log::LevelFilter::Warn)
        .level_for("outpost_desktop", level)
        .level_for("outpost_core", level)
        .max_file_size(5_000_000)
        .rotation_strategy(RotationStrategy::KeepSome(5))
        .build()
}

/// Logs the failure of something asked of the desktop (a window shown, a tray text set) that
/// leaves Outpost working: the agent carries on, the log says what did not happen.
pub fn or_log<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) {
    if let Err(e) = result {
        log::warn!("could not {what}: {e}");
    }
}
