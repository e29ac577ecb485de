//! Connections to one backend: TCP, then TLS when the mode says so. Every connection watches
//! the first bytes the server sends and the first failure, so that a failed call can say
//! which side spoke what (the "First received frame was not SETTINGS" confusion).

use crate::backend::Backend;
use crate::error::{Error, Status};
use crate::tls::{classify_tls_error, describe_peer_bytes, looks_like_tls, ClientAuth, ClientTls, HandshakeContext};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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

/// Counts a connection attempt while it runs.
struct Attempt<'a>(&'a Health);

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.0.connecting.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts a connection as open while it lives.
struct LiveGuard(Arc<Target>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.health.live.fetch_sub(1, Ordering::Relaxed);
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
        let b = &self.backend;
        let ctx = self.context(asked_without_cert);
        let tls = self.tls.is_some();
        if tls && !first.is_empty() && !looks_like_tls(first) {
            return Error::new(
                Status::ServerNotTls,
                format!(
                    "{b} answered the TLS handshake with {}: the backend port speaks plaintext gRPC while this \
                     agent uses TLS ({}). Enable TLS on the backend, or remove ca.crt and set agent.force_tls=false \
                     if the link is meant to be plaintext",
                    describe_peer_bytes(first),
                    self.tls.as_ref().map(|t| format!("trusting {}", t.trust_text())).unwrap_or_default()
                ),
            );
        }
        if let Some(tls_err) = err.and_then(|e| e.get_ref()).and_then(|e| e.downcast_ref::<rustls::Error>()) {
            return classify_tls_error(tls_err, &ctx);
        }
        if tls && ctx.asked_without_cert {
            // The server asked for a client certificate, got none, and dropped the
            // connection (often seen first as a failed write).
            return classify_tls_error(
                &rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired),
                &ctx,
            );
        }
        if !tls && looks_like_tls(first) {
            return Error::new(
                Status::ServerRequiresTls,
                format!(
                    "{b} answered with TLS records: the backend expects TLS but this agent speaks plaintext ({}). \
                     Put the CA that signed the backend's certificate in ca.crt, or set agent.force_tls=true",
                    self.plaintext_reason
                ),
            );
        }
        let what = match err {
            Some(e) => e.to_string(),
            None => "the server closed the connection".to_string(),
        };
        if first.is_empty() {
            if tls {
                return Error::new(
                    Status::TlsHandshakeFailed,
                    format!(
                        "{b}: {what} during the TLS handshake before sending anything; the port may not speak \
                         TLS, or the server refused this client"
                    ),
                );
            }
            return Error::new(
                Status::Unavailable,
                format!(
                    "{b}: {what} before answering in HTTP/2; if the backend uses TLS, put its CA in ca.crt \
                     or set agent.force_tls=true ({})",
                    self.plaintext_reason
                ),
            );
        }
        Error::new(Status::Unavailable, format!("connection to {b} failed: {what}"))
    }
}

/// Per-connection watch: the first bytes received, whether HTTP/2 data arrived, and
/// whether a failure was recorded.
struct Watch {
    target: Arc<Target>,
    first: Mutex<Vec<u8>>,
    client_auth: Option<Arc<ClientAuth>>,
    got_data: AtomicBool,
    reported: AtomicBool,
}

const SNIFF: usize = 16;

impl Watch {
    fn saw(&self, data: &[u8]) {
        let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
        if first.len() < SNIFF && !data.is_empty() {
            let n = (SNIFF - first.len()).min(data.len());
            first.extend_from_slice(&data[..n]);
            *self.target.last_first.lock().unwrap_or_else(|p| p.into_inner()) = first.clone();
        }
    }
    fn new(target: &Arc<Target>, client_auth: Option<Arc<ClientAuth>>) -> Arc<Watch> {
        Arc::new(Watch {
            target: target.clone(),
            first: Mutex::new(Vec::new()),
            client_auth,
            got_data: AtomicBool::new(false),
            reported: AtomicBool::new(false),
        })
    }

