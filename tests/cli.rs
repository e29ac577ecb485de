//! The `swtls` tool, run as a user runs it: `swtls check` against the embedded collector
//! in every mode and for every bad input of the core issue (the exit status, the cause
//! and the fix in plain words, the same verdict with --json), and `swtls certs` end to end.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;
use swtls::Channel;
use swtls_collector::certs::{CertOptions, KeyFormat};
use swtls_collector::{BlockingCollector, CollectorOptions};

const BIN: &str = env!("CARGO_BIN_EXE_swtls");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs the tool with only PATH and the given variables in its environment.
fn swtls(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// `swtls check` for `backend` with the agent folder `dir` (both given with --set) and
/// more `--set` values; human output and JSON.
fn check(backend: &str, dir: &Path, sets: &[&str], env: &[(&str, &str)]) -> (Run, serde_json::Value) {
    let mut args = vec![
        "check".to_string(),
        "--timeout".into(),
        "5".into(),
        "--set".into(),
        format!("collector.backend_service={backend}"),
        "--set".into(),
        format!("agent.ca_dir={}", dir.display()),
    ];
    for s in sets {
        args.push("--set".into());
        args.push(s.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let human = swtls(&args, env);
    let mut json_args = args.clone();
    json_args.push("--json");
    let json = swtls(&json_args, env);
    assert!(json.code == human.code, "--json gave another exit status: {json:?}\nhuman: {human:?}");
    let value: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("--json is not JSON ({e}): {json:?}"));
    assert_eq!(value["ok"].as_bool(), Some(human.code == 0), "{json:?}");
    (human, value)
}

#[track_caller]
fn assert_ok(run: &Run, json: &serde_json::Value, fragments: &[&str]) {
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("\nResult: OK"), "{run:?}");
    for f in fragments {
        assert!(run.stdout.contains(f), "output lacks '{f}': {run:?}");
    }
    assert_eq!(json["problems"].as_array().map(Vec::len), Some(0), "{json}");
}

/// Exit 1, the status name, the cause (with every fragment) and a fix, in the output and
/// the JSON.
#[track_caller]
fn assert_problem(run: &Run, json: &serde_json::Value, status: &str, fragments: &[&str], fix: &str) {
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("\nResult: FAILED"), "{run:?}");
    assert!(run.stdout.contains(&format!("FAIL  {status}")), "no 'FAIL  {status}': {run:?}");
    let cause = run.stdout.lines().find(|l| l.trim_start().starts_with("cause: ")).expect("a cause line");
    for f in fragments {
        assert!(cause.contains(f), "the cause lacks '{f}': {cause}\n{run:?}");
    }
    let fix_line = run.stdout.lines().find(|l| l.trim_start().starts_with("fix:")).expect("a fix line");
    assert!(fix_line.contains(fix), "the fix lacks '{fix}': {fix_line}\n{run:?}");
    let problems = json["problems"].as_array().expect("problems");
    assert!(!problems.is_empty(), "{json}");
    assert_eq!(problems[0]["status"], status, "{json}");
    assert!(problems[0]["fix"].as_str().unwrap().contains(fix), "{json}");
    for f in fragments {
        assert!(problems[0]["cause"].as_str().unwrap().contains(f), "{json}");
    }
}

fn ok_server_name(json: &serde_json::Value) -> &str {
    json["backends"][0]["server_name"].as_str().unwrap()
}

// ---------------------------------------------------------------------------------------
// Working set-ups

