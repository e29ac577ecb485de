//! `swtls check`: takes the configuration an agent would use, shows what swtls makes of it
//! (the TLS mode and why, every file with what it holds), then connects to each backend the
//! way the library does, and says in plain words what is wrong and how to fix it.
//!
//! Nothing here decides anything on its own: the mode comes from [`tls::plan`], the files
//! are judged by [`ClientTls::load`], the handshake uses the library's rustls
//! configuration ([`ClientTls::for_connection`]) and its error classification, and the
//! keepAlive round trip goes through a [`Channel`]. What this module adds is the
//! description of certificates and keys (subjects, names, validity, key types, legacy
//! forms) and the report, for people ([`Report::human`]) or scripts ([`Report::json`]).

use crate::backend::Backend;
use crate::config::{Config, KEYS};
use crate::error::{Error, Status};
use crate::logging::LogLevel;
use crate::tls::{self, ClientTls, HandshakeContext, TlsMode};
use crate::Channel;
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;
use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::{PrivateKeyDer, ServerName};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

/// The service and instance names of the keepAlive the check sends.
pub const CHECK_NAME: &str = "swtls-check";
const KEEP_ALIVE: &str = "/skywalking.v3.ManagementService/keepAlive";
/// Certificates expiring sooner than this get a warning.
const EXPIRY_WARNING_DAYS: i64 = 30;

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

/// A problem: its status, the cause in plain words (the library's message), and the fix.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Where: `configuration`, `TLS mode`, `files`, or `backend HOST:PORT`.
    pub scope: String,
    pub status: Status,
    pub cause: String,
    pub fix: String,
}

/// One configuration value that was set, and where it came from.
#[derive(Debug, Clone)]
pub struct Setting {
    pub key: String,
    /// The value as given (`(set, not shown)` for the token).
    pub value: String,
    /// `--set`, or the environment variable's name.
    pub source: String,
}

/// One certificate, described.
#[derive(Debug, Clone, Default)]
pub struct CertInfo {
    /// X.509 version as written: 1 or 3.
    pub version: u32,
    pub subject: String,
    pub issuer: String,
    /// `DNS:name` and `IP:address` entries.
    pub subject_alt_names: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    /// `valid, 364 days left`, `EXPIRED 3 days ago`, `not valid yet (starts in 2 days)`.
    pub validity: String,
    pub key: String,
    pub is_ca: bool,
    pub self_issued: bool,
    /// `serverAuth`, `clientAuth`, ... (empty: no extendedKeyUsage extension).
    pub extended_key_usage: Vec<String>,
    /// Why the certificate is a legacy form, if it is one.
    pub legacy: Vec<String>,
    /// Things worth knowing that do not stop it from working.
    pub warnings: Vec<String>,
    /// The SubjectPublicKeyInfo's key bits, to compare with a private key.
    #[doc(hidden)]
    pub public_key: Vec<u8>,
}

/// A private key file, described.
#[derive(Debug, Clone, Default)]
pub struct KeyInfo {
    /// `PKCS#8 PEM`, `RSA PKCS#1 PEM`, `SEC1 EC PEM`, `PKCS#8 DER`, ...
    pub format: String,
    /// `ECDSA P-256`, `RSA 2048`, `Ed25519`, or why it cannot be told.
    pub algorithm: String,
    /// Whether it belongs to the client certificate (`None`: cannot tell).
    pub matches_certificate: Option<bool>,
    pub warnings: Vec<String>,
    /// The public key's bits, to compare with the certificate's.
    #[doc(hidden)]
    pub public_key: Vec<u8>,
}

/// What a file holds.
#[derive(Debug, Clone)]
pub enum FileContent {
    Missing,
    /// Could not be read or parsed for display; the library's verdict is in the report.
    Unusable(String),
    Certificates(Vec<CertInfo>),
    Key(KeyInfo),
}

/// One of the three files of the TLS configuration.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// `ca`, `client_cert` or `client_key`.
    pub role: &'static str,
    pub config_key: &'static str,
    pub path: PathBuf,
    /// Set by its configuration key (then it must exist) rather than the ca folder default.
    pub explicit: bool,
    pub content: FileContent,
    /// File permission bits (Unix).
    pub mode: Option<u32>,
}

