//! The legacy-certificate rules at their edges (DESIGN §3, Verification 2; docs/security.md):
//! only a leaf without any subjectAltName falls back to its CN, a CN never holds a wildcard,
//! a malformed or duplicated extension, extensions in a v1 or v2 certificate, and a CA
//! certificate as a leaf are refused. Every certificate is signed by the CA the agent
//! trusts, so nothing but the rule under test refuses it, and each case goes through a
//! real TLS server that must receive nothing.

mod common;
use common::forge::{self, Leaf};
use common::*;
use std::path::PathBuf;
use swtls::{Channel, Status};
use swtls_collector::{BlockingCollector, CollectorOptions};

struct Case {
    certs: Certs,
}

impl Case {
    fn new() -> Case {
        Case { certs: Certs::new() }
    }

    /// The leaf, signed by the set's CA, as `NAME.crt` / `NAME.pem`.
    fn leaf(&self, leaf: Leaf, name: &str) -> (PathBuf, PathBuf) {
        forge::issue(&self.certs.set.ca, &leaf, None, self.certs.tmp.path(), name)
    }

    /// A call through a channel trusting the set's CA (one-way TLS) to a server that
    /// presents the certificate, checking the name `name` (the override, when not
    /// `localhost`).
    fn call(&self, (crt, pem): &(PathBuf, PathBuf), name: &str) -> (swtls::Result<bytes::Bytes>, BlockingCollector) {
        let server = BlockingCollector::start(CollectorOptions::tls(crt, pem)).unwrap();
        let dir = self.certs.agent_dir(&format!("agent-{}", server.addr().port()), &["ca.crt"]);
        let extra: Vec<(&str, &str)> =
            if name == "localhost" { Vec::new() } else { vec![("agent.ssl_target_name_override", name)] };
        let ch = Channel::new(&config(&format!("localhost:{}", server.addr().port()), &dir, &extra)).unwrap();
        (ch.unary_blocking(methods::KEEP_ALIVE, ping("rules", "i"), None), server)
    }

    fn accepted(&self, files: &(PathBuf, PathBuf), name: &str) {
        let (r, server) = self.call(files, name);
        r.unwrap();
        assert_eq!(server.received().pings.len(), 1);
    }

    #[track_caller]
    fn refused(&self, files: &(PathBuf, PathBuf), name: &str, status: Status, fragments: &[&str]) -> swtls::Error {
        let (r, server) = self.call(files, name);
        let e = assert_err(r, status, fragments);
        assert!(server.received().pings.is_empty(), "the server received something: {:?}", server.received());
        e
    }
}

#[test]
fn well_formed_forged_certificates_are_accepted() {
    // The controls: the forging itself is sound, so each refusal below is its rule's.
    let c = Case::new();
    c.accepted(&c.leaf(Leaf::new(1, "localhost"), "v1"), "localhost");
    c.accepted(&c.leaf(Leaf::new(3, "localhost"), "v3-cn-only"), "localhost");
    c.accepted(&c.leaf(Leaf::new(3, "whatever").ext(forge::san_dns(&["localhost"])), "v3-san"), "localhost");
    c.accepted(&c.leaf(Leaf::new(3, "x").ext(forge::san_dns(&["*.oap.svc"])), "v3-wild"), "a.oap.svc");
}

