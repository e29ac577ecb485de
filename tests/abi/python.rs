//! bindings/python/src/swtls/_abi.py: the header for ctypes.

use crate::header::{CType, Function, Header};
use std::collections::BTreeSet;
use std::fmt::Write;

/// The Python class of a C enum: `swtls_tls_mode` is `TlsMode`.
pub fn class_name(c_name: &str) -> String {
    let rest = c_name.strip_prefix("swtls_").unwrap_or(c_name);
    rest.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect()
}

/// The member prefix cbindgen gives the enumerators of `c_name`: `SWTLS_TLS_MODE_`.
pub fn member_prefix(c_name: &str) -> String {
    format!("{}_", c_name.to_uppercase())
}

/// Doc comment lines as `#:`/`#` comments (``code`` for the header's `code`).
fn comments(out: &mut String, indent: &str, marker: &str, doc: &[String]) {
    for line in doc {
        let line = rst(line);
        let sep = if line.is_empty() { "" } else { " " };
        let _ = writeln!(out, "{indent}{marker}{sep}{line}");
    }
}

fn rst(line: &str) -> String {
    line.replace('`', "``").replace('\\', "\\\\")
}

fn docstring(out: &mut String, indent: &str, doc: &[String], c_decl: &str) {
    let _ = write!(out, "{indent}\"\"\"");
    for (i, line) in doc.iter().enumerate() {
        let line = rst(line).replace("\"\"\"", "\\\"\\\"\\\"");
        match (i, line.is_empty()) {
            (0, _) => out.push_str(&line),
            (_, true) => out.push('\n'),
            (_, false) => {
                let _ = write!(out, "\n{indent}{line}");
            }
        }
    }
    let _ = write!(out, "\n\n{indent}``{c_decl}``.\n{indent}\"\"\"\n");
}

/// The ctypes type of a C type. `callback` selects the types of a callback's parameters:
/// there a `const char *` stays a pointer (`POINTER(c_char)`), since ctypes would turn a
/// `c_char_p` into bytes up to the first NUL and the header passes the length.
fn ctypes(h: &Header, t: &CType, callback: bool, used: &mut BTreeSet<&'static str>) -> String {
    let mut base = |name: &'static str| {
        used.insert(name);
        name.to_string()
    };
    let scalar = match t.base.as_str() {
        "void" => None,
        "bool" => Some(base("c_bool")),
        "char" => Some(base("c_char")),
        "uint8_t" => Some(base("c_uint8")),
        "uint32_t" => Some(base("c_uint32")),
        "uint64_t" => Some(base("c_uint64")),
        "size_t" => Some(base("c_size_t")),
        "int" => Some(base("c_int")),
        b if b.starts_with("enum ") => Some(base("c_int")),
        b if h.callbacks.iter().any(|c| c.name == b) => Some(b.to_string()),
        b if b.starts_with("struct ") => {
            let name = &b["struct ".len()..];
            if h.opaques.iter().any(|o| o == name) {
                // A handle: a pointer the library owns.
                let mut t = t.clone();
                t.base = "void".to_string();
                return ctypes(h, &t, callback, used);
            }
            assert!(h.structs.iter().any(|s| s.name == name), "unknown struct {name}");
            Some(name.to_string())
        }
        b => panic!("no ctypes type for the C type {b}"),
    };
    match (scalar, t.pointers) {
        (None, 0) => "None".to_string(),
        (None, n) => pointer(base("c_void_p"), n - 1, used),
        (Some(s), 0) => s,
        // `const char *` and `const uint8_t *` (bytes into the library) take Python bytes.
        (Some(s), 1) if t.is_const && !callback && (s == "c_char" || s == "c_uint8") => base("c_char_p"),
        (Some(s), n) => pointer(s, n, used),
    }
}

fn pointer(mut s: String, n: usize, used: &mut BTreeSet<&'static str>) -> String {
    for _ in 0..n {
        used.insert("POINTER");
        s = format!("POINTER({s})");
    }
    s
}

