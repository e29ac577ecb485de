//! The runner of `swtls check`: the configuration as an agent would load it, the TLS mode
//! and the files, then each backend (TCP, the handshake, a keepAlive through a channel),
//! and the fix for each problem found.

use super::describe::{describe_cert, describe_files};
use super::report::{BackendReport, CertInfo, Handshake, Problem, Report, Setting, Step};
use crate::backend::Backend;
use crate::channel::Channel;
use crate::config::{Config, KEYS};
use crate::connect::{self, LinkStats, Target};
use crate::error::{Error, Status};
use crate::logging::LogLevel;
use crate::tls::{self, ClientTls};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEEP_ALIVE: &str = "/skywalking.v3.ManagementService/keepAlive";

/// The service and instance names of the keepAlive the check sends.
pub const CHECK_NAME: &str = "swtls-check";

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// `key=value` settings applied in order after the environment.
    pub sets: Vec<(String, String)>,
    /// Load the `SW_AGENT_*` / `SWTLS_CA_DIR` environment variables first (as agents do).
    pub use_env: bool,
    /// Time allowed for each network step (connect, handshake, keepAlive).
    pub timeout: Duration,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { sets: Vec::new(), use_env: true, timeout: Duration::from_secs(10) }
    }
}

/// Runs the check. Library warnings logged meanwhile are captured into the report (the
/// log sink is set to a collector for the duration, then restored to stderr).
pub fn run(opts: &CheckOptions) -> Report {
    let captured = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = captured.clone();
    crate::logging::set_rust_sink(
        Arc::new(move |_level, msg: &str| sink.lock().unwrap_or_else(|p| p.into_inner()).push(msg.to_string())),
        LogLevel::Warn,
    );
    let mut report = run_inner(opts);
    crate::logging::set_c_callback(None, std::ptr::null_mut(), LogLevel::Warn);
    // The direct handshake and the channel each verify the server: each warning once.
    let mut seen = std::collections::HashSet::new();
    let logged = std::mem::take(&mut *captured.lock().unwrap_or_else(|p| p.into_inner()));
    report.library_warnings = logged.into_iter().filter(|w| seen.insert(w.clone())).collect();
    report
}

fn run_inner(opts: &CheckOptions) -> Report {
    let mut report = Report {
        // The same string as swtls_version().
        version: unsafe { std::ffi::CStr::from_ptr(crate::ffi::swtls_version()) }.to_string_lossy().into_owned(),
        ..Report::default()
    };

    // Configuration: the environment, then --set in order (later wins).
    let mut config = Config::default();
    if opts.use_env {
        for key in KEYS {
            if let Some(v) = std::env::var_os(key.env) {
                report.settings.push(Setting {
                    key: key.name.to_string(),
                    value: shown_value(key.name, &v.to_string_lossy()),
                    source: key.env.to_string(),
                });
            }
        }
        if let Err(e) = config.load_env() {
            report.config_problem = Some(problem("configuration", e, None));
            return report;
        }
    }
    for (k, v) in &opts.sets {
        report.settings.push(Setting { key: k.clone(), value: shown_value(k, v), source: "--set".to_string() });
        if let Err(e) = config.set(k, v) {
            report.config_problem = Some(problem("configuration", e, None));
            return report;
        }
    }

    // The TLS mode, and the files (described whether or not the plan succeeds).
    let plan = tls::plan(&config);
    report.files = describe_files(&config);
    let plan = match plan {
        Ok(p) => p,
        Err(e) => {
            report.plan_problem = Some(problem("TLS mode", e, Some(&config)));
            return report;
        }
    };
    report.mode = Some(plan.mode);
    report.reason = Some(plan.reason.clone());
    if let Some(warning) = tls::plaintext_token_warning(&plan, &config) {
        warn!("{warning}");
    }
    let client_tls = match ClientTls::load(&plan) {
        Ok(t) => t,
        Err(e) => {
            report.files_problem = Some(problem("files", e, Some(&config)));
            return report;
        }
    };

    for backend in &config.backends {
        report.backends.push(check_backend(&config, backend, client_tls.as_ref(), &plan.reason, opts.timeout));
    }
    report
}

fn shown_value(key: &str, value: &str) -> String {
    if crate::config::is_secret_key(key) && !value.is_empty() {
        "(set, not shown)".to_string()
    } else {
        value.to_string()
    }
}

fn problem(scope: &str, error: Error, config: Option<&Config>) -> Problem {
    let fix = fix_for(error.status, config);
    Problem { scope: scope.to_string(), status: error.status, cause: error.message, fix }
}

