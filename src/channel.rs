//! A channel to the backend list: one lazily connected tonic channel per address over the
//! library's own connector, backend choice, failover and the health check, and the calls
//! (DESIGN §4, §5). The reporter (queues drained into client streams) is in `reporter`.
//!
//! Per-process state: the connections, the backend choice and the reporter live in a
//! [`Proc`] built for one process generation (see `runtime`). After `fork()`, the child's
//! first use of the channel builds a fresh `Proc` with its own runtime, connections and
//! queues; the parent's is left as it was (and leaked in the child, never touched there).

use crate::backend::Backend;
use crate::call::{self, parse_method, CallOptions, CancelToken, Connectivity, Metadata, MAX_RESPONSE_BYTES};
use crate::codec::RawCodec;
use crate::config::Config;
use crate::connect::{Connector, LinkStats, Target};
use crate::error::{Error, Result, Status};
use crate::framed::{self, FramedBody, SendQueue};
use crate::random::random_u64;
use crate::reporter::{QueueLimits, Reporter};
use crate::runtime::{self, block_on, runtime};
use crate::stats::Stats;
use crate::tls::{self, ClientTls, TlsMode, TlsPlan};
use bytes::Bytes;
use http::uri::PathAndQuery;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::transport::Endpoint;

/// Messages a client stream buffers before `send` waits for the network.
const STREAM_BUFFER: usize = 64;
/// Longest the health check waits for a backend to accept a connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// `connectivity(try_to_connect)` starts a new attempt from TRANSIENT_FAILURE at most this
/// often (gRPC's initial reconnect backoff), so a caller that polls fast (a connectivity
/// watcher) does not hammer a backend that is down.
const RETRY_FROM_FAILURE_EVERY: Duration = Duration::from_secs(1);

/// The settings of a channel: the same in every process.
pub(crate) struct Shared {
    backends: Vec<Backend>,
    server_name_override: Option<String>,
    tls: Option<ClientTls>,
    plan: TlsPlan,
    auth: Option<AsciiMetadataValue>,
    pub(crate) timeout: Duration,
    pub(crate) check_interval: Duration,
    pub(crate) limits: QueueLimits,
}

/// The connections, the backend choice and the reporter of a channel in one process.
pub(crate) struct Proc {
    /// The process generation this was built in (see `runtime::generation`).
    generation: u64,
    pub(crate) shared: Arc<Shared>,
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
    pub(crate) reporter: Reporter,
    monitor: Mutex<Option<JoinHandle<()>>>,
    /// The addresses each backend name resolved to at the last check.
    resolved: Mutex<Vec<Vec<SocketAddr>>>,
}

struct Inner {
    shared: Arc<Shared>,
    /// The `Proc` of the current process (`Arc::into_raw`). Replaced (and the old one
    /// leaked) only in a child after `fork()`; released when the channel is dropped.
    proc: AtomicPtr<Proc>,
    closed: AtomicBool,
    /// The counters as they were when the channel was closed.
    final_stats: OnceLock<Stats>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let p = *self.proc.get_mut();
        if p.is_null() {
            return;
        }
        // SAFETY: `p` came from `Arc::into_raw` and this is the reference it stands for.
        let proc = unsafe { Arc::from_raw(p) };
        if proc.generation == runtime::generation() {
            if !self.closed.load(Ordering::Acquire) {
                // Freed without close: whatever is still queued is dropped.
                proc.shutdown();
            }
        } else {
            // Built by the parent before fork(): its tasks and locks belong to threads that
            // do not exist in this process; leave it alone.
            std::mem::forget(proc);
        }
    }
}

/// A thread-safe handle to the backends; cloning is cheap and shares connections.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

fn random_index(n: usize) -> usize {
    (random_u64() as usize) % n.max(1)
}

/// Whether tonic ended the call because its deadline passed (tonic reports that as
/// CANCELLED "Timeout expired", e.g. when the server accepted the connection but never
/// answered); it is a DEADLINE_EXCEEDED for our callers.
fn timed_out(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        if e.is::<tonic::TimeoutExpired>() {
            return true;
        }
        source = e.source();
    }
    false
}

impl Channel {
    /// Decides the TLS mode, loads and checks every file, and prepares one lazily connected
    /// channel per backend. No connection is made until the first call.
    pub fn new(config: &Config) -> Result<Channel> {
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
        let shared = Arc::new(Shared {
            backends: config.backends.clone(),
            server_name_override: config.target_name_override.clone(),
            tls,
            plan,
            auth,
            timeout: config.upstream_timeout,
            check_interval: config.check_interval,
            limits: QueueLimits { messages: config.report_queue_messages, bytes: config.report_queue_bytes },
        });
        let proc = Arc::new(Proc::new(shared.clone(), runtime::generation())?);
        Proc::start_monitor(&proc);
        let inner = Inner {
            shared,
            proc: AtomicPtr::new(Arc::into_raw(proc) as *mut Proc),
            closed: AtomicBool::new(false),
            final_stats: OnceLock::new(),
        };
        Ok(Channel { inner: Arc::new(inner) })
    }