fn signature(h: &Header, f: &Function, callback: bool, used: &mut BTreeSet<&'static str>) -> (String, Vec<String>) {
    let ret = ctypes(h, &f.ret, callback, used);
    let params = f.params.iter().map(|p| ctypes(h, &p.ty, callback, used)).collect();
    (ret, params)
}

/// The longest line the generator writes on one line.
const WIDTH: usize = 110;

pub fn generate(h: &Header, source: &str) -> String {
    let mut used = BTreeSet::new();
    let mut body = String::new();

    body.push_str("\n# --- Constants (#define)\n\n");
    for c in &h.consts {
        comments(&mut body, "", "#:", &c.doc);
        let _ = writeln!(body, "{} = {}\n", c.name, c.value);
    }

    body.push_str("\n# --- Enums\n");
    for e in &h.enums {
        let _ = write!(body, "\n\nclass {}(enum.IntEnum):\n", class_name(&e.name));
        docstring(&mut body, "    ", &e.doc, &format!("enum {}", e.name));
        let prefix = member_prefix(&e.name);
        for m in &e.members {
            body.push('\n');
            comments(&mut body, "    ", "#:", &m.doc);
            let name = m.name.strip_prefix(&prefix).unwrap_or_else(|| panic!("{} lacks the prefix {prefix}", m.name));
            let _ = writeln!(body, "    {name} = {}", m.value);
        }
    }

    body.push_str("\n\n# --- Structures\n");
    for s in &h.structs {
        used.insert("Structure");
        let _ = write!(body, "\n\nclass {}(Structure):\n", s.name);
        docstring(&mut body, "    ", &s.doc, &format!("struct {}", s.name));
        body.push_str("\n    _fields_ = [\n");
        for f in &s.fields {
            comments(&mut body, "        ", "#", &f.doc);
            let mut ty = ctypes(h, &f.ty, false, &mut used);
            if let Some((len, _)) = &f.array {
                ty = format!("{ty} * {len}");
            }
            let _ = writeln!(body, "        (\"{}\", {ty}),", f.name);
        }
        body.push_str("    ]\n");
    }

    body.push_str("\n\n# --- Callbacks\n");
    for c in &h.callbacks {
        used.insert("CFUNCTYPE");
        body.push('\n');
        comments(&mut body, "", "#:", &c.doc);
        let (ret, params) = signature(h, c, true, &mut used);
        let _ = writeln!(body, "{} = CFUNCTYPE({ret}, {})", c.name, params.join(", "));
    }

    body.push_str("\n\n# --- Functions\n\n");
    body.push_str("#: Every function of the header, in its order: name -> (result type, argument types).\n");
    body.push_str("FUNCTIONS = {\n");
    for f in &h.functions {
        let names: Vec<_> = f.params.iter().map(|p| p.name.as_str()).collect();
        let _ = writeln!(body, "    # ({}) -> {}", names.join(", "), f.ret);
        let (ret, params) = signature(h, f, false, &mut used);
        let line = format!("    \"{}\": ({ret}, [{}]),", f.name, params.join(", "));
        if line.len() <= WIDTH {
            let _ = writeln!(body, "{line}");
        } else {
            let _ = writeln!(body, "    \"{}\": (\n        {ret},\n        [", f.name);
            for p in params {
                let _ = writeln!(body, "            {p},");
            }
            body.push_str("        ],\n    ),\n");
        }
    }
    body.push_str("}\n");

    let mut out = String::new();
    let _ = write!(
        out,
        "\"\"\"The C API of {source} for ctypes: its constants, enums, structures, callback types and\n\
         function signatures.\n\n\
         Generated from {source} by tests/abi (``make abi``); ``cargo test --test abi`` fails when it\n\
         is stale. Do not edit.\n\"\"\"\n\n\
         import enum\n"
    );
    out.push_str("from ctypes import (\n");
    for name in used {
        let _ = writeln!(out, "    {name},");
    }
    out.push_str(")\n\n");
    out.push_str(&body);
    out
}
