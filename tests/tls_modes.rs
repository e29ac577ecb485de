//! Every row of the TLS mode table (DESIGN §2) against the embedded tonic collector, and
//! the authentication token.

mod common;
use common::*;
use swtls::{Channel, Status, TlsMode};

#[test]
fn mutual_tls_with_ca_and_client_pair() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    assert_eq!(ch.tls_mode(), TlsMode::MutualTls);
    assert!(ch.tls_reason().contains("client.crt"), "{}", ch.tls_reason());
    ch.unary_blocking(methods::KEEP_ALIVE, ping("svc", "inst"), None).unwrap();
    let got = server.received();
    assert_eq!(got.pings, vec![("svc".to_string(), "inst".to_string())]);
    assert_eq!(got.tls_handshakes_ok, 1);
}

#[test]
fn one_way_tls_with_ca_only() {
    let certs = Certs::new();
    let server = tls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[("agent.force_tls", "false")])).unwrap();
    assert_eq!(ch.tls_mode(), TlsMode::Tls);
    assert!(ch.tls_reason().contains("no client certificate"), "{}", ch.tls_reason());
    let echoed = ch.unary_blocking(methods::ECHO_UNARY, "hello".into(), None).unwrap();
    assert_eq!(&echoed[..], b"hello");
}

#[test]
fn ca_with_only_a_client_certificate_fails_closed() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt"]);
    let r = Channel::new(&config("127.0.0.1:11800", &dir, &[]));
    assert_err(r.map(|_| ()), Status::ClientCertIncomplete, &["client.crt", "client.pem", "missing"]);
}

#[test]
fn ca_with_only_a_client_key_fails_closed() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.pem"]);
    let r = Channel::new(&config("127.0.0.1:11800", &dir, &[]));
    assert_err(r.map(|_| ()), Status::ClientCertIncomplete, &["client.pem", "client.crt", "missing"]);
}

#[test]
fn no_ca_and_no_force_tls_is_plaintext() {
    let certs = Certs::new();
    let server = plaintext_server();
    let dir = certs.agent_dir("empty", &[]);
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    assert_eq!(ch.tls_mode(), TlsMode::Plaintext);
    assert!(ch.tls_reason().contains("agent.force_tls is false"), "{}", ch.tls_reason());
    ch.unary_blocking(methods::KEEP_ALIVE, ping("plain", "i"), None).unwrap();
    assert_eq!(server.received().pings.len(), 1);
}

#[test]
fn ca_found_with_force_tls_still_uses_the_ca() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[("agent.force_tls", "true")])).unwrap();
    assert_eq!(ch.tls_mode(), TlsMode::MutualTls);
    ch.unary_blocking(methods::KEEP_ALIVE, ping("f", "i"), None).unwrap();
}

#[test]
fn explicit_paths_outside_the_ca_folder() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let empty = certs.agent_dir("empty", &[]);
    let s = &certs.set;
    let ch = Channel::new(&config(
        &server.target(),
        &empty,
        &[
            ("agent.ssl_trusted_ca_path", s.ca_cert.to_str().unwrap()),
            ("agent.ssl_cert_chain_path", s.client_cert.to_str().unwrap()),
            ("agent.ssl_key_path", s.client_key.to_str().unwrap()),
        ],
    ))
    .unwrap();
    assert_eq!(ch.tls_mode(), TlsMode::MutualTls);
    ch.unary_blocking(methods::KEEP_ALIVE, ping("x", "y"), None).unwrap();
}

#[test]
fn explicit_ca_path_that_does_not_exist_is_an_error_not_plaintext() {
    let certs = Certs::new();
    let dir = certs.agent_dir("empty", &[]);
    let missing = certs.path("nowhere/ca.crt");
    let r = Channel::new(&config("127.0.0.1:11800", &dir, &[("agent.ssl_trusted_ca_path", missing.to_str().unwrap())]));
    assert_err(r.map(|_| ()), Status::FileNotFound, &["agent.ssl_trusted_ca_path", missing.to_str().unwrap()]);
}

