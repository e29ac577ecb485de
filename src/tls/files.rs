//! Reading certificates and private keys from files (DESIGN §3).

use crate::error::{Error, Result, Status};
use rustls_pki_types::pem::{self, PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use std::path::Path;

/// Reads a whole file; a missing file and an unreadable one get distinct codes, both naming
/// the file and the configuration key that pointed at it.
pub fn read_file(path: &Path, key: &str) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::new(Status::FileNotFound, format!("{}: file '{}' does not exist", key, path.display())))
        }
        Err(e) => Err(Error::new(Status::FileUnreadable, format!("{}: cannot read '{}': {}", key, path.display(), e))),
    }
}

fn kind_name(kind: SectionKind) -> &'static str {
    match kind {
        SectionKind::Certificate => "a CERTIFICATE",
        SectionKind::PublicKey => "a PUBLIC KEY",
        SectionKind::RsaPrivateKey => "an RSA PRIVATE KEY",
        SectionKind::PrivateKey => "a PRIVATE KEY",
        SectionKind::EcPrivateKey => "an EC PRIVATE KEY",
        SectionKind::Crl => "an X509 CRL",
        SectionKind::Csr => "a CERTIFICATE REQUEST",
        SectionKind::EchConfigList => "an ECHCONFIG",
        _ => "an unknown PEM block",
    }
}

/// The PEM sections of a file, with errors that say what the file holds instead.
fn pem_sections(
    bytes: &[u8],
    path: &Path,
    key: &str,
    status: Status,
    what: &str,
) -> Result<Vec<(SectionKind, Vec<u8>)>> {
    let err = |why: String| Error::new(status, format!("{}: '{}' {}", key, path.display(), why));
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(err(format!("is empty (expected {what})")));
    }
    let mut sections = Vec::new();
    for item in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(bytes) {
        match item {
            Ok(section) => sections.push(section),
            Err(pem::Error::NoItemsFound) => break,
            Err(e) => return Err(err(format!("is not valid PEM: {e}"))),
        }
    }
    if sections.is_empty() {
        let text = String::from_utf8_lossy(bytes);
        if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
            return Err(err("holds an encrypted private key; swtls needs it unencrypted: run \
                 `openssl pkey -in FILE -out FILE.plain` and point the configuration at the result"
                .into()));
        }
        if text.contains("-----BEGIN") {
            return Err(err(format!("holds no PEM block swtls understands (expected {what})")));
        }
        return Err(err(format!("holds no PEM data (expected {what} between -----BEGIN and -----END lines)")));
    }
    Ok(sections)
}

/// Loads every certificate of a PEM file (a chain, or a CA bundle), in file order.
pub fn load_certs(path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = read_file(path, key)?;
    let sections = pem_sections(&bytes, path, key, Status::CertificateInvalid, "-----BEGIN CERTIFICATE-----")?;
    let certs: Vec<CertificateDer<'static>> = sections
        .iter()
        .filter(|(k, _)| *k == SectionKind::Certificate)
        .map(|(_, der)| CertificateDer::from(der.clone()))
        .collect();
    if certs.is_empty() {
        return Err(Error::new(
            Status::CertificateInvalid,
            format!(
                "{}: '{}' holds {} where a certificate was expected",
                key,
                path.display(),
                kind_name(sections[0].0)
            ),
        ));
    }
    Ok(certs)
}

/// Loads the single private key of a PEM file: PKCS#8, RSA PKCS#1 or SEC1 EC.
pub fn load_private_key(path: &Path, key: &str) -> Result<PrivateKeyDer<'static>> {
    let bytes = read_file(path, key)?;
    let sections = pem_sections(&bytes, path, key, Status::PrivateKeyInvalid, "-----BEGIN PRIVATE KEY-----")?;
    let mut keys = sections.iter().filter_map(|(kind, der)| match kind {
        SectionKind::PrivateKey => Some(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der.clone()))),
        SectionKind::RsaPrivateKey => Some(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der.clone()))),
        SectionKind::EcPrivateKey => Some(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der.clone()))),
        _ => None,
    });
    let Some(first) = keys.next() else {
        return Err(Error::new(
            Status::PrivateKeyInvalid,
            format!(
                "{}: '{}' holds {} where a private key was expected",
                key,
                path.display(),
                kind_name(sections[0].0)
            ),
        ));
    };
    if keys.next().is_some() {
        return Err(Error::new(
            Status::PrivateKeyInvalid,
            format!("{}: '{}' holds more than one private key; keep only the client's", key, path.display()),
        ));
    }
    Ok(first)
}
