//! Certificate generation: CAs, intermediates, server and client certificates, keys in
//! PKCS#8 / PKCS#1 / SEC1 form (PEM or DER), chains, CA bundles, and the file layout an
//! agent's `ca/` folder expects ([`write_deployment`], used by `swtls certs`).
//!
//! Built with the `certs` feature only; the library itself never generates keys.
//!
//! ```no_run
//! use swtls::certs::{Ca, CertOptions, KeyFormat};
//! # fn main() -> Result<(), swtls::certs::CertError> {
//! let ca = Ca::new("test CA")?;
//! let server = ca.issue_server(&CertOptions::new("localhost").sans(&["localhost", "127.0.0.1"]))?;
//! server.write_chain("server.crt")?;
//! server.key().write_pem("server.key", KeyFormat::Sec1)?;
//! let expired = ca.issue_server(&CertOptions::new("localhost").san("localhost").expired())?;
//! # let _ = expired; Ok(()) }
//! ```
//!
//! Keys are ECDSA P-256 unless asked otherwise. Every key, RSA included, is generated in
//! process by rcgen on aws-lc-rs (ring cannot generate RSA keys). Private key files are
//! written with mode 0600 on Unix.

mod der;

use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SanType, SerialNumber, SignatureAlgorithm, SigningKey,
};
use rustls_pki_types::PrivatePkcs8KeyDer;
use time::OffsetDateTime;

/// An error of certificate generation: a message naming the file or thing at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertError(String);

impl CertError {
    pub fn new(message: impl Into<String>) -> CertError {
        CertError(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CertError {}

use CertError as Error;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// Key algorithm of a generated key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyAlg {
    /// ECDSA on P-256 with SHA-256 (the default).
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// RSA 2048 with SHA-256 (PKCS#1 v1.5 signatures).
    Rsa2048,
}

impl KeyAlg {
    fn rcgen_alg(self) -> &'static SignatureAlgorithm {
        match self {
            KeyAlg::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlg::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyAlg::Ed25519 => &rcgen::PKCS_ED25519,
            KeyAlg::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
        }
    }

    /// DER AlgorithmIdentifier of the signatures this key makes.
    fn signature_algorithm_der(self) -> &'static [u8] {
        match self {
            // ecdsa-with-SHA256
            KeyAlg::EcdsaP256 => &[0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
            // ecdsa-with-SHA384
            KeyAlg::EcdsaP384 => &[0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03],
            // Ed25519
            KeyAlg::Ed25519 => &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70],
            // sha256WithRSAEncryption, NULL parameters
            KeyAlg::Rsa2048 => {
                &[0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00]
            }
        }
    }

    /// The "traditional" key format of this algorithm: PKCS#1 for RSA, SEC1 for
    /// ECDSA, PKCS#8 for Ed25519 (which has no other).
    pub fn traditional_format(self) -> KeyFormat {
        match self {
            KeyAlg::EcdsaP256 | KeyAlg::EcdsaP384 => KeyFormat::Sec1,
            KeyAlg::Rsa2048 => KeyFormat::Pkcs1,
            KeyAlg::Ed25519 => KeyFormat::Pkcs8,
        }
    }
}

/// Encoding of a private key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyFormat {
    /// PKCS#8 `PrivateKeyInfo` (PEM label `PRIVATE KEY`). Any algorithm.
    Pkcs8,
    /// PKCS#1 `RSAPrivateKey` (PEM label `RSA PRIVATE KEY`). RSA only.
    Pkcs1,
    /// SEC1 `ECPrivateKey` with the curve named (PEM label `EC PRIVATE KEY`). ECDSA only.
    Sec1,
}

impl KeyFormat {
    /// The PEM label of this format.
    pub fn pem_label(self) -> &'static str {
        match self {
            KeyFormat::Pkcs8 => "PRIVATE KEY",
            KeyFormat::Pkcs1 => "RSA PRIVATE KEY",
            KeyFormat::Sec1 => "EC PRIVATE KEY",
        }
    }
}

