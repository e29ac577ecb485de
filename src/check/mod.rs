//! `swtls check`: takes the configuration an agent would use, shows what swtls makes of it
//! (the TLS mode and why, every file with what it holds), then connects to each backend the
//! way the library does, and says in plain words what is wrong and how to fix it.
//!
//! Nothing here decides anything on its own: the mode comes from [`tls::plan`], the files
//! are judged by [`ClientTls::load`], TCP and the handshake go through the library's own
//! connector (`connect`: its rustls configuration, its diagnosis of failures), and the
//! keepAlive round trip goes through a [`Channel`]. What this module adds is the
//! description of certificates and keys (subjects, names, validity, key types, legacy
//! forms: `describe`) and the report (`report`), for people ([`Report::human`]) or scripts
//! ([`Report::json`]); `run` runs the check.
//!
//! [`tls::plan`]: crate::tls::plan
//! [`ClientTls::load`]: crate::tls::ClientTls::load
//! [`Channel`]: crate::Channel

mod describe;
mod human;
mod json;
mod report;
mod run;

pub use describe::describe_cert;
pub use report::{
    BackendReport, CertInfo, FileContent, FileReport, Handshake, KeyInfo, Problem, Report, Setting, Step,
};
pub use run::fix_for;

use crate::logging::LogLevel;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    let mut report = run::run_inner(opts);
    crate::logging::set_c_callback(None, std::ptr::null_mut(), LogLevel::Warn);
    // The direct handshake and the channel each verify the server: each warning once.
    let mut seen = std::collections::HashSet::new();
    let logged = std::mem::take(&mut *captured.lock().unwrap_or_else(|p| p.into_inner()));
    report.library_warnings = logged.into_iter().filter(|w| seen.insert(w.clone())).collect();
    report
}
