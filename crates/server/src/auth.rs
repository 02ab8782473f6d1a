//! Accounts: passwords hashed with argon2id, sessions as opaque random tokens of which only a
//! SHA-256 hash is stored, with an expiry and logout; failed logins rate-limited per address and
//! per email, so guessing a password is slow however it is spread.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use outpost_protocol::Millis;
use sha2::{Digest, Sha256};

/// How long a session lasts.
pub const SESSION_TTL: Millis = 30 * 24 * 60 * 60 * 1000;
/// Failed logins allowed per key (address, or email) within [`LOGIN_WINDOW`].
pub const LOGIN_ATTEMPTS: usize = 5;
pub const LOGIN_WINDOW: Millis = 5 * 60 * 1000;

pub fn hash_password(password: &str) -> Result<String, String> {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(|e| format!("no randomness for a salt: {e}"))?;
    let salt =
        SaltString::encode_b64(&random).map_err(|e| format!("could not make a salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("could not hash the password: {e}"))
}

/// Whether `password` matches the stored hash. An empty stored hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A new session token (256 random bits, hex) and the hash that is stored.
pub fn new_token() -> Result<(String, Vec<u8>), String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a token: {e}"))?;
    let token = hex::encode(bytes);
    let hash = token_hash(&token);
    Ok((token, hash))
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Failed logins by key, in a sliding window.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Millis>>>,
}

impl LoginLimiter {
    fn keys(ip: IpAddr, email: &str) -> [String; 2] {
        [
            format!("ip:{ip}"),
            format!("email:{}", email.trim().to_lowercase()),
        ]
    }

    /// `Some(wait)` when this attempt must be refused: how long until the next is allowed.
    pub fn check(&self, ip: IpAddr, email: &str, now: Millis) -> Option<Millis> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for key in Self::keys(ip, email) {
            if let Some(times) = map.get_mut(&key) {
                times.retain(|t| now - t < LOGIN_WINDOW);
                if times.len() >= LOGIN_ATTEMPTS {
                    let until = times[0] + LOGIN_WINDOW - now;
                    wait = Some(wait.map_or(until, |w: Millis| w.max(until)));
                }
            }
        }
        wait
    }

    pub fn failed(&self, ip: IpAddr, email: &str, now: Millis) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for key in Self::keys(ip, email) {
            map.entry(key).or_default().push(now);
        }
        if map.len() > 100_000 {
            map.retain(|_, times| times.iter().any(|t| now - t < LOGIN_WINDOW));
        }
    }

    /// A successful sign-in clears the email's failures (the address keeps its own).
    pub fn succeeded(&self, email: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("email:{}", email.trim().to_lowercase()));
    }
}
