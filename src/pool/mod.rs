//! The backends of a channel in one process (DESIGN §4): one lazily connected tonic channel
//! per address over the library's own connector (`connect`), the choice of the backend
//! calls go to, and failover. The calls themselves are in `calls`, the turning of their
//! failures into errors that say what went wrong in `classify`, and the health check and
//! DNS re-resolution in `monitor`.
//!
//! A [`BackendPool`] belongs to one process: after `fork()` the channel builds a new one in
//! the child (see `channel`). The channel's reporter and client streams make their calls
//! through it.

mod calls;
mod classify;
mod monitor;

use crate::backend::{list, Backend};
use crate::call::{Connectivity, MAX_RESPONSE_BYTES};
use crate::config::Config;
use crate::connect::{Connector, LinkStats, Target};
use crate::error::{Error, Result, Status};
use crate::random::random_u64;
use crate::runtime::runtime;
use crate::stats::Stats;
use crate::tls::{self, ClientTls, TlsPlan};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Endpoint;

/// `connectivity(try_to_connect)` starts a new attempt from TRANSIENT_FAILURE at most this
/// often (gRPC's initial reconnect backoff), so a caller that polls fast (a connectivity
/// watcher) does not hammer a backend that is down.
const RETRY_FROM_FAILURE_EVERY: Duration = Duration::from_secs(1);

/// The settings of a channel: the same in every process.
pub(crate) struct Settings {
    pub(crate) backends: Vec<Backend>,
    server_name_override: Option<String>,
    tls: Option<ClientTls>,
    pub(crate) plan: TlsPlan,
    auth: Option<AsciiMetadataValue>,
    pub(crate) timeout: Duration,
    pub(crate) check_interval: Duration,
}

impl Settings {
    /// Decides the TLS mode, loads and checks every file, and checks the token.
    pub(crate) fn new(config: &Config) -> Result<Settings> {
        let plan = tls::plan(config)?;
        let tls = ClientTls::load(&plan)?;
        info!("swtls channel to {}: {}", list(&config.backends), plan.reason);
        if let Some(warning) = tls::plaintext_token_warning(&plan, config) {
            warn!("{warning}");
        }
        let auth = match &config.authentication {
            Some(t) => {
                let mut token = AsciiMetadataValue::try_from(t.as_str()).map_err(|_| {
                    Error::new(
                        Status::ConfigInvalidValue,
                        "agent.authentication: the token is not valid gRPC metadata; value not shown",
                    )
                })?;
                token.set_sensitive(true); // HPACK "never indexed": no header table keeps it
                Some(token)
            }
            None => None,
        };
        Ok(Settings {
            backends: config.backends.clone(),
            server_name_override: config.target_name_override.clone(),
            tls,
            plan,
            auth,
            timeout: config.upstream_timeout,
            check_interval: config.check_interval,
        })
    }
}

/// The connections to a channel's backends in one process, and the choice among them.
pub(crate) struct BackendPool {
    pub(crate) settings: Arc<Settings>,
    targets: Vec<Arc<Target>>,
    /// One lazily connected channel per backend; replaced when its DNS name resolves
    /// elsewhere, `None` once the channel is closed.
    channels: Vec<RwLock<Option<tonic::transport::Channel>>>,
    /// Per backend: `connects + 1` as it was when its channel was last replaced after a
    /// stale connection (so that concurrent calls replace it once, not each).
    renewed: Vec<AtomicU64>,
    current: AtomicUsize,
    links: Arc<LinkStats>,
    switches: AtomicU64,
    /// A connection requested by `connectivity(try_to_connect)` is being made.
    connecting: AtomicBool,
    /// When `connectivity(try_to_connect)` last started one.
    last_attempt: Mutex<Option<Instant>>,
    monitor: Mutex<Option<JoinHandle<()>>>,
    /// The addresses each backend name resolved to at the last check.
    resolved: Mutex<Vec<Vec<SocketAddr>>>,
}

impl BackendPool {
    pub(crate) fn new(settings: Arc<Settings>) -> Result<BackendPool> {
        let _enter = runtime().enter();
        let links = Arc::new(LinkStats::default());
        let mut targets = Vec::new();
        let mut channels = Vec::new();
        for backend in &settings.backends {
            let target = Arc::new(Target::new(
                backend.clone(),
                settings.server_name_override.clone().unwrap_or_else(|| backend.host.clone()),
                settings.tls.as_ref().map(ClientTls::for_process),
                settings.plan.reason.clone(),
                links.clone(),
            ));
            channels.push(RwLock::new(Some(lazy_channel(&target)?)));
            targets.push(target);
        }
        let current = AtomicUsize::new(random_index(targets.len()));
        let resolved = Mutex::new(vec![Vec::new(); targets.len()]);
        Ok(BackendPool {
            settings,
            targets,
            renewed: channels.iter().map(|_| AtomicU64::new(0)).collect(),
            channels,
            current,
            links,
            switches: AtomicU64::new(0),
            connecting: AtomicBool::new(false),
            last_attempt: Mutex::new(None),
            monitor: Mutex::new(None),
            resolved,
        })
    }

    pub(crate) fn current_index(&self) -> usize {
        self.current.load(Ordering::Relaxed) % self.targets.len()
    }

    pub(crate) fn current_backend(&self) -> &Backend {
        &self.targets[self.current_index()].backend
    }

    pub(crate) fn backend(&self, idx: usize) -> &Backend {
        &self.targets[idx % self.targets.len()].backend
    }