/// A private key, kept as PKCS#8 DER, convertible to the other encodings.
#[derive(Clone)]
pub struct PrivateKey {
    alg: KeyAlg,
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey").field("alg", &self.alg).finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Makes a new random key (rcgen on aws-lc-rs, in process, for every algorithm).
    pub fn generate(alg: KeyAlg) -> Result<PrivateKey, Error> {
        let pkcs8 = KeyPair::generate_for(alg.rcgen_alg())
            .map_err(|e| Error::new(format!("generating a {alg:?} key: {e}")))?
            .serialize_der();
        Ok(PrivateKey { alg, pkcs8 })
    }

    /// Wraps an existing PKCS#8 DER key of the given algorithm.
    pub fn from_pkcs8_der(alg: KeyAlg, der: &[u8]) -> Result<PrivateKey, Error> {
        let key = PrivateKey { alg, pkcs8: der.to_vec() };
        key.key_pair()?;
        Ok(key)
    }

    /// The key's algorithm.
    pub fn alg(&self) -> KeyAlg {
        self.alg
    }

    /// The key as PKCS#8 DER.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The key as DER in the given format. PKCS#1 is only for RSA keys, SEC1 only for
    /// ECDSA keys (written with the curve parameters, as OpenSSL does).
    pub fn to_der(&self, format: KeyFormat) -> Result<Vec<u8>, Error> {
        match format {
            KeyFormat::Pkcs8 => Ok(self.pkcs8.clone()),
            KeyFormat::Pkcs1 => {
                let parts = der::parse_pkcs8(&self.pkcs8)?;
                if parts.algorithm_oid != OID_RSA_ENCRYPTION {
                    return Err(Error::new(format!("a {:?} key cannot be written as PKCS#1 (RSA only)", self.alg)));
                }
                // The PKCS#8 privateKey octets of an RSA key are the RSAPrivateKey.
                der::read_single(parts.private_key, der::TAG_SEQUENCE)?;
                Ok(parts.private_key.to_vec())
            }
            KeyFormat::Sec1 => {
                let parts = der::parse_pkcs8(&self.pkcs8)?;
                if parts.algorithm_oid != OID_EC_PUBLIC_KEY {
                    return Err(Error::new(format!("a {:?} key cannot be written as SEC1 (ECDSA only)", self.alg)));
                }
                let curve = parts
                    .parameters
                    .filter(|p| p.tag == der::TAG_OID)
                    .ok_or_else(|| Error::new("EC key without a named curve"))?;
                let ec = der::read_single(parts.private_key, der::TAG_SEQUENCE)?;
                let fields = der::children(ec.content)?;
                if fields.len() < 2 {
                    return Err(Error::new("malformed ECPrivateKey"));
                }
                let has_params = fields.iter().any(|f| f.tag == der::TAG_CONTEXT_0);
                let params = der::tlv(der::TAG_CONTEXT_0, curve.raw);
                let mut parts_out: Vec<&[u8]> = vec![fields[0].raw, fields[1].raw];
                if !has_params {
                    parts_out.push(&params);
                }
                for f in &fields[2..] {
                    parts_out.push(f.raw);
                }
                Ok(der::constructed(der::TAG_SEQUENCE, &parts_out))
            }
        }
    }

    /// The key as PEM in the given format.
    pub fn to_pem(&self, format: KeyFormat) -> Result<String, Error> {
        Ok(pem_encode(format.pem_label(), &self.to_der(format)?))
    }

    /// Writes the key as PEM in the given format (mode 0600 on Unix).
    pub fn write_pem(&self, path: impl AsRef<Path>, format: KeyFormat) -> Result<(), Error> {
        write_secret(path.as_ref(), self.to_pem(format)?.as_bytes())
    }

    /// Writes the key as DER in the given format (mode 0600 on Unix).
    pub fn write_der(&self, path: impl AsRef<Path>, format: KeyFormat) -> Result<(), Error> {
        write_secret(path.as_ref(), &self.to_der(format)?)
    }

    fn key_pair(&self) -> Result<KeyPair, Error> {
        KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(self.pkcs8.as_slice()), self.alg.rcgen_alg())
            .map_err(|e| Error::new(format!("loading a {:?} key: {e}", self.alg)))
    }
}

