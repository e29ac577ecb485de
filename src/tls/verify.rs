//! Server certificate verification.
//!
//! Strict WebPKI verification comes first. This wrapper is where the compatibility rules for
//! the certificates SkyWalking's script makes (DESIGN §3, Verification 2) slot in: they may
//! only apply when trust comes from a configured CA file. On every path, a server
//! certificate with the public key of the configured client certificate is refused.

use super::plan::TlsPlan;
use super::{der, legacy, Trust};
use crate::error::{Error, Result, Status};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What server verification needs to know of the configured client certificate: no
/// server holds its key, and a legacy server certificate with its subject is a warning.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// The subjectPublicKey bits of the client certificate.
    key: Vec<u8>,
    /// Its subject Name, DER.
    subject: Vec<u8>,
    /// Its subject in words.
    subject_text: String,
    /// The client certificate file.
    path: PathBuf,
}

impl ClientIdentity {
    /// The identity of the client certificate the plan names, once its key is loaded.
    pub fn of(plan: &TlsPlan, key: Option<&CertifiedKey>) -> Result<Option<ClientIdentity>> {
        let (Some((path, _)), Some(key)) = (&plan.client_cert, key) else { return Ok(None) };
        let leaf = key.cert.first().map(|c| c.as_ref()).unwrap_or_default();
        let parts = der::subject_and_spki(leaf).and_then(|(subject, spki)| Some((subject, der::split_spki(spki)?.1)));
        let Some((subject, bits)) = parts else {
            return Err(Error::new(
                Status::CertificateInvalid,
                format!("agent.ssl_cert_chain_path: the first certificate in '{}' cannot be parsed", path.display()),
            ));
        };
        let subject_text =
            super::x509::Certificate::parse(leaf).map(|c| super::x509::name_text(c.subject)).unwrap_or_default();
        Ok(Some(ClientIdentity { key: bits.to_vec(), subject: subject.to_vec(), subject_text, path: path.clone() }))
    }

    /// Refuses a server certificate with this client certificate's public key: whoever
    /// presents it holds an agent's key, not the backend's.
    fn refuse_own_key(&self, leaf: &CertificateDer<'_>) -> std::result::Result<(), rustls::Error> {
        let key = der::subject_and_spki(leaf).and_then(|(_, spki)| der::split_spki(spki)).map(|(_, key)| key);
        match key {
            None => Err(rustls::Error::InvalidCertificate(CertificateError::BadEncoding)),
            Some(key) if key == self.key.as_slice() => Err(legacy::refuse(format!(
                "the server presented a certificate with the public key of this agent's own client certificate \
                 '{}' (agent.ssl_cert_chain_path), so it is not the backend: whoever holds that client key (every \
                 agent host has client.pem) could pose as it. A client certificate is never accepted as a server's. \
                 This happens when server and client certificates share a name and a CA, as with the default names \
                 of SkyWalking's key-generation script. Re-issue them with different names, e.g. `swtls certs --out \
                 DIR --server-name NAME` (a server certificate for NAME and a client certificate with a name of its \
                 own), and install the new server certificate on the backend and the new client files on the agents",
                self.path.display()
            ))),
            Some(_) => Ok(()),
        }
    }

    fn same_subject(&self, leaf: &CertificateDer<'_>) -> bool {
        der::subject_and_spki(leaf).is_some_and(|(subject, _)| subject == self.subject.as_slice())
    }
}

#[derive(Debug)]
pub struct ServerVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    trust: Trust,
    client: Option<ClientIdentity>,
    /// The legacy-certificate warning is logged once per channel.
    warned: AtomicBool,
    /// So is the warning about a legacy server certificate with the client's subject.
    warned_shared_subject: AtomicBool,
}

impl ServerVerifier {
    pub fn new(
        roots: Arc<RootCertStore>,
        provider: Arc<CryptoProvider>,
        trust: Trust,
        client: Option<ClientIdentity>,
    ) -> Result<Self> {
        let webpki =
            WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone()).build().map_err(|e| {
                Error::new(Status::CertificateInvalid, format!("cannot build the certificate verifier: {e}"))
            })?;
        Ok(ServerVerifier {
            webpki,
            roots,
            provider,
            trust,
            client,
            warned: AtomicBool::new(false),
            warned_shared_subject: AtomicBool::new(false),
        })
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
        if let Some(client) = &self.client {
            client.refuse_own_key(end_entity)?;
        }
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
        if let Some(client) = self.client.as_ref().filter(|c| c.same_subject(end_entity)) {
            if !self.warned_shared_subject.swap(true, Ordering::Relaxed) {
                warn!(
                    "the legacy server certificate accepted for '{}' has the same subject ({}) as this agent's client \
                     certificate '{}', under the CA in '{}': any holder of a client certificate from that CA could \
                     pose as the backend. Issue server and client certificates with different names, or modern ones \
                     with extendedKeyUsage: `swtls certs --out DIR --server-name {}`",
                    server_name.to_str(),
                    client.subject_text,
                    client.path.display(),
                    ca_path.display(),
                    server_name.to_str()
                );
            }
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
