//! TLS: the mode decision table (DESIGN §2), key material, and the rustls client configuration.

pub(crate) mod der;
mod diagnose;
mod files;
pub(crate) mod legacy;
mod verify;

pub use diagnose::{classify_tls_error, describe_peer_bytes, format_unix, looks_like_tls, HandshakeContext};
pub use files::{load_certs, load_private_key, parse_certs, parse_private_key, read_file};

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
            let certs = load_certs(path, CA_KEY)?;
            let mut problems = Vec::new();
            for (i, cert) in certs.into_iter().enumerate() {
                warn_if_expiring(&cert, path, &format!("CA certificate #{}", i + 1));
                if let Err(e) = roots.add(cert) {
                    // Never skipped silently: a warning now, an error if nothing is left.
                    let problem =
                        format!("certificate #{} in '{}' is not a usable CA certificate: {e}", i + 1, path.display());
                    warn!("{CA_KEY}: {problem}; it is ignored");
                    problems.push(problem);
                }
            }
            if roots.is_empty() {
                return Err(Error::new(
                    Status::CertificateInvalid,
                    format!("{CA_KEY}: no usable CA certificate: {}", problems.join("; ")),
                ));
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

/// Warns when a certificate expires within 30 days (or has expired).
fn warn_if_expiring(cert: &rustls_pki_types::CertificateDer<'_>, path: &Path, what: &str) {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let Ok((_, parsed)) = X509Certificate::from_der(cert) else { return };
    let not_after = parsed.validity().not_after.timestamp();
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let when = format_unix(not_after.max(0) as u64);
    if not_after < now {
        warn!("{what} in '{}' expired at {when}; renew it", path.display());
    } else if not_after - now < 30 * 86_400 {
        warn!("{what} in '{}' expires at {when}, in {} days; renew it", path.display(), (not_after - now) / 86_400);
    }
}

/// Warns when a private key file can be read by group or others.
fn warn_if_key_exposed(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            warn!(
                "the private key '{}' can be read by group or others (mode {mode:03o}); restrict it with `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
}

fn load_client_key(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<Arc<CertifiedKey>> {
    let chain = load_certs(cert, CERT_KEY)?;
    if let Some(leaf) = chain.first() {
        warn_if_expiring(leaf, cert, "the client certificate");
    }
    warn_if_key_exposed(key);
    let der = load_private_key(key, KEY_KEY)?;
    let signing = provider.key_provider.load_private_key(der).map_err(|e| {
        Error::new(
            Status::PrivateKeyInvalid,
            format!("{KEY_KEY}: '{}' is not a usable private key: {e}", key.display()),
        )
    })?;
    let certified = CertifiedKey::new(chain, signing);
    let matches = match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => true,
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => false,
        Err(e) => {
            // webpki cannot parse X.509 v1 certificates (SkyWalking's script makes v1 client
            // certificates too): compare the public keys from our own parse.
            use x509_parser::prelude::{FromDer, X509Certificate};
            let leaf = certified.end_entity_cert().map_err(|_| {
                Error::new(Status::CertificateInvalid, format!("{CERT_KEY}: '{}' holds no certificate", cert.display()))
            })?;
            let (_, parsed) = X509Certificate::from_der(leaf).map_err(|_| {
                Error::new(
                    Status::CertificateInvalid,
                    format!("{CERT_KEY}: the first certificate in '{}' cannot be parsed: {e}", cert.display()),
                )
            })?;
            certified.key.public_key().is_none_or(|spki| spki.as_ref() == parsed.public_key().raw)
        }
    };
    if !matches {
        return Err(Error::new(
            Status::KeyMismatch,
            format!(
                "the private key '{}' ({KEY_KEY}) does not belong to the certificate '{}' ({CERT_KEY}); \
                 use the key the certificate was issued for",
                key.display(),
                cert.display()
            ),
        ));
    }
    Ok(Arc::new(certified))
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

/// One loaded generation of a channel's TLS material.
#[derive(Debug)]
struct Material {
    config: Arc<ClientConfig>,
    key: Option<Arc<CertifiedKey>>,
}

impl Material {
    /// Loads and checks every file the plan names and builds the rustls configuration:
    /// TLS 1.3 and 1.2, ALPN h2, strict WebPKI verification.
    fn load(plan: &TlsPlan, trust: &Trust) -> Result<Material> {
        let provider = provider();
        let roots = Arc::new(load_roots(trust)?);
        let key = match &plan.client_cert {
            Some((cert, key)) => Some(load_client_key(cert, key, &provider)?),
            None => None,
        };
        let client = verify::ClientIdentity::of(plan, key.as_deref())?;
        let verifier = verify::ServerVerifier::new(roots, provider.clone(), trust.clone(), client)?;
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
        Ok(Material { config: Arc::new(config), key })
    }
}

/// A fingerprint of the files behind the material, to notice when they change on disk
/// (including a Kubernetes `..data` symlink swap, since files are read through links).
/// `None` when one of them cannot be read right now.
fn fingerprint(plan: &TlsPlan, trust: &Trust) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let ca = match trust {
        Trust::CaFile(p) => Some(p),
        Trust::SystemRoots => None,
    };
    let (cert, key) = match &plan.client_cert {
        Some((c, k)) => (Some(c), Some(k)),
        None => (None, None),
    };
    for path in [ca, cert, key].into_iter().flatten() {
        std::fs::read(path).ok()?.hash(&mut h);
    }
    Some(h.finish())
}

#[derive(Debug)]
struct Generation {
    material: Arc<Material>,
    fingerprint: Option<u64>,
    /// Files that failed to load, so the failure is logged once, not per connection.
    rejected: Option<u64>,
}

/// The TLS material of a channel. New connections re-check the files and use new
/// material when they changed; a broken new file keeps the old material (and says why).
#[derive(Debug, Clone)]
pub struct ClientTls {
    plan: Arc<TlsPlan>,
    pub trust: Trust,
    current: Arc<std::sync::Mutex<Generation>>,
}

impl ClientTls {
    /// Loads the material the plan names; `None` for plaintext.
    pub fn load(plan: &TlsPlan) -> Result<Option<ClientTls>> {
        let Some(trust) = plan.trust.clone() else { return Ok(None) };
        let fingerprint = fingerprint(plan, &trust);
        let material = Arc::new(Material::load(plan, &trust)?);
        let current = Arc::new(std::sync::Mutex::new(Generation { material, fingerprint, rejected: None }));
        Ok(Some(ClientTls { plan: Arc::new(plan.clone()), trust, current }))
    }

    /// The material for a new connection, reloaded first if the files changed.
    fn material(&self) -> Arc<Material> {
        let mut gen = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let now = fingerprint(&self.plan, &self.trust);
        if now.is_some() && now != gen.fingerprint && now != gen.rejected {
            match Material::load(&self.plan, &self.trust) {
                Ok(material) => {
                    info!("TLS certificates changed on disk; new connections use the new ones ({})", self.plan.reason);
                    gen.material = Arc::new(material);
                    gen.fingerprint = now;
                    gen.rejected = None;
                }
                Err(e) => {
                    warn!("the changed TLS files cannot be used, keeping the previous certificates: {}", e.message);
                    gen.rejected = now;
                }
            }
        }
        gen.material.clone()
    }

    pub fn has_client_cert(&self) -> bool {
        self.plan.client_cert.is_some()
    }

    /// The configuration for one new connection, with its own client-auth observer.
    /// Cheap: everything but the observer is shared (including the session cache).
    pub fn for_connection(&self) -> (Arc<ClientConfig>, Arc<ClientAuth>) {
        let material = self.material();
        let auth = Arc::new(ClientAuth::new(material.key.clone()));
        let mut config = (*material.config).clone();
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
