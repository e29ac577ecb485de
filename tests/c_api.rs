//! The C API's conventions, exercised through the exported functions themselves: NULL for
//! every pointer argument, invalid UTF-8, outputs written only on success, the thread-local
//! last error, status names, the log callback, and real calls over mutual TLS.

mod common;
use common::*;
use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::Mutex;
use swtls::ffi::*;
use swtls::{LogLevel, Status, TlsMode};

fn last_error() -> String {
    unsafe { CStr::from_ptr(swtls_last_error()).to_string_lossy().into_owned() }
}

#[track_caller]
fn expect(status: Status, want: Status, fragment: &str) {
    assert_eq!(status, want, "last error: {}", last_error());
    assert!(last_error().contains(fragment), "last error lacks '{fragment}': {}", last_error());
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn new_config(pairs: &[(&str, &str)]) -> *mut swtls_config {
    let mut cfg = null_mut();
    unsafe {
        assert_eq!(swtls_config_new(&mut cfg), Status::Ok);
        for (k, v) in pairs {
            assert_eq!(swtls_config_set(cfg, c(k).as_ptr(), c(v).as_ptr()), Status::Ok, "{}", last_error());
        }
    }
    cfg
}

#[test]
fn version_names_library_and_rustls() {
    let v = unsafe { CStr::from_ptr(swtls_version()) }.to_str().unwrap();
    assert!(v.starts_with(&format!("swtls/{}", env!("CARGO_PKG_VERSION"))), "{v}");
    assert!(v.contains("rustls/0.23."), "{v}");
}

/// `SWTLS_VERSION_*` as a C compiler sees them in include/swtls.h, `swtls_version_number()`
/// and the crate version agree: the macros are the version in Cargo.toml and
/// `SWTLS_VERSION_NUMBER` is `MAJOR * 10000 + MINOR * 100 + PATCH`, the number the function
/// returns.
#[test]
fn version_number_matches_the_header_macros() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("macros.c");
    std::fs::write(
        &src,
        r#"#include <stdio.h>
#include "swtls.h"
int main(void) {
    printf("%d %d %d %d\n", SWTLS_VERSION_MAJOR, SWTLS_VERSION_MINOR, SWTLS_VERSION_PATCH, SWTLS_VERSION_NUMBER);
    return 0;
}
"#,
    )
    .unwrap();
    let exe = dir.path().join("macros");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let built = std::process::Command::new(&cc)
        .args(["-Wall", "-Wextra", "-Werror", "-std=c11"])
        .arg(format!("-I{}", root.join("include").display()))
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap();
    assert!(built.status.success(), "{cc} failed: {}", String::from_utf8_lossy(&built.stderr));
    let out = std::process::Command::new(&exe).output().unwrap();
    assert!(out.status.success());
    let macros: Vec<u32> =
        String::from_utf8(out.stdout).unwrap().split_whitespace().map(|n| n.parse().unwrap()).collect();

    let cargo: Vec<u32> =
        [env!("CARGO_PKG_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MINOR"), env!("CARGO_PKG_VERSION_PATCH")]
            .iter()
            .map(|n| n.parse().unwrap())
            .collect();
    let number = cargo[0] * 10000 + cargo[1] * 100 + cargo[2];
    assert_eq!(macros, [cargo[0], cargo[1], cargo[2], number], "SWTLS_VERSION_MAJOR, _MINOR, _PATCH, _NUMBER");
    assert_eq!(swtls_version_number(), number);
    assert_eq!(swtls::ffi::VERSION_NUMBER, number);
}

#[test]
fn status_names_are_stable_and_total() {
    for s in Status::ALL {
        let name = unsafe { CStr::from_ptr(swtls_status_name(s as u32)) }.to_str().unwrap();
        assert_eq!(name, s.name());
    }
    assert_eq!(unsafe { CStr::from_ptr(swtls_status_name(16)) }.to_str().unwrap(), "UNAUTHENTICATED");
    assert_eq!(unsafe { CStr::from_ptr(swtls_status_name(9999)) }.to_str().unwrap(), "UNRECOGNIZED");
}