    /// The state of this channel in the current process, built on first use after a fork.
    fn proc(&self) -> Result<&Proc> {
        loop {
            let generation = runtime::generation();
            let current = self.inner.proc.load(Ordering::Acquire);
            // SAFETY: a published `Proc` stays allocated as long as `Inner` (a replaced one,
            // in a fork child, is leaked).
            if let Some(p) = unsafe { current.as_ref() } {
                if p.generation == generation {
                    return Ok(p);
                }
            }
            let fresh = Arc::new(Proc::new(self.inner.shared.clone(), generation)?);
            let raw = Arc::into_raw(fresh.clone()) as *mut Proc;
            match self.inner.proc.compare_exchange(current, raw, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    info!(
                        "process {} (forked) uses its own connections and report queues for the channel to {}",
                        std::process::id(),
                        list(&self.inner.shared.backends)
                    );
                    Proc::start_monitor(&fresh);
                }
                // Another thread of this process built one first.
                Err(_) => drop(unsafe { Arc::from_raw(raw) }),
            }
        }
    }

    /// A counted reference to [`Channel::proc`], for tasks.
    fn proc_arc(&self) -> Result<Arc<Proc>> {
        let p: *const Proc = self.proc()?;
        // SAFETY: `p` is alive (held by `Inner`); take one more reference for the caller.
        unsafe {
            Arc::increment_strong_count(p);
            Ok(Arc::from_raw(p))
        }
    }

    fn open(&self) -> Result<&Proc> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::channel_closed());
        }
        self.proc()
    }

    pub fn tls_mode(&self) -> TlsMode {
        self.inner.shared.plan.mode
    }

    /// Why the mode was chosen, in words.
    pub fn tls_reason(&self) -> &str {
        &self.inner.shared.plan.reason
    }

    /// The backend calls go to first.
    pub fn current_backend(&self) -> Backend {
        match self.proc() {
            Ok(p) => p.current_backend().clone(),
            Err(_) => self.inner.shared.backends[0].clone(),
        }
    }

    /// True once [`Channel::close_blocking`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// One unary call: request bytes in, response bytes out. Tries the backends in turn,
    /// starting from the current one, while connecting fails (nothing was sent then).
    pub async fn unary(&self, method: &str, body: Bytes, timeout: Option<Duration>) -> Result<Bytes> {
        self.unary_with(method, body, &CallOptions::with_timeout(timeout)).await
    }

    /// [`Channel::unary`] with request metadata (in addition to the configured token) and
    /// a cancellation token: raising it ends the call with `CANCELLED` and resets it.
    pub async fn unary_with(&self, method: &str, body: Bytes, options: &CallOptions) -> Result<Bytes> {
        let proc = self.open()?;
        if options.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            return Err(call::cancelled_error(method)); // raised before: the call does not start
        }
        tokio::select! {
            biased;
            () = call::cancelled(options.cancel.as_ref()) => Err(call::cancelled_error(method)),
            r = proc.unary(method, body, options) => r,
        }
    }

    /// Blocking form of [`Channel::unary`] for plain threads.
    pub fn unary_blocking(&self, method: &str, body: Bytes, timeout: Option<Duration>) -> Result<Bytes> {
        block_on(self.unary(method, body, timeout))?
    }

    /// Blocking form of [`Channel::unary_with`] for plain threads.
    pub fn unary_blocking_with(&self, method: &str, body: Bytes, options: &CallOptions) -> Result<Bytes> {
        block_on(self.unary_with(method, body, options))?
    }

    /// Opens a client-streaming call. Messages are sent with [`ClientStream::send`]; the
    /// response comes from [`ClientStream::finish`]. The deadline covers the whole stream.
    pub fn open_stream(&self, method: &str, timeout: Option<Duration>) -> Result<ClientStream> {
        self.open_stream_with(method, &CallOptions::with_timeout(timeout))
    }

    /// [`Channel::open_stream`] with request metadata and a cancellation token (the
    /// stream's own [`ClientStream::canceller`] cancels it too).
    pub fn open_stream_with(&self, method: &str, options: &CallOptions) -> Result<ClientStream> {
        self.open()?;
        let proc = self.proc_arc()?;
        let path = parse_method(method)?;
        let deadline = options.timeout.unwrap_or(proc.shared.timeout);
        let queue = SendQueue::new(STREAM_BUFFER);
        let method_owned = method.to_string();
        let idx = proc.current_index();
        let cancel = options.cancel.clone().unwrap_or_default();
        let metadata = options.metadata.clone();
        let task = {
            let (cancel, queue) = (cancel.clone(), queue.clone());
            runtime().spawn(async move {
                let call = proc.stream_call(idx, path, &method_owned, &metadata, &queue, deadline);
                tokio::pin!(call);
                let r = tokio::select! {
                    biased;
                    () = cancel.cancelled() => {
                        // The body ends with a reset; give the transport a moment to send it
                        // before the call is dropped.
                        queue.close(false);
                        let _ = tokio::time::timeout(Duration::from_millis(100), &mut call).await;
                        Err(call::cancelled_error(&method_owned))
                    }
                    r = &mut call => r,
                };
                // The call is over: senders stop waiting (a retryable body left that to us).
                queue.abandon();
                r
            })
        };
        Ok(ClientStream {
            readiness: StreamReadiness {
                queue: queue.clone(),
                cancel: cancel.clone(),
                generation: runtime::generation(),
            },
            queue: Some(queue),
            finished: false,
            task: Some(task),
            outcome: None,
            method: method.to_string(),
            generation: runtime::generation(),
            cancel,
        })
    }

    /// The connectivity of the channel, as gRPC channels report it. With
    /// `try_to_connect`, an idle channel, or one in TRANSIENT_FAILURE (gRPC channels retry
    /// from there by themselves; swtls connects for calls, or when asked here), starts
    /// connecting to its current backend.
    pub fn connectivity(&self, try_to_connect: bool) -> Connectivity {
        if self.is_closed() {
            return Connectivity::Shutdown;
        }
        match self.proc_arc() {
            Ok(p) => p.connectivity(try_to_connect),
            Err(_) => Connectivity::Shutdown,
        }
    }

    /// Queues one message for `method` (a client-streaming method such as
    /// `/skywalking.v3.TraceSegmentReportService/collect`) and returns at once; a
    /// background task streams the queue to the backend. When the queue is full the
    /// message is dropped and counted, and `RESOURCE_EXHAUSTED` says so.
    pub fn report(&self, method: &str, message: &[u8]) -> Result<()> {
        let proc = self.open()?;
        proc.reporter.report(method, message, || self.proc_arc())
    }

    /// Waits until every message queued before the call was acknowledged by the server
    /// (`Ok`), some of them were dropped after a server error (that error), or `timeout`
    /// (default `collector.grpc_upstream_timeout`) ran out (`DEADLINE_EXCEEDED`).
    pub async fn flush(&self, timeout: Option<Duration>) -> Result<()> {
        let proc = self.open()?;
        proc.reporter.flush(timeout.unwrap_or(proc.shared.timeout)).await
    }

    /// Blocking form of [`Channel::flush`].
    pub fn flush_blocking(&self, timeout: Option<Duration>) -> Result<()> {
        block_on(self.flush(timeout))?
    }

    /// Closes the channel: flushes for up to `timeout` (default
    /// `collector.grpc_upstream_timeout`), then drops what is still pending (counted as
    /// dropped because closed), stops the reporter and the health check, and closes the
    /// connections. Afterwards every call returns `CLOSED`; [`Channel::stats`] keeps the
    /// final counters. Returns how the flush ended.
    pub fn close_blocking(&self, timeout: Option<Duration>) -> Result<()> {
        block_on(async {
            let proc = self.open()?;
            if self.inner.closed.swap(true, Ordering::AcqRel) {
                return Err(Error::channel_closed());
            }
            let deadline = timeout.unwrap_or(proc.shared.timeout);
            let flushed = proc.reporter.flush(deadline).await;
            proc.shutdown();
            let stats = proc.stats();
            let _ = self.inner.final_stats.set(stats.clone());
            info!(
                "channel to {} closed: {} messages acknowledged, {} dropped",
                list(&self.inner.shared.backends),
                stats.acknowledged,
                stats.dropped()
            );
            flushed.map_err(|e| match e.status {
                Status::DeadlineExceeded => Error::new(
                    e.status,
                    format!("close: {}; they were dropped (counted as dropped because closed)", e.message),
                ),
                _ => e,
            })
        })?
    }

    /// The reporter's counters, the backend in use and the TLS mode. After a fork, the
    /// child's counters start from zero; after close, the final counters.
    pub fn stats(&self) -> Stats {
        if let Some(s) = self.inner.final_stats.get() {
            return s.clone();
        }
        match self.proc() {
            Ok(p) => p.stats(),
            Err(_) => Stats::empty(self.inner.shared.backends[0].clone(), self.tls_mode()),
        }
    }
}

