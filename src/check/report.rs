//! What `swtls check` found: the report model, and the problems and warnings it adds up to.

use crate::error::{Error, Status};
use crate::tls::TlsMode;
use std::path::PathBuf;
use std::time::Duration;

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
#[derive(Debug, Clone, Default)]
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
