//! Certificate rotation without restart: the CA, certificate and key are re-read when they
//! change on disk (Kubernetes secret layout: a `..data` symlink swapped atomically); new
//! connections use the new material; a broken new file keeps the old material.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use swtls::{Channel, LogLevel};
use swtls_collector::certs::{write_ca_bundle, CertSet, KeyFormat};
use swtls_collector::{BlockingCollector, CollectorOptions};

/// A secret volume as Kubernetes mounts it: files are links through `..data`, which
/// points at a timestamped folder and is replaced atomically on update.
struct Secret {
    root: PathBuf,
    version: u32,
}

impl Secret {
    fn new(root: PathBuf, files: &[(&str, Vec<u8>)]) -> Secret {
        std::fs::create_dir_all(&root).unwrap();
        let mut s = Secret { root, version: 0 };
        s.update(files);
        for (name, _) in files {
            std::os::unix::fs::symlink(format!("..data/{name}"), s.root.join(name)).unwrap();
        }
        s
    }
    fn update(&mut self, files: &[(&str, Vec<u8>)]) {
        self.version += 1;
        let dir_name = format!("..2026_11_28_v{}", self.version);
        let dir = self.root.join(&dir_name);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let tmp = self.root.join("..data_tmp");
        std::os::unix::fs::symlink(&dir_name, &tmp).unwrap();
        std::fs::rename(&tmp, self.root.join("..data")).unwrap();
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

fn agent_files(ca_bundle: Vec<u8>, set: &CertSet) -> Vec<(&'static str, Vec<u8>)> {
    vec![("ca.crt", ca_bundle), ("client.crt", read(&set.client_cert)), ("client.pem", read(&set.client_key))]
}

/// A collector with `set`'s server certificate, accepting client certificates from the
/// CAs in `client_cas`, on `addr`.
fn server(set: &CertSet, client_cas: &Path, addr: std::net::SocketAddr) -> BlockingCollector {
    BlockingCollector::start(
        CollectorOptions::mutual_tls(&set.server_cert, &set.server_key, client_cas, true).listen(addr),
    )
    .unwrap()
}

#[test]
fn rotating_server_and_client_certificates_while_the_channel_is_open() {
    let tmp = tempfile::tempdir().unwrap();
    let old = CertSet::generate(&tmp.path().join("old"), LOCAL_NAMES).unwrap();
    let new = CertSet::generate(&tmp.path().join("new"), LOCAL_NAMES).unwrap();
    // During the rotation the server accepts clients of both CAs.
    let both = tmp.path().join("both.crt");
    write_ca_bundle(&both, &[&old.ca, &new.ca]).unwrap();

    let mut secret = Secret::new(tmp.path().join("secret"), &agent_files(read(&old.ca_cert), &old));
    let first = server(&old, &both, "127.0.0.1:0".parse().unwrap());
    let addr = first.addr();
    let ch = Channel::new(&config(&addr.to_string(), &secret.root, &[])).unwrap();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("rot", "1"), None).unwrap();
    assert_eq!(first.received().handshakes[0].client_certs[0], old.client.cert_der());

    // The agent's secret is updated first: the new client certificate, and a CA bundle
    // that trusts the old and the new server certificates.
    let mut bundle = read(&old.ca_cert);
    bundle.extend(read(&new.ca_cert));
    secret.update(&agent_files(bundle, &new));
    // Calls on the open connection go on.
    ch.unary_blocking(methods::KEEP_ALIVE, ping("rot", "2"), None).unwrap();

    // The server rotates to its new certificate (a restart on the same port).
    first.shutdown();
    let second = server(&new, &both, addr);
    for i in 0..20 {
        ch.unary_blocking(methods::KEEP_ALIVE, ping("rot", &format!("after-{i}")), None)
            .unwrap_or_else(|e| panic!("call {i} after the rotation failed: {e}"));
    }
    let got = second.received();
    assert_eq!(got.pings.len(), 20);
    assert_eq!(got.tls_handshakes_ok, 1, "one new connection");
    assert_eq!(got.handshakes[0].client_certs[0], new.client.cert_der(), "the new client certificate is in use");
}

#[test]
fn a_broken_new_file_keeps_the_old_material_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let set = CertSet::generate(&tmp.path().join("set"), LOCAL_NAMES).unwrap();
    let mut secret = Secret::new(tmp.path().join("secret"), &agent_files(read(&set.ca_cert), &set));
    let first = server(&set, &set.ca_cert, "127.0.0.1:0".parse().unwrap());
    let addr = first.addr();
    let ch = Channel::new(&config(&addr.to_string(), &secret.root, &[])).unwrap();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("bad", "1"), None).unwrap();

    // A half-written update: the key is not the certificate's.
    let other = CertSet::generate(&tmp.path().join("other"), LOCAL_NAMES).unwrap();
    let mut files = agent_files(read(&set.ca_cert), &set);
    files[2] = ("client.pem", other.client.key().to_pem(KeyFormat::Pkcs8).unwrap().into_bytes());
    secret.update(&files);

    let logs = capture_logs(LogLevel::Warn);
    first.disconnect_all();
    for i in 0..5 {
        ch.unary_blocking(methods::KEEP_ALIVE, ping("bad", &i.to_string()), None).unwrap();
        first.disconnect_all();
    }
    let kept = logs.matching("keeping the previous certificates");
    assert_eq!(kept.len(), 1, "logged once, not per connection: {kept:?}");
    assert!(kept[0].contains("does not belong"), "{}", kept[0]);
    assert!(first.received().handshakes.iter().all(|h| h.client_certs[0] == set.client.cert_der()));
    drop(logs);

    // Fixing the files is picked up by the next connection.
    secret.update(&agent_files(read(&other.ca_cert), &other));
    let _ = std::fs::remove_file(tmp.path().join("unused"));
    let second = server(&other, &other.ca_cert, {
        first.shutdown();
        addr
    });
    ch.unary_blocking(methods::KEEP_ALIVE, ping("fixed", "1"), None).unwrap();
    assert_eq!(second.received().handshakes[0].client_certs[0], other.client.cert_der());
}

