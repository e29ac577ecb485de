//! The TLS ceiling of a machine: one mutual-TLS connection on loopback carrying bulk
//! bytes from a plain rustls client to a plain rustls server (no HTTP/2, no gRPC), with
//! the collector's certificates and cipher suite. The benchmark harness
//! (`bench/compare`) shows each gRPC client's throughput against this figure.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConnection, StreamOwned};

use crate::tls::{load_certs, load_key, server_config};
use crate::{Error, TlsMode, TlsVersions};

/// What one pipe run measured.
#[derive(Clone, Debug)]
pub struct PipeResult {
    /// Application bytes the server read.
    pub bytes: u64,
    /// From the first write (after the handshake) to the server's read of the last byte.
    pub elapsed: Duration,
    /// CPU (user + system) of the writing thread.
    pub client_cpu: Duration,
    /// CPU (user + system) of the reading thread.
    pub server_cpu: Duration,
    /// The negotiated suite, as rustls names it.
    pub cipher_suite: String,
}

/// Sends `total` bytes in writes of `write_size` over one TLS 1.3 connection with mutual
/// authentication: the server uses `server_dir/{server.crt,server.key,ca.crt}`, the client
/// `ca_dir/{ca.crt,client.crt,client.pem}` (the layout `swtls certs` writes). Both sides
/// offer only `cipher_suite`.
pub fn tls_pipe(
    server_dir: &Path,
    ca_dir: &Path,
    cipher_suite: &str,
    total: u64,
    write_size: usize,
) -> Result<PipeResult, Error> {
    if write_size == 0 {
        return Err(Error::new("tls pipe: the write size must be at least 1 byte"));
    }
    let server = server_config(
        &TlsMode::MutualTls {
            cert_chain: server_dir.join("server.crt"),
            key: server_dir.join("server.key"),
            client_ca: server_dir.join("ca.crt"),
            require_client_auth: true,
        },
        TlsVersions::Tls13Only,
        Some(cipher_suite),
    )?
    .expect("mutual TLS has a server configuration");
    let client = client_config(ca_dir, cipher_suite)?;

    let io = |what: &str, e: std::io::Error| Error::new(format!("tls pipe: {what}: {e}"));
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| io("bind", e))?;
    let addr = listener.local_addr().map_err(|e| io("local address", e))?;
    let reader = std::thread::spawn(move || -> Result<(u64, Instant, Duration), String> {
        let (tcp, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        let conn = ServerConnection::new(server).map_err(|e| format!("server: {e}"))?;
        let mut tls = StreamOwned::new(conn, tcp);
        let cpu0 = thread_cpu();
        let mut buf = vec![0u8; 256 * 1024];
        let mut read = 0u64;
        loop {
            match tls.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => read += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(format!("server read after {read} bytes: {e}")),
            }
        }
        Ok((read, Instant::now(), thread_cpu().saturating_sub(cpu0)))
    });

    let tcp = TcpStream::connect(addr).map_err(|e| io("connect", e))?;
    tcp.set_nodelay(true).map_err(|e| io("nodelay", e))?;
    let name = ServerName::IpAddress(addr.ip().into());
    let conn =
        ClientConnection::new(Arc::new(client), name).map_err(|e| Error::new(format!("tls pipe: client: {e}")))?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).map_err(|e| io("handshake", e))?;
    }
    let negotiated = tls.conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_default();
    let chunk: Vec<u8> = (0..write_size).map(|i| (i % 251) as u8).collect();
    let cpu0 = thread_cpu();
    let start = Instant::now();
    let mut left = total;
    while left > 0 {
        let n = left.min(write_size as u64) as usize;
        tls.write_all(&chunk[..n]).map_err(|e| io("write", e))?;
        left -= n as u64;
    }
    tls.conn.send_close_notify();
    tls.flush().map_err(|e| io("flush", e))?;
    let client_cpu = thread_cpu().saturating_sub(cpu0);
    let _ = tls.sock.shutdown(std::net::Shutdown::Write);
    let (bytes, end, server_cpu) = reader
        .join()
        .map_err(|_| Error::new("tls pipe: the server thread panicked"))?
        .map_err(|e| Error::new(format!("tls pipe: {e}")))?;
    if bytes != total {
        return Err(Error::new(format!("tls pipe: the server read {bytes} of {total} bytes")));
    }
    Ok(PipeResult { bytes, elapsed: end - start, client_cpu, server_cpu, cipher_suite: negotiated })
}

fn client_config(ca_dir: &Path, cipher_suite: &str) -> Result<ClientConfig, Error> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.retain(|s| format!("{:?}", s.suite()) == cipher_suite);
    let mut roots = RootCertStore::empty();
    let ca = ca_dir.join("ca.crt");
    for cert in load_certs(&ca)? {
        roots.add(cert).map_err(|e| Error::new(format!("{}: {e}", ca.display())))?;
    }
    ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Error::new(format!("tls pipe: {e}")))?
        .with_root_certificates(roots)
        .with_client_auth_cert(load_certs(&ca_dir.join("client.crt"))?, load_key(&ca_dir.join("client.pem"))?)
        .map_err(|e| Error::new(format!("tls pipe: client certificate: {e}")))
}

/// CPU time (user + system) of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
