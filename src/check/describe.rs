//! The description of certificates and keys that `swtls check` shows: subjects, names,
//! validity, key types, legacy forms, and whether the key belongs to the certificate.

use super::report::{CertInfo, FileContent, FileReport, KeyInfo};
use crate::config::Config;
use crate::tls;
use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::PrivateKeyDer;
use std::time::SystemTime;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

/// Certificates expiring sooner than this get a warning.
const EXPIRY_WARNING_DAYS: i64 = 30;

pub(super) fn describe_files(config: &Config) -> Vec<FileReport> {
    let entries = [
        ("ca", "agent.ssl_trusted_ca_path", &config.ca_path, "ca.crt"),
        ("client_cert", "agent.ssl_cert_chain_path", &config.cert_path, "client.crt"),
        ("client_key", "agent.ssl_key_path", &config.key_path, "client.pem"),
    ];
    let mut out: Vec<FileReport> = entries
        .iter()
        .map(|(role, key, explicit, default)| {
            let path = (*explicit).clone().unwrap_or_else(|| config.ca_dir.join(default));
            let (content, mode) = match std::fs::metadata(&path) {
                Err(_) => (FileContent::Missing, None),
                Ok(m) if !m.is_file() => (FileContent::Unusable("not a regular file".into()), None),
                Ok(m) => {
                    let content = match std::fs::read(&path) {
                        Err(e) => FileContent::Unusable(format!("cannot read: {e}")),
                        Ok(bytes) if *role == "client_key" => describe_key_file(&bytes),
                        Ok(bytes) => describe_cert_file(&bytes),
                    };
                    (content, file_mode(&m))
                }
            };
            FileReport { role, config_key: key, path, explicit: explicit.is_some(), content, mode }
        })
        .collect();

    // The key against the client certificate; the key file's permissions.
    let cert_key = match &out[1].content {
        FileContent::Certificates(c) => c.first().map(|c| c.public_key.clone()),
        _ => None,
    };
    let mode = out[2].mode;
    if let FileContent::Key(k) = &mut out[2].content {
        if let Some(cert) = cert_key.filter(|c| !c.is_empty()) {
            if !k.public_key.is_empty() {
                k.matches_certificate = Some(cert == k.public_key);
            }
        }
        if let Some(m) = mode {
            if m & 0o077 != 0 {
                k.warnings.push(format!(
                    "mode {:04o}: the private key is readable by group or others; `chmod 600` it",
                    m & 0o7777
                ));
            }
        }
    }
    out
}

#[cfg(unix)]
fn file_mode(m: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn file_mode(_: &std::fs::Metadata) -> Option<u32> {
    None
}

/// The PEM sections of a file, or, for a file that is not PEM, its bytes as one DER item.
fn sections(bytes: &[u8]) -> Result<Vec<(SectionKind, Vec<u8>)>, String> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("empty".into());
    }
    let mut out = Vec::new();
    for item in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(bytes) {
        match item {
            Ok(s) => out.push(s),
            Err(rustls_pki_types::pem::Error::NoItemsFound) => break,
            Err(e) => return Err(format!("not valid PEM: {e}")),
        }
    }
    if out.is_empty() {
        let text = String::from_utf8_lossy(bytes);
        if text.contains("ENCRYPTED") {
            return Err("an encrypted private key".into());
        }
        if text.contains("-----BEGIN") {
            return Err("no PEM block of a known kind".into());
        }
        if bytes.first() == Some(&0x30) {
            return Ok(Vec::new()); // DER: the caller decides what it is
        }
        return Err("no PEM data".into());
    }
    Ok(out)
}

