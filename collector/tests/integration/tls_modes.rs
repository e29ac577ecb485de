use std::time::Duration;

use swtls_collector::certs::{CertSet, KeyFormat};
use swtls_collector::proto::{encode_ping, encode_segment};
use swtls_collector::{methods, Collector, CollectorOptions, TlsVersions};
use tonic::Code;

use crate::common::{client_config, client_stream, connect, tls, unary, BOTH, TLS12, TLS13};

fn cert_set() -> (tempfile::TempDir, CertSet) {
    let dir = tempfile::tempdir().unwrap();
    let set = CertSet::generate(dir.path(), &["localhost", "127.0.0.1", "::1"]).unwrap();
    (dir, set)
}

#[tokio::test]
async fn one_way_tls() {
    let (_dir, set) = cert_set();
    let collector = Collector::start(CollectorOptions::from_cert_set(&set, false)).await.unwrap();
    let cfg = client_config(&set.ca_cert, None, BOTH);
    let ch = connect(collector.addr(), tls(cfg, "localhost")).await.unwrap();
    unary(&ch, methods::KEEP_ALIVE, encode_ping("svc", "inst", ""), None).await.unwrap();
    client_stream(&ch, methods::SEGMENT_COLLECT, vec![encode_segment("t", "s", "svc", "inst").into()], None)
        .await
        .unwrap();
    let r = collector.received();
    assert_eq!(r.pings.len(), 1);
    assert_eq!(r.segments.len(), 1);
    assert_eq!(r.tls_handshakes_ok, 1);
    let hs = &r.handshakes[0];
    assert_eq!(hs.protocol, "TLSv1.3");
    assert_eq!(hs.alpn.as_deref(), Some("h2"));
    assert_eq!(hs.sni.as_deref(), Some("localhost"));
    assert!(hs.client_certs.is_empty());

    // By IP address: no SNI is sent, the IP SAN matches.
    let ch = connect(collector.addr(), tls(client_config(&set.ca_cert, None, BOTH), "127.0.0.1")).await.unwrap();
    unary(&ch, methods::ECHO_UNARY, "x", None).await.unwrap();
    assert_eq!(collector.received().handshakes[1].sni, None);
}

#[tokio::test]
async fn plaintext_client_to_tls_server_fails_and_is_recorded() {
    let (_dir, set) = cert_set();
    let collector = Collector::start(CollectorOptions::from_cert_set(&set, false)).await.unwrap();
    let result = async {
        let ch = connect(collector.addr(), None).await?;
        Ok::<_, Box<dyn std::error::Error>>(unary(&ch, methods::ECHO_UNARY, "x", None).await?)
    }
    .await;
    assert!(result.is_err());
    assert!(collector.wait_until(Duration::from_secs(5), |r| r.tls_handshakes_failed == 1).await);
    let reasons = collector.received().handshake_failure_reasons();
    assert!(reasons[0].contains("invalid TLS message"), "{reasons:?}");
}

#[tokio::test]
async fn tls12_only() {
    let (_dir, set) = cert_set();
    let collector = Collector::start(CollectorOptions::from_cert_set(&set, false).tls_versions(TlsVersions::Tls12Only))
        .await
        .unwrap();
    let ch = connect(collector.addr(), tls(client_config(&set.ca_cert, None, BOTH), "localhost")).await.unwrap();
    unary(&ch, methods::ECHO_UNARY, "x", None).await.unwrap();
    assert_eq!(collector.received().handshakes[0].protocol, "TLSv1.2");

    // A TLS 1.3-only client cannot connect.
    let failed = connect(collector.addr(), tls(client_config(&set.ca_cert, None, TLS13), "localhost")).await;
    assert!(failed.is_err());
    assert!(collector.wait_until(Duration::from_secs(5), |r| r.tls_handshakes_failed == 1).await);
    let reasons = collector.received().handshake_failure_reasons();
    assert!(reasons[0].contains("incompatible"), "{reasons:?}");
}

#[tokio::test]
async fn tls13_only_refuses_tls12_client() {
    let (_dir, set) = cert_set();
    let collector = Collector::start(CollectorOptions::from_cert_set(&set, false).tls_versions(TlsVersions::Tls13Only))
        .await
        .unwrap();
    assert!(connect(collector.addr(), tls(client_config(&set.ca_cert, None, TLS12), "localhost")).await.is_err());
}

