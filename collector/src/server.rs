//! The collector: accept loop (plain TCP or our own rustls handshake), tonic
//! server over those connections, and the gRPC services (no code generation).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use prost::Message as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tonic::body::Body;
use tonic::server::{ClientStreamingService, Grpc, NamedService, UnaryService};
use tonic::transport::server::Connected;
use tonic::{Status, Streaming};

use crate::certs::CertSet;
use crate::codec::BytesCodec;
use crate::methods;
use crate::proto::{
    Commands, Event as AgentEvent, InstancePingPkg, InstanceProperties, JvmMetricCollection, SegmentObject,
};
use crate::record::{
    CallKind, CallRecord, Event, EventHook, HandshakeFailure, HandshakeInfo, Received, Recorder, SegmentSummary,
};
use crate::Error;

/// Transport security of the collector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain HTTP/2 (h2c).
    #[default]
    Plaintext,
    /// One-way TLS: the server presents `cert_chain` (PEM, leaf first; or one DER
    /// certificate) with `key` (PKCS#8, PKCS#1 or SEC1; PEM or DER).
    Tls {
        /// Server certificate chain file.
        cert_chain: PathBuf,
        /// Server private key file.
        key: PathBuf,
    },
    /// Mutual TLS: like `Tls`, and client certificates must chain to a CA in `client_ca`.
    MutualTls {
        /// Server certificate chain file.
        cert_chain: PathBuf,
        /// Server private key file.
        key: PathBuf,
        /// CA certificate(s) (PEM bundle) that client certificates must chain to.
        client_ca: PathBuf,
        /// If false, clients without a certificate are let in too (a client that
        /// presents a bad certificate is still refused).
        require_client_auth: bool,
    },
}

/// TLS protocol versions the collector accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsVersions {
    /// TLS 1.2 and TLS 1.3 (the default).
    #[default]
    Both,
    /// Only TLS 1.2.
    Tls12Only,
    /// Only TLS 1.3.
    Tls13Only,
}

/// How to run a collector. `Default` is plaintext on `127.0.0.1:0` (a free port).
#[derive(Clone)]
pub struct CollectorOptions {
    /// Address to listen on. Port 0 picks a free port; see [`Collector::addr`].
    pub listen: SocketAddr,
    /// Plaintext, TLS or mutual TLS.
    pub tls: TlsMode,
    /// Accepted TLS versions.
    pub tls_versions: TlsVersions,
    /// When set, the only cipher suite the collector accepts (a rustls name such as
    /// `TLS13_AES_128_GCM_SHA256`), so that every client of a benchmark uses the same one.
    pub cipher_suite: Option<String>,
    /// When set, every call must carry `authentication` metadata equal to this token,
    /// or it gets UNAUTHENTICATED "invalid authentication token".
    pub token: Option<String>,
    /// Largest message the collector receives or sends (default 200 MiB).
    pub max_message_size: usize,
    /// Time a client gets to finish the TLS handshake (default 10 s).
    pub handshake_timeout: Duration,
    /// Called for each [`Event`], on the collector's tasks.
    pub on_event: Option<EventHook>,
    /// A slow backend: after each message received on a client stream, wait this long
    /// before reading the next one (zero: no wait). Changeable while running with
    /// [`Collector::set_stream_message_delay`].
    pub stream_message_delay: Duration,
}

impl std::fmt::Debug for CollectorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectorOptions")
            .field("listen", &self.listen)
            .field("tls", &self.tls)
            .field("tls_versions", &self.tls_versions)
            .field("cipher_suite", &self.cipher_suite)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("max_message_size", &self.max_message_size)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("on_event", &self.on_event.as_ref().map(|_| "<hook>"))
            .field("stream_message_delay", &self.stream_message_delay)
            .finish()
    }
}

impl Default for CollectorOptions {
    fn default() -> Self {
        CollectorOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: TlsMode::Plaintext,
            tls_versions: TlsVersions::Both,
            cipher_suite: None,
            token: None,
            max_message_size: 200 * 1024 * 1024,
            handshake_timeout: Duration::from_secs(10),
            on_event: None,
            stream_message_delay: Duration::ZERO,
        }
    }
}

impl CollectorOptions {
    /// Plaintext (h2c) on `127.0.0.1:0`.
    pub fn plaintext() -> Self {
        Self::default()
    }

