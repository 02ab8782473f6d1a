//! How the client reaches a server: over https (and wss) with rustls, trusting the platform's
//! root certificates, plus those of an extra CA when the business runs a private CA: a setting
//! of the app (the agent picks the CA's PEM file; kept as `extra-ca.pem` in the app's folder)
//! and the environment (`OUTPOST_CA_FILE`, PEM), both trusted when both are there. Plain http only to this computer (loopback), for development and
//! the tests; anything else is refused with a sentence before a byte is sent.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use outpost_protocol::Reason;

/// The environment variable naming an extra CA file (PEM) to trust besides the platform's roots.
pub const CA_FILE_ENV: &str = "OUTPOST_CA_FILE";

/// Whether `server` may be spoken to: https anywhere; http only to loopback. The refusal is a
/// sentence and its reason.
pub fn check_server(server: &str) -> Result<(), (String, Reason)> {
    let lower = server.trim().to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return Err((
            "The server address starts with https:// (or http:// for this computer).".into(),
            Reason::new("server_address"),
        ));
    };
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err((
            format!(
                "Outpost speaks to {host} only over https: plain http would let anyone on the way read and change what is sent. Use https://."
            ),
            Reason::new("http_not_local").with("host", host),
        ))
    }
}

/// The file of the app's extra CA setting, in its folder.
pub const SETTING_FILE: &str = "extra-ca.pem";

/// What connections trust now: built when first asked, and again when the setting changes.
static CONFIG: RwLock<Option<Arc<rustls::ClientConfig>>> = RwLock::new(None);
/// The setting's file, once the app said where its folder is.
static SETTING: RwLock<Option<PathBuf>> = RwLock::new(None);

/// The TLS settings a new connection uses: the platform's roots, the environment's CA file and
/// the app's setting. A CA file that cannot be read is logged and left out (the platform's
/// roots stay).
pub fn client_config() -> Arc<rustls::ClientConfig> {
    if let Some(config) = CONFIG.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
        return config.clone();
    }
    let mut extra: Vec<PathBuf> = std::env::var_os(CA_FILE_ENV)
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(file) = SETTING.read().unwrap_or_else(|p| p.into_inner()).clone()
        && file.exists()
    {
        extra.push(file);
    }
    let built = Arc::new(build(&extra));
    *CONFIG.write().unwrap_or_else(|p| p.into_inner()) = Some(built.clone());
    built
}

/// Where the app keeps its extra CA setting (its data folder); connections made from now on
/// trust it.
pub fn use_setting_in(data_dir: &Path) {
    *SETTING.write().unwrap_or_else(|p| p.into_inner()) = Some(data_dir.join(SETTING_FILE));
    *CONFIG.write().unwrap_or_else(|p| p.into_inner()) = None;
}

/// Sets (or, with `None`, removes) the app's extra CA: PEM text holding at least one
/// certificate, checked before it is kept. Returns how many certificates it holds. Connections
/// made from now on trust it (a sign-in, the next reconnection).
pub fn set_extra_ca(data_dir: &Path, pem: Option<&str>) -> Result<usize, String> {
    let file = data_dir.join(SETTING_FILE);
    let count = match pem {
        Some(text) => {
            let certs = pem_certificates(text.as_bytes())?;
            crate::owner_only::dir(data_dir).map_err(|e| e.to_string())?;
            crate::owner_only::write(&file, text.as_bytes()).map_err(|e| e.to_string())?;
            certs.len()
        }
        None => match std::fs::remove_file(&file) {
            Ok(()) => 0,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e.to_string()),
        },
    };
    use_setting_in(data_dir);
    Ok(count)
}

/// How many certificates the app's extra CA setting holds (0: none set).
pub fn extra_ca_count(data_dir: &Path) -> usize {
    read_pem_certificates(&data_dir.join(SETTING_FILE)).map_or(0, |c| c.len())
}

/// A configuration trusting the platform's roots and the certificates of `extra_ca` files.
fn build(extra_ca: &[PathBuf]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::warn!("a platform root certificate could not be read: {e}");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(added, ignored, "platform root certificates");
    for path in extra_ca {
        match read_pem_certificates(path) {
            Ok(certs) => {
                let (added, _) = roots.add_parsable_certificates(certs);
                tracing::info!(file = %path.display(), added, "trusting an extra CA");
            }
            Err(e) => {
                tracing::error!(file = %path.display(), "the extra CA file cannot be read: {e}")
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
        // The ring provider supports the default versions; this cannot happen, but then the
        // default configuration (no roots: every certificate refused) is the safe answer.
        Err(e) => {
            tracing::error!("TLS cannot be set up: {e}");
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        }
    }
}

fn read_pem_certificates(
    path: &Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    pem_certificates(&std::fs::read(path).map_err(|e| e.to_string())?)
}

/// The certificates of PEM text; at least one, each one X.509 that rustls can read.
fn pem_certificates(pem: &[u8]) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs: Result<Vec<_>, _> = rustls::pki_types::CertificateDer::pem_slice_iter(pem).collect();
    let certs = certs.map_err(|e| format!("it is not a PEM certificate file ({e})"))?;
    if certs.is_empty() {
        return Err("it holds no certificate (a PEM file has -----BEGIN CERTIFICATE-----)".into());
    }
    for c in &certs {
        let mut store = rustls::RootCertStore::empty();
        store
            .add(c.clone())
            .map_err(|e| format!("a certificate in it cannot be used: {e}"))?;
    }
    Ok(certs)
}

/// A certificate the client refused, as the agent is told: untrusted, expired, or for another
/// name; `None` when `error` is not about the server's certificate.
pub fn certificate_problem(error: &(dyn std::error::Error + 'static)) -> Option<(String, Reason)> {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = at {
        if let Some(rustls::Error::InvalidCertificate(c)) = e.downcast_ref::<rustls::Error>() {
            return Some(said(c));
        }
        // io errors wrap others (tokio-rustls's around rustls's, hyper's around that) and do
        // not give them as their source: step into what they carry.
        at = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

fn said(c: &rustls::CertificateError) -> (String, Reason) {
    use rustls::CertificateError as C;
    let (key, sentence) = match c {
        C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => (
            "tls_expired",
            "The server's certificate has expired (or is not valid yet): nothing was sent. Ask whoever runs the server to renew it.",
        ),
        C::NotValidForName | C::NotValidForNameContext { .. } => (
            "tls_wrong_name",
            "The server's certificate is for another address: nothing was sent. Check the address, or ask whoever runs the server.",
        ),
        _ => (
            "tls_untrusted",
            "The server's certificate is not trusted by this computer: nothing was sent. If your company uses its own certificate authority, ask for its file (OUTPOST_CA_FILE).",
        ),
    };
    (sentence.to_owned(), Reason::new(key))
}