#[test]
fn check_mutual_tls_from_the_environment() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let env = [("SW_AGENT_COLLECTOR_BACKEND_SERVICES", server.target()), ("SWTLS_CA_DIR", dir.display().to_string())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = swtls(&["check"], &env);
    assert_eq!(run.code, 0, "{run:?}");
    for f in [
        "collector.backend_service = 127.0.0.1:",
        "(from SW_AGENT_COLLECTOR_BACKEND_SERVICES)",
        "(from SWTLS_CA_DIR)",
        "TLS mode\n  mutual-tls\n  why: mutual-tls: server verified with CA file",
        "CA certificates (agent.ssl_trusted_ca_path, default in the ca folder)",
        "subject:   CN=swtls test CA",
        "key:       ECDSA P-256; X.509 v3; CA",
        "client certificate (agent.ssl_cert_chain_path",
        "usage clientAuth",
        "format:    PKCS#8 PEM",
        "matches the client certificate: yes",
        "mode:      0600",
        "loaded and checked by the library: OK",
        "handshake  OK    TLS 1.3, TLS13_",
        "ALPN h2; client certificate requested and sent",
        "server certificate #1",
        "names:     DNS:localhost, IP:127.0.0.1, IP:::1",
        "keepAlive  OK    answered in",
        "Result: OK, every backend answered over mutual-tls",
    ] {
        assert!(run.stdout.contains(f), "output lacks '{f}': {run:?}");
    }
    assert!(server.received().pings.contains(&("swtls-check".to_string(), "swtls-check".to_string())));

    let json = swtls(&["check", "--json"], &env);
    assert_eq!(json.code, 0, "{json:?}");
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["mode"], "mutual-tls");
    assert_eq!(v["files"][2]["key"]["matches_certificate"], true);
    assert_eq!(v["files"][2]["mode"], "0600");
    let b = &v["backends"][0];
    assert_eq!(b["handshake"]["tls_version"], "TLS 1.3");
    assert_eq!(b["handshake"]["alpn"], "h2");
    assert_eq!(b["handshake"]["client_cert_sent"], true);
    assert_eq!(b["handshake"]["server_chain"][0]["subject"], "CN=localhost");
    assert!(b["keep_alive"]["ms"].as_f64().unwrap() > 0.0);
    assert_eq!(ok_server_name(&v), "127.0.0.1");
}

#[test]
fn check_one_way_tls_and_tls12() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let server = tls_server(&certs);
    let (run, json) = check(&server.target(), &dir, &[], &[]);
    assert_ok(&run, &json, &["TLS mode\n  tls\n", "no client certificate requested", "client key (agent.ssl_key_path"]);
    assert_eq!(json["files"][1]["found"], false);

    let s12 = BlockingCollector::start(
        CollectorOptions::from_cert_set(&certs.set, false).tls_versions(swtls_collector::TlsVersions::Tls12Only),
    )
    .unwrap();
    let (run, json) = check(&s12.target(), &dir, &[], &[]);
    assert_ok(&run, &json, &["handshake  OK    TLS 1.2, TLS_ECDHE_ECDSA_"]);
}

#[test]
fn check_plaintext() {
    let server = plaintext_server();
    let dir = tempfile::tempdir().unwrap();
    let (run, json) = check(&server.target(), dir.path(), &[], &[]);
    assert_ok(&run, &json, &["TLS mode\n  plaintext\n", "plaintext h2c, no TLS", "not found", "not used (plaintext)"]);
    assert_eq!(json["backends"][0]["handshake"], serde_json::Value::Null);
}

#[test]
fn set_applies_after_the_environment_and_in_order() {
    let server = plaintext_server();
    let dir = tempfile::tempdir().unwrap();
    let env = [("SW_AGENT_COLLECTOR_BACKEND_SERVICES", "127.0.0.1:1")];
    let (run, json) = check(
        "127.0.0.1:2",
        dir.path(),
        &[&format!("collector.backend_service={}", server.target()), "agent.authentication=s3cret"],
        &env,
    );
    assert_ok(&run, &json, &["(from --set)", "agent.authentication = (set, not shown)"]);
    assert!(!run.stdout.contains("s3cret"), "the token must not be shown: {run:?}");
    assert_eq!(json["backends"].as_array().unwrap().len(), 1);
    assert_eq!(json["backends"][0]["backend"], server.target());
}

