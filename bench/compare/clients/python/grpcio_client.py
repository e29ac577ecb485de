"""grpcio: the gRPC Python library as the SkyWalking Python agent uses it today: a secure
channel with ssl_channel_credentials(ca, key, cert), unary_unary for keepAlive and
stream_unary(...).future(iterator) for the client stream, the iterator taking messages
from a queue.Queue(maxsize=64) (the agent's report queue); a send is the caller's put.
No serializers: bytes in, bytes out. Imports no swtls."""

import time

T_START = time.perf_counter_ns()  # `first` counts from here: before the library is imported

import os  # noqa: E402
import queue  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

import common  # noqa: E402
import grpc  # noqa: E402

_END = None  # put after the last message: ends the request iterator, which half-closes


def _read(certs, name):
    with open(os.path.join(certs, name), "rb") as f:
        return f.read()


class GrpcioClient(common.Client):
    NAME = "grpcio"

    def connect(self, target, certs):
        creds = grpc.ssl_channel_credentials(
            root_certificates=_read(certs, "ca.crt"),
            private_key=_read(certs, "client.pem"),
            certificate_chain=_read(certs, "client.crt"),
        )
        self.channel = grpc.secure_channel(target, creds)
        self.ping = self.channel.unary_unary(common.KEEP_ALIVE)
        self.collect = self.channel.stream_unary(common.COLLECT)

    def keep_alive(self):
        self.ping(common.PING, timeout=common.UNARY_TIMEOUT_S)

    def open_stream(self):
        q = queue.Queue(maxsize=64)
        # grpcio reads the iterator on its own thread; put blocks while 64 messages wait.
        future = self.collect.future(iter(q.get, _END), timeout=common.STREAM_TIMEOUT_S)

        def drain_if_failed(f):
            # A failed call stops reading the queue, and a full queue would block put for
            # ever: drain it up to _END so that finish() gets to raise the call's error.
            def drain():
                for _ in iter(q.get, _END):
                    pass

            if f.exception() is not None:
                threading.Thread(target=drain, daemon=True).start()

        future.add_done_callback(drain_if_failed)

        def finish():
            q.put(_END)
            return future.result()

        return q.put, finish

    def close(self):
        self.channel.close()

    def describe(self, error):
        # grpc.RpcError's own text spans lines; its status and details say it all.
        if isinstance(error, grpc.RpcError) and hasattr(error, "code"):
            return f"{error.code()}: {error.details()}"
        return super().describe(error)


if __name__ == "__main__":
    common.run(GrpcioClient(), T_START, sys.argv[1:])