#[test]
fn null_for_every_pointer_argument() {
    let cfg = new_config(&[]);
    let dir = Certs::new();
    let empty = dir.agent_dir("e", &[]);
    let cfg2 = new_config(&[("agent.ca_dir", empty.to_str().unwrap()), ("collector.backend_service", "127.0.0.1:1")]);
    let mut ch = null_mut();
    unsafe {
        assert_eq!(swtls_channel_new(cfg2, &mut ch), Status::Ok, "{}", last_error());
        let key = c("agent.force_tls");
        let val = c("true");
        let method = c("/a.B/c");
        let mut out_buf: *mut u8 = null_mut();
        let mut out_len = 0usize;
        let mut mode = TlsMode::Tls;
        let mut stream = null_mut();

        expect(swtls_config_new(null_mut()), Status::NullArgument, "'out'");
        expect(swtls_config_set(null(), key.as_ptr(), val.as_ptr()), Status::NullArgument, "'config'");
        expect(swtls_config_set(cfg, null(), val.as_ptr()), Status::NullArgument, "'key'");
        expect(swtls_config_set(cfg, key.as_ptr(), null()), Status::NullArgument, "'value'");
        expect(swtls_config_load_env(null()), Status::NullArgument, "'config'");
        expect(swtls_channel_new(null(), &mut ch as *mut _), Status::NullArgument, "'config'");
        expect(swtls_channel_new(cfg2, null_mut()), Status::NullArgument, "'out'");
        expect(swtls_channel_tls_mode(null(), &mut mode), Status::NullArgument, "'channel'");
        expect(swtls_channel_tls_mode(ch, null_mut()), Status::NullArgument, "'out_mode'");
        assert!(swtls_channel_tls_reason(null()).is_null());
        expect(
            swtls_channel_unary(null(), method.as_ptr(), null(), 0, 0, &mut out_buf, &mut out_len),
            Status::NullArgument,
            "'channel'",
        );
        expect(
            swtls_channel_unary(ch, null(), null(), 0, 0, &mut out_buf, &mut out_len),
            Status::NullArgument,
            "'method'",
        );
        expect(
            swtls_channel_unary(ch, method.as_ptr(), null(), 5, 0, &mut out_buf, &mut out_len),
            Status::NullArgument,
            "'request'",
        );
        expect(
            swtls_channel_unary(ch, method.as_ptr(), null(), 0, 0, null_mut(), &mut out_len),
            Status::NullArgument,
            "'out_response'",
        );
        expect(
            swtls_channel_unary(ch, method.as_ptr(), null(), 0, 0, &mut out_buf, null_mut()),
            Status::NullArgument,
            "'out_response_len'",
        );
        expect(swtls_channel_stream_open(null(), method.as_ptr(), 0, &mut stream), Status::NullArgument, "'channel'");
        expect(swtls_channel_stream_open(ch, null(), 0, &mut stream), Status::NullArgument, "'method'");
        expect(swtls_channel_stream_open(ch, method.as_ptr(), 0, null_mut()), Status::NullArgument, "'out'");
        expect(swtls_stream_send(null_mut(), null(), 0), Status::NullArgument, "'stream'");
        expect(swtls_stream_finish(null_mut(), &mut out_buf, &mut out_len), Status::NullArgument, "'stream'");
        expect(swtls_set_log_callback(None, null_mut(), 9), Status::InvalidParameter, "max_level 9");
        // A stream for the argument checks that need one; its backend is down, which
        // only matters once it is finished.
        assert_eq!(swtls_channel_stream_open(ch, method.as_ptr(), 0, &mut stream), Status::Ok);
        expect(swtls_stream_send(stream, null(), 3), Status::NullArgument, "'message'");
        expect(swtls_stream_finish(stream, null_mut(), &mut out_len), Status::NullArgument, "'out_response'");
        expect(swtls_stream_finish(stream, &mut out_buf, null_mut()), Status::NullArgument, "'out_response_len'");
        // Outputs were never written.
        assert!(out_buf.is_null() && out_len == 0 && !stream.is_null());
        assert_eq!(mode, TlsMode::Tls);
        // Every free accepts NULL.
        swtls_config_free(null_mut());
        swtls_channel_free(null_mut());
        swtls_stream_free(null_mut());
        swtls_bytes_free(null_mut(), 0);
        swtls_stream_free(stream);
        swtls_channel_free(ch);
        swtls_config_free(cfg);
        swtls_config_free(cfg2);
    }
}

