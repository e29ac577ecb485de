//! Bad files and failed connections: each gets a specific status and a message naming what
//! is wrong, and nothing crashes.

mod common;
use common::*;
use std::time::{Duration, SystemTime};
use swtls::{Channel, Status};
use swtls_collector::certs::{CertOptions, KeyFormat};
use swtls_collector::{BlockingCollector, CollectorOptions};

fn channel_err(certs: &Certs, dir: &std::path::Path) -> swtls::Result<()> {
    let _ = certs;
    Channel::new(&config("127.0.0.1:11800", dir, &[])).map(|_| ())
}

#[test]
fn empty_ca_file() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &[]);
    std::fs::write(dir.join("ca.crt"), "").unwrap();
    assert_err(
        channel_err(&certs, &dir),
        Status::CertificateInvalid,
        &["ca.crt", "is empty", "agent.ssl_trusted_ca_path"],
    );
}

#[test]
fn garbage_instead_of_pem() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &[]);
    std::fs::write(dir.join("ca.crt"), b"\x00\x01 this is not a certificate \xff").unwrap();
    assert_err(channel_err(&certs, &dir), Status::CertificateInvalid, &["ca.crt", "no PEM data"]);
    let dir = certs.agent_dir("ca2", &["ca.crt", "client.crt"]);
    std::fs::write(dir.join("client.pem"), "hello\n").unwrap();
    assert_err(
        channel_err(&certs, &dir),
        Status::PrivateKeyInvalid,
        &["client.pem", "no PEM data", "agent.ssl_key_path"],
    );
}

#[test]
fn corrupt_base64_in_a_pem_block() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &[]);
    std::fs::write(dir.join("ca.crt"), "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n").unwrap();
    assert_err(channel_err(&certs, &dir), Status::CertificateInvalid, &["ca.crt", "not valid PEM"]);
}

#[test]
fn pem_certificate_that_does_not_parse() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &[]);
    std::fs::write(dir.join("ca.crt"), "-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n").unwrap();
    assert_err(channel_err(&certs, &dir), Status::CertificateInvalid, &["certificate #1", "ca.crt"]);
}

#[test]
fn certificate_where_a_key_is_expected() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt"]);
    std::fs::copy(&certs.set.client_cert, dir.join("client.pem")).unwrap();
    assert_err(
        channel_err(&certs, &dir),
        Status::PrivateKeyInvalid,
        &["client.pem", "CERTIFICATE where a private key was expected"],
    );
}

#[test]
fn key_where_a_certificate_is_expected() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.pem"]);
    std::fs::copy(&certs.set.client_key, dir.join("client.crt")).unwrap();
    assert_err(
        channel_err(&certs, &dir),
        Status::CertificateInvalid,
        &["client.crt", "PRIVATE KEY where a certificate was expected"],
    );
}

#[test]
fn key_that_does_not_match_the_certificate() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt"]);
    std::fs::copy(&certs.set.server_key, dir.join("client.pem")).unwrap();
    assert_err(channel_err(&certs, &dir), Status::KeyMismatch, &["client.pem", "client.crt", "does not belong"]);
}

#[test]
fn pkcs1_and_sec1_keys_are_accepted() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    // SEC1 ("EC PRIVATE KEY") for the default ECDSA client.
    let dir = certs.agent_dir("sec1", &["ca.crt", "client.crt"]);
    certs.set.client.key().write_pem(dir.join("client.pem"), KeyFormat::Sec1).unwrap();
    assert!(std::fs::read_to_string(dir.join("client.pem")).unwrap().contains("BEGIN EC PRIVATE KEY"));
    Channel::new(&config(&server.target(), &dir, &[]))
        .unwrap()
        .unary_blocking(methods::KEEP_ALIVE, ping("s", "i"), None)
        .unwrap();
    // RSA PKCS#1 ("RSA PRIVATE KEY"), with CRLF line endings and text around the block.
    let rsa = certs
        .set
        .ca
        .issue_client(&CertOptions::new("rsa-client").key_alg(swtls_collector::certs::KeyAlg::Rsa2048))
        .unwrap();
    let dir = certs.agent_dir("pkcs1", &["ca.crt"]);
    rsa.write_chain(dir.join("client.crt")).unwrap();
    let pem = rsa.key().to_pem(KeyFormat::Pkcs1).unwrap();
    assert!(pem.contains("BEGIN RSA PRIVATE KEY"));
    std::fs::write(
        dir.join("client.pem"),
        format!("Bag Attributes: none\r\n{}\r\ntrailing junk\r\n", pem.replace('\n', "\r\n")),
    )
    .unwrap();
    Channel::new(&config(&server.target(), &dir, &[]))
        .unwrap()
        .unary_blocking(methods::KEEP_ALIVE, ping("r", "i"), None)
        .unwrap();
}

