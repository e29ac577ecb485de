//! A channel's TLS material: the files the plan names, loaded into a rustls client
//! configuration, re-read when they change on disk (rotation, DESIGN §4), and kept per
//! process generation so that a `fork()` never leaves the child waiting on the parent.
//!
//! - The files are read once per check, and exactly the bytes that were hashed are parsed:
//!   a file caught half-written is rejected under the hash of those bytes, so the complete
//!   file (other bytes) is tried again.
//! - Reading and parsing happen outside the lock and, for connections, on the runtime's
//!   blocking pool, never on a worker thread (a slow filesystem would stall timers).
//! - The lock guards only the swap of an `Arc`; nothing is logged while it is held, so a
//!   host's log callback never runs under it.

use super::diagnose::format_unix;
use super::files::{parse_certs, parse_private_key, read_file};
use super::plan::{TlsPlan, CA_KEY, CERT_KEY, KEY_KEY};
use super::{provider, verify, ClientAuth, Trust};
use crate::error::{Error, Result, Status};
use crate::runtime;
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::{Arc, Mutex, TryLockError};
use zeroize::Zeroizing;

/// The bytes of the files behind one generation of material, read once. The key's bytes
/// are wiped when dropped, whether or not they were parsed.
struct Files {
    ca: Option<Vec<u8>>,
    cert: Option<Vec<u8>>,
    key: Option<Zeroizing<Vec<u8>>>,
}

impl Files {
    fn read(plan: &TlsPlan, trust: &Trust) -> Result<Files> {
        let ca = match trust {
            Trust::CaFile(p) => Some(read_file(p, CA_KEY)?),
            Trust::SystemRoots => None,
        };
        let (cert, key) = match &plan.client_cert {
            Some((c, k)) => (Some(read_file(c, CERT_KEY)?), Some(Zeroizing::new(read_file(k, KEY_KEY)?))),
            None => (None, None),
        };
        Ok(Files { ca, cert, key })
    }

    /// Notices a change on disk (including a Kubernetes `..data` symlink swap, since the
    /// files are read through their links). Not a security boundary: whoever can change
    /// the files decides the material anyway.
    fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for part in [self.ca.as_deref(), self.cert.as_deref(), self.key.as_ref().map(|k| k.as_slice())] {
            part.hash(&mut h);
        }
        h.finish()
    }
}