#[test]
fn invalid_utf8_is_refused_naming_the_argument() {
    let cfg = new_config(&[]);
    let bad = [0x66u8, 0x6f, 0xff, 0x00];
    unsafe {
        expect(swtls_config_set(cfg, bad.as_ptr() as *const c_char, c("x").as_ptr()), Status::InvalidUtf8, "'key'");
        expect(
            swtls_config_set(cfg, c("agent.ca_dir").as_ptr(), bad.as_ptr() as *const c_char),
            Status::InvalidUtf8,
            "'value'",
        );
        swtls_config_free(cfg);
    }
}

#[test]
fn configuration_errors_keep_the_previous_value() {
    let cfg = new_config(&[("collector.backend_service", "good:1")]);
    unsafe {
        for (key, value, status, fragment) in [
            ("collector.backend_service", "", Status::ConfigInvalidBackend, "entry ''"),
            ("collector.backend_service", "host", Status::ConfigInvalidBackend, "'host'"),
            ("collector.backend_service", "host:", Status::ConfigInvalidBackend, "'host:'"),
            ("collector.backend_service", "host:0", Status::ConfigInvalidBackend, "'host:0'"),
            ("collector.backend_service", "host:70000", Status::ConfigInvalidBackend, "'host:70000'"),
            ("collector.backend_service", "host:abc", Status::ConfigInvalidBackend, "'host:abc'"),
            ("collector.backend_service", "[::1", Status::ConfigInvalidBackend, "'[::1'"),
            ("collector.backend_service", "a:1,,b:2", Status::ConfigInvalidBackend, "entry ''"),
            ("agent.unknown_thing", "1", Status::ConfigUnknownKey, "'agent.unknown_thing'"),
            ("agent.force_tls", "yes", Status::ConfigInvalidValue, "'yes'"),
            ("collector.grpc_upstream_timeout", "ten", Status::ConfigInvalidValue, "'ten'"),
            (
                "collector.grpc_channel_check_interval",
                "-1",
                Status::ConfigInvalidValue,
                "collector.grpc_channel_check_interval",
            ),
        ] {
            expect(swtls_config_set(cfg, c(key).as_ptr(), c(value).as_ptr()), status, fragment);
        }
        // The backend is still the good one: a channel to it fails to resolve "good".
        let mut ch = null_mut();
        assert_eq!(swtls_channel_new(cfg, &mut ch), Status::Ok);
        let mut out = null_mut();
        let mut len = 0;
        let st = swtls_channel_unary(ch, c("/a.B/c").as_ptr(), null(), 0, 2000, &mut out, &mut len);
        assert_eq!(st, Status::Unavailable);
        assert!(last_error().contains("'good'"), "{}", last_error());
        swtls_channel_free(ch);
        swtls_config_free(cfg);
    }
}

#[test]
fn last_error_is_per_thread() {
    let cfg = new_config(&[]);
    unsafe {
        expect(
            swtls_config_set(cfg, c("agent.nope").as_ptr(), c("1").as_ptr()),
            Status::ConfigUnknownKey,
            "agent.nope",
        );
    }
    let other = std::thread::spawn(last_error).join().unwrap();
    assert_eq!(other, "");
    assert!(last_error().contains("agent.nope"));
    unsafe { swtls_config_free(cfg) };
}