/// The TLS handshake with one backend.
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    pub tls_version: String,
    pub cipher_suite: String,
    pub alpn: Option<String>,
    /// The server requested a client certificate.
    pub client_cert_requested: bool,
    /// A client certificate was configured and sent on request.
    pub client_cert_sent: bool,
    pub server_chain: Vec<CertInfo>,
}

/// One step of a backend check: done, failed (with the message), or not run.
#[derive(Debug, Clone)]
pub enum Step<T> {
    Ok(T),
    Failed(Error),
    Skipped(String),
}

impl<T> Step<T> {
    pub fn is_ok(&self) -> bool {
        matches!(self, Step::Ok(_))
    }
}

/// One backend: TCP, TLS handshake (TLS modes only), and the keepAlive round trip.
#[derive(Debug, Clone)]
pub struct BackendReport {
    pub backend: String,
    pub server_name: String,
    /// The address connected to.
    pub tcp: Step<String>,
    /// `None` in plaintext mode.
    pub handshake: Option<Step<Handshake>>,
    /// Round-trip time.
    pub keep_alive: Step<Duration>,
    pub problem: Option<Problem>,
}

/// Everything `swtls check` found.
#[derive(Debug, Clone)]
pub struct Report {
    pub version: String,
    pub settings: Vec<Setting>,
    pub config_problem: Option<Problem>,
    pub mode: Option<TlsMode>,
    pub reason: Option<String>,
    pub plan_problem: Option<Problem>,
    pub files: Vec<FileReport>,
    pub files_problem: Option<Problem>,
    pub backends: Vec<BackendReport>,
    /// Warnings the library logged during the check (for example about a legacy certificate
    /// it accepted).
    pub library_warnings: Vec<String>,
}

impl Report {
    /// Every problem found, in order.
    pub fn problems(&self) -> Vec<&Problem> {
        let mut out: Vec<&Problem> =
            [&self.config_problem, &self.plan_problem, &self.files_problem].into_iter().flatten().collect();
        out.extend(self.backends.iter().filter_map(|b| b.problem.as_ref()));
        out
    }

    /// True when the configuration, the files and every backend work.
    pub fn ok(&self) -> bool {
        self.problems().is_empty() && !self.backends.is_empty()
    }

    /// 0 when everything works, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.ok() {
            0
        } else {
            1
        }
    }

    /// Every warning: files, certificates, the server's chain, and the library's log.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.files {
            match &f.content {
                FileContent::Certificates(certs) => {
                    for (i, c) in certs.iter().enumerate() {
                        for w in c.legacy.iter().chain(&c.warnings) {
                            out.push(format!("{} certificate #{}: {w}", f.path.display(), i + 1));
                        }
                    }
                }
                FileContent::Key(k) => {
                    for w in &k.warnings {
                        out.push(format!("{}: {w}", f.path.display()));
                    }
                }
                _ => {}
            }
        }
        for b in &self.backends {
            if let Some(Step::Ok(h)) = &b.handshake {
                for (i, c) in h.server_chain.iter().enumerate() {
                    for w in c.legacy.iter().chain(&c.warnings) {
                        out.push(format!("{} server certificate #{}: {w}", b.backend, i + 1));
                    }
                }
            }
        }
        out.extend(self.library_warnings.iter().cloned());
        out
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
        settings: Vec::new(),
        config_problem: None,
        mode: None,
        reason: None,
        plan_problem: None,
        files: Vec::new(),
        files_problem: None,
        backends: Vec::new(),
        library_warnings: Vec::new(),
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
        report.backends.push(check_backend(&config, backend, client_tls.as_ref(), opts.timeout));
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

// ---------------------------------------------------------------------------------------
// Files