    fn first(&self) -> Vec<u8> {
        self.first.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn explain(&self, err: Option<&io::Error>) -> Error {
        let asked =
            !self.got_data.load(Ordering::Relaxed) && self.client_auth.as_ref().is_some_and(|a| a.asked_without_cert());
        self.target.diagnose(err, &self.first(), asked)
    }

    /// Diagnoses the connection's first failure and records it on the backend.
    fn fail(&self, err: Option<&io::Error>) -> Error {
        let e = self.explain(err);
        if !self.reported.swap(true, Ordering::Relaxed) {
            let ambiguous = !self.got_data.load(Ordering::Relaxed)
                && matches!(e.status, Status::Unavailable | Status::TlsHandshakeFailed);
            self.target.diag.record(e.clone(), ambiguous);
        }
        e
    }
}

/// The raw socket, recording the first bytes the server sends.
struct Recorder {
    tcp: TcpStream,
    watch: Arc<Watch>,
}

impl Recorder {
    /// After a failed write, reads (without waiting) what the server sent before it
    /// closed, such as a TLS alert, so that the diagnosis can see it.
    fn salvage(&self) {
        let mut buf = [0u8; SNIFF];
        if let Ok(n) = self.tcp.try_read(&mut buf) {
            self.watch.saw(&buf[..n]);
        }
    }
}

impl AsyncRead for Recorder {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r {
            let watch = self.watch.clone();
            watch.saw(&buf.filled()[before..]);
        }
        r
    }
}

impl AsyncWrite for Recorder {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
    // Vectored writes send all the TLS records rustls has ready in one system call (one per
    // record otherwise: four times as many for a busy stream). Not writev(2): it raises
    // SIGPIPE when the peer has gone, which kills a C host that does not ignore it;
    // sendmsg(2) with MSG_NOSIGNAL, like the plain write path.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        use std::os::fd::AsRawFd;
        let tcp = &self.tcp;
        loop {
            std::task::ready!(tcp.poll_write_ready(cx))?;
            match tcp.try_io(tokio::io::Interest::WRITABLE, || send_vectored(tcp.as_raw_fd(), bufs)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return Poll::Ready(r),
            }
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn is_write_vectored(&self) -> bool {
        true
    }
}

/// sendmsg(2) of `bufs` with MSG_NOSIGNAL (a gone peer is EPIPE, never SIGPIPE).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn send_vectored(fd: std::os::fd::RawFd, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    // IoSlice is ABI-compatible with iovec on Unix (documented by std).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len().min(1024) as _;
    // SAFETY: msg points at `bufs`, which outlive the call; the kernel only reads them.
    let n = unsafe { libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

enum Stream {
    Plain(Recorder),
    Tls(Box<tokio_rustls::client::TlsStream<Recorder>>),
}

/// An established connection, plaintext or TLS, that diagnoses its first failure.
pub struct Conn {
    stream: Stream,
    watch: Arc<Watch>,
    live: Option<LiveGuard>,
}

impl Conn {
    /// How the connection is secured, in words ("TLSv1_3 TLS13_AES_256_GCM_SHA384, ALPN h2").
    pub fn summary(&self) -> String {
        match &self.stream {
            Stream::Plain(_) => "plaintext h2c".to_string(),
            Stream::Tls(s) => {
                let (_, conn) = s.get_ref();
                format!(
                    "{} {}, ALPN h2",
                    conn.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default(),
                    conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_default()
                )
            }
        }
    }

    fn check<T>(&mut self, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let Poll::Ready(Err(e)) = &r {
            self.watch.target.health.mark_down();
            self.watch.fail(Some(e));
        }
        r
    }

    fn check_write<T>(&mut self, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let Poll::Ready(Err(_)) = &r {
            match &self.stream {
                Stream::Plain(s) => s.salvage(),
                Stream::Tls(s) => s.get_ref().0.salvage(),
            }
        }
        self.check(r)
    }
}

impl AsyncRead for Conn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let r = match &mut this.stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        if let Poll::Ready(Ok(())) = &r {
            if buf.filled().len() == before {
                // The server closed the connection: the health check looks at it again.
                this.watch.target.health.mark_down();
                if !this.watch.got_data.load(Ordering::Relaxed) {
                    this.watch.fail(None);
                }
            } else {
                this.watch.got_data.store(true, Ordering::Relaxed);
            }
        }
        this.check(r)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let r = match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, data),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        };
        self.check_write(r)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        };
        self.check_write(r)
    }
    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        };
        self.check_write(r)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Opens connections to one backend (a `tower::Service<Uri>` for tonic).
