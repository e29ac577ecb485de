//! bindings/java/.../StatusCodes.java: the status codes for the Java binding.

use crate::header::Header;
use crate::python::member_prefix;
use std::fmt::Write;

/// A doc comment line as Javadoc: HTML escaped, `code` as {@code code}.
fn javadoc(line: &str) -> String {
    let escaped = line.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace("*/", "*&#47;");
    let mut out = String::new();
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "{{@code {part}}}");
        } else {
            out.push_str(part);
        }
    }
    out
}

fn doc_comment(out: &mut String, indent: &str, doc: &[String]) {
    match doc {
        [] => {}
        [one] => {
            let _ = writeln!(out, "{indent}/** {} */", javadoc(one));
        }
        lines => {
            let _ = writeln!(out, "{indent}/**");
            for l in lines {
                let _ = writeln!(out, "{indent} *{}{}", if l.is_empty() { "" } else { " " }, javadoc(l));
            }
            let _ = writeln!(out, "{indent} */");
        }
    }
}

pub fn status_codes(h: &Header, source: &str) -> String {
    let status = h.enum_named("swtls_status");
    let prefix = member_prefix(&status.name);
    let mut out = String::new();
    let _ = write!(
        out,
        "// Generated from {source} by tests/abi (`make abi`); `cargo test --test abi` fails when it is\n\
         // stale. Do not edit.\n\
         package org.apache.skywalking.swtls;\n\n\
         /**\n * The status codes of the C API ({{@code enum {}}}), which {{@link SwtlsException}} carries and\n \
         * makes public. Success ({{@code {prefix}OK}}) is left out: no exception carries it.\n */\n\
         interface StatusCodes {{\n",
        status.name
    );
    let mut first = true;
    for m in status.members.iter().filter(|m| m.value != 0) {
        if !first {
            out.push('\n');
        }
        first = false;
        doc_comment(&mut out, "    ", &m.doc);
        let name = m.name.strip_prefix(&prefix).expect("the enum's prefix");
        let _ = writeln!(out, "    int {name} = {};", m.value);
    }
    out.push_str("}\n");
    out
}
