//! Native notifications: the triage's decisions ([`Event::Notify`]) shown through the desktop's
//! notification service with notify-rust, on threads of their own (Tauri's notification plugin
//! cannot report clicks on the desktop). A conversation's notification replaces its earlier one
//! instead of stacking; a click focuses the window and opens the conversation; the quick actions
//! (assign to me, close, snooze) are taken as the agent would take them in the window.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use outpost_core::Event;
use outpost_core::app::App;
use outpost_core::triage::{Notification, QuickActionId};
use outpost_protocol::ConversationId;
use tauri::{AppHandle, Manager};

/// What is shown now, per notification key: the daemon's id (to replace it) and a generation,
/// so that only the latest waiter of a replaced notification acts on it.
#[derive(Default)]
struct Shown {
    ids: HashMap<String, (u32, u64)>,
    /// The conversation of each notification shown (for inline replies, which name the id).
    conversations: HashMap<u32, ConversationId>,
    generation: u64,
}

/// Starts showing the core's notifications. Returns at once (an error only when the system
/// gives no thread for it).
pub fn start(handle: AppHandle, core: Arc<App>) -> std::io::Result<()> {
    let events = core.subscribe();
    std::thread::Builder::new()
        .name("notifications".into())
        .spawn(move || {
            // Daemons that read markup in the body get the customer's text escaped; the rest
            // show it as it is (plain text either way).
            let daemon = crate::native::Daemon::ask();
            let shown = Arc::new(Mutex::new(Shown::default()));
            #[cfg(all(unix, not(target_os = "macos")))]
            if daemon.inline_reply {
                listen_for_replies(core.clone(), shown.clone());
            }
            for event in events {
                match event {
                    Event::Notify { notification } => {
                        if let Err(e) = show(&core, &shown, &notification, daemon) {
                            log::warn!("could not show a notification: {e}");
                        }
                    }
                    Event::OpenConversation { .. } => focus(&handle),
                    _ => {}
                }
            }
        })?;
    Ok(())
}

/// Windows and macOS: shown, replacing nothing; notify-rust reports no click or action there
/// (the system brings the app forward on a click), so quick actions are the window's.
#[cfg(not(all(unix, not(target_os = "macos"))))]
fn show(
    _core: &Arc<App>,
    _shown: &Arc<Mutex<Shown>>,
    n: &Notification,
    daemon: crate::native::Daemon,
) -> Result<(), String> {
    crate::native::native(n, daemon, None)
        .show()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Linux and the BSDs (freedesktop notifications): a conversation's notification replaces its
/// earlier one, and a click or an action is waited for on a thread of its own.
#[cfg(all(unix, not(target_os = "macos")))]
fn show(
    core: &Arc<App>,
    shown: &Arc<Mutex<Shown>>,
    n: &Notification,
    daemon: crate::native::Daemon,
) -> Result<(), String> {
    let (replaces, generation) = {
        let mut s = shown.lock().unwrap_or_else(|p| p.into_inner());
        s.generation += 1;
        (s.ids.get(&n.key).map(|(id, _)| *id), s.generation)
    };
    let shown_now = crate::native::native(n, daemon, replaces)
        .show()
        .map_err(|e| e.to_string())?;
    {
        let mut s = shown.lock().unwrap_or_else(|p| p.into_inner());
        s.ids.insert(n.key.clone(), (shown_now.id(), generation));
        if let Some(c) = n.conversation_id {
            s.conversations.insert(shown_now.id(), c);
        }
    }
    let Some(conversation_id) = n.conversation_id else {
        return Ok(());
    };
    let (core, shown, key) = (core.clone(), shown.clone(), n.key.clone());
    std::thread::Builder::new()
        .name("notification".into())
        .spawn(move || {
            shown_now.wait_for_action(|action| {
                let current = {
                    let mut s = shown.lock().unwrap_or_else(|p| p.into_inner());
                    let current = s.ids.get(&key).is_some_and(|(_, g)| *g == generation);
                    // Acted on or dismissed: the next one for this conversation is new.
                    if let (true, Some((id, _))) = (current, s.ids.remove(&key)) {
                        s.conversations.remove(&id);
                    }
                    current
                };
                if current {
                    act(&core, action, conversation_id);
                }
            });
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Inline replies (KDE Plasma's `NotificationReplied(id, text)`): the text is sent in the
/// notification's conversation, as from the composer.
#[cfg(all(unix, not(target_os = "macos")))]
fn listen_for_replies(core: Arc<App>, shown: Arc<Mutex<Shown>>) {
    let listen = move || -> zbus::Result<()> {
        let bus = zbus::blocking::Connection::session()?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface("org.freedesktop.Notifications")?
            .member("NotificationReplied")?
            .build();
        for message in zbus::blocking::MessageIterator::for_match_rule(rule, &bus, None)? {
            let Ok((id, text)) = message?.body().deserialize::<(u32, String)>() else {
                continue;
            };
            let conversation = shown
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .conversations
                .get(&id)
                .copied();
            if let (Some(conversation_id), false) = (conversation, text.trim().is_empty()) {
                let core = core.clone();
                tauri::async_runtime::spawn(async move {
                    if let outpost_core::Response::Error { error } =
                        core.reply(conversation_id, text).await
                    {
                        log::warn!("could not send an inline reply: {}", error.message);
                    }
                });
            }
        }
        Ok(())
    };
    std::thread::Builder::new()
        .name("inline replies".into())
        .spawn(move || {
            if let Err(e) = listen() {
                log::warn!("no inline replies: {e}");
            }
        })
        .map(|_| ())
        .unwrap_or_else(|e| log::warn!("no inline replies: {e}"));
}

/// Runs what the agent chose on a notification.
#[cfg(all(unix, not(target_os = "macos")))]
/// Opening goes through [`App::quick_action`] too: its `Event::OpenConversation` focuses the
/// window (above) and the interface shows the conversation.
fn act(core: &Arc<App>, action: &str, conversation_id: ConversationId) {
    let chosen = match action {
        "default" => Some(QuickActionId::Open),
        other => QuickActionId::parse(other),
    };
    let Some(chosen) = chosen else {
        return; // closed, expired, or dismissed
    };
    if chosen == QuickActionId::Reply {
        return; // the reply's text comes with NotificationReplied (listen_for_replies)
    }
    let core = core.clone();
    tauri::async_runtime::spawn(async move {
        if let outpost_core::Response::Error { error } =
            core.quick_action(chosen, conversation_id).await
        {
            log::warn!("could not {}: {}", chosen.as_str(), error.message);
        }
    });
}

/// Brings the window to the front.
pub(crate) fn focus(handle: &AppHandle) {
    if let Some(window) = handle.get_webview_window("main") {
        crate::or_log("unminimise the window", window.unminimize());
        crate::or_log("show the window", window.show());
        crate::or_log("focus the window", window.set_focus());
    }
}

/// Said once, the first time the window is closed: Outpost went to the tray, not away.
pub(crate) fn told_about_tray(handle: &AppHandle) {
    let Some(shell) = handle.try_state::<crate::Shell>() else {
        return;
    };
    let lang = tauri::async_runtime::block_on(shell.app.interface_language());
    let word = |key: &str| outpost_core::i18n::t(&lang, &format!("native.tray.{key}"), &[]);
    let mut native = notify_rust::Notification::new();
    native
        .appname("Outpost")
        .summary(&word("stillRunningTitle"))
        .body(&word("stillRunning"))
        .icon("outpost-desktop");
    if let Err(e) = native.show() {
        log::warn!("could not say that Outpost is in the tray: {e}");
    }
}
