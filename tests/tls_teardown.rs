//! No panic crosses the C boundary even while a thread exits: `tests/c/tls_teardown.c`
//! (compiled here against `target/release/libswtls.so`, which `make examples` builds) calls
//! the library from a pthread key destructor, after the library's thread-local storage on
//! that thread was destroyed, and checks every call still returns its status.

mod common;
use std::process::Command;

#[test]
fn failing_calls_from_a_pthread_key_destructor_return_their_status() {
    let exe = common::build_c_test("tls_teardown");

    let out = Command::new(&exe).env_clear().output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    assert!(stdout.contains("tls_teardown: OK"), "{stdout}");
    // The calls really ran after the thread's storage was gone: the last error could not
    // be kept, and swtls_last_error() says so with its static text.
    assert!(
        stdout.contains("last error in the destructor: swtls_last_error: not available"),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
}