/// Issue 11, item 6: the token is never printed, whichever spelling, source or format.
#[test]
fn the_token_is_never_printed_whichever_spelling_or_source() {
    let server = plaintext_server();
    let dir = tempfile::tempdir().unwrap();
    let token = "tok-3f9a1c-never-shown";
    let spellings = [
        format!("SW_AGENT_AUTHENTICATION={token}"),
        format!("sw_agent_authentication={token}"),
        format!("Agent.Authentication={token}"),
        format!("agent.authentication ={token}"),
        format!("agent_authentication={token}"),
    ];
    for set in &spellings {
        let run =
            swtls(&["check", "--set", &format!("collector.backend_service={}", server.target()), "--set", set], &[]);
        let json = swtls(
            &["check", "--json", "--set", &format!("collector.backend_service={}", server.target()), "--set", set],
            &[],
        );
        for r in [&run, &json] {
            assert!(!r.stdout.contains(token) && !r.stderr.contains(token), "--set {set} shows the token: {r:?}");
            assert!(r.stdout.contains("(set, not shown)"), "--set {set}: {r:?}");
        }
    }
    // From the environment, and with a plaintext channel (which warns without the value).
    let env = [("SW_AGENT_AUTHENTICATION", token), ("SWTLS_CA_DIR", dir.path().to_str().unwrap())];
    let (run, json) = check(&server.target(), dir.path(), &[], &env);
    assert_ok(&run, &json, &["agent.authentication = (set, not shown)", "token travels in clear"]);
    assert!(!run.stdout.contains(token) && !run.stderr.contains(token), "{run:?}");
    assert!(!json.to_string().contains(token), "{json}");
}

#[test]
fn several_backends_are_each_checked() {
    let server = plaintext_server();
    let dir = tempfile::tempdir().unwrap();
    let backends = format!("{},127.0.0.1:1", server.target());
    let (run, json) = check(&backends, dir.path(), &[], &[]);
    assert_problem(&run, &json, "UNAVAILABLE", &["127.0.0.1:1"], "check collector.backend_service");
    assert_eq!(json["backends"][0]["ok"], true);
    assert_eq!(json["backends"][1]["ok"], false);
    assert_eq!(json["backends"][1]["tcp"]["ok"], false);
}

