//! Client streams (`Channel::open_stream`) end to end against the tonic collector: framing
//! of every message size, how each way a call can end reaches the caller (trailers-only
//! errors, errors in the trailers, deadlines, a server that goes away), and the request
//! headers the server sees.

mod common;
use std::time::{Duration, Instant};

use common::*;
use swtls::{Channel, Status};
use swtls_collector::{BlockingCollector, CollectorOptions};

fn mtls(opts: impl FnOnce(CollectorOptions) -> CollectorOptions) -> (Certs, BlockingCollector, Channel) {
    let certs = Certs::new();
    let server = BlockingCollector::start(opts(CollectorOptions::from_cert_set(&certs.set, true))).unwrap();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    (certs, server, ch)
}

#[test]
fn every_message_size_is_framed_and_counted() {
    let (_certs, server, ch) = mtls(|o| o);
    // Empty messages, sizes around the HTTP/2 frame size, one of 1 MiB, and many more
    // messages than the stream's queue holds.
    let sizes: Vec<usize> = [0usize, 1, 5, 16_379, 16_384, 16_389, 1 << 20]
        .into_iter()
        .chain((0..20_000).map(|i| (i * 37) % 3000))
        .collect();
    let mut stream = ch.open_stream(methods::ECHO_COLLECT, None).unwrap();
    for &n in &sizes {
        stream.send_blocking(vec![(n % 251) as u8; n]).unwrap();
    }
    let answer = stream.finish_blocking().unwrap();
    let total: usize = sizes.iter().sum();
    assert_eq!(String::from_utf8_lossy(&answer), format!("{} {total}", sizes.len()));
    assert_eq!(server.received().streams_completed, 1);
}

#[test]
fn request_headers_carry_the_deadline_and_the_token() {
    let (_certs, server, _) = mtls(|o| o.token("s3cret"));
    let dir = _certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let ch = Channel::new(&config(&server.target(), &dir, &[("agent.authentication", "s3cret")])).unwrap();
    let mut stream = ch.open_stream(methods::ECHO_COLLECT, Some(Duration::from_millis(2500))).unwrap();
    stream.send_blocking(b"x").unwrap();
    assert_eq!(&stream.finish_blocking().unwrap()[..], b"1 1");
    let call = server.received().calls.into_iter().find(|c| c.method == methods::ECHO_COLLECT).unwrap();
    // tonic's encoding of 2.5 s (the most precise unit within 8 digits), as unary calls send it.
    assert_eq!(call.grpc_timeout.as_deref(), Some("2500000u"));
    assert_eq!(call.authentication.as_deref(), Some("s3cret"));
    assert!(call.user_agent.unwrap_or_default().contains("swtls/"));
}

#[test]
fn refused_token_and_unknown_method_are_reported_with_their_status() {
    let (certs, server, _) = mtls(|o| o.token("right"));
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let wrong = Channel::new(&config(&server.target(), &dir, &[("agent.authentication", "wrong")])).unwrap();
    let mut stream = wrong.open_stream(methods::ECHO_COLLECT, None).unwrap();
    // The server answers at once (trailers-only); sends either still queue or already
    // report that answer, and finish always does.
    for _ in 0..3 {
        if let Err(e) = stream.send_blocking(b"m") {
            assert_eq!(e.status, Status::Unauthenticated, "{e}");
        }
    }
    assert_err(stream.finish_blocking(), Status::Unauthenticated, &["invalid authentication token"]);

    let right = Channel::new(&config(&server.target(), &dir, &[("agent.authentication", "right")])).unwrap();
    let mut stream = right.open_stream("/swtls.test.Echo/nothing", None).unwrap();
    stream.send_blocking(b"m").ok();
    assert_err(stream.finish_blocking(), Status::Unimplemented, &["/swtls.test.Echo/nothing"]);
}

#[test]
fn an_error_in_the_trailers_ends_the_stream_and_later_sends_report_it() {
    // The server refuses a message over its limit after reading the stream's headers.
    let (_certs, server, ch) = mtls(|o| o.max_message_size(1000));
    let mut stream = ch.open_stream(methods::ECHO_COLLECT, None).unwrap();
    stream.send_blocking(vec![1u8; 10]).unwrap();
    stream.send_blocking(vec![1u8; 5000]).unwrap();
    // Sends go on until the answer is back; then they report it instead of queueing.
    let started = Instant::now();
    let err = loop {
        match stream.send_blocking(vec![1u8; 10]) {
            Ok(()) => assert!(started.elapsed() < Duration::from_secs(20), "sends never saw the server's error"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.status, Status::OutOfRange, "{err}");
    assert!(err.message.contains("too large"), "{err}");
    assert_err(stream.finish_blocking(), Status::OutOfRange, &["too large"]);
    assert!(server.wait_until(Duration::from_secs(5), |r| r.streams_failed == 1));
}

#[test]
fn the_deadline_covers_the_whole_stream() {
    // 100 ms per message at the server: 30 messages cannot finish within 1 s.
    let (_certs, _server, ch) = mtls(|o| o.stream_message_delay(Duration::from_millis(100)));
    let mut stream = ch.open_stream(methods::ECHO_COLLECT, Some(Duration::from_secs(1))).unwrap();
    let started = Instant::now();
    let mut failed = None;
    for _ in 0..30 {
        if let Err(e) = stream.send_blocking(b"slow") {
            failed = Some(e);
            break;
        }
    }
    let err = match failed {
        Some(e) => e,
        None => stream.finish_blocking().unwrap_err(),
    };
    assert_eq!(err.status, Status::DeadlineExceeded, "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

#[test]
fn a_server_that_goes_away_mid_stream_fails_the_stream_without_hanging() {
    let (_certs, server, ch) = mtls(|o| o);
    let mut stream = ch.open_stream(methods::ECHO_COLLECT, None).unwrap();
    stream.send_blocking(b"first").unwrap();
    assert!(server.wait_until(Duration::from_secs(5), |r| r.stream_messages == 1));
    server.shutdown();
    let started = Instant::now();
    let err = loop {
        match stream.send_blocking(vec![0u8; 1024]) {
            Ok(()) => assert!(started.elapsed() < Duration::from_secs(20), "sends never failed"),
            Err(e) => break e,
        }
    };
    assert_ne!(err.status, Status::Ok);
    assert!(stream.finish_blocking().is_err());
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// A client stream whose first backend refuses connections moves to the next one with the
/// messages queued meanwhile, as unary calls do (found with the SkyWalking Python agent:
/// a batch handed to a stream on a dead first backend was lost).
#[test]
fn a_stream_moves_to_the_next_backend_when_connecting_fails() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead); // nothing listens there now: connection refused
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let backends = format!("{dead_addr},{}", server.target());
    // The channel starts on a random backend: enough fresh channels that both orders occur.
    for round in 0..8 {
        let ch = Channel::new(&config(&backends, &dir, &[])).unwrap();
        let mut s = ch.open_stream(methods::ECHO_COLLECT, Some(Duration::from_secs(10))).unwrap();
        for _ in 0..3 {
            s.send_blocking(b"abcd").unwrap();
        }
        let answer = s.finish_blocking().unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(&answer[..], b"3 12", "round {round}");
        assert_eq!(ch.current_backend().to_string(), server.target(), "round {round}: the live backend is current");
    }
    assert_eq!(server.received().streams_completed, 8);
}
