//! The server's configuration file (TOML). Every key has a flag and an environment variable of
//! the same meaning; a flag wins over the environment, which wins over the file, which wins over
//! the default. An unknown key is an error, not silently ignored (a typo would otherwise leave a
//! setting at its default).
//!
//! ```toml
//! listen = "127.0.0.1:8750"
//! data_dir = "/var/lib/outpost"
//! database = "postgres://outpost@db.internal/outpost"   # else SQLite in data_dir
//! public_url = "https://outpost.example.com"
//! trusted_proxies = ["127.0.0.1"]
//! tls_cert = "/etc/outpost/cert.pem"
//! tls_key = "/etc/outpost/key.pem"
//! log_format = "json"            # or "human"
//! owner_email = "owner@example.com"
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where the packaged server looks when no `--config` is given.
pub const DEFAULT_PATH: &str = "/etc/outpost/outpost-server.toml";

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    /// The PostgreSQL database several server processes share (`postgres://…`).
    pub database: Option<String>,
    pub public_url: Option<String>,
    pub trusted_proxies: Option<Vec<IpAddr>>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub owner_email: Option<String>,
}

/// How the server writes its logs: lines a person reads, or one JSON object a line.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

impl Config {
    /// Reads the file at `path`; a missing file at the default path is an empty configuration,
    /// anywhere else an error.
    pub fn load(path: Option<&Path>) -> Result<Config, String> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_PATH), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Config::default());
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(url) = &config.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(format!(
                "public_url {url:?} must start with https:// (or http:// for loopback)"
            ));
        }
        if let Some(url) = &config.database
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err("database must be a postgres:// address".into());
        }
        if config.tls_cert.is_some() != config.tls_key.is_some() {
            return Err("tls_cert and tls_key go together".into());
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_key() {
        let c = Config::parse(
            r#"
            listen = "127.0.0.1:9000"
            data_dir = "/var/lib/outpost"
            public_url = "https://outpost.example.com"
            trusted_proxies = ["127.0.0.1", "::1"]
            tls_cert = "/etc/outpost/cert.pem"
            tls_key = "/etc/outpost/key.pem"
            log_format = "json"
            owner_email = "dona@loja.example"
            "#,
        )
        .unwrap();
        assert_eq!(c.listen, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(c.trusted_proxies.as_ref().map(Vec::len), Some(2));
        assert_eq!(c.log_format, Some(LogFormat::Json));
        assert_eq!(c.owner_email.as_deref(), Some("dona@loja.example"));
    }

    #[test]
    fn refuses_what_it_does_not_know_or_cannot_use() {
        let typo = Config::parse("listn = \"127.0.0.1:1\"").unwrap_err();
        assert!(typo.contains("listn"), "{typo}");
        assert!(Config::parse("listen = \"nowhere\"").is_err());
        assert!(Config::parse("public_url = \"outpost.example.com\"").is_err());
        assert!(Config::parse("tls_cert = \"/c.pem\"").is_err());
        assert!(Config::parse("log_format = \"xml\"").is_err());
    }

    #[test]
    fn the_packaged_file_is_read_as_written() {
        let c = Config::parse(include_str!(
            "../../../packaging/server/outpost-server.toml"
        ))
        .unwrap();
        assert_eq!(c.data_dir.as_deref(), Some(Path::new("/var/lib/outpost")));
        assert_eq!(c.listen, Some("127.0.0.1:8750".parse().unwrap()));
        assert_eq!(c.log_format, Some(LogFormat::Human));
    }

    #[test]
    fn a_missing_default_file_is_empty_but_a_named_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        assert!(Config::load(Some(&missing)).is_err());
    }
}
