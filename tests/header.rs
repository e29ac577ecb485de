//! The committed C header must be exactly what cbindgen generates from the sources.
//! Regenerate with `make header` (SWTLS_UPDATE_HEADER=1 cargo test --test header).

#[test]
fn committed_header_is_fresh() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::generate_with_config(dir, config).expect("cbindgen failed");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = format!("{dir}/include/swtls.h");
    if std::env::var_os("SWTLS_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write header");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(committed == generated, "include/swtls.h is stale: run `make header` and commit the result");
}
