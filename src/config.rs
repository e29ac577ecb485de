//! Configuration: the SkyWalking Java agent's keys and environment variables (DESIGN §2).
//!
//! Settings apply in the order they are made: a later `set` or environment load overwrites an
//! earlier value of the same key. Values are checked when they are set, so the error names
//! the key (and the environment variable, when it came from there) and the value.

use crate::backend::{parse_backends, Backend};
use crate::error::{Error, Result, Status};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One configuration key: its name, its environment variable, its default (as text).
pub struct Key {
    pub name: &'static str,
    pub env: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

/// Every key swtls accepts, in documentation order.
pub const KEYS: &[Key] = &[
    Key {
        name: "collector.backend_service",
        env: "SW_AGENT_COLLECTOR_BACKEND_SERVICES",
        default: "127.0.0.1:11800",
        help: "comma-separated host:port list of OAP backends",
    },
    Key {
        name: "agent.force_tls",
        env: "SW_AGENT_FORCE_TLS",
        default: "false",
        help: "use TLS with the system trust store when there is no ca.crt",
    },
    Key {
        name: "agent.ssl_trusted_ca_path",
        env: "SW_AGENT_SSL_TRUSTED_CA_PATH",
        default: "ca.crt in the ca folder",
        help: "CA bundle that signs the backend's certificate",
    },
    Key {
        name: "agent.ssl_cert_chain_path",
        env: "SW_AGENT_SSL_CERT_CHAIN_PATH",
        default: "client.crt in the ca folder",
        help: "client certificate chain for mutual TLS",
    },
    Key {
        name: "agent.ssl_key_path",
        env: "SW_AGENT_SSL_KEY_PATH",
        default: "client.pem in the ca folder",
        help: "client private key for mutual TLS",
    },
    Key {
        name: "agent.authentication",
        env: "SW_AGENT_AUTHENTICATION",
        default: "",
        help: "token sent as `authentication` metadata on every call",
    },
    Key {
        name: "collector.grpc_upstream_timeout",
        env: "SW_AGENT_COLLECTOR_GRPC_UPSTREAM_TIMEOUT",
        default: "30",
        help: "default call deadline, seconds",
    },
    Key {
        name: "collector.grpc_channel_check_interval",
        env: "SW_AGENT_COLLECTOR_GRPC_CHANNEL_CHECK_INTERVAL",
        default: "30",
        help: "channel health check interval, seconds",
    },
    Key {
        name: "agent.ssl_target_name_override",
        env: "SW_AGENT_SSL_TARGET_NAME_OVERRIDE",
        default: "",
        help: "server name for SNI and certificate checks instead of the address host",
    },
    Key {
        name: "agent.ca_dir",
        env: "SWTLS_CA_DIR",
        default: "ca",
        help: "folder holding ca.crt, client.crt and client.pem",
    },
    Key {
        name: "swtls.default_ca_dir",
        env: "SWTLS_DEFAULT_CA_DIR",
        default: "ca",
        help: "the ca folder while agent.ca_dir is not set; unlike agent.ca_dir it may be missing (its files are then \
               absent): for hosts whose default folder is not ./ca, such as the Java agent plugin (<agent>/ca)",
    },
    Key {
        name: "swtls.report_queue_messages",
        env: "SWTLS_REPORT_QUEUE_MESSAGES",
        default: "1500",
        help: "reporter: messages each method's queue holds before new ones are dropped",
    },
    Key {
        name: "swtls.report_queue_bytes",
        env: "SWTLS_REPORT_QUEUE_BYTES",
        default: "16777216",
        help: "reporter: bytes each method's queue holds before new messages are dropped",
    },
];

/// The configuration of a channel. Its `Debug` output never shows the token.
#[derive(Clone)]
pub struct Config {
    pub backends: Vec<Backend>,
    pub force_tls: bool,
    /// Explicit paths; `None` means "the default file in `ca_dir`".
    pub ca_path: Option<PathBuf>,
    pub cert_path: Option<PathBuf>,
    pub key_path: Option<PathBuf>,
    /// Never logged.
    pub authentication: Option<String>,
    pub upstream_timeout: Duration,
    pub check_interval: Duration,
    pub target_name_override: Option<String>,
    pub ca_dir: PathBuf,
    /// `ca_dir` was set explicitly (`agent.ca_dir` / `SWTLS_CA_DIR`): then it must exist,
    /// and a missing folder is an error rather than "no ca.crt, plaintext".
    pub ca_dir_explicit: bool,
    /// The ca folder while `agent.ca_dir` is not set (`swtls.default_ca_dir`, default
    /// `ca`): a host's own default location, which may be missing like `./ca`.
    pub default_ca_dir: PathBuf,
    /// Reporter queue bound per method, in messages.
    pub report_queue_messages: usize,
    /// Reporter queue bound per method, in bytes.
    pub report_queue_bytes: usize,
}

/// Default of `swtls.report_queue_messages`: the SkyWalking Java agent buffers 5 channels
/// of 300 segments.
pub const DEFAULT_REPORT_QUEUE_MESSAGES: usize = 1500;
/// Default of `swtls.report_queue_bytes`: 16 MiB.
pub const DEFAULT_REPORT_QUEUE_BYTES: usize = 16 * 1024 * 1024;

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("backends", &self.backends)
            .field("force_tls", &self.force_tls)
            .field("ca_path", &self.ca_path)
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .field("authentication", &self.authentication.as_ref().map(|_| "(set, not shown)"))
            .field("upstream_timeout", &self.upstream_timeout)
            .field("check_interval", &self.check_interval)
            .field("target_name_override", &self.target_name_override)
            .field("ca_dir", &self.ca_dir)
            .field("ca_dir_explicit", &self.ca_dir_explicit)
            .field("default_ca_dir", &self.default_ca_dir)
            .field("report_queue_messages", &self.report_queue_messages)
            .field("report_queue_bytes", &self.report_queue_bytes)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backends: vec![Backend { host: "127.0.0.1".into(), port: 11800 }],
            force_tls: false,
            ca_path: None,
            cert_path: None,
            key_path: None,
            authentication: None,
            upstream_timeout: Duration::from_secs(30),
            check_interval: Duration::from_secs(30),
            target_name_override: None,
            ca_dir: PathBuf::from("ca"),
            ca_dir_explicit: false,
            default_ca_dir: PathBuf::from("ca"),
            report_queue_messages: DEFAULT_REPORT_QUEUE_MESSAGES,
            report_queue_bytes: DEFAULT_REPORT_QUEUE_BYTES,
        }
    }
}

