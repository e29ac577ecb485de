//! Server certificate verification.
//!
//! Strict WebPKI verification comes first. This wrapper is where the compatibility rules for
//! the certificates SkyWalking's script makes (DESIGN §3, Verification 2) slot in: they may
//! only apply when trust comes from a configured CA file.

use super::{legacy, Trust};
use crate::error::{Error, Result, Status};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug)]
pub struct ServerVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    trust: Trust,
    /// The legacy-certificate warning is logged once per channel.
    warned: AtomicBool,
}

impl ServerVerifier {
    pub fn new(roots: Arc<RootCertStore>, provider: Arc<CryptoProvider>, trust: Trust) -> Result<Self> {
        let webpki =
            WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone()).build().map_err(|e| {
                Error::new(Status::CertificateInvalid, format!("cannot build the certificate verifier: {e}"))
            })?;
        Ok(ServerVerifier { webpki, roots, provider, trust, warned: AtomicBool::new(false) })
    }
}

impl ServerVerifier {
    /// The handshake signature of a legacy (v1) certificate, which webpki cannot parse:
    /// only under a configured CA, where `verify_server_cert` accepted the certificate.
    fn legacy_signature(
        &self,
        strict: std::result::Result<HandshakeSignatureValid, rustls::Error>,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
        tls13: bool,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        match strict {
            Err(e) if matches!(self.trust, Trust::CaFile(_)) && legacy::is_unsupported_version(&e) => {
                legacy::verify_handshake_signature(
                    cert,
                    message,
                    dss,
                    &self.provider.signature_verification_algorithms,
                    tls13,
                )
            }
            other => other,
        }
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
        let strict = match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(verified) => return Ok(verified),
            Err(e) => e,
        };
        // The compatibility rules apply only to a CA the operator configured explicitly.
        let Trust::CaFile(ca_path) = &self.trust else { return Err(strict) };
        if !legacy::is_candidate(&strict) {
            return Err(strict);
        }
        let what = legacy::verify(
            end_entity,
            server_name,
            now,
            &self.roots.roots,
            &self.provider.signature_verification_algorithms,
        )?;
        if !self.warned.swap(true, Ordering::Relaxed) {
            warn!(
                "accepted a legacy server certificate for '{}': {what}, signed by the CA in '{}'. Such certificates \
                 come from SkyWalking's old key-generation script and are accepted only under a configured CA; \
                 make modern ones (with subjectAltName) with `swtls certs --out DIR --server-name {}`",
                server_name.to_str(),
                ca_path.display(),
                server_name.to_str()
            );
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.legacy_signature(self.webpki.verify_tls12_signature(message, cert, dss), message, cert, dss, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.legacy_signature(self.webpki.verify_tls13_signature(message, cert, dss), message, cert, dss, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