    /// The connectivity of the current backend, as gRPC channels report it; with
    /// `try_to_connect`, an idle one starts connecting.
    pub(crate) fn connectivity(self: &Arc<Self>, try_to_connect: bool) -> Connectivity {
        let idx = self.current_index();
        let target = self.targets[idx].clone();
        let state = target.health.connectivity();
        if !try_to_connect || !matches!(state, Connectivity::Idle | Connectivity::TransientFailure) {
            return state;
        }
        {
            let mut last = self.last_attempt.lock().unwrap_or_else(|p| p.into_inner());
            let recent = last.is_some_and(|t| t.elapsed() < RETRY_FROM_FAILURE_EVERY);
            if state == Connectivity::TransientFailure && recent {
                return state;
            }
            if self.connecting.load(Ordering::Acquire) {
                return Connectivity::Connecting;
            }
            *last = Some(Instant::now());
        }
        if !self.connecting.swap(true, Ordering::AcqRel) {
            // A lazy channel connects only for a call: connect this backend's channel
            // now, and use it if no call connected meanwhile. Nothing is live on the
            // channel it replaces (the backend was idle or down); calls already holding
            // that channel finish on it.
            let pool = self.clone();
            runtime().spawn(async move {
                let before = target.health.connects();
                if let Ok(endpoint) = endpoint(&target.backend, target.tls.is_some()) {
                    if let Ok(eager) = endpoint.connect_with_connector(Connector { target: target.clone() }).await {
                        let mut slot = pool.channels[idx].write().unwrap_or_else(|p| p.into_inner());
                        if slot.is_some() && target.health.connects() == before + 1 {
                            *slot = Some(eager);
                        }
                    }
                }
                pool.connecting.store(false, Ordering::Release);
            });
        }
        Connectivity::Connecting
    }

    fn channel(&self, idx: usize) -> Result<tonic::transport::Channel> {
        self.channels[idx].read().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(Error::channel_closed)
    }

    fn grpc(&self, idx: usize) -> Result<tonic::client::Grpc<tonic::transport::Channel>> {
        Ok(tonic::client::Grpc::new(self.channel(idx)?)
            .max_decoding_message_size(MAX_RESPONSE_BYTES)
            .max_encoding_message_size(usize::MAX))
    }

    /// Replaces backend `idx`'s channel, so that the next call makes a new connection,
    /// unless that was done already since the backend's `connects` counter was `seen`.
    fn renew(&self, idx: usize, seen: u64) {
        if self.renewed[idx].fetch_max(seen + 1, Ordering::Relaxed) > seen {
            return;
        }
        let _enter = runtime().enter();
        let mut slot = self.channels[idx].write().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            match lazy_channel(&self.targets[idx]) {
                Ok(c) => *slot = Some(c),
                Err(e) => debug!("renewing the channel to {}: {}", self.targets[idx].backend, e.message),
            }
        }
    }

    /// Makes `to` the current backend if `from` still is; logs and counts the switch.
    fn switch(&self, from: usize, to: usize, why: &str) -> bool {
        if from == to || self.current.compare_exchange(from, to, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return false;
        }
        self.switches.fetch_add(1, Ordering::Relaxed);
        warn!("backend switched from {} to {}: {why}", self.targets[from].backend, self.targets[to].backend);
        true
    }

    /// Moves future calls to the next backend after a failure that calls for it.
    pub(crate) fn after_failure(&self, idx: usize, e: &Error) {
        let n = self.targets.len();
        if e.status.is_failover() {
            self.targets[idx].health.mark_down();
            if n > 1 {
                self.switch(
                    idx,
                    (idx + 1) % n,
                    &format!("{} failed with {}", self.targets[idx].backend, e.status.name()),
                );
            }
        }
    }

    /// Stops the health check and closes the connections.
    pub(crate) fn shutdown(&self) {
        if let Some(task) = self.monitor.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
        for slot in &self.channels {
            *slot.write().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    /// Adds the pool's counters to `s`: the backend in use, connections and switches.
    pub(crate) fn add_to(&self, s: &mut Stats) {
        s.backend_index = self.current_index();
        s.reconnects = self.links.connects.load(Ordering::Relaxed).saturating_sub(1);
        s.connect_failures = self.links.connect_failures.load(Ordering::Relaxed);
        s.backend_switches = self.switches.load(Ordering::Relaxed);
    }
}

fn random_index(n: usize) -> usize {
    (random_u64() as usize) % n.max(1)
}

fn lazy_channel(target: &Arc<Target>) -> Result<tonic::transport::Channel> {
    Ok(endpoint(&target.backend, target.tls.is_some())?
        .connect_with_connector_lazy(Connector { target: target.clone() }))
}

fn endpoint(backend: &Backend, tls: bool) -> Result<Endpoint> {
    let authority = backend.authority();
    let bad = |e: &dyn std::fmt::Display| {
        Error::new(
            Status::ConfigInvalidBackend,
            format!("collector.backend_service: '{authority}' is not a usable address: {e}"),
        )
    };
    // The connector does TLS itself; the scheme only sets the :scheme pseudo-header.
    let origin =
        http::Uri::try_from(format!("{}://{authority}", if tls { "https" } else { "http" })).map_err(|e| bad(&e))?;
    Endpoint::from_shared(format!("http://{authority}"))
        .map_err(|e| bad(&e))?
        .origin(origin)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true)
        .user_agent(format!("swtls/{}", env!("CARGO_PKG_VERSION")))
        .map_err(|e| bad(&e))
}
