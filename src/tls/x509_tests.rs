//! The reader against x509-parser (the reference it replaced: whatever this reader accepts,
//! x509-parser read the same way), and on malformed input.

use super::*;
use x509_parser::prelude::{FromDer, X509Certificate};

/// One DER element (test input, so lengths up to 64 KiB).
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
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

pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(SEQUENCE, &parts.concat())
}

const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

/// A Name with one attribute per RDN: (type OID content, value tag, value).
pub(crate) fn name(attrs: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
    let rdns: Vec<Vec<u8>> =
        attrs.iter().map(|(oid, tag, v)| tlv(SET, &seq(&[&tlv(OID, oid), &tlv(*tag, v)]))).collect();
    tlv(SEQUENCE, &rdns.concat())
}

fn validity(not_before: &[u8], not_after: &[u8]) -> Vec<u8> {
    seq(&[not_before, not_after])
}

/// A certificate from its tbsCertificate fields (`version` and `tail`, what follows the
/// SubjectPublicKeyInfo, as raw elements), with a dummy signature: the reader does not
/// verify signatures.
pub(crate) fn build(version: &[u8], subject: &[u8], validity: &[u8], tail: &[u8]) -> Vec<u8> {
    let alg = seq(&[&tlv(OID, ECDSA_SHA256)]);
    let key = rcgen::KeyPair::generate().unwrap();
    let spki = rcgen::PublicKeyData::subject_public_key_info(&key);
    let issuer = name(&[(COMMON_NAME, 0x0c, b"the CA")]);
    let tbs = seq(&[version, &tlv(INTEGER, &[0x01]), &alg, &issuer, validity, subject, &spki, tail]);
    seq(&[&tbs, &alg, &tlv(0x03, &[0x00, 0x30, 0x00])])
}

pub(crate) fn ext(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let critical = if critical { tlv(BOOLEAN, &[0xff]) } else { Vec::new() };
    seq(&[&tlv(OID, oid), &critical, &tlv(OCTET_STRING, value)])
}

/// A v3 certificate with these extensions.
pub(crate) fn with_extensions(exts: &[Vec<u8>]) -> Vec<u8> {
    let subject = name(&[(COMMON_NAME, 0x0c, b"localhost")]);
    build(&v(2), &subject, &usual_validity(), &tlv(0xa3, &seq(&[&exts.concat()])))
}

fn v(version: u8) -> Vec<u8> {
    tlv(0xa0, &tlv(INTEGER, &[version]))
}

fn usual_validity() -> Vec<u8> {
    validity(&tlv(UTC_TIME, b"240101000000Z"), &tlv(GENERALIZED_TIME, b"20510101000000Z"))
}

/// The reader's fields equal x509-parser's for `der`, which both must read.
fn same_as_x509_parser(der: &[u8]) -> Certificate<'_> {
    let ours = Certificate::parse(der).expect("the reader reads it");
    let (rest, theirs) = X509Certificate::from_der(der).expect("x509-parser reads it");
    assert!(rest.is_empty());
    assert_eq!(ours.version, theirs.version().0);
    assert_eq!(ours.issuer, theirs.issuer().as_raw());
    assert_eq!(ours.subject, theirs.subject().as_raw());
    assert_eq!(ours.not_before, theirs.validity().not_before.timestamp());
    assert_eq!(ours.not_after, theirs.validity().not_after.timestamp());
    assert_eq!(ours.spki, theirs.public_key().raw);
    let tbs = &theirs.tbs_certificate;
    assert_eq!(ours.unique_ids, tbs.issuer_uid.is_some() || tbs.subject_uid.is_some());
    let exts: Vec<_> = theirs.extensions().iter().map(|e| (e.oid.as_bytes(), e.critical, e.value)).collect();
    assert_eq!(ours.extensions.iter().map(|e| (e.oid, e.critical, e.value)).collect::<Vec<_>>(), exts);
    // x509-parser took a CN of any class or form by its tag number; this reader only
    // the universal, primitive string types.
    let universal = |cn: &&x509_parser::x509::AttributeTypeAndValue<'_>| {
        cn.attr_value().class() == x509_parser::der_parser::asn1_rs::Class::Universal
            && !cn.attr_value().header.is_constructed()
    };
    let cns: Vec<&str> =
        theirs.subject().iter_common_name().filter(universal).filter_map(|cn| cn.as_str().ok()).collect();
    assert_eq!(common_names(ours.subject), cns);
    // asn1-rs shows an OID whose first sub-identifier takes more than one byte wrongly
    // (`OID(6.15.4.3)` for 2.16180.3); this reader shows it as X.690 reads it.
    for (ours, theirs) in [(ours.subject, theirs.subject()), (ours.issuer, theirs.issuer())] {
        let rdns = only(ours, SEQUENCE).and_then(attributes).unwrap_or_default();
        if !rdns.iter().flatten().any(|(oid, _, _)| oid[0] & 0x80 != 0) {
            assert_eq!(name_text(ours), theirs.to_string());
        }
    }
    ours
}

