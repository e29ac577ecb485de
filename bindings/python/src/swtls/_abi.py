"""The C API of include/swtls.h for ctypes: its constants, enums, structures, callback types and
function signatures.

Generated from include/swtls.h by tests/abi (``make abi``); ``cargo test --test abi`` fails when it
is stale. Do not edit.
"""

import enum
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char,
    c_char_p,
    c_int,
    c_size_t,
    c_uint32,
    c_uint64,
    c_uint8,
    c_void_p,
)


# --- Constants (#define)

#: Largest response accepted (DESIGN §4).
SWTLS_MAX_RESPONSE_BYTES = 52428800

#: Default of ``swtls.report_queue_messages``: the SkyWalking Java agent buffers 5 channels
#: of 300 segments.
SWTLS_DEFAULT_REPORT_QUEUE_MESSAGES = 1500

#: Default of ``swtls.report_queue_bytes``: 16 MiB.
SWTLS_DEFAULT_REPORT_QUEUE_BYTES = 16777216

#: Major version of the library this header belongs to (the 0 of 0.1.0).
SWTLS_VERSION_MAJOR = 0

#: Minor version of the library this header belongs to (below 100).
SWTLS_VERSION_MINOR = 1

#: Patch version of the library this header belongs to (below 100).
SWTLS_VERSION_PATCH = 0

#: The version as one number, ``MAJOR * 10000 + MINOR * 100 + PATCH`` (0.1.0 is 100, 1.2.3
#: is 10203): compare it with ``swtls_version_number()``, the version of the library loaded
#: at run time.
SWTLS_VERSION_NUMBER = 100

#: Size of ``swtls_stats.backend``: room for any ``host:port`` (a 253-character DNS name,
#: brackets around an IPv6 address, the port) and the terminating NUL.
SWTLS_STATS_BACKEND_SIZE = 264

#: Methods one channel reports to at most (each has a queue and a task).
SWTLS_REPORT_MAX_METHODS = 64


# --- Enums


