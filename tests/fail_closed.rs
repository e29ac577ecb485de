//! Broken CA set-ups fail closed (DESIGN §2): only a clean "not found" of a default path
//! counts as absent. Each case runs against a plaintext server that must receive nothing:
//! the channel is refused before any connection, with an error naming the path and cause.

mod common;
use common::*;
use std::path::Path;
use swtls::{Channel, LogLevel, Status, TlsMode};

/// Builds a channel to a plaintext server with `dir` as the ca folder and `extra` keys;
/// asserts it is refused with `status` and a message holding every fragment, and that the
/// server saw no connection at all.
#[track_caller]
fn refused(dir: &Path, extra: &[(&str, &str)], status: Status, fragments: &[&str]) {
    let server = plaintext_server();
    let r = Channel::new(&config(&server.target(), dir, extra)).and_then(|ch| {
        // Only reached on the bug: show what would have been sent.
        ch.unary_blocking(methods::KEEP_ALIVE, ping("leak", "i"), None).map(|_| ())
    });
    assert_err(r, status, fragments);
    let got = server.received();
    assert_eq!(got.connections, 0, "the plaintext server was reached: {got:?}");
    assert!(got.pings.is_empty());
}

#[test]
fn a_dangling_ca_crt_symlink_is_an_error() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &[]);
    std::os::unix::fs::symlink(certs.path("gone/ca.crt"), dir.join("ca.crt")).unwrap();
    let ca = dir.join("ca.crt");
    refused(
        &dir,
        &[],
        Status::FileNotFound,
        &["agent.ssl_trusted_ca_path", ca.to_str().unwrap(), "symbolic link", "gone/ca.crt", "does not exist"],
    );
}

#[test]
fn a_ca_crt_that_is_a_directory_is_an_error() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &[]);
    std::fs::create_dir(dir.join("ca.crt")).unwrap();
    let ca = dir.join("ca.crt");
    refused(
        &dir,
        &[],
        Status::FileUnreadable,
        &["agent.ssl_trusted_ca_path", ca.to_str().unwrap(), "is a folder, not a regular file"],
    );
}

#[test]
fn a_ca_folder_the_agent_cannot_enter_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root passes every permission check: take this thread's file-system identity to
    // nobody for the duration (Linux keeps it per thread; other tests are unaffected).
    let result = std::thread::spawn({
        let dir = dir.clone();
        move || {
            let before = unsafe { libc::setfsuid(65534) };
            let server = plaintext_server();
            let r = Channel::new(&config(&server.target(), &dir, &[]))
                .and_then(|ch| ch.unary_blocking(methods::KEEP_ALIVE, ping("leak", "i"), None).map(|_| ()));
            unsafe { libc::setfsuid(before as libc::uid_t) };
            (r, server.received().connections)
        }
    })
    .join()
    .unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ca = dir.join("ca.crt");
    assert_err(result.0, Status::FileUnreadable, &[ca.to_str().unwrap(), "permission denied"]);
    assert_eq!(result.1, 0);
}

#[test]
fn an_explicit_ca_folder_that_does_not_exist_is_an_error() {
    let certs = Certs::new();
    let typo = certs.path("ca-typo");
    refused(&typo, &[], Status::FileNotFound, &["agent.ca_dir", typo.to_str().unwrap(), "does not exist"]);
}

#[test]
fn an_explicit_ca_folder_from_the_environment_that_does_not_exist_is_an_error() {
    let certs = Certs::new();
    let typo = certs.path("ca-typo");
    let mut c = swtls::Config::default();
    c.load_env_with(|k| (k == "SWTLS_CA_DIR").then(|| typo.clone().into_os_string())).unwrap();
    assert_err(Channel::new(&c).map(|_| ()), Status::FileNotFound, &["agent.ca_dir", typo.to_str().unwrap()]);
}

#[test]
fn an_explicit_ca_folder_that_is_a_file_is_an_error() {
    let certs = Certs::new();
    let file = certs.set.dir.join("ca.crt");
    refused(&file, &[], Status::FileUnreadable, &["agent.ca_dir", file.to_str().unwrap(), "not a folder"]);
}

#[test]
fn client_files_without_a_ca_are_an_error() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["client.crt", "client.pem"]);
    refused(&dir, &[], Status::FileNotFound, &["client.crt", "client.pem", "ca.crt", "agent.force_tls"]);
}

#[test]
fn a_lone_client_key_without_a_ca_is_an_error() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["client.pem"]);
    refused(&dir, &[], Status::FileNotFound, &["client.pem", "ca.crt", "agent.force_tls"]);
}

#[test]
fn explicit_client_files_without_a_ca_are_an_error() {
    let certs = Certs::new();
    let dir = certs.agent_dir("empty", &[]);
    let s = &certs.set;
    refused(
        &dir,
        &[
            ("agent.ssl_cert_chain_path", s.client_cert.to_str().unwrap()),
            ("agent.ssl_key_path", s.client_key.to_str().unwrap()),
        ],
        Status::FileNotFound,
        &[s.client_cert.to_str().unwrap(), "ca.crt", "agent.force_tls"],
    );
}

#[test]
fn the_default_ca_folder_cleanly_absent_is_still_plaintext() {
    // Nothing explicit: `ca` relative to a working directory that has none.
    let server = plaintext_server();
    let mut c = swtls::Config::default();
    c.set("collector.backend_service", &server.target()).unwrap();
    c.ca_dir = std::env::temp_dir().join(format!("swtls-no-such-ca-{}", std::process::id()));
    let ch = Channel::new(&c).unwrap();
    assert_eq!(ch.tls_mode(), TlsMode::Plaintext);
    ch.unary_blocking(methods::KEEP_ALIVE, ping("plain", "i"), None).unwrap();
    assert_eq!(server.received().pings.len(), 1);
}

#[test]
fn plaintext_with_a_token_warns_at_the_default_level() {
    let logs = capture_logs(LogLevel::Warn);
    let certs = Certs::new();
    let dir = certs.agent_dir("empty-token", &[]);
    let ch = Channel::new(&config("127.0.0.1:1", &dir, &[("agent.authentication", "s3cr3t-t0ken")])).unwrap();
    assert_eq!(ch.tls_mode(), TlsMode::Plaintext);
    let warned = logs.matching("token travels in clear");
    assert_eq!(warned.len(), 1, "{:?}", logs.lines.lock().unwrap());
    assert!(warned[0].contains("agent.authentication") && warned[0].contains(dir.to_str().unwrap()), "{warned:?}");
    assert!(!warned[0].contains("s3cr3t-t0ken"));
    // No token, no warning.
    let dir2 = certs.agent_dir("empty-no-token", &[]);
    Channel::new(&config("127.0.0.1:1", &dir2, &[])).unwrap();
    assert_eq!(logs.matching("token travels in clear").len(), 1);
}
