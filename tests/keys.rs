//! Every key format detected by content (PEM and DER; PKCS#8, RSA PKCS#1, SEC1), CRLF and
//! text around PEM, encrypted keys refused saying so, files reached through symlinks,
//! and the warnings that protect operators.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use swtls::{Channel, LogLevel, Status};
use swtls_collector::certs::{CertOptions, KeyAlg, KeyFormat};

fn works(server: &swtls_collector::BlockingCollector, dir: &std::path::Path) {
    let ch = Channel::new(&config(&server.target(), dir, &[])).unwrap_or_else(|e| panic!("{e}"));
    ch.unary_blocking(methods::KEEP_ALIVE, ping("keys", "i"), None).unwrap();
}

#[test]
fn der_keys_of_every_kind_whatever_the_file_name() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    // ECDSA: PKCS#8 and SEC1 as DER, in a file called client.pem as the SkyWalking docs do.
    for format in [KeyFormat::Pkcs8, KeyFormat::Sec1] {
        let dir = certs.agent_dir(&format!("ec-{format:?}"), &["ca.crt", "client.crt"]);
        certs.set.client.key().write_der(dir.join("client.pem"), format).unwrap();
        assert_eq!(std::fs::read(dir.join("client.pem")).unwrap()[0], 0x30, "DER");
        works(&server, &dir);
    }
    // RSA: PKCS#1 and PKCS#8 as DER.
    let rsa = certs.set.ca.issue_client(&CertOptions::new("rsa-client").key_alg(KeyAlg::Rsa2048)).unwrap();
    for format in [KeyFormat::Pkcs1, KeyFormat::Pkcs8] {
        let dir = certs.agent_dir(&format!("rsa-{format:?}"), &["ca.crt"]);
        rsa.write_chain(dir.join("client.crt")).unwrap();
        rsa.key().write_der(dir.join("client.pem"), format).unwrap();
        works(&server, &dir);
    }
    // A DER certificate is fine too.
    let dir = certs.agent_dir("der-cert", &["ca.crt"]);
    certs.set.client.write_cert_der(dir.join("client.crt")).unwrap();
    certs.set.client.key().write_der(dir.join("client.pem"), KeyFormat::Pkcs8).unwrap();
    works(&server, &dir);
}

#[test]
fn der_in_the_wrong_place_is_named() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    certs.set.client.write_cert_der(dir.join("client.pem")).unwrap();
    certs.set.client.write_cert(dir.join("client.crt")).unwrap();
    let r = Channel::new(&config("127.0.0.1:1", &dir, &[])).map(|_| ());
    assert_err(r, Status::PrivateKeyInvalid, &["client.pem", "a DER certificate where a private key was expected"]);
    let dir = certs.agent_dir("ca2", &["ca.crt", "client.pem"]);
    certs.set.client.key().write_der(dir.join("client.crt"), KeyFormat::Pkcs8).unwrap();
    let r = Channel::new(&config("127.0.0.1:1", &dir, &[])).map(|_| ());
    assert_err(r, Status::CertificateInvalid, &["client.crt", "a DER private key where a certificate was expected"]);
    let dir = certs.agent_dir("ca3", &["ca.crt", "client.crt"]);
    std::fs::write(dir.join("client.pem"), [0x30, 0x03, 0x02, 0x01, 0x05]).unwrap();
    let r = Channel::new(&config("127.0.0.1:1", &dir, &[])).map(|_| ());
    assert_err(r, Status::PrivateKeyInvalid, &["neither a certificate nor a private key"]);
}

#[test]
fn encrypted_keys_pem_and_der_are_refused_with_the_fix() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt"]);
    let plain = certs.path("plain.pem");
    certs.set.client.key().write_pem(&plain, KeyFormat::Pkcs8).unwrap();
    for (outform, file) in [("PEM", "enc.pem"), ("DER", "enc.der")] {
        let out = std::process::Command::new("openssl")
            .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "pass:secret", "-outform", outform])
            .args(["-in", plain.to_str().unwrap(), "-out", certs.path(file).to_str().unwrap()])
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::copy(certs.path(file), dir.join("client.pem")).unwrap();
        let r = Channel::new(&config("127.0.0.1:1", &dir, &[])).map(|_| ());
        assert_err(r, Status::PrivateKeyInvalid, &["client.pem", "encrypted", "openssl pkey -in FILE -out FILE.plain"]);
    }
}

#[test]
fn files_reached_through_symlinks_kubernetes_style() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    // ca/ca.crt -> ..data/ca.crt, ..data -> ..2026_11_28_v1/
    let secret = certs.path("secret");
    let version = secret.join("..2026_11_28_v1");
    std::fs::create_dir_all(&version).unwrap();
    for f in ["ca.crt", "client.crt", "client.pem"] {
        std::fs::copy(certs.set.dir.join(f), version.join(f)).unwrap();
        std::os::unix::fs::symlink(format!("..data/{f}"), secret.join(f)).unwrap();
    }
    std::os::unix::fs::symlink("..2026_11_28_v1", secret.join("..data")).unwrap();
    works(&server, &secret);
}

#[test]
fn warnings_for_exposed_keys_expiring_certificates_and_bad_bundle_entries() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let soon = std::time::SystemTime::now() + std::time::Duration::from_secs(10 * 86_400);
    let client = certs
        .set
        .ca
        .issue_client(
            &CertOptions::new("expiring-client")
                .validity(std::time::SystemTime::now() - std::time::Duration::from_secs(3600), soon),
        )
        .unwrap();
    client.write_chain(dir.join("client.crt")).unwrap();
    client.key().write_pem(dir.join("client.pem"), KeyFormat::Pkcs8).unwrap();
    std::fs::set_permissions(dir.join("client.pem"), std::fs::Permissions::from_mode(0o644)).unwrap();
    // A bundle with an entry that does not parse, then the real CA.
    let real = std::fs::read_to_string(&certs.set.ca_cert).unwrap();
    std::fs::write(
        dir.join("ca.crt"),
        format!("-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n{real}"),
    )
    .unwrap();

    let logs = capture_logs(LogLevel::Warn);
    works(&server, &dir);
    let path = dir.join("client.pem").display().to_string();
    assert_eq!(logs.matching(&format!("the private key '{path}' can be read by group or others (mode 644)")).len(), 1);
    assert_eq!(
        logs.matching("the client certificate in")
            .iter()
            .filter(|m| m.contains("expires at") && (m.contains("in 9 days") || m.contains("in 10 days")))
            .count(),
        1,
        "{:?}",
        logs.lines.lock().unwrap()
    );
    assert_eq!(logs.matching("certificate #1 in").iter().filter(|m| m.contains("is ignored")).count(), 1);

    // Mode 600: no key warning.
    std::fs::set_permissions(dir.join("client.pem"), std::fs::Permissions::from_mode(0o600)).unwrap();
    logs.lines.lock().unwrap().clear();
    works(&server, &dir);
    assert!(logs.matching("can be read by group or others").is_empty());
}
