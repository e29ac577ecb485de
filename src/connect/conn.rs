//! One connection to a backend, plaintext or TLS, that watches the first bytes the server
//! sends and diagnoses its first failure; how it is made; and the connector through which
//! tonic makes them, counting them on the backend.

use super::{server_name, tcp_connect, Health, Target};
use crate::error::{Error, Status};
use crate::tls::{self, ClientAuth};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

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

/// Per-connection watch: the first bytes received, whether HTTP/2 data arrived, and
/// whether a failure was recorded.
pub(super) struct Watch {
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
    pub(super) fn new(target: &Arc<Target>, client_auth: Option<Arc<ClientAuth>>) -> Arc<Watch> {
        Arc::new(Watch {
            target: target.clone(),
            first: Mutex::new(Vec::new()),
            client_auth,
            got_data: AtomicBool::new(false),
            reported: AtomicBool::new(false),
        })
    }

    pub(super) fn first(&self) -> Vec<u8> {
        self.first.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn explain(&self, err: Option<&io::Error>) -> Error {
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
pub(super) struct Recorder {
    pub(super) tcp: TcpStream,
    pub(super) watch: Arc<Watch>,
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

    /// The TLS session, `None` in plaintext (for `swtls check`).
    #[cfg(feature = "cli")]
    pub(crate) fn tls(&self) -> Option<&rustls::ClientConnection> {
        match &self.stream {
            Stream::Plain(_) => None,
            Stream::Tls(s) => Some(s.get_ref().1),
        }
    }

    /// The server asked for a client certificate during the handshake.
    #[cfg(feature = "cli")]
    pub(crate) fn client_cert_requested(&self) -> bool {
        self.watch.client_auth.as_ref().is_some_and(|a| a.asked())
    }

    /// See [`refusal`]: the server's verdict on this client right after the handshake.
    #[cfg(feature = "cli")]
    pub(crate) async fn refusal(&mut self, wait: Duration) -> Option<Error> {
        let watch = self.watch.clone();
        refusal(self, &watch, wait).await
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

/// One connection to the backend: TCP, then TLS when the mode says so (used by the
/// connector, and by the health check to see whether a backend is reachable).
pub(crate) async fn connect(target: &Arc<Target>) -> Result<Conn, Error> {
    let tcp = tcp_connect(target).await?;
    secure(target, tcp).await
}

/// The connection over `tcp`: the TLS handshake when the mode says so (it must agree to
/// HTTP/2), with the watch that diagnoses the connection's first failure.
pub(crate) async fn secure(target: &Arc<Target>, tcp: TcpStream) -> Result<Conn, Error> {
    let b = &target.backend;
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
                        return Err(tls::not_h2(b));
                    }
                    Stream::Tls(Box::new(s))
                }
                Err(e) => return Err(watch.fail(Some(&e))),
            }
        }
    };
    Ok(Conn { stream, watch, live: None })
}

/// After the TLS handshake, reads for up to `wait`, so that a server that refuses this
/// client only once the handshake is over (TLS 1.3 servers judge the client certificate
/// then) is heard: its alert, or the connection closed. `None` when data arrived, or
/// nothing did in time.
pub(super) async fn refusal<S: AsyncRead + Unpin>(stream: &mut S, watch: &Watch, wait: Duration) -> Option<Error> {
    let mut buf = [0u8; 64];
    match tokio::time::timeout(wait, tokio::io::AsyncReadExt::read(stream, &mut buf)).await {
        Ok(Err(e)) => Some(watch.explain(Some(&e))),
        Ok(Ok(0)) if watch.target.tls.as_ref().is_some_and(|t| t.has_client_cert()) => {
            Some(tls::closed_after_handshake(&watch.target.backend))
        }
        Ok(Ok(0)) => Some(watch.explain(None)),
        _ => None,
    }
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
