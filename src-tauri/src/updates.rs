//! Updates from signed releases (tauri-plugin-updater). Outpost asks its update address (the
//! release channel's, or the one set on this computer) for a manifest; a newer version is
//! offered, and only installed when its bundle's minisign signature verifies against the release
//! key built into the app and names the version announced (`requireSignedVersion`): a tampered
//! or swapped bundle is refused and nothing is replaced. AppImages replace themselves; a .deb is
//! installed through pkexec; an unpackaged build says to update from where it came.
//!
//! Updates come over https only (the platform's roots; on Linux `SSL_CERT_FILE` names another
//! bundle, such as an organisation's own CA with the system's).

use std::sync::Mutex;

use serde::Serialize;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_updater::{Update, UpdaterExt};

/// Where updates are looked for when this computer names no address.
pub const RELEASES: &str =
    "https://releases.outpost.dev/desktop/{{target}}/{{arch}}/{{current_version}}";

/// The update found by the last check, kept for its installation.
#[derive(Default)]
pub struct Pending(Mutex<Option<Update>>);

/// What the interface shows of an update.
#[derive(Serialize)]
pub struct Found {
    version: String,
    notes: Option<String>,
    date: Option<String>,
}

/// The updater for this computer's address, with the release key (or, in a debug build only,
/// the key a test names in `OUTPOST_UPDATE_PUBKEY`).
fn updater(handle: &AppHandle) -> Result<tauri_plugin_updater::Updater, String> {
    let settings = handle.state::<crate::desktop::Desktop>().get();
    let address = match settings.update_endpoint.trim() {
        "" => url::Url::parse(RELEASES).map_err(|e| e.to_string())?,
        set => crate::desktop::check_endpoint(set)?,
    };
    let mut builder = handle
        .updater_builder()
        .endpoints(vec![address])
        .map_err(|e| e.to_string())?
        .timeout(std::time::Duration::from_secs(30));
    #[cfg(debug_assertions)]
    if let Ok(key) = std::env::var("OUTPOST_UPDATE_PUBKEY") {
        builder = builder.pubkey(key);
    }
    // An AppImage is replaced where it is (the AppImage runtime names its file).
    if let Some(appimage) = std::env::var_os("APPIMAGE") {
        builder = builder.executable_path(appimage);
    }
    builder.build().map_err(|e| e.to_string())
}

/// Asks the update address whether there is a newer Outpost.
#[tauri::command]
pub async fn check_update(
    handle: AppHandle,
    pending: State<'_, Pending>,
) -> Result<Option<Found>, String> {
    let found = updater(&handle)?
        .check()
        .await
        .map_err(|e| format!("Could not look for updates: {e}"))?;
    let answer = found.as_ref().map(|u| Found {
        version: u.version.clone(),
        notes: u.body.clone(),
        date: u.date.map(|d| d.to_string()),
    });
    if let Some(u) = &found {
        log::info!(
            "update found: {} (running {})",
            u.version,
            u.current_version
        );
    }
    *pending.0.lock().unwrap_or_else(|p| p.into_inner()) = found;
    Ok(answer)
}

/// Downloads the update found, checks its signature, and installs it; Outpost then asks to be
/// restarted. A bundle whose signature does not verify is refused and nothing changes.
#[tauri::command]
pub async fn install_update(pending: State<'_, Pending>) -> Result<String, String> {
    let update = pending
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .ok_or("Look for updates first.")?;
    if tauri::utils::platform::bundle_type().is_none() && std::env::var_os("APPIMAGE").is_none() {
        return Err(
            "This copy of Outpost was not installed from a package: update it from where it came."
                .into(),
        );
    }
    let bytes = update.download(|_, _| {}, || {}).await.map_err(|e| {
        log::warn!("the update {} was refused: {e}", update.version);
        format!("The update was not installed: {e}")
    })?;
    update
        .install(bytes)
        .map_err(|e| format!("The update could not be installed: {e}"))?;
    log::info!("update {} installed", update.version);
    Ok(update.version.clone())
}

/// Starts the installed version.
#[tauri::command]
pub fn restart(handle: AppHandle) {
    handle.restart();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_release_channels_address_is_one() {
        assert!(url::Url::parse(super::RELEASES).is_ok());
    }
}
