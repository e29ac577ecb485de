//! Server certificate verification.
//!
//! Strict WebPKI verification comes first. This wrapper is where the compatibility rules for
//! the certificates SkyWalking's script makes (DESIGN §3, Verification 2) slot in: they may
//! only apply when trust comes from a configured CA file.

use super::Trust;
use crate::error::{Error, Result, Status};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

#[derive(Debug)]
pub struct ServerVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    #[allow(dead_code)] // consulted by the compatibility rules
    trust: Trust,
}

impl ServerVerifier {
    pub fn new(roots: Arc<RootCertStore>, provider: Arc<CryptoProvider>, trust: Trust) -> Result<Self> {
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider).build().map_err(|e| {
            Error::new(Status::CertificateInvalid, format!("cannot build the certificate verifier: {e}"))
        })?;
        Ok(ServerVerifier { webpki, trust })
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
