"""What the two Python benchmark clients share (bench/compare/CLIENTS.md is the contract):
flags, the messages, the four workloads with their timing, the samples file and the RESULT
line. A client supplies only how its library makes a channel, a unary call and a client
stream (a `Client` subclass), so both are measured by the same loops.

This module imports neither grpc nor swtls: each client process loads only its own library,
so its peak RSS and size are that library's.
"""

import argparse
import json
import resource
import sys
import time
from array import array
from typing import Callable, Tuple

KEEP_ALIVE = "/skywalking.v3.ManagementService/keepAlive"
# InstancePingPkg{service: "bench", serviceInstance: "bench-1"}
PING = bytes.fromhex("0a0562656e6368120762656e63682d31")
COLLECT = "/swtls.test.Echo/collect"
UNARY_TIMEOUT_S = 30
STREAM_TIMEOUT_S = 600

clock = time.perf_counter_ns  # monotonic, ns


def cpu_seconds() -> float:
    """User + system CPU time of the whole process (every thread, the library's included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="benchmark client (bench/compare/CLIENTS.md)")
    p.add_argument("--workload", required=True, choices=["stream", "unary", "first", "idle"])
    p.add_argument("--target", required=True, help="127.0.0.1:PORT")
    p.add_argument("--certs", required=True, help="folder with ca.crt, client.crt, client.pem")
    p.add_argument("--messages", type=int, required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--warmup", type=int, required=True)
    p.add_argument("--calls", type=int, required=True)
    p.add_argument("--idle-seconds", type=float, required=True)
    p.add_argument("--samples", required=True)
    return p.parse_args(argv)


def message(size: int) -> bytes:
    """The stream message: byte i is i % 251."""
    return bytes(i % 251 for i in range(size))


def write_samples(path: str, samples: array) -> None:
    """Per-operation nanoseconds as little-endian u64, in order."""
    if sys.byteorder != "little":
        samples = array("Q", samples)
        samples.byteswap()
    with open(path, "wb") as f:
        samples.tofile(f)


class Client:
    """One library's way to talk to the sink. Subclasses set NAME and implement these."""

    NAME = ""

    def connect(self, target: str, certs: str) -> None:
        """Creates the mutual TLS channel (ca.crt, client.crt, client.pem in `certs`)."""
        raise NotImplementedError

    def keep_alive(self) -> None:
        """One unary keepAlive call with PING (30 s deadline); raises unless it succeeded."""
        raise NotImplementedError

    def open_stream(self) -> Tuple[Callable[[bytes], None], Callable[[], bytes]]:
        """Opens a client stream on COLLECT (600 s deadline): returns (send, finish), where
        send(message) is the one call an agent makes per message and finish() ends the stream
        and returns the sink's answer."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def describe(self, error: Exception) -> str:
        """One line saying why `error` happened, for stderr."""
        return f"{type(error).__name__}: {error}"


def stream_once(client: Client, msg: bytes, count: int, samples=None) -> Tuple[int, int]:
    """One stream of `count` messages, finished and checked against the sink's count, which
    it returns (messages, bytes). With `samples`, each send is timed (clock() before and
    after the send, nothing else)."""
    send, finish = client.open_stream()
    if samples is None:
        for _ in range(count):
            send(msg)
    else:
        for i in range(count):
            t0 = clock()
            send(msg)
            samples[i] = clock() - t0
    answer = finish()
    expected = (count, count * len(msg))
    try:
        counted = tuple(int(x) for x in answer.decode("ascii").split(" "))
    except (UnicodeDecodeError, ValueError):
        counted = None
    if counted != expected:
        raise RuntimeError(f"the sink answered {answer!r} on the stream, expected b'{expected[0]} {expected[1]}'")
    return expected


def run(client: Client, t_start: int, argv=None) -> None:
    """Runs the workload the flags name and prints its RESULT line; on any failure prints
    why to stderr and exits 1. `t_start` is clock() at the top of the client script, before
    its library was imported (the `first` workload counts the import)."""
    args = parse_args(argv)  # exits 2 with argparse's message on bad flags
    try:
        result = {"client": client.NAME, "workload": args.workload}
        result.update(WORKLOADS[args.workload](client, args, t_start))
    except Exception as e:  # noqa: BLE001 - every failure is reported the same way
        print(f"{client.NAME}: {args.workload} failed: {client.describe(e)}", file=sys.stderr)
        sys.exit(1)
    print("RESULT " + json.dumps(result), flush=True)


def _stream(client: Client, args, _t_start: int) -> dict:
    msg = message(args.size)
    client.connect(args.target, args.certs)
    stream_once(client, msg, args.warmup)
    samples = array("Q", bytes(8 * args.messages))
    t0, cpu0 = clock(), cpu_seconds()
    sink_messages, sink_bytes = stream_once(client, msg, args.messages, samples)
    t1, cpu1 = clock(), cpu_seconds()
    client.close()
    write_samples(args.samples, samples)
    return {
        "messages": args.messages,
        "bytes": args.messages * args.size,
        "sink_messages": sink_messages,  # what the sink counted (equal: checked)
        "sink_bytes": sink_bytes,
        "seconds": (t1 - t0) / 1e9,
        "cpu_seconds": cpu1 - cpu0,
    }


def _unary(client: Client, args, _t_start: int) -> dict:
    client.connect(args.target, args.certs)
    keep_alive = client.keep_alive
    for _ in range(args.warmup):
        keep_alive()
    samples = array("Q", bytes(8 * args.calls))
    t0, cpu0 = clock(), cpu_seconds()
    for i in range(args.calls):
        c0 = clock()
        keep_alive()
        samples[i] = clock() - c0
    t1, cpu1 = clock(), cpu_seconds()
    client.close()
    write_samples(args.samples, samples)
    return {"calls": args.calls, "seconds": (t1 - t0) / 1e9, "cpu_seconds": cpu1 - cpu0}


def _first(client: Client, args, t_start: int) -> dict:
    client.connect(args.target, args.certs)
    client.keep_alive()
    t_done, wall = clock(), time.time_ns()
    client.close()
    return {"first_call_ns": t_done - t_start, "done_unix_ns": wall}


def _idle(client: Client, args, _t_start: int) -> dict:
    client.connect(args.target, args.certs)
    client.keep_alive()
    cpu0 = cpu_seconds()
    time.sleep(args.idle_seconds)
    cpu1 = cpu_seconds()
    client.keep_alive()  # the same channel must still work
    rss = rss_kib()
    client.close()
    return {"idle_seconds": args.idle_seconds, "idle_cpu_seconds": cpu1 - cpu0, "rss_kib": rss}


WORKLOADS = {"stream": _stream, "unary": _unary, "first": _first, "idle": _idle}