static LOGS: Mutex<Vec<(LogLevel, String, usize)>> = Mutex::new(Vec::new());
/// The log callback is process-wide: tests that install one run one at a time.
static LOG_TESTS: Mutex<()> = Mutex::new(());

unsafe extern "C" fn collect_logs(userdata: *mut c_void, level: LogLevel, message: *const c_char, len: usize) {
    assert_eq!(userdata as usize, 7, "userdata must come back unchanged");
    let text = CStr::from_ptr(message).to_string_lossy().into_owned();
    LOGS.lock().unwrap().push((level, text, len));
}

#[test]
fn unary_and_stream_over_mtls_with_log_callback() {
    let _serial = LOG_TESTS.lock().unwrap_or_else(|p| p.into_inner());
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    {
        assert_eq!(
            swtls_set_log_callback(Some(collect_logs), 7usize as *mut c_void, LogLevel::Debug as u32),
            Status::Ok
        );
    }
    let cfg = new_config(&[
        ("collector.backend_service", &server.target()),
        ("agent.ca_dir", dir.to_str().unwrap()),
        ("agent.authentication", "tok-secret"),
    ]);
    let mut ch = null_mut();
    unsafe {
        assert_eq!(swtls_channel_new(cfg, &mut ch), Status::Ok, "{}", last_error());
        swtls_config_free(cfg);
        let mut mode = TlsMode::Plaintext;
        assert_eq!(swtls_channel_tls_mode(ch, &mut mode), Status::Ok);
        assert_eq!(mode, TlsMode::MutualTls);
        let reason = CStr::from_ptr(swtls_channel_tls_reason(ch)).to_str().unwrap();
        assert!(reason.starts_with("mutual-tls"), "{reason}");

        let body = ping("c-svc", "c-inst");
        let mut out: *mut u8 = null_mut();
        let mut len = 0usize;
        let st =
            swtls_channel_unary(ch, c(methods::KEEP_ALIVE).as_ptr(), body.as_ptr(), body.len(), 0, &mut out, &mut len);
        assert_eq!(st, Status::Ok, "{}", last_error());
        assert!(!out.is_null());
        swtls_bytes_free(out, len);

        let st = swtls_channel_unary(ch, c(methods::ECHO_UNARY).as_ptr(), b"xyz".as_ptr(), 3, 0, &mut out, &mut len);
        assert_eq!(st, Status::Ok);
        assert_eq!(std::slice::from_raw_parts(out, len), b"xyz");
        swtls_bytes_free(out, len);

        let mut stream = null_mut();
        assert_eq!(swtls_channel_stream_open(ch, c(methods::ECHO_COLLECT).as_ptr(), 0, &mut stream), Status::Ok);
        for _ in 0..100 {
            assert_eq!(swtls_stream_send(stream, [1u8; 10].as_ptr(), 10), Status::Ok);
        }
        assert_eq!(swtls_stream_send(stream, null(), 0), Status::Ok);
        assert_eq!(swtls_stream_finish(stream, &mut out, &mut len), Status::Ok, "{}", last_error());
        assert_eq!(std::slice::from_raw_parts(out, len), b"101 1000");
        swtls_bytes_free(out, len);
        let (mut out2, mut len2) = (null_mut(), 0usize);
        expect(swtls_stream_finish(stream, &mut out2, &mut len2), Status::Closed, "already finished");
        expect(swtls_stream_send(stream, b"x".as_ptr(), 1), Status::Closed, "already finished");
        assert!(out2.is_null());
        swtls_stream_free(stream);

        let bad = c("no-leading-slash/x");
        expect(
            swtls_channel_unary(ch, bad.as_ptr(), null(), 0, 0, &mut out2, &mut len2),
            Status::InvalidMethod,
            "no-leading-slash/x",
        );
        swtls_channel_free(ch);
        swtls_set_log_callback(None, null_mut(), LogLevel::Warn as u32);
    }
    let logs = LOGS.lock().unwrap();
    assert!(logs.iter().any(|(l, m, n)| *l == LogLevel::Info && m.contains("mutual-tls") && *n == m.len()), "{logs:?}");
    assert!(logs.iter().all(|(_, m, _)| !m.contains("tok-secret")), "a token leaked into the log");
}

