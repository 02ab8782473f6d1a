//! Accounts: passwords hashed with argon2id under a policy, sessions as opaque random tokens of
//! which only a SHA-256 hash is stored, with an expiry and logout.
//!
//! Guessing is slow however it is spread, and costs the server little: every sign-in attempt is
//! counted *before* its password is verified (so 40 concurrent guesses cannot all be checked),
//! per address and email together, per address, and per email from every address the agent has
//! not signed in from before (a guesser, from one address or from many, does not lock the agent
//! out from their own); and at most [`MAX_VERIFYING`] argon2 verifications (19 MiB each) run at
//! once, one more kept for addresses the agent signed in from before, the rest waiting briefly
//! or told to come back (429 with Retry-After), so memory stays bounded under a flood.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use outpost_protocol::Millis;
use sha2::{Digest, Sha256};

/// How long a session lasts.
pub const SESSION_TTL: Millis = 30 * 24 * 60 * 60 * 1000;
/// Sign-in attempts allowed within [`LOGIN_WINDOW`] for one email from one address,
pub const LOGIN_ATTEMPTS: usize = 5;
/// from one address whatever the email,
pub const ADDRESS_ATTEMPTS: usize = 30;
/// and for one email from all addresses together.
pub const EMAIL_ATTEMPTS: usize = 100;
pub const LOGIN_WINDOW: Millis = 5 * 60 * 1000;
/// Password verifications running at once (each holds argon2's 19 MiB).
pub const MAX_VERIFYING: usize = 4;
/// The shortest and longest password.
pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 256;
/// A password among this many of the most common is refused.
const COMMON_RANK: usize = 10_000;

/// Whether `password` may be used by the agent signing in with `email`: long enough, not too
/// long, not the email (or its name part), not one of the 10,000 most common passwords. The
/// refusal is a sentence for the person choosing it.
pub fn check_password(password: &str, email: &str) -> Result<(), PasswordRefused> {
    let refused = |key: &str, message: String| PasswordRefused {
        message,
        reason: outpost_protocol::Reason::new(key)
            .with("min", MIN_PASSWORD_CHARS.to_string())
            .with("max", MAX_PASSWORD_CHARS.to_string()),
    };
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(refused(
            "password_short",
            format!("A password needs at least {MIN_PASSWORD_CHARS} characters."),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(refused(
            "password_long",
            format!("A password may have at most {MAX_PASSWORD_CHARS} characters."),
        ));
    }
    let lowered = password.trim().to_lowercase();
    let email = email.trim().to_lowercase();
    let name = email.split('@').next().unwrap_or_default();
    if lowered == email || (!name.is_empty() && lowered == name) {
        return Err(refused(
            "password_is_email",
            "A password cannot be the email address.".into(),
        ));
    }
    if is_common(password) {
        return Err(refused(
            "password_common",
            "That password is one of the most common ones, which are guessed first: choose another."
                .into(),
        ));
    }
    Ok(())
}

/// Why a password is refused: the sentence, and its reason for the agent's language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PasswordRefused {
    pub message: String,
    pub reason: outpost_protocol::Reason,
}

impl From<PasswordRefused> for String {
    fn from(p: PasswordRefused) -> String {
        p.message
    }
}

/// Whether the password, as a whole, is one of the [`COMMON_RANK`] most common passwords
/// (zxcvbn's frequency list, case ignored as it does).
fn is_common(password: &str) -> bool {
    use zxcvbn::feedback::Warning;
    use zxcvbn::matching::patterns::MatchPattern;
    let entropy = zxcvbn::zxcvbn(password, &[]);
    let [only] = entropy.sequence() else {
        return false;
    };
    // Only a match in the passwords list carries these warnings.
    let from_password_list = matches!(
        entropy.feedback().and_then(|f| f.warning()),
        Some(
            Warning::ThisIsATop10Password
                | Warning::ThisIsATop100Password
                | Warning::ThisIsACommonPassword
        )
    );
    match &only.pattern {
        MatchPattern::Dictionary(d) => {
            from_password_list && !d.l33t && !d.reversed && d.rank <= COMMON_RANK
        }
        _ => false,
    }
}

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

/// Verifies passwords on a few threads of its own, each keeping argon2's working memory (19 MiB
/// with the default parameters) for its next check. Under a flood of sign-ins the memory is
/// bounded by this pool, not by how many requests arrive nor by which of the runtime's many
/// blocking threads would run them (each would keep its own allocator arena, never given back).
pub struct Verifiers {
    checks: std::sync::mpsc::Sender<Check>,
}

struct Check {
    password: String,
    stored: String,
    answer: tokio::sync::oneshot::Sender<bool>,
}

impl Verifiers {
    /// Starts `threads` verifier threads; they end when this is dropped.
    pub fn start(threads: usize) -> std::io::Result<Verifiers> {
        let (checks, queue) = std::sync::mpsc::channel::<Check>();
        let queue = std::sync::Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("outpost-verify-{i}"))
                .spawn(move || {
                    let mut memory: Vec<argon2::Block> = Vec::new();
                    loop {
                        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok(check) = next else { return };
                        let ok = verify_with(&check.password, &check.stored, &mut memory);
                        // The requester may have gone: nothing to tell.
                        let _gone = check.answer.send(ok);
                    }
                })?;
        }
        Ok(Verifiers { checks })
    }

    /// Whether `password` matches the stored hash (an empty or unreadable hash never does).
    pub async fn verify(&self, password: String, stored: String) -> bool {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let sent = self.checks.send(Check {
            password,
            stored,
            answer,
        });
        sent.is_ok() && answered.await.unwrap_or(false)
    }
}

