//! The TLS mode decision table (DESIGN §2): which files exist, and what mode that gives.
//!
//! Fail closed: only a clean "not found" of a *default* path (`ca.crt`, `client.crt`,
//! `client.pem` in a ca folder that was not set explicitly) counts as absent. A path that
//! exists but cannot be used (a broken link, a directory, permission denied), or one that
//! was configured explicitly and is missing, is an error naming it: never a quieter mode.

use super::{TlsMode, Trust};
use crate::config::Config;
use crate::error::{Error, Result, Status};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The outcome of the mode decision: the mode, the files it uses, and why.
#[derive(Debug, Clone)]
pub struct TlsPlan {
    pub mode: TlsMode,
    pub reason: String,
    pub trust: Option<Trust>,
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

pub(crate) const CA_KEY: &str = "agent.ssl_trusted_ca_path";
pub(crate) const CERT_KEY: &str = "agent.ssl_cert_chain_path";
pub(crate) const KEY_KEY: &str = "agent.ssl_key_path";
const DIR_KEY: &str = "agent.ca_dir";

fn unusable(key: &str, path: &Path, why: String) -> Error {
    Error::new(Status::FileUnreadable, format!("{key}: '{}' {why}", path.display()))
}

/// Why a path that `metadata` could not follow is not simply absent: a symbolic link
/// whose target does not exist. `None` when nothing is there at all.
fn broken_link(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_symlink() {
        return None;
    }
    let target = std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_else(|_| "?".into());
    Some(format!(
        "is a symbolic link to '{target}', which does not exist; fix or remove the link (swtls does not treat a \
         broken link as an absent file)"
    ))
}

/// The error for a path whose `metadata` failed with something other than a clean "not
/// found", or `None` for a clean "not found".
fn metadata_error(key: &str, path: &Path, e: &std::io::Error) -> Option<Error> {
    match e.kind() {
        ErrorKind::NotFound => {
            broken_link(path).map(|why| Error::new(Status::FileNotFound, format!("{key}: '{}' {why}", path.display())))
        }
        ErrorKind::PermissionDenied => Some(unusable(
            key,
            path,
            format!(
                "cannot be accessed: permission denied ({e}); let the agent's user read it and enter its folder, \
                 or remove it"
            ),
        )),
        _ => Some(unusable(key, path, format!("cannot be accessed: {e}"))),
    }
}

/// Checks that an explicitly configured ca folder exists and is a folder, when any file
/// is looked for in it (explicit paths for all three files leave it unused).
fn check_dir(config: &Config) -> Result<()> {
    let used = config.ca_path.is_none() || config.cert_path.is_none() || config.key_path.is_none();
    if !config.ca_dir_explicit || !used {
        return Ok(());
    }
    let dir = &config.ca_dir;
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(unusable(DIR_KEY, dir, "is not a folder".into())),
        Err(e) => match metadata_error(DIR_KEY, dir, &e) {
            Some(err) => Err(err),
            None => Err(Error::new(
                Status::FileNotFound,
                format!(
                    "{DIR_KEY}: the ca folder '{}' does not exist (it was set explicitly, so swtls will not fall \
                     back to plaintext); fix the path, or unset it to use ./ca",
                    dir.display()
                ),
            )),
        },
    }
}

/// A configured file: its path and whether it is there. An explicit path must exist; a
/// default one may be cleanly absent; anything else is an error naming the path.
fn locate(explicit: &Option<PathBuf>, dir: &Path, default: &str, key: &str) -> Result<(PathBuf, bool)> {
    let (path, is_explicit) = match explicit {
        Some(p) => (p.clone(), true),
        None => (dir.join(default), false),
    };
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok((path, true)),
        Ok(m) => Err(unusable(
            key,
            &path,
            if m.is_dir() {
                if is_explicit {
                    format!("is a folder, not a regular file; point {key} at the file itself")
                } else {
                    format!("is a folder, not a regular file; replace it with the {default} file")
                }
            } else {
                "is not a regular file".into()
            },
        )),
        Err(e) => match metadata_error(key, &path, &e) {
            Some(err) => Err(err),
            None if is_explicit => Err(Error::new(
                Status::FileNotFound,
                format!(
                    "{key}: file '{}' does not exist (it was set explicitly, so swtls will not fall back to \
                     another mode)",
                    path.display()
                ),
            )),
            None => Ok((path, false)),
        },
    }
}