#[test]
fn encrypted_key_is_refused_saying_so() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt"]);
    std::fs::write(
        dir.join("client.pem"),
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    assert_err(channel_err(&certs, &dir), Status::PrivateKeyInvalid, &["client.pem", "encrypted", "openssl pkey"]);
}

#[test]
fn unreadable_path_is_a_directory() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &[]);
    let r = Channel::new(&config("127.0.0.1:11800", &dir, &[("agent.ssl_trusted_ca_path", dir.to_str().unwrap())]));
    assert_err(r.map(|_| ()), Status::FileUnreadable, &["not a regular file"]);
}

#[test]
fn explicit_client_files_missing_name_the_path() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let missing = certs.path("gone.pem");
    let r = Channel::new(&config("127.0.0.1:11800", &dir, &[("agent.ssl_key_path", missing.to_str().unwrap())]));
    assert_err(r.map(|_| ()), Status::FileNotFound, &["agent.ssl_key_path", "gone.pem"]);
}

#[test]
fn server_requires_a_client_certificate_and_none_is_configured() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsClientCertRequired,
        &["asked for a client certificate but none is configured", "client.crt", "agent.ssl_cert_chain_path"],
    );
    // Same over TLS 1.2, where the server refuses during the handshake.
    let s12 = BlockingCollector::start(
        CollectorOptions::from_cert_set(&certs.set, true).tls_versions(swtls_collector::TlsVersions::Tls12Only),
    )
    .unwrap();
    let ch = Channel::new(&config(&s12.target(), &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsClientCertRequired,
        &["none is configured"],
    );
}

#[test]
fn client_certificate_from_another_ca_is_rejected() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let other = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    std::fs::copy(&other.set.client_cert, dir.join("client.crt")).unwrap();
    std::fs::copy(&other.set.client_key, dir.join("client.pem")).unwrap();
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsClientCertRejected,
        &["rejected the client certificate"],
    );
}

#[test]
fn server_certificate_from_an_unknown_ca() {
    let certs = Certs::new();
    let server = tls_server(&certs);
    let dir = certs.agent_dir("other-name", &[]);
    swtls_collector::certs::Ca::new("unrelated CA").unwrap().write_cert(dir.join("ca.crt")).unwrap();
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsUnknownIssuer,
        &["unknown issuer", "ca.crt", &server.target()],
    );
}

#[test]
fn server_certificate_from_another_ca_with_the_same_name() {
    // Script-made CAs often share a name; then the signature check is what fails.
    let certs = Certs::new();
    let real = swtls_collector::certs::Ca::new("Same Name CA").unwrap();
    let fake = swtls_collector::certs::Ca::new("Same Name CA").unwrap();
    let leaf = real.server_cert(LOCAL_NAMES).unwrap();
    leaf.write_chain(certs.path("s.crt")).unwrap();
    leaf.key().write_pem(certs.path("s.key"), KeyFormat::Pkcs8).unwrap();
    let server = BlockingCollector::start(CollectorOptions::tls(certs.path("s.crt"), certs.path("s.key"))).unwrap();
    let dir = certs.agent_dir("fake", &[]);
    fake.write_cert(dir.join("ca.crt")).unwrap();
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsUnknownIssuer,
        &["does not verify", "same name", "ca.crt"],
    );
    let dir = certs.agent_dir("real", &[]);
    real.write_cert(dir.join("ca.crt")).unwrap();
    Channel::new(&config(&server.target(), &dir, &[]))
        .unwrap()
        .unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None)
        .unwrap();
}

