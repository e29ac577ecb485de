#!/usr/bin/env python3
"""A small SkyWalking agent loop over swtls: keepAlive, then trace segments, every interval.

Configured like every SkyWalking agent, from the environment:
  SW_AGENT_COLLECTOR_BACKEND_SERVICES  backends, e.g. oap-1:11800,oap-2:11800
  SWTLS_CA_DIR                         the ca folder (ca.crt, client.crt, client.pem)
  SW_AGENT_FORCE_TLS, SW_AGENT_AUTHENTICATION, SW_AGENT_SSL_*   (see the README)
  SW_AGENT_NAME                        service name (default: python-demo)
  SW_AGENT_INSTANCE_NAME               instance name (default: python@<host>)

  python3 examples/python/agent.py --iterations 3 --segments 5 --interval 1

Needs the swtls package (`pip install ./bindings/python`) and, for the messages, the
SkyWalking protocol's generated protobuf classes (`skywalking.protocol`, with `protobuf`)
that the SkyWalking Python agent ships: `pip install -r examples/python/requirements.txt`
(Python 3.10 or later, the agent's own bound). The agent itself is not started: only its
generated `*_pb2` message classes are used, so grpcio is never imported.
"""

import argparse
import os
import socket
import sys
import time
import uuid

import swtls

try:
    from skywalking.protocol.language_agent.Tracing_pb2 import SegmentObject
    from skywalking.protocol.management.Management_pb2 import InstancePingPkg
except ImportError as e:
    sys.exit(
        f"agent: the SkyWalking protocol classes are missing ({e}): "
        "pip install -r examples/python/requirements.txt"
    )

KEEP_ALIVE = "/skywalking.v3.ManagementService/keepAlive"
SEGMENTS = "/skywalking.v3.TraceSegmentReportService/collect"


def instance_ping(service: str, instance: str) -> bytes:
    """skywalking.v3.InstancePingPkg, the body of ManagementService/keepAlive."""
    return InstancePingPkg(service=service, serviceInstance=instance).SerializeToString()


def segment_object(trace_id: str, segment_id: str, service: str, instance: str) -> bytes:
    """skywalking.v3.SegmentObject (without spans), one message of TraceSegmentReportService/collect."""
    return SegmentObject(
        traceId=trace_id, traceSegmentId=segment_id, service=service, serviceInstance=instance
    ).SerializeToString()


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
