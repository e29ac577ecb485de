"""An independent gRPC peer for interop tests: grpcio's own server (BoringSSL).

Usage: grpcio_server.py --cert server.crt --key server.key [--ca ca.crt --require-client-auth]
                        [--token TOKEN]
Serves on 127.0.0.1 (a free port), prints "PORT <n>" on stdout, then one line per request.
Methods (raw bytes, no generated code):
  /skywalking.v3.ManagementService/keepAlive            -> empty Commands
  /skywalking.v3.TraceSegmentReportService/collect      -> empty Commands (client stream)
  /swtls.test.Echo/unary                                -> the request bytes
  /swtls.test.Echo/collect                              -> b"<count> <bytes>" (client stream)
Stops on SIGTERM or when stdin is closed.
"""
import argparse
import signal
import sys
import threading
from concurrent import futures

import grpc


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--require-client-auth", action="store_true")
    p.add_argument("--token")
    args = p.parse_args()

    lock = threading.Lock()

    def log(line):
        with lock:
            print(line, flush=True)

    def check_token(context):
        if args.token is None:
            return
        got = dict(context.invocation_metadata()).get("authentication")
        if got != args.token:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid authentication token")

    def keep_alive(request, context):
        check_token(context)
        log(f"keepAlive {len(request)} bytes")
        return b""

    def collect(request_iterator, context):
        check_token(context)
        n = sum(1 for _ in request_iterator)
        log(f"collect {n} messages")
        return b""

    def echo(request, context):
        check_token(context)
        return request

    def echo_collect(request_iterator, context):
        check_token(context)
        count = total = 0
        for m in request_iterator:
            count += 1
            total += len(m)
        return f"{count} {total}".encode()

    handlers = [
        grpc.method_handlers_generic_handler(
            "skywalking.v3.ManagementService",
            {"keepAlive": grpc.unary_unary_rpc_method_handler(keep_alive)},
        ),
        grpc.method_handlers_generic_handler(
            "skywalking.v3.TraceSegmentReportService",
            {"collect": grpc.stream_unary_rpc_method_handler(collect)},
        ),
        grpc.method_handlers_generic_handler(
            "swtls.test.Echo",
            {
                "unary": grpc.unary_unary_rpc_method_handler(echo),
                "collect": grpc.stream_unary_rpc_method_handler(echo_collect),
            },
        ),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), handlers=handlers)
    if args.cert:
        with open(args.key, "rb") as f:
            key = f.read()
        with open(args.cert, "rb") as f:
            cert = f.read()
        ca = None
        if args.ca:
            with open(args.ca, "rb") as f:
                ca = f.read()
        creds = grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=ca, require_client_auth=args.require_client_auth
        )
        port = server.add_secure_port("127.0.0.1:0", creds)
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"PORT {port}", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def watch_stdin():
        sys.stdin.read()
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()
    server.stop(0)


if __name__ == "__main__":
    main()