#[test]
fn unfinished_stream_is_cancelled_on_free() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let cfg = new_config(&[("collector.backend_service", &server.target()), ("agent.ca_dir", dir.to_str().unwrap())]);
    unsafe {
        let mut ch = null_mut();
        assert_eq!(swtls_channel_new(cfg, &mut ch), Status::Ok);
        let mut stream = null_mut();
        assert_eq!(swtls_channel_stream_open(ch, c(methods::SEGMENT_COLLECT).as_ptr(), 0, &mut stream), Status::Ok);
        let seg = swtls_collector::proto::encode_segment("t", "s", "svc", "i");
        assert_eq!(swtls_stream_send(stream, seg.as_ptr(), seg.len()), Status::Ok);
        assert!(server.wait_until(std::time::Duration::from_secs(5), |r| r.stream_messages == 1));
        swtls_stream_free(stream);
        assert!(
            server.wait_until(std::time::Duration::from_secs(5), |r| r.streams_failed == 1),
            "{:?}",
            server.received().streams_failed
        );
        assert_eq!(server.received().streams_completed, 0);
        swtls_channel_free(ch);
        swtls_config_free(cfg);
    }
}

#[test]
fn blocking_calls_are_refused_inside_an_async_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let certs = Certs::new();
    let ch = swtls::Channel::new(&config("127.0.0.1:1", &certs.agent_dir("e", &[]), &[])).unwrap();
    let e = rt.block_on(async { ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None) }).unwrap_err();
    assert_eq!(e.status, Status::FailedPrecondition);
    assert!(e.message.contains("inside an async runtime"), "{}", e.message);
    // Also a stream send that would find room in the queue (it would not have to wait).
    let mut stream = ch.open_stream(methods::ECHO_COLLECT, None).unwrap();
    let e = rt.block_on(async { stream.send_blocking(b"x") }).unwrap_err();
    assert_eq!(e.status, Status::FailedPrecondition);
    assert!(e.message.contains("inside an async runtime"), "{}", e.message);
}

/// After `swtls_set_log_callback` returns, the previous callback is not running anywhere:
/// a callback that is slow (a host language taking its lock) is waited for.
#[test]
fn replacing_the_log_callback_waits_for_calls_in_progress() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    static INSIDE: AtomicUsize = AtomicUsize::new(0);
    static ENTERED: AtomicBool = AtomicBool::new(false);
    unsafe extern "C" fn slow(_: *mut c_void, _: LogLevel, _: *const c_char, _: usize) {
        INSIDE.fetch_add(1, Ordering::SeqCst);
        ENTERED.store(true, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(300));
        INSIDE.fetch_sub(1, Ordering::SeqCst);
    }
    let _serial = LOG_TESTS.lock().unwrap_or_else(|p| p.into_inner());
    unsafe {
        assert_eq!(swtls_set_log_callback(Some(slow), null_mut(), LogLevel::Debug as u32), Status::Ok);
        // A log message from another thread: building a channel logs its TLS mode at info.
        let t = std::thread::spawn(|| {
            let certs = Certs::new();
            let cfg = new_config(&[("agent.ca_dir", certs.agent_dir("e", &[]).to_str().unwrap())]);
            let mut ch = null_mut();
            assert_eq!(swtls_channel_new(cfg, &mut ch), Status::Ok);
            swtls_channel_free(ch);
            swtls_config_free(cfg);
        });
        while !ENTERED.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        assert_eq!(swtls_set_log_callback(None, null_mut(), LogLevel::Warn as u32), Status::Ok);
        assert_eq!(INSIDE.load(Ordering::SeqCst), 0, "the old callback was still running after the switch");
        t.join().unwrap();
    }
}

