//! TLS: the mode decision table (DESIGN §2), key material, and the rustls client configuration.

mod diagnose;
mod files;
mod verify;

pub use diagnose::{classify_tls_error, describe_peer_bytes, format_unix, looks_like_tls, HandshakeContext};
pub use files::{load_certs, load_private_key, read_file};

use crate::config::Config;
use crate::error::{Error, Result, Status};
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How a channel talks to its backends.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plaintext HTTP/2 (h2c): no ca.crt found and force TLS off.
    Plaintext = 0,
    /// One-way TLS; the server is verified against the configured CA file.
    Tls = 1,
    /// Mutual TLS; configured CA file plus client certificate and key.
    MutualTls = 2,
    /// One-way TLS; the server is verified against the system trust store (force TLS, no CA).
    TlsSystemRoots = 3,
    /// Mutual TLS with the system trust store (force TLS, no CA, client certificate and key).
    MutualTlsSystemRoots = 4,
}

impl TlsMode {
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::Plaintext => "plaintext",
            TlsMode::Tls => "tls",
            TlsMode::MutualTls => "mutual-tls",
            TlsMode::TlsSystemRoots => "tls-system-roots",
            TlsMode::MutualTlsSystemRoots => "mutual-tls-system-roots",
        }
    }
    pub fn is_tls(self) -> bool {
        self != TlsMode::Plaintext
    }
}

/// Where trust in the server comes from.
#[derive(Debug, Clone)]
pub enum Trust {
    CaFile(PathBuf),
    SystemRoots,
}

/// The outcome of the mode decision: the mode, the files it uses, and why.
#[derive(Debug, Clone)]
pub struct TlsPlan {
    pub mode: TlsMode,
    pub reason: String,
    pub trust: Option<Trust>,
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

const CA_KEY: &str = "agent.ssl_trusted_ca_path";
const CERT_KEY: &str = "agent.ssl_cert_chain_path";
const KEY_KEY: &str = "agent.ssl_key_path";

/// A configured file: its path and whether it was set explicitly (then it must exist).
fn locate(explicit: &Option<PathBuf>, dir: &Path, default: &str, key: &str) -> Result<(PathBuf, bool)> {
    match explicit {
        Some(p) => match std::fs::metadata(p) {
            Ok(m) if m.is_file() => Ok((p.clone(), true)),
            Ok(_) => Err(Error::new(Status::FileUnreadable, format!("{key}: '{}' is not a regular file", p.display()))),
            Err(_) => Err(Error::new(
                Status::FileNotFound,
                format!("{key}: file '{}' does not exist (it was set explicitly, so swtls will not fall back to another mode)", p.display()),
            )),
        },
        None => {
            let p = dir.join(default);
            let found = std::fs::metadata(&p).map(|m| m.is_file()).unwrap_or(false);
            Ok((p, found))
        }
    }
}

/// Applies the TLS mode decision table to a configuration. Checks which files exist; does
/// not parse them (see [`ClientTls::load`]).
pub fn plan(config: &Config) -> Result<TlsPlan> {
    let (ca, ca_found) = locate(&config.ca_path, &config.ca_dir, "ca.crt", CA_KEY)?;
    let (cert, cert_found) = locate(&config.cert_path, &config.ca_dir, "client.crt", CERT_KEY)?;
    let (key, key_found) = locate(&config.key_path, &config.ca_dir, "client.pem", KEY_KEY)?;

    if !ca_found && !config.force_tls {
        let mut reason = format!("plaintext: no CA file at '{}' and agent.force_tls is false", ca.display());
        if config.cert_path.is_some() || config.key_path.is_some() {
            reason.push_str("; the configured client certificate and key are not used without TLS");
        }
        return Ok(TlsPlan { mode: TlsMode::Plaintext, reason, trust: None, client_cert: None });
    }

    let (trust, trust_text) = if ca_found {
        (Trust::CaFile(ca.clone()), format!("CA file '{}'", ca.display()))
    } else {
        (
            Trust::SystemRoots,
            format!("the system trust store (agent.force_tls is true and there is no '{}')", ca.display()),
        )
    };
    let client_cert = match (cert_found, key_found) {
        (true, true) => Some((cert.clone(), key.clone())),
        (false, false) => None,
        (true, false) => {
            return Err(Error::new(
                Status::ClientCertIncomplete,
                format!(
                    "client certificate '{}' found but its private key '{}' ({KEY_KEY}) is missing; \
                     add the key or remove the certificate (swtls does not fall back to one-way TLS)",
                    cert.display(),
                    key.display()
                ),
            ))
        }
        (false, true) => {
            return Err(Error::new(
                Status::ClientCertIncomplete,
                format!(
                    "client private key '{}' found but its certificate '{}' ({CERT_KEY}) is missing; \
                     add the certificate or remove the key (swtls does not fall back to one-way TLS)",
                    key.display(),
                    cert.display()
                ),
            ))
        }
    };
    let mode = match (ca_found, client_cert.is_some()) {
        (true, true) => TlsMode::MutualTls,
        (true, false) => TlsMode::Tls,
        (false, true) => TlsMode::MutualTlsSystemRoots,
        (false, false) => TlsMode::TlsSystemRoots,
    };
    let reason = match &client_cert {
        Some((c, k)) => format!(
            "{}: server verified with {trust_text}; client certificate '{}' with key '{}'",
            mode.name(),
            c.display(),
            k.display()
        ),
        None => format!(
            "{}: server verified with {trust_text}; no client certificate ('{}' and '{}' absent)",
            mode.name(),
            cert.display(),
            key.display()
        ),
    };
    Ok(TlsPlan { mode, reason, trust: Some(trust), client_cert })
}

/// The crypto provider compiled in: ring by default, aws-lc-rs with that feature alone.
pub fn provider() -> Arc<CryptoProvider> {
    #[cfg(feature = "ring")]
    return Arc::new(rustls::crypto::ring::default_provider());
    #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
    return Arc::new(rustls::crypto::aws_lc_rs::default_provider());
}

fn load_roots(trust: &Trust) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match trust {
        Trust::CaFile(path) => {
            for (i, cert) in load_certs(path, CA_KEY)?.into_iter().enumerate() {
                roots.add(cert).map_err(|e| {
                    Error::new(
                        Status::CertificateInvalid,
                        format!(
                            "{CA_KEY}: certificate #{} in '{}' is not a usable CA certificate: {e}",
                            i + 1,
                            path.display()
                        ),
                    )
                })?;
            }
        }
        Trust::SystemRoots => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let errors: Vec<String> = found.errors.iter().map(|e| e.to_string()).collect();
                return Err(Error::new(
                    Status::FileNotFound,
                    format!(
                        "agent.force_tls: no usable certificate in the system trust store{}; install the \
                         ca-certificates package, set SSL_CERT_FILE, or put the backend's CA in ca.crt",
                        if errors.is_empty() { String::new() } else { format!(" ({})", errors.join("; ")) }
                    ),
                ));
            }
        }
    }
    Ok(roots)
}

