//! Connections to one backend: TCP, then TLS when the mode says so. Every connection watches
//! the first bytes the server sends and the first failure, so that a failed call can say
//! which side spoke what (the "First received frame was not SETTINGS" confusion; the words
//! are in `tls::diagnose`).
//!
//! This file has what is known of a backend ([`Target`]: its health, counters and last
//! diagnosis), and name resolution and TCP; `conn` the connection itself, its TLS handshake
//! and the connector tonic calls; `probe` the extra look at a backend after an ambiguous
//! failure. `swtls check` dials through the same functions.

mod conn;
mod probe;

#[cfg(feature = "cli")]
pub(crate) use conn::secure;
pub(crate) use conn::{connect, Connector};
pub use probe::probe;

use crate::backend::Backend;
use crate::error::{Error, Status};
use crate::tls::{self, ClientTls, HandshakeContext};
use rustls_pki_types::ServerName;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// The last failure diagnosed on a backend's connections.
#[derive(Debug, Default)]
pub struct DiagSlot {
    last: Mutex<Option<Diag>>,
}

/// A diagnosed failure. `ambiguous` marks a connection that died before the server said
/// anything useful, where [`probe`] can find out more.
#[derive(Debug, Clone)]
pub struct Diag {
    pub at: Instant,
    pub error: Error,
    pub ambiguous: bool,
}

impl DiagSlot {
    pub fn record(&self, error: Error, ambiguous: bool) {
        debug!("{}", error.message);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(Diag { at: Instant::now(), error, ambiguous });
    }
    /// The failure recorded at or after `since`, if any.
    pub fn since(&self, since: Instant) -> Option<Diag> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        last.as_ref().filter(|d| d.at >= since).cloned()
    }
}

/// Connection counters shared by every backend of a channel (one set per process).
#[derive(Debug, Default)]
pub struct LinkStats {
    /// Connections established (TCP, and TLS when the mode says so).
    pub connects: AtomicU64,
    /// Connection attempts that failed (refused, not resolved, handshake failed).
    pub connect_failures: AtomicU64,
}

/// What the health check knows about one backend.
#[derive(Debug, Default)]
pub struct Health {
    live: AtomicUsize,
    /// Connection attempts in progress.
    connecting: AtomicUsize,
    /// Connections established to this backend so far.
    connects: AtomicU64,
    down: AtomicBool,
    failures: crate::logging::Throttle,
}

impl Health {
    /// Connections to the backend open right now.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }
    /// Connections established to the backend so far: a call that failed in transport
    /// while this did not change went over a connection made before it started.
    pub fn connects(&self) -> u64 {
        self.connects.load(Ordering::Relaxed)
    }
    /// True when the latest attempt failed or the server closed the connection.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }
    pub fn mark_down(&self) {
        self.down.store(true, Ordering::Relaxed);
    }
    pub fn mark_up(&self) {
        self.down.store(false, Ordering::Relaxed);
    }
    /// The backend's state in gRPC's terms.
    pub fn connectivity(&self) -> crate::call::Connectivity {
        use crate::call::Connectivity as C;
        if self.live() > 0 {
            C::Ready
        } else if self.connecting.load(Ordering::Relaxed) > 0 {
            C::Connecting
        } else if self.is_down() {
            C::TransientFailure
        } else {
            C::Idle
        }
    }
}

/// Shared by the connector and every connection to one backend.
#[derive(Debug)]
pub struct Target {
    pub backend: Backend,
    /// Name for SNI and certificate checks: the override, or the address host.
    pub server_name: String,
    pub tls: Option<ClientTls>,
    /// Why TLS is off, in words, for the "server requires TLS" hint.
    pub plaintext_reason: String,
    pub diag: DiagSlot,
    /// The first bytes the server sent on the latest connection.
    pub last_first: Mutex<Vec<u8>>,
    pub health: Health,
    pub links: Arc<LinkStats>,
}