fn invalid(key: &str, value: &str, why: &str) -> Error {
    Error::new(Status::ConfigInvalidValue, format!("{key}: invalid value '{value}': {why}"))
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(key, value, "expected true or false")),
    }
}

fn parse_seconds(key: &str, value: &str) -> Result<Duration> {
    match value.trim().parse::<u64>() {
        Ok(0) => Err(invalid(key, value, "must be at least 1 second")),
        Ok(n) if n <= 86_400 * 365 => Ok(Duration::from_secs(n)),
        Ok(_) => Err(invalid(key, value, "must be at most one year in seconds")),
        Err(_) => Err(invalid(key, value, "expected a whole number of seconds")),
    }
}

fn parse_count(key: &str, value: &str, min: usize, max: usize) -> Result<usize> {
    match value.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        Ok(_) => Err(invalid(key, value, &format!("must be from {min} to {max}"))),
        Err(_) => Err(invalid(key, value, "expected a whole number")),
    }
}

/// Empty means "use the default".
fn parse_path(value: &str) -> Option<PathBuf> {
    let v = value.trim();
    (!v.is_empty()).then(|| PathBuf::from(v))
}

fn parse_server_name(key: &str, value: &str) -> Result<Option<String>> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    rustls_pki_types::ServerName::try_from(v).map_err(|_| invalid(key, value, "not a valid DNS name or IP address"))?;
    Ok(Some(v.to_string()))
}

fn parse_token(key: &str, value: &str) -> Result<Option<String>> {
    if value.is_empty() {
        return Ok(None);
    }
    // gRPC ASCII metadata: visible characters and spaces only. The value is a secret, so
    // the error does not repeat it.
    if http::HeaderValue::from_str(value).is_err() || value.bytes().any(|b| !(0x20..0x7f).contains(&b)) {
        return Err(Error::new(
            Status::ConfigInvalidValue,
            format!("{key}: the token contains characters not allowed in gRPC metadata (printable ASCII only); value not shown"),
        ));
    }
    Ok(Some(value.to_string()))
}

/// True for a key whose value must never be shown: the token, however it is spelled (its
/// key or environment variable name in any case, with `.` or `_`), and anything else
/// whose name says it is a credential — also when it is misspelled and so refused.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase().replace(['_', '-'], ".");
    ["auth", "token", "secret", "password", "passwd", "credential"].iter().any(|w| k.contains(w))
}

