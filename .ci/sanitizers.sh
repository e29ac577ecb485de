#!/usr/bin/env bash
# The C API test program (tests/c/api.c: every function, including NULLs, double close and
# use after close) and the concurrency stress program (tests/c/stress.c: 16 threads and a
# close from another thread), built with -fsanitize=address,undefined and run against the
# mTLS collector; then both under valgrind memcheck (zero errors, zero definite leaks).
# The sanitizers instrument the C side and intercept every malloc/free, including the
# library's (Rust uses the system allocator); the library itself is not instrumented.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --lib
cargo build -q --lib
cargo build -q --release -p swtls-collector
cargo build -q --features cli --bin swtls
out=target/c-tests
mkdir -p "$out"
warn=(-Wall -Wextra -Werror -std=c11 -Iinclude)
for prog in api stress; do
    cc -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all "${warn[@]}" \
        -o "$out/$prog-asan" "tests/c/$prog.c" -Ltarget/release -lswtls -Wl,-rpath,"$PWD/target/release" -lpthread
    cc -O1 -g "${warn[@]}" -o "$out/$prog-vg" "tests/c/$prog.c" \
        -Ltarget/debug -lswtls -Wl,-rpath,"$PWD/target/debug" -lpthread
done

work=$(mktemp -d)
pid=
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT
target/debug/swtls certs --out "$work" --server-name localhost --server-name 127.0.0.1 >/dev/null
target/release/swtls-collector serve --listen 127.0.0.1:0 --tls-dir "$work/server" --mtls \
    --port-file "$work/port" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
export SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$(cat "$work/port")" SWTLS_CA_DIR="$work/ca"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "asan+ubsan api:    $(timeout 120 "$out/api-asan")"
echo "asan+ubsan stress: $(timeout 120 "$out/stress-asan" 5)"

vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --suppressions=.ci/valgrind.supp --num-callers=30 --log-file="$work/vg.%p")
for run in "api" "stress 4"; do
    set -- $run
    prog=$1; shift
    set +e; result=$(timeout 300 "${vg[@]}" "$out/$prog-vg" "$@"); rc=$?; set -e
    if [ "$rc" -ne 0 ] || grep -q "definitely lost: [1-9]" "$work"/vg.*; then
        echo "valgrind $prog: exit $rc: $result"; cat "$work"/vg.*; exit 1
    fi
    rm -f "$work"/vg.*
    echo "valgrind $prog: clean: $result"
done
