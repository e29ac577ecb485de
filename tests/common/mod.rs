//! Helpers shared by the integration tests: certificate folders generated per test, the
//! embedded collector on loopback, and configurations pointing at it.
#![allow(dead_code)]

pub mod forge;

use std::path::{Path, PathBuf};
use swtls::{Config, Status};
use swtls_collector::certs::CertSet;
use swtls_collector::{BlockingCollector, CollectorOptions};

#[allow(unused_imports)]
pub use swtls_collector::methods;

pub const LOCAL_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// A temporary folder with a fresh CA, server and client certificate set.
pub struct Certs {
    pub tmp: tempfile::TempDir,
    pub set: CertSet,
}

impl Certs {
    pub fn new() -> Certs {
        Certs::with_names(LOCAL_NAMES)
    }
    pub fn with_names(names: &[&str]) -> Certs {
        let tmp = tempfile::tempdir().unwrap();
        let set = CertSet::generate(&tmp.path().join("set"), names).unwrap();
        Certs { tmp, set }
    }
    /// A new agent `ca/` folder holding copies of the named files of the set
    /// (`ca.crt`, `client.crt`, `client.pem`).
    pub fn agent_dir(&self, name: &str, files: &[&str]) -> PathBuf {
        let dir = self.tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for f in files {
            std::fs::copy(self.set.dir.join(f), dir.join(f)).unwrap();
        }
        dir
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }
}

pub fn mtls_server(certs: &Certs) -> BlockingCollector {
    BlockingCollector::start(CollectorOptions::from_cert_set(&certs.set, true)).unwrap()
}

pub fn tls_server(certs: &Certs) -> BlockingCollector {
    BlockingCollector::start(CollectorOptions::from_cert_set(&certs.set, false)).unwrap()
}

pub fn plaintext_server() -> BlockingCollector {
    BlockingCollector::start(CollectorOptions::plaintext()).unwrap()
}

/// A configuration for `backend` with the agent folder `ca_dir` and extra keys.
pub fn config(backend: &str, ca_dir: &Path, extra: &[(&str, &str)]) -> Config {
    let mut c = Config::default();
    c.set("collector.backend_service", backend).unwrap();
    c.set("agent.ca_dir", ca_dir.to_str().unwrap()).unwrap();
    for (k, v) in extra {
        c.set(k, v).unwrap();
    }
    c
}

/// The protobuf InstancePingPkg the keepalive example sends.
pub fn ping(service: &str, instance: &str) -> bytes::Bytes {
    swtls_collector::proto::encode_ping(service, instance, "").into()
}

/// Asserts an error's status and that its message contains every fragment.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(r: swtls::Result<T>, status: Status, fragments: &[&str]) -> swtls::Error {
    let e = r.expect_err("expected an error");
    assert_eq!(e.status, status, "unexpected status; message: {}", e.message);
    for f in fragments {
        assert!(e.message.contains(f), "message lacks '{f}': {}", e.message);
    }
    e
}

/// Captures the library's log messages (of `max` and more severe) for the rest of the
/// test. Tests that capture are serialized by the returned guard, since the sink is
/// process-wide; messages from other tests running at the same time may appear too, so
/// look for text specific to the test.
pub struct Logs {
    pub lines: std::sync::Arc<std::sync::Mutex<Vec<(swtls::LogLevel, String)>>>,
    _guard: std::sync::MutexGuard<'static, ()>,
}

impl Logs {
    pub fn matching(&self, fragment: &str) -> Vec<String> {
        self.lines.lock().unwrap().iter().filter(|(_, m)| m.contains(fragment)).map(|(_, m)| m.clone()).collect()
    }
}

pub fn capture_logs(max: swtls::LogLevel) -> Logs {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = lines.clone();
    swtls::set_rust_sink(
        std::sync::Arc::new(move |level, msg: &str| sink.lock().unwrap().push((level, msg.to_string()))),
        max,
    );
    Logs { lines, _guard: guard }
}

/// Compiles `tests/c/NAME.c` (with `include/` and `examples/c/` on the include path) against
/// the release library that `make examples` builds; returns the executable.
pub fn build_c_test(name: &str) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = root.join("target/release");
    assert!(lib.join("libswtls.so").exists(), "target/release/libswtls.so is missing: run `make examples` first");
    let out_dir = root.join("target/c-tests");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let built = std::process::Command::new(&cc)
        .args(["-O1", "-g", "-Wall", "-Wextra", "-Werror", "-std=c11", "-pthread"])
        .arg(format!("-I{}", root.join("include").display()))
        .arg(format!("-I{}", root.join("examples/c").display()))
        .arg("-o")
        .arg(&exe)
        .arg(root.join(format!("tests/c/{name}.c")))
        .arg(format!("-L{}", lib.display()))
        .arg("-lswtls")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .output()
        .unwrap();
    assert!(built.status.success(), "{cc} failed: {}", String::from_utf8_lossy(&built.stderr));
    exe
}
