//! `outpost-desktop`: the Tauri v2 shell, kept thin. The window's interface (ui/) talks to the
//! client engine through two commands: `request` carries a [`Request`] to [`App::handle`] and
//! returns its [`Response`]; `subscribe` hands over a [`Channel`] the engine's [`Event`]s are
//! sent on. Everything else — the mirror, sync, the keyring — is `outpost-core`'s.
//!
//! One instance: starting Outpost again focuses the running window. The window's size and place
//! are kept between runs. The interface runs under a strict CSP (tauri.conf.json) and may call
//! only the commands its capability grants (capabilities/main.json).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::sync::Arc;

mod desktop;
mod links;
mod logs;
mod native;
mod notifier;
mod tray;
mod updates;

use logs::or_log;

use outpost_core::app::App;
use outpost_core::sync::keyring::Keyring;
use outpost_core::{Event, Request, Response, SystemClock};
use tauri::ipc::Channel;
use tauri::{Manager, State};

struct Shell {
    app: Arc<App>,
    /// An `outpost://` link Outpost was started with: opened once the interface is there.
    link_at_start: std::sync::Mutex<Option<String>>,
    /// When the process started, for the startup figure the interface's first paint completes.
    started: std::time::Instant,
    /// How long the setup (the core's start) took, in ms.
    setup: std::sync::OnceLock<f64>,
    painted: std::sync::Once,
    /// Told when the first screen is painted: what can wait (the tray) starts then.
    first_screen: tokio::sync::Notify,
    /// Spelling is checked from the first screen on (the dictionaries are loaded then).
    spelling_on: std::sync::atomic::AtomicBool,
}

/// The interface has painted its first screen with the inbox. With `OUTPOST_STARTUP_REPORT` set
/// the time since start is printed (the desktop benchmark reads it); otherwise nothing happens.
/// `in_page`: milliseconds since the page began loading, as the page counts them.
#[tauri::command]
fn painted(handle: tauri::AppHandle, shell: State<'_, Shell>, in_page: f64, marks: String) {
    shell.first_screen.notify_one();
    let link = shell
        .link_at_start
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let Some(link) = link {
        links::open(&handle, &link);
    }
    shell.painted.call_once(|| {
        if std::env::var_os("OUTPOST_STARTUP_REPORT").is_some() {
            let total = shell.started.elapsed().as_secs_f64() * 1000.0;
            println!(
                "outpost: inbox painted {total:.1} ms after main (setup {:.1} ms, page {in_page:.1} ms of it: {marks})",
                shell.setup.get().copied().unwrap_or_default()
            );
        }
    });
}

/// Answers one request from the interface.
#[tauri::command]
async fn request(shell: State<'_, Shell>, request: Request) -> Result<Response, String> {
    Ok(shell.app.handle(request).await)
}

/// Sends the engine's events to the interface until the window goes.
#[tauri::command]
fn subscribe(shell: State<'_, Shell>, events: Channel<Event>) {
    let receiver = shell.app.subscribe();
    std::thread::spawn(move || {
        for event in receiver {
            if events.send(event).is_err() {
                break;
            }
        }
    });
}

/// Spelling is checked as the agent types (red underlines, suggestions on right click), in the
/// languages the desktop settings say (the interface's by default). WebKitGTK does it when asked,
/// with the dictionaries the system has (hunspell-en-us, -pt-br, -es), in this process. The web
/// views of Windows (WebView2) and macOS (WKWebView) check spelling themselves. Nothing until the
/// first screen is painted (`Shell::spelling_on`): the dictionaries take a moment to load.
pub(crate) fn check_spelling(handle: &tauri::AppHandle) {
    let on = handle
        .try_state::<Shell>()
        .is_some_and(|s| s.spelling_on.load(std::sync::atomic::Ordering::Relaxed));
    if !on {
        return;
    }
    let languages = handle.state::<desktop::Desktop>().spelling();
    log::debug!("spelling checked in {languages:?}");
    if let Some(window) = handle.get_webview_window("main") {
        spelling(&window, &languages);
    }
}

