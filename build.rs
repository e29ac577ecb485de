//! Records the rustls version resolved in Cargo.lock, for `swtls_version()`, and on Linux
//! gives the shared library its versioned soname (`libswtls.so.<major>`, see `make install`).

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

    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        soname();
    }
}

/// DT_SONAME `libswtls.so.<major>`: programs linked with `-lswtls` then record that name and
/// keep working across compatible updates of an installed library (`make install` puts
/// `libswtls.so.<version>` and the symlinks `libswtls.so.<major>` and `libswtls.so` in
/// place).
///
/// Programs linked in the tree against `target/<profile>/libswtls.so` (the C examples and
/// test programs, the Go binding) then look for `libswtls.so.<major>` next to it, so this
/// also puts a symlink `libswtls.so.<major>` -> `libswtls.so` into the profile directory,
/// three levels above OUT_DIR (`target/[<triple>/]<profile>/build/<package>-<hash>/out`).
/// The link may dangle until the library is linked, right after this script. Writing
/// outside OUT_DIR is by hand on purpose: cargo has no way to produce extra names of an
/// artifact.
fn soname() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    let soname = format!("libswtls.so.{major}");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");

    #[cfg(unix)] // the build host; the target is Linux
    {
        let Some(out_dir) = std::env::var_os("OUT_DIR").map(std::path::PathBuf::from) else { return };
        let Some(profile_dir) = out_dir.ancestors().nth(3) else { return };
        let link = profile_dir.join(&soname);
        // Kept when there already: a symlink from an earlier build, or a file someone put there.
        if std::fs::symlink_metadata(&link).is_err() {
            if let Err(e) = std::os::unix::fs::symlink("libswtls.so", &link) {
                println!("cargo:warning=could not create {}: {e}", link.display());
            }
        }
    }
}
