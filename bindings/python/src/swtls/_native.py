"""Loading the swtls shared library and declaring its C API (include/swtls.h) for ctypes.

Every function of the header is declared here with its argument and result types; the rest
of the package calls only these declarations. The library is loaded with ``ctypes.CDLL``,
which releases the GIL for the duration of every call.
"""

import ctypes
import os
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char,
    c_char_p,
    c_int,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import List, Optional

#: Environment variable naming the shared library to load instead of the bundled one.
LIBRARY_ENV = "SWTLS_LIBRARY"

STATS_BACKEND_SIZE = 264  # SWTLS_STATS_BACKEND_SIZE


def _library_file_name() -> str:
    if sys.platform == "darwin":
        return "libswtls.dylib"
    if sys.platform == "win32":
        return "swtls.dll"
    return "libswtls.so"


def _candidates() -> List[Path]:
    """SWTLS_LIBRARY when set (development), else the library bundled by the build."""
    explicit = os.environ.get(LIBRARY_ENV)
    if explicit:
        return [Path(explicit)]
    return [Path(__file__).resolve().parent / "_lib" / _library_file_name()]


class LibraryNotFound(ImportError):
    """The swtls shared library could not be found or loaded."""


def _load() -> ctypes.CDLL:
    errors = []
    for path in _candidates():
        if not path.is_file():
            errors.append(f"{path}: no such file")
            continue
        try:
            # CDLL (not PyDLL): the GIL is released while a call runs.
            return ctypes.CDLL(str(path))
        except OSError as e:
            errors.append(f"{path}: {e}")
    if os.environ.get(LIBRARY_ENV):
        hint = f"{LIBRARY_ENV} must name the built library, e.g. <repo>/target/release/{_library_file_name()}"
    else:
        hint = (
            "the package was installed without its library: reinstall it (the wheel carries "
            "the library; an install from the sdist or from the repository, `pip install "
            "./bindings/python`, builds it with cargo), or set "
            f"{LIBRARY_ENV} to the path of {_library_file_name()} (`cargo build --release --lib` "
            "writes it to target/release/)"
        )
    raise LibraryNotFound("cannot load the swtls library (" + "; ".join(errors) + "): " + hint)


class swtls_stats(Structure):
    """``struct swtls_stats``."""

    _fields_ = [
        ("queued", c_uint64),
        ("sent", c_uint64),
        ("acknowledged", c_uint64),
        ("pending", c_uint64),
        ("dropped_queue_full", c_uint64),
        ("dropped_closed", c_uint64),
        ("dropped_server_error", c_uint64),
        ("failed_streams", c_uint64),
        ("reconnects", c_uint64),
        ("connect_failures", c_uint64),
        ("backend_switches", c_uint64),
        ("bytes_sent", c_uint64),
        ("queued_bytes", c_uint64),
        ("backend_index", c_uint32),
        ("tls_mode", c_int),
        ("backend", c_char * STATS_BACKEND_SIZE),
    ]


# Opaque handles are passed as void pointers.
config_p = c_void_p
channel_p = c_void_p
stream_p = c_void_p
call_options_p = c_void_p
cancel_p = c_void_p
status_t = c_int  # enum swtls_status
bytes_p = POINTER(c_uint8)

#: ``typedef void (*swtls_log_callback)(void *userdata, enum swtls_log_level level,
#: const char *message, size_t message_len)``.
LOG_CALLBACK = CFUNCTYPE(None, c_void_p, c_int, POINTER(c_char), c_size_t)

_SIGNATURES = {
    # name: (restype, argtypes)
    "swtls_version": (c_char_p, []),
    "swtls_version_number": (c_uint32, []),
    "swtls_status_name": (c_char_p, [c_uint32]),
    "swtls_last_error": (c_char_p, []),
    "swtls_set_log_callback": (status_t, [LOG_CALLBACK, c_void_p, c_uint32]),
    "swtls_bytes_free": (None, [bytes_p, c_size_t]),
    "swtls_config_new": (status_t, [POINTER(config_p)]),
    "swtls_config_set": (status_t, [config_p, c_char_p, c_char_p]),
    "swtls_config_load_env": (status_t, [config_p]),
    "swtls_config_free": (None, [config_p]),
    "swtls_channel_new": (status_t, [config_p, POINTER(channel_p)]),
    "swtls_channel_tls_mode": (status_t, [channel_p, POINTER(c_int)]),
    "swtls_channel_tls_reason": (c_char_p, [channel_p]),
    "swtls_channel_unary": (
        status_t,
        [channel_p, c_char_p, c_char_p, c_size_t, c_uint32, POINTER(bytes_p), POINTER(c_size_t)],
    ),
    "swtls_channel_stream_open": (status_t, [channel_p, c_char_p, c_uint32, POINTER(stream_p)]),
    "swtls_stream_send": (status_t, [stream_p, c_char_p, c_size_t]),
    "swtls_stream_finish": (status_t, [stream_p, POINTER(bytes_p), POINTER(c_size_t)]),
    "swtls_stream_free": (None, [stream_p]),
    "swtls_channel_free": (None, [channel_p]),
    "swtls_report": (status_t, [channel_p, c_char_p, c_char_p, c_size_t]),
    "swtls_channel_flush": (status_t, [channel_p, c_uint32]),
    "swtls_channel_close": (status_t, [channel_p, c_uint32]),
    "swtls_channel_stats": (status_t, [channel_p, POINTER(swtls_stats)]),
    # Per-call options (src/ffi/call.rs): what swtls.grpc needs for grpcio's channel interface.
    "swtls_call_options_new": (status_t, [POINTER(call_options_p)]),
    "swtls_call_options_add_metadata": (status_t, [call_options_p, c_char_p, c_char_p, c_size_t]),
    "swtls_call_options_set_cancel": (status_t, [call_options_p, cancel_p]),
    "swtls_call_options_free": (None, [call_options_p]),
    "swtls_cancel_new": (status_t, [POINTER(cancel_p)]),
    "swtls_cancel_cancel": (status_t, [cancel_p]),
    "swtls_cancel_free": (None, [cancel_p]),
    "swtls_channel_unary_with": (
        status_t,
        [channel_p, c_char_p, c_char_p, c_size_t, c_uint32, call_options_p, POINTER(bytes_p), POINTER(c_size_t)],
    ),
    "swtls_channel_stream_open_with": (status_t, [channel_p, c_char_p, c_uint32, call_options_p, POINTER(stream_p)]),
    "swtls_stream_cancel": (status_t, [stream_p]),
    "swtls_stream_is_ready": (status_t, [stream_p, POINTER(c_bool)]),
    # enum swtls_connectivity: numbered as gRPC's ChannelConnectivity (IDLE 0 ... SHUTDOWN 4).
    "swtls_channel_connectivity": (status_t, [channel_p, c_bool, POINTER(c_int)]),
}

lib = _load()
for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _f = getattr(lib, _name)
    _f.restype = _restype
    _f.argtypes = _argtypes

#: Path of the loaded library (for diagnostics).
library_path: Optional[str] = getattr(lib, "_name", None)


def take_bytes(data: "ctypes._Pointer[c_uint8]", length: int) -> bytes:
    """Copies a library-owned response buffer into ``bytes`` and frees it."""
    try:
        return ctypes.string_at(data, length) if length else b""
    finally:
        lib.swtls_bytes_free(data, length)
