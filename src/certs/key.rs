//! Private keys: generated in process, kept as PKCS#8, written as PKCS#8, PKCS#1 or SEC1.

use super::files::{pem_encode, write_secret};
use super::{CertError as Error, KeyAlg, KeyFormat};
use pkcs8::der::Encode;
use pkcs8::PrivateKeyInfo;
use rcgen::KeyPair;
use rustls_pki_types::PrivatePkcs8KeyDer;
use sec1::{EcParameters, EcPrivateKey};
use std::path::Path;

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
                let info = self.pkcs8_info()?;
                if info.algorithm.oid != pkcs1::ALGORITHM_OID {
                    return Err(Error::new(format!("a {:?} key cannot be written as PKCS#1 (RSA only)", self.alg)));
                }
                // The PKCS#8 privateKey octets of an RSA key are the RSAPrivateKey.
                pkcs1::RsaPrivateKey::try_from(info.private_key).map_err(malformed("RSAPrivateKey"))?;
                Ok(info.private_key.to_vec())
            }
            KeyFormat::Sec1 => {
                let info = self.pkcs8_info()?;
                if info.algorithm.oid != sec1::ALGORITHM_OID {
                    return Err(Error::new(format!("a {:?} key cannot be written as SEC1 (ECDSA only)", self.alg)));
                }
                let curve = info.algorithm.parameters_oid().map_err(|_| Error::new("EC key without a named curve"))?;
                // PKCS#8 names the curve in its AlgorithmIdentifier; SEC1 names it in the key.
                let mut key = EcPrivateKey::try_from(info.private_key).map_err(malformed("ECPrivateKey"))?;
                key.parameters.get_or_insert(EcParameters::NamedCurve(curve));
                key.to_der().map_err(malformed("ECPrivateKey"))
            }
        }
    }

    fn pkcs8_info(&self) -> Result<PrivateKeyInfo<'_>, Error> {
        PrivateKeyInfo::try_from(self.pkcs8.as_slice()).map_err(malformed("PKCS#8 PrivateKeyInfo"))
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

fn malformed<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::new(format!("malformed {what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec1_names_the_curve_and_pkcs1_is_the_inner_key() {
        for alg in [KeyAlg::EcdsaP256, KeyAlg::EcdsaP384] {
            let key = PrivateKey::generate(alg).unwrap();
            let info = key.pkcs8_info().unwrap();
            let sec1 = key.to_der(KeyFormat::Sec1).unwrap();
            let ec = EcPrivateKey::try_from(sec1.as_slice()).unwrap();
            assert_eq!(ec.parameters, Some(EcParameters::NamedCurve(info.algorithm.parameters_oid().unwrap())));
            let inner = EcPrivateKey::try_from(info.private_key).unwrap();
            assert_eq!((ec.private_key, ec.public_key), (inner.private_key, inner.public_key));
        }
        let rsa = PrivateKey::generate(KeyAlg::Rsa2048).unwrap();
        assert_eq!(rsa.to_der(KeyFormat::Pkcs1).unwrap(), rsa.pkcs8_info().unwrap().private_key);
        assert!(rsa.to_der(KeyFormat::Sec1).unwrap_err().message().contains("ECDSA only"));
        assert!(PrivateKey::generate(KeyAlg::Ed25519).unwrap().to_der(KeyFormat::Pkcs1).is_err());
    }
}
