//! Extension values against x509-parser, and on malformed input.

use super::*;
use crate::tls::x509::tests::{ext, seq, tlv, with_extensions};
use crate::tls::x509::Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

const SKI: &[u8] = &[0x55, 0x1d, 0x0e];
const KU: &[u8] = &[0x55, 0x1d, 0x0f];
const IAN: &[u8] = &[0x55, 0x1d, 0x12];
const NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];
const CRL_DP: &[u8] = &[0x55, 0x1d, 0x1f];
const POLICIES: &[u8] = &[0x55, 0x1d, 0x20];
const POLICY_MAPPINGS: &[u8] = &[0x55, 0x1d, 0x21];
const AKI: &[u8] = &[0x55, 0x1d, 0x23];
const POLICY_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x24];
const INHIBIT: &[u8] = &[0x55, 0x1d, 0x36];
const AIA: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];
const SIA: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x0b];
const SCT: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02];
const NS_CERT_TYPE: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x42, 0x01, 0x01];
const NS_COMMENT: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x42, 0x01, 0x0d];
const CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
const OCSP: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
const POLICY: &[u8] = &[0x67, 0x81, 0x0c, 0x01, 0x02, 0x01];

/// How x509-parser read this extension value: `Some(true)` parsed, `Some(false)` a parse
/// error, `None` not an extension it knows.
fn x509_parser_reads(oid: &[u8], value: &[u8]) -> Option<bool> {
    let der = with_extensions(&[ext(oid, false, value)]);
    let (_, cert) = X509Certificate::from_der(&der).expect("the envelope reads");
    match cert.extensions()[0].parsed_extension() {
        ParsedExtension::UnsupportedExtension { .. } => None,
        ParsedExtension::ParseError { .. } => Some(false),
        _ => Some(true),
    }
}

fn dns(name: &str) -> Vec<u8> {
    tlv(0x82, name.as_bytes())
}

fn uri(u: &str) -> Vec<u8> {
    tlv(0x86, u.as_bytes())
}

