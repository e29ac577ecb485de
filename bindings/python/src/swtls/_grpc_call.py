"""The parts of :mod:`swtls.grpc` that are not the channel: grpcio's types (or stand-ins when
grpcio is not installed), :class:`RpcError` with the status mapping, the call arguments
(metadata, deadline, serializers) and :class:`_Call`, the object that is both a call's
``grpc.Call`` and its ``grpc.Future``. Kept apart so that each file stays readable; import
from :mod:`swtls.grpc`.
"""

import enum
import logging
import threading
import time
import weakref
from ctypes import byref, c_void_p
from typing import Any, Callable, Iterable, List, Optional

from . import Status, SwtlsError, _native, _payload, error_class, status_name
from ._abi import Connectivity

try:
    import grpc as _grpc
except ImportError:  # grpcio is optional
    _grpc = None  # type: ignore[assignment]

_lib = _native.lib
_log = logging.getLogger("swtls.grpc")

#: True when grpcio is importable (then the types below are grpcio's own).
HAVE_GRPCIO = _grpc is not None

#: Seconds between two looks at the channel's connectivity while something is subscribed:
#: the first right after a change (or a subscription), then twice as long each time nothing
#: changed, up to the second number (an idle agent's channel costs ~1 wake-up a second).
_POLL_INTERVAL = 0.05
_POLL_INTERVAL_MAX = 1.0
#: How long after a stream's deadline the binding ends it itself when the library has not
#: (the request iterator blocks): the library's own, more detailed error normally wins.
_DEADLINE_GRACE = 0.1
_MAX_TIMEOUT_MS = 2**32 - 1

if _grpc is not None:
    StatusCode = _grpc.StatusCode
    ChannelConnectivity = _grpc.ChannelConnectivity
    FutureTimeoutError = _grpc.FutureTimeoutError
    FutureCancelledError = _grpc.FutureCancelledError
else:
    #: gRPC status codes (grpcio's ``grpc.StatusCode`` when grpcio is installed): the
    #: library's codes 0-16, which are gRPC's.
    StatusCode = enum.IntEnum(  # type: ignore[misc]
        "StatusCode", [(s.name, s.value) for s in Status if s.value <= 16], module=__name__)
    #: Channel states (grpcio's ``grpc.ChannelConnectivity`` when grpcio is installed), numbered
    #: as the library's ``enum swtls_connectivity``.
    ChannelConnectivity = enum.IntEnum(  # type: ignore[misc]
        "ChannelConnectivity", [(c.name, c.value) for c in Connectivity], module=__name__)

    class FutureTimeoutError(Exception):  # type: ignore[no-redef]
        """``result()`` or ``exception()`` ran out of time."""

    class FutureCancelledError(Exception):  # type: ignore[no-redef]
        """The future was cancelled."""


#: ``enum swtls_connectivity`` (numbered as gRPC's states) to ChannelConnectivity.
_CONNECTIVITY = {c.value: ChannelConnectivity[c.name] for c in Connectivity}
_STATUSES = frozenset(int(s) for s in Status)


def _grpc_code(status: int) -> Any:
    """The gRPC status code for a library status (the table in the module docstring)."""
    if 1 <= status <= 16:
        return StatusCode[Status(status).name]
    if status == Status.CLOSED:
        return StatusCode.CANCELLED
    if status in (Status.INVALID_METHOD, Status.INVALID_PARAMETER, Status.INVALID_UTF8):
        return StatusCode.INVALID_ARGUMENT
    if status in (Status.NULL_ARGUMENT, Status.PANIC):
        return StatusCode.INTERNAL
    if 200 <= status <= 399:
        return StatusCode.FAILED_PRECONDITION
    if 400 <= status <= 499:
        return StatusCode.UNAVAILABLE
    return StatusCode.UNKNOWN


# ---------------------------------------------------------------------------------------
# Errors

_ERROR_BASES = (_grpc.RpcError, _grpc.Call, _grpc.Future, SwtlsError) if _grpc is not None else (SwtlsError,)


