use super::*;

#[test]
fn test_the_password_policy_refuses_short_long_email_and_common_passwords() {
    let email = "ana.souza@outpost.example";
    assert!(check_password("curta", email).is_err());
    assert!(check_password(&"x".repeat(300), email).is_err());
    assert!(check_password("Ana.Souza@outpost.example", email).is_err());
    assert!(check_password("ana.souza", "ana.souza@outpost.example").is_err());
    for common in [
        "password123",
        "1234567890",
        "qwertyuiop",
        "Manchester",
        "terminator",
    ] {
        assert!(
            check_password(common, email).is_err(),
            "{common} is among the most common"
        );
    }
    for fine in [
        "senha-forte-123",
        "outpost-demo",
        "correct horse battery staple",
    ] {
        assert_eq!(check_password(fine, email), Ok(()), "{fine}");
    }
}

#[tokio::test]
async fn test_the_verifier_pool_agrees_with_argon2() {
    let pool = Verifiers::start(2).unwrap();
    let stored = hash_password("senha-forte-123").unwrap();
    for _ in 0..3 {
        assert!(pool.verify("senha-forte-123".into(), stored.clone()).await);
        assert!(!pool.verify("senha-forte-124".into(), stored.clone()).await);
    }
    assert!(
        !pool.verify("x".into(), String::new()).await,
        "no hash, no match"
    );
    assert!(!pool.verify("x".into(), "$argon2id$garbage".into()).await);
    assert!(verify_password("senha-forte-123", &stored));
}

#[test]
fn test_attempts_are_counted_before_the_check_and_per_address() {
    let limiter = LoginLimiter::default();
    let guesser: IpAddr = "203.0.113.7".parse().unwrap();
    let agent_home: IpAddr = "198.51.100.2".parse().unwrap();
    let email = "ana@outpost.example";
    for _ in 0..LOGIN_ATTEMPTS {
        assert!(limiter.begin(guesser, email, 0).is_ok());
    }
    assert!(limiter.begin(guesser, email, 1).is_err(), "the sixth waits");
    // The agent's own address is not locked out by someone else's guesses.
    let ok = limiter.begin(agent_home, email, 2).expect("own address");
    limiter.succeeded(ok);
    // After the window, the guesser may try again.
    assert!(limiter.begin(guesser, email, LOGIN_WINDOW + 1).is_ok());
}

#[test]
fn test_a_success_gives_its_attempt_back() {
    let limiter = LoginLimiter::default();
    let ip: IpAddr = "198.51.100.3".parse().unwrap();
    for t in 0..20 {
        let a = limiter
            .begin(ip, "ana@outpost.example", t)
            .expect("allowed");
        limiter.succeeded(a);
    }
}

#[test]
fn test_guesses_from_many_addresses_do_not_lock_the_agent_out_of_an_address_they_used() {
    let limiter = LoginLimiter::default();
    let email = "ana@outpost.example";
    let home: IpAddr = "198.51.100.9".parse().unwrap();
    let signed_in = limiter.begin(home, email, 0).expect("first sign-in");
    limiter.succeeded(signed_in);
    // A distributed guesser spends the email's budget from 50 addresses.
    for i in 0..EMAIL_ATTEMPTS + 20 {
        let ip: IpAddr = format!("203.0.113.{}", i % 50).parse().unwrap();
        let _ = limiter.begin(ip, email, 10);
    }
    let stranger: IpAddr = "192.0.2.77".parse().unwrap();
    assert!(
        limiter.begin(stranger, email, 11).is_err(),
        "a new address waits while the email is under attack"
    );
    let again = limiter
        .begin(home, email, 12)
        .expect("the agent's own address");
    assert!(again.known);
}
