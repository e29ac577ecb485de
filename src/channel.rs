//! A channel to the backend list: one lazily connected tonic channel per address over the
//! library's own connector, backend choice and failover, and the calls (DESIGN §4, §5).

use crate::backend::Backend;
use crate::codec::{Outgoing, RawCodec, StreamCodec};
use crate::config::Config;
use crate::connect::{Connector, DiagSlot, Target};
use crate::error::{Error, Result, Status};
use crate::runtime::{block_on, runtime};
use crate::tls::{self, ClientTls, TlsMode, TlsPlan};
use bytes::Bytes;
use http::uri::PathAndQuery;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::transport::Endpoint;

/// Largest response accepted (DESIGN §4).
pub const MAX_RESPONSE_BYTES: usize = 50 * 1024 * 1024;
/// Messages a client stream buffers before `send` waits for the network.
const STREAM_BUFFER: usize = 64;

struct Inner {
    targets: Vec<Arc<Target>>,
    channels: Vec<tonic::transport::Channel>,
    current: AtomicUsize,
    plan: TlsPlan,
    auth: Option<AsciiMetadataValue>,
    timeout: Duration,
}

/// A thread-safe handle to the backends; cloning is cheap and shares connections.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

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

fn random_index(n: usize) -> usize {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    (h.finish() as usize) % n.max(1)
}

impl Channel {
    /// Decides the TLS mode, loads and checks every file, and prepares one lazily connected
    /// channel per backend. No connection is made until the first call.
    pub fn new(config: &Config) -> Result<Channel> {
        let plan = tls::plan(config)?;
        let tls = ClientTls::load(&plan)?;
        info!("swtls channel to {}: {}", list(&config.backends), plan.reason);
        let auth = match &config.authentication {
            Some(t) => Some(AsciiMetadataValue::try_from(t.as_str()).map_err(|_| {
                Error::new(
                    Status::ConfigInvalidValue,
                    "agent.authentication: the token is not valid gRPC metadata; value not shown",
                )
            })?),
            None => None,
        };
        let _enter = runtime().enter();
        let mut targets = Vec::new();
        let mut channels = Vec::new();
        for backend in &config.backends {
            let target = Arc::new(Target {
                backend: backend.clone(),
                server_name: config.target_name_override.clone().unwrap_or_else(|| backend.host.clone()),
                tls: tls.clone(),
                plaintext_reason: plan.reason.clone(),
                diag: DiagSlot::default(),
                last_first: Default::default(),
            });
            channels.push(
                endpoint(backend, tls.is_some())?.connect_with_connector_lazy(Connector { target: target.clone() }),
            );
            targets.push(target);
        }
        let current = AtomicUsize::new(random_index(targets.len()));
        Ok(Channel {
            inner: Arc::new(Inner { targets, channels, current, plan, auth, timeout: config.upstream_timeout }),
        })
    }

    pub fn tls_mode(&self) -> TlsMode {
        self.inner.plan.mode
    }

    /// Why the mode was chosen, in words.
    pub fn tls_reason(&self) -> &str {
        &self.inner.plan.reason
    }

    /// The backend calls go to first.
    pub fn current_backend(&self) -> &Backend {
        &self.inner.targets[self.inner.current.load(Ordering::Relaxed) % self.inner.targets.len()].backend
    }

    fn request<T>(&self, message: T, deadline: Duration) -> tonic::Request<T> {
        let mut req = tonic::Request::new(message);
        req.set_timeout(deadline);
        if let Some(token) = &self.inner.auth {
            req.metadata_mut().insert("authentication", token.clone());
        }
        req
    }

    fn grpc(&self, idx: usize) -> tonic::client::Grpc<tonic::transport::Channel> {
        tonic::client::Grpc::new(self.inner.channels[idx].clone())
            .max_decoding_message_size(MAX_RESPONSE_BYTES)
            .max_encoding_message_size(usize::MAX)
    }

