//! The server's own TLS (`--tls-cert`/`--tls-key`): the certificate chain and key are read from
//! their PEM files, and read again when either file changes (a renewal needs no restart: the
//! next handshake after it uses the new one). Behind a reverse proxy that terminates TLS, leave
//! them out and name the proxy with `--trusted-proxy`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Where the certificate chain and its key are (PEM).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// How often, at most, the files are looked at again.
const LOOK_AGAIN: Duration = Duration::from_secs(1);

/// The certificate in use, and the files' times it was read at.
struct Loaded {
    stamps: (Option<SystemTime>, Option<SystemTime>),
    key: Arc<CertifiedKey>,
}

/// Resolves every handshake to the current certificate, reloading it when its files change.
pub struct Certificates {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    loaded: RwLock<Loaded>,
    looked: Mutex<Instant>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

fn stamp(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn load(files: &TlsFiles, provider: &CryptoProvider) -> Result<Arc<CertifiedKey>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| format!("{}: {e}", files.cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", files.cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate in it", files.cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("{}: {e}", files.key.display()))?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("{}: {e}", files.key.display()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| format!("the key does not belong to the certificate: {e}"))?;
    Ok(Arc::new(certified))
}

impl Certificates {
    /// Reads the files; an error says which file and why.
    pub fn open(files: TlsFiles) -> Result<Arc<Certificates>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = load(&files, &provider)?;
        let stamps = (stamp(&files.cert), stamp(&files.key));
        Ok(Arc::new(Certificates {
            files,
            provider,
            loaded: RwLock::new(Loaded { stamps, key }),
            looked: Mutex::new(Instant::now()),
        }))
    }

    /// The TLS settings for the acceptor: this resolver, HTTP/1.1.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, String> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Reads the files again if they changed since they were read (at most once a second). A
    /// change that cannot be read keeps the certificate in use, and says why.
    fn refresh(&self) {
        {
            let mut looked = self.looked.lock().unwrap_or_else(|p| p.into_inner());
            if looked.elapsed() < LOOK_AGAIN {
                return;
            }
            *looked = Instant::now();
        }
        let stamps = (stamp(&self.files.cert), stamp(&self.files.key));
        if self.loaded.read().unwrap_or_else(|p| p.into_inner()).stamps == stamps {
            return;
        }
        match load(&self.files, &self.provider) {
            Ok(key) => {
                *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = Loaded { stamps, key };
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
            }
            Err(e) => {
                tracing::error!("the new TLS certificate cannot be used (the old one stays): {e}")
            }
        }
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.refresh();
        Some(
            self.loaded
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .key
                .clone(),
        )
    }
}
