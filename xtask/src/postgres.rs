//! A PostgreSQL cluster of the tests' own (issue 16): Debian's PostgreSQL 15, `initdb` in a
//! temporary directory as the unprivileged user `nobody` (PostgreSQL refuses to run as root), on a
//! loopback port and a socket directory of its own; stopped and removed when dropped. The
//! server's conformance run and `cargo xtask bench server --database postgres` use it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, ensure_apt, is_root, status};

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    /// `postgres://outpost@127.0.0.1:<port>/outpost`: trusted on loopback, for tests only.
    pub url: String,
}

/// Runs `program` as nobody when this is root (PostgreSQL will not run as root).
fn as_nobody(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// The newest PostgreSQL installed: /usr/lib/postgresql/<version>/bin.
fn bin_dir() -> Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("/usr/lib/postgresql: {e}"))?
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no PostgreSQL under /usr/lib/postgresql".to_owned())
}

fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

impl Cluster {
    /// Installs PostgreSQL if it is missing, makes a cluster and starts it. `durable`: fsync on
    /// (benchmarks measure what a real server does); off for tests, whose clusters are thrown
    /// away.
    pub fn start(durable: bool) -> Result<Cluster> {
        ensure_apt(&["postgresql"])?;
        let bin = bin_dir()?;
        let dir = std::env::temp_dir().join(format!("outpost-postgres-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(dir.join("data")).map_err(|e| format!("{}: {e}", dir.display()))?;
        if is_root() {
            let mut chown = Command::new("chown");
            chown.args(["-R", "65534:65534"]).arg(&dir);
            status(chown)?;
        }
        let mut initdb = as_nobody(&bin.join("initdb"));
        initdb
            .args([
                "--auth=trust",
                "--username=outpost",
                "--encoding=UTF8",
                "--no-locale",
            ])
            .arg("-D")
            .arg(dir.join("data"))
            .stdout(std::process::Stdio::null());
        status(initdb)?;
        let port = free_port()?;
        let mut settings = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c max_connections=300 -c shared_buffers=128MB",
            dir.display()
        );
        if !durable {
            settings.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let mut start = as_nobody(&bin.join("pg_ctl"));
        start
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-o", &settings, "-l"])
            .arg(dir.join("postgres.log"))
            .args(["-w", "start"])
            .stdout(std::process::Stdio::null());
        let cluster = Cluster {
            url: format!("postgres://outpost@127.0.0.1:{port}/outpost"),
            dir,
            bin,
        };
        status(start).map_err(|e| {
            let log = std::fs::read_to_string(cluster.dir.join("postgres.log")).unwrap_or_default();
            format!("{e}\n{log}")
        })?;
        let mut createdb = Command::new(cluster.bin.join("createdb"));
        createdb.args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "outpost",
            "outpost",
        ]);
        status(createdb)?;
        eprintln!(
            "xtask: PostgreSQL on 127.0.0.1:{port} ({})",
            cluster.dir.display()
        );
        Ok(cluster)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut stop = as_nobody(&self.bin.join("pg_ctl"));
        stop.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .stdout(std::process::Stdio::null());
        if let Err(e) = status(stop) {
            eprintln!("xtask: PostgreSQL did not stop: {e}");
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("xtask: {} was left behind: {e}", self.dir.display());
        }
    }
}
