//! The collector's rustls server configuration, built by hand so that the tests
//! control every part of it (versions, client authentication, ALPN).

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{InconsistentKeys, RootCertStore, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::{Error, TlsMode, TlsVersions};

/// Builds the server config for `mode`, or `None` for plaintext.
pub(crate) fn server_config(
    mode: &TlsMode,
    versions: TlsVersions,
    cipher_suite: Option<&str>,
) -> Result<Option<Arc<ServerConfig>>, Error> {
    let (cert_chain, key, client_auth) = match mode {
        TlsMode::Plaintext => return Ok(None),
        TlsMode::Tls { cert_chain, key } => (cert_chain, key, None),
        TlsMode::MutualTls { cert_chain, key, client_ca, require_client_auth } => {
            (cert_chain, key, Some((client_ca, *require_client_auth)))
        }
    };
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(name) = cipher_suite {
        let known: Vec<String> = provider.cipher_suites.iter().map(|s| format!("{:?}", s.suite())).collect();
        provider.cipher_suites.retain(|s| format!("{:?}", s.suite()) == name);
        if provider.cipher_suites.is_empty() {
            return Err(Error::new(format!("cipher suite '{name}' is not one of: {}", known.join(", "))));
        }
    }
    let provider = Arc::new(provider);
    let protocol_versions: &[&'static SupportedProtocolVersion] = match versions {
        TlsVersions::Both => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersions::Tls12Only => &[&rustls::version::TLS12],
        TlsVersions::Tls13Only => &[&rustls::version::TLS13],
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(protocol_versions)
        .map_err(|e| Error::new(format!("TLS versions {versions:?}: {e}")))?;
    let builder = match client_auth {
        None => builder.with_no_client_auth(),
        Some((ca_path, required)) => {
            let mut roots = RootCertStore::empty();
            for cert in load_certs(ca_path)? {
                roots.add(cert).map_err(|e| Error::new(format!("client CA {}: {e}", ca_path.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let verifier = if required { verifier } else { verifier.allow_unauthenticated() };
            let verifier = verifier.build().map_err(|e| Error::new(format!("client CA {}: {e}", ca_path.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let certified = certified_key(cert_chain, key, &provider)?;
    let mut config = builder.with_cert_resolver(Arc::new(FixedCert(Arc::new(certified))));
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// Always presents the one configured certificate chain.
#[derive(Debug)]
struct FixedCert(Arc<CertifiedKey>);

impl ResolvesServerCert for FixedCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Loads chain and key and checks that they belong together. Unlike rustls'
/// `with_single_cert`, certificates that webpki cannot parse (X.509 v1, as made by
/// SkyWalking's documented script) are accepted: the tests need a server that
/// presents them. The key check then compares the SubjectPublicKeyInfo directly.
fn certified_key(cert_path: &Path, key_path: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, Error> {
    let certs = load_certs(cert_path)?;
    let key = load_key(key_path)?;
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| Error::new(format!("{}: unusable private key: {e}", key_path.display())))?;
    let certified = CertifiedKey::new(certs, signing_key);
    let mismatch = || {
        Error::new(format!(
            "the key in {} does not belong to the certificate in {}",
            key_path.display(),
            cert_path.display()
        ))
    };
    match certified.keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => return Err(mismatch()),
        Err(_) => {
            // webpki could not parse the certificate (or the key cannot tell its
            // public key): compare by hand where possible.
            if let Some(spki) = certified.key.public_key() {
                let leaf =
                    certified.end_entity_cert().map_err(|e| Error::new(format!("{}: {e}", cert_path.display())))?;
                let cert_spki = crate::certs::certificate_spki(leaf)
                    .map_err(|e| Error::new(format!("{}: {e}", cert_path.display())))?;
                if cert_spki != spki.as_ref() {
                    return Err(mismatch());
                }
            }
        }
    }
    Ok(certified)
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::new(format!("reading {}: {e}", path.display())))
}

fn looks_like_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

/// All certificates of a PEM file (or the one certificate of a DER file).
pub(crate) fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let data = read(path)?;
    if !looks_like_pem(&data) {
        return Ok(vec![CertificateDer::from(data)]);
    }
    let certs = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::new(format!("{}: no certificate found", path.display())));
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 or SEC1) or of a DER file.
pub(crate) fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let data = read(path)?;
    if looks_like_pem(&data) {
        PrivateKeyDer::from_pem_slice(&data)
            .map_err(|e| Error::new(format!("{}: no usable private key: {e}", path.display())))
    } else {
        PrivateKeyDer::try_from(data).map_err(|e| Error::new(format!("{}: not a DER private key: {e}", path.display())))
    }
}

/// Words for a failed server-side handshake.
pub(crate) fn describe_handshake_error(err: &std::io::Error) -> String {
    use rustls::Error as E;
    let Some(tls) = err.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) else {
        return match err.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                format!("connection closed by the client during the handshake ({err})")
            }
            _ => format!("I/O error during the handshake: {err}"),
        };
    };
    let what = match tls {
        E::NoCertificatesPresented => "client did not present a certificate".to_string(),
        E::InvalidCertificate(e) => format!("client certificate rejected: {e:?}"),
        E::AlertReceived(alert) => format!("client sent alert {alert:?}"),
        E::NoApplicationProtocol => "no ALPN protocol in common (the collector offers only h2)".to_string(),
        E::PeerIncompatible(p) => format!("client is incompatible: {p:?}"),
        E::InvalidMessage(_) => "client sent an invalid TLS message (a plaintext client?)".to_string(),
        _ => "TLS error".to_string(),
    };
    format!("{what} ({tls})")
}