#[derive(Clone)]
pub struct Connector {
    pub target: Arc<Target>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<http::Uri> for Connector {
    type Response = TokioIo<Conn>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: http::Uri) -> Self::Future {
        let target = self.target.clone();
        Box::pin(async move {
            target.health.connecting.fetch_add(1, Ordering::Relaxed);
            let attempt = Attempt(&target.health);
            let outcome = connect(&target).await;
            drop(attempt);
            match outcome {
                Ok(mut conn) => {
                    let n = target.links.connects.fetch_add(1, Ordering::Relaxed);
                    target.health.mark_up();
                    target.health.live.fetch_add(1, Ordering::Relaxed);
                    target.health.connects.fetch_add(1, Ordering::Relaxed);
                    conn.live = Some(LiveGuard(target.clone()));
                    info!(
                        "connected to {} ({}){}",
                        target.backend,
                        conn.summary(),
                        if n > 0 { " [reconnect]" } else { "" }
                    );
                    Ok(TokioIo::new(conn))
                }
                Err(e) => {
                    target.links.connect_failures.fetch_add(1, Ordering::Relaxed);
                    target.health.mark_down();
                    target.diag.record(e.clone(), false);
                    target.log_failure(&e);
                    Err(Box::new(e) as BoxError)
                }
            }
        })
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

async fn tcp_connect(target: &Target) -> Result<TcpStream, Error> {
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

/// One connection to the backend: TCP, then TLS when the mode says so (used by the
/// connector, and by the health check to see whether a backend is reachable).
pub(crate) async fn connect(target: &Arc<Target>) -> Result<Conn, Error> {
    let b = &target.backend;
    let tcp = tcp_connect(target).await?;
    let (tls_config, client_auth) = match &target.tls {
        Some(tls) => {
            let (c, a) = tls.for_connection().await;
            (Some(c), Some(a))
        }
        None => (None, None),
    };
    let watch = Watch::new(target, client_auth);
    let rec = Recorder { tcp, watch: watch.clone() };
    let stream = match tls_config {
        None => Stream::Plain(rec),
        Some(tls_config) => {
            let name = server_name(target)?;
            let connector = tokio_rustls::TlsConnector::from(tls_config);
            match connector.connect(name, rec).await {
                Ok(s) => {
                    let (_, conn) = s.get_ref();
                    debug!(
                        "TLS to {b}: {:?}, {:?}, ALPN {:?}",
                        conn.protocol_version(),
                        conn.negotiated_cipher_suite().map(|s| s.suite()),
                        conn.alpn_protocol().map(String::from_utf8_lossy)
                    );
                    if conn.alpn_protocol() != Some(b"h2") {
                        return Err(Error::new(
                            Status::TlsHandshakeFailed,
                            format!("{b} did not agree to HTTP/2 (ALPN h2) in the TLS handshake, so it is not a gRPC endpoint"),
                        ));
                    }
                    Stream::Tls(Box::new(s))
                }
                Err(e) => return Err(watch.fail(Some(&e))),
            }
        }
    };
    Ok(Conn { stream, watch, live: None })
}

/// After an ambiguous failure (the server closed or reset the connection before saying
/// anything this side could read), opens one fresh connection only to find out what the
/// server speaks, and sends nothing a server could act on:
/// - plaintext mode: a TLS ClientHello; a server answering with TLS records expects TLS.
///   Its certificate is never trusted (the probe refuses every certificate).
/// - TLS mode: the full handshake, then only reading, so that an alert the server sends
///   (for example about our client certificate) arrives instead of being lost to a reset.
pub async fn probe(target: &Arc<Target>) -> Option<Error> {
    let run = async {
        let tcp = tcp_connect(target).await.ok()?;
        match &target.tls {
            None => {
                let watch = Watch::new(target, None);
                let rec = Recorder { tcp, watch: watch.clone() };
                let connector = tokio_rustls::TlsConnector::from(probe_config());
                let name =
                    server_name(target).unwrap_or_else(|_| ServerName::try_from("probe.invalid").expect("valid name"));
                let _ = connector.connect(name, rec).await;
                looks_like_tls(&watch.first()).then(|| watch.explain(None))
            }
            Some(tls) => {
                let (config, auth) = tls.for_connection().await;
                let watch = Watch::new(target, Some(auth));
                let rec = Recorder { tcp, watch: watch.clone() };
                let mut stream =
                    match tokio_rustls::TlsConnector::from(config).connect(server_name(target).ok()?, rec).await {
                        Ok(s) => s,
                        Err(e) => return Some(watch.explain(Some(&e))),
                    };
                let mut buf = [0u8; 64];
                match tokio::time::timeout(Duration::from_secs(2), tokio::io::AsyncReadExt::read(&mut stream, &mut buf)).await {
                    Ok(Err(e)) => Some(watch.explain(Some(&e))),
                    Ok(Ok(0)) if tls.has_client_cert() => Some(Error::new(
                        Status::TlsClientCertRejected,
                        format!(
                            "{} closed the connection right after the TLS handshake without a word: it most likely \
                             rejected the client certificate (check that the backend trusts the CA that issued client.crt)",
                            target.backend
                        ),
                    )),
                    Ok(Ok(0)) => Some(watch.explain(None)),
                    _ => None,
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(3), run).await.ok().flatten()
}

/// A client configuration used only by [`probe`] to say hello: it trusts no certificate.
fn probe_config() -> Arc<rustls::ClientConfig> {
    #[derive(Debug)]
    struct RefuseAll(Vec<rustls::SignatureScheme>);
    impl rustls::client::danger::ServerCertVerifier for RefuseAll {
        fn verify_server_cert(
            &self,
            _: &rustls_pki_types::CertificateDer<'_>,
            _: &[rustls_pki_types::CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: rustls_pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &rustls_pki_types::CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &rustls_pki_types::CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.clone()
        }
    }
    let provider = crate::tls::provider();
    let schemes = provider.signature_verification_algorithms.supported_schemes();
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the provider supports the default versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(RefuseAll(schemes)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::send_vectored;
    use std::io::{self, IoSlice};
    use std::os::fd::AsRawFd;

    #[test]
    fn vectored_sends_go_out_whole_and_never_raise_sigpipe() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let n = send_vectored(a.as_raw_fd(), &[IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cde")]).unwrap();
        assert_eq!(n, 5);
        let mut got = [0u8; 5];
        io::Read::read_exact(&mut &b, &mut got).unwrap();
        assert_eq!(&got, b"abcde");
        drop(b);
        // In a child with SIGPIPE at its default action (as in a C host): writing to the
        // closed peer must fail with EPIPE, not kill the process.
        // SAFETY: the child only calls async-signal-safe functions, then _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
            let r = send_vectored(a.as_raw_fd(), &[IoSlice::new(b"x")]);
            let code = match r {
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => 0,
                _ => 3,
            };
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "the child was killed by signal {}", libc::WTERMSIG(status));
        assert_eq!(libc::WEXITSTATUS(status), 0, "the write did not fail with EPIPE");
    }
}
