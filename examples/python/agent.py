#!/usr/bin/env python3
"""A small SkyWalking agent loop over swtls: keepAlive, then trace segments, every interval.

Configured like every SkyWalking agent, from the environment:
  SW_AGENT_COLLECTOR_BACKEND_SERVICES  backends, e.g. oap-1:11800,oap-2:11800
  SWTLS_CA_DIR                         the ca folder (ca.crt, client.crt, client.pem)
  SW_AGENT_FORCE_TLS, SW_AGENT_AUTHENTICATION, SW_AGENT_SSL_*   (see the README)
  SW_AGENT_NAME                        service name (default: python-demo)
  SW_AGENT_INSTANCE_NAME               instance name (default: python@<host>)

  python3 examples/python/agent.py --iterations 3 --segments 5 --interval 1

Needs the swtls package (`pip install ./bindings/python`). The messages are encoded here
by hand (a few protobuf string fields), so no protobuf package is needed.
"""

import argparse
import os
import socket
import sys
import time
import uuid

import swtls

KEEP_ALIVE = "/skywalking.v3.ManagementService/keepAlive"
SEGMENTS = "/skywalking.v3.TraceSegmentReportService/collect"


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _string(field: int, value: str) -> bytes:
    data = value.encode("utf-8")
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def instance_ping(service: str, instance: str) -> bytes:
    """skywalking.v3.InstancePingPkg: service = 1, serviceInstance = 2."""
    return _string(1, service) + _string(2, instance)


def segment_object(trace_id: str, segment_id: str, service: str, instance: str) -> bytes:
    """skywalking.v3.SegmentObject without spans: traceId = 1, traceSegmentId = 2,
    service = 4, serviceInstance = 5."""
    return _string(1, trace_id) + _string(2, segment_id) + _string(4, service) + _string(5, instance)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", type=int, default=3, help="loop this many times (0: forever)")
    p.add_argument("--segments", type=int, default=5, help="trace segments reported per iteration")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between iterations")
    args = p.parse_args()

    service = os.environ.get("SW_AGENT_NAME", "python-demo")
    instance = os.environ.get("SW_AGENT_INSTANCE_NAME", f"python@{socket.gethostname()}")
    swtls.use_logging()  # library warnings into the logging module (stderr by default)

    try:
        channel = swtls.Channel(swtls.Config.from_env())
    except swtls.SwtlsError as e:
        print(f"agent: configuration: {e.status_name}: {e.message}", file=sys.stderr)
        return 1
    print(f"agent: {channel.tls_mode.name}: {channel.tls_reason}")

    with channel:
        i = 0
        while args.iterations == 0 or i < args.iterations:
            i += 1
            try:
                channel.unary(KEEP_ALIVE, instance_ping(service, instance))
                print(f"agent: keepAlive {i} ok ({service}/{instance})")
            except swtls.SwtlsError as e:
                # An agent keeps going; the next iteration tries again.
                print(f"agent: keepAlive {i}: {e.status_name}: {e.message}", file=sys.stderr)
            for _ in range(args.segments):
                trace = uuid.uuid4().hex
                channel.report(SEGMENTS, segment_object(trace, f"{trace}.0", service, instance))
            if args.iterations == 0 or i < args.iterations:
                time.sleep(args.interval)
        try:
            channel.close()  # delivers what is queued, up to collector.grpc_upstream_timeout
        except swtls.SwtlsError as e:
            print(f"agent: delivery: {e.status_name}: {e.message}", file=sys.stderr)
        st = channel.stats()
        print(
            f"agent: reported {st.queued} segments: acknowledged {st.acknowledged}, "
            f"dropped {st.dropped} (queue full {st.dropped_queue_full}, closed {st.dropped_closed}, "
            f"server error {st.dropped_server_error}), backend {st.backend}"
        )
        return 0 if st.acknowledged == st.queued else 1


if __name__ == "__main__":
    sys.exit(main())
