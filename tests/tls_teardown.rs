//! No panic crosses the C boundary even while a thread exits: `tests/c/tls_teardown.c`
//! (compiled here against `target/release/libswtls.so`, which `make examples` builds) calls
//! the library from a pthread key destructor, after the library's thread-local storage on
//! that thread was destroyed, and checks every call still returns its status.

use std::path::Path;
use std::process::Command;

#[test]
fn failing_calls_from_a_pthread_key_destructor_return_their_status() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = root.join("target/release");
    assert!(lib.join("libswtls.so").exists(), "target/release/libswtls.so is missing: run `make examples` first");
    let out_dir = root.join("target/c-tests");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join("tls_teardown");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let built = Command::new(&cc)
        .args(["-O1", "-g", "-Wall", "-Wextra", "-Werror", "-std=c11", "-pthread"])
        .arg(format!("-I{}", root.join("include").display()))
        .arg("-o")
        .arg(&exe)
        .arg(root.join("tests/c/tls_teardown.c"))
        .arg(format!("-L{}", lib.display()))
        .arg("-lswtls")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .output()
        .unwrap();
    assert!(built.status.success(), "{cc} failed: {}", String::from_utf8_lossy(&built.stderr));

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
