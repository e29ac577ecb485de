//! The certificates SkyWalking's documented key-generation script makes, generated here
//! with the same openssl commands: X.509 v1 leaves with the name only in the subject CN,
//! and a CA whose subject equals the server's (`CN=localhost` for both). Accepted only
//! under the rules of DESIGN §3; every unsafe variant is refused.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;
use swtls::{Channel, LogLevel, Status};
use swtls_collector::{BlockingCollector, CollectorOptions};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("the openssl command is needed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The script's CA: `openssl req -new -x509` with CN=localhost.
fn script_ca(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    openssl(dir, &["genrsa", "-out", "ca.key", "2048"]);
    openssl(
        dir,
        &["req", "-new", "-x509", "-days", "365", "-key", "ca.key", "-out", "ca.crt", "-subj", "/CN=localhost"],
    );
}

/// `openssl x509 -req`, in `dir`: signs the request `csr` with the CA of `ca_dir` (`ca.crt`,
/// `ca.key`) into `out`, valid for `days`. Without `extfile` the certificate is X.509 v1, as
/// the script makes them; with one (a file in `dir`) it gets that file's extensions (v3).
fn sign(dir: &Path, ca_dir: &Path, csr: &str, days: &str, extfile: Option<&str>, out: &str) {
    let ca_crt = ca_dir.join("ca.crt");
    let ca_key = ca_dir.join("ca.key");
    let mut args = vec!["x509", "-req", "-days", days, "-in", csr];
    args.extend(["-CA", ca_crt.to_str().unwrap(), "-CAkey", ca_key.to_str().unwrap(), "-CAcreateserial"]);
    if let Some(ext) = extfile {
        args.extend(["-extfile", ext]);
    }
    args.extend(["-out", out]);
    openssl(dir, &args);
}

/// A leaf signed the script's way: `openssl x509 -req` without an extension file (v1).
fn script_leaf(dir: &Path, ca_dir: &Path, name: &str, cn: &str, days: &str) {
    openssl(dir, &["genrsa", "-out", &format!("{name}.key"), "2048"]);
    openssl(
        dir,
        &["req", "-new", "-key", &format!("{name}.key"), "-out", &format!("{name}.csr"), "-subj", &format!("/CN={cn}")],
    );
    sign(dir, ca_dir, &format!("{name}.csr"), days, None, &format!("{name}.crt"));
    // The script converts keys to PKCS#8 for the agent ("client.pem").
    openssl(dir, &["pkcs8", "-topk8", "-nocrypt", "-in", &format!("{name}.key"), "-out", &format!("{name}.pem")]);
}

fn version_of(pem_path: &Path) -> String {
    let out =
        Command::new("openssl").args(["x509", "-noout", "-text", "-in", pem_path.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().find(|l| l.trim().starts_with("Version:")).unwrap_or("").trim().to_string()
}

struct Script {
    tmp: tempfile::TempDir,
}

impl Script {
    /// CA, a v1 server leaf (CN=localhost) and a v1 client leaf, the script's way.
    fn new() -> Script {
        Script::with_client_cn("skywalking-agent")
    }
    /// The script's default set: the client certificate gets the server's CN too.
    fn default_set() -> Script {
        Script::with_client_cn("localhost")
    }
    fn with_client_cn(client_cn: &str) -> Script {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        script_ca(d);
        script_leaf(d, d, "server", "localhost", "365");
        script_leaf(d, d, "client", client_cn, "365");
        assert_eq!(version_of(&d.join("server.crt")), "Version: 1 (0x0)");
        Script { tmp }
    }
    fn path(&self, name: &str) -> std::path::PathBuf {
        self.tmp.path().join(name)
    }
    /// An agent ca/ folder: the CA, and optionally a client certificate and PKCS#8 key.
    fn agent_dir(&self, name: &str, client: Option<(&str, &str)>) -> std::path::PathBuf {
        let dir = self.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(self.path("ca.crt"), dir.join("ca.crt")).unwrap();
        if let Some((crt, pem)) = client {
            std::fs::copy(self.path(crt), dir.join("client.crt")).unwrap();
            std::fs::copy(self.path(pem), dir.join("client.pem")).unwrap();
        }
        dir
    }
    fn tls_server(&self, crt: &str, key: &str) -> BlockingCollector {
        BlockingCollector::start(CollectorOptions::tls(self.path(crt), self.path(key))).unwrap()
    }
}

#[test]
fn script_certificates_work_with_mutual_tls_against_the_tonic_collector() {
    let s = Script::new();
    // rustls-based servers refuse v1 *client* certificates (the OAP's Netty does not); the
    // tonic collector therefore gets a client certificate from the same script CA made
    // with an extension file. The grpcio test below uses the script's v1 client certificate.
    std::fs::write(s.path("client.ext"), "extendedKeyUsage = clientAuth\n").unwrap();
    sign(s.tmp.path(), s.tmp.path(), "client.csr", "365", Some("client.ext"), "client3.crt");
    let server = BlockingCollector::start(CollectorOptions::mutual_tls(
        s.path("server.crt"),
        s.path("server.pem"),
        s.path("ca.crt"),
        true,
    ))
    .unwrap();
    let dir = s.agent_dir("agent", Some(("client3.crt", "client.pem")));
    let logs = capture_logs(LogLevel::Warn);
    let ch = Channel::new(&config(&format!("localhost:{}", server.addr().port()), &dir, &[])).unwrap();
    for _ in 0..3 {
        ch.unary_blocking(methods::KEEP_ALIVE, ping("legacy", "i"), None).unwrap();
    }
    server.disconnect_all();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("legacy", "i"), None).unwrap();
    // Other tests of this file run at the same time and log to the same sink: only the
    // warnings about this test's CA count.
    let ca = dir.join("ca.crt").display().to_string();
    let warned: Vec<String> =
        logs.matching("legacy server certificate").into_iter().filter(|m| m.contains(&ca)).collect();
    assert_eq!(warned.len(), 1, "one warning per channel: {warned:?}");
    assert!(
        warned[0].contains("X.509 v1")
            && warned[0].contains("subject CN 'localhost'")
            && warned[0].contains("swtls certs"),
        "{}",
        warned[0]
    );
    assert_eq!(server.received().pings.len(), 4);
    // The client certificate's subject (CN=skywalking-agent) is not the server's.
    assert!(logs.matching("same subject").iter().all(|m| !m.contains(&ca)), "{:?}", logs.matching("same subject"));
}

#[test]
fn script_default_set_an_agents_own_client_certificate_is_never_a_server() {
    // The script's default set gives the client certificate the server's CN (localhost):
    // a v1 certificate for the expected name, signed by the configured CA. Whoever has an
    // agent's client.crt and client.pem (every agent host) serves them as the backend.
    let s = Script::default_set();
    let server = s.tls_server("client.crt", "client.pem");
    let dir = s.agent_dir("agent", Some(("client.crt", "client.pem")));
    let ch = Channel::new(&config(&format!("localhost:{}", server.addr().port()), &dir, &[])).unwrap();
    assert_eq!(ch.tls_mode(), swtls::TlsMode::MutualTls);
    let client_crt = dir.join("client.crt").display().to_string();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsBadCertificate,
        &["public key of this agent's own client certificate", &client_crt, "swtls certs --out DIR --server-name NAME"],
    );
    assert!(server.received().pings.is_empty(), "{:?}", server.received());
}

#[test]
fn a_server_certificate_with_the_client_certificates_key_is_refused_on_the_strict_path_too() {
    // A modern set, but the agent's client files are the server's certificate and key: the
    // server's certificate passes WebPKI, and is still refused.
    let certs = Certs::new();
    let server = tls_server(&certs);
    let dir = certs.agent_dir("agent", &["ca.crt"]);
    std::fs::copy(&certs.set.server_cert, dir.join("client.crt")).unwrap();
    std::fs::copy(&certs.set.server_key, dir.join("client.pem")).unwrap();
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsBadCertificate,
        &["own client certificate", &dir.join("client.crt").display().to_string()],
    );
    assert!(server.received().pings.is_empty());
}