fn describe_cert_file(bytes: &[u8]) -> FileContent {
    let ders: Vec<Vec<u8>> = match sections(bytes) {
        Err(e) => return FileContent::Unusable(e),
        Ok(s) if s.is_empty() => vec![bytes.to_vec()],
        Ok(s) => {
            let certs: Vec<Vec<u8>> =
                s.iter().filter(|(k, _)| *k == SectionKind::Certificate).map(|(_, d)| d.clone()).collect();
            if certs.is_empty() {
                return FileContent::Unusable(format!("holds {} and no certificate", kind_name(s[0].0)));
            }
            certs
        }
    };
    let mut out = Vec::new();
    for (i, der) in ders.iter().enumerate() {
        match describe_cert(der, false) {
            Some(c) => out.push(c),
            None => {
                let mut c = CertInfo { subject: "(cannot be parsed)".into(), ..Default::default() };
                c.warnings.push(format!("certificate #{} cannot be parsed as X.509", i + 1));
                out.push(c);
            }
        }
    }
    FileContent::Certificates(out)
}

fn kind_name(kind: SectionKind) -> &'static str {
    match kind {
        SectionKind::Certificate => "a CERTIFICATE",
        SectionKind::PrivateKey => "a PRIVATE KEY",
        SectionKind::RsaPrivateKey => "an RSA PRIVATE KEY",
        SectionKind::EcPrivateKey => "an EC PRIVATE KEY",
        SectionKind::PublicKey => "a PUBLIC KEY",
        SectionKind::Crl => "an X509 CRL",
        SectionKind::Csr => "a CERTIFICATE REQUEST",
        _ => "another PEM block",
    }
}

fn describe_key_file(bytes: &[u8]) -> FileContent {
    let (format, der) = match sections(bytes) {
        Err(e) => return FileContent::Unusable(e),
        Ok(s) if s.is_empty() => match PrivateKeyDer::try_from(bytes.to_vec()) {
            Ok(k) => {
                let f = match &k {
                    PrivateKeyDer::Pkcs1(_) => "RSA PKCS#1 DER",
                    PrivateKeyDer::Sec1(_) => "SEC1 EC DER",
                    _ => "PKCS#8 DER",
                };
                (f, k)
            }
            Err(_) => return FileContent::Unusable("DER data that is not a private key".into()),
        },
        Ok(s) => {
            let Some((kind, der)) = s.into_iter().find(|(k, _)| {
                matches!(k, SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey)
            }) else {
                return FileContent::Unusable("holds no private key".into());
            };
            match kind {
                SectionKind::RsaPrivateKey => ("RSA PKCS#1 PEM", PrivateKeyDer::Pkcs1(der.into())),
                SectionKind::EcPrivateKey => ("SEC1 EC PEM", PrivateKeyDer::Sec1(der.into())),
                _ => ("PKCS#8 PEM", PrivateKeyDer::Pkcs8(der.into())),
            }
        }
    };
    let mut info = KeyInfo { format: format.into(), ..Default::default() };
    match tls::provider().key_provider.load_private_key(der) {
        Ok(signing) => match signing.public_key() {
            Some(spki) => match SubjectPublicKeyInfo::from_der(spki.as_ref()) {
                Ok((_, spki)) => {
                    info.algorithm = key_description(&spki);
                    info.public_key = spki.subject_public_key.data.to_vec();
                }
                Err(_) => info.algorithm = format!("{:?}", signing.algorithm()),
            },
            None => info.algorithm = format!("{:?}", signing.algorithm()),
        },
        Err(e) => info.algorithm = format!("not usable: {e}"),
    }
    FileContent::Key(info)
}

/// `RSA 2048`, `ECDSA P-256`, `Ed25519`, or the algorithm's OID.
fn key_description(spki: &SubjectPublicKeyInfo<'_>) -> String {
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" => {
            let bits = match spki.parsed() {
                Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
                    let m = rsa.modulus;
                    let skip = m.iter().take_while(|b| **b == 0).count();
                    let m = &m[skip..];
                    m.first().map(|b| m.len() * 8 - b.leading_zeros() as usize).unwrap_or(0)
                }
                _ => 0,
            };
            format!("RSA {bits}")
        }
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            let name = match curve.as_str() {
                "1.2.840.10045.3.1.7" => "P-256".to_string(),
                "1.3.132.0.34" => "P-384".to_string(),
                "1.3.132.0.35" => "P-521".to_string(),
                other => format!("curve {other}"),
            };
            format!("ECDSA {name}")
        }
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        other => format!("key algorithm {other}"),
    }
}

