//! The report of `swtls check` for people.

use super::report::{CertInfo, FileContent, Problem, Report, Step};
use super::runner::CHECK_NAME;
use std::fmt::Write as _;

fn role_title(role: &str) -> &'static str {
    match role {
        "ca" => "CA certificates",
        "client_cert" => "client certificate",
        _ => "client key",
    }
}

fn write_cert(out: &mut String, indent: &str, title: &str, c: &CertInfo) {
    let _ = writeln!(out, "{indent}{title}");
    let i = format!("{indent}  ");
    let _ = writeln!(out, "{i}subject:   {}", c.subject);
    if c.version == 0 {
        return;
    }
    let _ = writeln!(out, "{i}issuer:    {}{}", c.issuer, if c.self_issued { " (self-issued)" } else { "" });
    let names =
        if c.subject_alt_names.is_empty() { "(no subjectAltName)".to_string() } else { c.subject_alt_names.join(", ") };
    let _ = writeln!(out, "{i}names:     {names}");
    let _ = writeln!(out, "{i}validity:  {} to {} ({})", c.not_before, c.not_after, c.validity);
    let mut kind = vec![c.key.clone(), format!("X.509 v{}", c.version)];
    if c.is_ca {
        kind.push("CA".into());
    }
    if !c.extended_key_usage.is_empty() {
        kind.push(format!("usage {}", c.extended_key_usage.join(", ")));
    }
    let _ = writeln!(out, "{i}key:       {}", kind.join("; "));
    for l in &c.legacy {
        let _ = writeln!(out, "{i}legacy:    {l}");
    }
    for w in &c.warnings {
        let _ = writeln!(out, "{i}warning:   {w}");
    }
}

fn write_problem(out: &mut String, indent: &str, p: &Problem) {
    let _ = writeln!(out, "{indent}cause: {}", p.cause);
    let _ = writeln!(out, "{indent}fix:   {}", p.fix);
}

/// One step; a failure that is the backend's problem (printed below) gets its name only.
fn step_line<T>(
    out: &mut String,
    name: &str,
    step: &Step<T>,
    ok_text: impl FnOnce(&T) -> String,
    verdict: Option<&Problem>,
) {
    match step {
        Step::Ok(v) => {
            let _ = writeln!(out, "  {name:<10} OK    {}", ok_text(v));
        }
        Step::Failed(e) if verdict.is_some_and(|p| p.status == e.status && p.cause == e.message) => {
            let _ = writeln!(out, "  {name:<10} FAIL  {} (cause and fix below)", e.status.name());
        }
        Step::Failed(e) => {
            let _ = writeln!(out, "  {name:<10} FAIL  {}: {}", e.status.name(), e.message);
        }
        Step::Skipped(why) => {
            let _ = writeln!(out, "  {name:<10} -     {why}");
        }
    }
}

impl Report {
    /// The report for people.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "swtls check ({})", self.version);

        let _ = writeln!(out, "\nConfiguration");
        for s in &self.settings {
            let _ = writeln!(out, "  {} = {}   (from {})", s.key, s.value, s.source);
        }
        let _ = writeln!(
            out,
            "  {}",
            if self.settings.is_empty() { "every key has its default" } else { "every other key has its default" }
        );
        if let Some(p) = &self.config_problem {
            let _ = writeln!(out, "  FAIL  {}", p.status.name());
            write_problem(&mut out, "    ", p);
        }