/// Subject, names, validity and key algorithm of a certificate to make.
#[derive(Clone, Debug)]
pub struct CertOptions {
    /// Subject common name.
    pub common_name: String,
    /// subjectAltName entries: IP addresses (IPv6 may be bracketed) become IP SANs,
    /// anything else a DNS SAN. Ignored for CAs and v1 certificates.
    pub sans: Vec<String>,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// Algorithm of the certificate's own key.
    pub key_alg: KeyAlg,
}

impl CertOptions {
    /// Valid from one hour ago for 365 days, ECDSA P-256, no SANs.
    pub fn new(common_name: impl Into<String>) -> CertOptions {
        let now = SystemTime::now();
        CertOptions {
            common_name: common_name.into(),
            sans: Vec::new(),
            not_before: now - Duration::from_secs(3600),
            not_after: now + 365 * DAY,
            key_alg: KeyAlg::EcdsaP256,
        }
    }

    /// Adds one subjectAltName.
    pub fn san(mut self, name: impl Into<String>) -> Self {
        self.sans.push(name.into());
        self
    }

    /// Adds several subjectAltNames.
    pub fn sans(mut self, names: &[&str]) -> Self {
        self.sans.extend(names.iter().map(|s| s.to_string()));
        self
    }

    /// Sets the validity window.
    pub fn validity(mut self, not_before: SystemTime, not_after: SystemTime) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    /// Expired: valid from 30 days ago until yesterday.
    pub fn expired(self) -> Self {
        let now = SystemTime::now();
        self.validity(now - 30 * DAY, now - DAY)
    }

    /// Not yet valid: valid from tomorrow for 30 days.
    pub fn not_yet_valid(self) -> Self {
        let now = SystemTime::now();
        self.validity(now + DAY, now + 30 * DAY)
    }

    /// Sets the key algorithm.
    pub fn key_alg(mut self, alg: KeyAlg) -> Self {
        self.key_alg = alg;
        self
    }
}

/// A certificate authority (root or intermediate) that issues certificates.
#[derive(Clone)]
pub struct Ca {
    params: CertificateParams,
    key: PrivateKey,
    cert_der: Vec<u8>,
    /// Intermediates above this CA up to (not including) the root.
    ancestors: Vec<Vec<u8>>,
    is_root: bool,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").field("key", &self.key).field("is_root", &self.is_root).finish_non_exhaustive()
    }
}

impl Ca {
    /// A new self-signed root CA, ECDSA P-256, valid from yesterday for 10 years.
    pub fn new(common_name: &str) -> Result<Ca, Error> {
        let now = SystemTime::now();
        Ca::with_options(&CertOptions::new(common_name).validity(now - DAY, now + 3650 * DAY))
    }

    /// A new self-signed root CA with the given subject, validity and key algorithm
    /// (SANs are ignored).
    pub fn with_options(opts: &CertOptions) -> Result<Ca, Error> {
        let key = PrivateKey::generate(opts.key_alg)?;
        let kp = key.key_pair()?;
        let params = ca_params(opts, false);
        let cert =
            params.self_signed(&kp).map_err(|e| Error::new(format!("self-signing CA '{}': {e}", opts.common_name)))?;
        Ok(Ca { params, key, cert_der: cert.der().to_vec(), ancestors: Vec::new(), is_root: true })
    }

    /// An intermediate CA signed by this one, ECDSA P-256, valid like this CA's
    /// defaults (yesterday + 10 years).
    pub fn intermediate(&self, common_name: &str) -> Result<Ca, Error> {
        let now = SystemTime::now();
        self.intermediate_with(&CertOptions::new(common_name).validity(now - DAY, now + 3650 * DAY))
    }

    /// An intermediate CA signed by this one.
    pub fn intermediate_with(&self, opts: &CertOptions) -> Result<Ca, Error> {
        let key = PrivateKey::generate(opts.key_alg)?;
        let kp = key.key_pair()?;
        let params = ca_params(opts, true);
        let issuer = self.issuer()?;
        let cert = params
            .signed_by(&kp, &issuer)
            .map_err(|e| Error::new(format!("signing intermediate CA '{}': {e}", opts.common_name)))?;
        Ok(Ca { params, key, cert_der: cert.der().to_vec(), ancestors: self.presented_chain(), is_root: false })
    }

