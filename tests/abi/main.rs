//! The bindings' view of the C API is generated from include/swtls.h, not copied:
//! - bindings/python/src/swtls/_abi.py: the constants, the enums (the status codes among
//!   them), the structures, the callback types and every function's ctypes signature;
//! - bindings/java/.../StatusCodes.java: the status codes.
//!
//! The generated files are committed (a source checkout, the sdist and the Java build need
//! no generator), and this test fails when one differs from what the header gives. Regenerate
//! with `make abi` (SWTLS_UPDATE_ABI=1 cargo test --test abi); `make header` does it too.
//!
//! The generator is this test, in Rust with no dependency: cbindgen writes a small regular
//! subset of C ([`header`]), which a few hundred lines read completely, and a test under
//! tests/ runs with every `cargo test`, so staleness is caught where the header's is.
//! The Go binding needs none of it: cgo reads the header itself.

mod header;
mod java;
mod python;

use header::Header;

const HEADER: &str = "include/swtls.h";
const PYTHON: &str = "bindings/python/src/swtls/_abi.py";
const JAVA: &str = "bindings/java/src/main/java/org/apache/skywalking/swtls/StatusCodes.java";

fn path(relative: &str) -> String {
    format!("{}/{relative}", env!("CARGO_MANIFEST_DIR"))
}

fn header() -> Header {
    Header::parse(&std::fs::read_to_string(path(HEADER)).expect("read include/swtls.h"))
}

/// Compares `generated` with the committed file, or writes it with SWTLS_UPDATE_ABI set.
fn check(relative: &str, generated: &str) {
    let file = path(relative);
    if std::env::var_os("SWTLS_UPDATE_ABI").is_some() {
        std::fs::write(&file, generated).unwrap_or_else(|e| panic!("write {relative}: {e}"));
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(committed == generated, "{relative} is stale: run `make abi` and commit the result");
}

#[test]
fn python_declarations_are_fresh() {
    check(PYTHON, &python::generate(&header(), HEADER));
}

#[test]
fn java_status_codes_are_fresh() {
    check(JAVA, &java::status_codes(&header(), HEADER));
}

/// The reader understood the whole header: every function and enumerator it declares.
#[test]
fn the_reader_sees_the_whole_header() {
    let text = std::fs::read_to_string(path(HEADER)).unwrap();
    let h = header();
    // A prototype starts unindented with its lowercase result type.
    let prototypes = text
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()) && !l.starts_with("typedef") && l.contains('('))
        .count();
    assert_eq!(h.functions.len(), prototypes, "functions read");
    let enumerators = text.lines().filter(|l| l.trim_start().starts_with("SWTLS_") && l.contains(" = ")).count();
    assert_eq!(h.enums.iter().map(|e| e.members.len()).sum::<usize>(), enumerators, "enumerators read");
    let status = h.enum_named("swtls_status");
    assert_eq!(status.members.len(), swtls::Status::ALL.len());
    for s in swtls::Status::ALL {
        assert!(status.members.iter().any(|m| m.value == s as i64 && m.name == format!("SWTLS_STATUS_{}", s.name())));
    }
    let stats = h.structs.iter().find(|s| s.name == "swtls_stats").expect("struct swtls_stats");
    assert_eq!(stats.fields.last().map(|f| f.array.clone()), Some(Some(("SWTLS_STATS_BACKEND_SIZE".into(), 264))));
}