/// Well-formed values of every known extension.
fn good_values() -> Vec<(&'static [u8], Vec<u8>)> {
    let dir_name = tlv(0xa4, &seq(&[&tlv(0x31, &seq(&[&tlv(0x06, &[0x55, 0x04, 0x03]), &tlv(0x0c, b"x")]))]));
    let other_name = tlv(0xa0, &[tlv(0x06, POLICY), tlv(0xa0, &tlv(0x0c, b"v"))].concat());
    let sct = {
        // v1, a log id, a timestamp, no extensions, ECDSA/SHA-256 and a signature.
        let sct = [&[0x00][..], &[0x11; 32], &[0; 8], &[0, 0], &[4, 3], &[0, 2, 0xaa, 0xbb]].concat();
        let item = [&[0x00, sct.len() as u8][..], &sct].concat();
        tlv(0x04, &[&[0x00, item.len() as u8][..], &item].concat())
    };
    vec![
        (SUBJECT_ALT_NAME, seq(&[&dns("a.example"), &tlv(0x87, &[10, 0, 0, 1]), &uri("spiffe://x/y")])),
        (SUBJECT_ALT_NAME, seq(&[&dir_name, &other_name, &tlv(0x81, b"a@b"), &tlv(0x88, POLICY)])),
        (SUBJECT_ALT_NAME, seq(&[&tlv(0x87, &[0; 16])])),
        (SUBJECT_ALT_NAME, seq(&[])),
        (IAN, seq(&[&uri("http://ca")])),
        (BASIC_CONSTRAINTS, seq(&[])),
        (BASIC_CONSTRAINTS, seq(&[&tlv(0x01, &[0xff])])),
        (BASIC_CONSTRAINTS, seq(&[&tlv(0x01, &[0x00])])),
        (BASIC_CONSTRAINTS, seq(&[&tlv(0x01, &[0xff]), &tlv(0x02, &[0x03])])),
        (BASIC_CONSTRAINTS, seq(&[&tlv(0x02, &[0x00])])),
        (EXTENDED_KEY_USAGE, seq(&[&tlv(0x06, SERVER_AUTH), &tlv(0x06, POLICY)])),
        (EXTENDED_KEY_USAGE, seq(&[])),
        (KU, tlv(0x03, &[0x05, 0xa0])),
        (KU, tlv(0x03, &[0x07, 0x80, 0x80])),
        (SKI, tlv(0x04, &[1, 2, 3, 4])),
        (AKI, seq(&[&tlv(0x80, &[1, 2, 3])])),
        (AKI, seq(&[&tlv(0x80, &[1]), &tlv(0xa1, &uri("http://ca")), &tlv(0x82, &[0x01])])),
        (AKI, seq(&[])),
        (CRL_DP, seq(&[&seq(&[&tlv(0xa0, &tlv(0xa0, &uri("http://crl")))])])),
        (
            CRL_DP,
            seq(&[&seq(&[
                &tlv(0xa0, &tlv(0xa0, &uri("http://crl"))),
                &tlv(0x81, &[0x07, 0x80]),
                &tlv(0xa2, &uri("http://i")),
            ])]),
        ),
        (POLICIES, seq(&[&seq(&[&tlv(0x06, POLICY)])])),
        (POLICIES, seq(&[&seq(&[&tlv(0x06, POLICY), &seq(&[&seq(&[&tlv(0x06, OCSP), &tlv(0x16, b"https://cps")])])])])),
        (AIA, seq(&[&seq(&[&tlv(0x06, OCSP), &uri("http://ocsp")])])),
        (SIA, seq(&[&seq(&[&tlv(0x06, OCSP), &uri("http://sia")])])),
        (NAME_CONSTRAINTS, seq(&[&tlv(0xa0, &seq(&[&dns("example.com")]))])),
        (NAME_CONSTRAINTS, seq(&[&tlv(0xa1, &seq(&[&tlv(0x87, &[10, 0, 0, 0, 255, 0, 0, 0]), &tlv(0x81, &[0x02])]))])),
        (POLICY_MAPPINGS, seq(&[&seq(&[&tlv(0x06, POLICY), &tlv(0x06, OCSP)])])),
        (POLICY_CONSTRAINTS, seq(&[&tlv(0x80, &[0x00]), &tlv(0x81, &[0x01])])),
        (POLICY_CONSTRAINTS, seq(&[])),
        (INHIBIT, tlv(0x02, &[0x00])),
        (SCT, sct),
        (NS_CERT_TYPE, tlv(0x03, &[0x00, 0x40])),
        (NS_COMMENT, tlv(0x16, b"OpenSSL Generated Certificate")),
    ]
}

#[test]
fn well_formed_values_read_as_x509_parser_read_them() {
    for (oid, value) in good_values() {
        assert_eq!(well_formed(oid, &value), Some(true), "{} {value:02x?}", extension_name(oid));
        assert_eq!(x509_parser_reads(oid, &value), Some(true), "{} {value:02x?}", extension_name(oid));
    }
    let san = seq(&[&dns("a.example"), &tlv(0x87, &[10, 0, 0, 1]), &uri("u"), &tlv(0x87, &[1; 16])]);
    let names = subject_alt_names(&san).unwrap();
    assert_eq!(
        names,
        [GeneralName::Dns("a.example"), GeneralName::Ip(&[10, 0, 0, 1]), GeneralName::Other, GeneralName::Ip(&[1; 16])]
    );
    assert_eq!(basic_constraints_ca(&seq(&[])), Some(false));
    assert_eq!(basic_constraints_ca(&seq(&[&tlv(0x01, &[0xff]), &tlv(0x02, &[0x00])])), Some(true));
    assert_eq!(extended_key_usage(&seq(&[&tlv(0x06, SERVER_AUTH)])), Some((true, false)));
    assert_eq!(extended_key_usage(&seq(&[&tlv(0x06, ANY_EXTENDED_KEY_USAGE)])), Some((false, true)));
    assert_eq!(extended_key_usage(&seq(&[&tlv(0x06, POLICY)])), Some((false, false)));
}

