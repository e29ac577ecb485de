//! Interop with a server no one here wrote: grpcio's (BoringSSL) from PyPI, started with
//! `ssl_server_credentials(require_client_auth=True)` on loopback, with certificates the
//! test generates. Needs `python3` with grpcio (`pip install -r tests/peers/requirements.txt`).

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use swtls::{Channel, Status, TlsMode};

struct Peer {
    child: Child,
    port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn grpcio(args: &[&str]) -> Peer {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/grpcio_server.py");
    let python = std::env::var("SWTLS_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(&python)
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {python}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let port = line
        .strip_prefix("PORT ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("the grpcio peer did not start (is grpcio installed? `pip install -r tests/peers/requirements.txt`): {line:?}"));
    Peer { child, port }
}

fn mtls_peer(certs: &Certs, extra: &[&str]) -> Peer {
    let s = &certs.set;
    let mut args = vec![
        "--cert",
        s.server_cert.to_str().unwrap(),
        "--key",
        s.server_key.to_str().unwrap(),
        "--ca",
        s.ca_cert.to_str().unwrap(),
        "--require-client-auth",
    ];
    args.extend_from_slice(extra);
    grpcio(&args)
}

#[test]
fn mutual_tls_unary_and_streaming_against_grpcio() {
    let certs = Certs::new();
    let peer = mtls_peer(&certs, &[]);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let ch = Channel::new(&config(&format!("127.0.0.1:{}", peer.port), &dir, &[])).unwrap();
    assert_eq!(ch.tls_mode(), TlsMode::MutualTls);
    ch.unary_blocking(methods::KEEP_ALIVE, ping("py", "peer"), None).unwrap();
    assert_eq!(&ch.unary_blocking(methods::ECHO_UNARY, "interop".into(), None).unwrap()[..], b"interop");
    let mut s = ch.open_stream(methods::ECHO_COLLECT, None).unwrap();
    for _ in 0..300 {
        s.send_blocking(vec![0u8; 1024]).unwrap();
    }
    assert_eq!(&s.finish_blocking().unwrap()[..], b"300 307200");
    let mut s = ch.open_stream(methods::SEGMENT_COLLECT, None).unwrap();
    s.send_blocking(swtls_collector::proto::encode_segment("t", "s", "svc", "i")).unwrap();
    s.finish_blocking().unwrap();
}

#[test]
fn grpcio_refuses_a_client_without_certificate() {
    let certs = Certs::new();
    let peer = mtls_peer(&certs, &[]);
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let ch = Channel::new(&config(&format!("localhost:{}", peer.port), &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("py", "peer"), None),
        Status::TlsClientCertRequired,
        &["none is configured", "client.crt"],
    );
}

#[test]
fn grpcio_token_accepted_and_refused() {
    let certs = Certs::new();
    let peer = mtls_peer(&certs, &["--token", "py-token"]);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let target = format!("127.0.0.1:{}", peer.port);
    let ok = Channel::new(&config(&target, &dir, &[("agent.authentication", "py-token")])).unwrap();
    ok.unary_blocking(methods::KEEP_ALIVE, ping("py", "peer"), None).unwrap();
    let bad = Channel::new(&config(&target, &dir, &[("agent.authentication", "other")])).unwrap();
    assert_err(
        bad.unary_blocking(methods::KEEP_ALIVE, ping("py", "peer"), None),
        Status::Unauthenticated,
        &["invalid authentication token"],
    );
}

#[test]
fn grpcio_server_with_an_unknown_ca_and_plaintext_confusions() {
    let certs = Certs::new();
    let peer = mtls_peer(&certs, &[]);
    let other = Certs::new();
    let dir = other.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let target = format!("127.0.0.1:{}", peer.port);
    let ch = Channel::new(&config(&target, &dir, &[])).unwrap();
    assert_err(ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None), Status::TlsUnknownIssuer, &[&target]);
    // Plaintext client to grpcio's TLS port.
    let plain = Channel::new(&config(&target, &certs.agent_dir("empty", &[]), &[])).unwrap();
    assert_err(
        plain.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::ServerRequiresTls,
        &["expects TLS"],
    );
    // TLS client to a plaintext grpcio server.
    let h2c = grpcio(&[]);
    let tls =
        Channel::new(&config(&format!("127.0.0.1:{}", h2c.port), &certs.agent_dir("ca2", &["ca.crt"]), &[])).unwrap();
    assert_err(tls.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None), Status::ServerNotTls, &["plaintext"]);
}
