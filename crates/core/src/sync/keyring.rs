//! Session tokens in the operating system's keyring: the Keychain on macOS, the Credential
//! Manager on Windows, the Secret Service (GNOME Keyring, KWallet) on Linux.
//!
//! # What is kept, and where
//! - The token of a signed-in session, one entry per server and email. The password is never
//!   kept: when a session ends (401) the agent is asked to sign in again.
//! - Which server and email the mirror belongs to is not a secret: the shell remembers it next
//!   to the mirror, and the token is looked up here with it.
//! - Never a file, the database or a log: `Session`'s `Debug` hides the token, and errors from
//!   the keyring say what failed without echoing what was stored.
//!
//! Calls into the keyring block (D-Bus on Linux): async code calls them off the runtime.

#[cfg(test)]
#[path = "keyring/keyring_tests.rs"]
mod keyring_tests;

/// The keyring service under which Outpost keeps its entries.
pub const SERVICE: &str = "dev.outpost.desktop";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(
        "The system keyring cannot be reached ({0}). Outpost keeps sign-in tokens only there; \
         unlock or start the keyring (on Linux: GNOME Keyring or KWallet) and sign in again."
    )]
    Unavailable(String),
    #[error("The system keyring refused to keep the session ({0}).")]
    Refused(String),
}

/// The OS keyring, under one service name (tests use their own so they never touch the
/// agent's entries).
#[derive(Clone, Debug)]
pub struct Keyring {
    service: String,
}

impl Default for Keyring {
    fn default() -> Keyring {
        Keyring::new(SERVICE)
    }
}

fn account(server: &str, email: &str) -> String {
    format!(
        "{} at {}",
        email.trim().to_lowercase(),
        server.trim_end_matches('/')
    )
}

fn failure(e: keyring::Error) -> KeyringError {
    match e {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
            KeyringError::Unavailable(inner.to_string())
        }
        // The other variants describe the entry, never its secret.
        other => KeyringError::Refused(other.to_string()),
    }
}

impl Keyring {
    pub fn new(service: &str) -> Keyring {
        Keyring {
            service: service.to_owned(),
        }
    }

    fn entry(&self, server: &str, email: &str) -> Result<keyring::Entry, KeyringError> {
        keyring::Entry::new(&self.service, &account(server, email)).map_err(failure)
    }

    /// Keeps the token of a session (replacing an earlier one).
    pub fn save(&self, server: &str, email: &str, token: &str) -> Result<(), KeyringError> {
        self.entry(server, email)?
            .set_password(token)
            .map_err(failure)
    }

    /// The kept token, if there is one.
    pub fn load(&self, server: &str, email: &str) -> Result<Option<String>, KeyringError> {
        match self.entry(server, email)?.get_password() {
            Ok(token) => Ok(Some(token)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(failure(e)),
        }
    }

    /// Forgets the token (sign-out, or the server ended the session). Forgetting what is not
    /// there is not an error.
    pub fn forget(&self, server: &str, email: &str) -> Result<(), KeyringError> {
        match self.entry(server, email)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(failure(e)),
        }
    }
}
