//! The tray icon and the unread badge. The tray shows how many messages wait unread (its title
//! beside the icon, and its tooltip) and a menu: open Outpost, available / away, do not disturb
//! for an hour (or end it), quit. The badge carries the same count where the desktop has one
//! (on Linux, the Unity launcher entry that GNOME docks and KDE task managers read).

use std::sync::Arc;

use outpost_core::app::App;
use outpost_core::i18n;
use outpost_core::{Event, Request, Response};
use outpost_protocol::{Action, Availability};
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Wry};

/// The tray's title (the count) and tooltip for `unread` messages, in the interface's language.
pub fn unread_text(unread: u64, lang: &str) -> (Option<String>, String) {
    match unread {
        0 => (None, "Outpost".to_owned()),
        n => (
            Some(n.to_string()),
            format!(
                "Outpost — {}",
                i18n::plural(lang, "native.tray.unread", n, &[])
            ),
        ),
    }
}

/// One of the tray's words, in the interface's language.
fn word(lang: &str, key: &str) -> String {
    i18n::t(lang, &format!("native.tray.{key}"), &[])
}

struct Items {
    open: MenuItem<Wry>,
    quit: MenuItem<Wry>,
    available: CheckMenuItem<Wry>,
    away: CheckMenuItem<Wry>,
    dnd: MenuItem<Wry>,
}

