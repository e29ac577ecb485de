//! Status codes and the library's error type.
//!
//! One numbering serves every layer: codes 1–16 are the gRPC status codes (the call reached
//! the server, or its deadline, and ended with that status); codes from 100 up are swtls's
//! own (arguments, configuration, files, TLS). Every binding maps these same numbers.

use std::fmt;

/// Result of every fallible swtls function.
///
/// `SWTLS_STATUS_OK` (0) is success. Codes 1 to 16 are the gRPC status codes with their
/// standard meaning. Codes from 100 up are swtls's own. The detailed message for the last
/// failure on the calling thread is available from `swtls_last_error()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// gRPC CANCELLED: the call was cancelled.
    Cancelled = 1,
    /// gRPC UNKNOWN: the server or the transport failed without a more specific status.
    Unknown = 2,
    /// gRPC INVALID_ARGUMENT, as returned by the server.
    InvalidArgument = 3,
    /// gRPC DEADLINE_EXCEEDED: the call did not finish within its deadline.
    DeadlineExceeded = 4,
    /// gRPC NOT_FOUND, as returned by the server.
    NotFound = 5,
    /// gRPC ALREADY_EXISTS, as returned by the server.
    AlreadyExists = 6,
    /// gRPC PERMISSION_DENIED, as returned by the server.
    PermissionDenied = 7,
    /// gRPC RESOURCE_EXHAUSTED: returned by the server, or a response larger than 50 MiB.
    ResourceExhausted = 8,
    /// gRPC FAILED_PRECONDITION, as returned by the server.
    FailedPrecondition = 9,
    /// gRPC ABORTED, as returned by the server.
    Aborted = 10,
    /// gRPC OUT_OF_RANGE, as returned by the server.
    OutOfRange = 11,
    /// gRPC UNIMPLEMENTED: the server does not know the method.
    Unimplemented = 12,
    /// gRPC INTERNAL, as returned by the server or on a protocol violation.
    Internal = 13,
    /// gRPC UNAVAILABLE: no backend could be reached (connection refused, name not resolved,
    /// connection lost).
    Unavailable = 14,
    /// gRPC DATA_LOSS, as returned by the server.
    DataLoss = 15,
    /// gRPC UNAUTHENTICATED: the server refused the `authentication` token (or its absence).
    Unauthenticated = 16,

    /// A required pointer argument was NULL.
    NullArgument = 100,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 101,
    /// A Rust panic was caught at the API boundary (a bug in swtls; please report it).
    Panic = 102,
    /// The object was already finished or closed.
    Closed = 103,
    /// A method path is not of the form `/package.Service/Method`.
    InvalidMethod = 104,
    /// An argument is out of its allowed range.
    InvalidParameter = 105,

    /// A configuration key is not known.
    ConfigUnknownKey = 200,
    /// A configuration value does not parse for its key.
    ConfigInvalidValue = 201,
    /// An entry of the backend address list is not `host:port`.
    ConfigInvalidBackend = 202,

    /// A file named by the configuration does not exist.
    FileNotFound = 300,
    /// A file exists but could not be read.
    FileUnreadable = 301,
    /// A certificate file is empty, not PEM, or holds no usable certificate.
    CertificateInvalid = 302,
    /// A private key file is empty, not PEM, encrypted, or holds no usable key.
    PrivateKeyInvalid = 303,
    /// The private key does not belong to the client certificate.
    KeyMismatch = 304,
    /// Only one of the client certificate and its private key was found.
    ClientCertIncomplete = 305,

    /// The server's certificate was not issued by a trusted CA (unknown issuer, or a
    /// signature that does not verify with the trusted CA of that name).
    TlsUnknownIssuer = 400,
    /// The server's certificate is not valid for the expected server name.
    TlsNameMismatch = 401,
    /// The server's certificate is expired or not yet valid.
    TlsCertificateExpired = 402,
    /// The server's certificate is invalid for another reason (bad encoding, wrong usage,
    /// unsupported algorithm).
    TlsBadCertificate = 403,
    /// The server requires a client certificate and none is configured.
    TlsClientCertRequired = 404,
    /// The server rejected the client certificate.
    TlsClientCertRejected = 405,
    /// The TLS handshake failed for another reason (no common version or cipher suite, ALPN,
    /// an alert from the server).
    TlsHandshakeFailed = 406,
    /// The client speaks TLS but the server answered in plaintext.
    ServerNotTls = 407,
    /// The client speaks plaintext but the server expects TLS.
    ServerRequiresTls = 408,
}