#[test]
fn a_rewrite_in_two_steps_is_picked_up_once_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let old = CertSet::generate(&tmp.path().join("old"), LOCAL_NAMES).unwrap();
    let new = CertSet::generate(&tmp.path().join("new"), LOCAL_NAMES).unwrap();
    let both = tmp.path().join("both.crt");
    write_ca_bundle(&both, &[&old.ca, &new.ca]).unwrap();
    // A plain folder whose files are rewritten in place (truncate, write), not swapped.
    let dir = tmp.path().join("ca");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in agent_files(read(&old.ca_cert), &old) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let first = server(&old, &both, "127.0.0.1:0".parse().unwrap());
    let ch = Channel::new(&config(&first.addr().to_string(), &dir, &[])).unwrap();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("two-step", "0"), None).unwrap();

    // Step 1: the new certificate, and half of the new key.
    let key = read(&new.client_key);
    std::fs::write(dir.join("client.crt"), read(&new.client_cert)).unwrap();
    std::fs::write(dir.join("client.pem"), &key[..key.len() / 2]).unwrap();
    let logs = capture_logs(LogLevel::Info);
    first.disconnect_all();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("two-step", "1"), None).unwrap();
    assert_eq!(logs.matching("keeping the previous certificates").len(), 1);

    // Step 2: the rest of the key. The next connection loads the complete files.
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("client.pem"))
        .unwrap()
        .write_all(&key[key.len() / 2..])
        .unwrap();
    first.disconnect_all();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("two-step", "2"), None).unwrap();
    assert_eq!(logs.matching("changed on disk").len(), 1, "{:?}", logs.lines.lock().unwrap());
    let handshakes = first.received().handshakes;
    assert_eq!(handshakes.len(), 3);
    assert_eq!(handshakes[1].client_certs[0], old.client.cert_der(), "the half-written key kept the old pair");
    assert_eq!(handshakes[2].client_certs[0], new.client.cert_der(), "the complete files are in use");
}

/// The files are read off the runtime's worker threads: connections whose files block on
/// read (here a FIFO with no writer, standing in for a hung network filesystem) stall only
/// themselves; every other channel's calls and every deadline go on.
#[test]
fn a_blocking_read_of_the_files_does_not_stall_the_runtime() {
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let set = CertSet::generate(&tmp.path().join("set"), LOCAL_NAMES).unwrap();
    let tls_server = server(&set, &set.ca_cert, "127.0.0.1:0".parse().unwrap());
    // More stuck channels than the runtime has worker threads.
    let mut stuck = Vec::new();
    for i in 0..4 {
        let dir = tmp.path().join(format!("ca{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in agent_files(read(&set.ca_cert), &set) {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let ch = Channel::new(&config(&tls_server.target(), &dir, &[])).unwrap();
        std::fs::remove_file(dir.join("ca.crt")).unwrap();
        let fifo = std::ffi::CString::new(dir.join("ca.crt").to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        stuck.push((dir, ch));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    for (i, (_, ch)) in stuck.iter().enumerate() {
        let (ch, tx) = (ch.clone(), tx.clone());
        std::thread::spawn(move || {
            let t0 = Instant::now();
            let r = ch.unary_blocking(methods::KEEP_ALIVE, ping("stuck", &i.to_string()), Some(Duration::from_secs(2)));
            tx.send((r.map(|_| ()), t0.elapsed())).unwrap();
        });
    }
    std::thread::sleep(Duration::from_millis(300));
    // Another channel works meanwhile.
    let plain = plaintext_server();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let other = Channel::new(&config(&plain.target(), &empty, &[])).unwrap();
    // On a thread, so that a stalled runtime fails the test instead of hanging it.
    let (otx, orx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let r = other.unary_blocking(methods::KEEP_ALIVE, ping("other", "1"), Some(Duration::from_secs(5)));
        let _ = otx.send((r.map(|_| ()), t0.elapsed()));
    });
    let other_result = orx.recv_timeout(Duration::from_secs(10));
    // The stuck calls end at their deadline.
    let mut ended = Vec::new();
    for _ in 0..stuck.len() {
        ended.push(rx.recv_timeout(Duration::from_secs(10)));
    }
    // Release the readers (a writer opens each FIFO), so the test's process can end.
    for (dir, _) in &stuck {
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(dir.join("ca.crt")) {
            use std::io::Write;
            let _ = f.write_all(&read(&set.ca_cert));
        }
    }
    let (r, other_took) = other_result.expect("a call on another channel did not end: the runtime is stalled");
    r.unwrap_or_else(|e| panic!("a call on another channel failed while files blocked: {e}"));
    assert!(other_took < Duration::from_secs(5), "{other_took:?}");
    for e in ended {
        let (r, took) = e.expect("a call whose files block did not end at its deadline");
        assert_eq!(r.unwrap_err().status, swtls::Status::DeadlineExceeded);
        assert!(took < Duration::from_secs(4), "{took:?}");
    }
}