class Status(enum.IntEnum):
    """Result of every fallible swtls function.

    ``SWTLS_STATUS_OK`` (0) is success. Codes 1 to 16 are the gRPC status codes with their
    standard meaning. Codes from 100 up are swtls's own. The detailed message for the last
    failure on the calling thread is available from ``swtls_last_error()``.

    ``enum swtls_status``.
    """

    #: Success.
    OK = 0

    #: gRPC CANCELLED: the call was cancelled.
    CANCELLED = 1

    #: gRPC UNKNOWN: the server or the transport failed without a more specific status.
    UNKNOWN = 2

    #: gRPC INVALID_ARGUMENT, as returned by the server.
    INVALID_ARGUMENT = 3

    #: gRPC DEADLINE_EXCEEDED: the call did not finish within its deadline.
    DEADLINE_EXCEEDED = 4

    #: gRPC NOT_FOUND, as returned by the server.
    NOT_FOUND = 5

    #: gRPC ALREADY_EXISTS, as returned by the server.
    ALREADY_EXISTS = 6

    #: gRPC PERMISSION_DENIED, as returned by the server.
    PERMISSION_DENIED = 7

    #: gRPC RESOURCE_EXHAUSTED: returned by the server, or a response larger than 50 MiB.
    RESOURCE_EXHAUSTED = 8

    #: gRPC FAILED_PRECONDITION, as returned by the server.
    FAILED_PRECONDITION = 9

    #: gRPC ABORTED, as returned by the server.
    ABORTED = 10

    #: gRPC OUT_OF_RANGE, as returned by the server.
    OUT_OF_RANGE = 11

    #: gRPC UNIMPLEMENTED: the server does not know the method.
    UNIMPLEMENTED = 12

    #: gRPC INTERNAL, as returned by the server or on a protocol violation.
    INTERNAL = 13

    #: gRPC UNAVAILABLE: no backend could be reached (connection refused, name not resolved,
    #: connection lost).
    UNAVAILABLE = 14

    #: gRPC DATA_LOSS, as returned by the server.
    DATA_LOSS = 15

    #: gRPC UNAUTHENTICATED: the server refused the ``authentication`` token (or its absence).
    UNAUTHENTICATED = 16

    #: A required pointer argument was NULL.
    NULL_ARGUMENT = 100

    #: A string argument was not valid UTF-8.
    INVALID_UTF8 = 101

    #: A Rust panic was caught at the API boundary (a bug in swtls; please report it).
    PANIC = 102

    #: The object was already finished or closed.
    CLOSED = 103

    #: A method path is not of the form ``/package.Service/Method``.
    INVALID_METHOD = 104

    #: An argument is out of its allowed range.
    INVALID_PARAMETER = 105

    #: A configuration key is not known.
    CONFIG_UNKNOWN_KEY = 200

    #: A configuration value does not parse for its key.
    CONFIG_INVALID_VALUE = 201

    #: An entry of the backend address list is not ``host:port``.
    CONFIG_INVALID_BACKEND = 202

    #: A file named by the configuration does not exist.
    FILE_NOT_FOUND = 300

    #: A file exists but could not be read.
    FILE_UNREADABLE = 301

    #: A certificate file is empty, not PEM, or holds no usable certificate.
    CERTIFICATE_INVALID = 302

    #: A private key file is empty, not PEM, encrypted, or holds no usable key.
    PRIVATE_KEY_INVALID = 303

    #: The private key does not belong to the client certificate.
    KEY_MISMATCH = 304

    #: Only one of the client certificate and its private key was found.
    CLIENT_CERT_INCOMPLETE = 305

    #: The server's certificate was not issued by a trusted CA (unknown issuer, or a
    #: signature that does not verify with the trusted CA of that name).
    TLS_UNKNOWN_ISSUER = 400

    #: The server's certificate is not valid for the expected server name.
    TLS_NAME_MISMATCH = 401

    #: The server's certificate is expired or not yet valid.
    TLS_CERTIFICATE_EXPIRED = 402

    #: The server's certificate is invalid for another reason (bad encoding, wrong usage,
    #: unsupported algorithm).
    TLS_BAD_CERTIFICATE = 403

    #: The server requires a client certificate and none is configured.
    TLS_CLIENT_CERT_REQUIRED = 404

    #: The server rejected the client certificate.
    TLS_CLIENT_CERT_REJECTED = 405

    #: The TLS handshake failed for another reason (no common version or cipher suite, ALPN,
    #: an alert from the server).
    TLS_HANDSHAKE_FAILED = 406

    #: The client speaks TLS but the server answered in plaintext.
    SERVER_NOT_TLS = 407

    #: The client speaks plaintext but the server expects TLS.
    SERVER_REQUIRES_TLS = 408


class Connectivity(enum.IntEnum):
    """A channel's connectivity, numbered as gRPC's connectivity states.

    ``enum swtls_connectivity``.
    """

    #: No connection and none being made (before the first call).
    IDLE = 0

    #: A connection is being made.
    CONNECTING = 1

    #: Connected to the current backend.
    READY = 2

    #: The last attempt to reach the current backend failed; calls will try again.
    TRANSIENT_FAILURE = 3

    #: The channel is closed.
    SHUTDOWN = 4


class TlsMode(enum.IntEnum):
    """How a channel talks to its backends.

    ``enum swtls_tls_mode``.
    """

    #: Plaintext HTTP/2 (h2c): no ca.crt found and force TLS off.
    PLAINTEXT = 0

    #: One-way TLS; the server is verified against the configured CA file.
    TLS = 1

    #: Mutual TLS; configured CA file plus client certificate and key.
    MUTUAL_TLS = 2

    #: One-way TLS; the server is verified against the system trust store (force TLS, no CA).
    TLS_SYSTEM_ROOTS = 3

    #: Mutual TLS with the system trust store (force TLS, no CA, client certificate and key).
    MUTUAL_TLS_SYSTEM_ROOTS = 4