impl Config {
    /// Sets one key. Unknown keys and values that do not parse are errors naming them; the
    /// configuration is unchanged then.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "collector.backend_service" => self.backends = parse_backends(value)?,
            "agent.force_tls" => self.force_tls = parse_bool(key, value)?,
            "agent.ssl_trusted_ca_path" => self.ca_path = parse_path(value),
            "agent.ssl_cert_chain_path" => self.cert_path = parse_path(value),
            "agent.ssl_key_path" => self.key_path = parse_path(value),
            "agent.authentication" => self.authentication = parse_token(key, value)?,
            "collector.grpc_upstream_timeout" => self.upstream_timeout = parse_seconds(key, value)?,
            "collector.grpc_channel_check_interval" => self.check_interval = parse_seconds(key, value)?,
            "agent.ssl_target_name_override" => self.target_name_override = parse_server_name(key, value)?,
            "agent.ca_dir" => {
                let dir = parse_path(value);
                self.ca_dir_explicit = dir.is_some();
                self.ca_dir = dir.unwrap_or_else(|| self.default_ca_dir.clone());
            }
            "swtls.default_ca_dir" => {
                self.default_ca_dir = parse_path(value).unwrap_or_else(|| PathBuf::from("ca"));
                if !self.ca_dir_explicit {
                    self.ca_dir = self.default_ca_dir.clone();
                }
            }
            "swtls.report_queue_messages" => self.report_queue_messages = parse_count(key, value, 1, 10_000_000)?,
            "swtls.report_queue_bytes" => self.report_queue_bytes = parse_count(key, value, 1024, 1 << 30)?,
            _ => {
                let hint = KEYS
                    .iter()
                    .find(|k| k.env == key)
                    .map(|k| format!(" ('{key}' is the environment variable of '{}')", k.name))
                    .unwrap_or_default();
                return Err(Error::new(
                    Status::ConfigUnknownKey,
                    format!("unknown configuration key '{key}'{hint}; known keys: {}", key_names()),
                ));
            }
        }
        Ok(())
    }

    /// Applies every environment variable of the key table that is set, in table order,
    /// through `lookup` (so tests need not touch the process environment). All or nothing:
    /// the variables are applied to a copy, which replaces this configuration only when
    /// every one of them was good.
    pub fn load_env_with(&mut self, lookup: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<()> {
        let mut next = self.clone();
        for key in KEYS {
            let Some(raw) = lookup(key.env) else { continue };
            let value = raw.into_string().map_err(|_| {
                Error::new(
                    Status::InvalidUtf8,
                    format!("environment variable {} ({}) is not valid UTF-8", key.env, key.name),
                )
            })?;
            next.set(key.name, &value).map_err(|e| Error {
                status: e.status,
                message: format!("environment variable {}: {}", key.env, e.message),
            })?;
        }
        *self = next;
        Ok(())
    }

    /// Applies the process environment (see `load_env_with`).
    pub fn load_env(&mut self) -> Result<()> {
        self.load_env_with(|name| std::env::var_os(name))
    }

    /// A configuration from the process environment on top of the defaults.
    pub fn from_env() -> Result<Config> {
        let mut c = Config::default();
        c.load_env()?;
        Ok(c)
    }
}