#[test]
fn legacy_v1_certificate_is_described() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let v1 = certs.set.ca.issue_v1_leaf(&CertOptions::new("legacy-client")).unwrap();
    v1.write_cert(dir.join("client.crt")).unwrap();
    v1.key().write_pem(dir.join("client.pem"), KeyFormat::Pkcs8).unwrap();
    let (run, json) = check(&server.target(), &dir, &[], &[]);
    assert!(run.stdout.contains("legacy:    legacy X.509 v1 certificate"), "{run:?}");
    assert!(run.stdout.contains("X.509 v1"), "{run:?}");
    assert!(json["files"][1]["certificates"][0]["legacy"][0].as_str().unwrap().contains("X.509 v1"), "{json}");
    assert!(json["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("X.509 v1")));
}

#[test]
fn legacy_server_certificate_with_the_client_certificates_subject_is_a_warning() {
    // SkyWalking's script's default set: v1 server and client certificates, both
    // CN=localhost, from one CA. It works, and check says why that is risky.
    let certs = Certs::new();
    let server_cert = certs.set.ca.issue_v1_leaf(&CertOptions::new("localhost")).unwrap();
    server_cert.write_cert(certs.path("server.crt")).unwrap();
    server_cert.key().write_pem(certs.path("server.pem"), KeyFormat::Pkcs8).unwrap();
    let server =
        BlockingCollector::start(CollectorOptions::tls(certs.path("server.crt"), certs.path("server.pem"))).unwrap();
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let client = certs.set.ca.issue_v1_leaf(&CertOptions::new("localhost")).unwrap();
    client.write_cert(dir.join("client.crt")).unwrap();
    client.key().write_pem(dir.join("client.pem"), KeyFormat::Pkcs8).unwrap();
    let (run, json) = check(&format!("localhost:{}", server.addr().port()), &dir, &[], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let warnings: Vec<&str> = json["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
    let shared: Vec<&&str> = warnings.iter().filter(|w| w.contains("same subject")).collect();
    assert_eq!(shared.len(), 1, "{warnings:#?}");
    for f in ["CN=localhost", "any holder of a client certificate from that CA", "swtls certs --out DIR"] {
        assert!(shared[0].contains(f), "lacks '{f}': {}", shared[0]);
    }
    assert!(run.stdout.contains("any holder of a client certificate from that CA"), "{run:?}");
}

// ---------------------------------------------------------------------------------------
// Bad input: configuration

#[test]
fn unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let (run, json) = check("127.0.0.1:1", dir.path(), &["agent.nope=1"], &[]);
    assert_problem(&run, &json, "CONFIG_UNKNOWN_KEY", &["'agent.nope'"], "known keys");
    // An environment variable name given as a key.
    let (run, json) = check("127.0.0.1:1", dir.path(), &["SW_AGENT_FORCE_TLS=true"], &[]);
    assert_problem(&run, &json, "CONFIG_UNKNOWN_KEY", &["environment variable of 'agent.force_tls'"], "known keys");
}

#[test]
fn bad_boolean_and_number() {
    let dir = tempfile::tempdir().unwrap();
    let (run, json) = check("127.0.0.1:1", dir.path(), &[], &[("SW_AGENT_FORCE_TLS", "yes")]);
    assert_problem(
        &run,
        &json,
        "CONFIG_INVALID_VALUE",
        &["SW_AGENT_FORCE_TLS", "agent.force_tls", "'yes'", "true or false"],
        "true or false",
    );
    let (run, json) = check("127.0.0.1:1", dir.path(), &["collector.grpc_upstream_timeout=3s"], &[]);
    assert_problem(
        &run,
        &json,
        "CONFIG_INVALID_VALUE",
        &["collector.grpc_upstream_timeout", "'3s'", "whole number"],
        "seconds",
    );
}

#[test]
fn bad_backend_entries() {
    let dir = tempfile::tempdir().unwrap();
    for (entry, why) in [
        ("", "is empty"),
        ("host", "has no port"),
        ("host:", "host:"),
        ("host:0", "host:0"),
        ("host:70000", "host:70000"),
        ("host:abc", "host:abc"),
        ("[::1", "no closing ']'"),
        ("a:1,,b:2", "is empty"),
    ] {
        let (run, json) = check(entry, dir.path(), &[], &[]);
        assert_problem(&run, &json, "CONFIG_INVALID_BACKEND", &[why], "host:port");
    }
}

// ---------------------------------------------------------------------------------------
// Bad input: files

#[test]
fn explicit_ca_path_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope/ca.crt");
    let (run, json) =
        check("127.0.0.1:1", dir.path(), &[&format!("agent.ssl_trusted_ca_path={}", missing.display())], &[]);
    assert_problem(
        &run,
        &json,
        "FILE_NOT_FOUND",
        &["agent.ssl_trusted_ca_path", "nope/ca.crt", "does not exist"],
        "create the file",
    );
    assert!(run.stdout.contains("set explicitly"), "{run:?}");
}

#[test]
fn empty_file() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &[]);
    std::fs::write(dir.join("ca.crt"), "").unwrap();
    let (run, json) = check("127.0.0.1:1", &dir, &[], &[]);
    assert_problem(&run, &json, "CERTIFICATE_INVALID", &["ca.crt", "is empty"], "PEM certificates");
    assert!(run.stdout.contains("unusable: empty"), "{run:?}");
}

