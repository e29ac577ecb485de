#!/usr/bin/env python3
"""Benchmark of the Python binding against the standalone collector over mutual TLS.

Prints what a Python agent sees:
  - report(): the cost per call seen by the caller (ns/call, p50/p99/p99.9, each call timed
    with time.perf_counter_ns; the timer's own cost is printed too), and messages/s from the
    first report() to the end of flush();
  - stream send: messages/s through Stream.send on one client stream;
  - unary keepAlive: round-trip latency p50/p99 and calls/s.

The collector (`swtls-collector serve --mtls`, built with `cargo build --release -p
swtls-collector` when missing) runs on the same machine: its CPU counts in the figures.
Certificates are made with the `cryptography` package (as the tests do).

  python bindings/python/bench.py [--reports 200000] [--stream 100000] [--unary 5000] [--size 1024]

With --paced N it measures only report() as an application that does other work between
reports sees it (the C figures of bench/report.sh, beside): N reports of --size bytes,
each followed by a --pause-us sleep (50: about 10k reports/s), each call timed; prints
p50/p99/p99.9 and the rate achieved.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE / "tests"))

import swtls  # noqa: E402
from certs import CertSet  # noqa: E402
from messages import pb_string, segment  # noqa: E402

KEEP_ALIVE = "/skywalking.v3.ManagementService/keepAlive"
SEGMENTS = "/skywalking.v3.TraceSegmentReportService/collect"
ECHO_COLLECT = "/swtls.test.Echo/collect"


def pct(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def collector_binary():
    path = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "swtls-collector"
    if not path.is_file():
        print("building the collector: cargo build --release -p swtls-collector", file=sys.stderr)
        subprocess.run(["cargo", "build", "--release", "-p", "swtls-collector"], cwd=REPO, check=True)
    return path


def start_collector(tls_dir, tmp):
    port_file = Path(tmp) / "port"
    proc = subprocess.Popen(
        [str(collector_binary()), "serve", "--listen", "127.0.0.1:0", "--tls-dir", str(tls_dir), "--mtls",
         "--port-file", str(port_file)],
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    for _ in range(600):
        if port_file.is_file() and port_file.read_text().strip():
            return proc, port_file.read_text().strip()
        if proc.poll() is not None:
            raise SystemExit("the collector exited")
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the collector did not start")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=200_000)
    ap.add_argument("--stream", type=int, default=100_000)
    ap.add_argument("--unary", type=int, default=5_000)
    ap.add_argument("--size", type=int, default=1024, help="stream (and paced report) message size in bytes")
    ap.add_argument("--paced", type=int, default=0, help="only the paced report() measurement, of this many calls")
    ap.add_argument("--pause-us", type=int, default=50, help="sleep between paced reports")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        certs = CertSet(Path(tmp) / "certs")
        agent = certs.agent_dir(Path(tmp) / "agent", ["ca.crt", "client.crt", "client.pem"])
        proc, port = start_collector(certs.dir, tmp)
        addr = port if ":" in port else f"127.0.0.1:{port}"
        try:
            run(args, addr, agent)
        finally:
            proc.terminate()
            proc.wait()


def run(args, addr, agent):
    cfg = swtls.Config(
        collector_backend_service=addr,
        agent_ca_dir=agent,
        # Large enough that no report is dropped: the figure is the cost of queueing.
        swtls_report_queue_messages=max(args.reports, 1500),
        swtls_report_queue_bytes=1 << 30,
    )
    ch = swtls.Channel(cfg)
    print(f"# {swtls.version()} via {swtls.library_path}")
    print(f"# python {sys.version.split()[0]}, {ch.tls_mode.name} to {addr}")
    ping = pb_string(1, "bench-service") + pb_string(2, "bench-instance")
    for _ in range(200):
        ch.unary(KEEP_ALIVE, ping)

    if args.paced:
        paced(args, ch)
        return

    # Timer cost: two perf_counter_ns calls with nothing between.
    clock = time.perf_counter_ns
    empty = []
    for _ in range(100_000):
        t0 = clock()
        empty.append(clock() - t0)
    empty.sort()

    # report(): per call, then throughput through flush.
    seg = segment("a" * 32, "b" * 34, "bench-service", "bench-instance")
    report = ch.report
    for _ in range(2000):
        report(SEGMENTS, seg)
    ch.flush(timeout=60)
    before = ch.stats()
    lat = [0] * args.reports
    start = time.perf_counter()
    for i in range(args.reports):
        t0 = clock()
        report(SEGMENTS, seg)
        lat[i] = clock() - t0
    queued_at = time.perf_counter()
    ch.flush(timeout=120)
    end = time.perf_counter()
    st = ch.stats()
    lat.sort()
    acked = st.acknowledged - before.acknowledged
    dropped = st.dropped - before.dropped

    # Loop cost without the per-call timer.
    t0 = time.perf_counter()
    for _ in range(args.reports):
        report(SEGMENTS, seg)
    untimed = (time.perf_counter() - t0) / args.reports * 1e9
    ch.flush(timeout=120)

    # Stream send throughput.
    msg = b"\x07" * args.size
    for _ in range(2):
        s = ch.stream(ECHO_COLLECT)
        for _ in range(2000):
            s.send(msg)
        s.finish()
    t0 = time.perf_counter()
    s = ch.stream(ECHO_COLLECT)
    send = s.send
    for _ in range(args.stream):
        send(msg)
    answer = s.finish()
    stream_s = time.perf_counter() - t0
    s.close()
    assert answer == f"{args.stream} {args.stream * args.size}".encode(), answer

    # Unary round trips.
    ulat = []
    t_u = time.perf_counter()
    for _ in range(args.unary):
        t0 = clock()
        ch.unary(KEEP_ALIVE, ping)
        ulat.append(clock() - t0)
    unary_s = time.perf_counter() - t_u
    ulat.sort()
    ch.close(timeout=30)

    rows = [
        ("report() per call, p50", f"{pct(lat, 50):,} ns"),
        ("report() per call, p99", f"{pct(lat, 99):,} ns"),
        ("report() per call, p99.9", f"{pct(lat, 99.9):,} ns"),
        ("report() per call, mean over an untimed loop", f"{untimed:,.0f} ns"),
        ("timer cost (two perf_counter_ns), p50", f"{pct(empty, 50):,} ns"),
        ("report() messages/s, first report to end of flush",
         f"{args.reports / (end - start):,.0f} msgs/s ({len(seg)}-byte segments)"),
        ("report() queueing rate (calls/s, before flush)", f"{args.reports / (queued_at - start):,.0f} calls/s"),
        ("reported: acknowledged / dropped", f"{acked:,} / {dropped:,}"),
        (f"stream send messages/s ({args.size} B, one stream)",
         f"{args.stream / stream_s:,.0f} msgs/s ({args.stream * args.size / stream_s / 1e6:,.1f} MB/s)"),
        ("unary keepAlive p50", f"{pct(ulat, 50) / 1000:,.0f} µs"),
        ("unary keepAlive p99", f"{pct(ulat, 99) / 1000:,.0f} µs"),
        ("unary keepAlive calls/s (one thread)", f"{args.unary / unary_s:,.0f}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"# {args.reports:,} reports, {args.stream:,} stream messages, {args.unary:,} unary calls")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def paced(args, ch):
    """report() of 1 KiB with a pause between calls, each timed (see the module doc)."""
    clock = time.perf_counter_ns
    msg = b"x" * args.size
    pause = args.pause_us / 1e6
    for _ in range(2000):
        ch.report(ECHO_COLLECT, msg)
    ch.flush(timeout=60)
    lat = [0] * args.paced
    start = time.perf_counter()
    for i in range(args.paced):
        t0 = clock()
        ch.report(ECHO_COLLECT, msg)
        lat[i] = clock() - t0
        time.sleep(pause)
    rate = args.paced / (time.perf_counter() - start)
    ch.flush(timeout=60)
    st = ch.stats()
    ch.close(timeout=30)
    lat.sort()
    print(
        f"report() paced, {args.size} B, pause {args.pause_us} us ({rate:,.0f} calls/s): "
        f"p50 {pct(lat, 50) / 1000:.2f} us, p99 {pct(lat, 99) / 1000:.2f} us, p99.9 {pct(lat, 99.9) / 1000:.2f} us; "
        f"dropped {st.dropped}"
    )


if __name__ == "__main__":
    main()
