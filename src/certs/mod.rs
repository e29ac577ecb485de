//! Certificate generation: CAs, intermediates, server and client certificates, keys in
//! PKCS#8 / PKCS#1 / SEC1 form (PEM or DER), chains, CA bundles, and the file layout an
//! agent's `ca/` folder expects ([`write_deployment`], used by `swtls certs`).
//!
//! Built with the `certs` feature only; the library itself never generates keys.
//!
//! ```no_run
//! use swtls::certs::{Ca, CertOptions, KeyFormat};
//! # fn main() -> Result<(), swtls::certs::CertError> {
//! let ca = Ca::new("test CA")?;
//! let server = ca.issue_server(&CertOptions::new("localhost").sans(&["localhost", "127.0.0.1"]))?;
//! server.write_chain("server.crt")?;
//! server.key().write_pem("server.key", KeyFormat::Sec1)?;
//! let expired = ca.issue_server(&CertOptions::new("localhost").san("localhost").expired())?;
//! # let _ = expired; Ok(()) }
//! ```
//!
//! Keys are ECDSA P-256 unless asked otherwise. Every key, RSA included, is generated in
//! process by rcgen on aws-lc-rs (ring cannot generate RSA keys). Private key files are
//! written with mode 0600 on Unix.

mod ca;
mod deploy;
mod files;
mod key;

pub use ca::{ca_bundle_pem, write_ca_bundle, Ca, CertOptions, Issued};
pub use ca::{certificate_spki, certificate_version};
pub use deploy::{write_deployment, CertSet, Deployment, DeploymentOptions, WrittenFile};
pub use files::pem_encode;
pub use key::PrivateKey;

use rcgen::SignatureAlgorithm;
use std::time::Duration;
use x509_cert::der::Any;
use x509_cert::spki::AlgorithmIdentifierOwned;

/// An error of certificate generation: a message naming the file or thing at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertError(String);

impl CertError {
    pub fn new(message: impl Into<String>) -> CertError {
        CertError(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CertError {}

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Key algorithm of a generated key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyAlg {
    /// ECDSA on P-256 with SHA-256 (the default).
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// RSA 2048 with SHA-256 (PKCS#1 v1.5 signatures).
    Rsa2048,
}

impl KeyAlg {
    fn rcgen_alg(self) -> &'static SignatureAlgorithm {
        match self {
            KeyAlg::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlg::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyAlg::Ed25519 => &rcgen::PKCS_ED25519,
            KeyAlg::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
        }
    }

    /// The AlgorithmIdentifier of the signatures this key makes.
    fn signature_algorithm(self) -> AlgorithmIdentifierOwned {
        use x509_cert::der::oid::db::{rfc5912, rfc8410};
        let (oid, parameters) = match self {
            KeyAlg::EcdsaP256 => (rfc5912::ECDSA_WITH_SHA_256, None),
            KeyAlg::EcdsaP384 => (rfc5912::ECDSA_WITH_SHA_384, None),
            KeyAlg::Ed25519 => (rfc8410::ID_ED_25519, None),
            // NULL parameters, as RFC 4055 asks for RSA.
            KeyAlg::Rsa2048 => (rfc5912::SHA_256_WITH_RSA_ENCRYPTION, Some(Any::null())),
        };
        AlgorithmIdentifierOwned { oid, parameters }
    }

    /// The "traditional" key format of this algorithm: PKCS#1 for RSA, SEC1 for
    /// ECDSA, PKCS#8 for Ed25519 (which has no other).
    pub fn traditional_format(self) -> KeyFormat {
        match self {
            KeyAlg::EcdsaP256 | KeyAlg::EcdsaP384 => KeyFormat::Sec1,
            KeyAlg::Rsa2048 => KeyFormat::Pkcs1,
            KeyAlg::Ed25519 => KeyFormat::Pkcs8,
        }
    }
}

/// Encoding of a private key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyFormat {
    /// PKCS#8 `PrivateKeyInfo` (PEM label `PRIVATE KEY`). Any algorithm.
    Pkcs8,
    /// PKCS#1 `RSAPrivateKey` (PEM label `RSA PRIVATE KEY`). RSA only.
    Pkcs1,
    /// SEC1 `ECPrivateKey` with the curve named (PEM label `EC PRIVATE KEY`). ECDSA only.
    Sec1,
}

impl KeyFormat {
    /// The PEM label of this format.
    pub fn pem_label(self) -> &'static str {
        match self {
            KeyFormat::Pkcs8 => "PRIVATE KEY",
            KeyFormat::Pkcs1 => "RSA PRIVATE KEY",
            KeyFormat::Sec1 => "EC PRIVATE KEY",
        }
    }
}
