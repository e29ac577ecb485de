#!/usr/bin/env bash
# Benchmark of the swtls C API over mutual TLS on loopback (see BENCHMARKS.md).
#
#   bash bench/run.sh        (or: make bench)
#
# Builds the release library, bench/c/bench.c and swtls-collector; generates a CA, server
# and client certificates in a temporary directory; then, BENCH_RUNS times, starts a
# fresh `swtls-collector serve --mtls` on 127.0.0.1 (a free port) and runs the bench
# against it; finally prints the median of each figure.
#
# Environment:
#   BENCH_UNARY     unary keepAlive calls measured per run      (default 10000)
#   BENCH_MESSAGES  messages on the measured client stream      (default 200000)
#   BENCH_SIZE      bytes per stream message                    (default 1024)
#   BENCH_RUNS      repetitions; the medians are reported       (default 3)
#   BENCH_TIMEOUT   seconds one bench run may take before it is
#                   reported as hung                            (default 900)
#
# The collector prints one line per keepAlive it receives (not per streamed message on
# /swtls.test.Echo/collect); that output goes to a log file in the temporary directory,
# shown if something fails. The collector also records every call in memory, each list
# bounded by its RECORD_LIMIT (1,000,000 entries); a fresh collector per run keeps that
# small. It runs on the same machine as the bench, so the figures include its CPU.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

UNARY=${BENCH_UNARY:-10000}
MESSAGES=${BENCH_MESSAGES:-200000}
SIZE=${BENCH_SIZE:-1024}
RUNS=${BENCH_RUNS:-3}
TIMEOUT=${BENCH_TIMEOUT:-900}
CC=${CC:-cc}
for v in UNARY MESSAGES SIZE RUNS TIMEOUT; do
    if ! [[ ${!v} =~ ^[0-9]+$ ]]; then
        echo "bench/run.sh: $v must be a non-negative integer, not '${!v}'" >&2
        exit 2
    fi
done
if (( RUNS < 1 )); then
    echo "bench/run.sh: BENCH_RUNS must be at least 1" >&2
    exit 2
fi

LIBDIR=$ROOT/target/release
BENCH=$ROOT/target/bench/bench
COLLECTOR=$ROOT/target/release/swtls-collector

echo "== build"
make --no-print-directory examples
cargo build --release -p swtls-collector
cargo build --features cli --bin swtls
mkdir -p "$(dirname "$BENCH")"
"$CC" -O2 -Wall -Wextra -Werror -std=c11 -Iinclude -o "$BENCH" bench/c/bench.c \
    -L"$LIBDIR" -lswtls -Wl,-rpath,"$LIBDIR"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/swtls-bench.XXXXXX")