#[test]
fn ca_bundle_with_several_cas_and_a_client_chain() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["client.crt", "client.pem"]);
    let other = swtls_collector::certs::Ca::new("another CA").unwrap();
    swtls_collector::certs::write_ca_bundle(dir.join("ca.crt"), &[&other, &certs.set.ca]).unwrap();
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("bundle", "i"), None).unwrap();
}

#[test]
fn client_chain_through_an_intermediate() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let inter = certs.set.ca.intermediate("agents intermediate").unwrap();
    let client = inter.client_cert("chained-client").unwrap();
    client.write_chain(dir.join("client.crt")).unwrap();
    client.key().write_pem(dir.join("client.pem"), swtls_collector::certs::KeyFormat::Pkcs8).unwrap();
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("chain", "i"), None).unwrap();
}

#[test]
fn tls12_only_server() {
    let certs = Certs::new();
    let opts = swtls_collector::CollectorOptions::from_cert_set(&certs.set, true)
        .tls_versions(swtls_collector::TlsVersions::Tls12Only);
    let server = swtls_collector::BlockingCollector::start(opts).unwrap();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("v12", "i"), None).unwrap();
}

#[test]
fn token_is_sent_and_accepted() {
    let certs = Certs::new();
    let server = swtls_collector::BlockingCollector::start(
        swtls_collector::CollectorOptions::from_cert_set(&certs.set, true).token("s3cret"),
    )
    .unwrap();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[("agent.authentication", "s3cret")])).unwrap();
    let seen = ch.unary_blocking(methods::ECHO_METADATA, bytes::Bytes::new(), None).unwrap();
    assert_eq!(&seen[..], b"s3cret");
    ch.unary_blocking(methods::KEEP_ALIVE, ping("tok", "i"), None).unwrap();
}

#[test]
fn token_refused_is_unauthenticated() {
    let certs = Certs::new();
    let server = swtls_collector::BlockingCollector::start(
        swtls_collector::CollectorOptions::from_cert_set(&certs.set, true).token("right"),
    )
    .unwrap();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[("agent.authentication", "wrong")])).unwrap();
    let e = assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("tok", "i"), None),
        Status::Unauthenticated,
        &["invalid authentication token", &server.target()],
    );
    assert!(!e.message.contains("wrong"), "the token must not appear in messages: {}", e.message);
    let none = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    assert_err(none.unary_blocking(methods::KEEP_ALIVE, ping("tok", "i"), None), Status::Unauthenticated, &[]);
    assert_eq!(server.received().auth_rejected, 2);
}

#[test]
fn client_streaming_delivers_every_message() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    let mut stream = ch.open_stream(methods::SEGMENT_COLLECT, None).unwrap();
    for i in 0..500 {
        let seg = swtls_collector::proto::encode_segment(&format!("t{i}"), &format!("s{i}"), "svc", "inst");
        stream.send_blocking(seg).unwrap();
    }
    stream.finish_blocking().unwrap();
    let got = server.received();
    assert_eq!(got.segments.len(), 500);
    assert_eq!(got.segments[499].segment_id, "s499");
    assert_eq!(got.streams_completed, 1);
    assert_err(stream.finish_blocking(), Status::Closed, &["already finished"]);
    assert_err(stream.send_blocking("x"), Status::Closed, &["already finished"]);

    let mut echo = ch.open_stream(methods::ECHO_COLLECT, None).unwrap();
    for _ in 0..10 {
        echo.send_blocking(vec![7u8; 1000]).unwrap();
    }
    assert_eq!(&echo.finish_blocking().unwrap()[..], b"10 10000");
}

