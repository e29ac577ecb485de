#![no_main]
//! The library's certificate reader (`tls::x509`, `tls::x509_ext`) on any input, against
//! x509-parser, the reader it replaced in the shipped library: whatever it reads,
//! x509-parser reads with the same fields (it may refuse more, never less).

use x509_parser::prelude::{FromDer, X509Certificate};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(ours) = swtls::testing::fuzz::x509_reader(data) else { return };
    let (rest, theirs) = X509Certificate::from_der(data).expect("x509-parser reads what swtls reads");
    assert!(rest.is_empty());
    let tbs = &theirs.tbs_certificate;
    assert_eq!(ours.version, theirs.version().0);
    assert_eq!(ours.issuer, theirs.issuer().as_raw());
    assert_eq!(ours.subject, theirs.subject().as_raw());
    assert_eq!(ours.not_before, theirs.validity().not_before.timestamp());
    assert_eq!(ours.not_after, theirs.validity().not_after.timestamp());
    assert_eq!(ours.spki, theirs.public_key().raw);
    assert_eq!(ours.unique_ids, tbs.issuer_uid.is_some() || tbs.subject_uid.is_some());
    let exts: Vec<_> = theirs.extensions().iter().map(|e| (e.oid.as_bytes().to_vec(), e.critical, e.value.to_vec())).collect();
    assert_eq!(ours.extensions, exts);
});