/// The fix for a status, in words. The library's messages often say it already; this
/// is the short form printed next to them.
pub fn fix_for(status: Status, config: Option<&Config>) -> String {
    let ca_dir = config.map(|c| format!("the ca folder ({})", c.ca_dir.display())).unwrap_or("the ca folder".into());
    match status {
        Status::ConfigUnknownKey => "use one of the known keys (listed in the message and in `swtls --help`); \
             environment variable names are not keys"
            .into(),
        Status::ConfigInvalidValue => "give the key a value of its kind: true or false for agent.force_tls, a whole \
             number of seconds (1 or more) for the timeouts, a DNS name or IP address for \
             agent.ssl_target_name_override"
            .into(),
        Status::ConfigInvalidBackend => "list backends as host:port separated by commas, e.g. \
             oap-1:11800,oap-2:11800 or [::1]:11800, with ports from 1 to 65535"
            .into(),
        Status::InvalidUtf8 => "set the variable to UTF-8 text".into(),
        Status::FileNotFound => {
            format!("create the file or correct the path; leave the key unset to use the default file in {ca_dir}")
        }
        Status::FileUnreadable => "make the file readable by this user, and make sure the path is a file".into(),
        Status::CertificateInvalid => "put the PEM certificates (-----BEGIN CERTIFICATE-----) in the file; \
             `swtls certs` makes a working set"
            .into(),
        Status::PrivateKeyInvalid => "put the unencrypted private key of client.crt in the file (PKCS#8, RSA \
             PKCS#1 or SEC1 EC); decrypt an encrypted one with `openssl pkey -in FILE -out FILE.plain`"
            .into(),
        Status::KeyMismatch => "use the private key the client certificate was issued for (or the certificate \
             issued for this key)"
            .into(),
        Status::ClientCertIncomplete => {
            "add the missing file, or remove the other one for one-way TLS (mutual TLS needs both)".into()
        }
        Status::TlsUnknownIssuer => "put the CA certificate that signed the backend's certificate in ca.crt \
             (agent.ssl_trusted_ca_path)"
            .into(),
        Status::TlsNameMismatch => "connect by a name the certificate lists, set agent.ssl_target_name_override, \
             or reissue the server certificate with this name (`swtls certs --server-name NAME`)"
            .into(),
        Status::TlsCertificateExpired => "renew the backend's certificate; check the clocks of both machines".into(),
        Status::TlsBadCertificate => {
            "reissue the backend's certificate as an X.509 v3 certificate with subjectAltName (`swtls certs`)".into()
        }
        Status::TlsClientCertRequired => format!(
            "put client.crt and client.pem in {ca_dir}, or set agent.ssl_cert_chain_path and agent.ssl_key_path"
        ),
        Status::TlsClientCertRejected => "issue client.crt from a CA the backend trusts (its trusted CA file), \
             valid now and meant for client authentication"
            .into(),
        Status::TlsHandshakeFailed => "check that the address is the backend's gRPC port with TLS 1.2 or 1.3 and \
             HTTP/2 (ALPN h2)"
            .into(),
        Status::ServerNotTls => "enable TLS on the backend; or, if the link is meant to be plaintext, remove \
             ca.crt and set agent.force_tls=false"
            .into(),
        Status::ServerRequiresTls => {
            format!("put the backend's CA certificate in ca.crt in {ca_dir}, or set agent.force_tls=true")
        }
        Status::Unavailable => "check collector.backend_service (host and port), that the backend runs, and \
             firewalls between here and there"
            .into(),
        Status::Unauthenticated => "set agent.authentication to the backend's token".into(),
        Status::PermissionDenied => "ask the backend's operator to allow this agent".into(),
        Status::DeadlineExceeded => "the backend did not answer in time: check it is the OAP gRPC port and not \
             overloaded, or allow more time (--timeout)"
            .into(),
        Status::Unimplemented => "the port speaks gRPC but not SkyWalking's ManagementService: point \
             collector.backend_service at the OAP gRPC port (11800 by default)"
            .into(),
        _ => "see the cause above".into(),
    }
}

fn check_backend(
    config: &Config,
    backend: &Backend,
    tls: Option<&ClientTls>,
    plaintext_reason: &str,
    timeout: Duration,
) -> BackendReport {
    let server_name = config.target_name_override.clone().unwrap_or_else(|| backend.host.clone());
    let mut report = BackendReport {
        backend: backend.to_string(),
        server_name: server_name.clone(),
        tcp: Step::Skipped(String::new()),
        handshake: None,
        keep_alive: Step::Skipped(String::new()),
        problem: None,
    };

    // TCP and the handshake through the library's own connector, to the target a channel
    // would build for this backend.
    let target = Arc::new(Target::new(
        backend.clone(),
        server_name,
        tls.cloned(),
        plaintext_reason.to_string(),
        Arc::new(LinkStats::default()),
    ));
    match crate::runtime::block_on(direct_connection(&target, timeout)) {
        Ok((tcp, handshake)) => {
            report.tcp = tcp;
            report.handshake = handshake;
        }
        Err(e) => report.tcp = Step::Failed(e),
    }

    // The keepAlive goes through a channel to this backend alone: the library's own path.
    let mut one = config.clone();
    one.backends = vec![backend.clone()];
    let started = Instant::now();
    report.keep_alive = match Channel::new(&one) {
        Err(e) => Step::Failed(e),
        Ok(ch) => match ch.unary_blocking(KEEP_ALIVE, ping(CHECK_NAME, CHECK_NAME), Some(timeout)) {
            Ok(_) => Step::Ok(started.elapsed()),
            Err(e) => Step::Failed(e),
        },
    };

    // The verdict: the library's explanation of the failed call; else what the direct
    // connection found.
    let scope = format!("backend {backend}");
    report.problem = match (&report.keep_alive, &report.handshake, &report.tcp) {
        (Step::Failed(e), _, _) => Some(problem(&scope, e.clone(), Some(config))),
        (_, Some(Step::Failed(e)), _) | (_, _, Step::Failed(e)) => Some(problem(&scope, e.clone(), Some(config))),
        _ => None,
    };
    report
}