#[test]
fn server_name_mismatch_names_expected_and_offered() {
    let certs = Certs::with_names(&["collector.example", "10.9.8.7"]);
    let server = tls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let backend = format!("localhost:{}", server.addr().port());
    let ch = Channel::new(&config(&backend, &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsNameMismatch,
        &["'localhost'", "collector.example", "10.9.8.7", "agent.ssl_target_name_override"],
    );
}

#[test]
fn expired_and_not_yet_valid_server_certificates() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    for (name, opts, fragment) in [
        ("expired", CertOptions::new("localhost").sans(LOCAL_NAMES).expired(), "expired at"),
        ("future", CertOptions::new("localhost").sans(LOCAL_NAMES).not_yet_valid(), "not valid before"),
    ] {
        let leaf = certs.set.ca.issue_server(&opts).unwrap();
        leaf.write_chain(certs.path(&format!("{name}.crt"))).unwrap();
        leaf.key().write_pem(certs.path(&format!("{name}.key")), KeyFormat::Pkcs8).unwrap();
        let server = BlockingCollector::start(CollectorOptions::tls(
            certs.path(&format!("{name}.crt")),
            certs.path(&format!("{name}.key")),
        ))
        .unwrap();
        let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
        assert_err(
            ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
            Status::TlsCertificateExpired,
            &[fragment, "UTC"],
        );
    }
    let _ = SystemTime::now();
}

#[test]
fn tls_client_to_a_plaintext_server() {
    let certs = Certs::new();
    let server = plaintext_server();
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::ServerNotTls,
        &["speaks plaintext", "HTTP/2", &server.target()],
    );
}

#[test]
fn plaintext_client_to_a_tls_server() {
    let certs = Certs::new();
    let server = tls_server(&certs);
    let dir = certs.agent_dir("empty", &[]);
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    let e = assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::ServerRequiresTls,
        &["expects TLS", "ca.crt"],
    );
    assert!(e.message.contains("agent.force_tls"), "{}", e.message);
}

#[test]
fn deadline_exceeded() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    let started = std::time::Instant::now();
    assert_err(
        ch.unary_blocking(methods::ECHO_SLOW, "3000".into(), Some(Duration::from_millis(300))),
        Status::DeadlineExceeded,
        &[methods::ECHO_SLOW, "did not finish within"],
    );
    assert!(started.elapsed() < Duration::from_millis(2500));
    // The configured default deadline applies when the call gives none.
    let ch = Channel::new(&config(&server.target(), &dir, &[("collector.grpc_upstream_timeout", "1")])).unwrap();
    assert_err(ch.unary_blocking(methods::ECHO_SLOW, "4000".into(), None), Status::DeadlineExceeded, &["1s"]);
}

#[test]
fn response_larger_than_the_limit() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    let ok = ch.unary_blocking(methods::ECHO_BIG, swtls::MAX_RESPONSE_BYTES.to_string().into(), None).unwrap();
    assert_eq!(ok.len(), swtls::MAX_RESPONSE_BYTES);
    let too_big = (swtls::MAX_RESPONSE_BYTES + 1).to_string();
    assert_err(
        ch.unary_blocking(methods::ECHO_BIG, too_big.into(), None),
        Status::ResourceExhausted,
        &["50 MiB limit"],
    );
}

#[test]
fn method_path_without_leading_slash() {
    let certs = Certs::new();
    let dir = certs.agent_dir("empty", &[]);
    let ch = Channel::new(&config("127.0.0.1:1", &dir, &[])).unwrap();
    for bad in ["skywalking.v3.ManagementService/keepAlive", "/", "/svc/", "//m", "/a b/c", ""] {
        assert_err(ch.unary_blocking(bad, ping("a", "b"), None), Status::InvalidMethod, &["full gRPC path"]);
        assert!(ch.open_stream(bad, None).is_err());
    }
}

#[test]
fn unknown_method_is_unimplemented() {
    let server = plaintext_server();
    let certs = Certs::new();
    let ch = Channel::new(&config(&server.target(), &certs.agent_dir("e", &[]), &[])).unwrap();
    assert_err(ch.unary_blocking("/no.Such/method", "x".into(), None), Status::Unimplemented, &["/no.Such/method"]);
}

#[test]
fn unresolvable_backend_and_closed_port() {
    let certs = Certs::new();
    let dir = certs.agent_dir("e", &[]);
    let ch = Channel::new(&config("no-such-host.invalid:11800", &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::Unavailable,
        &["cannot resolve", "no-such-host.invalid"],
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ch = Channel::new(&config(&format!("127.0.0.1:{port}"), &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::Unavailable,
        &["cannot connect", &port.to_string()],
    );
}
