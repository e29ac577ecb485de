//! Certificate authorities and the certificates they issue: roots, intermediates, server
//! and client certificates (rcgen), and legacy X.509 v1 leaves (x509-cert: rcgen makes v3
//! only).

use super::files::{pem_encode, write_file};
use super::key::PrivateKey;
use super::{CertError as Error, KeyAlg, DAY};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SanType, SerialNumber, SigningKey,
};
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::der::asn1::{BitString, GeneralizedTime, SetOfVec, UtcTime};
use x509_cert::der::oid::db::rfc4519;
use x509_cert::der::{Any, DateTime, Decode, Encode, Tag};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

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
    pub(super) key: PrivateKey,
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
        let params = ca_params(opts, false)?;
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
        let params = ca_params(opts, true)?;
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
        let bad = |e: x509_cert::der::Error| Error::new(format!("building v1 certificate '{}': {e}", opts.common_name));
        let signature_algorithm = self.key.alg.signature_algorithm();
        let tbs = TbsCertificate {
            // v1: the version field is left out, and so are unique identifiers and extensions.
            version: Version::V1,
            serial_number: x509_cert::serial_number::SerialNumber::new(&random_serial()?).map_err(bad)?,
            signature: signature_algorithm.clone(),
            issuer: Certificate::from_der(&self.cert_der).map_err(bad)?.tbs_certificate.subject,
            validity: Validity {
                not_before: x509_time(opts.not_before).map_err(bad)?,
                not_after: x509_time(opts.not_after).map_err(bad)?,
            },
            subject: name_with_cn(&opts.common_name).map_err(bad)?,
            subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(&kp.subject_public_key_info()).map_err(bad)?,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: None,
        };
        let signature = self
            .key
            .key_pair()?
            .sign(&tbs.to_der().map_err(bad)?)
            .map_err(|e| Error::new(format!("signing v1 certificate: {e}")))?;
        let cert = Certificate {
            tbs_certificate: tbs,
            signature_algorithm,
            signature: BitString::from_bytes(&signature).map_err(bad)?,
        };
        Ok(Issued { cert_der: cert.to_der().map_err(bad)?, key, intermediates: self.presented_chain() })
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
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
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
    pub(super) key: PrivateKey,
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