fn rcgen_certificates() -> Vec<Vec<u8>> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyUsagePurpose, SanType};
    let key = rcgen::KeyPair::generate().unwrap();
    let mut plain = CertificateParams::new(vec!["localhost".into(), "oap.svc".into()]).unwrap();
    plain.subject_alt_names.push(SanType::IpAddress("10.0.0.1".parse().unwrap()));
    plain.subject_alt_names.push(SanType::IpAddress("::1".parse().unwrap()));
    plain.distinguished_name.push(DnType::CountryName, "FR");
    plain.distinguished_name.push(DnType::OrganizationName, "Example, Inc.");
    plain.distinguished_name.push(DnType::CommonName, "ünïcode");
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(3));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    ca.use_authority_key_identifier_extension = true;
    let mut no_names = CertificateParams::new(Vec::<String>::new()).unwrap();
    no_names.distinguished_name = rcgen::DistinguishedName::new();
    [plain, ca, no_names].into_iter().map(|p| p.self_signed(&key).unwrap().der().to_vec()).collect()
}

#[test]
fn reads_what_x509_parser_reads() {
    for der in rcgen_certificates() {
        let cert = same_as_x509_parser(&der);
        assert_eq!(cert.version, 2);
    }
    let cn = name(&[(COMMON_NAME, 0x13, b"localhost")]);
    // v1 as `openssl x509 -req` writes it, v1 written out, v2 with unique identifiers, a
    // version that does not exist, an empty extension list.
    let uids = [tlv(0x81, &[0x00, 0xaa]), tlv(0x82, &[0x04, 0xf0])].concat();
    for (version, tail, expected) in [
        (Vec::new(), Vec::new(), 0),
        (v(0), Vec::new(), 0),
        (v(1), uids.clone(), 1),
        (v(1), tlv(0x82, &[0x00]), 1),
        (v(7), Vec::new(), 7),
        (v(2), tlv(0xa3, &seq(&[])), 2),
    ] {
        let der = build(&version, &cn, &usual_validity(), &tail);
        let cert = same_as_x509_parser(&der);
        assert_eq!((cert.version, cert.unique_ids), (expected, !tail.is_empty() && tail[0] != 0xa3));
        assert_eq!((cert.not_before, cert.not_after), (1_704_067_200, 2_556_144_000));
    }
}

#[test]
fn names_read_and_display_as_x509_parser_did() {
    const O: &[u8] = &[0x55, 0x04, 0x0a];
    const ORG_ID: &[u8] = &[0x55, 0x04, 0x61];
    const EMAIL: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];
    let bmp: Vec<u8> = "bmp ü".encode_utf16().flat_map(u16::to_be_bytes).collect();
    let subjects = [
        name(&[(&[0x55, 0x04, 0x06], 0x13, b"FR"), (O, 0x0c, b"Example"), (COMMON_NAME, 0x0c, b"localhost")]),
        // Every string type x509-parser showed as text; a CN of each.
        name(&[
            (COMMON_NAME, 0x12, b"123"),
            (COMMON_NAME, 0x13, b"printable"),
            (COMMON_NAME, 0x16, b"ia5"),
            (COMMON_NAME, 0x0c, "utf8 ü".as_bytes()),
            (COMMON_NAME, 0x14, b"teletex"),
            (COMMON_NAME, 0x1e, &bmp),
            (COMMON_NAME, 0x1a, b"visible"),
        ]),
        // An INTEGER value (hex), a type without a short name, an e-mail address.
        name(&[(O, INTEGER, &[0x01, 0xab]), (ORG_ID, 0x0c, b"NTRFR-1"), (EMAIL, 0x16, b"a@b")]),
        // Not UTF-8: no CN, and the whole name shows as invalid.
        name(&[(COMMON_NAME, 0x0c, &[0xff, 0xfe]), (COMMON_NAME, 0x13, b"ok")]),
        name(&[]),
    ];
    for subject in &subjects {
        same_as_x509_parser(&build(&[], subject, &usual_validity(), &[]));
    }
    // A multi-valued RDN.
    let pair = [seq(&[&tlv(OID, COMMON_NAME), &tlv(0x0c, b"a")]), seq(&[&tlv(OID, COMMON_NAME), &tlv(0x0c, b"b")])];
    let multi = tlv(SEQUENCE, &tlv(SET, &pair.concat()));
    let der = build(&[], &multi, &usual_validity(), &[]);
    let cert = same_as_x509_parser(&der);
    assert_eq!(name_text(cert.subject), "CN=a + CN=b");
    assert_eq!(common_names(cert.subject), ["a", "b"]);
}

