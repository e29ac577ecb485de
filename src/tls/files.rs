//! Reading certificates and private keys from files (DESIGN §3).

use crate::error::{Error, Result, Status};
use rustls_pki_types::pem::{self, PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use std::ops::Deref;
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

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

/// What a DER file holds, judged by its structure (not its name).
#[derive(Debug, PartialEq, Eq)]
enum DerKind {
    Pkcs8Key,
    Pkcs1Key,
    Sec1Key,
    EncryptedKey,
    Certificate,
    Unknown,
}

fn der_kind(bytes: &[u8]) -> DerKind {
    use super::der::next;
    const INTEGER: u8 = 0x02;
    const OCTET_STRING: u8 = 0x04;
    const SEQUENCE: u8 = 0x30;
    let Some((SEQUENCE, body, rest)) = next(bytes) else { return DerKind::Unknown };
    if !rest.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
        return DerKind::Unknown;
    }
    let Some((t1, v1, after1)) = next(body) else { return DerKind::Unknown };
    let Some((t2, _, after2)) = next(after1) else { return DerKind::Unknown };
    match (t1, v1, t2) {
        (INTEGER, [0], SEQUENCE) => DerKind::Pkcs8Key,
        (INTEGER, [0], INTEGER) => DerKind::Pkcs1Key,
        (INTEGER, [1], OCTET_STRING) => DerKind::Sec1Key,
        (SEQUENCE, _, OCTET_STRING) if after2.is_empty() => DerKind::EncryptedKey,
        (SEQUENCE, _, SEQUENCE) if super::der::split_certificate(bytes).is_some() => DerKind::Certificate,
        _ => DerKind::Unknown,
    }
}

fn der_kind_name(kind: &DerKind) -> &'static str {
    match kind {
        DerKind::Pkcs8Key | DerKind::Pkcs1Key | DerKind::Sec1Key => "a DER private key",
        DerKind::EncryptedKey => "an encrypted DER private key",
        DerKind::Certificate => "a DER certificate",
        DerKind::Unknown => "DER data that is neither a certificate nor a private key",
    }
}

const DECRYPT_HINT: &str = "swtls needs it unencrypted: run `openssl pkey -in FILE -out FILE.plain` \
    and point the configuration at the result";

/// The decoded PEM sections of a file. A key file's sections hold the key, so they are
/// wiped when dropped; a section taken out (`std::mem::take`) leaves an empty one behind.
struct Sections(Vec<(SectionKind, Vec<u8>)>);

impl Sections {
    fn wipe(&mut self) {
        for (_, der) in &mut self.0 {
            der.zeroize(); // the bytes and the spare capacity, then the length
        }
    }
}