fn key_names() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_match_the_table() {
        let c = Config::default();
        assert_eq!(c.backends[0].to_string(), "127.0.0.1:11800");
        assert!(!c.force_tls);
        assert_eq!(c.upstream_timeout, Duration::from_secs(30));
        assert_eq!(c.check_interval, Duration::from_secs(30));
        assert_eq!(c.ca_dir, PathBuf::from("ca"));
        assert!(c.authentication.is_none() && c.target_name_override.is_none());
        assert_eq!((c.report_queue_messages, c.report_queue_bytes), (1500, 16 << 20));
    }

    #[test]
    fn every_key_is_settable_and_later_wins() {
        let mut c = Config::default();
        for k in KEYS {
            let v = match k.name {
                "collector.backend_service" => "a:1,[::1]:2",
                "agent.force_tls" => "TRUE",
                "collector.grpc_upstream_timeout" | "collector.grpc_channel_check_interval" => "7",
                "agent.ssl_target_name_override" => "oap.internal",
                "swtls.report_queue_messages" => "10",
                "swtls.report_queue_bytes" => "4096",
                _ => "x",
            };
            c.set(k.name, v).unwrap();
        }
        assert!(c.force_tls);
        assert_eq!(c.backends.len(), 2);
        assert_eq!(c.upstream_timeout, Duration::from_secs(7));
        assert_eq!((c.report_queue_messages, c.report_queue_bytes), (10, 4096));
        c.set("agent.force_tls", "False").unwrap();
        assert!(!c.force_tls);
        c.set("agent.ssl_trusted_ca_path", "").unwrap();
        assert!(c.ca_path.is_none());
    }

    #[test]
    fn the_default_ca_folder_stands_in_for_ca_until_agent_ca_dir_is_set() {
        let mut c = Config::default();
        c.set("swtls.default_ca_dir", "/opt/agent/ca").unwrap();
        assert_eq!((c.ca_dir.as_path(), c.ca_dir_explicit), (std::path::Path::new("/opt/agent/ca"), false));
        // agent.ca_dir wins whatever the order, and unsetting it goes back to the default folder.
        c.set("agent.ca_dir", "/etc/sw/ca").unwrap();
        c.set("swtls.default_ca_dir", "/elsewhere").unwrap();
        assert_eq!((c.ca_dir.as_path(), c.ca_dir_explicit), (std::path::Path::new("/etc/sw/ca"), true));
        c.set("agent.ca_dir", "").unwrap();
        assert_eq!((c.ca_dir.as_path(), c.ca_dir_explicit), (std::path::Path::new("/elsewhere"), false));
        c.set("swtls.default_ca_dir", " ").unwrap();
        assert_eq!(c.ca_dir, PathBuf::from("ca"));
    }

    #[test]
    fn bad_values_name_key_and_value() {
        let mut c = Config::default();
        let e = c.set("agent.force_tls", "yes").unwrap_err();
        assert_eq!(e.status, Status::ConfigInvalidValue);
        assert!(e.message.contains("agent.force_tls") && e.message.contains("'yes'"), "{}", e.message);
        let e = c.set("collector.grpc_upstream_timeout", "3s").unwrap_err();
        assert!(e.message.contains("collector.grpc_upstream_timeout") && e.message.contains("'3s'"));
        let e = c.set("collector.grpc_channel_check_interval", "0").unwrap_err();
        assert!(e.message.contains("at least 1"));
        let e = c.set("agent.ssl_target_name_override", "bad name!").unwrap_err();
        assert!(e.message.contains("agent.ssl_target_name_override"));
        c.set("agent.authentication", "s3cr3t-token").unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"), "Debug must not show the token: {c:?}");
        let e = c.set("agent.authentication", "sec\nret").unwrap_err();
        assert!(!e.message.contains("sec"), "the token must not be echoed: {}", e.message);
        let e = c.set("swtls.report_queue_messages", "0").unwrap_err();
        assert!(e.message.contains("swtls.report_queue_messages") && e.message.contains("from 1 to"), "{}", e.message);
        let e = c.set("swtls.report_queue_bytes", "16M").unwrap_err();
        assert!(e.message.contains("'16M'") && e.message.contains("whole number"), "{}", e.message);
        let e = c.set("swtls.report_queue_bytes", "100").unwrap_err();
        assert!(e.message.contains("from 1024"), "{}", e.message);
        let e = c.set("agent.nope", "1").unwrap_err();
        assert_eq!(e.status, Status::ConfigUnknownKey);
        assert!(e.message.contains("'agent.nope'"));
        let e = c.set("SW_AGENT_FORCE_TLS", "true").unwrap_err();
        assert!(e.message.contains("environment variable of 'agent.force_tls'"), "{}", e.message);
    }

    #[test]
    fn env_loading_names_the_variable() {
        let env: HashMap<&str, &str> = [
            ("SW_AGENT_COLLECTOR_BACKEND_SERVICES", "oap:11800"),
            ("SW_AGENT_AUTHENTICATION", "token"),
            ("SWTLS_CA_DIR", "/etc/sw/ca"),
            ("SWTLS_REPORT_QUEUE_MESSAGES", "300"),
        ]
        .into();
        let mut c = Config::default();
        c.load_env_with(|n| env.get(n).map(|v| v.into())).unwrap();
        assert_eq!(c.backends[0].host, "oap");
        assert_eq!(c.authentication.as_deref(), Some("token"));
        assert_eq!(c.ca_dir, PathBuf::from("/etc/sw/ca"));
        assert_eq!(c.report_queue_messages, 300);

        let bad: HashMap<&str, &str> =
            [("SW_AGENT_COLLECTOR_BACKEND_SERVICES", "other:1"), ("SW_AGENT_FORCE_TLS", "maybe")].into();
        let e = c.load_env_with(|n| bad.get(n).map(|v| v.into())).unwrap_err();
        assert!(e.message.contains("SW_AGENT_FORCE_TLS") && e.message.contains("'maybe'"), "{}", e.message);
        assert_eq!(c.backends[0].host, "oap", "a failed load leaves the configuration unchanged");
    }
}
