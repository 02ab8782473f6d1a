//! Links in and out of the app. In: `outpost://conversation/<id>` (deep links, from a browser, a
//! chat, "Copy link") opens that conversation in the running instance. Out: the window never
//! navigates away from the app; a link the page did not hand to the opener itself is refused
//! here, and opened in the system's browser when its scheme is one messages may link to.

use outpost_protocol::ConversationId;
use tauri::{Manager, Runtime};

/// The schemes links in messages may have (as ui/src/lib/links.ts and the opener's scope).
pub const OUTSIDE: [&str; 4] = ["http", "https", "mailto", "tel"];

/// The conversation an `outpost://` link names, or why it names none.
pub fn conversation_of(link: &str) -> Result<ConversationId, String> {
    let url = url::Url::parse(link).map_err(|e| format!("not a link ({e})"))?;
    if url.scheme() != "outpost" {
        return Err(format!("not an outpost:// link: {}", url.scheme()));
    }
    let (Some("conversation"), Some(id)) = (url.host_str(), url.path().strip_prefix('/')) else {
        return Err("not a conversation's link".into());
    };
    let id = id.trim_end_matches('/');
    uuid::Uuid::parse_str(id)
        .map(ConversationId)
        .map_err(|_| "the conversation's id is not one".into())
}

/// An `outpost://` link was opened: its conversation, when the agent's mirror has it (a link to
/// one out of their sight opens nothing: the mirror holds only what they may see).
pub fn open<R: Runtime>(handle: &tauri::AppHandle<R>, link: &str) {
    let id = match conversation_of(link) {
        Ok(id) => id,
        Err(why) => {
            log::warn!("an outpost:// link was not opened: {why}");
            return;
        }
    };
    let Some(shell) = handle.try_state::<crate::Shell>() else {
        return;
    };
    let core = shell.app.clone();
    tauri::async_runtime::spawn(async move {
        let known = core
            .handle(outpost_core::Request::OpenConversation {
                conversation_id: id,
                before: None,
                limit: 1,
            })
            .await;
        match known {
            outpost_core::Response::Timeline { .. } => core.open_conversation(id),
            _ => log::warn!("a link named a conversation this agent does not have"),
        }
    });
}

/// The window stays on the app's own page: any other navigation is refused, and a link of a
/// scheme messages may hold goes to the system's handler instead.
pub fn guard<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri::plugin::Builder::new("navigation-guard")
        .on_navigation(|webview, url| {
            if is_app_page(url) {
                return true;
            }
            if OUTSIDE.contains(&url.scheme()) {
                use tauri_plugin_opener::OpenerExt;
                crate::or_log(
                    "open a link outside",
                    webview
                        .app_handle()
                        .opener()
                        .open_url(url.as_str(), None::<&str>),
                );
            } else {
                log::warn!(
                    "the window was kept from navigating to a {} link",
                    url.scheme()
                );
            }
            false
        })
        .build()
}

/// The app's own pages: tauri://localhost (Linux, macOS), http(s)://tauri.localhost (Windows).
fn is_app_page(url: &url::Url) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        "about" => url.as_str() == "about:blank",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_link_names_its_conversation_and_nothing_else_does() {
        let id = "0194f3c2-7d1e-7a4b-9c3d-2e1f0a9b8c7d";
        assert_eq!(
            conversation_of(&format!("outpost://conversation/{id}"))
                .unwrap()
                .0
                .to_string(),
            id
        );
        assert!(conversation_of(&format!("outpost://conversation/{id}/")).is_ok());
        for bad in [
            "outpost://conversation/not-an-id",
            "outpost://contact/0194f3c2-7d1e-7a4b-9c3d-2e1f0a9b8c7d",
            "https://conversation/0194f3c2-7d1e-7a4b-9c3d-2e1f0a9b8c7d",
            "outpost://conversation/",
            "outpost://conversation/0194f3c2-7d1e-7a4b-9c3d-2e1f0a9b8c7d/../x",
            "",
        ] {
            assert!(conversation_of(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_apps_own_page_is_navigated_to() {
        for (url, ok) in [
            ("tauri://localhost/index.html", true),
            ("http://tauri.localhost/", true),
            ("https://example.com/", false),
            ("http://localhost:1420/", false),
            ("file:///etc/passwd", false),
            ("javascript:alert(1)", false),
        ] {
            assert_eq!(is_app_page(&url::Url::parse(url).unwrap()), ok, "{url}");
        }
    }
}
