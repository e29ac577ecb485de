//! The C examples, run as agents run them: configured only from the environment. They are
//! built by `make examples` (CI does that before the tests).

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/examples").join(name);
    assert!(p.exists(), "{} is missing: run `make examples` before the tests", p.display());
    p
}

fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(example(name));
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn keepalive_over_mutual_tls() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let o = run(
        "keepalive",
        &["demo-service", "demo-instance"],
        &[("SW_AGENT_COLLECTOR_BACKEND_SERVICES", &server.target()), ("SWTLS_CA_DIR", dir.to_str().unwrap())],
    );
    assert_eq!(stdout(&o), "OK\n", "stderr: {}", String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success());
    assert_eq!(server.received().pings, vec![("demo-service".to_string(), "demo-instance".to_string())]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("mutual-tls"));
}

#[test]
fn report_streams_count_segments() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let seg = certs.path("segment.bin");
    std::fs::write(&seg, swtls_collector::proto::encode_segment("trace-1", "seg-1", "svc", "inst")).unwrap();
    let o = run(
        "report",
        &[seg.to_str().unwrap(), "250"],
        &[("SW_AGENT_COLLECTOR_BACKEND_SERVICES", &server.target()), ("SWTLS_CA_DIR", dir.to_str().unwrap())],
    );
    assert_eq!(stdout(&o), "sent 250\n", "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let got = server.received();
    assert_eq!(got.segments.len(), 250);
    assert!(got.segments.iter().all(|s| s.trace_id == "trace-1" && s.segment_id == "seg-1"));
    assert_eq!(got.streams_completed, 1);
}

#[test]
fn keepalive_reports_status_name_and_message_on_failure() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt"]);
    // Repeated: the server drops the connection while the client writes, which must never
    // raise SIGPIPE in the host process (a C program does not ignore it).
    for _ in 0..10 {
        let o = run(
            "keepalive",
            &["s", "i"],
            &[("SW_AGENT_COLLECTOR_BACKEND_SERVICES", &server.target()), ("SWTLS_CA_DIR", dir.to_str().unwrap())],
        );
        assert_eq!(o.status.code(), Some(1), "killed by a signal? {:?}", o.status);
        let out = stdout(&o);
        assert!(out.starts_with("TLS_CLIENT_CERT_REQUIRED: "), "{out}");
        assert!(out.contains("client.pem"), "{out}");
    }
}

