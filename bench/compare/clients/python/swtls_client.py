"""swtls-python: the swtls Python binding (bindings/python, installed with pip) as an agent
uses it: a channel from the agent's ca folder and the backend address, Channel.unary, and a
client stream (Channel.stream, Stream.send per message, Stream.finish). Imports no grpc."""

import time

T_START = time.perf_counter_ns()  # `first` counts from here: before the library is imported

import sys  # noqa: E402

import common  # noqa: E402
import swtls  # noqa: E402


class SwtlsClient(common.Client):
    NAME = "swtls-python"

    def connect(self, target, certs):
        # The ca folder holds ca.crt, client.crt and client.pem: the channel decides mutual TLS
        # from them and verifies the server against the target host (no overrides).
        self.channel = swtls.Channel(swtls.Config(collector_backend_service=target, agent_ca_dir=certs))
        # Without ca.crt the library would choose plaintext: make sure mutual TLS is measured.
        if self.channel.tls_mode != swtls.TlsMode.MUTUAL_TLS:
            raise RuntimeError(f"the channel uses {self.channel.tls_mode.name}, not mutual TLS: "
                               f"{self.channel.tls_reason}")

    def keep_alive(self):
        self.channel.unary(common.KEEP_ALIVE, common.PING, timeout=common.UNARY_TIMEOUT_S)

    def open_stream(self):
        stream = self.channel.stream(common.COLLECT, timeout=common.STREAM_TIMEOUT_S)

        def finish():
            try:
                return stream.finish()
            finally:
                stream.close()

        return stream.send, finish

    def close(self):
        self.channel.close(timeout=5)


if __name__ == "__main__":
    common.run(SwtlsClient(), T_START, sys.argv[1:])
