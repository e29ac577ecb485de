//! Hooks for the crate's own tests (feature `test-hooks`, never in a shipped build).

use std::net::SocketAddr;

/// Makes the library resolve `host` to `addrs` (instead of asking DNS) until changed;
/// an empty list removes the override.
pub fn set_dns_override(host: &str, addrs: &[SocketAddr]) {
    let mut o = crate::connect::DNS_OVERRIDE.lock().unwrap_or_else(|p| p.into_inner());
    o.retain(|(h, _)| h != host);
    if !addrs.is_empty() {
        o.push((host.to_string(), addrs.to_vec()));
    }
}