    /// One-way TLS with the given server certificate chain and key files.
    pub fn tls(cert_chain: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        CollectorOptions { tls: TlsMode::Tls { cert_chain: cert_chain.into(), key: key.into() }, ..Self::default() }
    }

    /// Mutual TLS: server certificate chain and key, and the CA file client
    /// certificates must chain to.
    pub fn mutual_tls(
        cert_chain: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
        client_ca: impl Into<PathBuf>,
        require_client_auth: bool,
    ) -> Self {
        CollectorOptions {
            tls: TlsMode::MutualTls {
                cert_chain: cert_chain.into(),
                key: key.into(),
                client_ca: client_ca.into(),
                require_client_auth,
            },
            ..Self::default()
        }
    }

    /// TLS with `set.server_cert` / `set.server_key`; with `mutual`, client
    /// certificates signed by `set.ca_cert` are required.
    pub fn from_cert_set(set: &CertSet, mutual: bool) -> Self {
        if mutual {
            Self::mutual_tls(&set.server_cert, &set.server_key, &set.ca_cert, true)
        } else {
            Self::tls(&set.server_cert, &set.server_key)
        }
    }

    /// Sets the listen address.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Sets the accepted TLS versions.
    pub fn tls_versions(mut self, versions: TlsVersions) -> Self {
        self.tls_versions = versions;
        self
    }

    /// Accept only this cipher suite (see [`CollectorOptions::cipher_suite`]).
    pub fn cipher_suite(mut self, name: impl Into<String>) -> Self {
        self.cipher_suite = Some(name.into());
        self
    }

    /// Requires this token in the `authentication` metadata of every call.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Sets the largest message received or sent.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets the TLS handshake timeout.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Calls `hook` for every [`Event`].
    pub fn on_event(mut self, hook: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(hook));
        self
    }

    /// Waits `delay` after each client-stream message (a slow backend).
    pub fn stream_message_delay(mut self, delay: Duration) -> Self {
        self.stream_message_delay = delay;
        self
    }
}

/// A running collector. Stops serving when dropped (or on [`Collector::shutdown`]).
pub struct Collector {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    accept_task: Option<JoinHandle<()>>,
    serve_task: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Collector {
    /// Binds, then serves in the background on the current tokio runtime.
    pub async fn start(opts: CollectorOptions) -> Result<Collector, Error> {
        let tls = crate::tls::server_config(&opts.tls, opts.tls_versions, opts.cipher_suite.as_deref())?;
        let listener =
            TcpListener::bind(opts.listen).await.map_err(|e| Error::new(format!("binding {}: {e}", opts.listen)))?;
        let addr = listener.local_addr().map_err(|e| Error::new(format!("local address of {}: {e}", opts.listen)))?;
        let shared = Arc::new(Shared {
            recorder: Recorder::new(opts.on_event.clone()),
            token: opts.token.clone(),
            max_message_size: opts.max_message_size,
            conns: Arc::new(ConnRegistry::default()),
            stream_delay_us: AtomicU64::new(opts.stream_message_delay.as_micros().min(u64::MAX as u128) as u64),
        });

        let (tx, rx) = mpsc::channel::<io::Result<ServerIo>>(64);
        let accept_task =
            tokio::spawn(accept_loop(listener, tls.map(TlsAcceptor::from), tx, shared.clone(), opts.handshake_timeout));

        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let window = 8 * 1024 * 1024;
        let router = tonic::transport::Server::builder()
            .initial_stream_window_size(window)
            .initial_connection_window_size(2 * window)
            .add_service(ManagementService(shared.clone()))
            .add_service(TraceSegmentReportService(shared.clone()))
            .add_service(LogReportService(shared.clone()))
            .add_service(MeterReportService(shared.clone()))
            .add_service(JvmMetricReportService(shared.clone()))
            .add_service(ConfigurationDiscoveryService(shared.clone()))
            .add_service(EventService(shared.clone()))
            .add_service(ProfileTaskService(shared.clone()))
            .add_service(EchoService(shared.clone()));
        let serve_task = tokio::spawn(async move {
            router
                .serve_with_incoming_shutdown(ReceiverStream::new(rx), async move {
                    // Also fires when the sender is dropped with the Collector.
                    let _ = stop_rx.await;
                })
                .await
        });

        Ok(Collector {
            addr,
            shared,
            stop: Some(stop_tx),
            accept_task: Some(accept_task),
            serve_task: Some(serve_task),
        })
    }

    /// Starts a collector on its own tokio runtime, for code that is not async.
    pub fn start_blocking(opts: CollectorOptions) -> Result<BlockingCollector, Error> {
        BlockingCollector::start(opts)
    }

    /// The address it listens on (with the real port when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address as `host:port` text (e.g. `127.0.0.1:43121`, `[::1]:43121`),
    /// the form of a SkyWalking `collector.backend_service` entry.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// A snapshot of everything received so far.
    pub fn received(&self) -> Received {
        self.shared.recorder.snapshot()
    }

    /// Forgets everything received so far.
    pub fn clear(&self) {
        self.shared.recorder.clear()
    }

    /// Cuts every open connection (TCP shutdown) but keeps listening. Returns how
    /// many were cut. Clients see their connection drop and must reconnect.
    pub fn disconnect_all(&self) -> usize {
        self.shared.conns.disconnect_all()
    }

    /// Number of connections open right now.
    pub fn open_connections(&self) -> usize {
        self.shared.conns.len()
    }

    /// Changes the wait after each client-stream message (see
    /// [`CollectorOptions::stream_message_delay`]); streams already waiting finish their wait.
    pub fn set_stream_message_delay(&self, delay: Duration) {
        self.shared.stream_delay_us.store(delay.as_micros().min(u64::MAX as u128) as u64, Ordering::Relaxed);
    }

    /// Waits until `pred` holds for the record, polling every 10 ms; false on timeout.
    pub async fn wait_until(&self, timeout: Duration, mut pred: impl FnMut(&Received) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.received()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops listening, cuts every connection and waits (up to 5 s) for the server
    /// task to end. When it returns, the port is closed. (Dropping the collector
    /// stops it too, but the port closes a moment later, on the runtime.)
    pub async fn shutdown(mut self) {
        let accept_task = self.accept_task.take();
        if let Some(task) = &accept_task {
            task.abort();
        }
        self.stop_now();
        if let Some(task) = accept_task {
            // Returns once the task, and so the listener, is gone.
            let _ = task.await;
        }
        if let Some(task) = self.serve_task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task).await.is_err() {
                abort.abort();
            }
        }
    }

