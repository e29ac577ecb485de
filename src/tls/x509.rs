//! A strict, minimal X.509 certificate reader: exactly the fields the legacy-certificate
//! rules (`legacy.rs`), the client identity (`verify.rs`) and the key checks (`material.rs`)
//! use, read from DER with [`der::next`] and nothing else (issue 15: x509-parser and its
//! ASN.1 stack were most of the shipped library's certificate code).
//!
//! Strict on purpose: a certificate with anything this reader does not understand does not
//! parse, and the callers treat that as a rejection. Compared with x509-parser, which the
//! library used before, it also refuses bytes left over inside any structure, high tag
//! numbers, times other than DER's `YYMMDDhhmmssZ` / `YYYYMMDDhhmmssZ`, BER booleans and
//! extension wrappers in another class than `[3]`. Extension values are read in
//! [`x509_ext`](super::x509_ext).

use super::der;
use time::{Date, Month, PrimitiveDateTime, Time};

const BOOLEAN: u8 = 0x01;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
pub(crate) const OID: u8 = 0x06;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// One DER element as [`der::next`] reads it, refusing the multi-byte (high-number) tag
/// form, which nothing read here uses.
pub(crate) fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    der::next(input).filter(|(tag, _, _)| tag & 0x1f != 0x1f)
}

/// The content of the element with tag `tag` at the start of `input`, and what follows.
pub(crate) fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, content, rest) = element(input)?;
    (t == tag).then_some((content, rest))
}

/// The content of `input`, which must be exactly one element with tag `tag`.
pub(crate) fn only(input: &[u8], tag: u8) -> Option<&[u8]> {
    let (content, rest) = expect(input, tag)?;
    rest.is_empty().then_some(content)
}

/// The whole element (tag and length included) with tag `tag`, its content, and the rest.
fn whole(input: &[u8], tag: u8) -> Option<(&[u8], &[u8], &[u8])> {
    let (content, rest) = expect(input, tag)?;
    Some((&input[..input.len() - rest.len()], content, rest))
}

/// An OBJECT IDENTIFIER's content: not empty, every sub-identifier in its shortest form
/// and complete.
pub(crate) fn valid_oid(content: &[u8]) -> bool {
    let starts_ok = content.iter().enumerate().all(|(i, b)| *b != 0x80 || (i > 0 && content[i - 1] & 0x80 != 0));
    content.last().is_some_and(|last| last & 0x80 == 0) && starts_ok
}

/// An INTEGER's content as a non-negative number that fits in a `u32`, in its shortest form.
pub(crate) fn small_uint(content: &[u8]) -> Option<u32> {
    let (first, rest) = content.split_first()?;
    let negative = first & 0x80 != 0;
    let padded = *first == 0 && rest.first().is_some_and(|b| b & 0x80 == 0);
    if negative || padded || rest.len() > 4 {
        return None;
    }
    let value = content.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    u32::try_from(value).ok()
}

/// A BIT STRING's content in DER: the count of unused bits (0 when there are no bits), and
/// those bits zero.
pub(crate) fn valid_bit_string(content: &[u8]) -> bool {
    match content {
        [0] => true,
        [unused, .., last] => *unused <= 7 && last & ((1u8 << unused) - 1) == 0,
        _ => false,
    }
}

/// A DER BOOLEAN's content. FALSE is accepted where DER would omit it (a DEFAULT FALSE
/// written out), as x509-parser and webpki accept it; any other byte than 0x00 and 0xff
/// is not.
pub(crate) fn boolean(content: &[u8]) -> Option<bool> {
    match content {
        [0x00] => Some(false),
        [0xff] => Some(true),
        _ => None,
    }
}

