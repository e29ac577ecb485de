//! Certificates built field by field, for the cases no tool makes on purpose: X.509 v1 or
//! v2 leaves with extensions or unique identifiers, malformed or duplicated extensions, a
//! subjectAltName with only a URI. They are signed with a test CA's key (ECDSA P-256 with
//! SHA-256), so that only the rule under test can refuse them; a well-formed one built the
//! same way is accepted (tests/legacy_rules.rs checks that first).

use rcgen::{PublicKeyData, SigningKey};
use std::path::{Path, PathBuf};
use swtls_collector::certs::{pem_encode, Ca};

/// One DER element.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let n = content.len();
    let mut out = vec![tag];
    match n {
        0..=0x7f => out.push(n as u8),
        0x80..=0xff => out.extend([0x81, n as u8]),
        _ => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// Object identifiers (content bytes).
pub const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];
pub const OID_EKU: &[u8] = &[0x55, 0x1d, 0x25];
pub const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
pub const OID_SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
pub const OID_CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

/// An extension: its OID, whether it is critical, and the content of its extnValue.
pub fn ext(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let critical = if critical { tlv(0x01, &[0xff]) } else { Vec::new() };
    seq(&[&tlv(0x06, oid), &critical, &tlv(0x04, value)])
}

/// A subjectAltName with these DNS names.
pub fn san_dns(names: &[&str]) -> Vec<u8> {
    let entries: Vec<Vec<u8>> = names.iter().map(|n| tlv(0x82, n.as_bytes())).collect();
    ext(OID_SAN, false, &tlv(0x30, &entries.concat()))
}

/// A subjectAltName with one URI.
pub fn san_uri(uri: &str) -> Vec<u8> {
    ext(OID_SAN, false, &seq(&[&tlv(0x86, uri.as_bytes())]))
}

/// An extendedKeyUsage with these purposes.
pub fn eku(purposes: &[&[u8]]) -> Vec<u8> {
    let oids: Vec<Vec<u8>> = purposes.iter().map(|p| tlv(0x06, p)).collect();
    ext(OID_EKU, false, &tlv(0x30, &oids.concat()))
}

/// basicConstraints with cA=TRUE.
pub fn ca_true() -> Vec<u8> {
    ext(OID_BASIC_CONSTRAINTS, true, &seq(&[&tlv(0x01, &[0xff])]))
}

/// What to put in a leaf.
pub struct Leaf {
    /// 1, 2 or 3 (1 is encoded by leaving the version out, as DER requires).
    pub version: u8,
    pub cn: String,
    pub issuer_unique_id: bool,
    pub extensions: Vec<Vec<u8>>,
}

impl Leaf {
    pub fn new(version: u8, cn: &str) -> Leaf {
        Leaf { version, cn: cn.to_string(), issuer_unique_id: false, extensions: Vec::new() }
    }
    pub fn ext(mut self, e: Vec<u8>) -> Leaf {
        self.extensions.push(e);
        self
    }
}

/// The next DER element of `input`: (tag, whole element, rest).
fn next(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let first = input[1] as usize;
    let (header, len) = if first < 0x80 {
        (2, first)
    } else {
        let n = first & 0x7f;
        (2 + n, input[2..2 + n].iter().fold(0usize, |a, b| (a << 8) | *b as usize))
    };
    (input[0], &input[..header + len], &input[header + len..])
}

/// The content of the first element (a SEQUENCE's body).
fn body(element: &[u8]) -> &[u8] {
    let (_, whole, _) = next(element);
    let header = if whole[1] < 0x80 { 2 } else { 2 + (whole[1] & 0x7f) as usize };
    &whole[header..]
}

/// The subject Name (whole element) of a certificate.
fn subject_of(cert: &[u8]) -> Vec<u8> {
    let mut tbs = body(body(cert));
    if tbs[0] == 0xa0 {
        tbs = next(tbs).2;
    }
    for _ in 0..4 {
        tbs = next(tbs).2; // serial, signature, issuer, validity
    }
    next(tbs).1.to_vec()
}

/// Signs `leaf` with `ca`'s key for a new ECDSA P-256 key (or the given PKCS#8 key) and
/// writes `DIR/NAME.crt` and `DIR/NAME.pem` (PKCS#8). Returns both paths.
pub fn issue(ca: &Ca, leaf: &Leaf, key_pkcs8: Option<&[u8]>, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = match key_pkcs8 {
        Some(der) => rcgen::KeyPair::try_from(der).unwrap(),
        None => rcgen::KeyPair::generate().unwrap(),
    };
    let signer = rcgen::KeyPair::try_from(ca.key().pkcs8_der()).unwrap();
    let sig_alg = seq(&[&tlv(0x06, OID_ECDSA_SHA256)]);
    let version = match leaf.version {
        1 => Vec::new(),
        v => tlv(0xa0, &tlv(0x02, &[v - 1])),
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let serial = tlv(0x02, &[&[0x01u8][..], &nanos.to_be_bytes()].concat());
    let validity = seq(&[&tlv(0x17, b"200101000000Z"), &tlv(0x18, b"20991231235959Z")]);
    let subject = seq(&[&tlv(0x31, &seq(&[&tlv(0x06, OID_CN), &tlv(0x0c, leaf.cn.as_bytes())]))]);
    let uid = if leaf.issuer_unique_id { tlv(0x81, &[0x00, 0x01, 0x02]) } else { Vec::new() };
    let extensions =
        if leaf.extensions.is_empty() { Vec::new() } else { tlv(0xa3, &tlv(0x30, &leaf.extensions.concat())) };
    let tbs = seq(&[
        &version,
        &serial,
        &sig_alg,
        &subject_of(ca.cert_der()),
        &validity,
        &subject,
        &key.subject_public_key_info(),
        &uid,
        &extensions,
    ]);
    let signature = signer.sign(&tbs).unwrap();
    let cert = seq(&[&tbs, &sig_alg, &tlv(0x03, &[&[0u8][..], &signature].concat())]);
    let (crt, pem) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.pem")));
    std::fs::write(&crt, pem_encode("CERTIFICATE", &cert)).unwrap();
    std::fs::write(&pem, pem_encode("PRIVATE KEY", &key.serialize_der())).unwrap();
    (crt, pem)
}