fn load_roots(trust: &Trust, ca: Option<Vec<u8>>) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match (trust, ca) {
        (Trust::CaFile(path), Some(bytes)) => {
            let certs = parse_certs(bytes, path, CA_KEY)?;
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
        _ => {
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
    let Some(parsed) = super::x509::Certificate::parse(cert) else { return };
    let not_after = parsed.not_after;
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
#[cfg(unix)]
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

/// Other targets have no group/other permission bits to check.
#[cfg(not(unix))]
fn warn_if_key_exposed(_: &Path) {}

fn load_client_key(
    (cert, cert_bytes): (&Path, Vec<u8>),
    (key, mut key_bytes): (&Path, Zeroizing<Vec<u8>>),
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>> {
    let chain = parse_certs(cert_bytes, cert, CERT_KEY)?;
    if let Some(leaf) = chain.first() {
        warn_if_expiring(leaf, cert, "the client certificate");
    }
    warn_if_key_exposed(key);
    // Moved out (parse_private_key wipes what it consumes); the emptied holder wipes nothing.
    let der = parse_private_key(std::mem::take(&mut *key_bytes), key, KEY_KEY)?;
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
            let leaf = certified.end_entity_cert().map_err(|_| {
                Error::new(Status::CertificateInvalid, format!("{CERT_KEY}: '{}' holds no certificate", cert.display()))
            })?;
            let parsed = super::x509::Certificate::parse(leaf).ok_or_else(|| {
                Error::new(
                    Status::CertificateInvalid,
                    format!("{CERT_KEY}: the first certificate in '{}' cannot be parsed: {e}", cert.display()),
                )
            })?;
            certified.key.public_key().is_none_or(|spki| spki.as_ref() == parsed.spki)
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

/// One loaded generation of a channel's TLS material.
#[derive(Debug)]
pub(super) struct Material {
    pub(super) config: Arc<ClientConfig>,
    pub(super) key: Option<Arc<CertifiedKey>>,
}

impl Material {
    /// Checks every file the plan names, from the bytes read, and builds the rustls
    /// configuration: TLS 1.3 and 1.2, ALPN h2, strict WebPKI verification.
    fn from_files(plan: &TlsPlan, trust: &Trust, files: Files) -> Result<Material> {
        let provider = provider();
        let roots = Arc::new(load_roots(trust, files.ca)?);
        let key = match (&plan.client_cert, files.cert, files.key) {
            (Some((cert, key)), Some(cert_bytes), Some(key_bytes)) => {
                Some(load_client_key((cert, cert_bytes), (key, key_bytes), &provider)?)
            }
            _ => None,
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

    /// The same material with a session cache of its own: the cache has a lock, which a
    /// thread of the parent may have held at `fork()`.
    fn with_fresh_sessions(&self) -> Material {
        let mut config = (*self.config).clone();
        config.resumption = Resumption::default();
        Material { config: Arc::new(config), key: self.key.clone() }
    }
}

#[derive(Debug)]
struct Current {
    material: Arc<Material>,
    /// The hash of the files `material` was built from.
    fingerprint: u64,
    /// The hash of files that failed to load, so the failure is logged once, not per
    /// connection (other bytes are tried again).
    rejected: Option<u64>,
}

/// The material of one process generation.
#[derive(Debug)]
struct State {
    generation: u64,
    /// Held only to read or swap the `Arc`s: never during I/O, parsing or logging.
    current: Mutex<Current>,
    /// What the state started with, for a child whose parent held `current` at fork.
    seed: (Arc<Material>, u64),
}

impl State {
    fn new(material: Arc<Material>, fingerprint: u64) -> State {
        State {
            generation: runtime::generation(),
            current: Mutex::new(Current { material: material.clone(), fingerprint, rejected: None }),
            seed: (material, fingerprint),
        }
    }
}

/// The TLS material of a channel. New connections re-check the files and use new
/// material when they changed; a broken new file keeps the old material (and says why).
#[derive(Debug, Clone)]
pub struct ClientTls {
    plan: Arc<TlsPlan>,
    pub trust: Trust,
    state: Arc<State>,
}

impl ClientTls {
    /// Loads the material the plan names; `None` for plaintext.
    pub fn load(plan: &TlsPlan) -> Result<Option<ClientTls>> {
        let Some(trust) = plan.trust.clone() else { return Ok(None) };
        let files = Files::read(plan, &trust)?;
        let fingerprint = files.fingerprint();
        let material = Arc::new(Material::from_files(plan, &trust, files)?);
        Ok(Some(ClientTls { plan: Arc::new(plan.clone()), trust, state: Arc::new(State::new(material, fingerprint)) }))
    }

    /// This material for use in the current process: itself in the process it was loaded
    /// in; after `fork()`, a copy with its own lock and session cache, seeded from the
    /// parent's current material without waiting (the parent's lock may be held by a
    /// thread that does not exist in the child).
    pub fn for_process(&self) -> ClientTls {
        let generation = runtime::generation();
        if self.state.generation == generation {
            return self.clone();
        }
        let (material, fingerprint) = match self.state.current.try_lock() {
            Ok(c) => (c.material.clone(), c.fingerprint),
            Err(TryLockError::Poisoned(p)) => {
                let c = p.into_inner();
                (c.material.clone(), c.fingerprint)
            }
            Err(TryLockError::WouldBlock) => self.state.seed.clone(),
        };
        let material = Arc::new(material.with_fresh_sessions());
        ClientTls {
            plan: self.plan.clone(),
            trust: self.trust.clone(),
            state: Arc::new(State::new(material, fingerprint)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.state.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Re-reads the files and, when their bytes changed, loads new material (blocking
    /// I/O: call it off the runtime's worker threads). Returns the material to use.
    fn refresh(&self) -> Arc<Material> {
        let files = match Files::read(&self.plan, &self.trust) {
            Ok(f) => f,
            // Missing for a moment (a rename in progress): keep what we have.
            Err(_) => return self.lock().material.clone(),
        };
        let fingerprint = files.fingerprint();
        {
            let c = self.lock();
            if c.fingerprint == fingerprint || c.rejected == Some(fingerprint) {
                return c.material.clone();
            }
        }
        let loaded = Material::from_files(&self.plan, &self.trust, files);
        let (material, message) = {
            let mut c = self.lock();
            let message = match loaded {
                Ok(m) if c.fingerprint != fingerprint => {
                    c.material = Arc::new(m);
                    c.fingerprint = fingerprint;
                    c.rejected = None;
                    Some(Ok(()))
                }
                Ok(_) => None, // another connection loaded the same files first
                Err(e) if c.rejected != Some(fingerprint) => {
                    c.rejected = Some(fingerprint);
                    Some(Err(e))
                }
                Err(_) => None,
            };
            (c.material.clone(), message)
        };
        // Logged with the lock released: the host's callback may take its time.
        match message {
            Some(Ok(())) => {
                info!("TLS certificates changed on disk; new connections use the new ones ({})", self.plan.reason)
            }
            Some(Err(e)) => {
                warn!("the changed TLS files cannot be used, keeping the previous certificates: {}", e.message)
            }
            None => {}
        }
        material
    }

    pub fn has_client_cert(&self) -> bool {
        self.plan.client_cert.is_some()
    }

    /// The configuration for one new connection, with its own client-auth observer, after
    /// checking the files for changes on the runtime's blocking pool. Cheap when nothing
    /// changed: everything but the observer is shared (including the session cache).
    pub async fn for_connection(&self) -> (Arc<ClientConfig>, Arc<ClientAuth>) {
        let this = self.clone();
        let material = match tokio::task::spawn_blocking(move || this.refresh()).await {
            Ok(m) => m,
            Err(_) => self.lock().material.clone(),
        };
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
