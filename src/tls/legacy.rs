//! Compatibility with the certificates SkyWalking's documented key-generation script makes
//! (DESIGN §3, Verification 2): `openssl x509 -req` without an extension file gives X.509 v1
//! leaves with no extensions and the name only in the subject CN, often with the same
//! subject as their CA. Stock WebPKI verification rejects them.
//!
//! They are accepted only when all of this holds, and the caller only asks when trust
//! comes from an explicitly configured CA file (never the system roots):
//! - the leaf's signature verifies directly under the key of one of the configured CAs;
//! - the current time is inside the leaf's validity window;
//! - the leaf parses: only an X.509 v3 leaf may carry extensions (or unique identifiers),
//!   no extension is malformed or duplicated, none is an unknown critical one;
//! - the leaf is not a CA (basicConstraints cA) and not restricted to other purposes (an
//!   extendedKeyUsage without serverAuth);
//! - the leaf has no subjectAltName extension at all (whatever it holds) and the expected
//!   server name equals its subject CN exactly; a CN with a wildcard never matches. A leaf
//!   with a subjectAltName is matched by WebPKI alone: its refusal stands.
//!
//! The caller also refuses a leaf with the configured client certificate's public key
//! (`verify.rs`), on the strict path too.

use super::der;
use super::x509::Certificate;
use super::x509_ext::{self, extension_name, GeneralName, BASIC_CONSTRAINTS, EXTENDED_KEY_USAGE, SUBJECT_ALT_NAME};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use rustls::{CertificateError, Error, OtherError};
use std::net::IpAddr;
use std::sync::Arc;

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

/// A server certificate refused by a rule of swtls's own, with the reason and the fix in
/// words (the connector's diagnosis shows them; see [`refusal`]).
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The rustls error for a [`Refused`] certificate.
pub fn refuse(reason: impl Into<String>) -> Error {
    Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Refused(reason.into())))))
}

/// The reason of a [`Refused`] certificate, if `err` is one.
pub fn refusal(err: &Error) -> Option<&str> {
    match err {
        Error::InvalidCertificate(CertificateError::Other(other)) => {
            other.0.downcast_ref::<Refused>().map(|r| r.0.as_str())
        }
        _ => None,
    }
}

fn bad(e: CertificateError) -> Error {
    Error::InvalidCertificate(e)
}

/// The structure rules: extensions only in v3, each well-formed and present once, no
/// unknown critical one; not a CA; not restricted to other purposes.
fn check_structure(cert: &Certificate<'_>) -> Result<(), Error> {
    let version = u64::from(cert.version) + 1;
    if version > 3 {
        return Err(refuse(format!("the server's certificate claims X.509 version {version}, which does not exist")));
    }
    let exts = &cert.extensions;
    if version != 3 && (!exts.is_empty() || (version == 1 && cert.unique_ids)) {
        return Err(refuse(format!(
            "the server's certificate is X.509 v{version} but carries {}, which only later versions may have; it \
             was not made by a standard tool and is not accepted",
            if exts.is_empty() { "unique identifiers" } else { "extensions" }
        )));
    }
    for ext in exts {
        match x509_ext::well_formed(ext.oid, ext.value) {
            Some(false) => {
                return Err(refuse(format!(
                    "the server's certificate has a malformed {} extension",
                    extension_name(ext.oid)
                )))
            }
            None if ext.critical => {
                return Err(refuse(format!(
                    "the server's certificate has a critical {} that swtls does not know",
                    extension_name(ext.oid)
                )))
            }
            _ => {}
        }
    }
    if let Some(dup) = exts.iter().enumerate().find(|(i, e)| exts[..*i].iter().any(|f| f.oid == e.oid)) {
        return Err(refuse(format!(
            "the server's certificate has the {} extension more than once",
            extension_name(dup.1.oid)
        )));
    }
    if let Some(bc) = cert.extension(BASIC_CONSTRAINTS) {
        if x509_ext::basic_constraints_ca(bc.value).ok_or_else(|| bad(CertificateError::BadEncoding))? {
            return Err(refuse(
                "the server's certificate is a CA certificate (basicConstraints cA=TRUE), and a CA certificate is \
                 never accepted as a server's; issue the backend a certificate of its own (`swtls certs`)",
            ));
        }
    }
    if let Some(eku) = cert.extension(EXTENDED_KEY_USAGE) {
        let (server_auth, any) =
            x509_ext::extended_key_usage(eku.value).ok_or_else(|| bad(CertificateError::BadEncoding))?;
        if !server_auth && !any {
            return Err(bad(CertificateError::InvalidPurpose));
        }
    }
    Ok(())
}