#[test]
fn garbage_instead_of_a_key() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt"]);
    std::fs::write(dir.join("client.pem"), "hello, not a key\n").unwrap();
    let (run, json) = check("127.0.0.1:1", &dir, &[], &[]);
    assert_problem(&run, &json, "PRIVATE_KEY_INVALID", &["client.pem", "no PEM data"], "unencrypted private key");
}

#[test]
fn certificate_where_a_key_is_expected() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt"]);
    std::fs::copy(&certs.set.client_cert, dir.join("client.pem")).unwrap();
    let (run, json) = check("127.0.0.1:1", &dir, &[], &[]);
    assert_problem(
        &run,
        &json,
        "PRIVATE_KEY_INVALID",
        &["client.pem", "CERTIFICATE where a private key was expected"],
        "private key",
    );
}

#[test]
fn key_that_does_not_match_the_certificate() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt"]);
    std::fs::copy(&certs.set.server_key, dir.join("client.pem")).unwrap();
    let (run, json) = check("127.0.0.1:1", &dir, &[], &[]);
    assert_problem(&run, &json, "KEY_MISMATCH", &["client.pem", "client.crt", "does not belong"], "issued for");
    assert!(run.stdout.contains("matches the client certificate: NO"), "{run:?}");
    assert_eq!(json["files"][2]["key"]["matches_certificate"], false);
}

#[test]
fn client_certificate_without_key_and_key_without_certificate() {
    let certs = Certs::new();
    let dir = certs.agent_dir("cert-only", &["ca.crt", "client.crt"]);
    let (run, json) = check("127.0.0.1:1", &dir, &[], &[]);
    assert_problem(&run, &json, "CLIENT_CERT_INCOMPLETE", &["client.pem", "is missing"], "add the missing file");
    let dir = certs.agent_dir("key-only", &["ca.crt", "client.pem"]);
    let (run, json) = check("127.0.0.1:1", &dir, &[], &[]);
    assert_problem(&run, &json, "CLIENT_CERT_INCOMPLETE", &["client.crt", "is missing"], "add the missing file");
}

// ---------------------------------------------------------------------------------------
// Bad input: the connection

#[test]
fn server_requires_a_client_certificate_and_none_is_configured() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let (run, json) = check(&server.target(), &dir, &[], &[]);
    assert_problem(
        &run,
        &json,
        "TLS_CLIENT_CERT_REQUIRED",
        &["asked for a client certificate but none is configured"],
        "put client.crt and client.pem in the ca folder",
    );
    assert!(run.stdout.contains(&format!("in the ca folder ({})", dir.display())), "{run:?}");
}

#[test]
fn server_certificate_from_an_unknown_ca() {
    let certs = Certs::new();
    let server = tls_server(&certs);
    let dir = certs.agent_dir("other", &[]);
    swtls_collector::certs::Ca::new("unrelated CA").unwrap().write_cert(dir.join("ca.crt")).unwrap();
    let (run, json) = check(&server.target(), &dir, &[], &[]);
    assert_problem(
        &run,
        &json,
        "TLS_UNKNOWN_ISSUER",
        &["unknown issuer", "ca.crt"],
        "signed the backend's certificate",
    );
}

#[test]
fn server_name_mismatch() {
    let certs = Certs::with_names(&["collector.example", "10.9.8.7"]);
    let server = tls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let (run, json) = check(&format!("localhost:{}", server.addr().port()), &dir, &[], &[]);
    assert_problem(
        &run,
        &json,
        "TLS_NAME_MISMATCH",
        &["'localhost'", "collector.example", "10.9.8.7"],
        "agent.ssl_target_name_override",
    );
    // The override fixes it.
    let (run, json) = check(
        &format!("localhost:{}", server.addr().port()),
        &dir,
        &["agent.ssl_target_name_override=collector.example"],
        &[],
    );
    assert_ok(&run, &json, &["(server name 'collector.example')"]);
}

