"""Loading the swtls shared library and declaring its C API (include/swtls.h) for ctypes.

Every function of the header is declared with its argument and result types from
``_abi.FUNCTIONS``, which is generated from the header (``make abi``); the rest of the
package calls only these declarations. The library is loaded with ``ctypes.CDLL``, which
releases the GIL for the duration of every call.
"""

import ctypes
import os
import sys
from ctypes import POINTER, c_uint8
from pathlib import Path
from typing import List, Optional

from . import _abi

#: Environment variable naming the shared library to load instead of the bundled one.
LIBRARY_ENV = "SWTLS_LIBRARY"

STATS_BACKEND_SIZE = _abi.SWTLS_STATS_BACKEND_SIZE


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


#: ``struct swtls_stats``.
swtls_stats = _abi.swtls_stats

#: A library-owned response buffer (``uint8_t *``), released with ``take_bytes``.
bytes_p = POINTER(c_uint8)

#: ``swtls_log_callback``: ``(userdata, level, message, message_len)``.
LOG_CALLBACK = _abi.swtls_log_callback

#: name: (restype, argtypes) of every function of the header.
_SIGNATURES = _abi.FUNCTIONS

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
