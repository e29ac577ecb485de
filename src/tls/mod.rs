//! TLS: the mode decision table (DESIGN §2, `plan`), key material and its rotation
//! (`material`), and the rustls client configuration.

pub(crate) mod der;
mod diagnose;
mod files;
pub(crate) mod legacy;
mod material;
mod plan;
mod verify;
pub(crate) mod x509;
pub(crate) mod x509_ext;

pub use diagnose::{
    classify_tls_error, closed_after_handshake, connection_failure, describe_peer_bytes, format_unix, looks_like_tls,
    not_h2, HandshakeContext,
};
pub use files::{load_certs, load_private_key, parse_certs, parse_private_key, read_file};
pub use material::ClientTls;
pub use plan::{plaintext_token_warning, plan, TlsPlan};

use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;
use std::path::PathBuf;
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

/// The crypto provider compiled in: ring by default, aws-lc-rs with that feature alone.
pub fn provider() -> Arc<CryptoProvider> {
    #[cfg(feature = "ring")]
    return Arc::new(rustls::crypto::ring::default_provider());
    #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
    return Arc::new(rustls::crypto::aws_lc_rs::default_provider());
}

/// Supplies the client certificate to one connection and notes when its server asked for
/// one that we lack.
#[derive(Debug)]
pub struct ClientAuth {
    key: Option<Arc<CertifiedKey>>,
    /// The server requested a client certificate.
    asked: AtomicBool,
}

impl ClientAuth {
    pub fn new(key: Option<Arc<CertifiedKey>>) -> Self {
        ClientAuth { key, asked: AtomicBool::new(false) }
    }
    /// True when the server requested a client certificate.
    pub fn asked(&self) -> bool {
        self.asked.load(Ordering::Relaxed)
    }
    /// True when a server requested a client certificate and none was configured.
    pub fn asked_without_cert(&self) -> bool {
        self.key.is_none() && self.asked()
    }
    pub fn has_cert(&self) -> bool {
        self.key.is_some()
    }
}

impl ResolvesClientCert for ClientAuth {
    fn resolve(&self, _issuers: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::Relaxed);
        self.key.clone()
    }
    fn has_certs(&self) -> bool {
        // Always true so that rustls tells us (through `resolve`) when a server asks.
        true
    }
}
