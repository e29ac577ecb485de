"""A small application instrumented by the real SkyWalking Python agent (apache-skywalking),
started with ``swtls.skywalking.start``; run by test_skywalking_agent.py.

Usage: agent_app.py OPTIONS_JSON [MODE], where OPTIONS_JSON holds the keyword arguments of
``swtls.skywalking.start``. MODE "work-on-request": after the start, the app waits for a
line on standard input, runs /on-request (a span and a call to itself), then waits until
its standard input is closed. MODE "prefork": the agent is installed in the master
with start_prefork_master() (no reporting there); a forked worker runs /worker-work, then
exits after reading a line from standard input. MODE "full" (the default):
  1. serves HTTP on loopback (http.server: the agent's http_server plugin traces it);
  2. in an entry span made with the agent's span API (/parent-work), calls itself with
     urllib (the urllib_request plugin) and logs a warning (the log reporter);
  3. waits for the profile task the backend sent for /profiled, then runs /profiled long
     enough for thread snapshots;
  4. forks (agent_experimental_fork_support restarts the agent in the child); the child
     runs /child-work (a span and a call to the parent's server), logs a warning, reads a
     line from standard input and exits normally, its agent sending what is queued at exit;
  5. waits until its standard input is closed, then exits normally.
It prints "CHANNEL <implementation>", "CHILD <pid> EXIT <code>" and "DONE" on stdout.
"""

import json
import logging
import os
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import swtls.skywalking

log = logging.getLogger("app")


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"hello from {os.getpid()}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def work(endpoint: str, port: int, path: str, message: str) -> None:
    from skywalking import Component, Layer
    from skywalking.trace.context import get_context

    with get_context().new_entry_span(op=endpoint) as span:
        span.layer = Layer.Http
        span.component = Component.General
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            r.read()
        log.warning(message)


def prefork(options) -> int:
    """A pre-forking server's way: the master installs the agent without reporting
    (start_prefork_master); the worker it forks runs the full agent."""
    swtls.skywalking.install(**options).start_prefork_master()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    port = server.server_address[1]
    pid = os.fork()
    if pid == 0:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        work("/worker-work", port, "/worker-call", f"worker log record from {os.getpid()}")
        print(f"WORKER-WAITING {os.getpid()}", flush=True)
        sys.stdin.readline()
        server.shutdown()
        sys.exit(0)
    _, status = os.waitpid(pid, 0)
    print(f"WORKER {pid} EXIT {os.waitstatus_to_exitcode(status)}", flush=True)
    return 0


def main() -> int:
    options = json.loads(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else "full"
    import swtls.grpc

    print("CHANNEL", swtls.grpc.Channel.__module__, flush=True)
    logging.basicConfig(level=logging.INFO)
    if mode == "prefork":
        return prefork(options)
    swtls.skywalking.start(**options)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    if mode == "work-on-request":
        sys.stdin.readline()
        work("/on-request", port, "/on-request-call", "on request")
        sys.stdin.read()
        server.shutdown()
        print("DONE", flush=True)
        return 0

    work("/parent-work", port, "/parent-call", "parent log record")

    # The profile task arrives with a profile query (every agent_collector_get_profile_task_interval).
    from skywalking.profile import profile_task_execution_service

    deadline = time.monotonic() + 15
    while profile_task_execution_service.task_execution_context.get() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    from skywalking.trace.context import get_context

    with get_context().new_entry_span(op="/profiled"):
        time.sleep(0.6)

    pid = os.fork()
    if pid == 0:
        try:
            work("/child-work", port, "/child-call", f"child log record from {os.getpid()}")
        except BaseException as e:  # noqa: B902 - reported, then a failing exit status
            print(f"CHILD ERROR {e!r}", flush=True)
            os._exit(3)
        # The child's heartbeat thread may still be on its first call: the test answers
        # once the backend has it.
        print(f"CHILD-WAITING {os.getpid()}", flush=True)
        sys.stdin.readline()
        sys.exit(0)  # a normal exit: the agent's atexit hook sends what is queued
    _, status = os.waitpid(pid, 0)
    print(f"CHILD {pid} EXIT {os.waitstatus_to_exitcode(status)}", flush=True)

    sys.stdin.read()
    server.shutdown()
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
