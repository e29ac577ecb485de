//! The error catalogue (docs/errors.md) covers every status code of the C header, with
//! its number, and every code the library defines.

use swtls::Status;

fn read(path: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `(number, name)` of every `SWTLS_STATUS_*` enumerator in the header.
fn header_codes() -> Vec<(u32, String)> {
    let header = read("include/swtls.h");
    let codes: Vec<(u32, String)> = header
        .lines()
        .filter_map(|l| {
            let l = l.trim().trim_end_matches(',');
            let (name, value) = l.split_once(" = ")?;
            let name = name.strip_prefix("SWTLS_STATUS_")?;
            Some((value.trim().parse().ok()?, name.to_string()))
        })
        .collect();
    assert!(codes.len() >= 40, "the header should define every status code: {codes:?}");
    codes
}

#[test]
fn every_status_code_of_the_header_has_a_section_in_the_catalogue() {
    let doc = read("docs/errors.md");
    let mut missing = Vec::new();
    for (number, name) in header_codes() {
        let heading = format!("## {number} `SWTLS_STATUS_{name}`");
        // Top-level (## 0) and grouped (### 14) headings both count.
        if !doc.lines().any(|l| l.trim_start_matches('#').trim() == heading.trim_start_matches("## ")) {
            missing.push(heading);
        }
    }
    assert!(missing.is_empty(), "docs/errors.md lacks: {missing:#?}");
}

#[test]
fn the_header_and_the_library_agree_on_every_code() {
    let header = header_codes();
    assert_eq!(header.len(), Status::ALL.len());
    for s in Status::ALL {
        assert!(
            header.contains(&(s as u32, s.name().to_string())),
            "{} ({}) missing from the header",
            s.name(),
            s as u32
        );
    }
}