#[test]
fn times_are_read_in_their_der_forms_only() {
    let at = |tag: u8, text: &[u8]| time(&tlv(tag, text)).map(|(t, _)| t);
    assert_eq!(at(UTC_TIME, b"700101000000Z"), Some(0));
    assert_eq!(at(UTC_TIME, b"491231235959Z"), Some(2_524_607_999));
    assert_eq!(at(UTC_TIME, b"500101000000Z"), Some(-631_152_000));
    assert_eq!(at(GENERALIZED_TIME, b"20500101000000Z"), Some(2_524_608_000));
    assert_eq!(at(GENERALIZED_TIME, b"19691231235959Z"), Some(-1));
    assert_eq!(at(UTC_TIME, b"240229120000Z"), Some(1_709_208_000));
    for (tag, bad) in [
        (UTC_TIME, &b"2401010000Z"[..]),          // no seconds
        (UTC_TIME, b"240101000000+0100"),         // an offset
        (UTC_TIME, b"240101000000z"),             // lower-case z
        (UTC_TIME, b"240101000000"),              // no zone
        (UTC_TIME, b"230229000000Z"),             // not a leap year
        (UTC_TIME, b"240431000000Z"),             // 31 April
        (UTC_TIME, b"241301000000Z"),             // month 13
        (UTC_TIME, b"240100000000Z"),             // day 0
        (UTC_TIME, b"240101240000Z"),             // hour 24
        (UTC_TIME, b"240101006000Z"),             // minute 60
        (UTC_TIME, b"240101000060Z"),             // second 60 (leap seconds are not DER times)
        (UTC_TIME, b"24010100000 Z"),             // not a digit
        (UTC_TIME, b"2401010000+0Z"),             // not a digit
        (GENERALIZED_TIME, b"20240101000000.5Z"), // fractions
        (GENERALIZED_TIME, b"202401010000Z"),     // no seconds
        (GENERALIZED_TIME, b"20240101000000"),    // no zone
        (GENERALIZED_TIME, b"240101000000Z"),     // two-digit year
        (UTC_TIME, b"20240101000000Z"),           // four-digit year in a UTCTime
        (0x13, b"240101000000Z"),                 // a PrintableString
    ] {
        assert_eq!(at(tag, bad), None, "{}", String::from_utf8_lossy(bad));
    }
    // In a certificate, either bad time refuses it.
    let cn = name(&[(COMMON_NAME, 0x13, b"x")]);
    let good = tlv(UTC_TIME, b"240101000000Z");
    let bad = tlv(UTC_TIME, b"240101000000+0000");
    assert!(Certificate::parse(&build(&[], &cn, &validity(&good, &good), &[])).is_some());
    assert!(Certificate::parse(&build(&[], &cn, &validity(&bad, &good), &[])).is_none());
    assert!(Certificate::parse(&build(&[], &cn, &validity(&good, &bad), &[])).is_none());
    assert!(Certificate::parse(&build(&[], &cn, &seq(&[&good, &good, &good]), &[])).is_none());
}

#[test]
fn every_truncation_is_refused() {
    for der in rcgen_certificates().iter().chain([&with_extensions(&[ext(&[0x55, 0x1d, 0x13], true, &seq(&[]))])]) {
        for len in 0..der.len() {
            assert!(Certificate::parse(&der[..len]).is_none(), "{len} of {}", der.len());
        }
        let mut longer = der.clone();
        longer.push(0);
        assert!(Certificate::parse(&longer).is_none());
    }
}

