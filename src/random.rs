//! A random number to spread things out (the backend a channel starts with, the jitter of
//! the reporter's backoff); not for secrets.

use std::hash::{BuildHasher, Hasher};

/// A random number (for the random start and the jitter of the backoff).
pub(crate) fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish()
}