impl Status {
    /// The stable name of the code, e.g. `"UNAUTHENTICATED"` or `"TLS_UNKNOWN_ISSUER"`.
    pub fn name(self) -> &'static str {
        use Status::*;
        match self {
            Ok => "OK",
            Cancelled => "CANCELLED",
            Unknown => "UNKNOWN",
            InvalidArgument => "INVALID_ARGUMENT",
            DeadlineExceeded => "DEADLINE_EXCEEDED",
            NotFound => "NOT_FOUND",
            AlreadyExists => "ALREADY_EXISTS",
            PermissionDenied => "PERMISSION_DENIED",
            ResourceExhausted => "RESOURCE_EXHAUSTED",
            FailedPrecondition => "FAILED_PRECONDITION",
            Aborted => "ABORTED",
            OutOfRange => "OUT_OF_RANGE",
            Unimplemented => "UNIMPLEMENTED",
            Internal => "INTERNAL",
            Unavailable => "UNAVAILABLE",
            DataLoss => "DATA_LOSS",
            Unauthenticated => "UNAUTHENTICATED",
            NullArgument => "NULL_ARGUMENT",
            InvalidUtf8 => "INVALID_UTF8",
            Panic => "PANIC",
            Closed => "CLOSED",
            InvalidMethod => "INVALID_METHOD",
            InvalidParameter => "INVALID_PARAMETER",
            ConfigUnknownKey => "CONFIG_UNKNOWN_KEY",
            ConfigInvalidValue => "CONFIG_INVALID_VALUE",
            ConfigInvalidBackend => "CONFIG_INVALID_BACKEND",
            FileNotFound => "FILE_NOT_FOUND",
            FileUnreadable => "FILE_UNREADABLE",
            CertificateInvalid => "CERTIFICATE_INVALID",
            PrivateKeyInvalid => "PRIVATE_KEY_INVALID",
            KeyMismatch => "KEY_MISMATCH",
            ClientCertIncomplete => "CLIENT_CERT_INCOMPLETE",
            TlsUnknownIssuer => "TLS_UNKNOWN_ISSUER",
            TlsNameMismatch => "TLS_NAME_MISMATCH",
            TlsCertificateExpired => "TLS_CERTIFICATE_EXPIRED",
            TlsBadCertificate => "TLS_BAD_CERTIFICATE",
            TlsClientCertRequired => "TLS_CLIENT_CERT_REQUIRED",
            TlsClientCertRejected => "TLS_CLIENT_CERT_REJECTED",
            TlsHandshakeFailed => "TLS_HANDSHAKE_FAILED",
            ServerNotTls => "SERVER_NOT_TLS",
            ServerRequiresTls => "SERVER_REQUIRES_TLS",
        }
    }

    /// Every status, in numeric order (used by tests and the error catalogue).
    pub const ALL: [Status; 41] = {
        use Status::*;
        [
            Ok,
            Cancelled,
            Unknown,
            InvalidArgument,
            DeadlineExceeded,
            NotFound,
            AlreadyExists,
            PermissionDenied,
            ResourceExhausted,
            FailedPrecondition,
            Aborted,
            OutOfRange,
            Unimplemented,
            Internal,
            Unavailable,
            DataLoss,
            Unauthenticated,
            NullArgument,
            InvalidUtf8,
            Panic,
            Closed,
            InvalidMethod,
            InvalidParameter,
            ConfigUnknownKey,
            ConfigInvalidValue,
            ConfigInvalidBackend,
            FileNotFound,
            FileUnreadable,
            CertificateInvalid,
            PrivateKeyInvalid,
            KeyMismatch,
            ClientCertIncomplete,
            TlsUnknownIssuer,
            TlsNameMismatch,
            TlsCertificateExpired,
            TlsBadCertificate,
            TlsClientCertRequired,
            TlsClientCertRejected,
            TlsHandshakeFailed,
            ServerNotTls,
            ServerRequiresTls,
        ]
    };

    /// The status numbered `code`, or `None` for a number that is not a status.
    pub fn from_code(code: u32) -> Option<Status> {
        Status::ALL.into_iter().find(|s| *s as u32 == code)
    }

    /// The status for a gRPC code received from a server.
    pub fn from_grpc(code: tonic::Code) -> Status {
        use tonic::Code as C;
        match code {
            C::Ok => Status::Ok,
            C::Cancelled => Status::Cancelled,
            C::Unknown => Status::Unknown,
            C::InvalidArgument => Status::InvalidArgument,
            C::DeadlineExceeded => Status::DeadlineExceeded,
            C::NotFound => Status::NotFound,
            C::AlreadyExists => Status::AlreadyExists,
            C::PermissionDenied => Status::PermissionDenied,
            C::ResourceExhausted => Status::ResourceExhausted,
            C::FailedPrecondition => Status::FailedPrecondition,
            C::Aborted => Status::Aborted,
            C::OutOfRange => Status::OutOfRange,
            C::Unimplemented => Status::Unimplemented,
            C::Internal => Status::Internal,
            C::Unavailable => Status::Unavailable,
            C::DataLoss => Status::DataLoss,
            C::Unauthenticated => Status::Unauthenticated,
        }
    }

    /// Codes after which the Java agent moves to another backend (DESIGN §4).
    pub fn is_failover(self) -> bool {
        matches!(
            self,
            Status::Unavailable
                | Status::Unauthenticated
                | Status::PermissionDenied
                | Status::ResourceExhausted
                | Status::Unknown
        ) || (self as u32) >= 400
    }
}

/// An error: a status code and a message that names what is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    pub message: String,
}

impl Error {
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Error { status, message: message.into() }
    }

    /// What a call on a closed channel returns.
    pub(crate) fn channel_closed() -> Error {
        Error::new(Status::Closed, "the channel is closed (swtls_channel_close was called); make a new channel")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.name(), self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
