//! What one call may carry beyond its method and bytes: a deadline, request metadata (in
//! addition to the configured token) and a cancellation token. This is what the bindings'
//! standard gRPC channel interfaces (grpcio's `Channel`, grpc-go's `ClientConnInterface`,
//! grpc-java's `Channel`) need from a call: per-call metadata and cancellation.

use crate::error::{Error, Result, Status};
use bytes::Bytes;
use http::uri::PathAndQuery;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, BinaryMetadataKey, BinaryMetadataValue, MetadataMap};

/// Largest response accepted (DESIGN §4).
pub const MAX_RESPONSE_BYTES: usize = 50 * 1024 * 1024;
/// Validates a full gRPC method path such as `/skywalking.v3.ManagementService/keepAlive`.
pub fn parse_method(method: &str) -> Result<PathAndQuery> {
    let bad = || {
        Error::new(
            Status::InvalidMethod,
            format!("method '{method}' is not a full gRPC path of the form /package.Service/Method (e.g. /skywalking.v3.ManagementService/keepAlive)"),
        )
    };
    let rest = method.strip_prefix('/').ok_or_else(bad)?;
    let (service, name) = rest.split_once('/').ok_or_else(bad)?;
    let ok_part = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !ok_part(service) || !ok_part(name) {
        return Err(bad());
    }
    PathAndQuery::from_maybe_shared(Bytes::copy_from_slice(method.as_bytes())).map_err(|_| bad())
}

/// One request metadata entry, checked when it is added.
#[derive(Debug, Clone)]
enum Entry {
    Ascii(AsciiMetadataKey, AsciiMetadataValue),
    Binary(BinaryMetadataKey, BinaryMetadataValue),
}

/// Request metadata for one call: keys as gRPC allows them (lowercase letters, digits,
/// `-`, `_`, `.`); keys ending in `-bin` take any bytes (sent base64-encoded), others
/// printable ASCII. Reserved keys (`:`-pseudo-headers, `grpc-*`, and the HTTP/2 headers
/// gRPC itself sets) are refused, naming the key.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    entries: Vec<Entry>,
}

const RESERVED: &[&str] = &["content-type", "te", "user-agent", "host", "connection", "content-length"];

impl Metadata {
    pub fn new() -> Metadata {
        Metadata::default()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds one entry (a key may be given several times: each value is sent).
    pub fn add(&mut self, key: &str, value: &[u8]) -> Result<()> {
        let bad = |why: &str| Error::new(Status::InvalidArgument, format!("metadata key '{key}': {why}"));
        if key.is_empty() {
            return Err(bad("empty"));
        }
        if !key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b)) {
            return Err(bad("a key has only lowercase letters, digits, '-', '_' and '.'"));
        }
        if key.starts_with("grpc-") || RESERVED.contains(&key) {
            return Err(bad("reserved by gRPC or HTTP/2; it cannot be set per call"));
        }
        let entry = if key.ends_with("-bin") {
            let k = BinaryMetadataKey::from_bytes(key.as_bytes()).map_err(|_| bad("not a valid binary key"))?;
            Entry::Binary(k, BinaryMetadataValue::from_bytes(value))
        } else {
            if !value.iter().all(|b| (0x20..0x7f).contains(b)) {
                return Err(Error::new(
                    Status::InvalidArgument,
                    format!(
                        "metadata key '{key}': the value has bytes outside printable ASCII; use a key ending in \
                         '-bin' for binary values (value not shown)"
                    ),
                ));
            }
            let k = AsciiMetadataKey::from_bytes(key.as_bytes()).map_err(|_| bad("not a valid key"))?;
            let v = AsciiMetadataValue::try_from(value).map_err(|_| bad("the value is not valid metadata"))?;
            Entry::Ascii(k, v)
        };
        self.entries.push(entry);
        Ok(())
    }

    /// Appends the entries to a request's metadata.
    pub(crate) fn apply(&self, map: &mut MetadataMap) {
        for e in &self.entries {
            match e {
                Entry::Ascii(k, v) => {
                    map.append(k.clone(), v.clone());
                }
                Entry::Binary(k, v) => {
                    map.append_bin(k.clone(), v.clone());
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    notify: tokio::sync::Notify,
}

/// A cancellation flag that any thread may raise; the calls it was given to end with
/// `CANCELLED` (the server sees the call reset). Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    state: Arc<CancelState>,
}

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Raises the flag (idempotent).
    pub fn cancel(&self) {
        self.state.cancelled.store(true, Ordering::Release);
        self.state.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.state.cancelled.load(Ordering::Acquire)
    }

    /// Resolves once the flag is raised.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.state.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Resolves when `token` (if any) is raised; never otherwise.
pub(crate) async fn cancelled(token: Option<&CancelToken>) {
    match token {
        Some(t) => t.cancelled().await,
        None => std::future::pending().await,
    }
}

pub(crate) fn cancelled_error(method: &str) -> Error {
    Error::new(Status::Cancelled, format!("{method}: the call was cancelled by the caller"))
}

/// Everything a call may carry beyond its method and request.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// The deadline; `None` means `collector.grpc_upstream_timeout`.
    pub timeout: Option<Duration>,
    /// Sent in addition to the configured token.
    pub metadata: Metadata,
    /// Raising it ends the call with `CANCELLED`.
    pub cancel: Option<CancelToken>,
}

impl CallOptions {
    pub fn with_timeout(timeout: Option<Duration>) -> CallOptions {
        CallOptions { timeout, ..CallOptions::default() }
    }
}

/// A channel's connectivity, numbered as gRPC's connectivity states.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connectivity {
    /// No connection and none being made (before the first call).
    Idle = 0,
    /// A connection is being made.
    Connecting = 1,
    /// Connected to the current backend.
    Ready = 2,
    /// The last attempt to reach the current backend failed; calls will try again.
    TransientFailure = 3,
    /// The channel is closed.
    Shutdown = 4,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_keys_and_values_are_checked() {
        let mut m = Metadata::new();
        m.add("x-trace", b"abc").unwrap();
        m.add("x-trace", b"second").unwrap();
        m.add("blob-bin", &[0, 255, 10]).unwrap();
        for (key, value, fragment) in [
            ("X-Upper", &b"v"[..], "lowercase"),
            ("", b"v", "empty"),
            ("grpc-timeout", b"1S", "reserved"),
            ("content-type", b"x", "reserved"),
            ("x-bad", b"line\nbreak", "-bin"),
        ] {
            let e = m.add(key, value).unwrap_err();
            assert_eq!(e.status, Status::InvalidArgument);
            assert!(e.message.contains(fragment) && e.message.contains(&format!("'{key}'")), "{}", e.message);
        }
        let mut map = MetadataMap::new();
        m.apply(&mut map);
        assert_eq!(map.get_all("x-trace").iter().count(), 2);
        assert_eq!(map.get_bin("blob-bin").unwrap().to_bytes().unwrap().as_ref(), &[0, 255, 10]);
    }

    #[test]
    fn a_cancel_token_wakes_its_waiters() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let t = CancelToken::new();
        let t2 = t.clone();
        rt.block_on(async move {
            let waiter = tokio::spawn(async move { t2.cancelled().await });
            tokio::task::yield_now().await;
            t.cancel();
            waiter.await.unwrap();
            assert!(t.is_cancelled());
            t.cancelled().await; // already raised: returns at once
        });
    }
}
