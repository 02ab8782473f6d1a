//! What belongs to this computer's app rather than to the agent's account: whether closing the
//! window keeps Outpost in the tray, whether it starts at login, where updates are looked for,
//! the languages spelling is checked in; and the Help menu's About and log folder. Kept in `desktop.json` in the app's data folder
//! (the account's settings live at the server and follow the agent; these stay with the
//! machine).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, State};

/// The app's settings on this computer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DesktopSettings {
    /// Closing the window hides it: Outpost stays in the tray, notifications keep coming.
    pub close_to_tray: bool,
    /// Outpost starts (in the tray) when the agent logs in to the computer.
    pub start_at_login: bool,
    /// Where updates are looked for (a Tauri updater manifest); empty: the release channel's.
    pub update_endpoint: String,
    /// The agent was told once that closing keeps Outpost running.
    pub told_about_tray: bool,
    /// The languages the composer's spelling is checked in (the interface's codes: "en",
    /// "pt-BR", "es"); none: the interface's language. Each dictionary costs memory (pt-BR's
    /// hunspell dictionary ~36 MiB, the three ~53 MiB), so only those the agent writes in.
    pub spelling: Vec<String>,
}

impl Default for DesktopSettings {
    fn default() -> Self {
        DesktopSettings {
            close_to_tray: true,
            start_at_login: false,
            update_endpoint: String::new(),
            told_about_tray: false,
            spelling: Vec::new(),
        }
    }
}

/// The languages spelling can be checked in: the interface's.
pub const SPELLING_LANGUAGES: [&str; 3] = ["en", "pt-BR", "es"];

impl DesktopSettings {
    /// The languages spelling is checked in when the interface is in `interface`.
    pub fn spelling_in(&self, interface: &str) -> Vec<&'static str> {
        let chosen: Vec<&'static str> = SPELLING_LANGUAGES
            .into_iter()
            .filter(|l| self.spelling.iter().any(|s| s == l))
            .collect();
        if !chosen.is_empty() {
            return chosen;
        }
        vec![
            SPELLING_LANGUAGES
                .into_iter()
                .find(|l| interface == *l || interface.split('-').next() == l.split('-').next())
                .unwrap_or("en"),
        ]
    }
}

/// The settings and the file they are kept in.
pub struct Desktop {
    path: PathBuf,
    settings: Mutex<DesktopSettings>,
    /// Whether a tray icon is up: without one, closing the window quits (or Outpost would run
    /// with no way back to it).
    pub tray: std::sync::atomic::AtomicBool,
    /// The app's data folder (the mirror's), for About's size.
    data_dir: PathBuf,
    /// The interface's language, as the page last said it.
    interface: Mutex<String>,
}

impl Desktop {
    /// Reads the settings in `data_dir` (defaults when there are none; a broken file is said in
    /// the log and replaced by the defaults at the next save, never a reason not to start).
    pub fn load(data_dir: &Path) -> Desktop {
        let path = data_dir.join("desktop.json");
        let settings = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                log::warn!("desktop.json could not be read ({e}): the defaults are used");
                DesktopSettings::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => DesktopSettings::default(),
            Err(e) => {
                log::warn!("desktop.json could not be read ({e}): the defaults are used");
                DesktopSettings::default()
            }
        };
        Desktop {
            path,
            settings: Mutex::new(settings),
            tray: std::sync::atomic::AtomicBool::new(false),
            data_dir: data_dir.to_owned(),
            interface: Mutex::new("en".to_owned()),
        }
    }

    /// The languages spelling is checked in now.
    pub fn spelling(&self) -> Vec<&'static str> {
        let interface = self
            .interface
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        self.get().spelling_in(&interface)
    }

    pub fn get(&self) -> DesktopSettings {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Keeps `settings`: written to a new file, then moved over the old one (never half a file).
    pub fn set(&self, settings: DesktopSettings) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(&settings).map_err(std::io::Error::other)?;
        let next = self.path.with_extension("json.new");
        std::fs::write(&next, json)?;
        std::fs::rename(&next, &self.path)?;
        *self.settings.lock().unwrap_or_else(|p| p.into_inner()) = settings;
        Ok(())
    }

    /// Whether closing the window hides it (the setting, and a tray to come back from).
    pub fn hides_on_close(&self) -> bool {
        self.get().close_to_tray && self.tray.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The bytes the app keeps in its data folder (the mirror, its journal, files seen).
    fn stored_bytes(&self) -> u64 {
        fn size(path: &Path) -> u64 {
            match std::fs::symlink_metadata(path) {
                Ok(m) if m.is_dir() => std::fs::read_dir(path)
                    .map(|entries| entries.flatten().map(|e| size(&e.path())).sum())
                    .unwrap_or(0),
                Ok(m) => m.len(),
                Err(_) => 0,
            }
        }
        size(&self.data_dir)
    }
}

