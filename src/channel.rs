//! A channel to the backend list (DESIGN §4, §5): the API that callers use, one per
//! configuration, for any number of threads and across `fork()`.
//!
//! The work is done per process: a channel's backend pool (connections, backend choice,
//! failover, health check: `pool`) and its reporter (queues drained into client streams:
//! `reporter`) live in a `ProcessState` built for one process generation (see
//! `runtime`). After `fork()`, the child's first use of the channel builds a fresh one with
//! its own runtime, connections and queues; the parent's is left as it was (and leaked in
//! the child, never touched there). Client streams are in `stream`.

use crate::backend::{list, Backend};
use crate::call::{self, CallOptions, CancelToken, Connectivity};
use crate::config::Config;
use crate::error::{Error, Result, Status};
use crate::pool::{BackendPool, Settings};
use crate::reporter::{QueueLimits, Reporter};
use crate::runtime::{self, block_on};
use crate::stats::Stats;
use crate::stream::ClientStream;
use crate::tls::TlsMode;
use bytes::Bytes;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tonic::metadata::MetadataMap;

/// A channel in one process: its backend pool and its reporter.
struct ProcessState {
    /// The process generation this was built in (see `runtime::generation`).
    generation: u64,
    pool: Arc<BackendPool>,
    reporter: Reporter,
}

impl ProcessState {
    fn new(settings: &Arc<Settings>, limits: QueueLimits, generation: u64) -> Result<ProcessState> {
        Ok(ProcessState {
            generation,
            pool: Arc::new(BackendPool::new(settings.clone())?),
            reporter: Reporter::new(limits),
        })
    }

    /// Stops the reporter (dropping what is still pending) and the health check, and
    /// closes the connections.
    fn shutdown(&self) {
        self.reporter.shutdown();
        self.pool.shutdown();
    }

    fn stats(&self) -> Stats {
        let mut s = Stats::empty(self.pool.current_backend().clone(), self.pool.settings.plan.mode);
        self.pool.add_to(&mut s);
        self.reporter.add_to(&mut s);
        s
    }
}

struct Inner {
    settings: Arc<Settings>,
    limits: QueueLimits,
    /// The state of the current process (`Arc::into_raw`). Replaced (and the old one
    /// leaked) only in a child after `fork()`; released when the channel is dropped.
    state: AtomicPtr<ProcessState>,
    closed: AtomicBool,
    /// The counters as they were when the channel was closed.
    final_stats: OnceLock<Stats>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let p = *self.state.get_mut();
        if p.is_null() {
            return;
        }
        // SAFETY: `p` came from `Arc::into_raw` and this is the reference it stands for.
        let state = unsafe { Arc::from_raw(p) };
        if state.generation == runtime::generation() {
            if !self.closed.load(Ordering::Acquire) {
                // Freed without close: whatever is still queued is dropped.
                state.shutdown();
            }
        } else {
            // Built by the parent before fork(): its tasks and locks belong to threads that
            // do not exist in this process; leave it alone.
            std::mem::forget(state);
        }
    }
}

/// A thread-safe handle to the backends; cloning is cheap and shares connections.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

impl Channel {
    /// Decides the TLS mode, loads and checks every file, and prepares one lazily connected
    /// channel per backend. No connection is made until the first call.
    pub fn new(config: &Config) -> Result<Channel> {
        let settings = Arc::new(Settings::new(config)?);
        let limits = QueueLimits { messages: config.report_queue_messages, bytes: config.report_queue_bytes };
        let state = ProcessState::new(&settings, limits, runtime::generation())?;
        BackendPool::start_monitor(&state.pool);
        let inner = Inner {
            settings,
            limits,
            state: AtomicPtr::new(Arc::into_raw(Arc::new(state)) as *mut ProcessState),
            closed: AtomicBool::new(false),
            final_stats: OnceLock::new(),
        };
        Ok(Channel { inner: Arc::new(inner) })
    }

