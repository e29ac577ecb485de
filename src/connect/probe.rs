//! The extra look at a backend after an ambiguous failure.

use super::conn::{refusal, Recorder, Watch};
use super::{server_name, tcp_connect, Target};
use crate::error::Error;
use crate::tls::looks_like_tls;
use rustls_pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;

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
                refusal(&mut stream, &watch, Duration::from_secs(2)).await
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