/// Applies the TLS mode decision table to a configuration. Checks which files exist; does
/// not parse them (see [`super::ClientTls::load`]).
pub fn plan(config: &Config) -> Result<TlsPlan> {
    check_dir(config)?;
    let (ca, ca_found) = locate(&config.ca_path, &config.ca_dir, "ca.crt", CA_KEY)?;
    let (cert, cert_found) = locate(&config.cert_path, &config.ca_dir, "client.crt", CERT_KEY)?;
    let (key, key_found) = locate(&config.key_path, &config.ca_dir, "client.pem", KEY_KEY)?;

    if !ca_found && !config.force_tls {
        if cert_found || key_found {
            let present: Vec<String> = [(cert_found, &cert), (key_found, &key)]
                .iter()
                .filter(|(found, _)| *found)
                .map(|(_, p)| format!("'{}'", p.display()))
                .collect();
            return Err(Error::new(
                Status::FileNotFound,
                format!(
                    "{CA_KEY}: client certificate files are present ({}) but there is no CA file '{}' and \
                     agent.force_tls is false, so the backend could not be verified; add the backend's CA as \
                     '{}', or set agent.force_tls=true to verify it with the system trust store (swtls does not \
                     fall back to plaintext)",
                    present.join(", "),
                    ca.display(),
                    ca.display()
                ),
            ));
        }
        let reason = format!("plaintext: no CA file at '{}' and agent.force_tls is false", ca.display());
        return Ok(TlsPlan { mode: TlsMode::Plaintext, reason, trust: None, client_cert: None });
    }

    let (trust, trust_text) = if ca_found {
        (Trust::CaFile(ca.clone()), format!("CA file '{}'", ca.display()))
    } else {
        (
            Trust::SystemRoots,
            format!("the system trust store (agent.force_tls is true and there is no '{}')", ca.display()),
        )
    };
    let client_cert = match (cert_found, key_found) {
        (true, true) => Some((cert.clone(), key.clone())),
        (false, false) => None,
        (true, false) => {
            return Err(Error::new(
                Status::ClientCertIncomplete,
                format!(
                    "client certificate '{}' found but its private key '{}' ({KEY_KEY}) is missing; \
                     add the key or remove the certificate (swtls does not fall back to one-way TLS)",
                    cert.display(),
                    key.display()
                ),
            ))
        }
        (false, true) => {
            return Err(Error::new(
                Status::ClientCertIncomplete,
                format!(
                    "client private key '{}' found but its certificate '{}' ({CERT_KEY}) is missing; \
                     add the certificate or remove the key (swtls does not fall back to one-way TLS)",
                    key.display(),
                    cert.display()
                ),
            ))
        }
    };
    let mode = match (ca_found, client_cert.is_some()) {
        (true, true) => TlsMode::MutualTls,
        (true, false) => TlsMode::Tls,
        (false, true) => TlsMode::MutualTlsSystemRoots,
        (false, false) => TlsMode::TlsSystemRoots,
    };
    let reason = match &client_cert {
        Some((c, k)) => format!(
            "{}: server verified with {trust_text}; client certificate '{}' with key '{}'",
            mode.name(),
            c.display(),
            k.display()
        ),
        None => format!(
            "{}: server verified with {trust_text}; no client certificate ('{}' and '{}' absent)",
            mode.name(),
            cert.display(),
            key.display()
        ),
    };
    Ok(TlsPlan { mode, reason, trust: Some(trust), client_cert })
}

/// The warning for a plaintext channel that sends a token: it travels in clear.
pub fn plaintext_token_warning(plan: &TlsPlan, config: &Config) -> Option<String> {
    (plan.mode == TlsMode::Plaintext && config.authentication.is_some()).then(|| {
        format!(
            "agent.authentication is set but the channel is plaintext ({}): the token travels in clear on the \
             network; put the backend's CA in ca.crt (or set agent.force_tls=true) to protect it",
            plan.reason
        )
    })
}
