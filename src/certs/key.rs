//! Private keys: generated in process, kept as PKCS#8, written as PKCS#8, PKCS#1 or SEC1.

use super::files::{pem_encode, write_secret};
use super::{der, CertError as Error, KeyAlg, KeyFormat};
use rcgen::KeyPair;
use rustls_pki_types::PrivatePkcs8KeyDer;
use std::path::Path;

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// A private key, kept as PKCS#8 DER, convertible to the other encodings.
#[derive(Clone)]
pub struct PrivateKey {
    pub(super) alg: KeyAlg,
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

    pub(super) fn key_pair(&self) -> Result<KeyPair, Error> {
        KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(self.pkcs8.as_slice()), self.alg.rcgen_alg())
            .map_err(|e| Error::new(format!("loading a {:?} key: {e}", self.alg)))
    }
}
