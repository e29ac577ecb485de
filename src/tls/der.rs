//! The few DER structures the certificate checks need as raw bytes (signature input,
//! algorithm identifiers, public keys), which field-level parsers do not expose.
//!
//! Kept by hand on purpose (issues 14 and 15): webpki keeps a trust anchor's
//! SubjectPublicKeyInfo without its outer SEQUENCE and refuses X.509 v1 certificates, and
//! the legacy verifier compares a certificate's signature algorithm with webpki's
//! identifiers byte for byte; [`split_certificate`] tells a DER certificate from a DER key
//! in `tls::files` without a full parse. The fields of a certificate are read by
//! `tls::x509` on top of [`next`]. A RustCrypto `der` reader would add a crate to the
//! shipped library for the same few hundred lines.

/// One DER element: its tag, its content, and the rest of the input after it.
pub fn next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        if len < 0x80 || (n > 1 && rest[0] == 0) {
            return None; // not the shortest form: not DER
        }
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;

/// The parts of a signed certificate: the whole tbsCertificate element (the signed
/// bytes), the content of the signature AlgorithmIdentifier, and the signature bits.
pub struct Signed<'a> {
    pub tbs: &'a [u8],
    pub signature_alg: &'a [u8],
    pub signature: &'a [u8],
}

pub fn split_certificate(der: &[u8]) -> Option<Signed<'_>> {
    let (tag, body, rest) = next(der)?;
    if tag != SEQUENCE || !rest.is_empty() {
        return None;
    }
    let tbs_len = {
        let (tag, _, after) = next(body)?;
        if tag != SEQUENCE {
            return None;
        }
        body.len() - after.len()
    };
    let (tbs, after_tbs) = body.split_at(tbs_len);
    let (tag, signature_alg, after_alg) = next(after_tbs)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, bits, end) = next(after_alg)?;
    if tag != BIT_STRING || !end.is_empty() {
        return None;
    }
    let (&unused, signature) = bits.split_first()?;
    (unused == 0).then_some(Signed { tbs, signature_alg, signature })
}

/// Splits the content of a SubjectPublicKeyInfo (as rustls keeps trust anchors) into the
/// content of its AlgorithmIdentifier and the public key bits.
pub fn split_spki(spki_content: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, alg, rest) = next(spki_content)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, bits, end) = next(rest)?;
    if tag != BIT_STRING || !end.is_empty() {
        return None;
    }
    let (&unused, key) = bits.split_first()?;
    (unused == 0).then_some((alg, key))
}

/// The subject Name (the whole element) and the content of the SubjectPublicKeyInfo of a
/// certificate, found by position in its tbsCertificate: also for X.509 v1 certificates,
/// which webpki refuses to parse.
pub fn subject_and_spki(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, body, rest) = next(der)?;
    if tag != SEQUENCE || !rest.is_empty() {
        return None;
    }
    let (tag, mut tbs, _) = next(body)?;
    if tag != SEQUENCE {
        return None;
    }
    if tbs.first() == Some(&0xa0) {
        tbs = next(tbs)?.2; // [0] EXPLICIT version
    }
    // serialNumber INTEGER, then signature, issuer and validity SEQUENCEs.
    for expected in [0x02, SEQUENCE, SEQUENCE, SEQUENCE] {
        let (tag, _, after) = next(tbs)?;
        if tag != expected {
            return None;
        }
        tbs = after;
    }
    let (tag, _, after) = next(tbs)?;
    if tag != SEQUENCE {
        return None;
    }
    let subject = &tbs[..tbs.len() - after.len()];
    let (tag, spki, _) = next(after)?;
    (tag == SEQUENCE).then_some((subject, spki))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_truncated_and_non_shortest_lengths() {
        assert!(next(&[0x30]).is_none());
        assert!(next(&[0x30, 0x05, 1, 2]).is_none());
        assert!(next(&[0x30, 0x81, 0x05, 1, 2, 3, 4, 5]).is_none());
        assert_eq!(next(&[0x02, 0x01, 0x07, 0xff]), Some((0x02, &[0x07][..], &[0xff][..])));
        assert!(split_certificate(&[0x30, 0x00]).is_none());
    }

    #[test]
    fn finds_subject_and_public_key_by_position() {
        use x509_parser::prelude::{FromDer, X509Certificate};
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, "someone");
        let der = params.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap().der().to_vec();
        let (_, parsed) = X509Certificate::from_der(&der).unwrap();
        let (subject, spki) = subject_and_spki(&der).unwrap();
        assert_eq!(subject, parsed.subject().as_raw());
        assert_eq!(Some(spki), next(parsed.public_key().raw).map(|(_, content, _)| content));
        assert!(subject_and_spki(&der[..der.len() - 1]).is_none());
    }
}