fn load_client_key(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<Arc<CertifiedKey>> {
    let chain = load_certs(cert, CERT_KEY)?;
    let der = load_private_key(key, KEY_KEY)?;
    let signing = provider.key_provider.load_private_key(der).map_err(|e| {
        Error::new(
            Status::PrivateKeyInvalid,
            format!("{KEY_KEY}: '{}' is not a usable private key: {e}", key.display()),
        )
    })?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(Arc::new(certified)),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => Err(Error::new(
            Status::KeyMismatch,
            format!(
                "the private key '{}' ({KEY_KEY}) does not belong to the certificate '{}' ({CERT_KEY}); \
                 use the key the certificate was issued for",
                key.display(),
                cert.display()
            ),
        )),
        Err(e) => Err(Error::new(
            Status::CertificateInvalid,
            format!("{CERT_KEY}: the first certificate in '{}' cannot be parsed: {e}", cert.display()),
        )),
    }
}

/// Supplies the client certificate to one connection and notes when its server asked for
/// one that we lack.
#[derive(Debug)]
pub struct ClientAuth {
    key: Option<Arc<CertifiedKey>>,
    asked_without_cert: AtomicBool,
}

impl ClientAuth {
    pub fn new(key: Option<Arc<CertifiedKey>>) -> Self {
        ClientAuth { key, asked_without_cert: AtomicBool::new(false) }
    }
    /// True when a server requested a client certificate and none was configured.
    pub fn asked_without_cert(&self) -> bool {
        self.asked_without_cert.load(Ordering::Relaxed)
    }
    pub fn has_cert(&self) -> bool {
        self.key.is_some()
    }
}

impl ResolvesClientCert for ClientAuth {
    fn resolve(&self, _issuers: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        if self.key.is_none() {
            self.asked_without_cert.store(true, Ordering::Relaxed);
        }
        self.key.clone()
    }
    fn has_certs(&self) -> bool {
        // Always true so that rustls tells us (through `resolve`) when a server asks.
        true
    }
}

/// The loaded TLS material of a channel: one rustls configuration shared by its connections.
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
    key: Option<Arc<CertifiedKey>>,
    pub trust: Trust,
}

impl ClientTls {
    /// Loads and checks every file the plan names and builds the rustls configuration:
    /// TLS 1.3 and 1.2, ALPN h2, strict WebPKI verification.
    pub fn load(plan: &TlsPlan) -> Result<Option<ClientTls>> {
        let Some(trust) = plan.trust.clone() else { return Ok(None) };
        let provider = provider();
        let roots = Arc::new(load_roots(&trust)?);
        let key = match &plan.client_cert {
            Some((cert, key)) => Some(load_client_key(cert, key, &provider)?),
            None => None,
        };
        let verifier = verify::ServerVerifier::new(roots, provider.clone(), trust.clone())?;
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| {
                Error::new(
                    Status::TlsHandshakeFailed,
                    format!("TLS versions not supported by the crypto provider: {e}"),
                )
            })?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_cert_resolver(Arc::new(ClientAuth::new(key.clone())));
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Some(ClientTls { config: Arc::new(config), key, trust }))
    }

    pub fn has_client_cert(&self) -> bool {
        self.key.is_some()
    }

    /// The configuration for one new connection, with its own client-auth observer.
    /// Cheap: everything but the observer is shared (including the session cache).
    pub fn for_connection(&self) -> (Arc<ClientConfig>, Arc<ClientAuth>) {
        let auth = Arc::new(ClientAuth::new(self.key.clone()));
        let mut config = (*self.config).clone();
        config.client_auth_cert_resolver = auth.clone();
        (Arc::new(config), auth)
    }

    pub fn trust_text(&self) -> String {
        match &self.trust {
            Trust::CaFile(p) => format!("the CA file '{}'", p.display()),
            Trust::SystemRoots => "the system trust store".to_string(),
        }
    }
}
