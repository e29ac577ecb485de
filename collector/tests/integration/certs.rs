use std::process::Command;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use swtls_collector::certs::{
    certificate_version, pem_encode, write_ca_bundle, Ca, CertOptions, CertSet, KeyAlg, KeyFormat, PrivateKey,
};
use swtls_collector::{methods, Collector, CollectorOptions};

use crate::common::{client_config, connect, tls, unary, BOTH};

fn openssl_available() -> bool {
    Command::new("openssl").arg("version").output().map(|o| o.status.success()).unwrap_or(false)
}

#[test]
fn cert_set_layout() {
    let dir = tempfile::tempdir().unwrap();
    let set = CertSet::generate(&dir.path().join("ca"), &["localhost", "127.0.0.1", "::1"]).unwrap();
    for (path, name) in [
        (&set.ca_cert, "ca.crt"),
        (&set.ca_key, "ca.key"),
        (&set.server_cert, "server.crt"),
        (&set.server_key, "server.key"),
        (&set.client_cert, "client.crt"),
        (&set.client_key, "client.pem"),
    ] {
        assert_eq!(path.file_name().unwrap(), name);
        assert!(path.is_file(), "{}", path.display());
    }
    let key = std::fs::read_to_string(&set.client_key).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(matches!(PrivateKeyDer::from_pem_file(&set.client_key).unwrap(), PrivateKeyDer::Pkcs8(_)));
    let certs: Vec<_> = CertificateDer::pem_file_iter(&set.server_cert).unwrap().collect();
    assert_eq!(certs.len(), 1);
    assert_eq!(certificate_version(set.server.cert_der()).unwrap(), 3);
    if openssl_available() {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
            .arg(&set.server_cert)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("DNS:localhost"), "{text}");
        assert!(text.contains("IP Address:127.0.0.1"), "{text}");
        assert!(text.contains("IP Address:0:0:0:0:0:0:0:1"), "{text}");
    }
}

#[test]
fn key_formats() {
    for alg in [KeyAlg::EcdsaP256, KeyAlg::EcdsaP384] {
        let key = PrivateKey::generate(alg).unwrap();
        let pem = key.to_pem(KeyFormat::Sec1).unwrap();
        assert!(pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
        assert!(matches!(PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap(), PrivateKeyDer::Sec1(_)));
        assert!(key.to_der(KeyFormat::Pkcs1).is_err());
        // rustls can sign with the SEC1 form.
        let der = PrivateKeyDer::try_from(key.to_der(KeyFormat::Sec1).unwrap()).unwrap();
        assert!(matches!(der, PrivateKeyDer::Sec1(_)));
        rustls::crypto::ring::sign::any_supported_type(&der).unwrap();
    }
    let rsa = PrivateKey::generate(KeyAlg::Rsa2048).unwrap();
    let pem = rsa.to_pem(KeyFormat::Pkcs1).unwrap();
    assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap();
    assert!(matches!(der, PrivateKeyDer::Pkcs1(_)));
    rustls::crypto::ring::sign::any_supported_type(&der).unwrap();
    assert!(rsa.to_der(KeyFormat::Sec1).is_err());
    assert_eq!(KeyAlg::Rsa2048.traditional_format(), KeyFormat::Pkcs1);

    let ed = PrivateKey::generate(KeyAlg::Ed25519).unwrap();
    assert!(ed.to_der(KeyFormat::Sec1).is_err());
    assert!(ed.to_pem(KeyFormat::Pkcs8).unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));

    if openssl_available() {
        let dir = tempfile::tempdir().unwrap();
        let ec = PrivateKey::generate(KeyAlg::EcdsaP256).unwrap();
        for (key, fmt, name) in
            [(&ec, KeyFormat::Sec1, "ec.pem"), (&rsa, KeyFormat::Pkcs1, "rsa.pem"), (&ec, KeyFormat::Pkcs8, "p8.pem")]
        {
            let path = dir.path().join(name);
            key.write_pem(&path, fmt).unwrap();
            let st = Command::new("openssl").args(["pkey", "-noout", "-in"]).arg(&path).status().unwrap();
            assert!(st.success(), "openssl rejects {name}");
        }
    }
}

#[test]
fn pem_round_trip() {
    let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let pem = pem_encode("CERTIFICATE", &data);
    assert!(pem.lines().all(|l| l.len() <= 64));
    let back = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    assert_eq!(back.as_ref(), &data[..]);
}