/// Checks a leaf under the legacy rules. On success, says in words what was accepted.
pub fn verify(
    leaf: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
    anchors: &[TrustAnchor<'_>],
    algorithms: &WebPkiSupportedAlgorithms,
) -> Result<String, Error> {
    let cert = Certificate::parse(leaf).ok_or_else(|| bad(CertificateError::BadEncoding))?;
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
        let issuer = der::next(cert.issuer).map(|(_, content, _)| content);
        let named_issuer_known = anchors.iter().any(|a| Some(a.subject.as_ref()) == issuer);
        return Err(bad(if named_issuer_known {
            CertificateError::BadSignature
        } else {
            CertificateError::UnknownIssuer
        }));
    }

    // 2. Inside its validity window.
    let t = now.as_secs() as i64;
    let (not_before, not_after) = (cert.not_before, cert.not_after);
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

    // 3. Well-formed, not a CA, not for other purposes.
    check_structure(&cert)?;

    // 4. The expected name: the subject CN, only where there is no subjectAltName at all.
    if cert.extension(SUBJECT_ALT_NAME).is_some() {
        return Err(bad(CertificateError::NotValidForNameContext {
            expected: server_name.to_owned(),
            presented: presented_sans(&cert),
        }));
    }
    let cns = super::x509::common_names(cert.subject);
    if !cns.iter().any(|cn| cn_matches(cn, server_name)) {
        let presented = cns.iter().map(|cn| format!("{cn} (subject CN)")).collect();
        return Err(bad(CertificateError::NotValidForNameContext { expected: server_name.to_owned(), presented }));
    }
    Ok(format!(
        "an X.509 v{} certificate with the name only in its subject CN '{}'",
        u64::from(cert.version) + 1,
        cns.first().copied().unwrap_or("")
    ))
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
    let parsed = Certificate::parse(cert).ok_or_else(|| bad(CertificateError::BadEncoding))?;
    let spki = parsed.spki;
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

/// The DNS names and IP addresses of a leaf's subjectAltName, for the name-mismatch message.
fn presented_sans(cert: &Certificate<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let names = cert.extension(SUBJECT_ALT_NAME).and_then(|san| x509_ext::subject_alt_names(san.value));
    for name in names.unwrap_or_default() {
        match name {
            GeneralName::Dns(d) => out.push(d.to_string()),
            GeneralName::Ip(bytes) => out.extend(ip_from_bytes(bytes).map(|ip| ip.to_string())),
            GeneralName::Other => {}
        }
    }
    if out.is_empty() {
        out.push(
            "no DNS name or IP address (its subjectAltName has none, and the subject CN does not count when a \
             subjectAltName is present)"
                .into(),
        );
    }
    out
}

/// A subject CN against the expected name: exact (ASCII case-insensitive), never with a
/// wildcard; an IP address only as the CN's exact address.
fn cn_matches(cn: &str, server_name: &ServerName<'_>) -> bool {
    if cn.contains('*') {
        return false;
    }
    match server_name {
        ServerName::DnsName(dns) => cn.eq_ignore_ascii_case(dns.as_ref()),
        ServerName::IpAddress(ip) => cn.parse::<IpAddr>().ok() == Some(IpAddr::from(*ip)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair, SanType};

    fn name(n: &str) -> ServerName<'static> {
        ServerName::try_from(n.to_string()).unwrap()
    }

    #[test]
    fn a_cn_matches_exactly_and_never_with_a_wildcard() {
        assert!(cn_matches("LocalHost", &name("localhost")));
        assert!(!cn_matches("localhost", &name("localhost.evil")));
        assert!(!cn_matches("*.svc", &name("oap.svc")));
        assert!(!cn_matches("*.oap.svc", &name("a.oap.svc")));
        assert!(!cn_matches("oap*.svc", &name("oap1.svc")));
        assert!(cn_matches("10.0.0.1", &name("10.0.0.1")));
        assert!(!cn_matches("10.0.0.1", &name("10.0.0.2")));
    }

    /// A CA, and a leaf it signs with the CN `localhost` (no subjectAltName unless `edit`
    /// adds one), checked by the legacy rules for `server`.
    fn check(server: &str, edit: impl FnOnce(&mut CertificateParams)) -> Result<String, Error> {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.distinguished_name.push(DnType::CommonName, "legacy test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertificateDer::from(ca_params.self_signed(&ca_key).unwrap().der().to_vec());
        let issuer = Issuer::new(ca_params, ca_key);
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, "localhost");
        edit(&mut params);
        let leaf =
            CertificateDer::from(params.signed_by(&KeyPair::generate().unwrap(), &issuer).unwrap().der().to_vec());
        let anchors = vec![webpki::anchor_from_trusted_cert(&ca).unwrap().to_owned()];
        let algorithms = crate::tls::provider().signature_verification_algorithms;
        verify(&leaf, &name(server), UnixTime::now(), &anchors, &algorithms)
    }

    fn custom(oid: &[u64], content: &[u8]) -> CustomExtension {
        CustomExtension::from_oid_content(oid, content.to_vec())
    }

    const SAN: &[u64] = &[2, 5, 29, 17];
    const EKU: &[u64] = &[2, 5, 29, 37];
    const SERVER_AUTH: &[u8] = &[0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];

    #[test]
    fn a_cn_only_leaf_is_accepted() {
        let what = check("localhost", |_| {}).unwrap();
        assert!(what.contains("X.509 v3") && what.contains("subject CN 'localhost'"), "{what}");
        assert!(check("localhost", |p| p.custom_extensions.push(custom(EKU, SERVER_AUTH))).is_ok());
    }

    #[test]
    fn any_subjectaltname_disables_the_cn() {
        let uri = |p: &mut CertificateParams| {
            p.subject_alt_names = vec![SanType::URI("spiffe://cluster/oap".try_into().unwrap())]
        };
        let e = check("localhost", uri).unwrap_err();
        assert!(matches!(e, Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })), "{e:?}");
        // A SAN wildcard is WebPKI's business only: the legacy rules never match one.
        let wild =
            |p: &mut CertificateParams| p.subject_alt_names = vec![SanType::DnsName("*.svc".try_into().unwrap())];
        assert!(check("oap.svc", wild).is_err());
        let exact = |p: &mut CertificateParams| p.subject_alt_names = vec![SanType::DnsName("oap".try_into().unwrap())];
        assert!(check("localhost", exact).is_err());
    }

    #[test]
    fn a_ca_leaf_is_refused() {
        let e = check("localhost", |p| p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained)).unwrap_err();
        assert!(refusal(&e).is_some_and(|r| r.contains("basicConstraints cA=TRUE")), "{e:?}");
        assert!(check("localhost", |p| p.is_ca = IsCa::ExplicitNoCa).is_ok());
    }

    #[test]
    fn malformed_or_duplicated_extensions_are_refused() {
        let e = check("localhost", |p| p.custom_extensions.push(custom(SAN, &[0x30, 0x05, 0x82, 0x09]))).unwrap_err();
        assert!(refusal(&e).is_some_and(|r| r.contains("malformed subjectAltName")), "{e:?}");
        let e = check("localhost", |p| p.custom_extensions.push(custom(EKU, &[0x30, 0x03, 0x06, 0x09]))).unwrap_err();
        assert!(refusal(&e).is_some_and(|r| r.contains("malformed extendedKeyUsage")), "{e:?}");
        let twice = |p: &mut CertificateParams| {
            p.custom_extensions.push(custom(EKU, SERVER_AUTH));
            p.custom_extensions.push(custom(EKU, SERVER_AUTH));
        };
        let e = check("localhost", twice).unwrap_err();
        assert!(refusal(&e).is_some_and(|r| r.contains("extendedKeyUsage extension more than once")), "{e:?}");
        let mut critical = custom(&[1, 3, 6, 1, 4, 1, 99999, 1], &[0x05, 0x00]);
        critical.set_criticality(true);
        let e = check("localhost", |p| p.custom_extensions.push(critical)).unwrap_err();
        assert!(refusal(&e).is_some_and(|r| r.contains("critical")), "{e:?}");
    }
}