impl Target {
    pub fn new(
        backend: Backend,
        server_name: String,
        tls: Option<ClientTls>,
        plaintext_reason: String,
        links: Arc<LinkStats>,
    ) -> Target {
        Target {
            backend,
            server_name,
            tls,
            plaintext_reason,
            diag: DiagSlot::default(),
            last_first: Default::default(),
            health: Health::default(),
            links,
        }
    }

    /// Logs a failed connection attempt as a warning, once per distinct message every 30 s
    /// (the reporter retries with backoff; the same failure need not fill the log).
    fn log_failure(&self, e: &Error) {
        if self.health.failures.allow(&e.message, Duration::from_secs(30)) {
            warn!("connecting to {} failed: {}", self.backend, e);
        } else {
            debug!("connecting to {} failed again: {}", self.backend, e);
        }
    }

    fn context(&self, asked_without_cert: bool) -> HandshakeContext {
        HandshakeContext {
            backend: self.backend.to_string(),
            server_name: self.server_name.clone(),
            trust: self.tls.as_ref().map(|t| t.trust_text()).unwrap_or_default(),
            had_client_cert: self.tls.as_ref().is_some_and(|t| t.has_client_cert()),
            asked_without_cert,
        }
    }

    /// Explains a call that failed in HTTP/2 without an I/O error: the server sent
    /// something that is not what this side expected.
    pub fn explain_protocol_error(&self, detail: &str) -> Option<Error> {
        let first = self.last_first.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let e = self.diagnose(None, &first, false);
        matches!(e.status, Status::ServerRequiresTls | Status::ServerNotTls).then(|| {
            let mut e = e;
            e.message.push_str(&format!(" ({detail})"));
            e
        })
    }

    /// Explains an I/O failure (or an end of stream, `err == None`) on a connection, given
    /// the first bytes the server sent and whether, before any HTTP/2 data arrived, the
    /// server had asked for a client certificate that we lack.
    fn diagnose(&self, err: Option<&io::Error>, first: &[u8], asked_without_cert: bool) -> Error {
        let ctx = self.context(asked_without_cert);
        tls::connection_failure(&ctx, self.tls.is_some(), &self.plaintext_reason, err, first)
    }
}

/// Test-only answers for [`resolve`]: host name → addresses (port included). Only with
/// the `test-hooks` feature, which the crate's own tests turn on; see `crate::testing`.
#[cfg(feature = "test-hooks")]
pub(crate) static DNS_OVERRIDE: Mutex<Vec<(String, Vec<std::net::SocketAddr>)>> = Mutex::new(Vec::new());

/// Resolves a backend's host (the connector and the periodic DNS re-resolution share it).
pub(crate) async fn resolve(b: &Backend) -> io::Result<Vec<std::net::SocketAddr>> {
    #[cfg(feature = "test-hooks")]
    {
        let overrides = DNS_OVERRIDE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, addrs)) = overrides.iter().find(|(h, _)| *h == b.host) {
            return Ok(addrs.clone());
        }
    }
    Ok(tokio::net::lookup_host((b.host.as_str(), b.port)).await?.collect())
}

/// TCP to the backend: the first of its addresses that accepts.
pub(crate) async fn tcp_connect(target: &Target) -> Result<TcpStream, Error> {
    let b = &target.backend;
    let addrs: Vec<std::net::SocketAddr> = match resolve(b).await {
        Ok(a) => a,
        Err(e) => {
            return Err(Error::new(
                Status::Unavailable,
                format!("cannot resolve the backend host '{}' ({b}): {e}", b.host),
            ))
        }
    };
    let mut last = None;
    let mut tcp = None;
    for addr in &addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    let Some(tcp) = tcp else {
        let detail = match last {
            Some((addr, e)) => format!("{addr}: {e}"),
            None => "the name resolved to no address".into(),
        };
        return Err(Error::new(Status::Unavailable, format!("cannot connect to the backend {b}: {detail}")));
    };
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

fn server_name(target: &Target) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(target.server_name.clone()).map_err(|_| {
        Error::new(Status::ConfigInvalidValue, format!("'{}' is not a valid TLS server name", target.server_name))
    })
}