#[tokio::test]
async fn mutual_tls_required() {
    let (_dir, set) = cert_set();
    let collector = Collector::start(CollectorOptions::from_cert_set(&set, true).token("tok")).await.unwrap();

    // With the client certificate: works (and the token still applies).
    let with_cert = client_config(&set.ca_cert, Some((&set.client_cert, &set.client_key)), BOTH);
    let ch = connect(collector.addr(), tls(with_cert, "localhost")).await.unwrap();
    let err = unary(&ch, methods::KEEP_ALIVE, encode_ping("s", "i", ""), None).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    unary(&ch, methods::KEEP_ALIVE, encode_ping("s", "i", ""), Some("tok")).await.unwrap();
    let r = collector.received();
    assert_eq!(r.handshakes[0].client_certs.len(), 1);
    assert_eq!(r.handshakes[0].client_certs[0], set.client.cert_der());

    // Without a client certificate: refused (TLS 1.3 and TLS 1.2).
    for versions in [TLS13, TLS12] {
        let before = collector.received().tls_handshakes_failed;
        let no_cert = client_config(&set.ca_cert, None, versions);
        let result = async {
            let ch = connect(collector.addr(), tls(no_cert, "localhost")).await?;
            Ok::<_, Box<dyn std::error::Error>>(unary(&ch, methods::ECHO_UNARY, "x", Some("tok")).await?)
        }
        .await;
        assert!(result.is_err());
        assert!(collector.wait_until(Duration::from_secs(5), |r| r.tls_handshakes_failed == before + 1).await);
        let reasons = collector.received().handshake_failure_reasons();
        assert!(reasons.last().unwrap().contains("client did not present a certificate"), "{reasons:?}");
    }

    // A certificate from another CA: refused.
    let other_dir = tempfile::tempdir().unwrap();
    let other = CertSet::generate(other_dir.path(), &["localhost"]).unwrap();
    let wrong = client_config(&set.ca_cert, Some((&other.client_cert, &other.client_key)), BOTH);
    let result = async {
        let ch = connect(collector.addr(), tls(wrong, "localhost")).await?;
        Ok::<_, Box<dyn std::error::Error>>(unary(&ch, methods::ECHO_UNARY, "x", Some("tok")).await?)
    }
    .await;
    assert!(result.is_err());
    assert!(
        collector
            .wait_until(Duration::from_secs(5), |r| r
                .handshake_failure_reasons()
                .iter()
                .any(|x| x.contains("client certificate rejected")))
            .await,
        "{:?}",
        collector.received().handshake_failure_reasons()
    );
}

#[tokio::test]
async fn mutual_tls_optional() {
    let (_dir, set) = cert_set();
    let collector =
        Collector::start(CollectorOptions::mutual_tls(&set.server_cert, &set.server_key, &set.ca_cert, false))
            .await
            .unwrap();
    let ch = connect(collector.addr(), tls(client_config(&set.ca_cert, None, BOTH), "localhost")).await.unwrap();
    unary(&ch, methods::ECHO_UNARY, "x", None).await.unwrap();
    let with_cert = client_config(&set.ca_cert, Some((&set.client_cert, &set.client_key)), BOTH);
    let ch = connect(collector.addr(), tls(with_cert, "localhost")).await.unwrap();
    unary(&ch, methods::ECHO_UNARY, "x", None).await.unwrap();
    let r = collector.received();
    assert!(r.handshakes[0].client_certs.is_empty());
    assert_eq!(r.handshakes[1].client_certs.len(), 1);
}