    /// A server certificate (extendedKeyUsage serverAuth) with the given SANs.
    pub fn issue_server(&self, opts: &CertOptions) -> Result<Issued, Error> {
        self.issue_leaf(opts, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate (extendedKeyUsage clientAuth).
    pub fn issue_client(&self, opts: &CertOptions) -> Result<Issued, Error> {
        self.issue_leaf(opts, ExtendedKeyUsagePurpose::ClientAuth)
    }

    /// Shortcut: a server certificate for `names` (CN = the first name), default validity.
    pub fn server_cert(&self, names: &[&str]) -> Result<Issued, Error> {
        let cn = names.first().copied().unwrap_or("localhost");
        self.issue_server(&CertOptions::new(cn).sans(names))
    }

    /// Shortcut: a client certificate with the given CN, default validity.
    pub fn client_cert(&self, common_name: &str) -> Result<Issued, Error> {
        self.issue_client(&CertOptions::new(common_name))
    }

    /// A legacy X.509 **v1** leaf certificate: no extensions at all (so no
    /// subjectAltName, no key usage, no basic constraints), the name only in the
    /// subject CN — the kind `openssl x509 -req` without an extension file makes, as
    /// in SkyWalking's documented TLS script. `opts.sans` is ignored.
    pub fn issue_v1_leaf(&self, opts: &CertOptions) -> Result<Issued, Error> {
        let key = PrivateKey::generate(opts.key_alg)?;
        let kp = key.key_pair()?;
        let issuer_name = der::certificate_subject(&self.cert_der)?;
        let sig_alg = self.key.alg.signature_algorithm_der();
        let serial = der::positive_integer(&random_serial());
        let validity = der::constructed(der::TAG_SEQUENCE, &[&der_time(opts.not_before), &der_time(opts.not_after)]);
        let subject = name_with_cn(&opts.common_name);
        let spki = kp.subject_public_key_info();
        let tbs = der::constructed(der::TAG_SEQUENCE, &[&serial, sig_alg, &issuer_name, &validity, &subject, &spki]);
        let signature =
            self.key.key_pair()?.sign(&tbs).map_err(|e| Error::new(format!("signing v1 certificate: {e}")))?;
        let mut bits = Vec::with_capacity(signature.len() + 1);
        bits.push(0); // no unused bits
        bits.extend_from_slice(&signature);
        let cert = der::constructed(der::TAG_SEQUENCE, &[&tbs, sig_alg, &der::tlv(der::TAG_BIT_STRING, &bits)]);
        Ok(Issued { cert_der: cert, key, intermediates: self.presented_chain() })
    }

    /// This CA's certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// This CA's certificate, PEM.
    pub fn cert_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.cert_der)
    }

    /// This CA's private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// True for a self-signed root, false for an intermediate.
    pub fn is_root(&self) -> bool {
        self.is_root
    }

    /// The certificates a peer presents above its leaf when this CA issued the
    /// leaf: empty for a root; this intermediate and the intermediates above it
    /// (never the root) otherwise.
    pub fn presented_chain(&self) -> Vec<Vec<u8>> {
        if self.is_root {
            Vec::new()
        } else {
            let mut chain = vec![self.cert_der.clone()];
            chain.extend(self.ancestors.iter().cloned());
            chain
        }
    }

    /// Writes this CA's certificate (PEM).
    pub fn write_cert(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        write_file(path.as_ref(), self.cert_pem().as_bytes())
    }

    fn issuer(&self) -> Result<Issuer<'_, KeyPair>, Error> {
        Ok(Issuer::from_params(&self.params, self.key.key_pair()?))
    }

    fn issue_leaf(&self, opts: &CertOptions, eku: ExtendedKeyUsagePurpose) -> Result<Issued, Error> {
        let key = PrivateKey::generate(opts.key_alg)?;
        let kp = key.key_pair()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(&opts.common_name);
        params.subject_alt_names = opts.sans.iter().map(|s| san(s)).collect::<Result<Vec<_>, _>>()?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if opts.key_alg == KeyAlg::Rsa2048 {
            params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
        params.extended_key_usages = vec![eku];
        params.not_before = OffsetDateTime::from(opts.not_before);
        params.not_after = OffsetDateTime::from(opts.not_after);
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
        params.use_authority_key_identifier_extension = true;
        let cert = params
            .signed_by(&kp, &self.issuer()?)
            .map_err(|e| Error::new(format!("signing '{}': {e}", opts.common_name)))?;
        Ok(Issued { cert_der: cert.der().to_vec(), key, intermediates: self.presented_chain() })
    }
}