class LogLevel(enum.IntEnum):
    """Severity of a log message.

    ``enum swtls_log_level``.
    """

    ERROR = 1

    WARN = 2

    INFO = 3

    DEBUG = 4


# --- Structures


class swtls_stats(Structure):
    """The reporter's counters, the backend in use and the TLS mode, as filled by
    ``swtls_channel_stats``. All counts are since the channel was made (in a process made by
    ``fork()``, since the child first used it).

    At every moment: ``queued = acknowledged + dropped_queue_full + dropped_closed +
    dropped_server_error + pending``.

    ``struct swtls_stats``.
    """

    _fields_ = [
        # Messages passed to ``swtls_report`` on the open channel: queued, or dropped at once
        # because the queue was full.
        ("queued", c_uint64),
        # Messages written to a stream.
        ("sent", c_uint64),
        # Messages on streams the server answered with OK: delivered.
        ("acknowledged", c_uint64),
        # Messages not acknowledged nor dropped yet: in a queue or on an open stream.
        ("pending", c_uint64),
        # Messages ``swtls_report`` dropped because the queue was full.
        ("dropped_queue_full", c_uint64),
        # Messages dropped because the channel was closed before they were delivered.
        ("dropped_closed", c_uint64),
        # Messages sent on a stream that then failed. The server may have processed some of
        # them; none is sent again (at most once).
        ("dropped_server_error", c_uint64),
        # Reporter streams that did not end with OK (including attempts that could not connect).
        ("failed_streams", c_uint64),
        # Connections opened after the first one (after a failure, a backend switch, a DNS change).
        ("reconnects", c_uint64),
        # Connection attempts that failed (refused, not resolved, TLS handshake failed).
        ("connect_failures", c_uint64),
        # Times the channel moved to another backend.
        ("backend_switches", c_uint64),
        # Bytes of the messages written to streams.
        ("bytes_sent", c_uint64),
        # Bytes waiting in the queues now.
        ("queued_bytes", c_uint64),
        # Index of the backend in use in ``collector.backend_service`` (0 for the first).
        ("backend_index", c_uint32),
        # The channel's TLS mode.
        ("tls_mode", c_int),
        # The backend in use as ``host:port``, NUL-terminated.
        ("backend", c_char * SWTLS_STATS_BACKEND_SIZE),
    ]


# --- Callbacks

#: A log callback: ``(userdata, level, message, message_len)``. ``message`` is UTF-8 and
#: NUL-terminated, ``message_len`` its length without the NUL; it is valid only during the call.
swtls_log_callback = CFUNCTYPE(None, c_void_p, c_int, POINTER(c_char), c_size_t)


# --- Functions

