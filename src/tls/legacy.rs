//! Compatibility with the certificates SkyWalking's documented key-generation script makes
//! (DESIGN §3, Verification 2): `openssl x509 -req` without an extension file gives X.509 v1
//! leaves with no extensions and the name only in the subject CN, often with the same
//! subject as their CA. Stock WebPKI verification rejects them.
//!
//! They are accepted only when all of this holds, and the caller only asks when trust
//! comes from an explicitly configured CA file (never the system roots):
//! - the leaf's signature verifies directly under the key of one of the configured CAs;
//! - the current time is inside the leaf's validity window;
//! - the expected server name equals one of the leaf's subjectAltName DNS/IP entries or,
//!   where it has none, its subject CN;
//! - the leaf is not restricted to other purposes (an extendedKeyUsage without serverAuth).

use super::der;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use rustls::{CertificateError, Error};
use std::net::IpAddr;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// True for the strict verifier's "X.509 v1" failure (rustls passes it on as an opaque
/// webpki error).
pub fn is_unsupported_version(err: &Error) -> bool {
    match err {
        Error::InvalidCertificate(CertificateError::Other(other)) => {
            matches!(other.0.downcast_ref::<webpki::Error>(), Some(webpki::Error::UnsupportedCertVersion))
        }
        _ => false,
    }
}

/// The strict verifier's failures that the legacy rules may overturn.
pub fn is_candidate(err: &Error) -> bool {
    is_unsupported_version(err)
        || matches!(
            err,
            Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            )
        )
}

fn bad(e: CertificateError) -> Error {
    Error::InvalidCertificate(e)
}

/// Checks a leaf under the legacy rules. On success, says in words what was accepted.
pub fn verify(
    leaf: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
    anchors: &[TrustAnchor<'_>],
    algorithms: &WebPkiSupportedAlgorithms,
) -> Result<String, Error> {
    let (_, cert) = X509Certificate::from_der(leaf).map_err(|_| bad(CertificateError::BadEncoding))?;
    let signed = der::split_certificate(leaf).ok_or_else(|| bad(CertificateError::BadEncoding))?;

    // 1. Signed directly by a configured CA.
    let signed_by_anchor = anchors.iter().any(|anchor| {
        let Some((key_alg, key)) = der::split_spki(anchor.subject_public_key_info.as_ref()) else { return false };
        algorithms.all.iter().any(|alg| {
            alg.signature_alg_id().as_ref() == signed.signature_alg
                && alg.public_key_alg_id().as_ref() == key_alg
                && alg.verify_signature(key, signed.tbs, signed.signature).is_ok()
        })
    });
    if !signed_by_anchor {
        let issuer = der::next(cert.issuer().as_raw()).map(|(_, content, _)| content);
        let named_issuer_known = anchors.iter().any(|a| Some(a.subject.as_ref()) == issuer);
        return Err(bad(if named_issuer_known {
            CertificateError::BadSignature
        } else {
            CertificateError::UnknownIssuer
        }));
    }

    // 2. Inside its validity window.
    let t = now.as_secs() as i64;
    let validity = cert.validity();
    let (not_before, not_after) = (validity.not_before.timestamp(), validity.not_after.timestamp());
    if t < not_before {
        return Err(bad(CertificateError::NotValidYetContext {
            time: now,
            not_before: UnixTime::since_unix_epoch(std::time::Duration::from_secs(not_before.max(0) as u64)),
        }));
    }
    if t > not_after {
        return Err(bad(CertificateError::ExpiredContext {
            time: now,
            not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(not_after.max(0) as u64)),
        }));
    }

    // 3. Not restricted to other purposes.
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        if !eku.value.server_auth && !eku.value.any {
            return Err(bad(CertificateError::InvalidPurpose));
        }
    }

    // 4. The expected name: subjectAltName entries, or the CN where there are none.
    let mut san_names = Vec::new();
    let mut san_ips = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => san_names.push(d.to_string()),
                GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        san_ips.push(ip);
                    }
                }
                _ => {}
            }
        }
    }
    let has_san = !(san_names.is_empty() && san_ips.is_empty());
    let cns: Vec<String> =
        cert.subject().iter_common_name().filter_map(|cn| cn.as_str().ok()).map(String::from).collect();
    let matches = match server_name {
        ServerName::DnsName(dns) => {
            let want = dns.as_ref();
            if has_san {
                san_names.iter().any(|n| dns_matches(n, want))
            } else {
                cns.iter().any(|cn| cn.eq_ignore_ascii_case(want))
            }
        }
        ServerName::IpAddress(ip) => {
            let want = IpAddr::from(*ip);
            if has_san {
                san_ips.contains(&want)
            } else {
                cns.iter().any(|cn| cn.parse::<IpAddr>().ok() == Some(want))
            }
        }
        _ => false,
    };
    if !matches {
        let presented = if has_san {
            san_names.iter().cloned().chain(san_ips.iter().map(|ip| ip.to_string())).collect()
        } else {
            cns.iter().map(|cn| format!("{cn} (subject CN)")).collect()
        };
        return Err(bad(CertificateError::NotValidForNameContext { expected: server_name.to_owned(), presented }));
    }

    let version = cert.version().0 + 1;
    Ok(if has_san {
        format!("an X.509 v{version} certificate")
    } else {
        format!(
            "an X.509 v{version} certificate with the name only in its subject CN '{}'",
            cns.first().map(String::as_str).unwrap_or("")
        )
    })
}