class RpcError(*_ERROR_BASES):  # type: ignore[misc]
    """A failed call: ``grpc.RpcError`` (with grpcio), always :class:`swtls.SwtlsError`.

    ``code()`` is the gRPC status code, ``details()`` the explanation; ``status``,
    ``status_name`` and ``message`` are the library's (``status`` may be one of swtls's own
    codes, e.g. ``TLS_UNKNOWN_ISSUER``), ``swtls_error`` the binding's exception for that
    status and ``method`` the method called. Like grpcio's errors it is also a finished
    ``grpc.Call`` / ``grpc.Future`` (``result()`` raises it), so that interceptors built
    with ``grpc.intercept_channel`` handle it as they handle grpcio's.
    """

    def __init__(self, status: int, message: str, method: str = "", code: Any = None) -> None:
        name = status_name(status)
        SwtlsError.__init__(self, Status(status) if status in _STATUSES else status, name, message)
        self.method = method
        self._code = code if code is not None else _grpc_code(status)
        self.swtls_error: SwtlsError = error_class(status)(self.status, name, message)

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        return f"{where}{self._code.name}: {self.message} (swtls status {self.status_name})"

    __repr__ = __str__

    # grpc.Call
    def code(self) -> Any:
        return self._code

    def details(self) -> str:
        return self.message

    def initial_metadata(self) -> tuple:
        return ()

    def trailing_metadata(self) -> tuple:
        return ()

    def debug_error_string(self) -> str:
        return str(self)

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> Optional[float]:
        return None

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return False

    # grpc.Future (an ended, failed call)
    def cancel(self) -> bool:
        return False

    def cancelled(self) -> bool:
        return False

    def running(self) -> bool:
        return False

    def done(self) -> bool:
        return True

    def result(self, timeout: Optional[float] = None) -> Any:
        raise self

    def exception(self, timeout: Optional[float] = None) -> "RpcError":
        return self

    def traceback(self, timeout: Optional[float] = None) -> Any:
        return self.__traceback__

    def add_done_callback(self, fn: Callable[[Any], None]) -> None:
        fn(self)


def _last_error(status: int, method: str) -> RpcError:
    """The error for a failed library call; must run on the thread that made the call (the
    library's last-error message is per thread)."""
    message = (_lib.swtls_last_error() or b"").decode("utf-8", "replace")
    return RpcError(status, message, method)


# ---------------------------------------------------------------------------------------
# Arguments


