#!/usr/bin/env bash
# Runs the C examples under valgrind memcheck against the mTLS collector: no errors and
# no definite leaks allowed. The examples are linked against the debug build of the
# library here, so that reports carry symbols and the suppressions (.ci/valgrind.supp,
# two known false positives in ring's AES-GCM assembly) can be matched by name.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --lib
cargo build -q --release -p swtls-collector
cargo build -q --features cli --bin swtls
COLLECTOR=target/release/swtls-collector
out_dir=target/examples-valgrind
mkdir -p "$out_dir"
for ex in keepalive report agent; do
    cc -O1 -g -Wall -Wextra -Werror -std=c11 -pthread -Iinclude -o "$out_dir/$ex" "examples/c/$ex.c" \
        -L"$PWD/target/debug" -lswtls -Wl,-rpath,"$PWD/target/debug"
done

work=$(mktemp -d)
pid=
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT
target/debug/swtls certs --out "$work" --server-name localhost --server-name 127.0.0.1 >/dev/null
"$COLLECTOR" serve --listen 127.0.0.1:0 --tls-dir "$work/server" --mtls --port-file "$work/port" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
export SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$(cat "$work/port")" SWTLS_CA_DIR="$work/ca"
"$COLLECTOR" encode-segment --trace t --segment s --service svc --instance i --out "$work/seg.bin" >/dev/null

# valgrind's own error exit code is 99, distinct from the examples' exit 1.
vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --suppressions=.ci/valgrind.supp --num-callers=30 --log-file="$work/vg.%p")
check() { # name expected_exit expected_stdout_prefix command...
    local name=$1 want_rc=$2 want_out=$3; shift 3
    local out rc
    set +e; out=$("${vg[@]}" "$@" 2>/dev/null); rc=$?; set -e
    if [ "$rc" -ne "$want_rc" ] || [[ "$out" != "$want_out"* ]]; then
        echo "valgrind $name: exit $rc, output '$out' (wanted exit $want_rc, '$want_out...')"
        cat "$work"/vg.* ; exit 1
    fi
    if grep -q "definitely lost: [1-9]" "$work"/vg.*; then echo "valgrind $name: definite leak"; cat "$work"/vg.*; exit 1; fi
    rm -f "$work"/vg.*
    echo "valgrind $name: clean"
}
check keepalive 0 "OK" "$out_dir/keepalive" vg-service vg-instance
check report 0 "sent 50" "$out_dir/report" "$work/seg.bin" 50
check report-async 0 "queued=50 sent=50 acknowledged=50 pending=0" "$out_dir/report" "$work/seg.bin" 50 --async
check agent 0 "keepalive ok=" "$out_dir/agent" vg-service vg-instance 1500 2 500
mkdir -p "$work/caonly" && cp "$work/ca/ca.crt" "$work/caonly/"
SWTLS_CA_DIR="$work/caonly" check keepalive-without-client-cert 1 "TLS_CLIENT_CERT_REQUIRED:" "$out_dir/keepalive" a b