/// Whatever one-byte change the reader still accepts, x509-parser read the same way: the
/// reader is never more lenient than the library it replaced.
#[test]
fn byte_changes_never_make_the_reader_more_lenient() {
    let mut inputs = rcgen_certificates();
    inputs.push(build(&[], &name(&[(COMMON_NAME, 0x13, b"localhost")]), &usual_validity(), &[]));
    let mut accepted = 0;
    for der in &inputs {
        for i in 0..der.len() {
            for change in [0x00, 0xff, der[i] ^ 0x01, der[i] ^ 0x80, der[i] ^ 0x20, der[i].wrapping_add(1)] {
                let mut mutated = der.clone();
                mutated[i] = change;
                if mutated != *der && Certificate::parse(&mutated).is_some() {
                    same_as_x509_parser(&mutated);
                    accepted += 1;
                }
            }
        }
    }
    assert!(accepted > 100, "only {accepted} changes read at all");
}

#[test]
fn malformed_structures_are_refused() {
    let cn = name(&[(COMMON_NAME, 0x13, b"x")]);
    let ok = |version: &[u8], subject: &[u8], tail: &[u8]| {
        Certificate::parse(&build(version, subject, &usual_validity(), tail)).is_some()
    };
    assert!(ok(&[], &cn, &[]));
    // Lengths: the long form where the short one fits (in the Name's SEQUENCE).
    let long_form = [&[SEQUENCE, 0x81, (cn.len() - 2) as u8][..], &cn[2..]].concat();
    assert!(!ok(&[], &long_form, &[]));
    // Version: not [0], negative, not minimal, beyond u32, something after the INTEGER.
    assert!(!ok(&tlv(0xa1, &tlv(INTEGER, &[2])), &cn, &[]));
    assert!(!ok(&tlv(0xa0, &tlv(INTEGER, &[0xff])), &cn, &[]));
    assert!(!ok(&tlv(0xa0, &tlv(INTEGER, &[0x00, 0x02])), &cn, &[]));
    assert!(!ok(&tlv(0xa0, &tlv(INTEGER, &[0x01, 0, 0, 0, 0])), &cn, &[]));
    assert!(!ok(&tlv(0xa0, &[tlv(INTEGER, &[2]), vec![0]].concat()), &cn, &[]));
    // Names: an empty RDN, an attribute with two values, a high tag number, a bad OID.
    assert!(!ok(&[], &tlv(SEQUENCE, &tlv(SET, &[])), &[]));
    let two_values = tlv(SEQUENCE, &tlv(SET, &seq(&[&tlv(OID, COMMON_NAME), &tlv(0x0c, b"a"), &tlv(0x0c, b"b")])));
    assert!(!ok(&[], &two_values, &[]));
    let high_tag = tlv(SEQUENCE, &tlv(SET, &seq(&[&tlv(OID, COMMON_NAME), &[0x1f, 0x22, 0x01, b'a']])));
    assert!(!ok(&[], &high_tag, &[]));
    assert!(!ok(&[], &name(&[(&[0x55, 0x80, 0x03], 0x0c, b"a")]), &[]));
    assert!(!ok(&[], &[&cn[..], &[0x00][..]].concat()[..], &[])); // a byte after the Name
                                                                  // Unique identifiers: bad BIT STRINGs, out of order, twice; extensions before them.
    let v2 = v(1);
    assert!(ok(&v2, &cn, &tlv(0x81, &[0x01, 0x02])));
    assert!(!ok(&v2, &cn, &tlv(0x81, &[0x01, 0x01])));
    assert!(!ok(&v2, &cn, &tlv(0x81, &[0x08, 0x00])));
    assert!(!ok(&v2, &cn, &tlv(0x81, &[])));
    assert!(!ok(&v2, &cn, &[tlv(0x82, &[0]), tlv(0x81, &[0])].concat()));
    assert!(!ok(&v2, &cn, &[tlv(0x81, &[0]), tlv(0x81, &[0])].concat()));
    let exts = tlv(0xa3, &seq(&[&ext(&[0x55, 0x1d, 0x0e], false, &tlv(0x04, &[1]))]));
    assert!(ok(&v(2), &cn, &exts));
    assert!(!ok(&v(2), &cn, &[exts.clone(), tlv(0x81, &[0])].concat()));
    assert!(!ok(&v(2), &cn, &[exts.clone(), vec![0x05, 0x00]].concat()));
    // Extensions: another wrapper than [3] (x509-parser looked at the tag number only),
    // not a SEQUENCE inside, bytes after the list.
    for wrapper in [0x83, 0x23, 0x03, 0xa4] {
        assert!(!ok(&v(2), &cn, &[&[wrapper][..], &exts[1..]].concat()), "{wrapper:#x}");
    }
    assert!(!ok(&v(2), &cn, &tlv(0xa3, &tlv(SET, &[]))));
    assert!(!ok(&v(2), &cn, &tlv(0xa3, &[seq(&[]), vec![0x05, 0x00]].concat())));
    // One extension: critical as BER TRUE (0x01) or an empty BOOLEAN, no value, two values,
    // a bad OID, the value not an OCTET STRING.
    let e = |parts: &[&[u8]]| ok(&v(2), &cn, &tlv(0xa3, &seq(&[&seq(parts)])));
    let (oid, value) = (tlv(OID, &[0x55, 0x1d, 0x0e]), tlv(OCTET_STRING, &tlv(OCTET_STRING, &[1])));
    assert!(e(&[&oid, &value]));
    assert!(e(&[&oid, &tlv(BOOLEAN, &[0xff]), &value]));
    assert!(e(&[&oid, &tlv(BOOLEAN, &[0x00]), &value]));
    assert!(!e(&[&oid, &tlv(BOOLEAN, &[0x01]), &value]));
    assert!(!e(&[&oid, &tlv(BOOLEAN, &[]), &value]));
    assert!(!e(&[&oid]));
    assert!(!e(&[&oid, &value, &value]));
    assert!(!e(&[&tlv(OID, &[0x55, 0x9d]), &value]));
    assert!(!e(&[&oid, &tlv(0x24, &value[2..])]));
}