fn describe_files(config: &Config) -> Vec<FileReport> {
    let entries = [
        ("ca", "agent.ssl_trusted_ca_path", &config.ca_path, "ca.crt"),
        ("client_cert", "agent.ssl_cert_chain_path", &config.cert_path, "client.crt"),
        ("client_key", "agent.ssl_key_path", &config.key_path, "client.pem"),
    ];
    let mut out: Vec<FileReport> = entries
        .iter()
        .map(|(role, key, explicit, default)| {
            let path = (*explicit).clone().unwrap_or_else(|| config.ca_dir.join(default));
            let (content, mode) = match std::fs::metadata(&path) {
                Err(_) => (FileContent::Missing, None),
                Ok(m) if !m.is_file() => (FileContent::Unusable("not a regular file".into()), None),
                Ok(m) => {
                    let content = match std::fs::read(&path) {
                        Err(e) => FileContent::Unusable(format!("cannot read: {e}")),
                        Ok(bytes) if *role == "client_key" => describe_key_file(&bytes),
                        Ok(bytes) => describe_cert_file(&bytes),
                    };
                    (content, file_mode(&m))
                }
            };
            FileReport { role, config_key: key, path, explicit: explicit.is_some(), content, mode }
        })
        .collect();

    // The key against the client certificate; the key file's permissions.
    let cert_key = match &out[1].content {
        FileContent::Certificates(c) => c.first().map(|c| c.public_key.clone()),
        _ => None,
    };
    let mode = out[2].mode;
    if let FileContent::Key(k) = &mut out[2].content {
        if let Some(cert) = cert_key.filter(|c| !c.is_empty()) {
            if !k.public_key.is_empty() {
                k.matches_certificate = Some(cert == k.public_key);
            }
        }
        if let Some(m) = mode {
            if m & 0o077 != 0 {
                k.warnings.push(format!(
                    "mode {:04o}: the private key is readable by group or others; `chmod 600` it",
                    m & 0o7777
                ));
            }
        }
    }
    out
}

#[cfg(unix)]
fn file_mode(m: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn file_mode(_: &std::fs::Metadata) -> Option<u32> {
    None
}

/// The PEM sections of a file, or, for a file that is not PEM, its bytes as one DER item.
fn sections(bytes: &[u8]) -> Result<Vec<(SectionKind, Vec<u8>)>, String> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("empty".into());
    }
    let mut out = Vec::new();
    for item in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(bytes) {
        match item {
            Ok(s) => out.push(s),
            Err(rustls_pki_types::pem::Error::NoItemsFound) => break,
            Err(e) => return Err(format!("not valid PEM: {e}")),
        }
    }
    if out.is_empty() {
        let text = String::from_utf8_lossy(bytes);
        if text.contains("ENCRYPTED") {
            return Err("an encrypted private key".into());
        }
        if text.contains("-----BEGIN") {
            return Err("no PEM block of a known kind".into());
        }
        if bytes.first() == Some(&0x30) {
            return Ok(Vec::new()); // DER: the caller decides what it is
        }
        return Err("no PEM data".into());
    }
    Ok(out)
}

fn describe_cert_file(bytes: &[u8]) -> FileContent {
    let ders: Vec<Vec<u8>> = match sections(bytes) {
        Err(e) => return FileContent::Unusable(e),
        Ok(s) if s.is_empty() => vec![bytes.to_vec()],
        Ok(s) => {
            let certs: Vec<Vec<u8>> =
                s.iter().filter(|(k, _)| *k == SectionKind::Certificate).map(|(_, d)| d.clone()).collect();
            if certs.is_empty() {
                return FileContent::Unusable(format!("holds {} and no certificate", kind_name(s[0].0)));
            }
            certs
        }
    };
    let mut out = Vec::new();
    for (i, der) in ders.iter().enumerate() {
        match describe_cert(der, false) {
            Some(c) => out.push(c),
            None => {
                let mut c = CertInfo { subject: "(cannot be parsed)".into(), ..Default::default() };
                c.warnings.push(format!("certificate #{} cannot be parsed as X.509", i + 1));
                out.push(c);
            }
        }
    }
    FileContent::Certificates(out)
}

fn kind_name(kind: SectionKind) -> &'static str {
    match kind {
        SectionKind::Certificate => "a CERTIFICATE",
        SectionKind::PrivateKey => "a PRIVATE KEY",
        SectionKind::RsaPrivateKey => "an RSA PRIVATE KEY",
        SectionKind::EcPrivateKey => "an EC PRIVATE KEY",
        SectionKind::PublicKey => "a PUBLIC KEY",
        SectionKind::Crl => "an X509 CRL",
        SectionKind::Csr => "a CERTIFICATE REQUEST",
        _ => "another PEM block",
    }
}