COLLECTOR_PID=
stop_collector() {
    if [[ -n $COLLECTOR_PID ]]; then
        kill "$COLLECTOR_PID" 2>/dev/null || true
        wait "$COLLECTOR_PID" 2>/dev/null || true
        COLLECTOR_PID=
    fi
}
KEEP_DIR=0
cleanup() {
    stop_collector
    if ((KEEP_DIR)); then
        echo "bench/run.sh: kept $DIR (certificates, collector logs, bench output)" >&2
    else
        rm -rf "$DIR"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_collector_log() {
    echo "--- last lines of the collector's output ($1):" >&2
    tail -n 20 "$1" >&2 || true
    KEEP_DIR=1
}

# Starts a fresh collector; sets COLLECTOR_PID and PORT.
start_collector() {
    local log=$1
    rm -f "$DIR/port"
    "$COLLECTOR" serve --listen 127.0.0.1:0 --tls-dir "$DIR/server" --mtls --port-file "$DIR/port" \
        >"$log" 2>&1 &
    COLLECTOR_PID=$!
    local i
    for ((i = 0; i < 200; i++)); do
        [[ -s $DIR/port ]] && break
        if ! kill -0 "$COLLECTOR_PID" 2>/dev/null; then
            echo "bench/run.sh: the collector exited before writing its port" >&2
            show_collector_log "$log"
            exit 1
        fi
        sleep 0.05
    done
    if [[ ! -s $DIR/port ]]; then
        echo "bench/run.sh: the collector wrote no port file within 10 s" >&2
        show_collector_log "$log"
        exit 1
    fi
    PORT=$(<"$DIR/port")
}

# field KEY JSON_LINE: the number stored under "KEY" in the bench's flat JSON line.
field() {
    sed -n "s/.*\"$1\":\\([-0-9.e+]*\\).*/\\1/p" <<<"$2"
}

# median NUMBER...: the median (mean of the two middle values for an even count).
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
echo "cc:      $("$CC" --version | head -n 1)"

SO=$LIBDIR/libswtls.so
strip -o "$DIR/libswtls.stripped.so" "$SO"
SO_BYTES=$(stat -c %s "$SO")
SO_STRIPPED=$(stat -c %s "$DIR/libswtls.stripped.so")
echo "library: $SO: $SO_BYTES bytes, $SO_STRIPPED bytes stripped"

echo
echo "== certificates"
"$ROOT/target/debug/swtls" certs --out "$DIR" --server-name localhost --server-name 127.0.0.1 >/dev/null
echo "CA, server and client certificates in $DIR"

KEYS=(unary_p50_us unary_p90_us unary_p99_us unary_max_us unary_calls_per_s unary_first_us
      stream_msgs_per_s stream_mb_per_s stream_mib_per_s send_p50_us send_p99_us send_max_us
      peak_rss_kib)
declare -A VALUES=()

for ((run = 1; run <= RUNS; run++)); do
    log=$DIR/collector-$run.log
    start_collector "$log"
    echo
    echo "== run $run of $RUNS (collector pid $COLLECTOR_PID on 127.0.0.1:$PORT)"
    echo "command: SWTLS_CA_DIR=$DIR/ca SW_AGENT_COLLECTOR_BACKEND_SERVICES=127.0.0.1:$PORT" \
        "$BENCH $UNARY $MESSAGES $SIZE"
    set +e
    SWTLS_CA_DIR=$DIR/ca SW_AGENT_COLLECTOR_BACKEND_SERVICES=127.0.0.1:$PORT \
        timeout "$TIMEOUT" "$BENCH" "$UNARY" "$MESSAGES" "$SIZE" >"$DIR/bench-$run.out"
    rc=$?
    set -e
    cat "$DIR/bench-$run.out"
    if ((rc != 0)); then
        if ((rc == 124)); then
            echo "bench/run.sh: run $run did not finish within $TIMEOUT s (hung?)" >&2
        else
            echo "bench/run.sh: run $run failed (exit status $rc)" >&2
        fi
        if kill -0 "$COLLECTOR_PID" 2>/dev/null; then
            echo "bench/run.sh: the collector (pid $COLLECTOR_PID) is still running" >&2
        else
            wait "$COLLECTOR_PID" 2>/dev/null && crc=0 || crc=$?
            echo "bench/run.sh: the collector (pid $COLLECTOR_PID) had already exited" \
                "(status $crc) - stopped by someone else?" >&2
            COLLECTOR_PID=
        fi
        echo "bench/run.sh: the collector logged $(grep -c '^keepAlive' "$log" || true) keepAlive calls" >&2
        if grep -q '^shutting down' "$log"; then
            echo "bench/run.sh: the collector got SIGTERM or Ctrl-C during the run (not from this" \
                "script): it printed 'shutting down' before the bench failed" >&2
        fi
        show_collector_log "$log"
        exit 1
    fi
    stop_collector
    json=$(grep '^{' "$DIR/bench-$run.out" | tail -n 1)
    for k in "${KEYS[@]}"; do
        v=$(field "$k" "$json")
        if [[ -z $v ]]; then
            echo "bench/run.sh: no \"$k\" in the bench's JSON line: $json" >&2
            exit 1
        fi
        VALUES[$k]="${VALUES[$k]:-} $v"
    done
done

declare -A MED=()
for k in "${KEYS[@]}"; do
    # shellcheck disable=SC2086 # word splitting of the collected values is intended
    MED[$k]=$(median ${VALUES[$k]})
done

echo
echo "== median of $RUNS runs ($UNARY unary calls, $MESSAGES stream messages of $SIZE bytes)"
printf 'unary keepAlive latency us: p50 %s  p90 %s  p99 %s  max %s\n' \
    "${MED[unary_p50_us]}" "${MED[unary_p90_us]}" "${MED[unary_p99_us]}" "${MED[unary_max_us]}"
printf 'unary keepAlive: %s calls/s (first call, connect + handshake: %s us)\n' \
    "${MED[unary_calls_per_s]}" "${MED[unary_first_us]}"
printf 'stream Echo/collect: %s msgs/s, %s MB/s (%s MiB/s)\n' \
    "${MED[stream_msgs_per_s]}" "${MED[stream_mb_per_s]}" "${MED[stream_mib_per_s]}"
printf 'stream send latency us: p50 %s  p99 %s  max %s\n' \
    "${MED[send_p50_us]}" "${MED[send_p99_us]}" "${MED[send_max_us]}"
printf 'libswtls.so: %s bytes stripped (%s unstripped)\n' "$SO_STRIPPED" "$SO_BYTES"
printf 'peak RSS of the bench: %s KiB\n' "${MED[peak_rss_kib]}"

json="{\"runs\":$RUNS,\"unary_calls\":$UNARY,\"stream_messages\":$MESSAGES,\"message_size\":$SIZE"
for k in "${KEYS[@]}"; do
    json+=",\"$k\":${MED[$k]}"
done
json+=",\"so_bytes\":$SO_BYTES,\"so_stripped_bytes\":$SO_STRIPPED}"
echo "$json"
