//! Accounts: sign-in, sessions, who the server says one is.

use super::*;

#[tokio::test]
async fn test_login_gives_a_token_and_logout_ends_it() {
    let h = harness().await;
    let token = h.login(&h.team_agent).await;
    assert_eq!(token.len(), 64);
    let me: Agent = h.get(&token, "/v1/me").await.json().await.unwrap();
    assert_eq!(me.id, h.team_agent.id);
    let r = h.post_empty(&token, "/v1/auth/logout").await;
    assert_eq!(r.status(), 204);
    let r = h.get(&token, "/v1/me").await;
    assert_eq!(r.status(), 401, "a logged-out token no longer works");
}

#[tokio::test]
async fn test_sessions_expire() {
    let h = harness().await;
    let token = h.login(&h.owner).await;
    h.advance(outpost_server::auth::SESSION_TTL + 1);
    let r = h.get(&token, "/v1/me").await;
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unauthenticated");
    assert!(body["message"].as_str().unwrap().contains("Sign in again"));
}

#[tokio::test]
async fn test_wrong_password_is_refused_and_repeated_failures_are_rate_limited() {
    let h = harness().await;
    let attempt = |password: &'static str| {
        h.http
            .post(h.url("/v1/auth/login"))
            .json(&json!({ "email": "tiago@outpost.example", "password": password }))
            .send()
    };
    for _ in 0..5 {
        let r = attempt("errada").await.unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = attempt(PASSWORD).await.unwrap();
    assert_eq!(
        r.status(),
        429,
        "even the right password waits once the limit is reached"
    );
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&wait));
    h.advance(outpost_server::auth::LOGIN_WINDOW);
    assert_eq!(
        attempt(PASSWORD).await.unwrap().status(),
        200,
        "the window passes"
    );
    let unknown = h
        .http
        .post(h.url("/v1/auth/login"))
        .json(&json!({ "email": "ninguem@outpost.example", "password": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
}

#[tokio::test]
async fn test_every_route_needs_a_session() {
    let h = harness().await;
    for (method, path) in [
        ("GET", "/v1/me"),
        ("GET", "/v1/changes?after=0"),
        ("POST", "/v1/ops"),
        ("GET", "/v1/stream"),
        ("POST", "/v1/auth/logout"),
    ] {
        let req = match method {
            "GET" => h.http.get(h.url(path)),
            _ => h.http.post(h.url(path)).json(&json!({ "ops": [] })),
        };
        let r = req.bearer_auth("0000").send().await.unwrap();
        assert_eq!(r.status(), 401, "{method} {path}");
    }
}