fn describe_key_file(bytes: &[u8]) -> FileContent {
    let (format, der) = match sections(bytes) {
        Err(e) => return FileContent::Unusable(e),
        Ok(s) if s.is_empty() => match PrivateKeyDer::try_from(bytes.to_vec()) {
            Ok(k) => {
                let f = match &k {
                    PrivateKeyDer::Pkcs1(_) => "RSA PKCS#1 DER",
                    PrivateKeyDer::Sec1(_) => "SEC1 EC DER",
                    _ => "PKCS#8 DER",
                };
                (f, k)
            }
            Err(_) => return FileContent::Unusable("DER data that is not a private key".into()),
        },
        Ok(s) => {
            let Some((kind, der)) = s.into_iter().find(|(k, _)| {
                matches!(k, SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey)
            }) else {
                return FileContent::Unusable("holds no private key".into());
            };
            match kind {
                SectionKind::RsaPrivateKey => ("RSA PKCS#1 PEM", PrivateKeyDer::Pkcs1(der.into())),
                SectionKind::EcPrivateKey => ("SEC1 EC PEM", PrivateKeyDer::Sec1(der.into())),
                _ => ("PKCS#8 PEM", PrivateKeyDer::Pkcs8(der.into())),
            }
        }
    };
    let mut info = KeyInfo { format: format.into(), ..Default::default() };
    match tls::provider().key_provider.load_private_key(der) {
        Ok(signing) => match signing.public_key() {
            Some(spki) => match SubjectPublicKeyInfo::from_der(spki.as_ref()) {
                Ok((_, spki)) => {
                    info.algorithm = key_description(&spki);
                    info.public_key = spki.subject_public_key.data.to_vec();
                }
                Err(_) => info.algorithm = format!("{:?}", signing.algorithm()),
            },
            None => info.algorithm = format!("{:?}", signing.algorithm()),
        },
        Err(e) => info.algorithm = format!("not usable: {e}"),
    }
    FileContent::Key(info)
}

/// `RSA 2048`, `ECDSA P-256`, `Ed25519`, or the algorithm's OID.
fn key_description(spki: &SubjectPublicKeyInfo<'_>) -> String {
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" => {
            let bits = match spki.parsed() {
                Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
                    let m = rsa.modulus;
                    let skip = m.iter().take_while(|b| **b == 0).count();
                    let m = &m[skip..];
                    m.first().map(|b| m.len() * 8 - b.leading_zeros() as usize).unwrap_or(0)
                }
                _ => 0,
            };
            format!("RSA {bits}")
        }
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            let name = match curve.as_str() {
                "1.2.840.10045.3.1.7" => "P-256".to_string(),
                "1.3.132.0.34" => "P-384".to_string(),
                "1.3.132.0.35" => "P-521".to_string(),
                other => format!("curve {other}"),
            };
            format!("ECDSA {name}")
        }
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        other => format!("key algorithm {other}"),
    }
}