/// The extensions `openssl x509 -req -extfile` writes for a usual server configuration
/// (bytes from OpenSSL 3: critical basicConstraints and keyUsage, extendedKeyUsage, key
/// identifiers, certificatePolicies, cRLDistributionPoints, authorityInfoAccess,
/// nsComment), without a subjectAltName: the legacy rules know and read them all.
#[test]
fn a_cn_only_leaf_with_the_usual_openssl_extensions_is_accepted() {
    let c = Case::new();
    let hex =
        |s: &str| (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect::<Vec<u8>>();
    let exts = [
        forge::ext(forge::OID_BASIC_CONSTRAINTS, true, &hex("3000")),
        forge::ext(&[0x55, 0x1d, 0x0f], true, &hex("03020780")),
        forge::ext(forge::OID_EKU, false, &hex("300A06082B06010505070301")),
        forge::ext(&[0x55, 0x1d, 0x0e], false, &hex("0414923792E354339F96730F7B7C92908131ACE1486B")),
        forge::ext(&[0x55, 0x1d, 0x23], false, &hex("3016801421B3E919AB5A3CE8E39C1E032D3C9F7AA80D947F")),
        forge::ext(&[0x55, 0x1d, 0x20], false, &hex("3007300506032A0304")),
        forge::ext(&[0x55, 0x1d, 0x1f], false, &hex("30123010A00EA00C860A687474703A2F2F63726C")),
        forge::ext(&[0x2b, 6, 1, 5, 5, 7, 1, 1], false, &hex("3019301706082B06010505073001860B687474703A2F2F6F637370")),
        forge::ext(&[0x60, 0x86, 0x48, 1, 0x86, 0xf8, 0x42, 1, 0x0d], false, &hex("16026869")),
    ];
    let mut leaf = Leaf::new(3, "localhost");
    leaf.extensions = exts.to_vec();
    c.accepted(&c.leaf(leaf, "v3-openssl-exts"), "localhost");
}

#[test]
fn a_subjectaltname_with_only_a_uri_does_not_fall_back_to_the_cn() {
    let c = Case::new();
    let files = c.leaf(Leaf::new(3, "localhost").ext(forge::san_uri("spiffe://cluster/oap")), "uri-only");
    c.refused(&files, "localhost", Status::TlsNameMismatch, &["'localhost'", "no DNS name or IP address"]);
}

#[test]
fn a_subjectaltname_that_does_not_match_is_final_even_when_the_cn_matches() {
    let c = Case::new();
    let files = c.leaf(Leaf::new(3, "localhost").ext(forge::san_dns(&["other.example"])), "san-other");
    c.refused(&files, "localhost", Status::TlsNameMismatch, &["'localhost'", "other.example"]);
}

#[test]
fn san_wildcards_follow_webpki() {
    let c = Case::new();
    // WebPKI wants two labels after the wildcard: `*.svc` does not cover `oap.svc`.
    let files = c.leaf(Leaf::new(3, "x").ext(forge::san_dns(&["*.svc"])), "wild-short");
    c.refused(&files, "oap.svc", Status::TlsNameMismatch, &["'oap.svc'", "*.svc"]);
    // One label only.
    let files = c.leaf(Leaf::new(3, "x").ext(forge::san_dns(&["*.oap.svc"])), "wild-deep");
    c.refused(&files, "a.b.oap.svc", Status::TlsNameMismatch, &["'a.b.oap.svc'"]);
}

#[test]
fn a_cn_with_a_wildcard_never_matches() {
    let c = Case::new();
    for (version, name) in [(1, "v1-wild-cn"), (3, "v3-wild-cn")] {
        let files = c.leaf(Leaf::new(version, "*.oap.svc"), name);
        c.refused(&files, "a.oap.svc", Status::TlsNameMismatch, &["'a.oap.svc'", "*.oap.svc (subject CN)"]);
    }
}

#[test]
fn extensions_in_a_v1_or_v2_certificate_are_refused() {
    let c = Case::new();
    // The name is in a well-formed subjectAltName too: only the version rule refuses these.
    for version in [1, 2] {
        let leaf = Leaf::new(version, "localhost").ext(forge::san_dns(&["localhost"]));
        let files = c.leaf(leaf, &format!("v{version}-ext"));
        c.refused(&files, "localhost", Status::TlsBadCertificate, &[&format!("X.509 v{version}"), "extensions"]);
    }
    let mut leaf = Leaf::new(1, "localhost");
    leaf.issuer_unique_id = true;
    let files = c.leaf(leaf, "v1-uid");
    c.refused(&files, "localhost", Status::TlsBadCertificate, &["X.509 v1", "unique identifiers"]);
}

#[test]
fn malformed_or_duplicated_subjectaltname_or_extendedkeyusage_is_refused() {
    let c = Case::new();
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("san-malformed", vec![forge::ext(forge::OID_SAN, false, &[0x30, 0x05, 0x82, 0x09, b'l'])]),
        ("san-twice", vec![forge::san_dns(&["other.example"]), forge::san_dns(&["other.example"])]),
        ("eku-malformed", vec![forge::ext(forge::OID_EKU, false, &[0x30, 0x03, 0x06, 0x09, 0x2b])]),
        ("eku-twice", vec![forge::eku(&[forge::OID_SERVER_AUTH]), forge::eku(&[forge::OID_CLIENT_AUTH])]),
    ];
    // Before the rules, each of these read as "no subjectAltName / no extendedKeyUsage" and
    // was accepted by its CN; under v2 (which webpki does not parse) and v3 (which it does).
    for (name, exts) in cases {
        for version in [2, 3] {
            let mut leaf = Leaf::new(version, "localhost");
            leaf.extensions = exts.clone();
            let files = c.leaf(leaf, &format!("{name}-v{version}"));
            let (r, server) = c.call(&files, "localhost");
            let e = r.expect_err(&format!("{name} v{version} must be refused"));
            assert!(
                matches!(e.status, Status::TlsBadCertificate | Status::TlsNameMismatch),
                "{name} v{version}: {:?} {}",
                e.status,
                e.message
            );
            assert!(server.received().pings.is_empty());
        }
    }
}

#[test]
fn a_ca_certificate_is_never_a_server() {
    let c = Case::new();
    for version in [2, 3] {
        let files = c.leaf(Leaf::new(version, "localhost").ext(forge::ca_true()), &format!("ca-leaf-v{version}"));
        c.refused(&files, "localhost", Status::TlsBadCertificate, &[]);
    }
}
