//! Against the real OS keyring (on Linux: gnome-keyring on the session bus; `cargo xtask test`
//! starts one, unlocked, in a private D-Bus session).

use super::*;

fn test_keyring() -> Keyring {
    // A service of the test's own: the agent's real entries are never touched.
    Keyring::new(&format!("dev.outpost.test.{}", uuid::Uuid::now_v7()))
}

#[test]
fn test_token_is_kept_read_back_replaced_and_forgotten() {
    let k = test_keyring();
    let server = "http://127.0.0.1:7000/";
    assert_eq!(
        k.load(server, "ana@example.com")
            .expect("keyring reachable"),
        None
    );

    k.save(server, "Ana@Example.com ", "first-token")
        .expect("saved");
    // The same account, however the address and email are written.
    assert_eq!(
        k.load("http://127.0.0.1:7000", "ana@example.com")
            .expect("read"),
        Some("first-token".into())
    );
    k.save(server, "ana@example.com", "second-token")
        .expect("replaced");
    assert_eq!(
        k.load(server, "ana@example.com").expect("read"),
        Some("second-token".into())
    );
    // Another account on the same server, or the same email on another server, is apart.
    assert_eq!(k.load(server, "bruno@example.com").expect("read"), None);
    assert_eq!(
        k.load("http://127.0.0.1:7001", "ana@example.com")
            .expect("read"),
        None
    );

    k.forget(server, "ana@example.com").expect("forgotten");
    assert_eq!(k.load(server, "ana@example.com").expect("read"), None);
    k.forget(server, "ana@example.com")
        .expect("forgetting twice is fine");
}
