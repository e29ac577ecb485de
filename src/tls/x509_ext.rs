//! The values of the certificate extensions swtls knows, read strictly from DER (see
//! [`x509`](super::x509)). The legacy rules (`legacy.rs`) refuse a certificate with a known
//! extension whose value does not read here, and a critical extension not known here.
//!
//! Known: the extensions x509-parser parsed for certificates (its CRL-only ones, CRL
//! number, reason code, invalidity date and issuing distribution point, are unknown
//! here). subjectAltName, basicConstraints and extendedKeyUsage, which the rules use, read
//! as x509-parser read them, apart from its leniencies (bytes after the value, BER
//! booleans, non-ASCII IA5 strings); the others follow RFC 5280's structures, including
//! their SIZE (1..MAX). The SCT list is read as its TLS framing only.

use super::x509::{boolean, element, expect, only, rdn, small_uint, valid_bit_string, valid_oid, OID, SEQUENCE};

const BOOLEAN: u8 = 0x01;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const IA5_STRING: u8 = 0x16;

pub const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
pub const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
pub const EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
const ANY_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

pub(crate) type Check = fn(&[u8]) -> bool;

/// The known extensions (OBJECT IDENTIFIER content) and the check of their values.
pub(crate) const KNOWN: &[(&[u8], Check)] = &[
    (&[0x55, 0x1d, 0x0e], |v| only(v, OCTET_STRING).is_some()), // subjectKeyIdentifier
    (&[0x55, 0x1d, 0x0f], |v| only(v, BIT_STRING).is_some_and(valid_bit_string)), // keyUsage
    (SUBJECT_ALT_NAME, |v| subject_alt_names(v).is_some()),
    (&[0x55, 0x1d, 0x12], |v| only(v, SEQUENCE).and_then(general_names).is_some_and(|n| !n.is_empty())), // issuerAltName
    (BASIC_CONSTRAINTS, |v| basic_constraints_ca(v).is_some()),
    (&[0x55, 0x1d, 0x1e], name_constraints),
    (&[0x55, 0x1d, 0x1f], crl_distribution_points),
    (&[0x55, 0x1d, 0x20], certificate_policies),
    (&[0x55, 0x1d, 0x21], policy_mappings),
    (&[0x55, 0x1d, 0x23], authority_key_identifier),
    (&[0x55, 0x1d, 0x24], policy_constraints),
    (EXTENDED_KEY_USAGE, |v| extended_key_usage(v).is_some()),
    (&[0x55, 0x1d, 0x36], |v| only(v, INTEGER).and_then(small_uint).is_some()), // inhibitAnyPolicy
    (&[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01], access_descriptions),   // authorityInfoAccess
    (&[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x0b], access_descriptions),   // subjectInfoAccess
    (&[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02], sct_list),
    // Netscape certificate type (one byte of flags) and comment.
    (&[0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x42, 0x01, 0x01], |v| {
        only(v, BIT_STRING).is_some_and(|b| b.len() == 2 && valid_bit_string(b))
    }),
    (&[0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x42, 0x01, 0x0d], |v| only(v, IA5_STRING).is_some_and(ia5)),
];

/// For a known extension, whether its value reads; `None` for an unknown one.
pub fn well_formed(oid: &[u8], value: &[u8]) -> Option<bool> {
    KNOWN.iter().find(|(known, _)| *known == oid).map(|(_, check)| check(value))
}

/// The name of an extension in messages.
pub fn extension_name(oid: &[u8]) -> String {
    match oid {
        SUBJECT_ALT_NAME => "subjectAltName".into(),
        EXTENDED_KEY_USAGE => "extendedKeyUsage".into(),
        BASIC_CONSTRAINTS => "basicConstraints".into(),
        _ => format!("extension {}", super::x509::oid_text(oid)),
    }
}

