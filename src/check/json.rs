//! The report of `swtls check` for scripts: one JSON object (its fields are in the README).

use super::report::{CertInfo, FileContent, Problem, Report, Step};
use std::fmt::Write as _;

impl Report {
    /// The report for scripts: one JSON object (see the README for its fields).
    pub fn json(&self) -> String {
        let problem = |p: &Option<Problem>| p.as_ref().map(problem_json).unwrap_or(Json::Null);
        let files = self
            .files
            .iter()
            .map(|f| {
                let mut o = vec![
                    ("role", Json::str(f.role)),
                    ("config_key", Json::str(f.config_key)),
                    ("path", Json::str(f.path.display().to_string())),
                    ("explicit", Json::Bool(f.explicit)),
                    ("found", Json::Bool(!matches!(f.content, FileContent::Missing))),
                    ("mode", f.mode.map(|m| Json::str(format!("{m:04o}"))).unwrap_or(Json::Null)),
                ];
                match &f.content {
                    FileContent::Missing => {}
                    FileContent::Unusable(why) => o.push(("unusable", Json::str(why))),
                    FileContent::Certificates(c) => {
                        o.push(("certificates", Json::Arr(c.iter().map(cert_json).collect())));
                    }
                    FileContent::Key(k) => o.push((
                        "key",
                        Json::obj(vec![
                            ("format", Json::str(&k.format)),
                            ("algorithm", Json::str(&k.algorithm)),
                            ("matches_certificate", k.matches_certificate.map(Json::Bool).unwrap_or(Json::Null)),
                            ("warnings", Json::strs(&k.warnings)),
                        ]),
                    )),
                }
                Json::obj(o)
            })
            .collect();
        let backends = self
            .backends
            .iter()
            .map(|b| {
                let handshake = match &b.handshake {
                    None => Json::Null,
                    Some(Step::Ok(h)) => Json::obj(vec![
                        ("ok", Json::Bool(true)),
                        ("tls_version", Json::str(&h.tls_version)),
                        ("cipher_suite", Json::str(&h.cipher_suite)),
                        ("alpn", h.alpn.as_ref().map(Json::str).unwrap_or(Json::Null)),
                        ("client_cert_requested", Json::Bool(h.client_cert_requested)),
                        ("client_cert_sent", Json::Bool(h.client_cert_sent)),
                        ("server_chain", Json::Arr(h.server_chain.iter().map(cert_json).collect())),
                    ]),
                    Some(s) => step_json(s, |_| vec![]),
                };
                Json::obj(vec![
                    ("backend", Json::str(&b.backend)),
                    ("server_name", Json::str(&b.server_name)),
                    ("ok", Json::Bool(b.problem.is_none())),
                    ("tcp", step_json(&b.tcp, |a| vec![("address", Json::str(a))])),
                    ("handshake", handshake),
                    ("keep_alive", step_json(&b.keep_alive, |d| vec![("ms", Json::Num(d.as_secs_f64() * 1e3))])),
                    ("problem", problem(&b.problem)),
                ])
            })
            .collect();
        Json::obj(vec![
            ("ok", Json::Bool(self.ok())),
            ("version", Json::str(&self.version)),
            (
                "settings",
                Json::Arr(
                    self.settings
                        .iter()
                        .map(|s| {
                            Json::obj(vec![
                                ("key", Json::str(&s.key)),
                                ("value", Json::str(&s.value)),
                                ("source", Json::str(&s.source)),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("config_problem", problem(&self.config_problem)),
            ("mode", self.mode.map(|m| Json::str(m.name())).unwrap_or(Json::Null)),
            ("reason", self.reason.as_ref().map(Json::str).unwrap_or(Json::Null)),
            ("plan_problem", problem(&self.plan_problem)),
            ("files", Json::Arr(files)),
            ("files_problem", problem(&self.files_problem)),
            ("backends", Json::Arr(backends)),
            ("warnings", Json::strs(&self.warnings())),
            ("problems", Json::Arr(self.problems().into_iter().map(problem_json).collect())),
        ])
        .to_string()
    }
}

fn problem_json(p: &Problem) -> Json {
    Json::obj(vec![
        ("scope", Json::str(&p.scope)),
        ("status", Json::str(p.status.name())),
        ("code", Json::Num(p.status as u32 as f64)),
        ("cause", Json::str(&p.cause)),
        ("fix", Json::str(&p.fix)),
    ])
}

fn step_json<T>(step: &Step<T>, ok: impl FnOnce(&T) -> Vec<(&'static str, Json)>) -> Json {
    match step {
        Step::Ok(v) => {
            let mut o = vec![("ok", Json::Bool(true))];
            o.extend(ok(v));
            Json::obj(o)
        }
        Step::Failed(e) => Json::obj(vec![
            ("ok", Json::Bool(false)),
            ("status", Json::str(e.status.name())),
            ("message", Json::str(&e.message)),
        ]),
        Step::Skipped(why) => Json::obj(vec![("ok", Json::Null), ("skipped", Json::str(why))]),
    }
}

fn cert_json(c: &CertInfo) -> Json {
    Json::obj(vec![
        ("version", Json::Num(c.version as f64)),
        ("subject", Json::str(&c.subject)),
        ("issuer", Json::str(&c.issuer)),
        ("subject_alt_names", Json::strs(&c.subject_alt_names)),
        ("not_before", Json::str(&c.not_before)),
        ("not_after", Json::str(&c.not_after)),
        ("validity", Json::str(&c.validity)),
        ("key", Json::str(&c.key)),
        ("is_ca", Json::Bool(c.is_ca)),
        ("self_issued", Json::Bool(c.self_issued)),
        ("extended_key_usage", Json::strs(&c.extended_key_usage)),
        ("legacy", Json::strs(&c.legacy)),
        ("warnings", Json::strs(&c.warnings)),
    ])
}

/// A JSON value, written by hand: the report is small and this keeps serde out of the tool.
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(&'static str, Json)>),
}

impl Json {
    fn str(s: impl AsRef<str>) -> Json {
        Json::Str(s.as_ref().to_string())
    }
    fn strs(v: &[String]) -> Json {
        Json::Arr(v.iter().map(Json::str).collect())
    }
    fn obj(fields: Vec<(&'static str, Json)>) -> Json {
        Json::Obj(fields)
    }

    fn write(&self, out: &mut String, depth: usize) {
        let pad = |out: &mut String, d: usize| {
            out.push('\n');
            out.push_str(&" ".repeat(2 * d));
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e15 => {
                let _ = write!(out, "{}", *n as i64);
            }
            Json::Num(n) if n.is_finite() => {
                let _ = write!(out, "{n:.3}");
            }
            Json::Num(_) => out.push_str("null"),
            Json::Str(s) => write_json_string(out, s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    pad(out, depth + 1);
                    item.write(out, depth + 1);
                }
                pad(out, depth);
                out.push(']');
            }
            Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    pad(out, depth + 1);
                    write_json_string(out, k);
                    out.push_str(": ");
                    v.write(out, depth + 1);
                }
                pad(out, depth);
                out.push('}');
            }
        }
    }
}

impl std::fmt::Display for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        f.write_str(&out)
    }
}

fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        let mut out = String::new();
        write_json_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\u0001é\"");
        let v = Json::obj(vec![("x", Json::Arr(vec![Json::Num(1.0), Json::Num(0.25), Json::Null]))]);
        assert_eq!(v.to_string(), "{\n  \"x\": [\n    1,\n    0.250,\n    null\n  ]\n}\n");
    }
}
