//! An empty Tauri app: one window, one static page, nothing else. The desktop benchmark
//! (`cargo xtask bench desktop`) measures its memory the same way as Outpost's, as the baseline.
//! Prints "empty: loaded" when its page has loaded.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn main() {
    let built = tauri::Builder::default()
        .on_page_load(|_, payload| {
            if matches!(payload.event(), tauri::webview::PageLoadEvent::Finished) {
                println!("empty: loaded");
            }
        })
        .build(tauri::generate_context!("examples/empty/tauri.conf.json"));
    match built {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("the empty app could not start: {e}");
            std::process::exit(1);
        }
    }
}