#[test]
fn several_backends_fail_over_on_connection_failure() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    // Two dead addresses (a closed port on loopback) around the live one; whatever the
    // random start, every call reaches the live backend.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let list = format!("{dead},{},localhost:{}", server.target(), dead.port());
    for _ in 0..5 {
        let ch = Channel::new(&config(&list, &dir, &[])).unwrap();
        ch.unary_blocking(methods::KEEP_ALIVE, ping("fo", "i"), None).unwrap();
        assert_eq!(ch.current_backend().to_string(), server.target());
    }
    assert_eq!(server.received().pings.len(), 5);
}

#[test]
fn server_name_override_is_used_for_sni_and_verification() {
    let certs = Certs::with_names(&["oap.internal"]);
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let plain = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    assert_err(
        plain.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsNameMismatch,
        &["'127.0.0.1'", "oap.internal"],
    );
    let ch =
        Channel::new(&config(&server.target(), &dir, &[("agent.ssl_target_name_override", "oap.internal")])).unwrap();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None).unwrap();
    assert_eq!(server.received().handshakes.last().unwrap().sni.as_deref(), Some("oap.internal"));
}

#[test]
fn ipv6_backend() {
    let certs = Certs::new();
    let opts = swtls_collector::CollectorOptions::from_cert_set(&certs.set, true).listen("[::1]:0".parse().unwrap());
    let Ok(server) = swtls_collector::BlockingCollector::start(opts) else {
        panic!("this machine must support IPv6 loopback for the bracketed-address test");
    };
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let target = format!("[::1]:{}", server.addr().port());
    let ch = Channel::new(&config(&target, &dir, &[])).unwrap();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("v6", "i"), None).unwrap();
}

#[test]
fn one_channel_shared_by_many_threads_and_a_slow_call_blocks_only_its_caller() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    let slow = {
        let ch = ch.clone();
        std::thread::spawn(move || ch.unary_blocking(methods::ECHO_SLOW, "1500".into(), None))
    };
    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..8)
        .map(|t| {
            let ch = ch.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let body = format!("{t}-{i}");
                    let got = ch.unary_blocking(methods::ECHO_UNARY, body.clone().into(), None).unwrap();
                    assert_eq!(&got[..], body.as_bytes());
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    // 200 calls finished while the slow call was still waiting on the server.
    assert!(started.elapsed() < std::time::Duration::from_millis(1500), "{:?}", started.elapsed());
    assert_eq!(&slow.join().unwrap().unwrap()[..], b"1500");
}

/// `swtls.default_ca_dir` (a host's own default folder, e.g. the Java agent's `<agent>/ca`):
/// its files are used as the defaults, and a missing folder means no files, as `./ca` does.
#[test]
fn the_default_ca_folder_may_be_missing_unlike_agent_ca_dir() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("agent-ca", &["ca.crt", "client.crt", "client.pem"]);
    let mut c = swtls::Config::default();
    c.set("collector.backend_service", &server.target()).unwrap();
    c.set("swtls.default_ca_dir", dir.to_str().unwrap()).unwrap();
    let ch = Channel::new(&c).unwrap();
    assert_eq!(ch.tls_mode(), TlsMode::MutualTls);
    ch.unary_blocking(methods::KEEP_ALIVE, ping("d", "i"), None).unwrap();

    let missing = certs.path("no-agent-ca");
    let plain = plaintext_server();
    c.set("collector.backend_service", &plain.target()).unwrap();
    c.set("swtls.default_ca_dir", missing.to_str().unwrap()).unwrap();
    let ch = Channel::new(&c).unwrap();
    assert_eq!(ch.tls_mode(), TlsMode::Plaintext);
    ch.unary_blocking(methods::KEEP_ALIVE, ping("d", "i"), None).unwrap();
    // The same folder given as agent.ca_dir must exist.
    c.set("agent.ca_dir", missing.to_str().unwrap()).unwrap();
    assert_err(Channel::new(&c).map(|_| ()), Status::FileNotFound, &["agent.ca_dir", missing.to_str().unwrap()]);
}