/// A certificate issued by a [`Ca`], with its key and the intermediates above it.
#[derive(Clone, Debug)]
pub struct Issued {
    cert_der: Vec<u8>,
    key: PrivateKey,
    intermediates: Vec<Vec<u8>>,
}

impl Issued {
    /// The leaf certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The leaf certificate alone, PEM.
    pub fn cert_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.cert_der)
    }

    /// Leaf followed by the issuing intermediates (no root), PEM. Equals
    /// [`Issued::cert_pem`] when a root issued the certificate.
    pub fn chain_pem(&self) -> String {
        let mut out = self.cert_pem();
        for c in &self.intermediates {
            out.push_str(&pem_encode("CERTIFICATE", c));
        }
        out
    }

    /// Leaf followed by the issuing intermediates, DER each.
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        let mut out = vec![self.cert_der.clone()];
        out.extend(self.intermediates.iter().cloned());
        out
    }

    /// The certificate's private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// Writes the leaf alone (PEM).
    pub fn write_cert(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        write_file(path.as_ref(), self.cert_pem().as_bytes())
    }

    /// Writes the leaf and its intermediates in one PEM file.
    pub fn write_chain(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        write_file(path.as_ref(), self.chain_pem().as_bytes())
    }

    /// Writes the leaf as DER.
    pub fn write_cert_der(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        write_file(path.as_ref(), &self.cert_der)
    }
}

/// Several CA certificates in one PEM string (a CA bundle).
pub fn ca_bundle_pem(cas: &[&Ca]) -> String {
    cas.iter().map(|c| c.cert_pem()).collect()
}

/// Writes several CA certificates into one PEM file (a CA bundle).
pub fn write_ca_bundle(path: impl AsRef<Path>, cas: &[&Ca]) -> Result<(), Error> {
    write_file(path.as_ref(), ca_bundle_pem(cas).as_bytes())
}

/// Encodes DER as PEM with the given label (64-column base64, LF line ends).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The X.509 version (1 or 3) of a DER certificate.
pub fn certificate_version(cert_der: &[u8]) -> Result<u8, Error> {
    der::certificate_version(cert_der)
}

/// The SubjectPublicKeyInfo (DER) of a DER certificate, read without judging the
/// certificate (works for v1 certificates too).
pub fn certificate_spki(cert_der: &[u8]) -> Result<Vec<u8>, Error> {
    der::certificate_spki(cert_der)
}

/// Files of a generated certificate set: the layout of a SkyWalking agent's `ca/`
/// folder (`ca.crt`, `client.crt`, `client.pem`) plus the server's material.
#[derive(Clone, Debug)]
pub struct CertSet {
    /// The folder the files were written to.
    pub dir: PathBuf,
    /// `ca.crt`: the root CA certificate.
    pub ca_cert: PathBuf,
    /// `ca.key`: the CA key, PKCS#8 PEM.
    pub ca_key: PathBuf,
    /// `server.crt`: the server certificate chain.
    pub server_cert: PathBuf,
    /// `server.key`: the server key, PKCS#8 PEM.
    pub server_key: PathBuf,
    /// `client.crt`: the client certificate chain.
    pub client_cert: PathBuf,
    /// `client.pem`: the client key, PKCS#8 PEM.
    pub client_key: PathBuf,
    /// The CA itself, to issue more certificates.
    pub ca: Ca,
    /// The server certificate and key.
    pub server: Issued,
    /// The client certificate and key.
    pub client: Issued,
}