/// Verifies a TLS handshake signature made with the key of a certificate that webpki
/// cannot parse (X.509 v1) and that [`verify`] accepted: the public key comes from our own
/// parse of the certificate, the algorithm from the provider's mapping for the scheme.
pub fn verify_handshake_signature(
    cert: &CertificateDer<'_>,
    message: &[u8],
    dss: &rustls::DigitallySignedStruct,
    algorithms: &WebPkiSupportedAlgorithms,
    tls13: bool,
) -> Result<rustls::client::danger::HandshakeSignatureValid, Error> {
    use rustls::SignatureScheme as S;
    let tls12_only = matches!(
        dss.scheme,
        S::RSA_PKCS1_SHA1 | S::RSA_PKCS1_SHA256 | S::RSA_PKCS1_SHA384 | S::RSA_PKCS1_SHA512 | S::ECDSA_SHA1_Legacy
    );
    if tls13 && tls12_only {
        return Err(rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme.into());
    }
    let (_, parsed) = X509Certificate::from_der(cert).map_err(|_| bad(CertificateError::BadEncoding))?;
    let spki = parsed.public_key().raw;
    let (_, spki_content, _) = der::next(spki).ok_or_else(|| bad(CertificateError::BadEncoding))?;
    let (key_alg, key) = der::split_spki(spki_content).ok_or_else(|| bad(CertificateError::BadEncoding))?;
    let candidates = algorithms
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == dss.scheme)
        .map(|(_, algs)| *algs)
        .ok_or(Error::PeerMisbehaved(rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme))?;
    for alg in candidates.iter().filter(|a| a.public_key_alg_id().as_ref() == key_alg) {
        if alg.verify_signature(key, message, dss.signature()).is_ok() {
            return Ok(rustls::client::danger::HandshakeSignatureValid::assertion());
        }
    }
    Err(bad(CertificateError::BadSignature))
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

/// DNS name match, case-insensitive, with a wildcard allowed only as the whole leftmost
/// label and matching exactly one label.
fn dns_matches(pattern: &str, name: &str) -> bool {
    let name = name.trim_end_matches('.');
    let pattern = pattern.trim_end_matches('.');
    if let Some(rest) = pattern.strip_prefix("*.") {
        match name.split_once('.') {
            Some((label, tail)) => !label.is_empty() && tail.eq_ignore_ascii_case(rest),
            None => false,
        }
    } else {
        pattern.eq_ignore_ascii_case(name)
    }
}

#[cfg(test)]
mod tests {
    use super::dns_matches;

    #[test]
    fn wildcards_match_one_label_only() {
        assert!(dns_matches("*.oap.svc", "a.oap.svc"));
        assert!(!dns_matches("*.oap.svc", "a.b.oap.svc"));
        assert!(!dns_matches("*.oap.svc", "oap.svc"));
        assert!(dns_matches("LocalHost", "localhost"));
        assert!(!dns_matches("localhost", "localhost.evil"));
    }
}
