//! The core's errors. Each says what happened in a sentence an agent can act on, and maps to an
//! [`ErrorCode`] for the UI.

use std::path::PathBuf;

use outpost_protocol::{ErrorBody, ErrorCode, Reason, ValidationError, rules::RuleError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} is not an Outpost mirror (it holds other data). It was left untouched.", .path.display())]
    ForeignDatabase { path: PathBuf },
    #[error("{} is damaged and cannot be opened ({detail}). It was left untouched; sign in again to rebuild the mirror in a new file.", .path.display())]
    CorruptDatabase { path: PathBuf, detail: String },
    #[error("{} was written by a newer Outpost (schema {found}; this version knows up to {known}). Update Outpost to open it. It was left untouched.", .path.display())]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "The disk is full, so nothing was saved (what was stored before is intact). Free some space and try again."
    )]
    DiskFull,
    #[error("The server sent data that cannot be stored ({0}). Nothing from that page was kept.")]
    BadChanges(String),
    #[error("{0}")]
    Refused(#[from] RuleError),
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("{0} was not found.")]
    NotFound(String),
    #[error("Not signed in: this mirror has no agent yet.")]
    NoAgent,
    #[error(
        "This mirror belongs to {email} at {server}; another account needs a mirror of its own."
    )]
    OtherAccount { server: String, email: String },
    #[error("Stored data could not be read ({0}).")]
    Decode(#[from] serde_json::Error),
    #[error("Database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("A file beside the mirror could not be written or read ({0}).")]
    Io(std::io::Error),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::StorageFull => Error::DiskFull,
            _ => Error::Io(e),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => Error::DiskFull,
            _ => Error::Sqlite(e),
        }
    }
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Refused(r) => r.code,
            Error::Invalid(_) | Error::BadChanges(_) => ErrorCode::InvalidInput,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::NoAgent => ErrorCode::Unauthenticated,
            Error::OtherAccount { .. } => ErrorCode::Conflict,
            Error::ForeignDatabase { .. }
            | Error::CorruptDatabase { .. }
            | Error::NewerSchema { .. }
            | Error::DiskFull
            | Error::Decode(_)
            | Error::Sqlite(_)
            | Error::Io(_) => ErrorCode::Internal,
        }
    }

    /// Why, for the agent's language.
    pub fn reason(&self) -> Reason {
        match self {
            Error::Refused(r) => r.why.clone(),
            Error::Invalid(v) => v.reason(),
            Error::NotFound(what) => Reason::not_found(what),
            Error::NoAgent => Reason::new("not_signed_in"),
            Error::OtherAccount { server, email } => Reason::new("other_account")
                .with("server", server.clone())
                .with("email", email.clone()),
            Error::DiskFull => Reason::new("disk_full"),
            Error::BadChanges(_) => Reason::new("bad_changes"),
            Error::ForeignDatabase { .. }
            | Error::CorruptDatabase { .. }
            | Error::NewerSchema { .. } => Reason::new("mirror_unusable"),
            Error::Decode(_) | Error::Sqlite(_) | Error::Io(_) => Reason::new("internal"),
        }
    }

    /// The error as it crosses to the UI.
    pub fn body(&self) -> ErrorBody {
        ErrorBody::because(self.code(), self.to_string(), self.reason())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
