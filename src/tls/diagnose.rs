//! Turning TLS and transport failures into errors that say, in plain words, what went wrong
//! and how to fix it: a rustls error ([`classify_tls_error`]), and a connection that failed or
//! closed, told by the first bytes the server sent ([`connection_failure`]).

use crate::error::{Error, Status};
use rustls::{AlertDescription, CertificateError};

/// What is known about a connection when its handshake or first exchange fails.
#[derive(Debug, Clone, Default)]
pub struct HandshakeContext {
    /// `host:port` of the backend.
    pub backend: String,
    /// The name the certificate was checked against (address host or override).
    pub server_name: String,
    /// Where trust came from, in words.
    pub trust: String,
    pub had_client_cert: bool,
    pub asked_without_cert: bool,
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC` (with the `time`
/// crate's calendar; its formatting machinery is not needed for one fixed layout).
pub fn format_unix(secs: u64) -> String {
    match i64::try_from(secs).ok().and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok()) {
        Some(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        None => format!("{secs} s after 1970 (beyond year 9999)"),
    }
}

const CLIENT_CERT_HINT: &str = "put client.crt and client.pem in the ca folder or set \
    agent.ssl_cert_chain_path and agent.ssl_key_path";

/// Classifies a rustls error seen while connecting to or talking with a backend.
pub fn classify_tls_error(err: &rustls::Error, ctx: &HandshakeContext) -> Error {
    let b = &ctx.backend;
    let cert_error =
        |status: Status, what: String| Error::new(status, format!("TLS handshake with {b} failed: {what}"));
    match err {
        rustls::Error::InvalidCertificate(ce) => match ce {
            CertificateError::UnknownIssuer => cert_error(
                Status::TlsUnknownIssuer,
                format!(
                    "the server's certificate was not issued by a CA in {} (unknown issuer); put the CA \
                     that signed the backend's certificate in ca.crt (agent.ssl_trusted_ca_path)",
                    ctx.trust
                ),
            ),
            CertificateError::BadSignature => cert_error(
                Status::TlsUnknownIssuer,
                format!(
                    "the server's certificate names a CA in {} as its issuer, but its signature does not verify \
                     with that CA's key: it was issued by a different CA with the same name (common with \
                     certificates made by a script with default names), or it was altered; put the CA that \
                     really signed the backend's certificate in ca.crt",
                    ctx.trust
                ),
            ),
            CertificateError::NotValidForName => cert_error(
                Status::TlsNameMismatch,
                format!(
                    "the server's certificate is not valid for the name '{}'; reissue it with that name \
                     in subjectAltName or set agent.ssl_target_name_override",
                    ctx.server_name
                ),
            ),
            CertificateError::NotValidForNameContext { expected, presented } => cert_error(
                Status::TlsNameMismatch,
                format!(
                    "the server's certificate is not valid for the name '{}'; it is valid for: {}. \
                     Connect using one of those names, set agent.ssl_target_name_override, or reissue \
                     the certificate with '{}' in subjectAltName",
                    expected.to_str(),
                    if presented.is_empty() { "no name at all (no subjectAltName)".to_string() } else { presented.join(", ") },
                    expected.to_str()
                ),
            ),
            CertificateError::Expired => cert_error(Status::TlsCertificateExpired, "the server's certificate has expired".into()),
            CertificateError::ExpiredContext { time, not_after } => cert_error(
                Status::TlsCertificateExpired,
                format!(
                    "the server's certificate expired at {} (now {}); renew it on the backend",
                    format_unix(not_after.as_secs()),
                    format_unix(time.as_secs())
                ),
            ),
            CertificateError::NotValidYet => cert_error(Status::TlsCertificateExpired, "the server's certificate is not valid yet".into()),
            CertificateError::NotValidYetContext { time, not_before } => cert_error(
                Status::TlsCertificateExpired,
                format!(
                    "the server's certificate is not valid before {} (now {}); check the clocks",
                    format_unix(not_before.as_secs()),
                    format_unix(time.as_secs())
                ),
            ),
            CertificateError::Other(_) if super::legacy::refusal(err).is_some() => {
                cert_error(Status::TlsBadCertificate, super::legacy::refusal(err).unwrap_or_default().to_string())
            }
            _ if super::legacy::is_unsupported_version(err) => cert_error(
                Status::TlsBadCertificate,
                format!(
                    "the server's certificate is an old X.509 v1 certificate (as SkyWalking's key-generation \
                     script makes); swtls accepts those only when the CA that signed it is configured in ca.crt \
                     (agent.ssl_trusted_ca_path), never with {}. Configure that CA, or reissue the certificate \
                     with subjectAltName (`swtls certs`)",
                    ctx.trust
                ),
            ),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => cert_error(
                Status::TlsBadCertificate,
                "the server's certificate is not meant for TLS servers (its extendedKeyUsage lacks serverAuth)".into(),
            ),
            other => cert_error(Status::TlsBadCertificate, format!("the server's certificate was rejected: {other:?}")),
        },
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => client_cert_required(ctx),
        rustls::Error::AlertReceived(alert) if ctx.asked_without_cert => {
            let mut e = client_cert_required(ctx);
            e.message.push_str(&format!(" (server alert: {alert:?})"));
            e
        }
        rustls::Error::AlertReceived(
            alert @ (AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::AccessDenied
            | AlertDescription::DecryptError),
        ) if ctx.had_client_cert => Error::new(
            Status::TlsClientCertRejected,
            format!(
                "{b} rejected the client certificate (TLS alert {alert:?}); the backend must trust the \
                 CA that issued client.crt, and the certificate must be valid and meant for client auth"
            ),
        ),
        rustls::Error::AlertReceived(alert) => Error::new(
            Status::TlsHandshakeFailed,
            format!("TLS handshake with {b} failed: the server sent the alert {alert:?}"),
        ),
        rustls::Error::NoApplicationProtocol => Error::new(
            Status::TlsHandshakeFailed,
            format!("TLS handshake with {b} failed: the server does not offer HTTP/2 (ALPN h2), so it is not a gRPC endpoint"),
        ),
        rustls::Error::InvalidMessage(m) => Error::new(
            Status::TlsHandshakeFailed,
            format!("TLS handshake with {b} failed: the server sent an invalid TLS message ({m:?})"),
        ),
        other => Error::new(Status::TlsHandshakeFailed, format!("TLS handshake with {b} failed: {other}")),
    }
}

fn client_cert_required(ctx: &HandshakeContext) -> Error {
    if ctx.had_client_cert {
        Error::new(
            Status::TlsClientCertRejected,
            format!("{} asked for a client certificate and did not accept the one configured", ctx.backend),
        )
    } else {
        Error::new(
            Status::TlsClientCertRequired,
            format!(
                "the server {} asked for a client certificate but none is configured (mutual TLS): {CLIENT_CERT_HINT}",
                ctx.backend
            ),
        )
    }
}

/// What the first bytes a server sent say about the protocol it speaks.
pub fn describe_peer_bytes(first: &[u8]) -> &'static str {
    if first.starts_with(b"HTTP/") {
        "an HTTP/1 response"
    } else if first.len() >= 2 && (0x14..=0x17).contains(&first[0]) && first[1] == 0x03 {
        "TLS records"
    } else if first.len() >= 4 && first[3] <= 0x09 {
        "HTTP/2 frames in plaintext (h2c)"
    } else {
        "data that is not TLS"
    }
}

/// True when bytes look like the start of a TLS record.
pub fn looks_like_tls(first: &[u8]) -> bool {
    first.len() >= 2 && (0x14..=0x17).contains(&first[0]) && first[1] == 0x03
}

/// Explains an I/O failure (or an end of stream, `err == None`) on a connection to a
/// backend, given the first bytes the server sent: which side spoke what. `tls` says
/// whether this side speaks TLS, `plaintext_reason` why it does not; `ctx.asked_without_cert`
/// whether, before any HTTP/2 data arrived, the server had asked for a client certificate
/// that we lack.
pub fn connection_failure(
    ctx: &HandshakeContext,
    tls: bool,
    plaintext_reason: &str,
    err: Option<&std::io::Error>,
    first: &[u8],
) -> Error {
    let b = &ctx.backend;
    if tls && !first.is_empty() && !looks_like_tls(first) {
        return Error::new(
            Status::ServerNotTls,
            format!(
                "{b} answered the TLS handshake with {}: the backend port speaks plaintext gRPC while this \
                 agent uses TLS (trusting {}). Enable TLS on the backend, or remove ca.crt and set \
                 agent.force_tls=false if the link is meant to be plaintext",
                describe_peer_bytes(first),
                ctx.trust
            ),
        );
    }
    if let Some(tls_err) = err.and_then(|e| e.get_ref()).and_then(|e| e.downcast_ref::<rustls::Error>()) {
        return classify_tls_error(tls_err, ctx);
    }
    if tls && ctx.asked_without_cert {
        // The server asked for a client certificate, got none, and dropped the
        // connection (often seen first as a failed write).
        return classify_tls_error(&rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired), ctx);
    }
    if !tls && looks_like_tls(first) {
        return Error::new(
            Status::ServerRequiresTls,
            format!(
                "{b} answered with TLS records: the backend expects TLS but this agent speaks plaintext ({}). \
                 Put the CA that signed the backend's certificate in ca.crt, or set agent.force_tls=true",
                plaintext_reason
            ),
        );
    }
    let what = match err {
        Some(e) => e.to_string(),
        None => "the server closed the connection".to_string(),
    };
    if first.is_empty() {
        if tls {
            return Error::new(
                Status::TlsHandshakeFailed,
                format!(
                    "{b}: {what} during the TLS handshake before sending anything; the port may not speak \
                     TLS, or the server refused this client"
                ),
            );
        }
        return Error::new(
            Status::Unavailable,
            format!(
                "{b}: {what} before answering in HTTP/2; if the backend uses TLS, put its CA in ca.crt \
                 or set agent.force_tls=true ({})",
                plaintext_reason
            ),
        );
    }
    Error::new(Status::Unavailable, format!("connection to {b} failed: {what}"))
}

/// A server that closed the connection right after the TLS handshake, without an alert,
/// while this side presented a client certificate.
pub fn closed_after_handshake(backend: impl std::fmt::Display) -> Error {
    Error::new(
        Status::TlsClientCertRejected,
        format!(
            "{backend} closed the connection right after the TLS handshake without a word: it most likely \
             rejected the client certificate (check that the backend trusts the CA that issued client.crt)"
        ),
    )
}

/// A server that did not agree to HTTP/2 in the TLS handshake.
pub fn not_h2(backend: impl std::fmt::Display) -> Error {
    Error::new(
        Status::TlsHandshakeFailed,
        format!("{backend} did not agree to HTTP/2 (ALPN h2) in the TLS handshake, so it is not a gRPC endpoint"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(format_unix(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_unix(1_709_164_800 + 3_723), "2024-02-29 01:02:03 UTC");
        assert_eq!(format_unix(253_402_300_799), "9999-12-31 23:59:59 UTC");
        assert_eq!(format_unix(253_402_300_800), "253402300800 s after 1970 (beyond year 9999)");
    }

    #[test]
    fn recognises_peer_protocols() {
        assert_eq!(describe_peer_bytes(&[0x15, 0x03, 0x03, 0x00, 0x02]), "TLS records");
        assert_eq!(describe_peer_bytes(&[0x00, 0x00, 0x12, 0x04, 0x00]), "HTTP/2 frames in plaintext (h2c)");
        assert_eq!(describe_peer_bytes(b"HTTP/1.1 400"), "an HTTP/1 response");
        assert!(looks_like_tls(&[0x16, 0x03, 0x01]));
        assert!(!looks_like_tls(&[0x00, 0x00, 0x12, 0x04]));
    }
}
