//! A triage [`Notification`] as the desktop's notification service shows it (notify-rust), with
//! nothing of Tauri: the shell's notifier and the triage benchmark build them the same way.

use outpost_core::triage::Notification;

/// What the daemon can do that changes what Outpost sends it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Daemon {
    /// It reads markup in bodies: the customer's text is escaped.
    pub markup: bool,
    /// It lets the agent answer in the notification (KDE Plasma): a Reply action is offered.
    pub inline_reply: bool,
}

impl Daemon {
    /// What the desktop's notification server says it can do (freedesktop's
    /// `GetCapabilities`).
    #[cfg(all(unix, not(target_os = "macos")))]
    pub fn ask() -> Daemon {
        let caps = notify_rust::get_capabilities().unwrap_or_default();
        Daemon {
            markup: caps.iter().any(|c| c == "body-markup"),
            inline_reply: caps.iter().any(|c| c == "inline-reply"),
        }
    }

    /// Windows' toasts and macOS's notification centre take plain text and offer no inline
    /// reply through notify-rust.
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    pub fn ask() -> Daemon {
        Daemon::default()
    }
}

/// The native notification for `n`, replacing the one shown under `replaces` if any. A click
/// is its default action ("default"); the quick actions keep their ids.
pub fn native(
    n: &Notification,
    daemon: Daemon,
    replaces: Option<u32>,
) -> notify_rust::Notification {
    let markup = daemon.markup;
    let mut native = notify_rust::Notification::new();
    native
        .appname("Outpost")
        .summary(&n.title)
        .body(&if markup {
            escape(&n.body)
        } else {
            n.body.clone()
        })
        // The app's icon, as the package installs it (hicolor/*/apps/outpost-desktop.png).
        .icon("outpost-desktop");
    // Hints are freedesktop's; Windows needs the app's id (the one its installer registers)
    // for the toast to be shown as Outpost's.
    #[cfg(all(unix, not(target_os = "macos")))]
    native.hint(notify_rust::Hint::Category("im.received".into()));
    #[cfg(target_os = "windows")]
    native.app_id("dev.outpost.desktop");
    if n.conversation_id.is_some() {
        let open = n
            .actions
            .iter()
            .find(|a| a.id == outpost_core::triage::QuickActionId::Open)
            .map_or("Open", |a| a.label.as_str());
        native.action("default", open);
    }
    for action in &n.actions {
        if action.id == outpost_core::triage::QuickActionId::Reply && !daemon.inline_reply {
            continue;
        }
        native.action(action.id.as_str(), &action.label);
    }
    if let Some(id) = replaces {
        native.id(id);
    }
    native
}

/// The body for daemons that read markup: the customer's text stays text.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn customer_text_is_escaped_for_markup_daemons() {
        assert_eq!(
            super::escape("<b>1 & 2</b> <img src=x onerror=alert(1)>"),
            "&lt;b&gt;1 &amp; 2&lt;/b&gt; &lt;img src=x onerror=alert(1)&gt;"
        );
    }
}