def _timeout_ms(timeout: Optional[float], method: str) -> int:
    """Seconds to the library's milliseconds (0: the configured default)."""
    if timeout is None:
        return 0
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
    if not timeout > 0:
        raise RpcError(Status.DEADLINE_EXCEEDED, "Deadline Exceeded (the timeout was not more than 0)", method)
    return min(_MAX_TIMEOUT_MS, max(1, int(-(-timeout * 1000 // 1))))


def _metadata_pairs(metadata: Any) -> Iterable:
    if metadata is None:
        return ()
    if hasattr(metadata, "items") and not isinstance(metadata, (list, tuple)):
        return metadata.items()
    return metadata


def _options(metadata: Any, cancel: Optional[c_void_p], method: str) -> Optional[c_void_p]:
    """A ``swtls_call_options`` with the metadata and the cancellation flag, or None when
    there is neither. The caller frees it with ``swtls_call_options_free``."""
    pairs = _metadata_pairs(metadata)
    if not pairs and cancel is None:
        return None
    handle = c_void_p()
    status = _lib.swtls_call_options_new(byref(handle))
    if status != 0:
        raise _last_error(status, method)
    try:
        for pair in pairs:
            key, value = pair
            if not isinstance(key, str):
                raise TypeError(f"a metadata key must be str, not {type(key).__name__} ({key!r})")
            if "\0" in key:
                raise RpcError(Status.INVALID_ARGUMENT, f"metadata key {key!r}: contains a NUL character", method)
            if isinstance(value, str):
                data = value.encode("utf-8")
            elif isinstance(value, (bytes, bytearray, memoryview)):
                data = bytes(value)
            else:
                raise TypeError(f"the value of metadata key {key!r} must be str (or bytes for a key ending in "
                                f"-bin), not {type(value).__name__}")
            status = _lib.swtls_call_options_add_metadata(handle, key.encode("utf-8"), data, len(data))
            if status != 0:
                raise _last_error(status, method)
        if cancel is not None:
            status = _lib.swtls_call_options_set_cancel(handle, cancel)
            if status != 0:
                raise _last_error(status, method)
    except BaseException:
        _lib.swtls_call_options_free(handle)
        raise
    return handle


def _refuse_credentials(credentials: Any, method: str) -> None:
    if credentials is not None:
        raise RpcError(Status.UNIMPLEMENTED, "per-call credentials are not supported by swtls.grpc.Channel: set "
                       "agent.authentication in the configuration, or pass the header as metadata", method)


def _serialize(serializer: Optional[Callable[[Any], bytes]], request: Any, method: str) -> bytes:
    try:
        data = serializer(request) if serializer is not None else request
        return _payload(data, "a serialized request")
    except Exception as e:
        raise RpcError(Status.INTERNAL, f"Exception serializing request! ({type(e).__name__}: {e})", method) from e


def _deserialize(deserializer: Optional[Callable[[bytes], Any]], data: bytes, method: str) -> Any:
    if deserializer is None:
        return data
    try:
        return deserializer(data)
    except Exception as e:
        raise RpcError(Status.INTERNAL, f"Exception deserializing response! ({type(e).__name__}: {e})",
                       method) from e


# ---------------------------------------------------------------------------------------
# A call in flight: grpc.Call and grpc.Future

_CALL_BASES = (_grpc.Call, _grpc.Future) if _grpc is not None else (object,)
_RUNNING, _OK, _FAILED, _CANCELLED = range(4)


class _Call(*_CALL_BASES):  # type: ignore[misc]
    """One call: what ``with_call`` returns as its call and ``future`` as its future."""

    def __init__(self, method: str, timeout_ms: int) -> None:
        self._method = method
        self._cond = threading.Condition()
        self._state = _RUNNING
        self._response: Any = None
        self._error: Optional[RpcError] = None
        self._done_callbacks: List[Callable[[Any], None]] = []
        self._rpc_callbacks: List[Callable[[], None]] = []
        self._deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms else None
        self._cancel: Optional[c_void_p] = None
        # The open stream of a client-streaming call; guarded by _handle_lock, so that
        # cancel() never uses a freed handle.
        self._stream: Optional[c_void_p] = None
        self._handle_lock = threading.Lock()

    def _cancellable(self) -> c_void_p:
        """A ``swtls_cancel`` raised by :meth:`cancel` (freed with this object)."""
        handle = c_void_p()
        status = _lib.swtls_cancel_new(byref(handle))
        if status != 0:
            raise _last_error(status, self._method)
        self._cancel = handle
        weakref.finalize(self, _lib.swtls_cancel_free, handle)
        return handle

    def _finish(self, state: int, response: Any = None, error: Optional[RpcError] = None) -> bool:
        with self._cond:
            if self._state != _RUNNING:
                return False
            self._state, self._response, self._error = state, response, error
            self._cond.notify_all()
            rpc_callbacks, self._rpc_callbacks = self._rpc_callbacks, []
            done_callbacks, self._done_callbacks = self._done_callbacks, []
        for cb in rpc_callbacks:
            self._run_callback(cb)
        for fn in done_callbacks:
            self._run_callback(fn, self)
        return True

    @staticmethod
    def _run_callback(fn: Callable, *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a callback's failure must not end the call's thread
            _log.exception("swtls.grpc: a call's callback raised")

    def _succeed(self, response: Any) -> None:
        self._finish(_OK, response=response)

    def _fail(self, error: RpcError) -> None:
        self._finish(_FAILED, error=error)

    def _abort(self, status: int, message: str, state: int = _FAILED) -> bool:
        """Ends the call now with an error, and cancels it in the library."""
        if not self._finish(state, error=RpcError(status, message, self._method)):
            return False
        if self._cancel is not None:
            _lib.swtls_cancel_cancel(self._cancel)
        with self._handle_lock:
            if self._stream is not None:
                _lib.swtls_stream_cancel(self._stream)
        return True

    def _wait(self, timeout: Optional[float]) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._state != _RUNNING, timeout):
                raise FutureTimeoutError()

    def _outcome(self) -> Any:
        """Waits for the end; the response, or raises the call's error (cancelled: CANCELLED)."""
        self._wait(None)
        if self._error is not None:
            raise self._error
        return self._response

    # grpc.Future
    def cancel(self) -> bool:
        """Cancels the call in the library (the server sees it reset); False when it had
        already ended."""
        return self._abort(Status.CANCELLED, "Locally cancelled by application!", _CANCELLED)

    def cancelled(self) -> bool:
        return self._state == _CANCELLED

    def running(self) -> bool:
        return self._state == _RUNNING

    def done(self) -> bool:
        return self._state != _RUNNING

    def result(self, timeout: Optional[float] = None) -> Any:
        self._wait(timeout)
        if self._state == _CANCELLED:
            raise FutureCancelledError()
        if self._error is not None:
            raise self._error
        return self._response

    def exception(self, timeout: Optional[float] = None) -> Optional[RpcError]:
        self._wait(timeout)
        if self._state == _CANCELLED:
            raise FutureCancelledError()
        return self._error

    def traceback(self, timeout: Optional[float] = None) -> Any:
        error = self.exception(timeout)
        return error.__traceback__ if error is not None else None

    def add_done_callback(self, fn: Callable[[Any], None]) -> None:
        with self._cond:
            if self._state == _RUNNING:
                self._done_callbacks.append(fn)
                return
        self._run_callback(fn, self)

    # grpc.Call (code, details and trailing metadata wait for the end, as in grpcio)
    def is_active(self) -> bool:
        return self._state == _RUNNING

    def time_remaining(self) -> Optional[float]:
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    def add_callback(self, callback: Callable[[], None]) -> bool:
        with self._cond:
            if self._state != _RUNNING:
                return False
            self._rpc_callbacks.append(callback)
            return True

    def code(self) -> Any:
        self._wait(None)
        return self._error.code() if self._error is not None else StatusCode.OK

    def details(self) -> str:
        self._wait(None)
        return self._error.details() if self._error is not None else ""

    def initial_metadata(self) -> tuple:
        return ()

    def trailing_metadata(self) -> tuple:
        self._wait(None)
        return ()

    def __repr__(self) -> str:
        state = ("running", "OK", "failed", "cancelled")[self._state]
        return f"<swtls.grpc call {self._method} {state}>"


def _start(target: Callable[[], None], name: str) -> None:
    threading.Thread(target=target, name=name, daemon=True).start()