    /// Moves future calls to the next backend after a failure that calls for it.
    fn after_failure(&self, idx: usize, e: &Error) {
        let n = self.inner.targets.len();
        if n > 1 && e.status.is_failover() {
            let next = (idx + 1) % n;
            if self.inner.current.compare_exchange(idx, next, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                warn!(
                    "backend {} failed ({}); switching to {}",
                    self.inner.targets[idx].backend,
                    e.status.name(),
                    self.inner.targets[next].backend
                );
            }
        }
    }

    /// One unary call: request bytes in, response bytes out. Tries the backends in turn,
    /// starting from the current one, while connecting fails (nothing was sent then).
    pub async fn unary(&self, method: &str, body: Bytes, timeout: Option<Duration>) -> Result<Bytes> {
        let path = parse_method(method)?;
        let deadline = timeout.unwrap_or(self.inner.timeout);
        let n = self.inner.targets.len();
        let first = self.inner.current.load(Ordering::Relaxed);
        let attempts = async {
            let mut last = None;
            for i in 0..n {
                let idx = (first + i) % n;
                let started = Instant::now();
                let result = self.call_unary(idx, &path, body.clone(), deadline).await;
                match result {
                    Ok(resp) => {
                        if i > 0 {
                            self.inner.current.store(idx, Ordering::Relaxed);
                        }
                        return Ok(resp);
                    }
                    Err(status) => {
                        let (e, not_sent) = self.explain(idx, &status, method, started).await;
                        if not_sent && i + 1 < n {
                            warn!("{}; trying the next backend", e.message);
                            last = Some(e);
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
    ) -> std::result::Result<Bytes, tonic::Status> {
        let mut grpc = self.grpc(idx);
        grpc.ready().await.map_err(|e| tonic::Status::from_error(Box::new(e)))?;
        Ok(grpc.unary(self.request(body, deadline), path.clone(), RawCodec).await?.into_inner())
    }

    /// Blocking form of [`Channel::unary`] for plain threads.
    pub fn unary_blocking(&self, method: &str, body: Bytes, timeout: Option<Duration>) -> Result<Bytes> {
        block_on(self.unary(method, body, timeout))?
    }

    fn deadline_error(&self, method: &str, deadline: Duration, idx: usize) -> Error {
        let target = &self.inner.targets[idx % self.inner.targets.len()];
        let mut msg = format!("{method} on {} did not finish within {:?}", target.backend, deadline);
        if let Some(d) = target.diag.since(Instant::now() - deadline) {
            msg.push_str(&format!(" (last connection problem: {})", d.error.message));
        }
        Error::new(Status::DeadlineExceeded, msg)
    }

    /// Like [`Channel::classify`], and when the connection died before the server said
    /// anything readable, probes the backend once to find out why.
    async fn explain(&self, idx: usize, status: &tonic::Status, method: &str, started: Instant) -> (Error, bool) {
        let (e, not_sent, ambiguous) = self.classify(idx, status, method, started);
        if ambiguous {
            if let Some(better) = crate::connect::probe(&self.inner.targets[idx]).await {
                return (better, not_sent);
            }
        }
        (e, not_sent)
    }

    /// Turns a tonic status into our error, and says whether the request surely was not
    /// sent (the connection could not be made, so another backend may be tried) and whether
    /// the failure is ambiguous (worth a probe).
    fn classify(&self, idx: usize, status: &tonic::Status, method: &str, started: Instant) -> (Error, bool, bool) {
        let target = &self.inner.targets[idx];
        let b = &target.backend;
        let mut source = std::error::Error::source(status);
        while let Some(e) = source {
            if let Some(ours) = e.downcast_ref::<Error>() {
                return (ours.clone(), true, false);
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
        if status.message().contains("message length too large") {
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

    /// Opens a client-streaming call. Messages are sent with [`ClientStream::send`]; the
    /// response comes from [`ClientStream::finish`]. The deadline covers the whole stream.
    pub fn open_stream(&self, method: &str, timeout: Option<Duration>) -> Result<ClientStream> {
        let path = parse_method(method)?;
        let deadline = timeout.unwrap_or(self.inner.timeout);
        let (tx, rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
        let this = self.clone();
        let method_owned = method.to_string();
        let idx = self.inner.current.load(Ordering::Relaxed) % self.inner.targets.len();
        let finished = Arc::new(AtomicBool::new(false));
        let finished_flag = finished.clone();
        let task = runtime().spawn(async move {
            let started = Instant::now();
            let req = this.request(Outbound { rx, finished: finished_flag, done: false }, deadline);
            let mut grpc = this.grpc(idx);
            let call = async {
                grpc.ready().await.map_err(|e| tonic::Status::from_error(Box::new(e)))?;
                grpc.client_streaming(req, path, StreamCodec).await
            };
            let result = match tokio::time::timeout(deadline, call).await {
                Ok(Ok(resp)) => Ok(resp.into_inner()),
                Ok(Err(status)) => Err(this.explain(idx, &status, &method_owned, started).await.0),
                Err(_) => Err(this.deadline_error(&method_owned, deadline, idx)),
            };
            if let Err(e) = &result {
                this.after_failure(idx, e);
            }
            result
        });
        Ok(ClientStream { tx: Some(tx), finished, task: Some(task), outcome: None, method: method.to_string() })
    }
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
        .user_agent(format!("swtls/{}", env!("CARGO_PKG_VERSION")))
        .map_err(|e| bad(&e))
}

fn list(backends: &[Backend]) -> String {
    backends.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",")
}

/// The request body of a client stream: the queued messages, then either a clean end
/// (after `finish`) or a cancellation (when the stream was dropped unfinished).
struct Outbound {
    rx: mpsc::Receiver<Bytes>,
    finished: Arc<AtomicBool>,
    done: bool,
}

impl tokio_stream::Stream for Outbound {
    type Item = Outgoing;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Outgoing>> {
        use std::task::Poll;
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(b)) => Poll::Ready(Some(Outgoing::Message(b))),
            Poll::Ready(None) => {
                self.done = true;
                if self.finished.load(Ordering::Acquire) {
                    Poll::Ready(None)
                } else {
                    Poll::Ready(Some(Outgoing::Cancel))
                }
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// An open client-streaming call. Not for concurrent use from several threads at once.
pub struct ClientStream {
    tx: Option<mpsc::Sender<Bytes>>,
    finished: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<Result<Bytes>>>,
    outcome: Option<Result<Bytes>>,
    method: String,
}

impl ClientStream {
    /// Queues one message; waits only while the stream's small buffer is full.
    pub async fn send(&mut self, message: Bytes) -> Result<()> {
        let Some(tx) = &self.tx else {
            return Err(Error::new(Status::Closed, format!("the stream on {} is already finished", self.method)));
        };
        if tx.send(message).await.is_ok() {
            return Ok(());
        }
        // The call ended before the end of the stream: report how it ended.
        self.tx = None;
        match self.outcome().await {
            Err(e) => Err(e),
            Ok(_) => Err(Error::new(
                Status::Closed,
                format!("the server finished the stream on {} before all messages were sent", self.method),
            )),
        }
    }

    pub fn send_blocking(&mut self, message: Bytes) -> Result<()> {
        block_on(self.send(message))?
    }

    /// Ends the stream and waits for the server's response.
    pub async fn finish(&mut self) -> Result<Bytes> {
        self.finished.store(true, Ordering::Release);
        if self.tx.take().is_none() && self.outcome.is_some() {
            return Err(Error::new(Status::Closed, format!("the stream on {} is already finished", self.method)));
        }
        self.outcome().await
    }

    pub fn finish_blocking(&mut self) -> Result<Bytes> {
        block_on(self.finish())?
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
        // Dropping an unfinished stream cancels the call: the body ends with a
        // cancellation (an HTTP/2 reset), never with a clean end of stream.
        self.tx = None;
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Channel>();
    is::<MetadataMap>();
}