#[test]
fn expired_server_certificate() {
    let certs = Certs::new();
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let leaf = certs.set.ca.issue_server(&CertOptions::new("localhost").sans(LOCAL_NAMES).expired()).unwrap();
    leaf.write_chain(certs.path("expired.crt")).unwrap();
    leaf.key().write_pem(certs.path("expired.key"), KeyFormat::Pkcs8).unwrap();
    let server =
        BlockingCollector::start(CollectorOptions::tls(certs.path("expired.crt"), certs.path("expired.key"))).unwrap();
    let (run, json) = check(&server.target(), &dir, &[], &[]);
    assert_problem(&run, &json, "TLS_CERTIFICATE_EXPIRED", &["expired at", "UTC"], "renew");
}

#[test]
fn tls_client_to_a_plaintext_server() {
    let certs = Certs::new();
    let server = plaintext_server();
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    let (run, json) = check(&server.target(), &dir, &[], &[]);
    assert_problem(&run, &json, "SERVER_NOT_TLS", &["speaks plaintext", "HTTP/2"], "enable TLS on the backend");
}

#[test]
fn plaintext_client_to_a_tls_server() {
    let certs = Certs::new();
    let server = tls_server(&certs);
    let dir = certs.agent_dir("empty", &[]);
    let (run, json) = check(&server.target(), &dir, &[], &[]);
    assert_problem(&run, &json, "SERVER_REQUIRES_TLS", &["expects TLS", "ca.crt"], "agent.force_tls=true");
}

#[test]
fn nothing_listening() {
    let dir = tempfile::tempdir().unwrap();
    let (run, json) = check("127.0.0.1:1", dir.path(), &[], &[]);
    assert_problem(&run, &json, "UNAVAILABLE", &["127.0.0.1:1"], "check collector.backend_service");
}

// ---------------------------------------------------------------------------------------
// Usage, help, version

#[test]
fn usage_help_and_version() {
    let run = swtls(&[], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("usage:"), "{run:?}");
    for args in [&["check", "--bogus"][..], &["check", "--set", "novalue"], &["check", "--timeout", "x"], &["nope"]] {
        let run = swtls(args, &[]);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
    let run = swtls(&["--help"], &[]);
    assert_eq!(run.code, 0);
    for f in ["swtls check", "swtls certs", "--server-name", "SW_AGENT_COLLECTOR_BACKEND_SERVICES", "agent.ca_dir"] {
        assert!(run.stdout.contains(f), "help lacks '{f}': {run:?}");
    }
    let run = swtls(&["version"], &[]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("swtls/") && run.stdout.contains(" rustls/0.23."), "{run:?}");
}

// ---------------------------------------------------------------------------------------
// swtls certs

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn first_line(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().lines().next().unwrap_or_default().to_string()
}

#[test]
fn certs_make_a_working_mutual_tls_set() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("set");
    let run = swtls(
        &["certs", "--out", out.to_str().unwrap(), "--server-name", "localhost", "--server-name", "127.0.0.1"],
        &[],
    );
    assert_eq!(run.code, 0, "{run:?}");
    for f in ["ca/ca.crt", "ca/client.crt", "ca/client.pem", "server/server.crt", "server/server.key", "server/ca.crt"]
    {
        assert!(out.join(f).is_file(), "{f} missing: {run:?}");
        assert!(run.stdout.contains(&out.join(f).display().to_string()), "{run:?}");
    }
    assert_eq!(std::fs::read(out.join("ca/ca.crt")).unwrap(), std::fs::read(out.join("server/ca.crt")).unwrap());
    assert_eq!(first_line(&out.join("ca/client.pem")), "-----BEGIN PRIVATE KEY-----");
    assert_eq!(first_line(&out.join("server/server.key")), "-----BEGIN PRIVATE KEY-----");
    #[cfg(unix)]
    {
        assert_eq!(mode(&out.join("ca/client.pem")), 0o600);
        assert_eq!(mode(&out.join("server/server.key")), 0o600);
    }
    assert!(!tmp.path().join("set/ca/ca.key").exists() && !tmp.path().join("set/server/ca.key").exists());

    // The collector on the server files, with client certificates required; the agent on
    // the ca/ folder, through the library and through `swtls check`.
    let server = BlockingCollector::start(CollectorOptions::mutual_tls(
        out.join("server/server.crt"),
        out.join("server/server.key"),
        out.join("server/ca.crt"),
        true,
    ))
    .unwrap();
    let ch = Channel::new(&config(&server.target(), &out.join("ca"), &[])).unwrap();
    assert_eq!(ch.tls_mode(), swtls::TlsMode::MutualTls);
    ch.unary_blocking(methods::KEEP_ALIVE, ping("svc", "inst"), None).unwrap();
    let (run, json) = check(&server.target(), &out.join("ca"), &[], &[]);
    assert_ok(
        &run,
        &json,
        &["client certificate requested and sent", "names:     DNS:localhost, IP:127.0.0.1", "usage serverAuth"],
    );
    // By name too.
    let (run, json) = check(&format!("localhost:{}", server.addr().port()), &out.join("ca"), &[], &[]);
    assert_ok(&run, &json, &[]);

    // Existing files are kept unless --force.
    let again = swtls(&["certs", "--out", out.to_str().unwrap(), "--server-name", "localhost"], &[]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("refusing to overwrite") && again.stderr.contains("--force"), "{again:?}");
    let forced = swtls(&["certs", "--out", out.to_str().unwrap(), "--server-name", "localhost", "--force"], &[]);
    assert_eq!(forced.code, 0, "{forced:?}");
}