/// A GeneralName, as far as swtls looks into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneralName<'a> {
    Dns(&'a str),
    /// An iPAddress's octets: 4 or 16 (an address), 8 or 32 (a name-constraints range).
    Ip(&'a [u8]),
    /// A well-formed name of another kind.
    Other,
}

fn ia5(bytes: &[u8]) -> bool {
    bytes.is_ascii()
}

/// One GeneralName element's tag and content. x400Address and ediPartyName, which no
/// certificate swtls meets carries, do not read.
fn general_name(tag: u8, content: &[u8]) -> Option<GeneralName<'_>> {
    match tag {
        // otherName: type-id and [0] EXPLICIT value.
        0xa0 => {
            let (oid, value) = expect(content, OID)?;
            (valid_oid(oid) && only(value, 0xa0).is_some()).then_some(GeneralName::Other)
        }
        // rfc822Name, uniformResourceIdentifier: IA5String.
        0x81 | 0x86 => ia5(content).then_some(GeneralName::Other),
        0x82 => ia5(content).then(|| std::str::from_utf8(content).ok().map(GeneralName::Dns)).flatten(),
        // directoryName: [4] EXPLICIT Name.
        0xa4 => only(content, SEQUENCE).and_then(super::x509::attributes).map(|_| GeneralName::Other),
        0x87 => matches!(content.len(), 4 | 8 | 16 | 32).then_some(GeneralName::Ip(content)),
        0x88 => valid_oid(content).then_some(GeneralName::Other),
        _ => None,
    }
}

/// The names in the content of a GeneralNames SEQUENCE (or of an IMPLICIT one).
fn general_names(mut content: &[u8]) -> Option<Vec<GeneralName<'_>>> {
    let mut names = Vec::new();
    while !content.is_empty() {
        let (tag, value, rest) = element(content)?;
        names.push(general_name(tag, value)?);
        content = rest;
    }
    Some(names)
}

/// A subjectAltName value's names (an empty list reads, as it did with x509-parser).
pub fn subject_alt_names(value: &[u8]) -> Option<Vec<GeneralName<'_>>> {
    general_names(only(value, SEQUENCE)?)
}

/// A basicConstraints value's cA flag: SEQUENCE { cA BOOLEAN DEFAULT FALSE,
/// pathLenConstraint INTEGER (0..MAX) OPTIONAL }.
pub fn basic_constraints_ca(value: &[u8]) -> Option<bool> {
    let mut rest = only(value, SEQUENCE)?;
    let mut ca = false;
    if let Some((flag, after)) = expect(rest, BOOLEAN) {
        (ca, rest) = (boolean(flag)?, after);
    }
    if !rest.is_empty() {
        small_uint(only(rest, INTEGER)?)?;
    }
    Some(ca)
}

/// An extendedKeyUsage value: whether it allows serverAuth, and whether it holds
/// anyExtendedKeyUsage. An empty list reads (and allows neither), as with x509-parser.
pub fn extended_key_usage(value: &[u8]) -> Option<(bool, bool)> {
    let mut rest = only(value, SEQUENCE)?;
    let (mut server_auth, mut any) = (false, false);
    while !rest.is_empty() {
        let (oid, after) = expect(rest, OID)?;
        if !valid_oid(oid) {
            return None;
        }
        server_auth |= oid == SERVER_AUTH;
        any |= oid == ANY_EXTENDED_KEY_USAGE;
        rest = after;
    }
    Some((server_auth, any))
}

/// A SEQUENCE SIZE (1..MAX) OF SEQUENCE (the whole `value`), each item's content checked.
fn list_of(value: &[u8], item: impl Fn(&[u8]) -> bool) -> bool {
    let Some(mut rest) = only(value, SEQUENCE) else { return false };
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        match expect(rest, SEQUENCE) {
            Some((content, after)) if item(content) => rest = after,
            _ => return false,
        }
    }
    true
}

/// Optional IMPLICIT elements in order, each with the check of its content; nothing else.
fn optional_fields(mut rest: &[u8], fields: &[(u8, Check)]) -> bool {
    for (tag, check) in fields {
        if let Some((content, after)) = expect(rest, *tag) {
            if !check(content) {
                return false;
            }
            rest = after;
        }
    }
    rest.is_empty()
}

fn non_empty_names(content: &[u8]) -> bool {
    general_names(content).is_some_and(|n| !n.is_empty())
}

/// AccessDescription ::= SEQUENCE { accessMethod OID, accessLocation GeneralName }
fn access_descriptions(value: &[u8]) -> bool {
    list_of(value, |content| {
        let Some((oid, rest)) = expect(content, OID) else { return false };
        let Some((tag, name, end)) = element(rest) else { return false };
        valid_oid(oid) && end.is_empty() && general_name(tag, name).is_some()
    })
}