#[test]
fn v1_leaf_certificate() {
    // SkyWalking's script: CA and server both CN=localhost.
    let same = Ca::new("localhost").unwrap();
    let leaf = same.issue_v1_leaf(&CertOptions::new("localhost")).unwrap();
    assert_eq!(certificate_version(leaf.cert_der()).unwrap(), 1);
    // openssl sees issuer == subject as self-signed, so check the signature with a
    // CA of another name.
    let ca = Ca::new("v1 test CA").unwrap();
    let leaf = ca.issue_v1_leaf(&CertOptions::new("localhost")).unwrap();
    if openssl_available() {
        let dir = tempfile::tempdir().unwrap();
        ca.write_cert(dir.path().join("ca.crt")).unwrap();
        leaf.write_cert(dir.path().join("server.crt")).unwrap();
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(dir.path().join("server.crt"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Version: 1 (0x0)"), "{text}");
        assert!(!text.contains("X509v3 extensions"), "{text}");
        let out = Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(dir.path().join("ca.crt"))
            .arg(dir.path().join("server.crt"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // The RSA flavour too.
    let rsa_ca = Ca::with_options(&CertOptions::new("localhost").key_alg(KeyAlg::Rsa2048)).unwrap();
    let rsa_leaf = rsa_ca.issue_v1_leaf(&CertOptions::new("localhost").key_alg(KeyAlg::Rsa2048)).unwrap();
    assert_eq!(certificate_version(rsa_leaf.cert_der()).unwrap(), 1);
}

#[tokio::test]
async fn v1_leaf_is_rejected_by_a_stock_rustls_client() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("localhost").unwrap();
    let leaf = ca.issue_v1_leaf(&CertOptions::new("localhost")).unwrap();
    let (ca_path, cert, key) = (dir.path().join("ca.crt"), dir.path().join("s.crt"), dir.path().join("s.key"));
    ca.write_cert(&ca_path).unwrap();
    leaf.write_cert(&cert).unwrap();
    leaf.key().write_pem(&key, KeyFormat::Sec1).unwrap();
    let collector = Collector::start(CollectorOptions::tls(&cert, &key)).await.unwrap();
    let result = connect(collector.addr(), tls(client_config(&ca_path, None, BOTH), "localhost")).await;
    assert!(result.is_err());
    assert!(collector.wait_until(std::time::Duration::from_secs(5), |r| r.tls_handshakes_failed == 1).await);
    // A key that is not the certificate's is still caught for v1 certificates.
    let other = dir.path().join("other.key");
    PrivateKey::generate(KeyAlg::EcdsaP256).unwrap().write_pem(&other, KeyFormat::Pkcs8).unwrap();
    let err = Collector::start(CollectorOptions::tls(&cert, &other)).await.unwrap_err();
    assert!(err.message().contains("does not belong"), "{err}");
}

#[tokio::test]
async fn intermediates_bundles_and_validity() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let root = Ca::new("root").unwrap();
    let inter = root.intermediate("intermediate").unwrap();
    assert!(!inter.is_root());
    let server = inter.server_cert(&["localhost"]).unwrap();
    assert_eq!(server.chain_der().len(), 2);
    server.write_chain(p("chain.crt")).unwrap();
    server.key().write_pem(p("server.key"), KeyFormat::Pkcs8).unwrap();
    assert_eq!(CertificateDer::pem_file_iter(p("chain.crt")).unwrap().count(), 2);

    // A bundle of an unrelated CA and the real root.
    let other = Ca::new("other").unwrap();
    write_ca_bundle(p("bundle.crt"), &[&other, &root]).unwrap();
    root.write_cert(p("root.crt")).unwrap();
    let client = inter.client_cert("agent").unwrap();
    client.write_chain(p("client.crt")).unwrap();
    client.key().write_pem(p("client.pem"), KeyFormat::Sec1).unwrap();

    let collector =
        Collector::start(CollectorOptions::mutual_tls(p("chain.crt"), p("server.key"), p("bundle.crt"), true))
            .await
            .unwrap();
    let cfg = client_config(&p("bundle.crt"), Some((&p("client.crt"), &p("client.pem"))), BOTH);
    let ch = connect(collector.addr(), tls(cfg, "localhost")).await.unwrap();
    unary(&ch, methods::ECHO_UNARY, "x", None).await.unwrap();
    assert_eq!(collector.received().handshakes[0].client_certs.len(), 2);

    // Leaf alone (no intermediate) is not enough for a client that trusts only the root.
    server.write_cert(p("leaf.crt")).unwrap();
    let collector = Collector::start(CollectorOptions::tls(p("leaf.crt"), p("server.key"))).await.unwrap();
    assert!(connect(collector.addr(), tls(client_config(&p("root.crt"), None, BOTH), "localhost")).await.is_err());

    // Expired and not-yet-valid certificates are refused by the client.
    for opts in [
        CertOptions::new("localhost").san("localhost").expired(),
        CertOptions::new("localhost").san("localhost").not_yet_valid(),
    ] {
        let bad = root.issue_server(&opts).unwrap();
        bad.write_cert(p("bad.crt")).unwrap();
        bad.key().write_pem(p("bad.key"), KeyFormat::Pkcs8).unwrap();
        let collector = Collector::start(CollectorOptions::tls(p("bad.crt"), p("bad.key"))).await.unwrap();
        assert!(connect(collector.addr(), tls(client_config(&p("root.crt"), None, BOTH), "localhost")).await.is_err());
        assert!(collector.wait_until(std::time::Duration::from_secs(5), |r| r.tls_handshakes_failed == 1).await);
        let reasons = collector.received().handshake_failure_reasons();
        assert!(reasons[0].contains("client sent alert"), "{reasons:?}");
    }

    // Wrong name.
    let collector = Collector::start(CollectorOptions::tls(p("chain.crt"), p("server.key"))).await.unwrap();
    assert!(connect(collector.addr(), tls(client_config(&p("root.crt"), None, BOTH), "example.com")).await.is_err());
}
