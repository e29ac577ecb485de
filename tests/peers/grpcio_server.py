"""An independent gRPC peer for interop tests: grpcio's own server (BoringSSL).

Usage: grpcio_server.py --cert server.crt --key server.key [--ca ca.crt --require-client-auth]
                        [--token TOKEN] [--verbose]
Serves on 127.0.0.1 (a free port), prints "PORT <n>" on stdout, then one line per request.
Methods (raw bytes, no generated code):
  /skywalking.v3.ManagementService/keepAlive            -> empty Commands
  /skywalking.v3.TraceSegmentReportService/collect      -> empty Commands (client stream)
  /swtls.test.Echo/unary                                -> the request bytes
  /swtls.test.Echo/collect                              -> b"<count> <bytes>" (client stream)
  /swtls.test.Echo/slow    request: ASCII milliseconds  -> the request bytes, after that long
                                                           (or "slow cancelled" when the
                                                           client cancels first)
--verbose also prints, per request, "metadata <method> key=value ..." (the request metadata
but grpc-* and user-agent; -bin values in hex; the authentication value is never printed),
"ping service=S instance=I" for keepAlive and "segment <traceSegmentId>" per collected
SegmentObject (decoded by hand: no protobuf package needed), and "collect cancelled after N
messages" when the client resets a collect stream.
Stops on SIGTERM or when stdin is closed.
"""
import argparse
import signal
import sys
import threading
from concurrent import futures

import grpc


def varint(data, i):
    value = shift = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def string_fields(data):
    """The length-delimited fields of a protobuf message, {number: text} (the last wins);
    other wire types are skipped."""
    fields, i = {}, 0
    while i < len(data):
        tag, i = varint(data, i)
        wire = tag & 7
        if wire == 0:
            _, i = varint(data, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            n, i = varint(data, i)
            fields[tag >> 3] = data[i:i + n].decode("utf-8", "replace")
            i += n
        else:
            break
    return fields


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--require-client-auth", action="store_true")
    p.add_argument("--token")
    p.add_argument("--verbose", action="store_true")
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

    def log_metadata(method, context):
        if not args.verbose:
            return
        shown = []
        for key, value in context.invocation_metadata():
            if key.startswith("grpc-") or key == "user-agent":
                continue
            if key == "authentication":
                value = "<not shown>"
            elif isinstance(value, bytes):
                value = value.hex()
            shown.append(f"{key}={value}")
        log(f"metadata {method} " + " ".join(shown))

    def keep_alive(request, context):
        check_token(context)
        log_metadata("keepAlive", context)
        log(f"keepAlive {len(request)} bytes")
        if args.verbose:
            fields = string_fields(request)
            log(f"ping service={fields.get(1, '')} instance={fields.get(2, '')}")
        return b""

    def collect(request_iterator, context):
        check_token(context)
        log_metadata("collect", context)
        ended = threading.Event()
        context.add_callback(ended.set)  # the RPC is over: before this returns, only by a reset
        n = 0
        try:
            for message in request_iterator:
                n += 1
                if args.verbose:
                    log(f"segment {string_fields(message).get(2, '')}")
        except grpc.RpcError:
            log(f"collect cancelled after {n} messages")
            raise
        # grpcio may end the iterator of a reset stream as if the client had half-closed it,
        # before it notices the reset: with --verbose, look a moment longer to tell them apart.
        if args.verbose and ended.wait(0.1):
            log(f"collect cancelled after {n} messages")
            return b""
        log(f"collect {n} messages")
        return b""

    def slow(request, context):
        check_token(context)
        log_metadata("slow", context)
        ended = threading.Event()
        context.add_callback(ended.set)
        log("slow started")
        if ended.wait(int(request.decode("ascii")) / 1000):
            log("slow cancelled")
        return request

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
                "slow": grpc.unary_unary_rpc_method_handler(slow),
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