fn format_time(secs: i64) -> String {
    if secs < 0 {
        return format!("{secs} (before 1970)");
    }
    tls::format_unix(secs as u64)
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn days(secs: i64) -> String {
    let d = secs / 86_400;
    if d == 1 {
        "1 day".into()
    } else if d == 0 {
        format!("{} hours", secs / 3600)
    } else {
        format!("{d} days")
    }
}

/// Describes one DER certificate; `server_leaf` adds the checks that only matter for the
/// certificate a server presents (the name only in the CN, subject equal to issuer).
pub fn describe_cert(der: &[u8], server_leaf: bool) -> Option<CertInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut c = CertInfo {
        version: cert.version().0 + 1,
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        key: key_description(cert.public_key()),
        public_key: cert.public_key().subject_public_key.data.to_vec(),
        self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
        ..Default::default()
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            c.subject_alt_names.push(match name {
                GeneralName::DNSName(d) => format!("DNS:{d}"),
                GeneralName::IPAddress(ip) => match ip.len() {
                    4 => format!("IP:{}", std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).ok()?)),
                    16 => format!("IP:{}", std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).ok()?)),
                    _ => "IP:(malformed)".into(),
                },
                GeneralName::URI(u) => format!("URI:{u}"),
                GeneralName::RFC822Name(e) => format!("email:{e}"),
                other => format!("{other:?}"),
            });
        }
    }
    if let Ok(Some(bc)) = cert.basic_constraints() {
        c.is_ca = bc.value.ca;
    }
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        let e = eku.value;
        for (on, name) in [(e.any, "any"), (e.server_auth, "serverAuth"), (e.client_auth, "clientAuth")] {
            if on {
                c.extended_key_usage.push(name.to_string());
            }
        }
        for oid in &e.other {
            c.extended_key_usage.push(oid.to_id_string());
        }
    }
    let (nb, na) = (cert.validity().not_before.timestamp(), cert.validity().not_after.timestamp());
    c.not_before = format_time(nb);
    c.not_after = format_time(na);
    let now = now_unix();
    c.validity = if now < nb {
        c.warnings.push(format!("not valid yet: valid from {}", c.not_before));
        format!("NOT VALID YET (starts in {})", days(nb - now))
    } else if now > na {
        c.warnings.push(format!("expired {} ago, at {}", days(now - na), c.not_after));
        format!("EXPIRED {} ago", days(now - na))
    } else {
        if na - now < EXPIRY_WARNING_DAYS * 86_400 {
            c.warnings.push(format!("expires in {}, at {}", days(na - now), c.not_after));
        }
        format!("valid, {} left", days(na - now))
    };
    if c.version == 1 {
        c.legacy.push(
            "legacy X.509 v1 certificate: no extensions (no subjectAltName, key usage or CA flag), as made by \
             `openssl x509 -req` without an extension file (SkyWalking's documented script); `swtls certs` makes \
             modern ones"
                .into(),
        );
    }
    if server_leaf && !c.is_ca {
        let has_names = c.subject_alt_names.iter().any(|n| n.starts_with("DNS:") || n.starts_with("IP:"));
        if !has_names {
            let cn = cert.subject().iter_common_name().next().and_then(|a| a.as_str().ok()).unwrap_or("");
            c.legacy.push(format!(
                "CN-only: the server name is only in the subject CN ('{cn}'), there is no subjectAltName"
            ));
        }
        if c.self_issued {
            c.legacy.push(
                "the subject equals the issuer (often CN=localhost for both, the script's default): clients based \
                 on OpenSSL take it for a self-signed certificate"
                    .into(),
            );
        }
    }
    Some(c)
}

// ---------------------------------------------------------------------------------------
// Backends