impl CertSet {
    /// Generates a CA (CN `swtls test CA <random hex>`, unique per set), a server
    /// certificate whose SANs are `server_names` (IP addresses as IP SANs, the rest
    /// as DNS names; CN = the first name) and a client certificate (CN
    /// `swtls-client`), all ECDSA P-256, and writes them into `dir` (created if
    /// missing).
    pub fn generate(dir: &Path, server_names: &[&str]) -> Result<CertSet, Error> {
        CertSet::generate_with(dir, server_names, KeyAlg::EcdsaP256)
    }

    /// Like [`CertSet::generate`] with the given key algorithm for all three keys.
    pub fn generate_with(dir: &Path, server_names: &[&str], alg: KeyAlg) -> Result<CertSet, Error> {
        fs::create_dir_all(dir).map_err(|e| Error::new(format!("creating {}: {e}", dir.display())))?;
        let now = SystemTime::now();
        let ca = Ca::with_options(
            &CertOptions::new(format!("swtls test CA {}", hex(&random_serial()[..6])))
                .validity(now - DAY, now + 3650 * DAY)
                .key_alg(alg),
        )?;
        let cn = server_names.first().copied().unwrap_or("localhost");
        let server = ca.issue_server(&CertOptions::new(cn).sans(server_names).key_alg(alg))?;
        let client = ca.issue_client(&CertOptions::new("swtls-client").key_alg(alg))?;
        let set = CertSet {
            dir: dir.to_path_buf(),
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.pem"),
            ca,
            server,
            client,
        };
        set.ca.write_cert(&set.ca_cert)?;
        set.ca.key.write_pem(&set.ca_key, KeyFormat::Pkcs8)?;
        set.server.write_chain(&set.server_cert)?;
        set.server.key.write_pem(&set.server_key, KeyFormat::Pkcs8)?;
        set.client.write_chain(&set.client_cert)?;
        set.client.key.write_pem(&set.client_key, KeyFormat::Pkcs8)?;
        Ok(set)
    }
}

/// What [`write_deployment`] makes (the options of `swtls certs`).
#[derive(Clone, Debug)]
pub struct DeploymentOptions {
    /// Names agents use to reach the backend: DNS names or IP addresses (IPv6 may be
    /// bracketed). All go into the server certificate's subjectAltName; the first is also
    /// its CN. At least one.
    pub server_names: Vec<String>,
    /// Algorithm of all three keys: ECDSA P-256 (default) or RSA 2048.
    pub key_alg: KeyAlg,
    /// Also write the client key in its traditional form (`client.pkcs1.pem` for RSA,
    /// `client.sec1.pem` for ECDSA) for agents that cannot read PKCS#8.
    pub traditional_client_key: bool,
    /// Validity of the server and client certificates, in days from now (the CA gets ten
    /// years, or longer if needed).
    pub days: u32,
    /// Subject CN of the client certificate.
    pub client_name: String,
    /// Replace files that already exist (otherwise that is an error and nothing is written).
    pub overwrite: bool,
}

impl DeploymentOptions {
    /// ECDSA P-256, 365 days, client CN `skywalking-agent`, no traditional key, no overwrite.
    pub fn new(server_names: &[&str]) -> DeploymentOptions {
        DeploymentOptions {
            server_names: server_names.iter().map(|s| s.to_string()).collect(),
            key_alg: KeyAlg::EcdsaP256,
            traditional_client_key: false,
            days: 365,
            client_name: "skywalking-agent".to_string(),
            overwrite: false,
        }
    }
}

/// One file written by [`write_deployment`].
#[derive(Clone, Debug)]
pub struct WrittenFile {
    pub path: PathBuf,
    /// What it is, in words.
    pub what: &'static str,
    /// A private key (written with mode 0600 on Unix).
    pub secret: bool,
}

/// A certificate set written in the deployment layout:
///
/// ```text
/// DIR/ca/ca.crt          CA certificate              -> the agent's ca/ folder
/// DIR/ca/client.crt      client certificate          -> the agent's ca/ folder
/// DIR/ca/client.pem      client key, PKCS#8          -> the agent's ca/ folder
/// DIR/ca/client.pkcs1.pem | client.sec1.pem          (only with traditional_client_key)
/// DIR/server/server.crt  server certificate          -> the backend (OAP)
/// DIR/server/server.key  server key, PKCS#8          -> the backend
/// DIR/server/ca.crt      CA certificate, to verify agents' client certificates
/// ```
///
/// The CA's private key is not written: the set is complete as it is, and a CA key left
/// on disk could issue certificates the backend trusts. Run again for a new set.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub dir: PathBuf,
    /// The agent's `ca/` folder (`DIR/ca`).
    pub agent_dir: PathBuf,
    /// The backend's folder (`DIR/server`).
    pub server_dir: PathBuf,
    pub files: Vec<WrittenFile>,
    pub ca: Ca,
    pub server: Issued,
    pub client: Issued,
}