#[test]
fn script_default_set_warns_once_that_client_certificates_share_the_servers_subject() {
    // The server's own certificate (another key) has the client certificate's subject: it
    // is accepted, with a warning, once per channel, that any client certificate of that CA
    // could pose as the backend.
    let s = Script::default_set();
    let server = s.tls_server("server.crt", "server.pem");
    let dir = s.agent_dir("agent", Some(("client.crt", "client.pem")));
    let logs = capture_logs(LogLevel::Warn);
    let ch = Channel::new(&config(&format!("localhost:{}", server.addr().port()), &dir, &[])).unwrap();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None).unwrap();
    server.disconnect_all();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None).unwrap();
    assert_eq!(server.received().pings.len(), 2);
    let client_crt = dir.join("client.crt").display().to_string();
    let warned: Vec<String> = logs.matching("same subject").into_iter().filter(|m| m.contains(&client_crt)).collect();
    assert_eq!(warned.len(), 1, "one warning per channel: {warned:?}");
    for fragment in ["CN=localhost", "any holder of a client certificate from that CA", "swtls certs --out DIR"] {
        assert!(warned[0].contains(fragment), "lacks '{fragment}': {}", warned[0]);
    }
}

#[test]
fn script_certificates_work_with_mutual_tls_against_grpcio() {
    let s = Script::new();
    let python = std::env::var("SWTLS_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/grpcio_server.py"))
        .args(["--cert", s.path("server.crt").to_str().unwrap(), "--key", s.path("server.key").to_str().unwrap()])
        .args(["--ca", s.path("ca.crt").to_str().unwrap(), "--require-client-auth"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.as_mut().unwrap()), &mut line).unwrap();
    let port: u16 = line.trim().strip_prefix("PORT ").expect("grpcio peer started").parse().unwrap();
    let dir = s.agent_dir("agent", Some(("client.crt", "client.pem")));
    assert_eq!(version_of(&dir.join("client.crt")), "Version: 1 (0x0)");
    let ch = Channel::new(&config(&format!("localhost:{port}"), &dir, &[])).unwrap();
    let r = ch.unary_blocking(methods::ECHO_UNARY, "v1 both ways".into(), None);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(&r.unwrap()[..], b"v1 both ways");
}