    /// The state of this channel in the current process, built on first use after a fork.
    fn state(&self) -> Result<&ProcessState> {
        loop {
            let generation = runtime::generation();
            let current = self.inner.state.load(Ordering::Acquire);
            // SAFETY: a published state stays allocated as long as `Inner` (a replaced one,
            // in a fork child, is leaked).
            if let Some(p) = unsafe { current.as_ref() } {
                if p.generation == generation {
                    return Ok(p);
                }
            }
            let fresh = Arc::new(ProcessState::new(&self.inner.settings, self.inner.limits, generation)?);
            let raw = Arc::into_raw(fresh.clone()) as *mut ProcessState;
            match self.inner.state.compare_exchange(current, raw, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    info!(
                        "process {} (forked) uses its own connections and report queues for the channel to {}",
                        std::process::id(),
                        list(&self.inner.settings.backends)
                    );
                    BackendPool::start_monitor(&fresh.pool);
                }
                // Another thread of this process built one first.
                Err(_) => drop(unsafe { Arc::from_raw(raw) }),
            }
        }
    }

    fn open(&self) -> Result<&ProcessState> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::channel_closed());
        }
        self.state()
    }

    pub fn tls_mode(&self) -> TlsMode {
        self.inner.settings.plan.mode
    }

    /// Why the mode was chosen, in words.
    pub fn tls_reason(&self) -> &str {
        &self.inner.settings.plan.reason
    }

    /// The backend calls go to first.
    pub fn current_backend(&self) -> Backend {
        match self.state() {
            Ok(p) => p.pool.current_backend().clone(),
            Err(_) => self.inner.settings.backends[0].clone(),
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
        let state = self.open()?;
        if options.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            return Err(call::cancelled_error(method)); // raised before: the call does not start
        }
        tokio::select! {
            biased;
            () = call::cancelled(options.cancel.as_ref()) => Err(call::cancelled_error(method)),
            r = state.pool.unary(method, body, options) => r,
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
        ClientStream::open(self.open()?.pool.clone(), method, options)
    }

    /// The connectivity of the channel, as gRPC channels report it. With
    /// `try_to_connect`, an idle channel, or one in TRANSIENT_FAILURE (gRPC channels retry
    /// from there by themselves; swtls connects for calls, or when asked here), starts
    /// connecting to its current backend.
    pub fn connectivity(&self, try_to_connect: bool) -> Connectivity {
        if self.is_closed() {
            return Connectivity::Shutdown;
        }
        match self.state() {
            Ok(p) => p.pool.connectivity(try_to_connect),
            Err(_) => Connectivity::Shutdown,
        }
    }

    /// Queues one message for `method` (a client-streaming method such as
    /// `/skywalking.v3.TraceSegmentReportService/collect`) and returns at once; a
    /// background task streams the queue to the backend. When the queue is full the
    /// message is dropped and counted, and `RESOURCE_EXHAUSTED` says so.
    pub fn report(&self, method: &str, message: &[u8]) -> Result<()> {
        let state = self.open()?;
        state.reporter.report(method, message, &state.pool)
    }

    /// Waits until every message queued before the call was acknowledged by the server
    /// (`Ok`), some of them were dropped after a server error (that error), or `timeout`
    /// (default `collector.grpc_upstream_timeout`) ran out (`DEADLINE_EXCEEDED`).
    pub async fn flush(&self, timeout: Option<Duration>) -> Result<()> {
        let state = self.open()?;
        state.reporter.flush(timeout.unwrap_or(self.inner.settings.timeout)).await
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
            let state = self.open()?;
            if self.inner.closed.swap(true, Ordering::AcqRel) {
                return Err(Error::channel_closed());
            }
            let deadline = timeout.unwrap_or(self.inner.settings.timeout);
            let flushed = state.reporter.flush(deadline).await;
            state.shutdown();
            let stats = state.stats();
            let _ = self.inner.final_stats.set(stats.clone());
            info!(
                "channel to {} closed: {} messages acknowledged, {} dropped",
                list(&self.inner.settings.backends),
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

    /// The channel's counters, the backend in use and the TLS mode. After a fork, the
    /// child's counters start from zero; after close, the final counters.
    pub fn stats(&self) -> Stats {
        if let Some(s) = self.inner.final_stats.get() {
            return s.clone();
        }
        match self.state() {
            Ok(p) => p.stats(),
            Err(_) => Stats::empty(self.inner.settings.backends[0].clone(), self.tls_mode()),
        }
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Channel>();
    is::<MetadataMap>();
}
