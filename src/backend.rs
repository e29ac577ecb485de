//! Backend addresses: the comma-separated `host:port` list of `collector.backend_service`.

use crate::error::{Error, Result, Status};
use std::fmt;
use std::net::IpAddr;

/// One backend address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// Host as written, without brackets: a DNS name, an IPv4 or an IPv6 address.
    pub host: String,
    pub port: u16,
}

impl Backend {
    /// The host as an IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// `host:port`, with brackets around IPv6 hosts; usable in a URI authority.
    pub fn authority(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

fn bad(list: &str, entry: &str, why: &str) -> Error {
    Error::new(
        Status::ConfigInvalidBackend,
        format!(
            "collector.backend_service: entry '{entry}' in '{list}' {why} (expected host:port, \
             e.g. oap:11800, 10.0.0.1:11800 or [::1]:11800)"
        ),
    )
}

/// Parses a comma-separated backend list. Whitespace around entries is ignored; an empty
/// entry, a missing or invalid port, or a malformed host is an error naming the entry.
pub fn parse_backends(list: &str) -> Result<Vec<Backend>> {
    list.split(',').map(|raw| parse_backend(list, raw.trim())).collect()
}

fn parse_backend(list: &str, entry: &str) -> Result<Backend> {
    if entry.is_empty() {
        return Err(bad(list, entry, "is empty"));
    }
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(bad(list, entry, "has no closing ']' after the IPv6 address"));
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad(list, entry, "has an invalid IPv6 address between brackets"));
        }
        let Some(port) = after.strip_prefix(':') else {
            return Err(bad(list, entry, "has no port"));
        };
        (host, port)
    } else {
        let Some((host, port)) = entry.rsplit_once(':') else {
            return Err(bad(list, entry, "has no port"));
        };
        if host.contains(':') {
            return Err(bad(list, entry, "looks like an IPv6 address without brackets"));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(bad(list, entry, "has no host"));
    }
    if !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b)) {
        return Err(bad(list, entry, "has characters not allowed in a host name"));
    }
    if port.is_empty() {
        return Err(bad(list, entry, "has no port"));
    }
    let port: u32 = port.parse().map_err(|_| bad(list, entry, "has a port that is not a number"))?;
    if port == 0 || port > 65535 {
        return Err(bad(list, entry, "has a port outside 1-65535"));
    }
    Ok(Backend { host: host.to_string(), port: port as u16 })
}

/// The backends as the configuration lists them, `host:port,host:port` (for log messages).
pub(crate) fn list(backends: &[Backend]) -> String {
    backends.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_ipv4_ipv6() {
        let b = parse_backends("oap.example:11800, 10.0.0.1:1 ,[::1]:65535").unwrap();
        assert_eq!(b[0], Backend { host: "oap.example".into(), port: 11800 });
        assert_eq!(b[1].ip(), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(b[2].host, "::1");
        assert_eq!(b[2].to_string(), "[::1]:65535");
    }

    #[test]
    fn rejects_bad_entries_naming_them() {
        for (list, entry, why) in [
            ("", "''", "is empty"),
            ("host", "'host'", "has no port"),
            ("host:", "'host:'", "has no port"),
            ("host:0", "'host:0'", "outside 1-65535"),
            ("host:70000", "'host:70000'", "outside 1-65535"),
            ("host:abc", "'host:abc'", "not a number"),
            ("[::1", "'[::1'", "no closing ']'"),
            ("a:1,,b:2", "''", "is empty"),
            ("::1:80", "'::1:80'", "without brackets"),
            (":80", "':80'", "no host"),
            ("[zz]:1", "'[zz]:1'", "invalid IPv6"),
            ("h st:1", "'h st:1'", "not allowed"),
        ] {
            let e = parse_backends(list).unwrap_err();
            assert_eq!(e.status, Status::ConfigInvalidBackend, "{list}");
            assert!(e.message.contains(&format!("entry {entry}")), "{list}: {}", e.message);
            assert!(e.message.contains(why), "{list}: {}", e.message);
        }
    }
}