fn ca_params(opts: &CertOptions, intermediate: bool) -> Result<CertificateParams, Error> {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(&opts.common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.not_before = OffsetDateTime::from(opts.not_before);
    params.not_after = OffsetDateTime::from(opts.not_after);
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
    params.use_authority_key_identifier_extension = intermediate;
    Ok(params)
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

pub(super) fn san(name: &str) -> Result<SanType, Error> {
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

/// A Name with one attribute: commonName, as a UTF8String.
fn name_with_cn(common_name: &str) -> x509_cert::der::Result<Name> {
    let cn = AttributeTypeAndValue { oid: rfc4519::CN, value: Any::new(Tag::Utf8String, common_name.as_bytes())? };
    Ok(RdnSequence(vec![RelativeDistinguishedName(SetOfVec::try_from(vec![cn])?)]))
}

/// UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5), to the second.
fn x509_time(t: SystemTime) -> x509_cert::der::Result<Time> {
    let t = DateTime::from_system_time(t)?;
    Ok(if t.year() <= UtcTime::MAX_YEAR {
        Time::UtcTime(UtcTime::from_date_time(t)?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_date_time(t))
    })
}

/// The SubjectPublicKeyInfo (DER) of a DER certificate, read without judging the
/// certificate (works for v1 certificates too).
pub fn certificate_spki(cert_der: &[u8]) -> Result<Vec<u8>, Error> {
    read_certificate(cert_der)?.tbs_certificate.subject_public_key_info.to_der().map_err(malformed)
}

/// The X.509 version (1 or 3) of a DER certificate (as written: 0-based + 1).
pub fn certificate_version(cert_der: &[u8]) -> Result<u8, Error> {
    Ok(read_certificate(cert_der)?.tbs_certificate.version as u8 + 1)
}

fn read_certificate(cert_der: &[u8]) -> Result<Certificate, Error> {
    Certificate::from_der(cert_der).map_err(malformed)
}

fn malformed(e: x509_cert::der::Error) -> Error {
    Error::new(format!("malformed certificate: {e}"))
}

/// 16 random bytes from the crypto provider's CSPRNG (the operating system's), top bit
/// clear: a positive serial of up to 128 bits, unpredictable as RFC 5280 and the CA/B
/// baseline requirements ask (they were a hash of the time before).
pub(super) fn random_serial() -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; 16];
    crate::tls::provider().secure_random.fill(&mut out).map_err(|_| {
        Error::new("no random bytes for a certificate serial number: the system's random source failed")
    })?;
    out[0] &= 0x7f;
    if out[0] == 0 {
        out[0] = 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_positive_128_bit_and_distinct() {
        let serials: std::collections::HashSet<Vec<u8>> = (0..2000).map(|_| random_serial().unwrap()).collect();
        assert_eq!(serials.len(), 2000);
        assert!(serials.iter().all(|s| s.len() == 16 && s[0] & 0x80 == 0 && s[0] != 0));
        // Every bit position below the top one is used (a hash of the time in a loop would
        // still pass the rest; this at least catches a constant or truncated source).
        let ored = serials.iter().fold([0u8; 16], |mut acc, s| {
            acc.iter_mut().zip(s).for_each(|(a, b)| *a |= b);
            acc
        });
        assert_eq!(ored[0], 0x7f);
        assert!(ored[1..].iter().all(|b| *b == 0xff));
    }

    #[test]
    fn der_times() {
        let der_time = |t| x509_time(t).unwrap().to_der().unwrap();
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(86400 * 365);
        assert_eq!(&der_time(t)[2..], b"710101000000Z");
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(86400 * 365 * 90);
        assert_eq!(der_time(far)[0], u8::from(Tag::GeneralizedTime));
    }

    #[test]
    fn v1_leaves_as_openssl_x509_req_makes_them() {
        use x509_parser::prelude::{FromDer, X509Certificate};
        use x509_parser::time::ASN1Time;
        let second = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
        let ca = Ca::new("the CA").unwrap();
        let (_, ca_cert) = X509Certificate::from_der(ca.cert_der()).unwrap();
        let now = SystemTime::now();
        // Past 2049 the time is a GeneralizedTime; a long, non-ASCII name needs a long length.
        let cn = format!("ünïcode {}", "x".repeat(300));
        let opts = CertOptions::new(&cn).validity(now, now + 365 * 40 * DAY);
        let leaf = ca.issue_v1_leaf(&opts).unwrap();
        let (rest, c) = X509Certificate::from_der(leaf.cert_der()).unwrap();
        assert!(rest.is_empty());
        assert_eq!((c.version().0, c.extensions().len()), (0, 0));
        assert_eq!(c.issuer().as_raw(), ca_cert.subject().as_raw());
        assert_eq!(c.subject().iter_common_name().next().unwrap().as_str().unwrap(), cn);
        assert_eq!(c.validity().not_before, ASN1Time::from_timestamp(second(opts.not_before)).unwrap());
        assert_eq!(c.validity().not_after, ASN1Time::from_timestamp(second(opts.not_after)).unwrap());
        assert!(c.raw_serial().len() <= 17 && c.raw_serial()[0] & 0x80 == 0);
        assert_eq!(c.signature_algorithm, c.tbs_certificate.signature);
        assert_eq!(certificate_spki(leaf.cert_der()).unwrap(), c.public_key().raw);
        assert_eq!(leaf.key().key_pair().unwrap().subject_public_key_info(), c.public_key().raw);
        assert_eq!(
            (certificate_version(leaf.cert_der()).unwrap(), certificate_version(ca.cert_der()).unwrap()),
            (1, 3)
        );
    }
}