fn check_backend(config: &Config, backend: &Backend, tls: Option<&ClientTls>, timeout: Duration) -> BackendReport {
    let server_name = config.target_name_override.clone().unwrap_or_else(|| backend.host.clone());
    let mut report = BackendReport {
        backend: backend.to_string(),
        server_name: server_name.clone(),
        tcp: Step::Skipped(String::new()),
        handshake: None,
        keep_alive: Step::Skipped(String::new()),
        problem: None,
    };

    let direct = crate::runtime::block_on(direct_connection(backend, &server_name, tls, timeout));
    match direct.and_then(|r| r) {
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

/// TCP, then (TLS modes) a handshake with the library's rustls configuration, to show what
/// was negotiated. A short read after the handshake catches a server that refuses the
/// client (certificate) only once the handshake is over, as TLS 1.3 servers do.
async fn direct_connection(
    backend: &Backend,
    server_name: &str,
    tls: Option<&ClientTls>,
    timeout: Duration,
) -> Result<(Step<String>, Option<Step<Handshake>>), Error> {
    let unavailable = |what: String| Error::new(Status::Unavailable, what);
    let addrs: Vec<std::net::SocketAddr> =
        match tokio::time::timeout(timeout, tokio::net::lookup_host((backend.host.as_str(), backend.port))).await {
            Ok(Ok(a)) => a.collect(),
            Ok(Err(e)) => return Err(unavailable(format!("cannot resolve '{}' ({backend}): {e}", backend.host))),
            Err(_) => return Err(unavailable(format!("resolving '{}' took longer than {timeout:?}", backend.host))),
        };
    let mut last = format!("'{}' resolved to no address", backend.host);
    let mut connected = None;
    for addr in &addrs {
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                connected = Some((s, *addr));
                break;
            }
            Ok(Err(e)) => last = format!("{addr}: {e}"),
            Err(_) => last = format!("{addr}: no answer within {timeout:?}"),
        }
    }
    let Some((tcp, addr)) = connected else {
        return Ok((Step::Failed(unavailable(format!("cannot connect to {backend}: {last}"))), None));
    };
    let Some(tls) = tls else {
        return Ok((Step::Ok(addr.to_string()), None));
    };

    let (config, auth) = tls.for_connection().await;
    // Observe whether the server asks for a client certificate (the library's resolver
    // records it only when none is configured).
    let observer = Arc::new(ObserveClientAuth { inner: auth.clone(), asked: AtomicBool::new(false) });
    let mut config = (*config).clone();
    config.client_auth_cert_resolver = observer.clone();
    let config = Arc::new(config);
    let ctx = |asked: bool| HandshakeContext {
        backend: backend.to_string(),
        server_name: server_name.to_string(),
        trust: tls.trust_text(),
        had_client_cert: tls.has_client_cert(),
        asked_without_cert: asked,
    };
    let explain = |e: &std::io::Error, asked: bool| -> Error {
        match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            Some(tls_err) => tls::classify_tls_error(tls_err, &ctx(asked)),
            None => Error::new(Status::TlsHandshakeFailed, format!("TLS handshake with {backend} failed: {e}")),
        }
    };
    let name = ServerName::try_from(server_name.to_string()).map_err(|_| {
        Error::new(Status::ConfigInvalidValue, format!("'{server_name}' is not a valid TLS server name"))
    })?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let handshake = match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Err(_) => Step::Failed(Error::new(
            Status::TlsHandshakeFailed,
            format!("the TLS handshake with {backend} did not finish within {timeout:?}"),
        )),
        Ok(Err(e)) => Step::Failed(explain(&e, auth.asked_without_cert())),
        Ok(Ok(mut stream)) => {
            let (_, conn) = stream.get_ref();
            let requested = observer.asked.load(Ordering::Relaxed);
            let mut h = Handshake {
                tls_version: conn.protocol_version().map(version_name).unwrap_or_default(),
                cipher_suite: conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_default(),
                alpn: conn.alpn_protocol().map(|a| String::from_utf8_lossy(a).into_owned()),
                client_cert_requested: requested,
                client_cert_sent: requested && tls.has_client_cert(),
                server_chain: Vec::new(),
            };
            for (i, der) in conn.peer_certificates().unwrap_or_default().iter().enumerate() {
                h.server_chain.push(
                    describe_cert(der.as_ref(), i == 0)
                        .unwrap_or_else(|| CertInfo { subject: "(cannot be parsed)".into(), ..Default::default() }),
                );
            }
            let mut buf = [0u8; 64];
            let read = tokio::time::timeout(
                Duration::from_millis(700).min(timeout),
                tokio::io::AsyncReadExt::read(&mut stream, &mut buf),
            )
            .await;
            match read {
                Ok(Err(e)) => Step::Failed(explain(&e, auth.asked_without_cert())),
                Ok(Ok(0)) if auth.asked_without_cert() => Step::Failed(tls::classify_tls_error(
                    &rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired),
                    &ctx(true),
                )),
                _ if h.alpn.as_deref() != Some("h2") => Step::Failed(Error::new(
                    Status::TlsHandshakeFailed,
                    format!("{backend} did not agree to HTTP/2 (ALPN h2), so it is not a gRPC endpoint"),
                )),
                _ => Step::Ok(h),
            }
        }
    };
    Ok((Step::Ok(addr.to_string()), Some(handshake)))
}

/// Wraps the library's client-certificate resolver to note whether the server asked.
#[derive(Debug)]
struct ObserveClientAuth {
    inner: Arc<tls::ClientAuth>,
    asked: AtomicBool,
}

impl ResolvesClientCert for ObserveClientAuth {
    fn resolve(&self, issuers: &[&[u8]], schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::Relaxed);
        self.inner.resolve(issuers, schemes)
    }
    fn has_certs(&self) -> bool {
        self.inner.has_certs()
    }
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

// ---------------------------------------------------------------------------------------
// Output

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