    fn stop_now(&mut self) {
        if let Some(task) = &self.accept_task {
            task.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.shared.conns.close();
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// A collector on its own tokio runtime (2 worker threads), for tests that are not
/// async. Same accessors as [`Collector`]; stops when dropped.
pub struct BlockingCollector {
    collector: Option<Collector>,
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
}

impl std::fmt::Debug for BlockingCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingCollector").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl BlockingCollector {
    /// Starts the collector; may be called from inside or outside a tokio runtime.
    pub fn start(opts: CollectorOptions) -> Result<BlockingCollector, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("swtls-collector")
            .enable_all()
            .build()
            .map_err(|e| Error::new(format!("starting a tokio runtime: {e}")))?;
        let (tx, rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let _ = tx.send(Collector::start(opts).await);
        });
        let started = rx.recv().map_err(|_| Error::new("the collector runtime stopped while starting"));
        match started {
            Ok(Ok(collector)) => {
                Ok(BlockingCollector { addr: collector.addr(), collector: Some(collector), runtime: Some(runtime) })
            }
            Ok(Err(e)) | Err(e) => {
                runtime.shutdown_background();
                Err(e)
            }
        }
    }

    fn inner(&self) -> &Collector {
        self.collector.as_ref().expect("collector present until drop")
    }

    /// See [`Collector::addr`].
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// See [`Collector::target`].
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// See [`Collector::received`].
    pub fn received(&self) -> Received {
        self.inner().received()
    }

    /// See [`Collector::clear`].
    pub fn clear(&self) {
        self.inner().clear()
    }

    /// See [`Collector::disconnect_all`].
    pub fn disconnect_all(&self) -> usize {
        self.inner().disconnect_all()
    }

    /// See [`Collector::open_connections`].
    pub fn open_connections(&self) -> usize {
        self.inner().open_connections()
    }

    /// See [`Collector::set_stream_message_delay`].
    pub fn set_stream_message_delay(&self, delay: Duration) {
        self.inner().set_stream_message_delay(delay)
    }