/// PolicyInformation ::= SEQUENCE { policyIdentifier OID,
///     policyQualifiers SEQUENCE SIZE (1..MAX) OF PolicyQualifierInfo OPTIONAL }
/// PolicyQualifierInfo ::= SEQUENCE { policyQualifierId OID, qualifier ANY }
fn certificate_policies(value: &[u8]) -> bool {
    let qualifier = |content: &[u8]| {
        let Some((oid, rest)) = expect(content, OID) else { return false };
        valid_oid(oid) && element(rest).is_some_and(|(_, _, end)| end.is_empty())
    };
    list_of(value, |content| {
        let Some((oid, rest)) = expect(content, OID) else { return false };
        valid_oid(oid) && (rest.is_empty() || list_of(rest, qualifier))
    })
}

/// DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL,
///     reasons [1] ReasonFlags OPTIONAL, cRLIssuer [2] GeneralNames OPTIONAL }
/// DistributionPointName ::= CHOICE { fullName [0] GeneralNames,
///     nameRelativeToCRLIssuer [1] RelativeDistinguishedName }
fn crl_distribution_points(value: &[u8]) -> bool {
    fn point_name(content: &[u8]) -> bool {
        match element(content) {
            Some((0xa0, names, [])) => non_empty_names(names),
            Some((0xa1, set, [])) => rdn(set).is_some(),
            _ => false,
        }
    }
    list_of(value, |content| {
        optional_fields(content, &[(0xa0, point_name), (0x81, valid_bit_string), (0xa2, non_empty_names)])
    })
}

/// NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL,
///     excludedSubtrees [1] GeneralSubtrees OPTIONAL }
/// GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] INTEGER DEFAULT 0,
///     maximum [1] INTEGER OPTIONAL }
fn name_constraints(value: &[u8]) -> bool {
    fn subtrees(mut content: &[u8]) -> bool {
        if content.is_empty() {
            return false;
        }
        while !content.is_empty() {
            let Some((subtree, after)) = expect(content, SEQUENCE) else { return false };
            let Some((tag, name, rest)) = element(subtree) else { return false };
            let bound: Check = |c| small_uint(c).is_some();
            if general_name(tag, name).is_none() || !optional_fields(rest, &[(0x80, bound), (0x81, bound)]) {
                return false;
            }
            content = after;
        }
        true
    }
    only(value, SEQUENCE).is_some_and(|content| optional_fields(content, &[(0xa0, subtrees), (0xa1, subtrees)]))
}

/// PolicyMappings ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE { issuerDomainPolicy OID,
///     subjectDomainPolicy OID }
fn policy_mappings(value: &[u8]) -> bool {
    list_of(value, |content| {
        let Some((issuer, rest)) = expect(content, OID) else { return false };
        valid_oid(issuer) && only(rest, OID).is_some_and(valid_oid)
    })
}

/// PolicyConstraints ::= SEQUENCE { requireExplicitPolicy [0] INTEGER OPTIONAL,
///     inhibitPolicyMapping [1] INTEGER OPTIONAL }
fn policy_constraints(value: &[u8]) -> bool {
    let skip: Check = |c| small_uint(c).is_some();
    only(value, SEQUENCE).is_some_and(|content| optional_fields(content, &[(0x80, skip), (0x81, skip)]))
}

/// AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] OCTET STRING OPTIONAL,
///     authorityCertIssuer [1] GeneralNames OPTIONAL,
///     authorityCertSerialNumber [2] INTEGER OPTIONAL }
fn authority_key_identifier(value: &[u8]) -> bool {
    let names: Check = |c| general_names(c).is_some();
    let serial: Check = |c| !c.is_empty();
    only(value, SEQUENCE)
        .is_some_and(|content| optional_fields(content, &[(0x80, |_| true), (0xa1, names), (0x82, serial)]))
}

/// SignedCertificateTimestampList (RFC 6962): an OCTET STRING holding a TLS vector
/// (two-byte length) of non-empty TLS vectors.
fn sct_list(value: &[u8]) -> bool {
    fn vector(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
        let (len, rest) = bytes.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        (rest.len() >= len).then(|| rest.split_at(len))
    }
    let Some((mut list, [])) = only(value, OCTET_STRING).and_then(vector) else { return false };
    if list.is_empty() {
        return false;
    }
    while !list.is_empty() {
        match vector(list) {
            Some((sct, rest)) if !sct.is_empty() => list = rest,
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
#[path = "x509_ext_tests.rs"]
mod tests;