#[test]
fn a_stream_cut_by_the_server_fails_cleanly() {
    // The server cuts the connection in the middle of a big stream: the C program gets an
    // error from the stream and exits 1 (no hang, no crash, no signal). The unit test of
    // connect::send_vectored checks EPIPE-not-SIGPIPE directly.
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let seg = certs.path("big.bin");
    std::fs::write(&seg, vec![b'x'; 64 * 1024]).unwrap();
    for _ in 0..3 {
        server.clear();
        let child = Command::new(example("report"))
            .args([seg.to_str().unwrap(), "1000000"])
            .env_clear()
            .env("SW_AGENT_COLLECTOR_BACKEND_SERVICES", server.target())
            .env("SWTLS_CA_DIR", &dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        assert!(server.wait_until(std::time::Duration::from_secs(20), |r| r.stream_messages >= 50));
        assert!(server.disconnect_all() >= 1);
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "killed by a signal? {:?} {}",
            o.status,
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

#[test]
fn bad_environment_is_reported() {
    let o = run("keepalive", &["s", "i"], &[("SW_AGENT_COLLECTOR_BACKEND_SERVICES", "a:1,,b:2")]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.starts_with("CONFIG_INVALID_BACKEND: environment variable SW_AGENT_COLLECTOR_BACKEND_SERVICES"),
        "{out}"
    );
    let o = run("keepalive", &["s", "i"], &[("SW_AGENT_FORCE_TLS", "maybe")]);
    assert!(stdout(&o).starts_with("CONFIG_INVALID_VALUE: environment variable SW_AGENT_FORCE_TLS"), "{}", stdout(&o));
}

#[test]
fn force_tls_without_ca_uses_the_system_trust_store() {
    // The system trust store is read by rustls-native-certs, which honours SSL_CERT_FILE:
    // point it at the test CA, so the "system roots" really are consulted.
    let certs = Certs::new();
    let server = tls_server(&certs);
    let dir = certs.agent_dir("empty", &[]);
    let env = [
        ("SW_AGENT_COLLECTOR_BACKEND_SERVICES", server.target()),
        ("SWTLS_CA_DIR", dir.to_str().unwrap().to_string()),
        ("SW_AGENT_FORCE_TLS", "true".to_string()),
        ("SSL_CERT_FILE", certs.set.ca_cert.to_str().unwrap().to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let o = run("keepalive", &["sys", "roots"], &env);
    assert_eq!(stdout(&o), "OK\n", "stderr: {}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("tls-system-roots"));
    // Without the CA in the "system" store the same server is an unknown issuer.
    let other = Certs::new();
    let mut env2 = env.clone();
    env2.retain(|(k, _)| *k != "SSL_CERT_FILE");
    let other_ca = other.set.ca_cert.to_str().unwrap().to_string();
    env2.push(("SSL_CERT_FILE", &other_ca));
    let o = run("keepalive", &["sys", "roots"], &env2);
    assert!(stdout(&o).starts_with("TLS_UNKNOWN_ISSUER: "), "{}", stdout(&o));
    assert!(stdout(&o).contains("system trust store"), "{}", stdout(&o));
}

#[test]
fn plaintext_by_default_without_ca() {
    let server = plaintext_server();
    let certs = Certs::new();
    let dir = certs.agent_dir("empty", &[]);
    let o = run(
        "keepalive",
        &["p", "i"],
        &[("SW_AGENT_COLLECTOR_BACKEND_SERVICES", &server.target()), ("SWTLS_CA_DIR", dir.to_str().unwrap())],
    );
    assert_eq!(stdout(&o), "OK\n");
}

#[test]
fn token_from_the_environment() {
    let certs = Certs::new();
    let server = swtls_collector::BlockingCollector::start(
        swtls_collector::CollectorOptions::from_cert_set(&certs.set, true).token("env-token"),
    )
    .unwrap();
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let base =
        [("SW_AGENT_COLLECTOR_BACKEND_SERVICES", server.target()), ("SWTLS_CA_DIR", dir.to_str().unwrap().to_string())];
    let mut ok: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ok.push(("SW_AGENT_AUTHENTICATION", "env-token"));
    assert_eq!(stdout(&run("keepalive", &["t", "i"], &ok)), "OK\n");
    let mut bad: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
    bad.push(("SW_AGENT_AUTHENTICATION", "nope"));
    let out = stdout(&run("keepalive", &["t", "i"], &bad));
    assert!(out.starts_with("UNAUTHENTICATED: "), "{out}");
}

/// `key=value` fields of a counters line printed by `print_stats` (examples/c/common.h).
fn fields(line: &str) -> std::collections::HashMap<String, String> {
    line.split_whitespace().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn stats_line(out: &str) -> std::collections::HashMap<String, String> {
    fields(out.lines().find(|l| l.starts_with("queued=")).unwrap_or_else(|| panic!("no counters line in {out}")))
}

#[test]
fn report_async_queues_flushes_and_prints_the_counters() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let seg = certs.path("segment.bin");
    let bytes = swtls_collector::proto::encode_segment("trace-a", "seg-a", "svc", "inst");
    std::fs::write(&seg, &bytes).unwrap();
    let env = [("SW_AGENT_COLLECTOR_BACKEND_SERVICES", server.target()), ("SWTLS_CA_DIR", dir.display().to_string())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let o = run("report", &[seg.to_str().unwrap(), "400", "--async"], &env);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\nstderr: {}", String::from_utf8_lossy(&o.stderr));
    assert!(out.ends_with("acknowledged 400 of 400\n"), "{out}");
    let s = stats_line(&out);
    for (k, v) in [("queued", "400"), ("sent", "400"), ("acknowledged", "400"), ("pending", "0")] {
        assert_eq!(s[k], v, "{k} in {out}");
    }
    assert_eq!(s["bytes_sent"], (400 * bytes.len()).to_string());
    assert_eq!((s["backend"].as_str(), s["tls_mode"].as_str()), (server.target().as_str(), "mutual-tls"));
    assert_eq!(server.received().segments.len(), 400);

    // A queue smaller than COUNT: drops are counted, and the exit status says not all arrived.
    let mut small = env.clone();
    small.push(("SWTLS_REPORT_QUEUE_MESSAGES", "10"));
    server.clear();
    let o = run("report", &[seg.to_str().unwrap(), "5000", "--async"], &small);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let s = stats_line(&out);
    let n = |k: &str| s[k].parse::<u64>().unwrap();
    assert!(n("dropped_queue_full") > 0, "{out}");
    assert_eq!(n("queued"), 5000);
    assert_eq!(n("acknowledged") + n("dropped_queue_full"), 5000, "{out}");
    assert_eq!(server.received().segments.len() as u64, n("acknowledged"));
    assert!(out.ends_with(&format!("acknowledged {} of 5000\n", n("acknowledged"))), "{out}");

    // No backend: flush gives up after the deadline, exit 1.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let o = run(
        "report",
        &[seg.to_str().unwrap(), "3", "--async"],
        &[
            ("SW_AGENT_COLLECTOR_BACKEND_SERVICES", &dead),
            ("SWTLS_CA_DIR", dir.to_str().unwrap()),
            ("SW_AGENT_COLLECTOR_GRPC_UPSTREAM_TIMEOUT", "1"),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).ends_with("acknowledged 0 of 3\n"), "{}", stdout(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("flush: DEADLINE_EXCEEDED"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn agent_keeps_alive_reports_from_threads_and_logs_through_the_callback() {
    let certs = Certs::new();
    let server = mtls_server(&certs);
    let dir = certs.agent_dir("ca", &["ca.crt", "client.crt", "client.pem"]);
    let o = run(
        "agent",
        &["agent-svc", "agent-1", "1500", "3", "500"],
        &[("SW_AGENT_COLLECTOR_BACKEND_SERVICES", &server.target()), ("SWTLS_CA_DIR", dir.to_str().unwrap())],
    );
    let out = stdout(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{out}\nstderr: {err}");
    let lines: Vec<&str> = out.lines().collect();
    let keepalive = fields(lines[0]);
    let ka: usize = keepalive["ok"].parse().unwrap();
    assert!(ka >= 3 && keepalive["failed"] == "0", "{out}");
    let reported = fields(lines[1]);
    assert_eq!(reported["threads"], "3");
    let s = stats_line(&out);
    let (r, d): (u64, u64) = (reported["reported"].parse().unwrap(), reported["dropped"].parse().unwrap());
    assert!(r > 30, "{out}");
    assert_eq!(s["acknowledged"].parse::<u64>().unwrap(), r - d, "{out}");
    let got = server.received();
    assert_eq!(got.pings.len(), ka);
    assert!(got.pings.iter().all(|p| p == &("agent-svc".to_string(), "agent-1".to_string())));
    assert_eq!(got.segments.len() as u64, r - d);
    // Segments from each of the three threads, each once.
    let ids: std::collections::HashSet<_> = got.segments.iter().map(|s| s.segment_id.clone()).collect();
    assert_eq!(ids.len(), got.segments.len());
    for t in 0..3 {
        assert!(ids.contains(&format!("agent-1-{t}-0")), "thread {t}");
    }
    // The log callback got the library's messages.
    assert!(err.contains(&format!("[swtls INFO] connected to {}", server.target())), "{err}");
    assert!(
        err.contains("[swtls INFO] reporter for /skywalking.v3.TraceSegmentReportService/collect started"),
        "{err}"
    );
    assert!(err.contains("[swtls INFO] channel to") && err.contains("closed:"), "{err}");
}