/// An OBJECT IDENTIFIER's content in dotted form (for messages).
pub fn oid_text(content: &[u8]) -> String {
    let mut arcs: Vec<u128> = Vec::new();
    let mut value: u128 = 0;
    for b in content {
        if value >> 120 != 0 {
            return content.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
        }
        value = (value << 7) | u128::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        }
    }
    let mut out = Vec::with_capacity(arcs.len() + 1);
    if let Some(first) = arcs.first() {
        let top = (*first / 40).min(2);
        out.push(top.to_string());
        out.push((*first - top * 40).to_string());
    }
    out.extend(arcs.iter().skip(1).map(u128::to_string));
    out.join(".")
}

/// An AlgorithmIdentifier's content: an OBJECT IDENTIFIER and at most one parameter element.
fn valid_algorithm(content: &[u8]) -> bool {
    let Some((oid, rest)) = expect(content, OID) else { return false };
    valid_oid(oid) && (rest.is_empty() || element(rest).is_some_and(|(_, _, end)| end.is_empty()))
}

/// One extension: its OBJECT IDENTIFIER (content), whether it is critical, and the content
/// of its OCTET STRING (the extension's own DER value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    pub oid: &'a [u8],
    pub critical: bool,
    pub value: &'a [u8],
}

/// The fields of a certificate that swtls reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate<'a> {
    /// The version field as written: 0 for v1 (also when absent), 1 for v2, 2 for v3.
    pub version: u32,
    /// The issuer Name, the whole element.
    pub issuer: &'a [u8],
    /// The subject Name, the whole element.
    pub subject: &'a [u8],
    /// notBefore and notAfter, in seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// The SubjectPublicKeyInfo, the whole element.
    pub spki: &'a [u8],
    /// Whether an issuerUniqueID or subjectUniqueID is present.
    pub unique_ids: bool,
    /// The extensions, in certificate order (an empty `[3]` list reads as none).
    pub extensions: Vec<Extension<'a>>,
}

impl<'a> Certificate<'a> {
    /// Reads a DER certificate; `None` for anything this reader does not understand.
    pub fn parse(der: &'a [u8]) -> Option<Certificate<'a>> {
        let signed = der::split_certificate(der)?;
        if !valid_algorithm(signed.signature_alg) {
            return None;
        }
        let mut tbs = only(signed.tbs, SEQUENCE)?;
        let mut version = 0;
        if let Some((content, rest)) = expect(tbs, 0xa0) {
            version = small_uint(only(content, INTEGER)?)?;
            tbs = rest;
        }
        let (serial, rest) = expect(tbs, INTEGER)?;
        if serial.is_empty() {
            return None;
        }
        let (algorithm, rest) = expect(rest, SEQUENCE)?;
        if !valid_algorithm(algorithm) {
            return None;
        }
        let (issuer, issuer_content, rest) = whole(rest, SEQUENCE)?;
        attributes(issuer_content)?;
        let (validity, rest) = expect(rest, SEQUENCE)?;
        let (not_before, after) = time(validity)?;
        let (not_after, end) = time(after)?;
        if !end.is_empty() {
            return None;
        }
        let (subject, subject_content, rest) = whole(rest, SEQUENCE)?;
        attributes(subject_content)?;
        let (spki, spki_content, mut rest) = whole(rest, SEQUENCE)?;
        let (key_algorithm, _) = der::split_spki(spki_content)?;
        if !valid_algorithm(key_algorithm) {
            return None;
        }
        let mut unique_ids = false;
        for tag in [0x81, 0x82] {
            if let Some((bits, after)) = expect(rest, tag) {
                if !valid_bit_string(bits) {
                    return None;
                }
                (unique_ids, rest) = (true, after);
            }
        }
        let mut extensions = Vec::new();
        if !rest.is_empty() {
            let mut list = only(only(rest, 0xa3)?, SEQUENCE)?;
            while !list.is_empty() {
                let (ext, after) = expect(list, SEQUENCE)?;
                extensions.push(extension(ext)?);
                list = after;
            }
        }
        Some(Certificate { version, issuer, subject, not_before, not_after, spki, unique_ids, extensions })
    }

    /// The first extension with OBJECT IDENTIFIER `oid` (content).
    pub fn extension(&self, oid: &[u8]) -> Option<&Extension<'a>> {
        self.extensions.iter().find(|e| e.oid == oid)
    }
}

/// Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
fn extension(content: &[u8]) -> Option<Extension<'_>> {
    let (oid, mut rest) = expect(content, OID)?;
    if !valid_oid(oid) {
        return None;
    }
    let mut critical = false;
    if let Some((flag, after)) = expect(rest, BOOLEAN) {
        (critical, rest) = (boolean(flag)?, after);
    }
    let value = only(rest, OCTET_STRING)?;
    Some(Extension { oid, critical, value })
}

/// A Time (UTCTime or GeneralizedTime, DER forms only) as seconds since the Unix epoch,
/// and what follows it.
fn time(input: &[u8]) -> Option<(i64, &[u8])> {
    let (tag, content, rest) = element(input)?;
    let digit = |i: usize| content.get(i).filter(|b| b.is_ascii_digit()).map(|b| u16::from(b - b'0'));
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    let (year, at) = match (tag, content.len()) {
        (UTC_TIME, 13) => {
            let yy = two(0)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (GENERALIZED_TIME, 15) => (two(0)? * 100 + two(2)?, 4),
        _ => return None,
    };
    if content.last() != Some(&b'Z') {
        return None;
    }
    let field = |n: usize| two(at + 2 * n).and_then(|v| u8::try_from(v).ok());
    let date = Date::from_calendar_date(i32::from(year), Month::try_from(field(0)?).ok()?, field(1)?).ok()?;
    let clock = Time::from_hms(field(2)?, field(3)?, field(4)?).ok()?;
    Some((PrimitiveDateTime::new(date, clock).assume_utc().unix_timestamp(), rest))
}

/// One attribute of a Name: its type (OBJECT IDENTIFIER content), the tag of its value
/// and the value's content.
pub(crate) type Attribute<'a> = (&'a [u8], u8, &'a [u8]);

/// The attributes of a Name's content, RDN by RDN.
pub(crate) fn attributes(name_content: &[u8]) -> Option<Vec<Vec<Attribute<'_>>>> {
    let mut rdns = Vec::new();
    let mut rest = name_content;
    while !rest.is_empty() {
        let (set, after) = expect(rest, SET)?;
        rdns.push(rdn(set)?);
        rest = after;
    }
    Some(rdns)
}

/// The attributes of one RelativeDistinguishedName (the content of its SET): at least one.
pub(crate) fn rdn(mut set: &[u8]) -> Option<Vec<Attribute<'_>>> {
    let mut attributes = Vec::new();
    while !set.is_empty() {
        let (atav, next) = expect(set, SEQUENCE)?;
        let (oid, value) = expect(atav, OID)?;
        let (tag, content, end) = element(value)?;
        if !valid_oid(oid) || !end.is_empty() {
            return None;
        }
        attributes.push((oid, tag, content));
        set = next;
    }
    (!attributes.is_empty()).then_some(attributes)
}

const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// The subject CN values that are text, in order: NumericString, PrintableString,
/// UTF8String and IA5String with UTF-8 content, as x509-parser's `as_str` read them (other
/// string types, TeletexString and BMPString among them, are skipped, not errors). `name`
/// is the whole Name element.
pub fn common_names(name: &[u8]) -> Vec<&str> {
    let rdns = only(name, SEQUENCE).and_then(attributes).unwrap_or_default();
    rdns.iter()
        .flatten()
        .filter(|(oid, tag, _)| *oid == COMMON_NAME && matches!(tag, 0x12 | 0x13 | 0x0c | 0x16))
        .filter_map(|(_, _, value)| std::str::from_utf8(value).ok())
        .collect()
}