#[cfg(target_os = "linux")]
fn spelling(window: &tauri::WebviewWindow, languages: &[&str]) {
    // hunspell's names of the interface's languages.
    let names: Vec<&str> = languages
        .iter()
        .map(|l| match *l {
            "pt-BR" => "pt_BR",
            "es" => "es_ES",
            _ => "en_US",
        })
        .collect();
    or_log(
        "check spelling",
        window.with_webview(move |webview| {
            use webkit2gtk::{WebContextExt, WebViewExt};
            if let Some(context) = webview.inner().context() {
                context.set_spell_checking_enabled(true);
                context.set_spell_checking_languages(&names);
            }
        }),
    );
}

#[cfg(not(target_os = "linux"))]
fn spelling(_window: &tauri::WebviewWindow, _languages: &[&str]) {}

/// The argument Outpost is started with at login: it stays in the tray until opened.
const HIDDEN: &str = "--hidden";

fn started_hidden() -> bool {
    std::env::args().skip(1).any(|a| a == HIDDEN)
}

/// The page has loaded once (and the window was shown then, unless started hidden): from then
/// on, whether the window shows is the agent's doing (closed to the tray, opened again).
static PAGE_LOADED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn main() {
    let started = std::time::Instant::now();
    let built = tauri::Builder::default()
        // First, so that everything after it is in the log.
        .plugin(logs::plugin())
        // Starting Outpost again shows the running one; with a link (outpost://…) as its
        // argument, the deep-link plugin (next) hands it to the running one's on_open_url.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            notifier::focus(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(links::guard())
        .plugin(tauri_plugin_updater::Builder::new().build())
        // At login Outpost starts in the tray (--hidden): the agent opens it when needed.
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![HIDDEN]),
        ))
        // The window is created hidden and shown once its page has loaded (below): whether it
        // was visible is not restored, or the plugin would show it at once.
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::all()
                        - tauri_plugin_window_state::StateFlags::VISIBLE,
                )
                .build(),
        )
        // Shown when the page has loaded, not before: no blank window, and (WebKitGTK) a window
        // drawn while its web process is still starting can block the UI thread 500 ms waiting
        // for a frame that process cannot send yet.
        .on_page_load(|webview, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Finished
                && !PAGE_LOADED.swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                let window = webview.window();
                if !window.is_visible().unwrap_or(true) && !started_hidden() {
                    or_log("show the window", window.show());
                    or_log("focus the window", window.set_focus());
                }
            }
        })
        .setup(move |app| {
            let since_main = || started.elapsed().as_secs_f64() * 1000.0;
            log::debug!("startup: setup begins {:.1} ms after main", since_main());
            let data_dir = match std::env::var_os("OUTPOST_DATA_DIR") {
                Some(dir) => dir.into(),
                None => app.path().app_data_dir()?,
            };
            let core = tauri::async_runtime::block_on(async {
                let core = App::start(&data_dir, Keyring::default(), Arc::new(SystemClock)).await;
                if let Some(Response::Error { error }) = core.sign_in_from_env().await {
                    log::warn!("could not sign in: {}", error.message);
                }
                core
            });
            let core = Arc::new(core);
            log::debug!("startup: the core is up {:.1} ms after main", since_main());
            notifier::start(app.handle().clone(), core.clone())?;
            app.manage(desktop::Desktop::load(&data_dir));
            app.manage(updates::Pending::default());
            // Links: the one Outpost was started with (opened once the interface is there),
            // and those opened while it runs.
            use tauri_plugin_deep_link::DeepLinkExt;
            let at_start = app
                .deep_link()
                .get_current()
                .ok()
                .flatten()
                .and_then(|urls| urls.into_iter().next())
                .map(|url| url.to_string());
            let on_link = app.handle().clone();
            app.deep_link().on_open_url(move |event| {
                for url in event.urls() {
                    links::open(&on_link, url.as_str());
                }
            });
            // Linux and Windows learn the scheme when Outpost runs (the packages declare it
            // too); macOS only from the bundle. Off the start's path: on Linux it writes a
            // .desktop file and runs xdg-mime and update-desktop-database.
            #[cfg(any(target_os = "linux", windows))]
            {
                let handle = app.handle().clone();
                std::thread::Builder::new()
                    .name("register-links".into())
                    .spawn(move || {
                        logs::or_log(
                            "register outpost:// links",
                            handle.deep_link().register_all(),
                        );
                    })?;
            }
            app.manage(Shell {
                app: core.clone(),
                link_at_start: std::sync::Mutex::new(at_start),
                started,
                setup: std::sync::OnceLock::new(),
                painted: std::sync::Once::new(),
                first_screen: tokio::sync::Notify::new(),
                spelling_on: std::sync::atomic::AtomicBool::new(false),
            });
            // The tray and the spelling dictionaries once the first screen is painted (or
            // after 2 s, a sign-in screen): neither is needed sooner, and their setup (the
            // dictionaries take ~0.5 s to load) would delay that screen.
            let (handle, for_tray) = (app.handle().clone(), core.clone());
            tauri::async_runtime::spawn(async move {
                let shell = handle.state::<Shell>();
                // Painted, or 2 s gone (a sign-in screen): either way the tray starts now.
                let painted = tokio::time::timeout(
                    std::time::Duration::from_secs(2),
                    shell.first_screen.notified(),
                )
                .await;
                if painted.is_err() {
                    log::debug!("no inbox painted within 2 s: the tray starts now");
                }
                let main = handle.clone();
                let started = handle.run_on_main_thread(move || {
                    main.state::<Shell>()
                        .spelling_on
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    check_spelling(&main);
                    // A desktop without a tray (or its library) still runs Outpost; closing
                    // its window then quits.
                    match tray::start(&main, for_tray) {
                        Ok(()) => main
                            .state::<desktop::Desktop>()
                            .tray
                            .store(true, std::sync::atomic::Ordering::Relaxed),
                        Err(e) => log::warn!("no tray icon: {e}"),
                    }
                });
                or_log("start the tray", started);
            });
            // SIGTERM (a session ending, a package upgrade) and SIGINT close Outpost as the
            // window would: the engine stops and the mirror is closed cleanly.
            #[cfg(unix)]
            {
                let handle = app.handle().clone();
                tauri::async_runtime::spawn(async move {
                    use tokio::signal::unix::{SignalKind, signal};
                    let (Ok(mut term), Ok(mut int)) = (
                        signal(SignalKind::terminate()),
                        signal(SignalKind::interrupt()),
                    ) else {
                        return;
                    };
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                    handle.exit(0);
                });
            }
            // Should the page never report its load (a broken install), the window still shows;
            // once it has, a hidden window is one the agent closed to the tray, and stays so.
            let handle = app.handle().clone();
            if !started_hidden() {
                tauri::async_runtime::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                    if let Some(window) = handle.get_webview_window("main")
                        && !PAGE_LOADED.load(std::sync::atomic::Ordering::SeqCst)
                        && !window.is_visible().unwrap_or(true)
                    {
                        or_log("show the window", window.show());
                    }
                });
            }
            let took = since_main();
            if app.state::<Shell>().setup.set(took).is_err() {
                log::warn!("the setup ran twice; the first one's time is kept");
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                desktop::on_close(window.app_handle(), window, api);
            }
        })
        .invoke_handler(tauri::generate_handler![
            request,
            subscribe,
            painted,
            desktop::desktop_settings,
            desktop::save_desktop_settings,
            desktop::interface_language,
            desktop::about,
            desktop::open_log_folder,
            desktop::quit,
            updates::check_update,
            updates::install_update,
            updates::restart,
        ])
        .build(tauri::generate_context!());
    match built {
        Ok(app) => app.run(|handle, event| {
            if let tauri::RunEvent::Exit = event {
                let shell = handle.state::<Shell>();
                tauri::async_runtime::block_on(shell.app.stop());
            }
        }),
        Err(e) => {
            log::error!("Outpost could not start: {e}");
            eprintln!("Outpost could not start: {e}");
            std::process::exit(1);
        }
    }
}