#[test]
fn malformed_values_are_refused() {
    let bad: Vec<(&[u8], Vec<u8>)> = vec![
        // subjectAltName: a byte after it, not a SEQUENCE, a truncated name, a constructed
        // dNSName, a non-ASCII one, an address of 5 octets, an x400Address, a [9].
        (SUBJECT_ALT_NAME, [seq(&[&dns("a")]), vec![0]].concat()),
        (SUBJECT_ALT_NAME, tlv(0x31, &dns("a"))),
        (SUBJECT_ALT_NAME, vec![0x30, 0x05, 0x82, 0x09, b'l']),
        (SUBJECT_ALT_NAME, seq(&[&tlv(0xa2, &tlv(0x16, b"a"))])),
        (SUBJECT_ALT_NAME, seq(&[&tlv(0x82, "ü".as_bytes())])),
        (SUBJECT_ALT_NAME, seq(&[&tlv(0x87, &[1, 2, 3, 4, 5])])),
        (SUBJECT_ALT_NAME, seq(&[&tlv(0xa3, &seq(&[]))])),
        (SUBJECT_ALT_NAME, seq(&[&tlv(0x89, b"a")])),
        (SUBJECT_ALT_NAME, seq(&[&tlv(0xa4, &tlv(0x31, &[]))])),
        (SUBJECT_ALT_NAME, seq(&[&tlv(0xa0, &tlv(0x06, POLICY))])),
        // basicConstraints: BER TRUE, pathLen negative / not minimal / too big / first,
        // a third element, a byte after it.
        (BASIC_CONSTRAINTS, seq(&[&tlv(0x01, &[0x01])])),
        (BASIC_CONSTRAINTS, seq(&[&tlv(0x01, &[0xff]), &tlv(0x02, &[0xff])])),
        (BASIC_CONSTRAINTS, seq(&[&tlv(0x02, &[0x00, 0x01])])),
        (BASIC_CONSTRAINTS, seq(&[&tlv(0x02, &[0x01, 0, 0, 0, 0])])),
        (BASIC_CONSTRAINTS, seq(&[&tlv(0x02, &[0x01]), &tlv(0x01, &[0xff])])),
        (BASIC_CONSTRAINTS, seq(&[&tlv(0x01, &[0xff]), &tlv(0x02, &[0x01]), &tlv(0x05, &[])])),
        (BASIC_CONSTRAINTS, [seq(&[]), vec![0]].concat()),
        (BASIC_CONSTRAINTS, tlv(0x01, &[0xff])),
        // extendedKeyUsage: truncated, not an OID, a bad OID, a byte after it.
        (EXTENDED_KEY_USAGE, vec![0x30, 0x03, 0x06, 0x09, 0x2b]),
        (EXTENDED_KEY_USAGE, seq(&[&tlv(0x04, SERVER_AUTH)])),
        (EXTENDED_KEY_USAGE, seq(&[&tlv(0x06, &[0x2b, 0x80, 0x01])])),
        (EXTENDED_KEY_USAGE, [seq(&[&tlv(0x06, SERVER_AUTH)]), vec![0]].concat()),
        // The others.
        (KU, tlv(0x03, &[0x08, 0x80])),
        (KU, tlv(0x04, &[0x00, 0x80])),
        (SKI, tlv(0x03, &[0x00])),
        (AKI, seq(&[&tlv(0x82, &[1]), &tlv(0x80, &[1])])),
        (AKI, seq(&[&tlv(0x82, &[])])),
        (CRL_DP, seq(&[])),
        (CRL_DP, seq(&[&seq(&[&tlv(0xa0, &tlv(0xa0, &[]))])])),
        (CRL_DP, seq(&[&seq(&[&tlv(0xa0, &tlv(0xa2, &uri("x")))])])),
        (POLICIES, seq(&[])),
        (POLICIES, seq(&[&seq(&[&tlv(0x06, POLICY), &seq(&[])])])),
        (POLICIES, seq(&[&seq(&[&tlv(0x06, POLICY), &seq(&[&seq(&[&tlv(0x06, OCSP)])])])])),
        (AIA, seq(&[&seq(&[&tlv(0x06, OCSP)])])),
        (AIA, seq(&[&seq(&[&tlv(0x06, OCSP), &uri("a"), &uri("b")])])),
        (SIA, seq(&[])),
        (NAME_CONSTRAINTS, seq(&[&tlv(0xa0, &[])])),
        (NAME_CONSTRAINTS, seq(&[&tlv(0xa1, &seq(&[])), &tlv(0xa0, &seq(&[&dns("a")]))])),
        (POLICY_MAPPINGS, seq(&[&seq(&[&tlv(0x06, POLICY)])])),
        (POLICY_CONSTRAINTS, seq(&[&tlv(0x80, &[0x80])])),
        (INHIBIT, tlv(0x02, &[0xff])),
        (SCT, tlv(0x04, &[0x00, 0x03, 0x00, 0x02, 0x01])),
        (SCT, tlv(0x04, &[0x00, 0x02, 0x00, 0x00])),
        (SCT, tlv(0x04, &[0x00, 0x00])),
        (NS_CERT_TYPE, tlv(0x03, &[0x00, 0x40, 0x00])),
        (NS_COMMENT, tlv(0x16, "ü".as_bytes())),
    ];
    for (oid, value) in bad {
        assert_eq!(well_formed(oid, &value), Some(false), "{} {value:02x?}", extension_name(oid));
    }
    // CRL extensions x509-parser knew are unknown in a certificate here, like any other.
    assert_eq!(well_formed(CRL_NUMBER, &tlv(0x02, &[1])), None);
    assert_eq!(well_formed(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d, 0x1f, 0x01], &[0x05, 0x00]), None);
    assert_eq!(extension_name(CRL_NUMBER), "extension 2.5.29.20");
}