    /// Blocks until `pred` holds for the record (polling every 10 ms); false on timeout.
    pub fn wait_until(&self, timeout: Duration, mut pred: impl FnMut(&Received) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.received()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops serving and waits (up to 5 s) for the server to end; the port is
    /// closed when it returns. Dropping does the same.
    pub fn shutdown(self) {
        drop(self)
    }

    fn stop(&mut self) {
        if let (Some(collector), Some(runtime)) = (self.collector.take(), self.runtime.as_ref()) {
            let (tx, rx) = std::sync::mpsc::channel();
            runtime.spawn(async move {
                collector.shutdown().await;
                let _ = tx.send(());
            });
            // A plain blocking wait: fine inside or outside an async context.
            let _ = rx.recv_timeout(Duration::from_secs(6));
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for BlockingCollector {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// Connections

struct Shared {
    recorder: Recorder,
    token: Option<String>,
    max_message_size: usize,
    conns: Arc<ConnRegistry>,
    /// See [`CollectorOptions::stream_message_delay`], in microseconds.
    stream_delay_us: AtomicU64,
}

/// Duplicates of the accepted sockets, so that every connection can be cut.
#[derive(Default)]
struct ConnRegistry {
    next_id: AtomicU64,
    closed: AtomicBool,
    socks: Mutex<HashMap<u64, std::net::TcpStream>>,
}

impl ConnRegistry {
    fn register(self: &Arc<Self>, tcp: TcpStream) -> io::Result<(TcpStream, ConnGuard)> {
        let std_tcp = tcp.into_std()?;
        let dup = std_tcp.try_clone()?;
        let tcp = TcpStream::from_std(std_tcp)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut socks = self.socks.lock().unwrap_or_else(|e| e.into_inner());
            if self.closed.load(Ordering::SeqCst) {
                let _ = dup.shutdown(Shutdown::Both);
            }
            socks.insert(id, dup);
        }
        Ok((tcp, ConnGuard { id, registry: self.clone() }))
    }

    fn disconnect_all(&self) -> usize {
        let socks = self.socks.lock().unwrap_or_else(|e| e.into_inner());
        for s in socks.values() {
            let _ = s.shutdown(Shutdown::Both);
        }
        socks.len()
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.disconnect_all();
    }

    fn len(&self) -> usize {
        self.socks.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

struct ConnGuard {
    id: u64,
    registry: Arc<ConnRegistry>,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.registry.socks.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
    }
}

/// Connection facts handed to the services through request extensions.
#[derive(Clone, Debug)]
struct ConnInfo {
    peer: SocketAddr,
}

enum IoKind {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

struct ServerIo {
    io: IoKind,
    info: ConnInfo,
    _guard: ConnGuard,
}

impl Connected for ServerIo {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        self.info.clone()
    }
}

impl AsyncRead for ServerIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            IoKind::Plain(s) => Pin::new(s).poll_read(cx, buf),
            IoKind::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ServerIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            IoKind::Plain(s) => Pin::new(s).poll_write(cx, buf),
            IoKind::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            IoKind::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            IoKind::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            IoKind::Plain(s) => s.is_write_vectored(),
            IoKind::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            IoKind::Plain(s) => Pin::new(s).poll_flush(cx),
            IoKind::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            IoKind::Plain(s) => Pin::new(s).poll_shutdown(cx),
            IoKind::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    tx: mpsc::Sender<io::Result<ServerIo>>,
    shared: Arc<Shared>,
    handshake_timeout: Duration,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(_) => {
                // Out of file descriptors and the like: back off a little.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let Ok((tcp, guard)) = shared.conns.register(tcp) else {
            continue;
        };
        shared.recorder.record(Event::Connected { peer });
        let info = ConnInfo { peer };
        match &acceptor {
            None => {
                let io = ServerIo { io: IoKind::Plain(tcp), info, _guard: guard };
                if tx.send(Ok(io)).await.is_err() {
                    return;
                }
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                let shared = shared.clone();
                tokio::spawn(async move {
                    let result = tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await;
                    let tls = match result {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(e)) => {
                            shared.recorder.record(Event::HandshakeFailed(HandshakeFailure {
                                peer,
                                reason: crate::tls::describe_handshake_error(&e),
                            }));
                            return;
                        }
                        Err(_) => {
                            shared.recorder.record(Event::HandshakeFailed(HandshakeFailure {
                                peer,
                                reason: format!("handshake timed out after {:?}", handshake_timeout),
                            }));
                            return;
                        }
                    };
                    let (_, conn) = tls.get_ref();
                    let info_hs = HandshakeInfo {
                        peer,
                        protocol: match conn.protocol_version() {
                            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
                            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
                            Some(v) => format!("{v:?}"),
                            None => "unknown".to_string(),
                        },
                        cipher_suite: conn
                            .negotiated_cipher_suite()
                            .map(|s| format!("{:?}", s.suite()))
                            .unwrap_or_default(),
                        alpn: conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()),
                        sni: conn.server_name().map(str::to_string),
                        client_certs: conn
                            .peer_certificates()
                            .map(|c| c.iter().map(|c| c.to_vec()).collect())
                            .unwrap_or_default(),
                    };
                    shared.recorder.record(Event::Handshake(info_hs));
                    let io = ServerIo { io: IoKind::Tls(Box::new(tls)), info, _guard: guard };
                    let _ = tx.send(Ok(io)).await;
                });
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Services

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

macro_rules! grpc_service {
    ($ty:ident, $name:literal) => {
        #[derive(Clone)]
        struct $ty(Arc<Shared>);

        impl NamedService for $ty {
            const NAME: &'static str = $name;
        }

        impl tower_service::Service<http::Request<Body>> for $ty {
            type Response = http::Response<Body>;
            type Error = Infallible;
            type Future = BoxFuture<Result<http::Response<Body>, Infallible>>;

            fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
                Poll::Ready(Ok(()))
            }

            fn call(&mut self, req: http::Request<Body>) -> Self::Future {
                let shared = self.0.clone();
                Box::pin(async move { Ok(dispatch(shared, req).await) })
            }
        }
    };
}

grpc_service!(ManagementService, "skywalking.v3.ManagementService");
grpc_service!(TraceSegmentReportService, "skywalking.v3.TraceSegmentReportService");
grpc_service!(LogReportService, "skywalking.v3.LogReportService");
grpc_service!(MeterReportService, "skywalking.v3.MeterReportService");
grpc_service!(JvmMetricReportService, "skywalking.v3.JVMMetricReportService");
grpc_service!(ConfigurationDiscoveryService, "skywalking.v3.ConfigurationDiscoveryService");
grpc_service!(EventService, "skywalking.v3.EventService");
grpc_service!(ProfileTaskService, "skywalking.v3.ProfileTask");
grpc_service!(EchoService, "swtls.test.Echo");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    KeepAlive,
    InstanceProperties,
    SegmentCollect,
    JvmMetrics,
    EventCollect,
    OtherStream,
    OtherUnary,
    EchoUnary,
    EchoBig,
    EchoSlow,
    EchoCollect,
    EchoMetadata,
}

impl Method {
    fn from_path(path: &str) -> Option<Method> {
        Some(match path {
            methods::KEEP_ALIVE => Method::KeepAlive,
            methods::REPORT_INSTANCE_PROPERTIES => Method::InstanceProperties,
            methods::SEGMENT_COLLECT => Method::SegmentCollect,
            methods::JVM_METRIC_COLLECT => Method::JvmMetrics,
            methods::EVENT_COLLECT => Method::EventCollect,
            methods::LOG_COLLECT
            | methods::METER_COLLECT
            | methods::METER_COLLECT_BATCH
            | methods::PROFILE_COLLECT_SNAPSHOT => Method::OtherStream,
            methods::FETCH_CONFIGURATIONS | methods::PROFILE_TASK_COMMANDS | methods::PROFILE_TASK_FINISH => {
                Method::OtherUnary
            }
            methods::ECHO_UNARY => Method::EchoUnary,
            methods::ECHO_BIG => Method::EchoBig,
            methods::ECHO_SLOW => Method::EchoSlow,
            methods::ECHO_COLLECT => Method::EchoCollect,
            methods::ECHO_METADATA => Method::EchoMetadata,
            _ => return None,
        })
    }

    fn kind(self) -> CallKind {
        match self {
            Method::SegmentCollect | Method::EventCollect | Method::OtherStream | Method::EchoCollect => {
                CallKind::ClientStreaming
            }
            _ => CallKind::Unary,
        }
    }
}

fn header(req: &http::Request<Body>, name: &str) -> Option<String> {
    req.headers().get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn status_response(status: Status) -> http::Response<Body> {
    let (parts, ()) = status.into_http::<()>().into_parts();
    http::Response::from_parts(parts, Body::empty())
}

async fn dispatch(shared: Arc<Shared>, req: http::Request<Body>) -> http::Response<Body> {
    let path = req.uri().path().to_string();
    let method = Method::from_path(&path);
    let authentication = header(&req, "authentication");
    let authorized = match &shared.token {
        None => true,
        Some(token) => authentication.as_deref() == Some(token.as_str()),
    };
    shared.recorder.record(Event::Call(CallRecord {
        method: path.clone(),
        kind: method.map(Method::kind).unwrap_or(CallKind::Unary),
        peer: req.extensions().get::<ConnInfo>().map(|i| i.peer),
        authentication,
        grpc_timeout: header(&req, "grpc-timeout"),
        user_agent: header(&req, "user-agent"),
        authority: req.uri().authority().map(|a| a.to_string()),
        authorized,
        metadata: req
            .headers()
            .iter()
            .filter(|(name, _)| {
                let n = name.as_str();
                !n.starts_with("grpc-") && !["content-type", "te", "user-agent"].contains(&n)
            })
            .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect(),
    }));
    if !authorized {
        shared.recorder.record(Event::AuthRejected { method: path });
        return status_response(Status::unauthenticated("invalid authentication token"));
    }
    let Some(method) = method else {
        return status_response(Status::unimplemented(format!("{path} is not implemented by swtls-collector")));
    };
    let max = shared.max_message_size;
    let mut grpc = Grpc::new(BytesCodec).max_decoding_message_size(max).max_encoding_message_size(max);
    match method.kind() {
        CallKind::Unary => {
            let svc = UnaryFn(move |request: tonic::Request<Bytes>| {
                let shared = shared.clone();
                let path = path.clone();
                async move {
                    let result = handle_unary(&shared, method, &path, request).await;
                    if result.is_ok() {
                        shared.recorder.count_unary_ok();
                    }
                    result
                }
            });
            grpc.unary(svc, req).await
        }
        CallKind::ClientStreaming => {
            let svc = StreamFn(move |request: tonic::Request<Streaming<Bytes>>| {
                let shared = shared.clone();
                let path = path.clone();
                async move { handle_stream(&shared, method, &path, request).await }
            });
            grpc.client_streaming(svc, req).await
        }
    }
}

struct UnaryFn<F>(F);

impl<F, Fut> UnaryService<Bytes> for UnaryFn<F>
where
    F: FnMut(tonic::Request<Bytes>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Bytes>, Status>>,
{
    type Response = Bytes;
    type Future = Fut;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Fut {
        (self.0)(request)
    }
}

struct StreamFn<F>(F);

impl<F, Fut> ClientStreamingService<Bytes> for StreamFn<F>
where
    F: FnMut(tonic::Request<Streaming<Bytes>>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Bytes>, Status>>,
{
    type Response = Bytes;
    type Future = Fut;

    fn call(&mut self, request: tonic::Request<Streaming<Bytes>>) -> Fut {
        (self.0)(request)
    }
}

fn commands() -> tonic::Response<Bytes> {
    tonic::Response::new(Bytes::from(Commands {}.encode_to_vec()))
}

fn parse_number(body: &[u8], what: &str) -> Result<u64, Status> {
    std::str::from_utf8(body).ok().and_then(|s| s.trim().parse::<u64>().ok()).ok_or_else(|| {
        Status::invalid_argument(format!(
            "{what}: the request must be an ASCII decimal number, got {:?}",
            String::from_utf8_lossy(&body[..body.len().min(40)])
        ))
    })
}

async fn handle_unary(
    shared: &Shared,
    method: Method,
    path: &str,
    request: tonic::Request<Bytes>,
) -> Result<tonic::Response<Bytes>, Status> {
    match method {
        Method::KeepAlive => {
            let ping = InstancePingPkg::decode(request.get_ref().clone()).map_err(|e| {
                shared.recorder.record(Event::DecodeError { method: path.to_string(), error: e.to_string() });
                Status::invalid_argument(format!("InstancePingPkg: {e}"))
            })?;
            shared.recorder.record(Event::KeepAlive {
                service: ping.service,
                instance: ping.service_instance,
                layer: ping.layer,
            });
            Ok(commands())
        }
        Method::InstanceProperties => {
            // The body is not needed; decode what is cheap, never fail on it.
            let props = InstanceProperties::decode(request.get_ref().clone()).unwrap_or_default();
            shared
                .recorder
                .record(Event::InstanceProperties { service: props.service, instance: props.service_instance });
            Ok(commands())
        }
        Method::JvmMetrics => {
            let m = JvmMetricCollection::decode(request.get_ref().clone()).map_err(|e| {
                shared.recorder.record(Event::DecodeError { method: path.to_string(), error: e.to_string() });
                Status::invalid_argument(format!("JVMMetricCollection: {e}"))
            })?;
            shared.recorder.record(Event::JvmMetrics {
                service: m.service,
                instance: m.service_instance,
                metrics: m.metrics.len(),
            });
            Ok(commands())
        }
        Method::OtherUnary => Ok(commands()),
        Method::EchoUnary => Ok(tonic::Response::new(request.into_inner())),
        Method::EchoBig => {
            let n = parse_number(request.get_ref(), "big")?;
            if n > shared.max_message_size as u64 {
                return Err(Status::invalid_argument(format!(
                    "big: {n} bytes is more than the collector's limit of {}",
                    shared.max_message_size
                )));
            }
            let body: Vec<u8> = (0..n as usize).map(|i| b'a' + (i % 26) as u8).collect();
            Ok(tonic::Response::new(Bytes::from(body)))
        }
        Method::EchoSlow => {
            let ms = parse_number(request.get_ref(), "slow")?;
            tokio::time::sleep(Duration::from_millis(ms.min(3_600_000))).await;
            Ok(tonic::Response::new(request.into_inner()))
        }
        Method::EchoMetadata => {
            let value = request
                .metadata()
                .get("authentication")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            Ok(tonic::Response::new(Bytes::from(value)))
        }
        Method::SegmentCollect | Method::EventCollect | Method::OtherStream | Method::EchoCollect => {
            Err(Status::internal("streaming method dispatched as unary"))
        }
    }
}

/// Records a stream that ends without the client finishing it (error, or the call
/// dropped by a reset / disconnect).
struct StreamGuard<'a> {
    recorder: &'a Recorder,
    path: &'a str,
    messages: usize,
    finished: bool,
}

impl Drop for StreamGuard<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.recorder.record(Event::StreamFailed {
                method: self.path.to_string(),
                messages: self.messages,
                error: "the stream was dropped before the client finished it".to_string(),
            });
        }
    }
}

async fn handle_stream(
    shared: &Shared,
    method: Method,
    path: &str,
    request: tonic::Request<Streaming<Bytes>>,
) -> Result<tonic::Response<Bytes>, Status> {
    let mut stream = request.into_inner();
    let mut guard = StreamGuard { recorder: &shared.recorder, path, messages: 0, finished: false };
    let mut bytes = 0usize;
    loop {
        match stream.message().await {
            Ok(Some(msg)) => {
                guard.messages += 1;
                bytes += msg.len();
                shared.recorder.count_stream_message();
                let delay = shared.stream_delay_us.load(Ordering::Relaxed);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_micros(delay)).await;
                }
                if method == Method::EventCollect {
                    match AgentEvent::decode(msg) {
                        Ok(ev) => {
                            let source = ev.source.unwrap_or_default();
                            shared.recorder.record(Event::AgentEvent {
                                name: ev.name,
                                service: source.service,
                                instance: source.service_instance,
                                layer: ev.layer,
                            })
                        }
                        Err(e) => shared
                            .recorder
                            .record(Event::DecodeError { method: path.to_string(), error: e.to_string() }),
                    }
                } else if method == Method::SegmentCollect {
                    match SegmentObject::decode(msg) {
                        Ok(seg) => shared.recorder.record(Event::Segment(SegmentSummary {
                            trace_id: seg.trace_id,
                            segment_id: seg.trace_segment_id,
                            service: seg.service,
                            instance: seg.service_instance,
                        })),
                        Err(e) => shared
                            .recorder
                            .record(Event::DecodeError { method: path.to_string(), error: e.to_string() }),
                    }
                }
            }
            Ok(None) => break,
            Err(status) => {
                guard.finished = true;
                shared.recorder.record(Event::StreamFailed {
                    method: path.to_string(),
                    messages: guard.messages,
                    error: status.to_string(),
                });
                return Err(status);
            }
        }
    }
    guard.finished = true;
    let messages = guard.messages;
    shared.recorder.record(Event::StreamCompleted { method: path.to_string(), messages, bytes });
    if method == Method::EchoCollect {
        Ok(tonic::Response::new(Bytes::from(format!("{messages} {bytes}"))))
    } else {
        Ok(commands())
    }
}
