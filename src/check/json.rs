//! The report of `swtls check` for scripts: one JSON object (its fields are in the README),
//! built as a `serde_json` value (the `cli` feature's dependency, never in the library)
//! whose keys keep the order written here.

use super::report::{CertInfo, FileContent, Problem, Report, Step};
use serde_json::{json, Value};

impl Report {
    /// The report for scripts: one JSON object (see the README for its fields).
    pub fn json(&self) -> String {
        let problem = |p: &Option<Problem>| p.as_ref().map(problem_json);
        let value = json!({
            "ok": self.ok(),
            "version": self.version,
            "settings": self.settings.iter().map(|s| json!({
                "key": s.key,
                "value": s.value,
                "source": s.source,
            })).collect::<Vec<_>>(),
            "config_problem": problem(&self.config_problem),
            "mode": self.mode.map(|m| m.name()),
            "reason": self.reason,
            "plan_problem": problem(&self.plan_problem),
            "files": self.files.iter().map(|f| {
                let mut o = json!({
                    "role": f.role,
                    "config_key": f.config_key,
                    "path": f.path.display().to_string(),
                    "explicit": f.explicit,
                    "found": !matches!(f.content, FileContent::Missing),
                    "mode": f.mode.map(|m| format!("{m:04o}")),
                });
                match &f.content {
                    FileContent::Missing => {}
                    FileContent::Unusable(why) => o["unusable"] = json!(why),
                    FileContent::Certificates(c) => o["certificates"] = c.iter().map(cert_json).collect(),
                    FileContent::Key(k) => {
                        o["key"] = json!({
                            "format": k.format,
                            "algorithm": k.algorithm,
                            "matches_certificate": k.matches_certificate,
                            "warnings": k.warnings,
                        })
                    }
                }
                o
            }).collect::<Vec<_>>(),
            "files_problem": problem(&self.files_problem),
            "backends": self.backends.iter().map(|b| json!({
                "backend": b.backend,
                "server_name": b.server_name,
                "ok": b.problem.is_none(),
                "tcp": step_json(&b.tcp, |a| json!({ "address": a })),
                "handshake": b.handshake.as_ref().map(|h| step_json(h, |h| json!({
                    "tls_version": h.tls_version,
                    "cipher_suite": h.cipher_suite,
                    "alpn": h.alpn,
                    "client_cert_requested": h.client_cert_requested,
                    "client_cert_sent": h.client_cert_sent,
                    "server_chain": h.server_chain.iter().map(cert_json).collect::<Vec<_>>(),
                }))),
                // Milliseconds, to the microsecond.
                "keep_alive": step_json(&b.keep_alive, |d| json!({ "ms": (d.as_secs_f64() * 1e6).round() / 1e3 })),
                "problem": problem(&b.problem),
            })).collect::<Vec<_>>(),
            "warnings": self.warnings(),
            "problems": self.problems().into_iter().map(problem_json).collect::<Vec<_>>(),
        });
        let mut out = serde_json::to_string_pretty(&value).expect("a JSON value always serializes");
        out.push('\n');
        out
    }
}

fn problem_json(p: &Problem) -> Value {
    json!({
        "scope": p.scope,
        "status": p.status.name(),
        "code": p.status as u32,
        "cause": p.cause,
        "fix": p.fix,
    })
}

/// `{"ok": true, ...the step's own fields}`, `{"ok": false, "status", "message"}`, or
/// `{"ok": null, "skipped": why}`.
fn step_json<T>(step: &Step<T>, ok: impl FnOnce(&T) -> Value) -> Value {
    match step {
        Step::Ok(v) => {
            let mut o = json!({ "ok": true });
            if let (Some(o), Value::Object(fields)) = (o.as_object_mut(), ok(v)) {
                o.extend(fields);
            }
            o
        }
        Step::Failed(e) => json!({ "ok": false, "status": e.status.name(), "message": e.message }),
        Step::Skipped(why) => json!({ "ok": null, "skipped": why }),
    }
}

fn cert_json(c: &CertInfo) -> Value {
    json!({
        "version": c.version,
        "subject": c.subject,
        "issuer": c.issuer,
        "subject_alt_names": c.subject_alt_names,
        "not_before": c.not_before,
        "not_after": c.not_after,
        "validity": c.validity,
        "key": c.key,
        "is_ca": c.is_ca,
        "self_issued": c.self_issued,
        "extended_key_usage": c.extended_key_usage,
        "legacy": c.legacy,
        "warnings": c.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::super::report::BackendReport;
    use super::*;
    use crate::error::{Error, Status};
    use std::time::Duration;

    #[test]
    fn strings_round_trip_and_keys_keep_their_order() {
        let odd = "a\"b\\c\nd\u{1}\u{7f}é";
        let problem =
            Problem { scope: "backend x".into(), status: Status::NotFound, cause: odd.into(), fix: "f".into() };
        let report = Report {
            version: odd.into(),
            backends: vec![BackendReport {
                backend: "x".into(),
                server_name: "x".into(),
                tcp: Step::Ok("127.0.0.1:1".into()),
                handshake: Some(Step::Failed(Error::new(Status::NotFound, odd))),
                keep_alive: Step::Ok(Duration::from_micros(250_400)),
                problem: Some(problem),
            }],
            ..Report::default()
        };
        let text = report.json();
        assert!(text.starts_with("{\n  \"ok\": false,\n  \"version\": ") && text.ends_with("}\n"), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["version"], odd);
        assert_eq!(v["problems"][0]["cause"], odd);
        assert_eq!(v["problems"][0]["code"], Status::NotFound as u32);
        assert_eq!(v["backends"][0]["handshake"], json!({ "ok": false, "status": "NOT_FOUND", "message": odd }));
        assert_eq!(v["backends"][0]["keep_alive"], json!({ "ok": true, "ms": 250.4 }));
        assert_eq!(v["settings"], json!([]));
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys[..3], ["ok", "version", "settings"]);
        assert_eq!(keys.last(), Some(&"problems"));
    }
}