/// An update address the agent may set: https only; `{{target}}`, `{{arch}}` and
/// `{{current_version}}` are filled in by the updater.
pub fn check_endpoint(endpoint: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(endpoint)
        .map_err(|e| format!("The update address is not an address: {e}"))?;
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(url),
        _ => Err("Updates are fetched over https only.".into()),
    }
}

/// The window's close button was pressed: hide it and keep running, or let it close (quit).
/// The first time it hides, a notification says where Outpost went (once per computer).
pub fn on_close(handle: &AppHandle, window: &tauri::Window, api: &tauri::CloseRequestApi) {
    let desktop = handle.state::<Desktop>();
    if !desktop.hides_on_close() {
        return;
    }
    api.prevent_close();
    crate::or_log("hide the window", window.hide());
    let mut settings = desktop.get();
    if !settings.told_about_tray {
        settings.told_about_tray = true;
        crate::or_log("keep desktop.json", desktop.set(settings));
        let handle = handle.clone();
        std::thread::spawn(move || crate::notifier::told_about_tray(&handle));
    }
}

/// What Help → About says.
#[derive(Serialize)]
pub struct About {
    version: String,
    /// The server the agent is signed in to, if any.
    server: Option<String>,
    /// The mirror's size on disk, in bytes.
    stored_bytes: u64,
    /// Where the log files are.
    log_dir: String,
    platform: &'static str,
}

#[tauri::command]
pub fn desktop_settings(desktop: State<'_, Desktop>, handle: AppHandle) -> DesktopSettings {
    let mut settings = desktop.get();
    // What the system has, not what was last asked: the agent may have removed the entry.
    settings.start_at_login = autostart_enabled(&handle).unwrap_or(settings.start_at_login);
    settings
}

#[tauri::command]
pub fn save_desktop_settings(
    desktop: State<'_, Desktop>,
    handle: AppHandle,
    settings: DesktopSettings,
) -> Result<DesktopSettings, String> {
    let endpoint = settings.update_endpoint.trim().to_owned();
    if !endpoint.is_empty() {
        check_endpoint(&endpoint)?;
    }
    let before = desktop.get();
    if settings.start_at_login != autostart_enabled(&handle).unwrap_or(before.start_at_login) {
        set_autostart(&handle, settings.start_at_login)
            .map_err(|e| format!("The login item could not be changed: {e}"))?;
    }
    if let Some(unknown) = settings
        .spelling
        .iter()
        .find(|l| !SPELLING_LANGUAGES.contains(&l.as_str()))
    {
        return Err(format!("Spelling cannot be checked in \"{unknown}\"."));
    }
    let kept = DesktopSettings {
        update_endpoint: endpoint,
        told_about_tray: before.told_about_tray,
        ..settings
    };
    desktop
        .set(kept.clone())
        .map_err(|e| format!("The settings could not be saved: {e}"))?;
    if kept.spelling != before.spelling {
        crate::check_spelling(&handle);
    }
    Ok(kept)
}

/// The page says which language the interface is in (at start and when the agent changes it):
/// spelling that follows it follows.
#[tauri::command]
pub fn interface_language(desktop: State<'_, Desktop>, handle: AppHandle, language: String) {
    let changed = {
        let mut interface = desktop.interface.lock().unwrap_or_else(|p| p.into_inner());
        let changed = *interface != language;
        *interface = language;
        changed
    };
    if changed {
        crate::check_spelling(&handle);
    }
}

#[tauri::command]
pub async fn about(
    shell: State<'_, crate::Shell>,
    desktop: State<'_, Desktop>,
    handle: AppHandle,
) -> Result<About, String> {
    let server = match shell.app.handle(outpost_core::Request::Session).await {
        outpost_core::Response::Session { session } => session.account.map(|a| a.server),
        _ => None,
    };
    Ok(About {
        version: handle.package_info().version.to_string(),
        server,
        stored_bytes: desktop.stored_bytes(),
        log_dir: log_dir(&handle)?.display().to_string(),
        platform: std::env::consts::OS,
    })
}

