"""TEST SCAFFOLDING, to delete when swtls.grpc is merged: a minimal stand-in for
``swtls.grpc.Channel`` so that the SkyWalking agent test runs over real swtls (mutual TLS,
script certificates, fork) before the real grpcio-compatible channel lands.

It implements only what the agent's stubs use (unary-unary and stream-unary calls,
subscribe/unsubscribe, close), over :class:`swtls.Channel`, to the contract the real one
follows: ``Channel(config)``, multi-callables taking ``(request, timeout=None,
metadata=None, credentials=None, wait_for_ready=None, compression=None)``, failures as
``grpc.RpcError`` with ``code()`` and ``details()``. :func:`install` puts it in place as
``swtls.grpc`` only when that module does not exist.
"""

import importlib
import sys
import types
from typing import Any, Callable, Iterator, List, Optional

import grpc

import swtls


class _Error(grpc.RpcError):
    def __init__(self, error: swtls.SwtlsError) -> None:
        super().__init__(str(error))
        status = int(error.status)
        self._code = next((c for c in grpc.StatusCode if c.value[0] == status), grpc.StatusCode.UNAVAILABLE)
        self._details = str(error)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class _Callable:
    def __init__(self, ch: swtls.Channel, method: str, ser: Optional[Callable], de: Optional[Callable]) -> None:
        self._ch, self._method = ch, method
        self._ser = ser or (lambda m: m)
        self._de = de or (lambda b: b)


class _UnaryUnary(_Callable):
    def __call__(self, request: Any, timeout: Optional[float] = None, metadata: Any = None, credentials: Any = None,
                 wait_for_ready: Any = None, compression: Any = None) -> Any:
        try:
            return self._de(self._ch.unary(self._method, self._ser(request), timeout))
        except swtls.SwtlsError as e:
            raise _Error(e) from None


class _StreamUnary(_Callable):
    def __call__(self, request_iterator: Iterator[Any], timeout: Optional[float] = None, metadata: Any = None,
                 credentials: Any = None, wait_for_ready: Any = None, compression: Any = None) -> Any:
        try:
            stream = self._ch.stream(self._method, timeout)
            try:
                for message in request_iterator:
                    stream.send(self._ser(message))
                return self._de(stream.finish())
            finally:
                stream.close()
        except swtls.SwtlsError as e:
            raise _Error(e) from None


class Channel:
    def __init__(self, config: swtls.Config) -> None:
        self._ch = swtls.Channel(config)
        self._subscribers: List[Callable] = []

    def unary_unary(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                    _registered_method: bool = False) -> _UnaryUnary:
        return _UnaryUnary(self._ch, method, request_serializer, response_deserializer)

    def stream_unary(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                     _registered_method: bool = False) -> _StreamUnary:
        return _StreamUnary(self._ch, method, request_serializer, response_deserializer)

    def subscribe(self, callback: Callable, try_to_connect: bool = False) -> None:
        self._subscribers.append(callback)
        callback(grpc.ChannelConnectivity.IDLE)

    def unsubscribe(self, callback: Callable) -> None:
        if callback in self._subscribers:
            self._subscribers.remove(callback)

    def close(self) -> None:
        self._ch.close(timeout=1)

    def __enter__(self) -> "Channel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def install() -> str:
    """Makes ``swtls.grpc`` importable; returns which implementation is in use."""
    try:
        importlib.import_module("swtls.grpc")
        return "swtls.grpc"
    except ImportError:
        pass
    module = types.ModuleType("swtls.grpc")
    module.Channel = Channel  # type: ignore[attr-defined]
    module.__doc__ = __doc__
    sys.modules["swtls.grpc"] = module
    swtls.grpc = module  # type: ignore[attr-defined]
    return "interim test scaffold (swtls.grpc not merged yet)"
