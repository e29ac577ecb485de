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
//! ([`Report::json`]); `runner` runs the check.
//!
//! [`tls::plan`]: crate::tls::plan
//! [`ClientTls::load`]: crate::tls::ClientTls::load
//! [`Channel`]: crate::Channel

mod describe;
mod human;
mod json;
mod report;
mod runner;

pub use describe::describe_cert;
pub use report::{
    BackendReport, CertInfo, FileContent, FileReport, Handshake, KeyInfo, Problem, Report, Setting, Step,
};
pub use runner::{fix_for, run, CheckOptions, CHECK_NAME};
