//! Per-call options (issue 12: what the standard gRPC channel interfaces of the bindings
//! need): request metadata sent in addition to the token, cancellation of unary calls and
//! of streams from another thread, and the channel's connectivity. Through the Rust API
//! and the C API, against the embedded tonic collector over mutual TLS.

mod common;
use common::*;
use std::ffi::{CStr, CString};
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};
use swtls::ffi::*;
use swtls::{CallOptions, CancelToken, Channel, Connectivity, Readiness, Status};
use swtls_collector::{BlockingCollector, CollectorOptions};

fn last_error() -> String {
    unsafe { CStr::from_ptr(swtls_last_error()).to_string_lossy().into_owned() }
}

fn mtls(certs: &Certs, server: &BlockingCollector, extra: &[(&str, &str)]) -> Channel {
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    Channel::new(&config(&server.target(), &dir, extra)).unwrap()
}

#[test]
fn metadata_goes_on_the_wire_in_addition_to_the_token() {
    let certs = Certs::new();
    let server = BlockingCollector::start(CollectorOptions::from_cert_set(&certs.set, true).token("tok")).unwrap();
    let ch = mtls(&certs, &server, &[("agent.authentication", "tok")]);
    let mut opts = CallOptions::default();
    opts.metadata.add("x-agent", b"python").unwrap();
    opts.metadata.add("x-agent", b"second").unwrap();
    opts.metadata.add("trace-bin", &[0, 1, 254, 255]).unwrap();
    ch.unary_blocking_with(methods::KEEP_ALIVE, ping("md", "1"), &opts).unwrap();
    // A stream carries them too.
    let mut s = ch.open_stream_with(methods::ECHO_COLLECT, &opts).unwrap();
    s.send_blocking(b"abc").unwrap();
    assert_eq!(&s.finish_blocking().unwrap()[..], b"1 3");
    let calls = server.received().calls;
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(call.authentication.as_deref(), Some("tok"));
        let x: Vec<&str> = call.metadata.iter().filter(|(k, _)| k == "x-agent").map(|(_, v)| v.as_str()).collect();
        assert_eq!(x, ["python", "second"], "{:?}", call.metadata);
        let bin = call.metadata.iter().find(|(k, _)| k == "trace-bin").map(|(_, v)| v.trim_end_matches('='));
        assert_eq!(bin, Some("AAH+/w"), "base64 of the bytes: {:?}", call.metadata);
    }
}

#[test]
fn a_unary_call_is_cancelled_from_another_thread() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let ch = mtls(&certs, &server, &[]);
    ch.unary_blocking(methods::KEEP_ALIVE, ping("warm", "1"), None).unwrap();
    let token = CancelToken::new();
    let opts = CallOptions { cancel: Some(token.clone()), ..CallOptions::default() };
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        token.cancel();
    });
    let t0 = Instant::now();
    let e = ch.unary_blocking_with(methods::ECHO_SLOW, "5000".into(), &opts).unwrap_err();
    canceller.join().unwrap();
    assert_eq!(e.status, Status::Cancelled, "{}", e.message);
    assert!(e.message.contains(methods::ECHO_SLOW) && e.message.contains("cancelled"), "{}", e.message);
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    // An already raised token: the call does not start.
    let e = ch.unary_blocking_with(methods::ECHO_UNARY, "x".into(), &opts).unwrap_err();
    assert_eq!(e.status, Status::Cancelled);
    // The channel works on.
    ch.unary_blocking(methods::KEEP_ALIVE, ping("after", "1"), None).unwrap();
}

