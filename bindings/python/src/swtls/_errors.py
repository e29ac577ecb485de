"""Status codes (``enum swtls_status``) and the exceptions they map to.

``Status`` is generated from the C header (``_abi``); its member names are the stable names
of ``swtls_status_name``. Ranges (src/error.rs): 1-16 are the gRPC status codes, 100-199
argument and usage errors, 200-299 configuration, 300-399 files and keys, 400-499 TLS and
protocol mismatches.
"""

from typing import Dict, Optional, Type

from ._abi import Status


class SwtlsError(Exception):
    """A failed swtls call.

    ``status`` is the numeric code, ``status_name`` its stable name (``"TLS_UNKNOWN_ISSUER"``),
    ``message`` the library's explanation (``swtls_last_error``), which names the file, key,
    entry or backend at fault.
    """

    def __init__(self, status: int, status_name: str, message: str) -> None:
        super().__init__(f"{status_name}: {message}" if message else status_name)
        self.status = status
        self.status_name = status_name
        self.message = message


# --- gRPC status codes 1-16: the call reached the server or its deadline ---


class RpcError(SwtlsError):
    """A call ended with a gRPC status code (1-16)."""


class Cancelled(RpcError):
    """gRPC CANCELLED."""


class Unknown(RpcError):
    """gRPC UNKNOWN: the server or the transport failed without a more specific status."""


class InvalidArgument(RpcError):
    """gRPC INVALID_ARGUMENT, as returned by the server."""


class DeadlineExceeded(RpcError):
    """gRPC DEADLINE_EXCEEDED: the call (or a flush) did not finish in time."""


class NotFound(RpcError):
    """gRPC NOT_FOUND, as returned by the server."""


class AlreadyExists(RpcError):
    """gRPC ALREADY_EXISTS, as returned by the server."""


class PermissionDenied(RpcError):
    """gRPC PERMISSION_DENIED, as returned by the server."""


class ResourceExhausted(RpcError):
    """gRPC RESOURCE_EXHAUSTED: returned by the server, or a response larger than 50 MiB."""


class FailedPrecondition(RpcError):
    """gRPC FAILED_PRECONDITION (also: a blocking call made from a library runtime thread)."""


class Aborted(RpcError):
    """gRPC ABORTED, as returned by the server."""


class OutOfRange(RpcError):
    """gRPC OUT_OF_RANGE, as returned by the server."""


class Unimplemented(RpcError):
    """gRPC UNIMPLEMENTED: the server does not know the method."""


class Internal(RpcError):
    """gRPC INTERNAL, as returned by the server or on a protocol violation."""


class Unavailable(RpcError):
    """gRPC UNAVAILABLE: no backend could be reached (refused, not resolved, lost)."""


class DataLoss(RpcError):
    """gRPC DATA_LOSS, as returned by the server."""


class Unauthenticated(RpcError):
    """gRPC UNAUTHENTICATED: the server refused the ``authentication`` token (or its absence)."""


# --- 100-199: arguments and usage ---


class UsageError(SwtlsError):
    """An argument or usage error (codes 100-199)."""


class NullArgument(UsageError):
    """A required argument was NULL (a bug in the binding)."""


class InvalidUtf8(UsageError):
    """A string argument was not valid UTF-8."""


class InternalPanic(UsageError):
    """A Rust panic was caught at the API boundary (a bug in swtls; please report it)."""


class Closed(UsageError):
    """The channel was closed, or the stream already finished."""


class InvalidMethod(UsageError):
    """A method path is not of the form ``/package.Service/Method``."""


class InvalidParameter(UsageError):
    """An argument is out of its allowed range."""


# --- 200-299: configuration ---


class ConfigError(SwtlsError):
    """A configuration error (codes 200-299); the message names the key and value."""


class UnknownKey(ConfigError):
    """A configuration key is not known."""


class InvalidValue(ConfigError):
    """A configuration value does not parse for its key."""


class InvalidBackend(ConfigError):
    """An entry of ``collector.backend_service`` is not ``host:port``."""


# --- 300-399: files, certificates and keys ---


class FileError(SwtlsError):
    """A certificate or key file problem (codes 300-399); the message names the file."""


class FileNotFound(FileError):
    """A file named by the configuration does not exist."""


class FileUnreadable(FileError):
    """A file exists but could not be read."""


class CertificateInvalid(FileError):
    """A certificate file is empty, not PEM, or holds no usable certificate."""


class PrivateKeyInvalid(FileError):
    """A private key file is empty, not PEM, encrypted, or holds no usable key."""