#[test]
fn a_length_beyond_isize_max_is_refused_naming_the_argument() {
    let dir = Certs::new();
    let empty = dir.agent_dir("e", &[]);
    let cfg = new_config(&[("agent.ca_dir", empty.to_str().unwrap()), ("collector.backend_service", "127.0.0.1:1")]);
    let byte = 0u8;
    let huge = isize::MAX as usize + 1;
    unsafe {
        let mut ch = null_mut();
        assert_eq!(swtls_channel_new(cfg, &mut ch), Status::Ok, "{}", last_error());
        let (mut out, mut len) = (null_mut(), 0usize);
        let method = c(methods::ECHO_UNARY);
        expect(
            swtls_channel_unary(ch, method.as_ptr(), &byte, huge, 0, &mut out, &mut len),
            Status::InvalidParameter,
            &format!("argument 'request': length {huge}"),
        );
        assert!(out.is_null() && len == 0);
        let collect = c(methods::SEGMENT_COLLECT);
        expect(
            swtls_report(ch, collect.as_ptr(), &byte, usize::MAX),
            Status::InvalidParameter,
            &format!("argument 'message': length {}", usize::MAX),
        );
        let mut stream = null_mut();
        assert_eq!(swtls_channel_stream_open(ch, collect.as_ptr(), 0, &mut stream), Status::Ok, "{}", last_error());
        expect(swtls_stream_send(stream, &byte, huge), Status::InvalidParameter, "argument 'message': length");
        // The message says what the limit is.
        assert!(last_error().contains(&format!("isize::MAX = {}", isize::MAX)), "{}", last_error());
        swtls_stream_free(stream);
        swtls_channel_free(ch);
        swtls_config_free(cfg);
    }
}

#[test]
fn two_threads_send_on_one_stream_then_it_finishes() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let cfg = new_config(&[("collector.backend_service", &server.target()), ("agent.ca_dir", dir.to_str().unwrap())]);
    const PER_THREAD: usize = 2000;
    unsafe {
        let mut ch = null_mut();
        assert_eq!(swtls_channel_new(cfg, &mut ch), Status::Ok, "{}", last_error());
        let mut stream = null_mut();
        assert_eq!(swtls_channel_stream_open(ch, c(methods::ECHO_COLLECT).as_ptr(), 0, &mut stream), Status::Ok);
        // The handle is shared as the header allows: the same pointer, from two threads at once.
        let shared = stream as usize;
        let start = std::sync::Arc::new(std::sync::Barrier::new(2));
        let senders: Vec<_> = (0..2usize)
            .map(|t| {
                let start = start.clone();
                std::thread::spawn(move || {
                    let message = vec![t as u8; 10 + t]; // 10 bytes from one thread, 11 from the other
                    start.wait();
                    for _ in 0..PER_THREAD {
                        let st = swtls_stream_send(shared as *mut swtls_stream, message.as_ptr(), message.len());
                        assert_eq!(st, Status::Ok, "{}", last_error());
                    }
                })
            })
            .collect();
        for s in senders {
            s.join().unwrap();
        }
        let (mut out, mut len) = (null_mut(), 0usize);
        assert_eq!(swtls_stream_finish(stream, &mut out, &mut len), Status::Ok, "{}", last_error());
        let echoed = String::from_utf8_lossy(std::slice::from_raw_parts(out, len)).into_owned();
        assert_eq!(echoed, format!("{} {}", 2 * PER_THREAD, 21 * PER_THREAD));
        swtls_bytes_free(out, len);
        swtls_stream_free(stream);
        swtls_channel_free(ch);
        swtls_config_free(cfg);
    }
}
