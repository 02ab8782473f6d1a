//! Files at rest that only their owner may read: the client's mirror (with its WAL and SHM), its
//! files folder and `account.json`, and the server's data folder and database. Created 0700
//! (folders) and 0600 (files) whatever the umask, and tightened at start when an older version
//! left them readable by others. Elsewhere than Unix the platform's per-user folders already
//! keep them private, and these do nothing.
//!
//! Shared by outpost-core and outpost-server (the server includes this file by path): both keep
//! data at rest, and the rule is one.

use std::io;
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// Creates `dir` and its missing parents owner-only; tightens `dir` itself if it exists.
pub fn dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir)?;
    tighten(dir, 0o700)
}

/// Makes sure `file` exists (empty if new) and is owner-only.
pub fn file(file: &Path) -> io::Result<()> {
    create(file, false)?;
    tighten(file, 0o600)
}

/// Opens `path` for writing as a new owner-only file (truncated if it exists).
pub fn create(path: &Path, truncate: bool) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    options.mode(0o600);
    let f = options.open(path)?;
    tighten(path, 0o600)?;
    Ok(f)
}

/// Writes `bytes` to `path` owner-only, whole or not at all (a temporary file, then a rename).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let part = path.with_extension("part");
    {
        let mut f = create(&part, true)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&part, path)
}

/// Takes group and other bits off what exists at `path` (nothing there is fine).
pub fn tighten_if_there(path: &Path) -> io::Result<()> {
    let mode = if path.is_dir() { 0o700 } else { 0o600 };
    match tighten(path, mode) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(unix)]
fn tighten(path: &Path, mode: u32) -> io::Result<()> {
    let now = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if now & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}