/// [`verify_password`] with working memory kept from one check to the next.
fn verify_with(password: &str, stored: &str, memory: &mut Vec<argon2::Block>) -> bool {
    use argon2::password_hash::Output;
    use argon2::{Algorithm, Params, Version};
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) =
        (Algorithm::try_from(hash.algorithm), Params::try_from(&hash))
    else {
        return false;
    };
    let version = match hash.version {
        Some(v) => match Version::try_from(v) {
            Ok(v) => v,
            Err(_) => return false,
        },
        None => Version::default(),
    };
    let blocks = params.block_count();
    if memory.len() != blocks {
        memory.clear();
        memory.resize(blocks, argon2::Block::new());
        memory.shrink_to_fit();
    }
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if argon
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..])
        .is_err()
    {
        return false;
    }
    // Output's comparison takes the same time wherever the bytes differ.
    Output::new(&out).is_ok_and(|o| o == expected)
}

/// A new session token (256 random bits, hex) and the hash that is stored.
/// How long an invitation link works.
pub const INVITE_TTL: outpost_protocol::Millis = 7 * 24 * 60 * 60 * 1000;

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

/// How long an address the agent signed in from stays known.
pub const KNOWN_FOR: Millis = 30 * 24 * 60 * 60 * 1000;

/// Sign-in attempts by key, in a sliding window, and the addresses each email signed in from.
/// Bounded: at most [`MAX_KEYS`] keys of each; past that, the stale go first.
#[derive(Default)]
pub struct LoginLimiter {
    attempts: Mutex<HashMap<String, Vec<Millis>>>,
    known: Mutex<HashMap<String, Millis>>,
}

/// Keys the limiter keeps at most (each a few dozen bytes).
pub const MAX_KEYS: usize = 100_000;

/// A counted attempt: given back if the sign-in succeeds.
pub struct Attempt {
    keys: Vec<(String, usize)>,
    pair: String,
    at: Millis,
    /// The agent signed in from this address before.
    pub known: bool,
    /// Counted in the store that the server's processes share, not in this process's memory.
    pub shared: bool,
}

impl Attempt {
    /// An attempt the shared store counted under `keys`.
    pub fn shared(keys: Vec<(String, usize)>, pair: String, at: Millis, known: bool) -> Attempt {
        Attempt {
            keys,
            pair,
            at,
            known,
            shared: true,
        }
    }

    /// The pair, the keys it was counted under, and when: what the store takes back.
    pub fn counted(&self) -> (&str, Vec<String>, Millis) {
        let keys = self.keys.iter().map(|(k, _)| k.clone()).collect();
        (&self.pair, keys, self.at)
    }
}

impl LoginLimiter {
    /// Counts an attempt before its password is checked. `Err(wait)` when one of its keys is
    /// spent: how long until the next is allowed.
    pub fn begin(&self, ip: IpAddr, email: &str, now: Millis) -> Result<Attempt, Millis> {
        let (pair, mut keys, email_key) = Self::keys(ip, email);
        let known = self
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&pair)
            .is_some_and(|at| now - at < KNOWN_FOR);
        if !known {
            keys.push(email_key);
        }
        let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait: Option<Millis> = None;
        for (key, limit) in &keys {
            if let Some(times) = map.get_mut(key) {
                times.retain(|t| now - t < LOGIN_WINDOW);
                if times.len() >= *limit {
                    let until = times[0] + LOGIN_WINDOW - now;
                    wait = Some(wait.map_or(until, |w| w.max(until)));
                }
            }
        }
        if let Some(wait) = wait {
            return Err(wait.max(1));
        }
        if map.len() >= MAX_KEYS {
            map.retain(|_, times| times.iter().any(|t| now - t < LOGIN_WINDOW));
        }
        for (key, _) in &keys {
            if map.len() < MAX_KEYS || map.contains_key(key) {
                map.entry(key.clone()).or_default().push(now);
            }
        }
        Ok(Attempt {
            keys,
            pair,
            at: now,
            known,
            shared: false,
        })
    }

    /// What an attempt from `ip` for `email` counts under: the pair (its key), the keys always
    /// counted with their limits, and the email's own key (counted unless the pair is known).
    #[allow(clippy::type_complexity)]
    pub fn keys(ip: IpAddr, email: &str) -> (String, Vec<(String, usize)>, (String, usize)) {
        let email = email.trim().to_lowercase();
        let pair = format!("pair:{ip}|{email}");
        let keys = vec![
            (pair.clone(), LOGIN_ATTEMPTS),
            (format!("ip:{ip}"), ADDRESS_ATTEMPTS),
        ];
        (pair, keys, (format!("email:{email}"), EMAIL_ATTEMPTS))
    }

    /// A sign-in succeeded: its attempt is not counted against the address or the email, and
    /// the address is known for the email from now on.
    pub fn succeeded(&self, attempt: Attempt) {
        {
            let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
            if known.len() >= MAX_KEYS {
                known.retain(|_, at| attempt.at - *at < KNOWN_FOR);
            }
            if known.len() < MAX_KEYS {
                known.insert(attempt.pair.clone(), attempt.at);
            }
        }
        let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        for (key, _) in &attempt.keys {
            if let Some(times) = map.get_mut(key)
                && let Some(i) = times.iter().rposition(|t| *t == attempt.at)
            {
                times.remove(i);
            }
        }
    }

    /// How many keys are kept (for tests: memory stays bounded).
    pub fn len(&self) -> usize {
        self.attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod auth_tests;