        if self.config_problem.is_none() {
            let _ = writeln!(out, "\nTLS mode");
            match (&self.mode, &self.plan_problem) {
                (Some(m), _) => {
                    let _ = writeln!(out, "  {}", m.name());
                    if let Some(r) = &self.reason {
                        let _ = writeln!(out, "  why: {r}");
                    }
                }
                (None, Some(p)) => {
                    let _ = writeln!(out, "  FAIL  {}: no mode can be chosen", p.status.name());
                    write_problem(&mut out, "    ", p);
                }
                _ => {}
            }

            let _ = writeln!(out, "\nFiles");
            for f in &self.files {
                let origin = if f.explicit { "set explicitly" } else { "default in the ca folder" };
                let _ = writeln!(out, "  {} ({}, {origin}): {}", role_title(f.role), f.config_key, f.path.display());
                match &f.content {
                    FileContent::Missing => {
                        let _ = writeln!(out, "    not found");
                    }
                    FileContent::Unusable(why) => {
                        let _ = writeln!(out, "    unusable: {why}");
                    }
                    FileContent::Certificates(certs) => {
                        for (i, c) in certs.iter().enumerate() {
                            write_cert(&mut out, "    ", &format!("certificate #{}", i + 1), c);
                        }
                    }
                    FileContent::Key(k) => {
                        let _ = writeln!(out, "    format:    {}", k.format);
                        let _ = writeln!(out, "    key:       {}", k.algorithm);
                        let matches = match k.matches_certificate {
                            Some(true) => "yes",
                            Some(false) => "NO: this key does not belong to the client certificate",
                            None => "cannot tell",
                        };
                        let _ = writeln!(out, "    matches the client certificate: {matches}");
                        for w in &k.warnings {
                            let _ = writeln!(out, "    warning:   {w}");
                        }
                    }
                }
                if let (Some(m), FileContent::Key(_)) = (f.mode, &f.content) {
                    let _ = writeln!(out, "    mode:      {m:04o}");
                }
            }
            if let Some(p) = &self.files_problem {
                let _ = writeln!(out, "  FAIL  {}: the library refuses the files", p.status.name());
                write_problem(&mut out, "    ", p);
            } else if let Some(m) = self.mode {
                let what = if m.is_tls() { "loaded and checked by the library: OK" } else { "not used (plaintext)" };
                let _ = writeln!(out, "  {what}");
            }
        }

        for b in &self.backends {
            let _ = writeln!(out, "\nBackend {} (server name '{}')", b.backend, b.server_name);
            step_line(&mut out, "tcp", &b.tcp, |a| format!("connected to {a}"), b.problem.as_ref());
            match &b.handshake {
                None => {
                    let _ = writeln!(out, "  {:<10} -     plaintext h2c, no TLS", "handshake");
                }
                Some(h) => {
                    step_line(
                        &mut out,
                        "handshake",
                        h,
                        |h| {
                            let client = match (h.client_cert_requested, h.client_cert_sent) {
                                (true, true) => "client certificate requested and sent",
                                (true, false) => "client certificate requested, none configured",
                                (false, _) => "no client certificate requested",
                            };
                            format!(
                                "{}, {}, ALPN {}; {client}",
                                h.tls_version,
                                h.cipher_suite,
                                h.alpn.as_deref().unwrap_or("none")
                            )
                        },
                        b.problem.as_ref(),
                    );
                    if let Step::Ok(h) = h {
                        for (i, c) in h.server_chain.iter().enumerate() {
                            write_cert(&mut out, "    ", &format!("server certificate #{}", i + 1), c);
                        }
                    }
                }
            }
            step_line(
                &mut out,
                "keepAlive",
                &b.keep_alive,
                |d| format!("answered in {:.1} ms (service and instance '{CHECK_NAME}')", d.as_secs_f64() * 1e3),
                b.problem.as_ref(),
            );
            if let Some(p) = &b.problem {
                let _ = writeln!(out, "  FAIL  {}", p.status.name());
                write_problem(&mut out, "    ", p);
            }
        }

        let warnings = self.warnings();
        if !warnings.is_empty() {
            let _ = writeln!(out, "\nWarnings");
            for w in &warnings {
                let _ = writeln!(out, "  - {w}");
            }
        }

        let problems = self.problems();
        if self.ok() {
            let _ = writeln!(
                out,
                "\nResult: OK, every backend answered over {}",
                self.mode.map(|m| m.name()).unwrap_or("?")
            );
        } else if problems.is_empty() {
            let _ = writeln!(out, "\nResult: FAILED, no backend to check");
        } else {
            let n = problems.len();
            let _ = writeln!(out, "\nResult: FAILED, {n} problem{}", if n == 1 { "" } else { "s" });
            for p in problems {
                let _ = writeln!(out, "  {} ({})", p.status.name(), p.scope);
            }
        }
        out
    }
}