impl Proc {
    fn new(shared: Arc<Shared>, generation: u64) -> Result<Proc> {
        let _enter = runtime().enter();
        let links = Arc::new(LinkStats::default());
        let mut targets = Vec::new();
        let mut channels = Vec::new();
        for backend in &shared.backends {
            let target = Arc::new(Target::new(
                backend.clone(),
                shared.server_name_override.clone().unwrap_or_else(|| backend.host.clone()),
                shared.tls.as_ref().map(ClientTls::for_process),
                shared.plan.reason.clone(),
                links.clone(),
            ));
            channels.push(RwLock::new(Some(lazy_channel(&target)?)));
            targets.push(target);
        }
        let current = AtomicUsize::new(random_index(targets.len()));
        let resolved = Mutex::new(vec![Vec::new(); targets.len()]);
        Ok(Proc {
            generation,
            shared,
            targets,
            renewed: channels.iter().map(|_| AtomicU64::new(0)).collect(),
            channels,
            current,
            links,
            switches: AtomicU64::new(0),
            connecting: AtomicBool::new(false),
            last_attempt: Mutex::new(None),
            reporter: Reporter::new(),
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

    fn request<T>(&self, message: T, deadline: Duration, metadata: &Metadata) -> tonic::Request<T> {
        let mut req = tonic::Request::new(message);
        req.set_timeout(deadline);
        metadata.apply(req.metadata_mut());
        if let Some(token) = &self.shared.auth {
            req.metadata_mut().insert("authentication", token.clone());
        }
        req
    }

    fn connectivity(self: &Arc<Self>, try_to_connect: bool) -> Connectivity {
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
            let proc = self.clone();
            runtime().spawn(async move {
                let before = target.health.connects();
                if let Ok(endpoint) = endpoint(&target.backend, target.tls.is_some()) {
                    if let Ok(eager) = endpoint.connect_with_connector(Connector { target: target.clone() }).await {
                        let mut slot = proc.channels[idx].write().unwrap_or_else(|p| p.into_inner());
                        if slot.is_some() && target.health.connects() == before + 1 {
                            *slot = Some(eager);
                        }
                    }
                }
                proc.connecting.store(false, Ordering::Release);
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

    async fn unary(&self, method: &str, body: Bytes, options: &CallOptions) -> Result<Bytes> {
        let path = parse_method(method)?;
        let deadline = options.timeout.unwrap_or(self.shared.timeout);
        let n = self.targets.len();
        let first = self.current_index();
        let call_started = Instant::now();
        let attempts = async {
            let mut last = None;
            let mut stale_retried = false;
            let mut i = 0;
            while i < n {
                let idx = (first + i) % n;
                let started = Instant::now();
                let connects = self.targets[idx].health.connects();
                let result = self.call_unary(idx, &path, body.clone(), deadline, &options.metadata).await;
                match result {
                    Ok(resp) => {
                        if i > 0 {
                            self.switch(
                                first,
                                idx,
                                &format!("{} did not accept a connection", self.targets[first].backend),
                            );
                        }
                        return Ok(resp);
                    }
                    Err(CallError::Closed(e)) => return Err(e),
                    Err(CallError::Status(status)) if timed_out(&status) => {
                        return Err(self.deadline_error(method, deadline, idx));
                    }
                    Err(CallError::Status(status)) => {
                        if call_started.elapsed() >= deadline {
                            // The deadline passed as the call failed: whatever tonic or the
                            // server made of it (a timer, a reset stream), that is the cause.
                            return Err(self.deadline_error(method, deadline, idx));
                        }
                        let (e, not_sent) = self.explain(idx, &status, method, started).await;
                        // A transport failure on a connection made before this call started
                        // (none was made during it): the server had closed that connection
                        // (restart, idle timeout, rotation). Retried once on a new one.
                        let transport = std::error::Error::source(&status).is_some();
                        if transport
                            && e.status != Status::DeadlineExceeded
                            && !not_sent
                            && !stale_retried
                            && connects > 0
                            && self.targets[idx].health.connects() == connects
                        {
                            stale_retried = true;
                            self.renew(idx, connects);
                            debug!(
                                "{}; the connection was stale, retrying {method} once on a new connection",
                                e.message
                            );
                            continue;
                        }
                        if not_sent && i + 1 < n {
                            warn!("{}; trying the next backend", e.message);
                            last = Some(e);
                            i += 1;
                            continue;
                        }
                        self.after_failure(idx, &e);
                        return Err(e);
                    }
                }
            }
            Err(last.unwrap_or_else(|| Error::new(Status::Unavailable, "no backend configured")))
        };
        match tokio::time::timeout(deadline, attempts).await {
            Ok(r) => r,
            Err(_) => Err(self.deadline_error(method, deadline, first)),
        }
    }

    async fn call_unary(
        &self,
        idx: usize,
        path: &PathAndQuery,
        body: Bytes,
        deadline: Duration,
        metadata: &Metadata,
    ) -> std::result::Result<Bytes, CallError> {
        let mut grpc = self.grpc(idx).map_err(CallError::Closed)?;
        grpc.ready().await.map_err(|e| CallError::Status(tonic::Status::from_error(Box::new(e))))?;
        Ok(grpc
            .unary(self.request(body, deadline, metadata), path.clone(), RawCodec)
            .await
            .map_err(CallError::Status)?
            .into_inner())
    }

    /// One client-streaming call on backend `idx` (a [`ClientStream`] or a reporter
    /// stream): sends what `body` yields (messages in gRPC framing) and returns the
    /// server's answer. A failure comes back classified, and counts against the backend.
    pub(crate) async fn client_stream<B>(
        &self,
        idx: usize,
        path: PathAndQuery,
        method: &str,
        metadata: &Metadata,
        body: B,
        deadline: Duration,
    ) -> Result<Bytes>
    where
        B: http_body::Body<Data = Bytes, Error = tonic::Status> + Send + 'static,
    {
        let result = self.client_stream_attempt(idx, path, method, metadata, body, deadline).await.map_err(|(e, _)| e);
        if let Err(e) = &result {
            self.after_failure(idx, e);
        }
        result
    }

    /// [`Proc::client_stream`] without counting a failure against the backend; a failure
    /// says whether nothing was sent (connecting failed).
    async fn client_stream_attempt<B>(
        &self,
        idx: usize,
        path: PathAndQuery,
        method: &str,
        metadata: &Metadata,
        body: B,
        deadline: Duration,
    ) -> std::result::Result<Bytes, (Error, bool)>
    where
        B: http_body::Body<Data = Bytes, Error = tonic::Status> + Send + 'static,
    {
        let started = Instant::now();
        let channel = self.channel(idx).map_err(|e| (e, false))?;
        let (metadata, _, ()) = self.request((), deadline, metadata).into_parts();
        let call = framed::client_streaming(channel, path, metadata, body, MAX_RESPONSE_BYTES);
        match tokio::time::timeout(deadline, call).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(status)) if timed_out(&status) => Err((self.deadline_error(method, deadline, idx), false)),
            Ok(Err(status)) => Err(self.explain(idx, &status, method, started).await),
            Err(_) => Err((self.deadline_error(method, deadline, idx), false)),
        }
    }

    /// The call of a [`ClientStream`]: [`Proc::client_stream`] on backend `first` and, while
    /// connecting fails before the request went out, on the next backends (as unary calls
    /// do), with the messages queued meanwhile. The deadline covers every attempt.
    async fn stream_call(
        &self,
        first: usize,
        path: PathAndQuery,
        method: &str,
        metadata: &Metadata,
        queue: &Arc<SendQueue>,
        deadline: Duration,
    ) -> Result<Bytes> {
        let n = self.targets.len();
        let started = Instant::now();
        let mut i = 0;
        loop {
            let idx = (first + i) % n;
            // The first attempt carries the deadline as given (the server sees it exactly).
            let left = if i == 0 { deadline } else { deadline.saturating_sub(started.elapsed()) };
            let body = FramedBody::new(queue.clone());
            match self.client_stream_attempt(idx, path.clone(), method, metadata, body, left).await {
                Ok(resp) => {
                    if i > 0 {
                        self.switch(
                            first,
                            idx,
                            &format!("{} did not accept a connection", self.targets[first].backend),
                        );
                    }
                    return Ok(resp);
                }
                Err((e, not_sent)) if not_sent && i + 1 < n && !queue.was_polled() && !left.is_zero() => {
                    warn!("{}; trying the next backend", e.message);
                    self.targets[idx].health.mark_down();
                    i += 1;
                }
                Err((e, _)) => {
                    self.after_failure(idx, &e);
                    return Err(e);
                }
            }
        }
    }

    /// One client stream of the reporter on backend `idx`: [`Proc::client_stream`], and
    /// an answer marks the backend up.
    pub(crate) async fn report_stream<B>(
        &self,
        idx: usize,
        path: &PathAndQuery,
        method: &str,
        body: B,
        deadline: Duration,
    ) -> Result<()>
    where
        B: http_body::Body<Data = Bytes, Error = tonic::Status> + Send + 'static,
    {
        self.client_stream(idx, path.clone(), method, &Metadata::new(), body, deadline).await?;
        self.targets[idx].health.mark_up();
        Ok(())
    }

    fn deadline_error(&self, method: &str, deadline: Duration, idx: usize) -> Error {
        let target = &self.targets[idx % self.targets.len()];
        let mut msg = format!("{method} on {} did not finish within {:?}", target.backend, deadline);
        if let Some(d) = target.diag.since(Instant::now() - deadline) {
            msg.push_str(&format!(" (last connection problem: {})", d.error.message));
        }
        Error::new(Status::DeadlineExceeded, msg)
    }

    /// Like [`Proc::classify`], and when the connection died before the server said
    /// anything readable, probes the backend once to find out why.
    async fn explain(&self, idx: usize, status: &tonic::Status, method: &str, started: Instant) -> (Error, bool) {
        let (e, not_sent, ambiguous) = self.classify(idx, status, method, started);
        if ambiguous {
            if let Some(better) = crate::connect::probe(&self.targets[idx]).await {
                return (better, not_sent);
            }
        }
        (e, not_sent)
    }

    /// Turns a tonic status into our error, and says whether the request surely was not
    /// sent (the connection could not be made, so another backend may be tried) and whether
    /// the failure is ambiguous (worth a probe).
    fn classify(&self, idx: usize, status: &tonic::Status, method: &str, started: Instant) -> (Error, bool, bool) {
        let target = &self.targets[idx];
        let b = &target.backend;
        let mut source = std::error::Error::source(status);
        while let Some(e) = source {
            if let Some(ours) = e.downcast_ref::<Error>() {
                return (ours.clone(), true, false);
            }
            if e.is::<tonic::TimeoutExpired>() {
                // tonic's own timer for the call's grpc-timeout: the deadline, not a
                // transport failure (the connection is fine; no retry, no reconnect).
                let msg = format!("{method} on {b} did not finish within its deadline ({:?})", started.elapsed());
                return (Error::new(Status::DeadlineExceeded, msg), false, false);
            }
            source = e.source();
        }
        let transport = std::error::Error::source(status).is_some();
        if transport {
            if let Some(d) = target.diag.since(started) {
                return (d.error, false, d.ambiguous);
            }
            if let Some(e) = target.explain_protocol_error(status.message()) {
                return (e, false, false);
            }
            let code = match status.code() {
                tonic::Code::Unknown | tonic::Code::Internal => Status::Unavailable,
                c => Status::from_grpc(c),
            };
            return (
                Error::new(code, format!("{method} on {b} failed in transport: {}", status.message())),
                false,
                false,
            );
        }
        // tonic's words for a message over a decoding limit; only ours is about the response
        // (a server saying the same is refusing our request: its answer below says so).
        if status.message().contains("message length too large")
            && status.message().contains(&format!("the limit is: {MAX_RESPONSE_BYTES} bytes"))
        {
            return (
                Error::new(
                    Status::ResourceExhausted,
                    format!(
                        "the response to {method} from {b} is larger than the {} MiB limit ({})",
                        MAX_RESPONSE_BYTES >> 20,
                        status.message()
                    ),
                ),
                false,
                false,
            );
        }
        let code = Status::from_grpc(status.code());
        (Error::new(code, format!("{b} answered {method} with {}: {}", code.name(), status.message())), false, false)
    }

    /// Starts the health check and DNS re-resolution task of this process's state.
    fn start_monitor(this: &Arc<Proc>) {
        let weak = Arc::downgrade(this);
        let interval = this.shared.check_interval;
        let task = runtime().spawn(monitor(weak, interval));
        *this.monitor.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    /// The health check: when the current backend is down (its last connection attempt or
    /// call failed, or the server closed the connection) and no connection to it is open,
    /// tries to connect to the backends in turn, starting with it, and moves to the first
    /// that accepts. Nothing is sent on these connections.
    async fn check_health(&self) {
        let n = self.targets.len();
        let first = self.current_index();
        let target = &self.targets[first];
        if n < 2 || !target.health.is_down() || target.health.live() > 0 {
            return;
        }
        for i in 0..n {
            let idx = (first + i) % n;
            let t = &self.targets[idx];
            match tokio::time::timeout(PROBE_TIMEOUT, crate::connect::connect(t)).await {
                Ok(Ok(_conn)) => {
                    t.health.mark_up();
                    if i == 0 {
                        info!("health check: backend {} is reachable again", t.backend);
                    } else {
                        self.switch(first, idx, &format!("health check: {} is not reachable", target.backend));
                    }
                    return;
                }
                Ok(Err(e)) => {
                    t.health.mark_down();
                    debug!("health check: {} is not reachable: {}", t.backend, e.message);
                }
                Err(_) => {
                    t.health.mark_down();
                    debug!("health check: {} did not accept a connection within {:?}", t.backend, PROBE_TIMEOUT);
                }
            }
        }
        debug!("health check: no backend of {} is reachable", list(&self.shared.backends));
    }

    /// Periodic DNS re-resolution: when a backend's name resolves to other addresses than
    /// at the last check, its connection is replaced, so that the next call connects to
    /// one of the new addresses (an existing HTTP/2 connection would otherwise stay on the
    /// old one for as long as it lives).
    async fn refresh_dns(&self) {
        for (i, target) in self.targets.iter().enumerate() {
            let b = &target.backend;
            if b.ip().is_some() {
                continue;
            }
            let mut now: Vec<SocketAddr> = match crate::connect::resolve(b).await {
                Ok(addrs) => addrs,
                Err(e) => {
                    debug!("re-resolving {b}: {e}");
                    continue;
                }
            };
            now.sort();
            now.dedup();
            if now.is_empty() {
                continue;
            }
            let changed = {
                let mut resolved = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
                let before = std::mem::replace(&mut resolved[i], now.clone());
                (!before.is_empty() && before != now).then_some(before)
            };
            debug!("re-resolved {b}: {now:?}");
            if let Some(before) = changed {
                info!("backend {b} now resolves to {now:?} (was {before:?}); reconnecting to the new addresses");
                let mut slot = self.channels[i].write().unwrap_or_else(|p| p.into_inner());
                if slot.is_some() {
                    match lazy_channel(target) {
                        Ok(c) => *slot = Some(c),
                        Err(e) => warn!("re-resolving {b}: {}", e.message),
                    }
                }
            }
        }
    }

    /// Stops the reporter (dropping what is still pending) and the health check, and
    /// closes the connections.
    fn shutdown(&self) {
        self.reporter.shutdown();
        if let Some(task) = self.monitor.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
        for slot in &self.channels {
            *slot.write().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    fn stats(&self) -> Stats {
        let mut s = Stats::empty(self.current_backend().clone(), self.shared.plan.mode);
        s.backend_index = self.current_index();
        self.reporter.add_to(&mut s);
        s.reconnects = self.links.connects.load(Ordering::Relaxed).saturating_sub(1);
        s.connect_failures = self.links.connect_failures.load(Ordering::Relaxed);
        s.backend_switches = self.switches.load(Ordering::Relaxed);
        s
    }
}

/// How a unary attempt failed: the channel was closed, or the call ended with a status.
enum CallError {
    Closed(Error),
    Status(tonic::Status),
}

async fn monitor(proc: Weak<Proc>, interval: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(proc) = proc.upgrade() else { return };
        proc.check_health().await;
        proc.refresh_dns().await;
    }
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

fn list(backends: &[Backend]) -> String {
    backends.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",")
}

/// An open client-streaming call. Not for concurrent use from several threads at once.
pub struct ClientStream {
    /// Where `send` puts messages; `None` once finished (or the call was found over).
    queue: Option<Arc<SendQueue>>,
    /// `finish` was called.
    finished: bool,
    task: Option<tokio::task::JoinHandle<Result<Bytes>>>,
    outcome: Option<Result<Bytes>>,
    method: String,
    /// The process generation the stream was opened in: streams do not survive fork().
    generation: u64,
    /// Raised by [`StreamCanceller::cancel`] (or the caller's token): the call ends.
    cancel: CancelToken,
    readiness: StreamReadiness,
}

/// Cancels a [`ClientStream`] from any thread, also while another thread is blocked in its
/// `send` or `finish` (which then return `CANCELLED`).
#[derive(Debug, Clone)]
pub struct StreamCanceller {
    cancel: CancelToken,
}

impl StreamCanceller {
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

/// Tells from any thread whether a [`ClientStream`] would take a message without waiting,
/// and waits until it would: flow control for callers that must never block in a send
/// (grpc-java's `ClientCall.isReady` and `onReady`). It takes no lock that a send holds.
#[derive(Clone)]
pub struct StreamReadiness {
    queue: Arc<SendQueue>,
    cancel: CancelToken,
    generation: u64,
}

impl StreamReadiness {
    /// True when a send would not wait now (the stream's buffer has room); false once the
    /// stream is finished, cancelled or over.
    pub fn is_ready(&self) -> bool {
        self.generation == runtime::generation() && !self.cancel.is_cancelled() && self.queue.has_room()
    }

    /// Waits up to `timeout` until a send would not wait.
    pub async fn ready(&self, timeout: Duration) -> Readiness {
        if self.generation != runtime::generation() {
            return Readiness::Closed;
        }
        tokio::select! {
            r = tokio::time::timeout(timeout, self.queue.wait_room()) => match r {
                Ok(true) if !self.cancel.is_cancelled() => Readiness::Ready,
                Ok(_) => Readiness::Closed,
                Err(_) => Readiness::Full,
            },
            () = self.cancel.cancelled() => Readiness::Closed,
        }
    }

    /// Blocking form of [`StreamReadiness::ready`] for plain threads.
    pub fn ready_blocking(&self, timeout: Duration) -> Result<Readiness> {
        block_on(self.ready(timeout))
    }
}

/// What [`StreamReadiness::ready`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// A send would not wait now.
    Ready = 0,
    /// The time ran out with the stream's buffer still full.
    Full = 1,
    /// The stream takes no more messages: it was finished or cancelled, or the call is over
    /// (a send or `finish` then says how it ended).
    Closed = 2,
}

impl ClientStream {
    /// A handle that tells from any thread whether this stream would take a message now,
    /// and waits until it would.
    pub fn readiness(&self) -> StreamReadiness {
        self.readiness.clone()
    }

    /// A handle that cancels this stream from any thread.
    pub fn canceller(&self) -> StreamCanceller {
        StreamCanceller { cancel: self.cancel.clone() }
    }

    /// True when a send would not wait now (the stream's buffer has room).
    pub fn is_ready(&self) -> bool {
        self.queue.as_ref().is_some_and(|q| q.has_room())
    }

    /// Queues one message (the bytes are copied); waits only while the stream's small
    /// buffer is full.
    pub async fn send(&mut self, message: impl AsRef<[u8]>) -> Result<()> {
        let message = message.as_ref();
        if let Some(queue) = self.ready_queue(message)? {
            let pushed = tokio::select! {
                biased;
                () = self.cancel.cancelled() => false,
                r = queue.push(message) => r.is_ok(),
            };
            if pushed {
                return Ok(());
            }
        }
        self.call_over().await
    }

    pub fn send_blocking(&mut self, message: impl AsRef<[u8]>) -> Result<()> {
        let message = message.as_ref();
        runtime::blocking_allowed()?;
        if let Some(queue) = self.ready_queue(message)? {
            match queue.try_push(message) {
                Ok(true) => return Ok(()),
                // Full: wait for room like `send`.
                Ok(false) => return block_on(self.send(message))?,
                Err(_) => {}
            }
        }
        block_on(self.call_over())?
    }

    /// The checks of a send; the queue to use, or `None` when the call is known to be over.
    fn ready_queue(&self, message: &[u8]) -> Result<Option<&Arc<SendQueue>>> {
        self.same_process()?;
        if message.len() > u32::MAX as usize {
            return Err(Error::new(
                Status::InvalidArgument,
                format!("a gRPC message is at most 4 GiB; this one on {} has {} bytes", self.method, message.len()),
            ));
        }
        if self.finished {
            return Err(Error::new(Status::Closed, format!("the stream on {} is already finished", self.method)));
        }
        if self.cancel.is_cancelled() {
            return Ok(None); // the call is over: `call_over` says how
        }
        Ok(self.queue.as_ref())
    }

    /// The call ended before the end of the stream (now or at an earlier send): how it ended.
    async fn call_over(&mut self) -> Result<()> {
        self.queue = None;
        match self.outcome().await {
            Err(e) => Err(e),
            Ok(_) => Err(Error::new(
                Status::Closed,
                format!("the server finished the stream on {} before all messages were sent", self.method),
            )),
        }
    }

    /// Ends the stream and waits for the server's response.
    pub async fn finish(&mut self) -> Result<Bytes> {
        self.same_process()?;
        if self.finished {
            return Err(Error::new(Status::Closed, format!("the stream on {} is already finished", self.method)));
        }
        self.finished = true;
        // After a send found the call over, this returns how it ended again.
        if let Some(queue) = self.queue.take() {
            queue.close(true);
        }
        self.outcome().await
    }

    pub fn finish_blocking(&mut self) -> Result<Bytes> {
        block_on(self.finish())?
    }

    fn same_process(&self) -> Result<()> {
        if self.generation == runtime::generation() {
            return Ok(());
        }
        Err(Error::new(
            Status::FailedPrecondition,
            format!(
                "the stream on {} was opened before fork() in the parent process; streams do not survive fork(): \
                 open a new one in this process (the channel itself works here)",
                self.method
            ),
        ))
    }

    async fn outcome(&mut self) -> Result<Bytes> {
        if let Some(task) = self.task.take() {
            let r = match task.await {
                Ok(r) => r,
                Err(e) => Err(Error::new(Status::Internal, format!("the stream task on {} failed: {e}", self.method))),
            };
            self.outcome = Some(r);
        }
        self.outcome.clone().unwrap_or_else(|| Err(Error::new(Status::Closed, "stream already finished")))
    }
}

impl Drop for ClientStream {
    fn drop(&mut self) {
        if self.generation != runtime::generation() {
            // Opened by the parent before fork(): its task belongs to a runtime whose
            // threads do not exist here; touching it could block. Leak it.
            std::mem::forget(self.queue.take());
            std::mem::forget(self.task.take());
            return;
        }
        // Dropping an unfinished stream cancels the call: the body ends with a
        // cancellation (an HTTP/2 reset), never with a clean end of stream. The call's task
        // is left to see that through (it ends as soon as the reset is sent); aborting it
        // here could drop the call before the transport had read the cancellation.
        if let Some(queue) = self.queue.take() {
            queue.close(false);
        }
        drop(self.task.take());
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Channel>();
    is::<MetadataMap>();
}