/// Opens the log folder in the system's file manager.
#[tauri::command]
pub fn open_log_folder(handle: AppHandle) -> Result<(), String> {
    use tauri_plugin_opener::OpenerExt;
    let dir = log_dir(&handle)?;
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    handle
        .opener()
        .open_path(dir.display().to_string(), None::<&str>)
        .map_err(|e| format!("The log folder could not be opened: {e}"))
}

/// Quits Outpost (the window's menu, Ctrl+Q): the engine stops and the mirror is closed cleanly.
#[tauri::command]
pub fn quit(handle: AppHandle) {
    handle.exit(0);
}

fn log_dir(handle: &AppHandle) -> Result<PathBuf, String> {
    handle.path().app_log_dir().map_err(|e| e.to_string())
}

fn autostart_enabled(handle: &AppHandle) -> Option<bool> {
    use tauri_plugin_autostart::ManagerExt;
    handle.autolaunch().is_enabled().ok()
}

fn set_autostart(handle: &AppHandle, on: bool) -> Result<(), String> {
    use tauri_plugin_autostart::ManagerExt;
    // The XDG autostart folder (~/.config/autostart) may not exist yet; the login item's
    // library creates only its last part.
    #[cfg(all(unix, not(target_os = "macos")))]
    if on && let Ok(home) = handle.path().home_dir() {
        std::fs::create_dir_all(home.join(".config").join("autostart"))
            .map_err(|e| e.to_string())?;
    }
    let launcher = handle.autolaunch();
    if on {
        launcher.enable()
    } else {
        launcher.disable()
    }
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::{Desktop, DesktopSettings};

    #[test]
    fn spelling_follows_the_interface_unless_languages_are_chosen() {
        let mut settings = DesktopSettings::default();
        assert_eq!(settings.spelling_in("en"), ["en"]);
        assert_eq!(settings.spelling_in("pt-BR"), ["pt-BR"]);
        assert_eq!(settings.spelling_in("pt"), ["pt-BR"]);
        assert_eq!(settings.spelling_in("es"), ["es"]);
        assert_eq!(
            settings.spelling_in("fr"),
            ["en"],
            "a language without a dictionary"
        );
        settings.spelling = vec!["es".into(), "en".into()];
        assert_eq!(settings.spelling_in("pt-BR"), ["en", "es"]);
        settings.spelling = vec!["xx".into()];
        assert_eq!(
            settings.spelling_in("pt-BR"),
            ["pt-BR"],
            "an unknown one is no choice"
        );
        // Settings written before spelling was one read as "the interface's".
        let old: DesktopSettings = serde_json::from_str(r#"{"close_to_tray":false}"#).unwrap();
        assert!(old.spelling.is_empty() && !old.close_to_tray);
    }

    #[test]
    fn updates_come_over_https_only() {
        use super::check_endpoint;
        assert!(
            check_endpoint("https://updates.example/{{target}}/{{arch}}/{{current_version}}")
                .is_ok()
        );
        assert!(check_endpoint("https://127.0.0.1:9000/latest.json").is_ok());
        assert!(check_endpoint("http://127.0.0.1:9000/latest.json").is_err());
        assert!(check_endpoint("http://updates.example/latest.json").is_err());
        assert!(check_endpoint("file:///tmp/latest.json").is_err());
        assert!(check_endpoint("latest.json").is_err());
    }

    #[test]
    fn settings_are_kept_and_a_broken_file_falls_back_to_the_defaults() {
        let dir = std::env::temp_dir().join(format!("outpost-desktop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let desktop = Desktop::load(&dir);
        assert_eq!(desktop.get(), DesktopSettings::default());
        assert!(desktop.get().close_to_tray, "on by default");
        let mine = DesktopSettings {
            close_to_tray: false,
            update_endpoint: "https://updates.example/outpost.json".into(),
            ..DesktopSettings::default()
        };
        desktop.set(mine.clone()).unwrap();
        assert_eq!(Desktop::load(&dir).get(), mine);
        std::fs::write(dir.join("desktop.json"), b"{not json").unwrap();
        assert_eq!(Desktop::load(&dir).get(), DesktopSettings::default());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
