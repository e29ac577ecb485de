//! A small tonic client for the tests: raw bytes, optional rustls with our own config.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, SupportedProtocolVersion};
use swtls_collector::BytesCodec;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Status};

pub const BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
pub const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
pub const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

#[derive(Clone)]
pub struct ClientTls {
    pub config: Arc<ClientConfig>,
    pub server_name: String,
}

pub fn client_config(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
    versions: &[&'static SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let mut cfg = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let certs = CertificateDer::pem_file_iter(cert).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
            let key = PrivateKeyDer::from_pem_file(key).unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        }
    };
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(cfg)
}

pub fn tls(config: Arc<ClientConfig>, server_name: &str) -> Option<ClientTls> {
    Some(ClientTls { config, server_name: server_name.to_string() })
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

pub async fn connect(addr: SocketAddr, tls: Option<ClientTls>) -> Result<Channel, tonic::transport::Error> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20));
    let connector = tower::service_fn(move |_uri: Uri| {
        let tls = tls.clone();
        async move {
            let tcp = TcpStream::connect(addr).await?;
            let io: Box<dyn Io> = match tls {
                None => Box::new(tcp),
                Some(t) => {
                    let name = ServerName::try_from(t.server_name.clone())
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
                    let stream = tokio_rustls::TlsConnector::from(t.config).connect(name, tcp).await?;
                    Box::new(stream)
                }
            };
            Ok::<_, std::io::Error>(TokioIo::new(io))
        }
    });
    endpoint.connect_with_connector(connector).await
}

fn request<T>(body: T, token: Option<&str>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(body);
    if let Some(t) = token {
        req.metadata_mut().insert("authentication", t.parse().unwrap());
    }
    req
}

pub async fn unary(
    ch: &Channel,
    path: &'static str,
    body: impl Into<Bytes>,
    token: Option<&str>,
) -> Result<Bytes, Status> {
    let mut grpc = tonic::client::Grpc::new(ch.clone()).max_decoding_message_size(256 << 20);
    grpc.ready().await.map_err(|e| Status::new(Code::Unavailable, e.to_string()))?;
    grpc.unary(request(body.into(), token), http::uri::PathAndQuery::from_static(path), BytesCodec)
        .await
        .map(|r| r.into_inner())
}

pub async fn client_stream(
    ch: &Channel,
    path: &'static str,
    messages: Vec<Bytes>,
    token: Option<&str>,
) -> Result<Bytes, Status> {
    let mut grpc = tonic::client::Grpc::new(ch.clone());
    grpc.ready().await.map_err(|e| Status::new(Code::Unavailable, e.to_string()))?;
    grpc.client_streaming(
        request(tokio_stream::iter(messages), token),
        http::uri::PathAndQuery::from_static(path),
        BytesCodec,
    )
    .await
    .map(|r| r.into_inner())
}
