//! Hooks for the crate's own tests (feature `test-hooks`, never in a shipped build).

use std::net::SocketAddr;

/// Makes the library resolve `host` to `addrs` (instead of asking DNS) until changed;
/// an empty list removes the override.
pub fn set_dns_override(host: &str, addrs: &[SocketAddr]) {
    let mut o = crate::connect::DNS_OVERRIDE.lock().unwrap_or_else(|p| p.into_inner());
    o.retain(|(h, _)| h != host);
    if !addrs.is_empty() {
        o.push((host.to_string(), addrs.to_vec()));
    }
}

/// Fuzzing entry points: each feeds arbitrary bytes to one parser and must never panic,
/// hang or crash, whatever it is given (`fuzz/`, cargo-fuzz).
pub mod fuzz {
    use crate::config::{Config, KEYS};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use std::path::Path;

    /// Lines of `key=value` (or `index=value`, picking a known key) to `Config::set`.
    pub fn config_set(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let mut config = Config::default();
        for line in text.lines() {
            let (k, v) = line.split_once('=').unwrap_or((line, ""));
            let key = match k.parse::<usize>() {
                Ok(i) => KEYS[i % KEYS.len()].name,
                Err(_) => k,
            };
            let _ = config.set(key, v);
        }
    }

    /// The environment loader with every variable taken from `data` (one value per line,
    /// in key-table order; raw bytes, so invalid UTF-8 is exercised too).
    pub fn env_loader(data: &[u8]) {
        let values: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
        let mut config = Config::default();
        let _ = config.load_env_with(|name| {
            let i = KEYS.iter().position(|k| k.env == name)?;
            values.get(i).filter(|v| !v.is_empty()).map(|v| os_string(v))
        });
    }

    #[cfg(unix)]
    fn os_string(v: &[u8]) -> std::ffi::OsString {
        std::os::unix::ffi::OsStringExt::from_vec(v.to_vec())
    }

    #[cfg(not(unix))]
    fn os_string(v: &[u8]) -> std::ffi::OsString {
        String::from_utf8_lossy(v).into_owned().into()
    }

    /// The backend list parser.
    pub fn backends(data: &[u8]) {
        let _ = crate::backend::parse_backends(&String::from_utf8_lossy(data));
    }

    /// PEM or DER certificates and private keys, detected by content.
    pub fn cert_and_key_files(data: &[u8]) {
        let path = Path::new("fuzz-input");
        let _ = crate::tls::parse_certs(data.to_vec(), path, "agent.ssl_trusted_ca_path");
        if let Ok(key) = crate::tls::parse_private_key(data.to_vec(), path, "agent.ssl_key_path") {
            let _ = crate::tls::provider().key_provider.load_private_key(key);
        }
    }

    /// The legacy-certificate verifier's parsing: `data` as the leaf, checked under itself
    /// as the CA when it parses as one, for the name `localhost`.
    pub fn legacy_verifier(data: &[u8]) {
        let leaf = CertificateDer::from(data.to_vec());
        let anchors: Vec<_> = webpki::anchor_from_trusted_cert(&leaf).map(|a| a.to_owned()).into_iter().collect();
        let name = ServerName::try_from("localhost").expect("a valid name");
        let algorithms = crate::tls::provider().signature_verification_algorithms;
        let _ = crate::tls::legacy::verify(&leaf, &name, UnixTime::now(), &anchors, &algorithms);
    }

    /// The fields `tls::x509` reads from a certificate, for the fuzz target to compare with
    /// another reader.
    #[derive(Debug, PartialEq, Eq)]
    pub struct X509Fields {
        pub version: u32,
        pub issuer: Vec<u8>,
        pub subject: Vec<u8>,
        pub not_before: i64,
        pub not_after: i64,
        pub spki: Vec<u8>,
        pub unique_ids: bool,
        /// (OBJECT IDENTIFIER content, critical, value)
        pub extensions: Vec<(Vec<u8>, bool, Vec<u8>)>,
    }

    /// The certificate reader (`tls::x509`, `tls::x509_ext`): `data` as a certificate, and
    /// after its first byte as a Name and as the value of the known extension that byte
    /// picks. Checks what must hold of whatever reads; returns the fields of a certificate.
    pub fn x509_reader(data: &[u8]) -> Option<X509Fields> {
        use crate::tls::{x509, x509_ext};
        if let Some((pick, rest)) = data.split_first() {
            let _ = (x509::name_text(rest), x509::common_names(rest));
            let (oid, _) = x509_ext::KNOWN[usize::from(*pick) % x509_ext::KNOWN.len()];
            let well_formed = x509_ext::well_formed(oid, rest);
            assert!(well_formed.is_some());
            let read = match oid {
                x509_ext::SUBJECT_ALT_NAME => x509_ext::subject_alt_names(rest).is_some(),
                x509_ext::BASIC_CONSTRAINTS => x509_ext::basic_constraints_ca(rest).is_some(),
                x509_ext::EXTENDED_KEY_USAGE => x509_ext::extended_key_usage(rest).is_some(),
                _ => well_formed == Some(true),
            };
            assert_eq!(well_formed, Some(read));
        }
        let cert = x509::Certificate::parse(data)?;
        let within = |part: &[u8]| data.as_ptr_range().contains(&part.as_ptr()) && part.len() <= data.len();
        assert!(within(cert.issuer) && within(cert.subject) && within(cert.spki));
        assert!(cert.not_before >= -62_167_219_200 && cert.not_after < 253_402_300_800); // years 0..=9999
        for name in [cert.issuer, cert.subject] {
            let _ = (x509::name_text(name), x509::common_names(name));
        }
        for ext in &cert.extensions {
            let _ = (x509_ext::well_formed(ext.oid, ext.value), x509_ext::extension_name(ext.oid));
        }
        Some(X509Fields {
            version: cert.version,
            issuer: cert.issuer.to_vec(),
            subject: cert.subject.to_vec(),
            not_before: cert.not_before,
            not_after: cert.not_after,
            spki: cert.spki.to_vec(),
            unique_ids: cert.unique_ids,
            extensions: cert.extensions.iter().map(|e| (e.oid.to_vec(), e.critical, e.value.to_vec())).collect(),
        })
    }
}
