//! Records the rustls version resolved in Cargo.lock, for `swtls_version()`.

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut version = "unknown".to_string();
    let mut in_rustls = false;
    for line in lock.lines() {
        if line.starts_with("name = ") {
            in_rustls = line == "name = \"rustls\"";
        } else if in_rustls && line.starts_with("version = ") {
            version = line.trim_start_matches("version = ").trim_matches('"').to_string();
            break;
        }
    }
    println!("cargo:rustc-env=SWTLS_RUSTLS_VERSION={version}");
}