/// Whatever one-byte change of a well-formed value still reads here, x509-parser read
/// too: the reader is never more lenient on a value (the SCT list, read here as its TLS
/// framing only, aside).
#[test]
fn byte_changes_never_make_a_value_more_lenient() {
    let mut checked = 0;
    for (oid, value) in good_values().into_iter().filter(|(oid, _)| *oid != SCT) {
        for i in 0..value.len() {
            for change in [0x00, 0xff, value[i] ^ 0x01, value[i] ^ 0x80, value[i] ^ 0x20, value[i].wrapping_add(1)] {
                let mut mutated = value.clone();
                mutated[i] = change;
                if well_formed(oid, &mutated) == Some(true) {
                    let theirs = x509_parser_reads(oid, &mutated);
                    assert_eq!(theirs, Some(true), "{} {mutated:02x?}", extension_name(oid));
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100, "only {checked}");
}

#[test]
fn a_certificate_keeps_duplicates_and_criticality_for_the_rules() {
    let bc = ext(BASIC_CONSTRAINTS, true, &seq(&[]));
    let der = with_extensions(&[bc.clone(), bc, ext(SUBJECT_ALT_NAME, false, &seq(&[&dns("a")]))]);
    let cert = Certificate::parse(&der).unwrap();
    assert_eq!(cert.extensions.len(), 3);
    assert!(cert.extensions[0].critical && !cert.extensions[2].critical);
    assert_eq!(cert.extension(SUBJECT_ALT_NAME).map(|e| e.value), Some(&seq(&[&dns("a")])[..]));
}