#[test]
fn v1_leaf_signed_by_a_different_ca_is_refused() {
    let s = Script::new();
    // Another run of the script: same CA name (CN=localhost), different key.
    let other = s.path("other");
    script_ca(&other);
    script_leaf(&other, &other, "server", "localhost", "365");
    let server =
        BlockingCollector::start(CollectorOptions::tls(other.join("server.crt"), other.join("server.pem"))).unwrap();
    let dir = s.agent_dir("agent", None);
    let ch = Channel::new(&config(&format!("localhost:{}", server.addr().port()), &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsUnknownIssuer,
        &["does not verify"],
    );
}

#[test]
fn v1_leaf_for_another_name_is_refused() {
    let s = Script::new();
    script_leaf(s.tmp.path(), s.tmp.path(), "elsewhere", "otherhost", "365");
    let server = s.tls_server("elsewhere.crt", "elsewhere.pem");
    let dir = s.agent_dir("agent", None);
    let ch = Channel::new(&config(&format!("localhost:{}", server.addr().port()), &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsNameMismatch,
        &["'localhost'", "otherhost (subject CN)"],
    );
    // The address's IP is not the CN either.
    let ch = Channel::new(&config(&server.target(), &dir, &[])).unwrap();
    assert_err(ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None), Status::TlsNameMismatch, &["'127.0.0.1'"]);
    // With the override naming the CN, it is accepted.
    let ch = Channel::new(&config(&server.target(), &dir, &[("agent.ssl_target_name_override", "otherhost")])).unwrap();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None).unwrap();
}

#[test]
fn expired_v1_leaf_is_refused() {
    let s = Script::new();
    script_leaf(s.tmp.path(), s.tmp.path(), "expired", "localhost", "-1");
    let server = s.tls_server("expired.crt", "expired.pem");
    let dir = s.agent_dir("agent", None);
    let ch = Channel::new(&config(&format!("localhost:{}", server.addr().port()), &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsCertificateExpired,
        &["expired at"],
    );
}

#[test]
fn v1_leaf_with_only_system_roots_is_refused() {
    let s = Script::new();
    let server = s.tls_server("server.crt", "server.pem");
    // The "system" trust store holds the script CA (rustls-native-certs reads SSL_CERT_FILE);
    // no test in this file but this one trusts system roots.
    std::env::set_var("SSL_CERT_FILE", s.path("ca.crt"));
    let empty = s.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let ch =
        Channel::new(&config(&format!("localhost:{}", server.addr().port()), &empty, &[("agent.force_tls", "true")]))
            .unwrap();
    assert_eq!(ch.tls_mode(), swtls::TlsMode::TlsSystemRoots);
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsBadCertificate,
        &["X.509 v1", "only when the CA that signed it is configured in ca.crt", "system trust store"],
    );
}

#[test]
fn v1_leaf_with_a_tampered_signature_is_refused() {
    let s = Script::new();
    let out = Command::new("openssl")
        .args(["x509", "-in", "server.crt", "-outform", "DER"])
        .current_dir(s.tmp.path())
        .output()
        .unwrap();
    let mut der = out.stdout;
    let last = der.len() - 1;
    der[last] ^= 0x01;
    std::fs::write(s.path("tampered.der"), &der).unwrap();
    openssl(s.tmp.path(), &["x509", "-inform", "DER", "-in", "tampered.der", "-out", "tampered.crt"]);
    let server = s.tls_server("tampered.crt", "server.pem");
    let dir = s.agent_dir("agent", None);
    let ch = Channel::new(&config(&format!("localhost:{}", server.addr().port()), &dir, &[])).unwrap();
    assert_err(
        ch.unary_blocking(methods::KEEP_ALIVE, ping("a", "b"), None),
        Status::TlsUnknownIssuer,
        &["does not verify"],
    );
}

#[test]
fn v3_leaf_with_the_name_only_in_cn_is_accepted_under_a_configured_ca() {
    let s = Script::new();
    std::fs::write(s.path("server.ext"), "basicConstraints = CA:FALSE\n").unwrap();
    sign(s.tmp.path(), s.tmp.path(), "server.csr", "365", Some("server.ext"), "server3.crt");
    assert_eq!(version_of(&s.path("server3.crt")), "Version: 3 (0x2)");
    let server = s.tls_server("server3.crt", "server.pem");
    let dir = s.agent_dir("agent", None);
    let ch = Channel::new(&config(&format!("localhost:{}", server.addr().port()), &dir, &[])).unwrap();
    ch.unary_blocking(methods::KEEP_ALIVE, ping("cn", "only"), None).unwrap();
}
