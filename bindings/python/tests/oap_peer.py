"""An OAP stand-in for the SkyWalking agent test: grpcio's server (BoringSSL) with the
agent's own generated services (``skywalking.protocol`` from the apache-skywalking sdist),
which decodes every message and prints it as one JSON line.

Usage: oap_peer.py --cert server.crt --key server.key [--ca ca.crt --require-client-auth]
                   [--token TOKEN] [--profile-endpoint NAME]
Serves on 127.0.0.1 (a free port), prints "PORT <n>", then one JSON object per message:
  {"rpc": "properties" | "keepAlive" | "segment" | "log" | "meter" | "profileQuery" |
          "snapshot" | "profileFinish", "service": ..., "instance": ..., "peer_cn": ..., ...}
``peer_cn`` is the subject CN of the client certificate the TLS layer verified (null
without mutual TLS). With --token a call without that ``authentication`` metadata is
refused (UNAUTHENTICATED). With --profile-endpoint, getProfileTaskCommands answers a
profile task for that endpoint (until the agent has it); snapshots after the tenth of a
segment are not printed. Stops on SIGTERM or when stdin closes.
"""

import argparse
import json
import signal
import sys
import threading
import time
from concurrent import futures

import grpc
from skywalking.protocol.common.Command_pb2 import Command, Commands
from skywalking.protocol.common.Common_pb2 import KeyStringValuePair
from skywalking.protocol.language_agent import Meter_pb2_grpc, Tracing_pb2_grpc
from skywalking.protocol.language_agent.Tracing_pb2 import SpanLayer, SpanType
from skywalking.protocol.logging import Logging_pb2_grpc
from skywalking.protocol.management import Management_pb2_grpc
from skywalking.protocol.profile import Profile_pb2_grpc

_lock = threading.Lock()


def emit(record):
    with _lock:
        print(json.dumps(record, sort_keys=True), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--require-client-auth", action="store_true")
    p.add_argument("--token")
    p.add_argument("--profile-endpoint")
    args = p.parse_args()

    def check(context):
        """The caller's verified certificate CN; refuses a call without the token."""
        if args.token is not None:
            got = dict(context.invocation_metadata()).get("authentication")
            if got != args.token:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid authentication token")
        cn = context.auth_context().get("x509_common_name")
        return cn[0].decode() if cn else None

    class Management(Management_pb2_grpc.ManagementServiceServicer):
        def reportInstanceProperties(self, request, context):
            emit({"rpc": "properties", "peer_cn": check(context), "service": request.service,
                  "instance": request.serviceInstance,
                  "properties": {kv.key: kv.value for kv in request.properties}})
            return Commands()

        def keepAlive(self, request, context):
            emit({"rpc": "keepAlive", "peer_cn": check(context), "service": request.service,
                  "instance": request.serviceInstance})
            return Commands()

    class Traces(Tracing_pb2_grpc.TraceSegmentReportServiceServicer):
        def collect(self, request_iterator, context):
            cn = check(context)
            for s in request_iterator:
                emit({"rpc": "segment", "peer_cn": cn, "service": s.service, "instance": s.serviceInstance,
                      "traceId": s.traceId, "segmentId": s.traceSegmentId,
                      "spans": [{"op": sp.operationName, "id": sp.spanId, "parent": sp.parentSpanId,
                                 "type": SpanType.Name(sp.spanType), "layer": SpanLayer.Name(sp.spanLayer),
                                 "component": sp.componentId, "peer": sp.peer,
                                 "tags": {t.key: t.value for t in sp.tags},
                                 "refs": [r.parentTraceSegmentId for r in sp.refs]} for sp in s.spans]})
            return Commands()

    class Logs(Logging_pb2_grpc.LogReportServiceServicer):
        def collect(self, request_iterator, context):
            cn = check(context)
            for log in request_iterator:
                emit({"rpc": "log", "peer_cn": cn, "service": log.service, "instance": log.serviceInstance,
                      "endpoint": log.endpoint, "text": log.body.text.text,
                      "traceId": log.traceContext.traceId,
                      "tags": {t.key: t.value for t in log.tags.data}})
            return Commands()

    class Meters(Meter_pb2_grpc.MeterReportServiceServicer):
        def _meters(self, context, items):
            cn = check(context)
            service = instance = None
            names = []
            for m in items:
                # Only the first message of a stream carries service and instance.
                service = service or m.service
                instance = instance or m.serviceInstance
                names.append(m.singleValue.name or m.histogram.name)
            emit({"rpc": "meter", "peer_cn": cn, "service": service, "instance": instance, "names": names})
            return Commands()

        def collect(self, request_iterator, context):
            return self._meters(context, request_iterator)

        def collectBatch(self, request_iterator, context):
            return self._meters(context, (m for batch in request_iterator for m in batch.meterData))

    now = int(time.time() * 1000)

    class Profiles(Profile_pb2_grpc.ProfileTaskServicer):
        def getProfileTaskCommands(self, request, context):
            cn = check(context)
            emit({"rpc": "profileQuery", "peer_cn": cn, "service": request.service,
                  "instance": request.serviceInstance, "lastCommandTime": request.lastCommandTime})
            if not args.profile_endpoint or request.lastCommandTime >= now:
                return Commands()
            task = {"SerialNumber": "serial-1", "TaskId": "task-1", "EndpointName": args.profile_endpoint,
                    "Duration": "1", "MinDurationThreshold": "0", "DumpPeriod": "10",
                    "MaxSamplingCount": "5", "StartTime": str(now), "CreateTime": str(now)}
            return Commands(commands=[Command(
                command="ProfileTaskQuery", args=[KeyStringValuePair(key=k, value=v) for k, v in task.items()])])

        def collectSnapshot(self, request_iterator, context):
            cn = check(context)
            for s in request_iterator:
                if s.sequence >= 10:  # the first ten of each profiled segment are enough
                    continue
                emit({"rpc": "snapshot", "peer_cn": cn, "taskId": s.taskId, "segmentId": s.traceSegmentId,
                      "sequence": s.sequence, "stack": list(s.stack.codeSignatures)})
            return Commands()

        def reportTaskFinish(self, request, context):
            emit({"rpc": "profileFinish", "peer_cn": check(context), "service": request.service,
                  "instance": request.serviceInstance, "taskId": request.taskId})
            return Commands()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    Management_pb2_grpc.add_ManagementServiceServicer_to_server(Management(), server)
    Tracing_pb2_grpc.add_TraceSegmentReportServiceServicer_to_server(Traces(), server)
    Logging_pb2_grpc.add_LogReportServiceServicer_to_server(Logs(), server)
    Meter_pb2_grpc.add_MeterReportServiceServicer_to_server(Meters(), server)
    Profile_pb2_grpc.add_ProfileTaskServicer_to_server(Profiles(), server)
    if args.cert:
        with open(args.key, "rb") as f:
            key = f.read()
        with open(args.cert, "rb") as f:
            cert = f.read()
        ca = None
        if args.ca:
            with open(args.ca, "rb") as f:
                ca = f.read()
        creds = grpc.ssl_server_credentials([(key, cert)], root_certificates=ca,
                                            require_client_auth=args.require_client_auth)
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