/// The short names x509-parser's Name display used (its abbreviations, then its OID
/// registry's short names for the attribute types that appear in names).
const ATTRIBUTE_NAMES: &[(&[u8], &str)] = &[
    (&[0x55, 0x04, 0x03], "CN"),
    (&[0x55, 0x04, 0x06], "C"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x0a], "O"),
    (&[0x55, 0x04, 0x0b], "OU"),
    (&[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19], "DC"),
    (&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01], "Email"),
    (&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x02], "unstructuredName"),
    (&[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01], "uid"),
    (&[0x55, 0x04, 0x00], "objectClass"),
    (&[0x55, 0x04, 0x01], "aliasedEntryName"),
    (&[0x55, 0x04, 0x02], "knowledgeInformation"),
    (&[0x55, 0x04, 0x04], "surname"),
    (&[0x55, 0x04, 0x05], "serialNumber"),
    (&[0x55, 0x04, 0x09], "streetAddress"),
    (&[0x55, 0x04, 0x0c], "title"),
    (&[0x55, 0x04, 0x0d], "description"),
    (&[0x55, 0x04, 0x0e], "searchGuide"),
    (&[0x55, 0x04, 0x0f], "businessCategory"),
    (&[0x55, 0x04, 0x10], "postalAddress"),
    (&[0x55, 0x04, 0x11], "postalCode"),
    (&[0x55, 0x04, 0x29], "name"),
    (&[0x55, 0x04, 0x2a], "givenName"),
    (&[0x55, 0x04, 0x2b], "initials"),
    (&[0x55, 0x04, 0x2c], "generationQualifier"),
    (&[0x55, 0x04, 0x2d], "uniqueIdentifier"),
    (&[0x55, 0x04, 0x2e], "dnQualifier"),
];

/// A Name (the whole element) as text in x509-parser's display form, which messages have
/// always shown: `C=FR, O=Example, CN=a + CN=b`. Values of string types are shown as text
/// (BMPString decoded from UTF-16), others in upper-case hex; an attribute type without a
/// short name as `OID(2.5.4.97)`. A name that does not read (or a string that is not
/// UTF-8) shows as x509-parser showed it: `<X509Error: Invalid X.509 name>`.
pub fn name_text(name: &[u8]) -> String {
    let text = only(name, SEQUENCE).and_then(attributes).and_then(|rdns| {
        let rdns = rdns.iter().map(|rdn| {
            let attrs = rdn.iter().map(|(oid, tag, value)| {
                let key = ATTRIBUTE_NAMES
                    .iter()
                    .find(|(known, _)| known == oid)
                    .map(|(_, short)| (*short).to_string())
                    .unwrap_or_else(|| format!("OID({})", oid_text(oid)));
                Some(format!("{key}={}", value_text(*tag, value)?))
            });
            attrs.collect::<Option<Vec<_>>>().map(|a| a.join(" + "))
        });
        rdns.collect::<Option<Vec<_>>>().map(|r| r.join(", "))
    });
    text.unwrap_or_else(|| "<X509Error: Invalid X.509 name>".into())
}

/// An attribute value as text. As in x509-parser, the type is told by the tag number
/// alone, whatever the class and form.
fn value_text(tag: u8, value: &[u8]) -> Option<String> {
    match tag & 0x1f {
        // Numeric, Visible, Printable, General, ObjectDescriptor, Graphic, Teletex,
        // Videotex, UTF8 and IA5 strings.
        0x12 | 0x1a | 0x13 | 0x1b | 0x07 | 0x19 | 0x14 | 0x15 | 0x0c | 0x16 => {
            std::str::from_utf8(value).ok().map(String::from)
        }
        0x1e => {
            if !value.len().is_multiple_of(2) {
                return None;
            }
            let units = value.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units).collect::<Result<String, _>>().ok()
        }
        _ => Some(value.iter().map(|b| format!("{b:02X}")).collect()),
    }
}

#[cfg(test)]
#[path = "x509_tests.rs"]
pub(crate) mod tests;