class KeyMismatch(FileError):
    """The private key does not belong to the client certificate."""


class ClientCertIncomplete(FileError):
    """Only one of the client certificate and its private key was found."""


# --- 400-499: TLS and protocol mismatches ---


class TlsError(SwtlsError):
    """The TLS handshake or protocol failed (codes 400-499)."""


class TlsUnknownIssuer(TlsError):
    """The server's certificate was not issued by a trusted CA."""


class TlsNameMismatch(TlsError):
    """The server's certificate is not valid for the expected server name."""


class TlsCertificateExpired(TlsError):
    """The server's certificate is expired or not yet valid."""


class TlsBadCertificate(TlsError):
    """The server's certificate is invalid for another reason."""


class TlsClientCertRequired(TlsError):
    """The server requires a client certificate and none is configured."""


class TlsClientCertRejected(TlsError):
    """The server rejected the client certificate."""


class TlsHandshakeFailed(TlsError):
    """The TLS handshake failed for another reason."""


class ServerNotTls(TlsError):
    """The client speaks TLS but the server answered in plaintext."""


class ServerRequiresTls(TlsError):
    """The client speaks plaintext but the server expects TLS."""


_BY_STATUS: Dict[int, Type[SwtlsError]] = {
    Status.CANCELLED: Cancelled,
    Status.UNKNOWN: Unknown,
    Status.INVALID_ARGUMENT: InvalidArgument,
    Status.DEADLINE_EXCEEDED: DeadlineExceeded,
    Status.NOT_FOUND: NotFound,
    Status.ALREADY_EXISTS: AlreadyExists,
    Status.PERMISSION_DENIED: PermissionDenied,
    Status.RESOURCE_EXHAUSTED: ResourceExhausted,
    Status.FAILED_PRECONDITION: FailedPrecondition,
    Status.ABORTED: Aborted,
    Status.OUT_OF_RANGE: OutOfRange,
    Status.UNIMPLEMENTED: Unimplemented,
    Status.INTERNAL: Internal,
    Status.UNAVAILABLE: Unavailable,
    Status.DATA_LOSS: DataLoss,
    Status.UNAUTHENTICATED: Unauthenticated,
    Status.NULL_ARGUMENT: NullArgument,
    Status.INVALID_UTF8: InvalidUtf8,
    Status.PANIC: InternalPanic,
    Status.CLOSED: Closed,
    Status.INVALID_METHOD: InvalidMethod,
    Status.INVALID_PARAMETER: InvalidParameter,
    Status.CONFIG_UNKNOWN_KEY: UnknownKey,
    Status.CONFIG_INVALID_VALUE: InvalidValue,
    Status.CONFIG_INVALID_BACKEND: InvalidBackend,
    Status.FILE_NOT_FOUND: FileNotFound,
    Status.FILE_UNREADABLE: FileUnreadable,
    Status.CERTIFICATE_INVALID: CertificateInvalid,
    Status.PRIVATE_KEY_INVALID: PrivateKeyInvalid,
    Status.KEY_MISMATCH: KeyMismatch,
    Status.CLIENT_CERT_INCOMPLETE: ClientCertIncomplete,
    Status.TLS_UNKNOWN_ISSUER: TlsUnknownIssuer,
    Status.TLS_NAME_MISMATCH: TlsNameMismatch,
    Status.TLS_CERTIFICATE_EXPIRED: TlsCertificateExpired,
    Status.TLS_BAD_CERTIFICATE: TlsBadCertificate,
    Status.TLS_CLIENT_CERT_REQUIRED: TlsClientCertRequired,
    Status.TLS_CLIENT_CERT_REJECTED: TlsClientCertRejected,
    Status.TLS_HANDSHAKE_FAILED: TlsHandshakeFailed,
    Status.SERVER_NOT_TLS: ServerNotTls,
    Status.SERVER_REQUIRES_TLS: ServerRequiresTls,
}


def error_class(status: int) -> Type[SwtlsError]:
    """The exception class for a status code: its own class, else the class of its range
    (a code added to the library later still lands in the right family)."""
    cls: Optional[Type[SwtlsError]] = _BY_STATUS.get(status)
    if cls is not None:
        return cls
    if 1 <= status <= 99:
        return RpcError
    if 100 <= status <= 199:
        return UsageError
    if 200 <= status <= 299:
        return ConfigError
    if 300 <= status <= 399:
        return FileError
    if 400 <= status <= 499:
        return TlsError
    return SwtlsError