#: Every function of the header, in its order: name -> (result type, argument types).
FUNCTIONS = {
    # (out) -> enum swtls_status
    "swtls_call_options_new": (c_int, [POINTER(c_void_p)]),
    # (options, key, value, value_len) -> enum swtls_status
    "swtls_call_options_add_metadata": (c_int, [c_void_p, c_char_p, c_char_p, c_size_t]),
    # (options, cancel) -> enum swtls_status
    "swtls_call_options_set_cancel": (c_int, [c_void_p, c_void_p]),
    # (options) -> void
    "swtls_call_options_free": (None, [c_void_p]),
    # (out) -> enum swtls_status
    "swtls_cancel_new": (c_int, [POINTER(c_void_p)]),
    # (cancel) -> enum swtls_status
    "swtls_cancel_cancel": (c_int, [c_void_p]),
    # (cancel) -> void
    "swtls_cancel_free": (None, [c_void_p]),
    # (channel, method, request, request_len, timeout_ms, options, out_response, out_response_len) -> enum swtls_status
    "swtls_channel_unary_with": (
        c_int,
        [
            c_void_p,
            c_char_p,
            c_char_p,
            c_size_t,
            c_uint32,
            c_void_p,
            POINTER(POINTER(c_uint8)),
            POINTER(c_size_t),
        ],
    ),
    # (channel, method, timeout_ms, options, out) -> enum swtls_status
    "swtls_channel_stream_open_with": (c_int, [c_void_p, c_char_p, c_uint32, c_void_p, POINTER(c_void_p)]),
    # (stream) -> enum swtls_status
    "swtls_stream_cancel": (c_int, [c_void_p]),
    # (stream, out_ready) -> enum swtls_status
    "swtls_stream_is_ready": (c_int, [c_void_p, POINTER(c_bool)]),
    # (channel, try_to_connect, out_state) -> enum swtls_status
    "swtls_channel_connectivity": (c_int, [c_void_p, c_bool, POINTER(c_int)]),
    # (config, out) -> enum swtls_status
    "swtls_channel_new": (c_int, [c_void_p, POINTER(c_void_p)]),
    # (channel, out_mode) -> enum swtls_status
    "swtls_channel_tls_mode": (c_int, [c_void_p, POINTER(c_int)]),
    # (channel) -> const char *
    "swtls_channel_tls_reason": (c_char_p, [c_void_p]),
    # (channel, method, request, request_len, timeout_ms, out_response, out_response_len) -> enum swtls_status
    "swtls_channel_unary": (
        c_int,
        [
            c_void_p,
            c_char_p,
            c_char_p,
            c_size_t,
            c_uint32,
            POINTER(POINTER(c_uint8)),
            POINTER(c_size_t),
        ],
    ),
    # (channel, method, timeout_ms, out) -> enum swtls_status
    "swtls_channel_stream_open": (c_int, [c_void_p, c_char_p, c_uint32, POINTER(c_void_p)]),
    # (stream, message, message_len) -> enum swtls_status
    "swtls_stream_send": (c_int, [c_void_p, c_char_p, c_size_t]),
    # (stream, out_response, out_response_len) -> enum swtls_status
    "swtls_stream_finish": (c_int, [c_void_p, POINTER(POINTER(c_uint8)), POINTER(c_size_t)]),
    # (stream) -> void
    "swtls_stream_free": (None, [c_void_p]),
    # (channel) -> void
    "swtls_channel_free": (None, [c_void_p]),
    # (out) -> enum swtls_status
    "swtls_config_new": (c_int, [POINTER(c_void_p)]),
    # (config, key, value) -> enum swtls_status
    "swtls_config_set": (c_int, [c_void_p, c_char_p, c_char_p]),
    # (config) -> enum swtls_status
    "swtls_config_load_env": (c_int, [c_void_p]),
    # (config) -> void
    "swtls_config_free": (None, [c_void_p]),
    # () -> const char *
    "swtls_version": (c_char_p, []),
    # () -> uint32_t
    "swtls_version_number": (c_uint32, []),
    # (status) -> const char *
    "swtls_status_name": (c_char_p, [c_uint32]),
    # () -> const char *
    "swtls_last_error": (c_char_p, []),
    # (callback, userdata, max_level) -> enum swtls_status
    "swtls_set_log_callback": (c_int, [swtls_log_callback, c_void_p, c_uint32]),
    # (data, len) -> void
    "swtls_bytes_free": (None, [POINTER(c_uint8), c_size_t]),
    # (channel, method, message, message_len) -> enum swtls_status
    "swtls_report": (c_int, [c_void_p, c_char_p, c_char_p, c_size_t]),
    # (channel, timeout_ms) -> enum swtls_status
    "swtls_channel_flush": (c_int, [c_void_p, c_uint32]),
    # (channel, timeout_ms) -> enum swtls_status
    "swtls_channel_close": (c_int, [c_void_p, c_uint32]),
    # (channel, out_stats) -> enum swtls_status
    "swtls_channel_stats": (c_int, [c_void_p, POINTER(swtls_stats)]),
}