/// TCP, then (TLS modes) the handshake, with the functions every channel connects with
/// ([`connect::tcp_connect`], [`connect::secure`]), to show what was negotiated. A short
/// read after the handshake catches a server that refuses the client (certificate) only
/// once the handshake is over, as TLS 1.3 servers do.
async fn direct_connection(target: &Arc<Target>, timeout: Duration) -> (Step<String>, Option<Step<Handshake>>) {
    let backend = &target.backend;
    let tcp = match tokio::time::timeout(timeout, connect::tcp_connect(target)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return (Step::Failed(e), None),
        Err(_) => {
            let e = format!("cannot connect to the backend {backend}: no answer within {timeout:?}");
            return (Step::Failed(Error::new(Status::Unavailable, e)), None);
        }
    };
    let address = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| backend.to_string());
    let Some(tls) = &target.tls else {
        return (Step::Ok(address), None);
    };
    let handshake = match tokio::time::timeout(timeout, connect::secure(target, tcp)).await {
        Err(_) => Step::Failed(Error::new(
            Status::TlsHandshakeFailed,
            format!("the TLS handshake with {backend} did not finish within {timeout:?}"),
        )),
        Ok(Err(e)) => Step::Failed(e),
        Ok(Ok(mut conn)) => {
            let requested = conn.client_cert_requested();
            let mut h = Handshake {
                client_cert_requested: requested,
                client_cert_sent: requested && tls.has_client_cert(),
                ..Handshake::default()
            };
            if let Some(session) = conn.tls() {
                h.tls_version = session.protocol_version().map(version_name).unwrap_or_default();
                h.cipher_suite =
                    session.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_default();
                h.alpn = session.alpn_protocol().map(|a| String::from_utf8_lossy(a).into_owned());
                for (i, der) in session.peer_certificates().unwrap_or_default().iter().enumerate() {
                    h.server_chain.push(
                        describe_cert(der.as_ref(), i == 0)
                            .unwrap_or_else(|| CertInfo { subject: "(cannot be parsed)".into(), ..Default::default() }),
                    );
                }
            }
            match conn.refusal(Duration::from_millis(700).min(timeout)).await {
                Some(e) => Step::Failed(e),
                None => Step::Ok(h),
            }
        }
    };
    (Step::Ok(address), Some(handshake))
}

fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2".into(),
        other => format!("{other:?}"),
    }
}

/// `InstancePingPkg { service = 1, serviceInstance = 2 }`, protobuf-encoded.
fn ping(service: &str, instance: &str) -> bytes::Bytes {
    let mut out = Vec::new();
    for (tag, value) in [(0x0a_u8, service), (0x12, instance)] {
        out.push(tag);
        let mut n = value.len();
        while n >= 0x80 {
            out.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend_from_slice(value.as_bytes());
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_is_protobuf() {
        assert_eq!(&ping("ab", "c")[..], b"\x0a\x02ab\x12\x01c");
        let long = "x".repeat(200);
        let p = ping(&long, "");
        assert_eq!(&p[..3], &[0x0a, 0xc8, 0x01]);
    }

    #[test]
    fn every_status_of_a_check_has_a_specific_fix() {
        for s in [
            Status::ConfigUnknownKey,
            Status::ConfigInvalidValue,
            Status::ConfigInvalidBackend,
            Status::FileNotFound,
            Status::CertificateInvalid,
            Status::PrivateKeyInvalid,
            Status::KeyMismatch,
            Status::ClientCertIncomplete,
            Status::TlsUnknownIssuer,
            Status::TlsNameMismatch,
            Status::TlsCertificateExpired,
            Status::TlsClientCertRequired,
            Status::TlsClientCertRejected,
            Status::ServerNotTls,
            Status::ServerRequiresTls,
            Status::Unavailable,
        ] {
            assert_ne!(fix_for(s, None), "see the cause above", "{s:?}");
        }
    }
}