#[tokio::test]
async fn server_keys_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let set = CertSet::generate(dir.path(), &["localhost"]).unwrap();
    let sec1 = dir.path().join("server.sec1.pem");
    set.server.key().write_pem(&sec1, KeyFormat::Sec1).unwrap();
    let der = dir.path().join("server.key.der");
    set.server.key().write_der(&der, KeyFormat::Pkcs8).unwrap();
    for key in [&sec1, &der] {
        let collector = Collector::start(CollectorOptions::tls(&set.server_cert, key)).await.unwrap();
        let ch = connect(collector.addr(), tls(client_config(&set.ca_cert, None, BOTH), "localhost")).await.unwrap();
        unary(&ch, methods::ECHO_UNARY, "x", None).await.unwrap();
    }
    let rsa_dir = tempfile::tempdir().unwrap();
    let rsa = CertSet::generate_with(rsa_dir.path(), &["localhost"], swtls_collector::certs::KeyAlg::Rsa2048).unwrap();
    let pkcs1 = rsa_dir.path().join("server.rsa.pem");
    rsa.server.key().write_pem(&pkcs1, KeyFormat::Pkcs1).unwrap();
    let collector =
        Collector::start(CollectorOptions::mutual_tls(&rsa.server_cert, &pkcs1, &rsa.ca_cert, true)).await.unwrap();
    let client_pkcs1 = rsa_dir.path().join("client.rsa.pem");
    rsa.client.key().write_pem(&client_pkcs1, KeyFormat::Pkcs1).unwrap();
    let cfg = client_config(&rsa.ca_cert, Some((&rsa.client_cert, &client_pkcs1)), TLS12);
    let ch = connect(collector.addr(), tls(cfg, "localhost")).await.unwrap();
    unary(&ch, methods::ECHO_UNARY, "x", None).await.unwrap();
    assert_eq!(collector.received().handshakes[0].protocol, "TLSv1.2");
}

#[tokio::test]
async fn bad_tls_files_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.crt");
    let err = Collector::start(CollectorOptions::tls(&missing, dir.path().join("nope.key"))).await.unwrap_err();
    assert!(err.message().contains("nope.crt"), "{err}");
    let set = CertSet::generate(dir.path(), &["localhost"]).unwrap();
    // Key of another certificate: mismatch.
    let err = Collector::start(CollectorOptions::tls(&set.server_cert, &set.client_key)).await.unwrap_err();
    assert!(err.message().contains("server.crt"), "{err}");
}

#[tokio::test]
async fn pinned_cipher_suite_is_the_one_negotiated() {
    let (_dir, set) = cert_set();
    for name in ["TLS13_AES_128_GCM_SHA256", "TLS13_CHACHA20_POLY1305_SHA256"] {
        let collector =
            Collector::start(CollectorOptions::from_cert_set(&set, false).cipher_suite(name)).await.unwrap();
        // The client offers every suite (rustls prefers AES-256-GCM); the collector must pick its pin.
        let ch = connect(collector.addr(), tls(client_config(&set.ca_cert, None, BOTH), "localhost")).await.unwrap();
        unary(&ch, methods::ECHO_UNARY, "x", None).await.unwrap();
        assert_eq!(collector.received().handshakes[0].cipher_suite, name);
    }
}

#[tokio::test]
async fn unknown_cipher_suite_is_refused_with_the_known_names() {
    let (_dir, set) = cert_set();
    let err = Collector::start(CollectorOptions::from_cert_set(&set, false).cipher_suite("TLS13_AES_128_CCM"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cipher suite 'TLS13_AES_128_CCM' is not one of"), "{err}");
    assert!(err.contains("TLS13_AES_128_GCM_SHA256"), "{err}");
}

#[test]
fn tls_pipe_carries_every_byte_with_the_pinned_suite() {
    let dir = tempfile::tempdir().unwrap();
    let dep = swtls_collector::certs::write_deployment(
        dir.path(),
        &swtls_collector::certs::DeploymentOptions::new(&["127.0.0.1"]),
    )
    .unwrap();
    // 1 MiB + 3 bytes: the last write is a short one.
    for suite in ["TLS13_AES_128_GCM_SHA256", "TLS13_CHACHA20_POLY1305_SHA256"] {
        let r = swtls_collector::tls_pipe(&dep.server_dir, &dep.agent_dir, suite, (1 << 20) + 3, 1000).unwrap();
        assert_eq!(r.bytes, (1 << 20) + 3);
        assert_eq!(r.cipher_suite, suite);
        assert!(r.elapsed > Duration::ZERO);
    }
    // The client certificate is required: without the agent's key the handshake fails.
    std::fs::remove_file(dep.agent_dir.join("client.pem")).unwrap();
    let err = swtls_collector::tls_pipe(&dep.server_dir, &dep.agent_dir, "TLS13_AES_128_GCM_SHA256", 10, 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("client.pem"), "{err}");
}