/// Generates a CA, a server certificate for `opts.server_names` and a client certificate,
/// and writes them into `dir` in the [`Deployment`] layout. Everything is generated before
/// anything is written; existing files are an error unless `opts.overwrite`.
pub fn write_deployment(dir: &Path, opts: &DeploymentOptions) -> Result<Deployment, Error> {
    if opts.server_names.is_empty() {
        return Err(Error::new(
            "at least one server name is needed: the DNS names or IP addresses agents use to reach the backend",
        ));
    }
    if opts.days == 0 {
        return Err(Error::new("the certificates must be valid for at least one day"));
    }
    if !matches!(opts.key_alg, KeyAlg::EcdsaP256 | KeyAlg::EcdsaP384 | KeyAlg::Rsa2048) && opts.traditional_client_key {
        return Err(Error::new(format!("a {:?} key has no traditional (PKCS#1/SEC1) form", opts.key_alg)));
    }
    for name in &opts.server_names {
        // What a client can check the certificate against: a DNS name (a leading `*.`
        // wildcard allowed) or an IP address.
        let bare = name.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(name);
        let dns = bare.strip_prefix("*.").unwrap_or(bare);
        if rustls_pki_types::ServerName::try_from(dns).is_err() {
            return Err(Error::new(format!("'{name}' is not a valid DNS name or IP address for a server certificate")));
        }
        san(name)?;
    }
    let agent_dir = dir.join("ca");
    let server_dir = dir.join("server");
    let traditional = opts.key_alg.traditional_format();
    let mut plan: Vec<(&Path, &'static str, &'static str, bool)> = vec![
        (agent_dir.as_path(), "ca.crt", "CA certificate (agent: trusts the backend)", false),
        (&agent_dir, "client.crt", "client certificate (agent)", false),
        (&agent_dir, "client.pem", "client key, PKCS#8 (agent)", true),
    ];
    if opts.traditional_client_key {
        plan.push(match traditional {
            KeyFormat::Pkcs1 => {
                (&agent_dir, "client.pkcs1.pem", "client key, RSA PKCS#1 (for agents that cannot read PKCS#8)", true)
            }
            _ => (&agent_dir, "client.sec1.pem", "client key, SEC1 EC (for agents that cannot read PKCS#8)", true),
        });
    }
    plan.extend([
        (server_dir.as_path(), "server.crt", "server certificate (backend)", false),
        (&server_dir, "server.key", "server key, PKCS#8 (backend)", true),
        (&server_dir, "ca.crt", "CA certificate (backend: verifies agents' client certificates)", false),
    ]);
    if !opts.overwrite {
        let existing: Vec<String> =
            plan.iter().map(|(d, n, _, _)| d.join(n)).filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
        if !existing.is_empty() {
            return Err(Error::new(format!(
                "refusing to overwrite existing files: {} (remove them or choose another folder; \
                 swtls certs --force replaces them)",
                existing.join(", ")
            )));
        }
    }

    let now = SystemTime::now();
    let leaf_end = now + DAY * opts.days;
    let ca_end = (now + 3650 * DAY).max(leaf_end + DAY);
    let ca = Ca::with_options(
        &CertOptions::new(format!("swtls CA {}", hex(&random_serial()[..6])))
            .validity(now - DAY, ca_end)
            .key_alg(opts.key_alg),
    )?;
    let names: Vec<&str> = opts.server_names.iter().map(String::as_str).collect();
    let leaf_start = now - Duration::from_secs(3600);
    let server =
        ca.issue_server(&CertOptions::new(names[0]).sans(&names).validity(leaf_start, leaf_end).key_alg(opts.key_alg))?;
    let client = ca.issue_client(
        &CertOptions::new(opts.client_name.clone()).validity(leaf_start, leaf_end).key_alg(opts.key_alg),
    )?;

    let mut files = Vec::new();
    for (dir, name, what, secret) in plan {
        let path = dir.join(name);
        match name {
            "ca.crt" => ca.write_cert(&path)?,
            "client.crt" => client.write_chain(&path)?,
            "client.pem" => client.key.write_pem(&path, KeyFormat::Pkcs8)?,
            "client.pkcs1.pem" | "client.sec1.pem" => client.key.write_pem(&path, traditional)?,
            "server.crt" => server.write_chain(&path)?,
            _ => server.key.write_pem(&path, KeyFormat::Pkcs8)?,
        }
        files.push(WrittenFile { path, what, secret });
    }
    Ok(Deployment { dir: dir.to_path_buf(), agent_dir, server_dir, files, ca, server, client })
}

