"""swtls for Python: one TLS/mTLS gRPC core for Apache SkyWalking agents.

A thin ctypes binding over the swtls shared library: configuration parsing, TLS, gRPC and
the report queues all live in the library; this package converts types and errors.

Quick start::

    import swtls

    config = swtls.Config.from_env(collector_backend_service="oap:11800")   # + SW_AGENT_*
    with swtls.Channel(config) as channel:
        channel.unary("/skywalking.v3.ManagementService/keepAlive", ping_bytes)
        channel.report("/skywalking.v3.TraceSegmentReportService/collect", segment_bytes)
    # leaving the block closes the channel, delivering what was reported

Every call that waits on the network releases the GIL. Errors are :class:`SwtlsError`
subclasses carrying the status code and the library's message.
"""

import atexit
import ctypes
import logging
import math
import os
import threading
import weakref
from ctypes import byref, c_int, c_size_t, c_void_p
from typing import Any, Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional, Union

from . import _native
from ._errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    CertificateInvalid,
    ClientCertIncomplete,
    Closed,
    ConfigError,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    FileError,
    FileNotFound,
    FileUnreadable,
    Internal,
    InternalPanic,
    InvalidArgument,
    InvalidBackend,
    InvalidMethod,
    InvalidParameter,
    InvalidUtf8,
    InvalidValue,
    KeyMismatch,
    NotFound,
    NullArgument,
    OutOfRange,
    PermissionDenied,
    PrivateKeyInvalid,
    ResourceExhausted,
    RpcError,
    ServerNotTls,
    ServerRequiresTls,
    Status,
    SwtlsError,
    TlsBadCertificate,
    TlsCertificateExpired,
    TlsClientCertRejected,
    TlsClientCertRequired,
    TlsError,
    TlsHandshakeFailed,
    TlsNameMismatch,
    TlsUnknownIssuer,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
    UnknownKey,
    UsageError,
    error_class,
)
from ._abi import LogLevel, TlsMode
from ._native import LibraryNotFound

__version__ = "0.1.0"

__all__ = [
    "Config",
    "Channel",
    "Stream",
    "Stats",
    "TlsMode",
    "LogLevel",
    "Status",
    "set_log_callback",
    "use_logging",
    "version",
    "status_name",
    "library_path",
    "LibraryNotFound",
    "SwtlsError",
    "RpcError",
    "Cancelled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
    "UsageError",
    "NullArgument",
    "InvalidUtf8",
    "InternalPanic",
    "Closed",
    "InvalidMethod",
    "InvalidParameter",
    "ConfigError",
    "UnknownKey",
    "InvalidValue",
    "InvalidBackend",
    "FileError",
    "FileNotFound",
    "FileUnreadable",
    "CertificateInvalid",
    "PrivateKeyInvalid",
    "KeyMismatch",
    "ClientCertIncomplete",
    "TlsError",
    "TlsUnknownIssuer",
    "TlsNameMismatch",
    "TlsCertificateExpired",
    "TlsBadCertificate",
    "TlsClientCertRequired",
    "TlsClientCertRejected",
    "TlsHandshakeFailed",
    "ServerNotTls",
    "ServerRequiresTls",
]

_lib = _native.lib

#: Path of the loaded shared library.
library_path: Optional[str] = _native.library_path

#: A configuration value: strings as they are, ``bool`` as ``true``/``false``, numbers in
#: decimal, paths through ``os.fspath``, a list or tuple of backends joined with commas.
Value = Union[str, bool, int, float, "os.PathLike[str]", Iterable[str], None]

#: The largest timeout the C API takes (``uint32_t`` milliseconds).
_MAX_TIMEOUT_MS = 2**32 - 1


