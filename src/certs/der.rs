//! A tiny DER reader/writer: just enough to take PKCS#8 keys apart (for SEC1 and
//! PKCS#1 output), to read a certificate's subject, and to build X.509 v1
//! certificates. Not a general ASN.1 library.

use super::CertError as Error;

pub(crate) const TAG_INTEGER: u8 = 0x02;
pub(crate) const TAG_BIT_STRING: u8 = 0x03;
pub(crate) const TAG_OCTET_STRING: u8 = 0x04;
pub(crate) const TAG_OID: u8 = 0x06;
pub(crate) const TAG_UTF8_STRING: u8 = 0x0c;
pub(crate) const TAG_UTC_TIME: u8 = 0x17;
pub(crate) const TAG_GENERALIZED_TIME: u8 = 0x18;
pub(crate) const TAG_SEQUENCE: u8 = 0x30;
pub(crate) const TAG_SET: u8 = 0x31;
pub(crate) const TAG_CONTEXT_0: u8 = 0xa0;

/// One DER element: its tag, its content, and the whole encoding (tag + length + content).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads the element at the start of `input` (with the library's DER reader,
/// `tls::der::next`); returns it and the rest.
pub(crate) fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), Error> {
    if input.first().is_some_and(|t| t & 0x1f == 0x1f) {
        return Err(Error::new("malformed DER: multi-byte tags are not supported"));
    }
    let (tag, content, rest) = crate::tls::der::next(input)
        .ok_or_else(|| Error::new("malformed DER: truncated element or unsupported length encoding"))?;
    Ok((Tlv { tag, content, raw: &input[..input.len() - rest.len()] }, rest))
}

/// Reads one element that must fill `input` exactly and carry `tag`.
pub(crate) fn read_single(input: &[u8], tag: u8) -> Result<Tlv<'_>, Error> {
    let (tlv, rest) = read_tlv(input)?;
    if tlv.tag != tag {
        return Err(Error::new(format!("malformed DER: expected tag 0x{tag:02x}, found 0x{:02x}", tlv.tag)));
    }
    if !rest.is_empty() {
        return Err(Error::new("malformed DER: trailing data"));
    }
    Ok(tlv)
}

/// Splits the content of a constructed element into its children.
pub(crate) fn children(mut content: &[u8]) -> Result<Vec<Tlv<'_>>, Error> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = read_tlv(content)?;
        out.push(tlv);
        content = rest;
    }
    Ok(out)
}

/// Encodes one element.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// Encodes a constructed element from already-encoded children.
pub(crate) fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// Encodes a positive INTEGER from big-endian magnitude bytes.
pub(crate) fn positive_integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = {
        let skip = magnitude.iter().take_while(|b| **b == 0).count();
        &magnitude[skip.min(magnitude.len().saturating_sub(1))..]
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.is_empty() || trimmed[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(TAG_INTEGER, &content)
}

/// What a PKCS#8 `PrivateKeyInfo` holds.
pub(crate) struct Pkcs8Parts<'a> {
    /// The algorithm OID (content bytes, without tag and length).
    pub algorithm_oid: &'a [u8],
    /// The algorithm parameters element (raw), if any.
    pub parameters: Option<Tlv<'a>>,
    /// The content of the `privateKey` OCTET STRING.
    pub private_key: &'a [u8],
}

pub(crate) fn parse_pkcs8(der: &[u8]) -> Result<Pkcs8Parts<'_>, Error> {
    let outer = read_single(der, TAG_SEQUENCE)?;
    let fields = children(outer.content)?;
    if fields.len() < 3
        || fields[0].tag != TAG_INTEGER
        || fields[1].tag != TAG_SEQUENCE
        || fields[2].tag != TAG_OCTET_STRING
    {
        return Err(Error::new("malformed PKCS#8 PrivateKeyInfo"));
    }
    let alg = children(fields[1].content)?;
    if alg.is_empty() || alg[0].tag != TAG_OID {
        return Err(Error::new("malformed PKCS#8 AlgorithmIdentifier"));
    }
    Ok(Pkcs8Parts { algorithm_oid: alg[0].content, parameters: alg.get(1).copied(), private_key: fields[2].content })
}

/// Returns the raw DER of field `index` of a certificate's TBSCertificate, not
/// counting the optional version: 0 serialNumber, 1 signature, 2 issuer,
/// 3 validity, 4 subject, 5 subjectPublicKeyInfo.
fn tbs_field(cert_der: &[u8], index: usize, what: &str) -> Result<Vec<u8>, Error> {
    let cert = read_single(cert_der, TAG_SEQUENCE)?;
    let parts = children(cert.content)?;
    let tbs = parts
        .first()
        .filter(|t| t.tag == TAG_SEQUENCE)
        .ok_or_else(|| Error::new("malformed certificate: no TBSCertificate"))?;
    let mut fields = children(tbs.content)?;
    if fields.first().map(|f| f.tag) == Some(TAG_CONTEXT_0) {
        fields.remove(0); // explicit version
    }
    fields
        .get(index)
        .filter(|t| t.tag == TAG_SEQUENCE)
        .map(|t| t.raw.to_vec())
        .ok_or_else(|| Error::new(format!("malformed certificate: no {what}")))
}

/// Returns the raw DER of the subject Name of a certificate.
pub(crate) fn certificate_subject(cert_der: &[u8]) -> Result<Vec<u8>, Error> {
    tbs_field(cert_der, 4, "subject")
}

/// The SubjectPublicKeyInfo (DER) of a DER certificate, read without judging the
/// certificate (works for v1 certificates too).
pub fn certificate_spki(cert_der: &[u8]) -> Result<Vec<u8>, Error> {
    tbs_field(cert_der, 5, "subjectPublicKeyInfo")
}

/// The X.509 version (1 or 3) of a DER certificate (as written: 0-based + 1).
pub fn certificate_version(cert_der: &[u8]) -> Result<u8, Error> {
    let cert = read_single(cert_der, TAG_SEQUENCE)?;
    let parts = children(cert.content)?;
    let tbs = parts.first().ok_or_else(|| Error::new("malformed certificate"))?;
    let fields = children(tbs.content)?;
    match fields.first() {
        Some(f) if f.tag == TAG_CONTEXT_0 => {
            let v = read_single(f.content, TAG_INTEGER)?;
            Ok(v.content.last().copied().unwrap_or(0) + 1)
        }
        _ => Ok(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 65535, 65536, 300_000] {
            let content = vec![7u8; len];
            let enc = tlv(TAG_OCTET_STRING, &content);
            let (t, rest) = read_tlv(&enc).unwrap();
            assert_eq!(t.tag, TAG_OCTET_STRING);
            assert_eq!(t.content.len(), len);
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn integers() {
        assert_eq!(positive_integer(&[0x80]), vec![2, 2, 0, 0x80]);
        assert_eq!(positive_integer(&[0, 0, 5]), vec![2, 1, 5]);
        assert_eq!(positive_integer(&[0]), vec![2, 1, 0]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(read_tlv(&[0x30]).is_err());
        assert!(read_tlv(&[0x30, 5, 1]).is_err());
        assert!(read_tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_err());
    }
}