#[test]
fn a_stream_is_cancelled_while_another_thread_waits_in_finish() {
    let certs = Certs::new();
    let server = BlockingCollector::start(
        CollectorOptions::from_cert_set(&certs.set, true).stream_message_delay(Duration::from_secs(5)),
    )
    .unwrap();
    let ch = mtls(&certs, &server, &[]);
    let mut s = ch.open_stream(methods::ECHO_COLLECT, None).unwrap();
    assert!(s.is_ready());
    s.send_blocking(b"one").unwrap();
    let canceller = s.canceller();
    let waiter = std::thread::spawn(move || {
        let t0 = Instant::now();
        (s.finish_blocking(), t0.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    canceller.cancel();
    let (r, took) = waiter.join().unwrap();
    let e = r.unwrap_err();
    assert_eq!(e.status, Status::Cancelled, "{}", e.message);
    assert!(took < Duration::from_secs(3), "{took:?}");
    // The server saw the stream end without a clean finish.
    let t0 = Instant::now();
    while server.received().streams_failed == 0 && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = server.received();
    assert_eq!((got.streams_failed, got.streams_completed), (1, 0), "{got:?}");
}

#[test]
fn stream_readiness_falls_when_a_slow_server_stops_reading_and_returns_when_it_drains() {
    let certs = Certs::new();
    let server = BlockingCollector::start(
        CollectorOptions::from_cert_set(&certs.set, true).stream_message_delay(Duration::from_secs(2)),
    )
    .unwrap();
    let ch = mtls(&certs, &server, &[]);
    let mut s = ch.open_stream(methods::ECHO_COLLECT, Some(Duration::from_secs(60))).unwrap();
    let readiness = s.readiness();
    assert!(readiness.is_ready());
    // The server waits 2 s per message: the HTTP/2 windows, then the stream's buffer fill.
    let message = vec![7u8; 64 * 1024];
    // Sends while there is room; when there is none, waits up to 1 s for room (the
    // transport takes the buffer whenever the HTTP/2 windows allow) before it calls the
    // stream stuck.
    let mut sent = 0;
    loop {
        if readiness.is_ready() {
            assert!(sent < 1000, "still ready after {sent} messages of 64 KiB to a server that does not read");
            s.send_blocking(&message).unwrap();
            sent += 1;
        } else if readiness.ready_blocking(Duration::from_secs(1)).unwrap() == Readiness::Full {
            break;
        }
    }
    assert!(!s.is_ready());
    assert_eq!(
        readiness.ready_blocking(Duration::from_millis(200)).unwrap(),
        Readiness::Full,
        "no room while the server waits"
    );
    // The server reads again: room comes back.
    server.set_stream_message_delay(Duration::ZERO);
    let t0 = Instant::now();
    assert_eq!(
        readiness.ready_blocking(Duration::from_secs(20)).unwrap(),
        Readiness::Ready,
        "after {:?}",
        t0.elapsed()
    );
    assert!(readiness.is_ready());
    s.send_blocking(b"last").unwrap();
    let response = s.finish_blocking().unwrap();
    assert_eq!(String::from_utf8_lossy(&response), format!("{} {}", sent + 1, sent * message.len() + 4));
    assert!(!readiness.is_ready(), "a finished stream takes no more messages");
    let t0 = Instant::now();
    assert_eq!(readiness.ready_blocking(Duration::from_secs(5)).unwrap(), Readiness::Closed);
    assert!(t0.elapsed() < Duration::from_secs(1), "a finished stream is not waited for");

    // Cancelling wakes a waiter at once.
    server.set_stream_message_delay(Duration::from_secs(5));
    let mut s = ch.open_stream(methods::ECHO_COLLECT, Some(Duration::from_secs(60))).unwrap();
    let readiness = s.readiness();
    loop {
        if readiness.is_ready() {
            s.send_blocking(&message).unwrap();
        } else if readiness.ready_blocking(Duration::from_secs(1)).unwrap() == Readiness::Full {
            break;
        }
    }
    let canceller = s.canceller();
    let waiter = std::thread::spawn(move || {
        let t0 = Instant::now();
        (readiness.ready_blocking(Duration::from_secs(30)).unwrap(), t0.elapsed())
    });
    std::thread::sleep(Duration::from_millis(200));
    canceller.cancel();
    let (ready, took) = waiter.join().unwrap();
    assert_eq!(ready, Readiness::Closed);
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(s.finish_blocking().unwrap_err().status, Status::Cancelled);
}

#[test]
fn connectivity_follows_the_channel() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let ch = mtls(&certs, &server, &[]);
    assert_eq!(ch.connectivity(false), Connectivity::Idle);
    let first = ch.connectivity(true);
    assert!(matches!(first, Connectivity::Connecting | Connectivity::Ready), "{first:?}");
    let t0 = Instant::now();
    while ch.connectivity(false) != Connectivity::Ready && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(ch.connectivity(false), Connectivity::Ready);
    assert_eq!(server.received().tls_handshakes_ok, 1, "try_to_connect made the connection");
    ch.close_blocking(Some(Duration::from_secs(1))).unwrap();
    assert_eq!(ch.connectivity(true), Connectivity::Shutdown);

    // Nothing listening: a failed attempt.
    let dir = certs.agent_dir("ca2", &["ca.crt", "client.crt", "client.pem"]);
    let down = Channel::new(&config("127.0.0.1:1", &dir, &[])).unwrap();
    down.connectivity(true);
    let t0 = Instant::now();
    while down.connectivity(false) != Connectivity::TransientFailure && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(down.connectivity(false), Connectivity::TransientFailure);
}

/// Waits (at most 10 s) for `want`, asking the channel to connect each time (as an agent's
/// periodic check does) when `try_to_connect`; returns the last state seen.
fn poll_connectivity(ch: &Channel, try_to_connect: bool, want: Connectivity) -> Connectivity {
    let t0 = Instant::now();
    loop {
        let state = ch.connectivity(try_to_connect);
        if state == want || t0.elapsed() > Duration::from_secs(10) {
            return state;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn try_to_connect_leaves_transient_failure_once_the_backend_is_back() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    // A port with nothing listening: the attempt fails.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let ch = Channel::new(&config(&addr.to_string(), &dir, &[])).unwrap();
    ch.connectivity(true);
    assert_eq!(poll_connectivity(&ch, false, Connectivity::TransientFailure), Connectivity::TransientFailure);
    // Asked 40 times in 2 s while it is down: a new attempt at most once a second.
    let failures = ch.stats().connect_failures;
    for _ in 0..40 {
        ch.connectivity(true);
        std::thread::sleep(Duration::from_millis(50));
    }
    let more = ch.stats().connect_failures - failures;
    assert!((1..=3).contains(&more), "{more} attempts in 2 s");

    // The backend comes up: asking again connects, with no call made.
    let start = || BlockingCollector::start(CollectorOptions::from_cert_set(&certs.set, true).listen(addr)).unwrap();
    let server = start();
    assert_eq!(poll_connectivity(&ch, true, Connectivity::Ready), Connectivity::Ready);
    assert_eq!(server.received().tls_handshakes_ok, 1);
    assert_eq!(server.received().calls.len(), 0, "only a connection, no call");

    // It goes away (the connection is lost), and comes back: the same again, and calls
    // work on the connection made.
    server.shutdown();
    assert_eq!(poll_connectivity(&ch, false, Connectivity::TransientFailure), Connectivity::TransientFailure);
    let server = start();
    assert_eq!(poll_connectivity(&ch, true, Connectivity::Ready), Connectivity::Ready);
    ch.unary_blocking(methods::KEEP_ALIVE, ping("back", "again"), None).unwrap();
    let got = server.received();
    assert_eq!(got.pings.len(), 1);
    assert_eq!(got.tls_handshakes_ok, 1, "the call used the connection try_to_connect made");
}

#[test]
fn the_c_api_takes_options_cancels_and_reports_connectivity() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let c = |s: &str| CString::new(s).unwrap();
    unsafe {
        let mut cfg = null_mut();
        assert_eq!(swtls_config_new(&mut cfg), Status::Ok);
        assert_eq!(
            swtls_config_set(cfg, c("collector.backend_service").as_ptr(), c(&server.target()).as_ptr()),
            Status::Ok
        );
        assert_eq!(swtls_config_set(cfg, c("agent.ca_dir").as_ptr(), c(dir.to_str().unwrap()).as_ptr()), Status::Ok);
        let mut ch = null_mut();
        assert_eq!(swtls_channel_new(cfg, &mut ch), Status::Ok, "{}", last_error());
        swtls_config_free(cfg);

        let mut state = Connectivity::Shutdown;
        assert_eq!(swtls_channel_connectivity(ch, false, &mut state), Status::Ok);
        assert_eq!(state, Connectivity::Idle);
        assert_eq!(swtls_channel_connectivity(null(), false, &mut state), Status::NullArgument);

        // Options: a bad key is refused, naming it; good ones go on the wire.
        let mut opts = null_mut();
        assert_eq!(swtls_call_options_new(&mut opts), Status::Ok);
        assert_eq!(
            swtls_call_options_add_metadata(opts, c("Bad Key").as_ptr(), b"v".as_ptr(), 1),
            Status::InvalidArgument
        );
        assert!(last_error().contains("'Bad Key'"), "{}", last_error());
        assert_eq!(swtls_call_options_add_metadata(opts, c("x-from-c").as_ptr(), b"yes".as_ptr(), 3), Status::Ok);
        assert_eq!(swtls_call_options_add_metadata(null(), c("x").as_ptr(), null(), 0), Status::NullArgument);
        let (mut out, mut out_len) = (null_mut(), 0usize);
        let req = b"hello";
        let st = swtls_channel_unary_with(
            ch,
            c(methods::ECHO_UNARY).as_ptr(),
            req.as_ptr(),
            req.len(),
            0,
            opts,
            &mut out,
            &mut out_len,
        );
        assert_eq!(st, Status::Ok, "{}", last_error());
        assert_eq!(std::slice::from_raw_parts(out, out_len), b"hello");
        swtls_bytes_free(out, out_len);
        let md = &server.received().calls[0].metadata;
        assert!(md.contains(&("x-from-c".to_string(), "yes".to_string())), "{md:?}");
        // NULL options: none.
        let st =
            swtls_channel_unary_with(ch, c(methods::ECHO_UNARY).as_ptr(), null(), 0, 0, null(), &mut out, &mut out_len);
        assert_eq!(st, Status::Ok, "{}", last_error());
        swtls_bytes_free(out, out_len);

        // A cancellation flag raised from another thread ends a slow call.
        let mut cancel = null_mut();
        assert_eq!(swtls_cancel_new(&mut cancel), Status::Ok);
        assert_eq!(swtls_call_options_set_cancel(opts, cancel), Status::Ok);
        let raise = cancel as usize;
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            assert_eq!(swtls_cancel_cancel(raise as *const swtls_cancel), Status::Ok);
        });
        let slow = b"5000";
        let st = swtls_channel_unary_with(
            ch,
            c(methods::ECHO_SLOW).as_ptr(),
            slow.as_ptr(),
            slow.len(),
            0,
            opts,
            &mut out,
            &mut out_len,
        );
        t.join().unwrap();
        assert_eq!(st, Status::Cancelled, "{}", last_error());
        swtls_cancel_free(cancel); // the options keep their own reference
        swtls_call_options_free(opts);
        swtls_call_options_free(null_mut());
        swtls_cancel_free(null_mut());

        // A stream cancelled from another thread while this one waits in finish.
        server.set_stream_message_delay(Duration::from_secs(5));
        let mut stream = null_mut();
        assert_eq!(
            swtls_channel_stream_open_with(ch, c(methods::ECHO_COLLECT).as_ptr(), 0, null(), &mut stream),
            Status::Ok
        );
        let mut ready = false;
        assert_eq!(swtls_stream_is_ready(stream, &mut ready), Status::Ok);
        assert!(ready);
        assert_eq!(swtls_stream_send(stream, b"x".as_ptr(), 1), Status::Ok);
        let s = stream as usize;
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            assert_eq!(swtls_stream_cancel(s as *const swtls_stream), Status::Ok);
        });
        let st = swtls_stream_finish(stream, &mut out, &mut out_len);
        t.join().unwrap();
        assert_eq!(st, Status::Cancelled, "{}", last_error());
        assert_eq!(swtls_stream_cancel(null()), Status::NullArgument);
        swtls_stream_free(stream);
        swtls_channel_free(ch);
    }
}