impl Drop for Sections {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl Deref for Sections {
    type Target = [(SectionKind, Vec<u8>)];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Whether `needle` occurs in `haystack` (searched in place: no copy of a key file's text).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The PEM sections of a file, with errors that say what the file holds instead.
fn pem_sections(bytes: &[u8], path: &Path, key: &str, status: Status, what: &str) -> Result<Sections> {
    let err = |why: String| Error::new(status, format!("{}: '{}' {}", key, path.display(), why));
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(err(format!("is empty (expected {what})")));
    }
    let mut sections = Sections(Vec::new());
    for item in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(bytes) {
        match item {
            Ok(section) => sections.0.push(section),
            Err(pem::Error::NoItemsFound) => break,
            Err(e) => return Err(err(format!("is not valid PEM: {e}"))),
        }
    }
    if sections.is_empty() {
        if contains(bytes, b"ENCRYPTED PRIVATE KEY") || contains(bytes, b"Proc-Type: 4,ENCRYPTED") {
            return Err(err("holds an encrypted private key; swtls needs it unencrypted: run \
                 `openssl pkey -in FILE -out FILE.plain` and point the configuration at the result"
                .into()));
        }
        if contains(bytes, b"-----BEGIN") {
            return Err(err(format!("holds no PEM block swtls understands (expected {what})")));
        }
        return Err(err(format!("holds no PEM data (expected {what} between -----BEGIN and -----END lines)")));
    }
    Ok(sections)
}

/// Loads every certificate of a PEM file (a chain, or a CA bundle), in file order.
pub fn load_certs(path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>> {
    parse_certs(read_file(path, key)?, path, key)
}

/// [`load_certs`] on the bytes of the file at `path` (named in errors with `key`).
pub fn parse_certs(bytes: Vec<u8>, path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>> {
    if bytes.first() == Some(&0x30) {
        // Binary: one DER certificate.
        return match der_kind(&bytes) {
            DerKind::Certificate => Ok(vec![CertificateDer::from(bytes)]),
            other => Err(Error::new(
                Status::CertificateInvalid,
                format!(
                    "{}: '{}' holds {} where a certificate was expected",
                    key,
                    path.display(),
                    der_kind_name(&other)
                ),
            )),
        };
    }
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

/// Loads the single private key of a file: PKCS#8, RSA PKCS#1 or SEC1 EC, in PEM or DER,
/// recognised by content whatever the file is called.
pub fn load_private_key(path: &Path, key: &str) -> Result<PrivateKeyDer<'static>> {
    parse_private_key(read_file(path, key)?, path, key)
}

/// [`load_private_key`] on the bytes of the file at `path` (named in errors with `key`).
///
/// The bytes (the PEM text or DER of the key) are wiped before this returns, and so is every
/// decoded PEM section; the key's DER is moved, not copied, into the result.
pub fn parse_private_key(bytes: Vec<u8>, path: &Path, key: &str) -> Result<PrivateKeyDer<'static>> {
    let mut bytes = Zeroizing::new(bytes);
    if bytes.first() == Some(&0x30) {
        let kind = der_kind(&bytes);
        // Only the key taken into the result leaves `bytes`; on an error, all is wiped.
        let mut take = || std::mem::take(&mut *bytes);
        return match kind {
            DerKind::Pkcs8Key => Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(take()))),
            DerKind::Pkcs1Key => Ok(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(take()))),
            DerKind::Sec1Key => Ok(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(take()))),
            DerKind::EncryptedKey => Err(Error::new(
                Status::PrivateKeyInvalid,
                format!("{}: '{}' holds an encrypted private key (DER); {DECRYPT_HINT}", key, path.display()),
            )),
            other => Err(Error::new(
                Status::PrivateKeyInvalid,
                format!(
                    "{}: '{}' holds {} where a private key was expected",
                    key,
                    path.display(),
                    der_kind_name(&other)
                ),
            )),
        };
    }
    let mut sections = pem_sections(&bytes, path, key, Status::PrivateKeyInvalid, "-----BEGIN PRIVATE KEY-----")?;
    let is_key = |kind: &SectionKind| {
        matches!(kind, SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey)
    };
    let keys: Vec<usize> = (0..sections.len()).filter(|i| is_key(&sections[*i].0)).collect();
    match keys[..] {
        [i] => {
            let (kind, der) = &mut sections.0[i];
            let der = std::mem::take(der);
            Ok(match kind {
                SectionKind::RsaPrivateKey => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der)),
                SectionKind::EcPrivateKey => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der)),
                _ => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)),
            })
        }
        [] => Err(Error::new(
            Status::PrivateKeyInvalid,
            format!(
                "{}: '{}' holds {} where a private key was expected",
                key,
                path.display(),
                kind_name(sections[0].0)
            ),
        )),
        _ => Err(Error::new(
            Status::PrivateKeyInvalid,
            format!("{}: '{}' holds more than one private key; keep only the client's", key, path.display()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SEQUENCE { INTEGER 0, SEQUENCE { NULL }, OCTET STRING }: shaped like PKCS#8.
    const PKCS8_LIKE: [u8; 13] = [0x30, 0x0b, 0x02, 0x01, 0x00, 0x30, 0x02, 0x05, 0x00, 0x04, 0x02, 0xaa, 0xbb];

    #[test]
    fn sections_are_wiped_in_place() {
        let der = vec![0x5a; 100];
        let (ptr, capacity) = (der.as_ptr(), der.capacity());
        let mut sections = Sections(vec![(SectionKind::PrivateKey, der)]);
        sections.wipe();
        // The allocation is still the section's (zeroize keeps the capacity): every byte of
        // it, spare capacity included, now reads zero.
        assert_eq!(sections.0[0].1.capacity(), capacity);
        assert_eq!(sections.0[0].1.as_ptr(), ptr);
        // SAFETY: `ptr` is the live allocation of `capacity` bytes that zeroize just wrote.
        let memory = unsafe { std::slice::from_raw_parts(ptr, capacity) };
        assert!(memory.iter().all(|b| *b == 0), "{memory:02x?}");
    }

    #[test]
    fn a_der_key_is_moved_into_the_result_not_copied() {
        let bytes = PKCS8_LIKE.to_vec();
        let ptr = bytes.as_ptr();
        let key = parse_private_key(bytes, Path::new("k.der"), "agent.ssl_key_path").unwrap();
        assert!(matches!(key, PrivateKeyDer::Pkcs8(_)));
        assert_eq!(key.secret_der(), &PKCS8_LIKE[..]);
        assert_eq!(key.secret_der().as_ptr(), ptr, "the key's DER should be the file's buffer, moved");
    }

    #[test]
    fn a_pem_key_is_found_among_other_sections() {
        let pem = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n\
                   -----BEGIN EC PRIVATE KEY-----\nMAsCAQAwAgUABAKquw==\n-----END EC PRIVATE KEY-----\n";
        let key = parse_private_key(pem.as_bytes().to_vec(), Path::new("k.pem"), "agent.ssl_key_path").unwrap();
        assert!(matches!(key, PrivateKeyDer::Sec1(_)));
        assert_eq!(key.secret_der(), &PKCS8_LIKE[..]);
        let two = pem.replace("CERTIFICATE", "PRIVATE KEY");
        let err = parse_private_key(two.into_bytes(), Path::new("k.pem"), "agent.ssl_key_path").unwrap_err();
        assert!(err.message.contains("more than one private key"), "{}", err.message);
    }
}