#[test]
fn certs_rsa_with_pkcs1_client_key() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rsa");
    let run = swtls(&["certs", "--out", out.to_str().unwrap(), "--server-name", "127.0.0.1", "--rsa", "--pkcs1"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("RSA 2048"), "{run:?}");
    let pkcs1 = out.join("ca/client.pkcs1.pem");
    assert_eq!(first_line(&pkcs1), "-----BEGIN RSA PRIVATE KEY-----");
    assert_eq!(first_line(&out.join("ca/client.pem")), "-----BEGIN PRIVATE KEY-----");
    #[cfg(unix)]
    assert_eq!(mode(&pkcs1), 0o600);

    let server = BlockingCollector::start(CollectorOptions::mutual_tls(
        out.join("server/server.crt"),
        out.join("server/server.key"),
        out.join("server/ca.crt"),
        true,
    ))
    .unwrap();
    // The PKCS#1 key works as the agent's key.
    let (run, json) =
        check(&server.target(), &out.join("ca"), &[&format!("agent.ssl_key_path={}", pkcs1.display())], &[]);
    assert_ok(
        &run,
        &json,
        &["format:    RSA PKCS#1 PEM", "key:       RSA 2048", "matches the client certificate: yes"],
    );
    assert!(json["backends"][0]["handshake"]["server_chain"][0]["key"] == "RSA 2048", "{json}");
}

#[test]
fn certs_ecdsa_with_traditional_key_is_sec1() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ec");
    let run =
        swtls(&["certs", "--out", out.to_str().unwrap(), "--server-name", "localhost", "--pkcs1", "--days", "30"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(first_line(&out.join("ca/client.sec1.pem")), "-----BEGIN EC PRIVATE KEY-----");
    #[cfg(unix)]
    assert_eq!(mode(&out.join("ca/client.sec1.pem")), 0o600);
    assert!(run.stdout.contains("valid 30 days"), "{run:?}");
}

#[test]
fn certs_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let run = swtls(&["certs", "--out", tmp.path().to_str().unwrap()], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--server-name is required"), "{run:?}");
    let run = swtls(&["certs", "--server-name", "x"], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    let run = swtls(&["certs", "--out", tmp.path().to_str().unwrap(), "--server-name", "bad name!"], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("'bad name!' is not a valid DNS name or IP address"), "{run:?}");
}