fn ca_params(opts: &CertOptions, intermediate: bool) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(&opts.common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.not_before = OffsetDateTime::from(opts.not_before);
    params.not_after = OffsetDateTime::from(opts.not_after);
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    params.use_authority_key_identifier_extension = intermediate;
    params
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

fn san(name: &str) -> Result<SanType, Error> {
    let bare = name.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(name);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    Ok(SanType::DnsName(
        name.to_string()
            .try_into()
            .map_err(|e| Error::new(format!("'{name}' is not a valid DNS name for a certificate: {e}")))?,
    ))
}

/// Name ::= SEQUENCE OF SET OF { OID commonName, UTF8String }
fn name_with_cn(common_name: &str) -> Vec<u8> {
    let atv = der::constructed(
        der::TAG_SEQUENCE,
        &[&der::tlv(der::TAG_OID, OID_COMMON_NAME), &der::tlv(der::TAG_UTF8_STRING, common_name.as_bytes())],
    );
    der::tlv(der::TAG_SEQUENCE, &der::tlv(der::TAG_SET, &atv))
}

/// UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5).
fn der_time(t: SystemTime) -> Vec<u8> {
    let t = OffsetDateTime::from(t);
    let y = t.year();
    let rest = format!("{:02}{:02}{:02}{:02}{:02}Z", u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second());
    if (1950..2050).contains(&y) {
        der::tlv(der::TAG_UTC_TIME, format!("{:02}{rest}", y % 100).as_bytes())
    } else {
        der::tlv(der::TAG_GENERALIZED_TIME, format!("{y:04}{rest}").as_bytes())
    }
}

/// 16 random bytes, top bit clear (a positive serial of at most 128 bits).
fn random_serial() -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    for _ in 0..2 {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
        out.extend_from_slice(&h.finish().to_be_bytes());
    }
    out[0] &= 0x7f;
    if out[0] == 0 {
        out[0] = 1;
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn create_parent(path: &Path) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            fs::create_dir_all(parent).map_err(|e| Error::new(format!("creating {}: {e}", parent.display())))?;
        }
    }
    Ok(())
}

fn write_file(path: &Path, data: &[u8]) -> Result<(), Error> {
    create_parent(path)?;
    fs::write(path, data).map_err(|e| Error::new(format!("writing {}: {e}", path.display())))
}

/// Writes a private key: readable by its owner only (mode 0600 on Unix), also when the
/// file existed before with a wider mode.
fn write_secret(path: &Path, data: &[u8]) -> Result<(), Error> {
    create_parent(path)?;
    let failed = |e: std::io::Error| Error::new(format!("writing {}: {e}", path.display()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path).map_err(failed)?;
        file.set_permissions(fs::Permissions::from_mode(0o600)).map_err(failed)?;
        std::io::Write::write_all(&mut &file, data).map_err(failed)
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path).map_err(failed)?;
        std::io::Write::write_all(&mut file, data).map_err(failed)
    }
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn der_times() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(86400 * 365);
        assert_eq!(&der_time(t)[2..], b"710101000000Z");
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(86400 * 365 * 90);
        assert_eq!(der_time(far)[0], der::TAG_GENERALIZED_TIME);
    }
}
