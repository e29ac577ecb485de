#!/usr/bin/env bash
# Benchmark of the reporter (swtls_report) over mutual TLS on loopback (see BENCHMARKS.md).
#
#   bash bench/report.sh
#
# Builds the release library, bench/c/report_bench.c, swtls-collector and the swtls tool;
# makes a CA, server and client certificates in a temporary directory; then, BENCH_RUNS
# times each, measures:
#   - the time of one swtls_report call on the caller's thread (p50, p99, p99.9, max),
#     BENCH_THREADS threads x BENCH_CALLS calls of 1 KiB, BENCH_PAUSE_US apart (about
#     10k calls/s per thread at 50, 1k/s at 1000), with the backend
#       up:   swtls-collector serve --mtls
#       down: nothing listening on the backend port
#       slow: swtls-collector serve --mtls --stream-delay-us BENCH_SLOW_US
#   - delivered throughput: BENCH_MESSAGES messages of 1 KiB reported from one thread as
#     fast as it can (the queue is made large enough to hold them all), then flushed;
#     messages/s and MB/s acknowledged.
# and prints the median of each figure over the runs.
#
# Environment (defaults in brackets): BENCH_THREADS [4], BENCH_CALLS [20000],
# BENCH_MESSAGES [200000], BENCH_SIZE [1024], BENCH_SLOW_US [1000], BENCH_RUNS [3],
# BENCH_PAUSE_US [50]; BENCH_SKIP_THROUGHPUT=1 measures the latency only.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$BENCH_ROOT
cd "$ROOT"

THREADS=${BENCH_THREADS:-4}
CALLS=${BENCH_CALLS:-20000}
MESSAGES=${BENCH_MESSAGES:-200000}
SIZE=${BENCH_SIZE:-1024}
SLOW_US=${BENCH_SLOW_US:-1000}
RUNS=${BENCH_RUNS:-3}
PAUSE_US=${BENCH_PAUSE_US:-50}
CC=${CC:-cc}
bench_positive_ints bench/report.sh BENCH_ THREADS CALLS MESSAGES SIZE SLOW_US RUNS PAUSE_US

LIBDIR=$ROOT/target/release
BENCH=$ROOT/target/bench/report_bench
SWTLS=$ROOT/target/debug/swtls

echo "== build"
make --no-print-directory examples
bench_build_tools
mkdir -p "$(dirname "$BENCH")"
"$CC" -O2 -Wall -Wextra -Werror -std=c11 -pthread -Iinclude -o "$BENCH" bench/c/report_bench.c \
    -L"$LIBDIR" -lswtls -Wl,-rpath,"$LIBDIR"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/swtls-report-bench.XXXXXX")
cleanup() { bench_stop_collector; rm -rf "$DIR"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

field() { sed -n "s/.*\"$1\":\\([-0-9.e+]*\\).*/\\1/p" <<<"$2"; }
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
echo "== machine"
echo "cpus:    $(nproc)"
echo "cpu:     $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "kernel:  $(uname -srm)"
echo "rustc:   $(rustc --version)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

"$SWTLS" certs --out "$DIR" --server-name localhost --server-name 127.0.0.1 >/dev/null
export SWTLS_CA_DIR=$DIR/ca

declare -A VALUES=()
# run NAME COLLECTOR_ARGS|down -- BENCH ARGS...: one measured run; collects its JSON fields.
run() {
    local name=$1 backend=$2
    shift 3
    if [[ $backend == down ]]; then
        PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    else
        # shellcheck disable=SC2086 # the collector arguments are words
        bench_start_collector bench/report.sh "$DIR" $backend
    fi
    local out
    out=$(SW_AGENT_COLLECTOR_BACKEND_SERVICES=127.0.0.1:$PORT "$BENCH" "$@")
    bench_stop_collector
    sed 's/^/    /' <<<"$out"
    local json
    json=$(grep '^{' <<<"$out" | tail -n 1)
    for k in p50_us p99_us p999_us max_us queue_full rate_per_thread msgs_per_s mb_per_s; do
        local v
        v=$(field "$k" "$json")
        [[ -n $v ]] && VALUES[$name.$k]="${VALUES[$name.$k]:-} $v"
    done
    return 0
}

for ((r = 1; r <= RUNS; r++)); do
    echo
    echo "== run $r of $RUNS"
    echo "-- backend up: report_bench latency $THREADS $CALLS $SIZE $PAUSE_US"
    run up "" -- latency "$THREADS" "$CALLS" "$SIZE" "$PAUSE_US"
    echo "-- backend down (nothing listening): report_bench latency $THREADS $CALLS $SIZE $PAUSE_US"
    run down down -- latency "$THREADS" "$CALLS" "$SIZE" "$PAUSE_US"
    echo "-- backend slow (--stream-delay-us $SLOW_US): report_bench latency $THREADS $CALLS $SIZE $PAUSE_US"
    run slow "--stream-delay-us $SLOW_US" -- latency "$THREADS" "$CALLS" "$SIZE" "$PAUSE_US"
    [[ ${BENCH_SKIP_THROUGHPUT:-0} == 1 ]] && continue
    echo "-- throughput: report_bench throughput $MESSAGES $SIZE (queue of $((MESSAGES + 1000)) messages)"
    SWTLS_REPORT_QUEUE_MESSAGES=$((MESSAGES + 1000)) SWTLS_REPORT_QUEUE_BYTES=$(((MESSAGES + 1000) * SIZE + 1024)) \
        run tput "" -- throughput "$MESSAGES" "$SIZE"
done

echo
echo "== median of $RUNS runs ($THREADS threads x $CALLS swtls_report calls of $SIZE bytes)"
for b in up down slow; do
    # shellcheck disable=SC2086
    printf 'backend %-4s  swtls_report us: p50 %s  p99 %s  p99.9 %s  max %s  (dropped, queue full: %s; %s calls/s per thread)\n' "$b" \
        "$(median ${VALUES[$b.p50_us]})" "$(median ${VALUES[$b.p99_us]})" "$(median ${VALUES[$b.p999_us]})" \
        "$(median ${VALUES[$b.max_us]})" "$(median ${VALUES[$b.queue_full]})" "$(median ${VALUES[$b.rate_per_thread]})"
done
[[ ${BENCH_SKIP_THROUGHPUT:-0} == 1 ]] && exit 0
# shellcheck disable=SC2086
printf 'delivered: %s msgs/s, %s MB/s (%s messages of %s bytes, acknowledged)\n' \
    "$(median ${VALUES[tput.msgs_per_s]})" "$(median ${VALUES[tput.mb_per_s]})" "$MESSAGES" "$SIZE"
