# shellcheck shell=bash
# Helpers the benchmark scripts share; sourced, never run:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"      (bench/report.sh; adjust the path)
#
# bench/report.sh, bench/compare/run.sh and bench/compare/clients/*/build.sh each checked
# their parameters, found Go, built the collector and the swtls tool, and (report.sh) started
# and stopped swtls-collector in a way of their own; they do it here once. (The side-by-side
# harness, bench/compare/run.py, keeps its sink in Python: it reads the sink's log and CPU
# time while it runs, which a shell helper cannot do for it.)
#
# Sets BENCH_ROOT: the checkout this file is in.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# bench_positive_ints WHO PREFIX NAME...: each variable NAME must hold a positive integer;
# otherwise says "WHO: PREFIXNAME must be a positive integer" and exits 2 (the user sets
# PREFIXNAME; the script reads it into NAME).
bench_positive_ints() {
    local who=$1 prefix=$2 v
    shift 2
    for v in "$@"; do
        if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} < 1)); then
            echo "$who: $prefix$v must be a positive integer, not '${!v}'" >&2
            exit 2
        fi
    done
}

# bench_out_dir SCRIPT ARGS...: the clients' build.sh take one argument, the folder OUT
# to write into: checks that, creates it and sets OUT to its absolute path.
bench_out_dir() {
    local script=$1
    shift
    [ $# -eq 1 ] || { echo "usage: $script OUT" >&2; exit 2; }
    mkdir -p "$1"
    OUT=$(cd "$1" && pwd)
}

# bench_find_go: Go from /usr/local/go/bin when it is not on PATH (where the official
# tarball installs it); the caller checks `command -v go` if it needs it.
bench_find_go() {
    if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
        export PATH="/usr/local/go/bin:$PATH"
    fi
}

# bench_build_tools: the release swtls-collector (the benchmarks' backend) and the debug
# swtls tool (it makes the certificates), as target/release/swtls-collector and
# target/debug/swtls.
bench_build_tools() {
    (cd "$BENCH_ROOT" && cargo build -q --release -p swtls-collector && cargo build -q --features cli --bin swtls)
}

# bench_start_collector WHO DIR [EXTRA SERVE ARGS...]: a fresh
# `swtls-collector serve --mtls` on 127.0.0.1 with the server certificates of DIR/server,
# logging into DIR/collector.log; waits up to 10 s for its port. Sets COLLECTOR_PID and
# PORT; on failure prints the log and exits 1.
COLLECTOR_PID=
bench_start_collector() {
    local who=$1 dir=$2 i
    shift 2
    rm -f "$dir/port"
    "$BENCH_ROOT/target/release/swtls-collector" serve --listen 127.0.0.1:0 --tls-dir "$dir/server" --mtls \
        --port-file "$dir/port" "$@" >"$dir/collector.log" 2>&1 &
    COLLECTOR_PID=$!
    for ((i = 0; i < 200; i++)); do
        [[ -s $dir/port ]] && break
        sleep 0.05
    done
    if [[ ! -s $dir/port ]]; then
        echo "$who: the collector did not start:" >&2
        cat "$dir/collector.log" >&2
        exit 1
    fi
    PORT=$(<"$dir/port")
}

# bench_stop_collector: stops the collector bench_start_collector started, if it runs.
bench_stop_collector() {
    if [[ -n $COLLECTOR_PID ]]; then
        kill "$COLLECTOR_PID" 2>/dev/null || true
        wait "$COLLECTOR_PID" 2>/dev/null || true
        COLLECTOR_PID=
    fi
}