#[test]
fn der_helpers() {
    assert!(valid_oid(&[0x55, 0x1d, 0x11]) && valid_oid(&[0x2a, 0x86, 0x48]) && valid_oid(&[0x00]));
    assert!(
        !valid_oid(&[]) && !valid_oid(&[0x55, 0x9d]) && !valid_oid(&[0x80, 0x01]) && !valid_oid(&[0x2a, 0x80, 0x01])
    );
    assert_eq!(oid_text(&[0x55, 0x1d, 0x11]), "2.5.29.17");
    assert_eq!(oid_text(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d, 0x1f, 0x01]), "1.3.6.1.4.1.99999.1");
    assert_eq!(oid_text(&[0x88, 0x37]), "2.999");
    assert_eq!(small_uint(&[0x00]), Some(0));
    assert_eq!(small_uint(&[0x00, 0xff, 0xff, 0xff, 0xff]), Some(u32::MAX));
    for bad in [&[][..], &[0x80], &[0x00, 0x7f], &[0xff, 0x80], &[0x01, 0, 0, 0, 0]] {
        assert_eq!(small_uint(bad), None, "{bad:?}");
    }
    assert!(valid_bit_string(&[0]) && valid_bit_string(&[7, 0x80]) && valid_bit_string(&[0, 0xff]));
    assert!(!valid_bit_string(&[]) && !valid_bit_string(&[1]) && !valid_bit_string(&[8, 0]));
    assert!(!valid_bit_string(&[1, 0x01]));
    assert_eq!(
        (boolean(&[0]), boolean(&[0xff]), boolean(&[1]), boolean(&[0, 0])),
        (Some(false), Some(true), None, None)
    );
    assert_eq!(name_text(&[0x30, 0x01]), "<X509Error: Invalid X.509 name>");
    assert!(common_names(&[0x30, 0x01]).is_empty());
}

#[cfg(feature = "test-hooks")]
#[test]
fn the_fuzz_entry_point_reads_certificates_and_any_bytes() {
    use crate::testing::fuzz::x509_reader;
    for der in rcgen_certificates() {
        let fields = x509_reader(&der).expect("a certificate reads");
        assert_eq!(fields.spki, Certificate::parse(&der).unwrap().spki);
    }
    for pick in 0..=255u8 {
        assert!(x509_reader(&[pick, SEQUENCE, 0x00]).is_none());
    }
    assert!(x509_reader(&[]).is_none());
}