fn format_time(secs: i64) -> String {
    if secs < 0 {
        return format!("{secs} (before 1970)");
    }
    tls::format_unix(secs as u64)
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn days(secs: i64) -> String {
    let d = secs / 86_400;
    if d == 1 {
        "1 day".into()
    } else if d == 0 {
        format!("{} hours", secs / 3600)
    } else {
        format!("{d} days")
    }
}

/// Describes one DER certificate; `server_leaf` adds the checks that only matter for the
/// certificate a server presents (the name only in the CN, subject equal to issuer).
pub fn describe_cert(der: &[u8], server_leaf: bool) -> Option<CertInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut c = CertInfo {
        version: cert.version().0 + 1,
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        key: key_description(cert.public_key()),
        public_key: cert.public_key().subject_public_key.data.to_vec(),
        self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
        ..Default::default()
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            c.subject_alt_names.push(match name {
                GeneralName::DNSName(d) => format!("DNS:{d}"),
                GeneralName::IPAddress(ip) => match ip.len() {
                    4 => format!("IP:{}", std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).ok()?)),
                    16 => format!("IP:{}", std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).ok()?)),
                    _ => "IP:(malformed)".into(),
                },
                GeneralName::URI(u) => format!("URI:{u}"),
                GeneralName::RFC822Name(e) => format!("email:{e}"),
                other => format!("{other:?}"),
            });
        }
    }
    if let Ok(Some(bc)) = cert.basic_constraints() {
        c.is_ca = bc.value.ca;
    }
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        let e = eku.value;
        for (on, name) in [(e.any, "any"), (e.server_auth, "serverAuth"), (e.client_auth, "clientAuth")] {
            if on {
                c.extended_key_usage.push(name.to_string());
            }
        }
        for oid in &e.other {
            c.extended_key_usage.push(oid.to_id_string());
        }
    }
    let (nb, na) = (cert.validity().not_before.timestamp(), cert.validity().not_after.timestamp());
    c.not_before = format_time(nb);
    c.not_after = format_time(na);
    let now = now_unix();
    c.validity = if now < nb {
        c.warnings.push(format!("not valid yet: valid from {}", c.not_before));
        format!("NOT VALID YET (starts in {})", days(nb - now))
    } else if now > na {
        c.warnings.push(format!("expired {} ago, at {}", days(now - na), c.not_after));
        format!("EXPIRED {} ago", days(now - na))
    } else {
        if na - now < EXPIRY_WARNING_DAYS * 86_400 {
            c.warnings.push(format!("expires in {}, at {}", days(na - now), c.not_after));
        }
        format!("valid, {} left", days(na - now))
    };
    if c.version == 1 {
        c.legacy.push(
            "legacy X.509 v1 certificate: no extensions (no subjectAltName, key usage or CA flag), as made by \
             `openssl x509 -req` without an extension file (SkyWalking's documented script); `swtls certs` makes \
             modern ones"
                .into(),
        );
    }
    if server_leaf && !c.is_ca {
        let has_names = c.subject_alt_names.iter().any(|n| n.starts_with("DNS:") || n.starts_with("IP:"));
        if !has_names {
            let cn = cert.subject().iter_common_name().next().and_then(|a| a.as_str().ok()).unwrap_or("");
            c.legacy.push(format!(
                "CN-only: the server name is only in the subject CN ('{cn}'), there is no subjectAltName"
            ));
        }
        if c.self_issued {
            c.legacy.push(
                "the subject equals the issuer (often CN=localhost for both, the script's default): clients based \
                 on OpenSSL take it for a self-signed certificate"
                    .into(),
            );
        }
    }
    Some(c)
}