class Stats(NamedTuple):
    """The reporter's counters, the backend in use and the TLS mode (``struct swtls_stats``).

    At every moment: ``queued == acknowledged + dropped_queue_full + dropped_closed +
    dropped_server_error + pending``.
    """

    #: Messages passed to :meth:`Channel.report` on the open channel (queued, or dropped at
    #: once because the queue was full).
    queued: int
    #: Messages written to a stream.
    sent: int
    #: Messages on streams the server answered with OK: delivered.
    acknowledged: int
    #: Messages neither acknowledged nor dropped yet: in a queue or on an open stream.
    pending: int
    #: Messages dropped because the queue was full.
    dropped_queue_full: int
    #: Messages dropped because the channel was closed before they were delivered.
    dropped_closed: int
    #: Messages sent on a stream that then failed (never sent again: at most once).
    dropped_server_error: int
    #: Reporter streams that did not end with OK (including failed connection attempts).
    failed_streams: int
    #: Connections opened after the first one.
    reconnects: int
    #: Connection attempts that failed.
    connect_failures: int
    #: Times the channel moved to another backend.
    backend_switches: int
    #: Bytes of the messages written to streams.
    bytes_sent: int
    #: Bytes waiting in the queues now.
    queued_bytes: int
    #: Index of the backend in use in ``collector.backend_service``.
    backend_index: int
    #: The channel's TLS mode.
    tls_mode: TlsMode
    #: The backend in use, ``host:port``.
    backend: str

    @property
    def dropped(self) -> int:
        """All dropped messages, whatever the cause."""
        return self.dropped_queue_full + self.dropped_closed + self.dropped_server_error


# ---------------------------------------------------------------------------------------
# Conversions


def _raise(status: int) -> None:
    """Raises the exception for a failed call; must run on the thread that made the call
    (the library's last-error message is per thread)."""
    message = (_lib.swtls_last_error() or b"").decode("utf-8", "replace")
    code: int = Status(status) if status in _STATUS_VALUES else status
    raise error_class(status)(code, status_name(status), message)


_STATUS_VALUES = frozenset(s.value for s in Status)


def _tls_mode(value: int) -> TlsMode:
    try:
        return TlsMode(value)
    except ValueError:  # a mode added to the library after this binding
        return value  # type: ignore[return-value]


def _check(status: int) -> None:
    if status != 0:
        _raise(status)


def _text(value: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    return value.encode("utf-8")


_method_cache: Dict[str, bytes] = {}


def _method(method: str) -> bytes:
    encoded = _method_cache.get(method)
    if encoded is None:
        encoded = _text(method, "method")
        if len(_method_cache) < 256:
            _method_cache[method] = encoded
    return encoded


def _payload(data: Any, what: str) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what} must be bytes-like (an encoded protobuf message), not {type(data).__name__}")


def _timeout_ms(timeout: Optional[float]) -> int:
    """Seconds to the C API's milliseconds; None is 0, the configured
    ``collector.grpc_upstream_timeout``."""
    if timeout is None:
        return 0
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
    if not timeout > 0:
        raise ValueError(f"timeout must be more than 0 seconds (None: collector.grpc_upstream_timeout), not {timeout}")
    ms = max(1, math.ceil(timeout * 1000))
    if ms > _MAX_TIMEOUT_MS:
        raise ValueError(f"timeout {timeout} s is longer than the largest the library takes ({_MAX_TIMEOUT_MS} ms)")
    return ms