/// Builds the tray and keeps it (and the badge) current from the core's events.
pub fn start(handle: &AppHandle, core: Arc<App>) -> tauri::Result<()> {
    let open = MenuItem::with_id(handle, "open", "Open Outpost", true, None::<&str>)?;
    let available =
        CheckMenuItem::with_id(handle, "available", "Available", true, true, None::<&str>)?;
    let away = CheckMenuItem::with_id(handle, "away", "Away", true, false, None::<&str>)?;
    let dnd = MenuItem::with_id(
        handle,
        "dnd",
        "Do not disturb for 1 hour",
        true,
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(handle, "quit", "Quit Outpost", true, None::<&str>)?;
    let menu = Menu::with_items(
        handle,
        &[
            &open,
            &PredefinedMenuItem::separator(handle)?,
            &available,
            &away,
            &PredefinedMenuItem::separator(handle)?,
            &dnd,
            &PredefinedMenuItem::separator(handle)?,
            &quit,
        ],
    )?;
    let items = Arc::new(Items {
        open: open.clone(),
        quit: quit.clone(),
        available,
        away,
        dnd,
    });
    let on_menu = core.clone();
    let mut tray = TrayIconBuilder::with_id("outpost")
        .tooltip("Outpost")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(move |app, event| {
            let core = on_menu.clone();
            let id = event.id().as_ref().to_owned();
            match id.as_str() {
                "open" => crate::notifier::focus(app),
                "quit" => app.exit(0),
                "available" | "away" => {
                    let availability = if id == "away" {
                        Availability::Away
                    } else {
                        Availability::Available
                    };
                    tauri::async_runtime::spawn(async move {
                        core.handle(Request::Act {
                            action: Action::SetAvailability { availability },
                        })
                        .await
                    });
                }
                "dnd" => {
                    tauri::async_runtime::spawn(async move { toggle_dnd(&core).await });
                }
                _ => {}
            }
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                crate::notifier::focus(tray.app_handle());
            }
        });
    if let Some(icon) = handle.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    let tray = tray.build(handle)?;
    let events = core.subscribe();
    let handle = handle.clone();
    std::thread::Builder::new()
        .name("tray".into())
        .spawn(move || {
            refresh(&handle, &core, &tray, &items);
            loop {
                // Every change of what it shows, and now and then for the interface's language.
                match events.recv_timeout(std::time::Duration::from_secs(20)) {
                    Ok(
                        Event::Changed { .. } | Event::Status { .. } | Event::SignInRequired { .. },
                    )
                    | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        refresh(&handle, &core, &tray, &items)
                    }
                    Ok(_) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        })
        .map(|_| ())
        .map_err(|e| tauri::Error::Io(std::io::Error::other(e)))
}

/// Do not disturb for an hour, or its end when it is on.
async fn toggle_dnd(core: &App) {
    let Response::NotifySettings { mut settings } = core.handle(Request::GetNotifySettings).await
    else {
        return;
    };
    let now = now();
    settings.dnd_until = match settings.dnd_until {
        Some(until) if until > now => None,
        _ => Some(now + 3_600_000),
    };
    core.handle(Request::Act {
        action: Action::SaveNotifySettings { settings },
    })
    .await;
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The count, the availability and do-not-disturb as the core has them now.
fn refresh(handle: &AppHandle, core: &App, tray: &TrayIcon, items: &Items) {
    let (counts, me, settings, language) = tauri::async_runtime::block_on(async {
        (
            core.handle(Request::Counts).await,
            core.handle(Request::Me).await,
            core.handle(Request::GetNotifySettings).await,
            core.interface_language().await,
        )
    });
    for (item, key) in [(&items.open, "open"), (&items.quit, "quit")] {
        crate::or_log("name a tray menu item", item.set_text(word(&language, key)));
    }
    for (item, key) in [(&items.available, "available"), (&items.away, "away")] {
        crate::or_log("name a tray menu item", item.set_text(word(&language, key)));
    }
    let unread = match counts {
        Response::Counts { counts } => counts.unread,
        _ => 0,
    };
    let (title, tooltip) = unread_text(unread, &language);
    crate::or_log("set the tray's title", tray.set_title(title.as_deref()));
    crate::or_log("set the tray's tooltip", tray.set_tooltip(Some(&tooltip)));
    badge(handle, unread);
    if let Response::Me { agent: Some(me) } = me {
        let available = me.availability == Availability::Available;
        crate::or_log("tick Available", items.available.set_checked(available));
        crate::or_log("tick Away", items.away.set_checked(!available));
    }
    if let Response::NotifySettings { settings } = settings {
        let on = settings.dnd_until.is_some_and(|until| until > now());
        crate::or_log(
            "name the do-not-disturb item",
            items
                .dnd
                .set_text(word(&language, if on { "dndOff" } else { "dndOn" })),
        );
    }
}

/// The count on the app's launcher entry. On Linux the LauncherEntry signal itself (docks listen
/// for it whatever the desktop; Tauri's own sends it only where Unity runs); elsewhere Tauri's.
#[cfg(all(unix, not(target_os = "macos")))]
fn badge(handle: &AppHandle, unread: u64) {
    use std::collections::HashMap;
    use zbus::zvariant::Value;
    static BUS: std::sync::OnceLock<Option<zbus::blocking::Connection>> =
        std::sync::OnceLock::new();
    let Some(bus) = BUS.get_or_init(|| zbus::blocking::Connection::session().ok()) else {
        return;
    };
    let uri = format!("application://{}.desktop", handle.package_info().name);
    let props: HashMap<&str, Value<'_>> = HashMap::from([
        ("count", Value::I64(unread as i64)),
        ("count-visible", Value::Bool(unread > 0)),
    ]);
    crate::or_log(
        "update the launcher's badge",
        bus.emit_signal(
            None::<&str>,
            "/dev/outpost/desktop/launcher",
            "com.canonical.Unity.LauncherEntry",
            "Update",
            &(uri, props),
        ),
    );
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn badge(handle: &AppHandle, unread: u64) {
    use tauri::Manager;
    if let Some(window) = handle.get_webview_window("main") {
        crate::or_log(
            "set the badge",
            window.set_badge_count((unread > 0).then_some(unread as i64)),
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tray_says_how_many_wait_in_the_interfaces_language() {
        use super::{unread_text, word};
        assert_eq!(unread_text(0, "en"), (None, "Outpost".to_owned()));
        assert_eq!(
            unread_text(1, "en"),
            (Some("1".into()), "Outpost — 1 unread message".to_owned())
        );
        assert_eq!(
            unread_text(37, "pt-BR"),
            (
                Some("37".into()),
                "Outpost — 37 mensagens não lidas".to_owned()
            )
        );
        assert_eq!(word("es", "dndOn"), "No molestar durante 1 hora");
    }
}
