//! Fork safety, tested from C as pre-forking servers use the library: `tests/c/fork.c`
//! (compiled here against `target/release/libswtls.so`, which `make examples` builds)
//! reports through one channel before and across a `fork()`, in the parent and the child.

mod common;
use common::*;
use std::collections::HashMap;
use std::process::Command;

#[test]
fn a_channel_keeps_working_in_a_forked_child_and_the_parent_is_unaffected() {
    let exe = build_c_test("fork");

    let certs = Certs::new();
    let server = mtls_server(&certs);
    let count = 200;
    let out = Command::new(&exe)
        .arg(count.to_string())
        .env_clear()
        .env("SW_AGENT_COLLECTOR_BACKEND_SERVICES", server.target())
        .env("SWTLS_CA_DIR", &certs.set.dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    assert!(stdout.contains("child: ok") && stdout.contains("parent: ok, child: ok"), "{stdout}");
    assert!(stdout.contains("tls_mode=mutual-tls"), "{stdout}");

    // The collector saw every message of both processes, each once.
    let mut ids: HashMap<String, usize> = HashMap::new();
    for s in server.received().segments {
        *ids.entry(s.segment_id).or_insert(0) += 1;
    }
    for prefix in ["parent-before", "parent-bg", "child", "parent-after"] {
        for i in 0..count {
            let id = format!("{prefix}-{i}");
            assert_eq!(ids.get(&id), Some(&1), "{id}: {:?} times", ids.get(&id));
        }
    }
    assert_eq!(ids.len(), 4 * count);
    // The child made its own connection (the parent's is not shared across the fork).
    assert!(server.received().tls_handshakes_ok >= 2, "{:?}", server.received().tls_handshakes_ok);
}

/// Issue 11, item 1: a fork while a library thread is inside a slow log callback right
/// after a CA rotation. The child's call keeps its deadline and it can replace the callback.
#[test]
fn a_fork_during_a_slow_log_callback_after_rotation_does_not_block_the_child() {
    let exe = build_c_test("fork_log");
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let out = Command::new(&exe)
        .env_clear()
        .env("SW_AGENT_COLLECTOR_BACKEND_SERVICES", server.target())
        .env("SWTLS_CA_DIR", &dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    assert!(stdout.contains("child: keepAlive OK") && stdout.contains("parent: ok, child: ok"), "{stdout}");
    // Both processes' keepAlives arrived.
    assert_eq!(server.received().pings.len(), 2);
}