def _value_text(key: str, value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        return path if isinstance(path, str) else os.fsdecode(path)
    if isinstance(value, (list, tuple)):
        return ",".join(_value_text(key, v) for v in value)
    raise TypeError(f"value of configuration key {key!r} must be str, bool, int, a path or a list, "
                    f"not {type(value).__name__}")


def _key_from_keyword(name: str) -> str:
    """``collector_backend_service`` -> ``collector.backend_service``: the part before the
    first underscore is the section."""
    section, sep, rest = name.partition("_")
    return f"{section}.{rest}" if sep and rest else name


def version() -> str:
    """The library and rustls versions, e.g. ``"swtls/0.1.0 rustls/0.23.46 ring"``."""
    return str(_lib.swtls_version().decode())


def status_name(status: int) -> str:
    """The stable name of a status code (``"UNAUTHENTICATED"``); ``"UNRECOGNIZED"`` for a
    number that is not a status."""
    return str(_lib.swtls_status_name(int(status) & 0xFFFFFFFF).decode())


# ---------------------------------------------------------------------------------------
# Configuration


class Config:
    """A channel configuration: the SkyWalking agent keys (see the README's table).

    Keys can be given as a mapping of full key names, as keyword arguments (the section
    becomes a prefix: ``agent_force_tls=True`` is ``agent.force_tls``), with :meth:`set`,
    and from the environment with :meth:`load_env`. Settings apply in the order they are
    made; a later one overwrites an earlier value of the same key. Each value is checked
    when it is set: an unknown key raises :class:`UnknownKey`, a bad value
    :class:`InvalidValue` or :class:`InvalidBackend`, naming the key and value.

    >>> swtls.Config({"collector.backend_service": "oap:11800"}, agent_force_tls=True)
    """

    def __init__(self, settings: Optional[Mapping[str, Value]] = None, **keywords: Value) -> None:
        handle = c_void_p()
        _check(_lib.swtls_config_new(byref(handle)))
        self._handle: Optional[c_void_p] = handle
        self._finalizer = weakref.finalize(self, _lib.swtls_config_free, handle)
        if settings is not None:
            for key, value in settings.items():
                self.set(key, value)
        for name, value in keywords.items():
            self.set(_key_from_keyword(name), value)

    @classmethod
    def from_env(cls, settings: Optional[Mapping[str, Value]] = None, **keywords: Value) -> "Config":
        """The given settings first, then the ``SW_AGENT_*`` and ``SWTLS_CA_DIR`` variables
        that are set, so that the environment overrides the code's defaults."""
        return cls(settings, **keywords).load_env()

    def _ptr(self) -> c_void_p:
        if self._handle is None:
            raise Closed(int(Status.CLOSED), "CLOSED", "the configuration was closed")
        return self._handle

    def set(self, key: str, value: Value) -> "Config":
        """Sets one key, e.g. ``set("collector.backend_service", "oap-1:11800,oap-2:11800")``.
        On error the configuration is unchanged. Returns the configuration."""
        k = _text(key, "configuration key")
        v = _value_text(key, value).encode("utf-8")
        _check(_lib.swtls_config_set(self._ptr(), k, v))
        return self

    def load_env(self) -> "Config":
        """Applies the environment variables of the configuration table that are set
        (``SW_AGENT_COLLECTOR_BACKEND_SERVICES``, ``SW_AGENT_FORCE_TLS``, ...,
        ``SWTLS_CA_DIR``). On error the configuration is unchanged and the message names the
        variable. Returns the configuration."""
        _check(_lib.swtls_config_load_env(self._ptr()))
        return self

    def close(self) -> None:
        """Releases the configuration now (channels built from it keep their own copy)."""
        self._handle = None
        self._finalizer()

    def __enter__(self) -> "Config":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ---------------------------------------------------------------------------------------
# Channel and stream


class Stream:
    """An open client-streaming call, made by :meth:`Channel.stream`.

    Send messages with :meth:`send`, then :meth:`finish` to get the server's answer. As a
    context manager, leaving the block finishes the stream (the answer is then in
    :attr:`response`), or cancels it when the block raised.
    """

    def __init__(self, handle: c_void_p, method: str) -> None:
        self._handle: Optional[c_void_p] = handle
        self._lock = threading.Lock()
        self._finished = False
        self._finalizer = weakref.finalize(self, _lib.swtls_stream_free, handle)
        self._finalizer.atexit = False
        #: The method this stream calls.
        self.method = method
        #: The server's answer, once :meth:`finish` returned.
        self.response: Optional[bytes] = None

    def _closed(self) -> Closed:
        return Closed(int(Status.CLOSED), "CLOSED", f"the stream on {self.method} was cancelled or closed")

    def send(self, message: bytes) -> None:
        """Sends one message (bytes-like; copied). Waits only while the stream's small buffer
        is full. When the call already ended, raises how it ended; after :meth:`finish`
        raises :class:`Closed`."""
        data = _payload(message, "message")
        with self._lock:
            if self._handle is None:
                raise self._closed()
            _check(_lib.swtls_stream_send(self._handle, data, len(data)))

    def finish(self) -> bytes:
        """Ends the stream and waits for the server's answer (the response message bytes)."""
        out = _native.bytes_p()
        out_len = c_size_t()
        with self._lock:
            if self._handle is None:
                raise self._closed()
            status = _lib.swtls_stream_finish(self._handle, byref(out), byref(out_len))
            if status != 0:
                self._finished = True
                _raise(status)
            self._finished = True
            self.response = _native.take_bytes(out, out_len.value)
            return self.response

    def close(self) -> None:
        """Releases the stream; an unfinished stream is cancelled (never committed)."""
        with self._lock:
            self._handle = None
            self._finalizer()

    cancel = close

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None and not self._finished:
                self.finish()
        finally:
            self.close()


class Channel:
    """A channel to the configured backends, with its reporter.

    Building it decides the TLS mode, reads and checks every certificate and key file
    (errors name the file) and prepares the connections; the first call connects. A
    channel may be used from any number of threads at once. As a context manager, leaving
    the block closes it (delivering what was reported, see :meth:`close`).

    Timeouts are in seconds; ``None`` means ``collector.grpc_upstream_timeout``.
    """

    def __init__(self, config: Config) -> None:
        if not isinstance(config, Config):
            raise TypeError(f"config must be a swtls.Config, not {type(config).__name__}")
        handle = c_void_p()
        _check(_lib.swtls_channel_new(config._ptr(), byref(handle)))
        self._handle = handle
        self._closed = False
        # Freed when the object is collected: no other thread can be using it then. Not at
        # interpreter exit, where daemon threads might still be in a call.
        self._finalizer = weakref.finalize(self, _lib.swtls_channel_free, handle)
        self._finalizer.atexit = False

    @classmethod
    def from_env(cls, settings: Optional[Mapping[str, Value]] = None, **keywords: Value) -> "Channel":
        """A channel from ``Config.from_env(settings, **keywords)``: the given settings,
        overridden by the ``SW_AGENT_*`` environment."""
        return cls(Config.from_env(settings, **keywords))

    @property
    def tls_mode(self) -> TlsMode:
        """The TLS mode the channel uses."""
        mode = c_int()
        _check(_lib.swtls_channel_tls_mode(self._handle, byref(mode)))
        return _tls_mode(mode.value)

    @property
    def tls_reason(self) -> str:
        """Why the channel uses its TLS mode (which files were found, what was missing)."""
        return (_lib.swtls_channel_tls_reason(self._handle) or b"").decode("utf-8", "replace")

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called on this object."""
        return self._closed

    def unary(self, method: str, request: bytes = b"", timeout: Optional[float] = None) -> bytes:
        """Makes one unary call on a full method path such as
        ``/skywalking.v3.ManagementService/keepAlive`` with an encoded request; returns the
        encoded response. Raises the gRPC status the call ended with (:class:`RpcError`
        subclasses) or a TLS or connection error."""
        data = _payload(request, "request")
        out = _native.bytes_p()
        out_len = c_size_t()
        status = _lib.swtls_channel_unary(
            self._handle, _method(method), data, len(data), _timeout_ms(timeout), byref(out), byref(out_len)
        )
        if status != 0:
            _raise(status)
        return _native.take_bytes(out, out_len.value)

    def stream(self, method: str, timeout: Optional[float] = None) -> Stream:
        """Opens a client-streaming call (e.g.
        ``/skywalking.v3.TraceSegmentReportService/collect``); the timeout bounds the whole
        stream. Use the result as a context manager or call :meth:`Stream.finish`."""
        handle = c_void_p()
        _check(_lib.swtls_channel_stream_open(self._handle, _method(method), _timeout_ms(timeout), byref(handle)))
        return Stream(handle, method)

    def report(self, method: str, message: bytes) -> bool:
        """Reports one message on a client-streaming method without waiting for the network:
        it is copied into the method's bounded queue and a background task delivers it.

        Returns True when queued, False when the queue was full and the message was dropped
        (counted in :attr:`Stats.dropped_queue_full`). Raises :class:`Closed` after
        :meth:`close` and :class:`InvalidMethod` for a bad path. Delivery is at most once."""
        data = message if type(message) is bytes else _payload(message, "message")
        status = _lib.swtls_report(self._handle, _method(method), data, len(data))
        if status == 0:
            return True
        if status == Status.RESOURCE_EXHAUSTED:
            return False
        _raise(status)
        return False  # not reached

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until every message reported before the call was acknowledged by the server.
        Raises :class:`DeadlineExceeded` when time ran out (the rest stays queued), or the
        status of the failure when some were dropped after a server error (e.g.
        :class:`Unauthenticated`)."""
        _check(_lib.swtls_channel_flush(self._handle, _timeout_ms(timeout)))

    def close(self, timeout: Optional[float] = None) -> None:
        """Closes the channel: delivers what is queued for up to ``timeout``, drops the rest
        (counted in :attr:`Stats.dropped_closed`), stops the background tasks and closes the
        connections. Raises as :meth:`flush` does when not everything was delivered; the
        channel is closed whatever happens. Closing again does nothing. Afterwards every
        call raises :class:`Closed`, except :meth:`stats` (the final counters) and the TLS
        mode and reason."""
        if self._closed:
            return
        self._closed = True
        status = _lib.swtls_channel_close(self._handle, _timeout_ms(timeout))
        if status not in (0, Status.CLOSED):
            _raise(status)

    def stats(self) -> Stats:
        """The reporter's counters, the backend in use and the TLS mode. Never blocks on the
        network."""
        s = _native.swtls_stats()
        _check(_lib.swtls_channel_stats(self._handle, byref(s)))
        # By name: the structure's fields (generated from the header) that Stats has.
        fields = {name: getattr(s, name) for name in Stats._fields}
        fields["tls_mode"] = _tls_mode(s.tls_mode)
        fields["backend"] = s.backend.decode("utf-8", "replace")
        return Stats(**fields)

    def __enter__(self) -> "Channel":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            # Do not hide the block's exception behind a delivery failure.
            try:
                self.close()
            except SwtlsError:
                pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.tls_mode.name
        return f"<swtls.Channel {state}>"


# ---------------------------------------------------------------------------------------
# Logging

_log_lock = threading.Lock()
# Every callback ever installed stays referenced: a library thread may still be running the
# previous one while it is replaced, and ctypes must not free its trampoline meanwhile.
_log_callbacks: List[Any] = []
_log_installed = False


def set_log_callback(callback: Optional[Callable[[LogLevel, str], None]],
                     max_level: LogLevel = LogLevel.WARN) -> None:
    """Routes the library's log messages of ``max_level`` and more severe to
    ``callback(level, message)``; ``None`` restores the default (warnings and errors on
    stderr).

    The callback is called from any thread, including the library's worker threads, and
    possibly concurrently: it must be thread-safe (the :mod:`logging` module is; see
    :func:`use_logging`). An exception it raises is reported by ctypes and ignored.
    Messages never contain private keys or tokens.
    """
    global _log_installed
    if callback is None:
        c_callback = _native.LOG_CALLBACK()  # NULL
    else:
        def trampoline(_userdata: Any, level: int, message: Any, length: int) -> None:
            text = ctypes.string_at(message, length).decode("utf-8", "replace")
            try:
                lvl: Union[LogLevel, int] = LogLevel(level)
            except ValueError:
                lvl = level
            callback(lvl, text)  # type: ignore[arg-type]

        c_callback = _native.LOG_CALLBACK(trampoline)
    with _log_lock:
        _check(_lib.swtls_set_log_callback(c_callback, None, int(max_level)))
        _log_callbacks.append(c_callback)
        _log_installed = callback is not None


def use_logging(logger: Union[str, logging.Logger, None] = "swtls",
                max_level: LogLevel = LogLevel.INFO) -> None:
    """Routes the library's messages into the :mod:`logging` module (logger ``"swtls"``
    by default), with their levels."""
    log = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
    levels = {
        LogLevel.ERROR: logging.ERROR,
        LogLevel.WARN: logging.WARNING,
        LogLevel.INFO: logging.INFO,
        LogLevel.DEBUG: logging.DEBUG,
    }
    set_log_callback(lambda level, message: log.log(levels.get(level, logging.INFO), "%s", message), max_level)


@atexit.register
def _uninstall_log_callback() -> None:
    # Library threads outlive the interpreter's finalization: stop calling into Python first.
    if _log_installed:
        with _log_lock:
            _lib.swtls_set_log_callback(_native.LOG_CALLBACK(), None, int(LogLevel.WARN))
