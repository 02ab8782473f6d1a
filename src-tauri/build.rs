fn main() {
    // The app's own commands, each with a permission a capability must grant (capabilities/).
    let manifest = tauri_build::AppManifest::new().commands(&[
        "request",
        "subscribe",
        "painted",
        "desktop_settings",
        "save_desktop_settings",
        "interface_language",
        "about",
        "open_log_folder",
        "quit",
        "check_update",
        "install_update",
        "restart",
    ]);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        panic!("tauri build: {e:#}");
    }
}
