#!/usr/bin/env bash
# The side-by-side benchmark (issue 6): swtls from C, Python, Go and Java against grpcio,
# grpc-go and grpc-java (Netty), one mutual-TLS sink on 127.0.0.1, the same workloads, in one
# run. See bench/compare/CLIENTS.md for the clients and bench/compare/run.py for the method.
#
#   bash bench/compare/run.sh           full run (about 7 minutes on 2 vCPUs): rewrites the
#                                       generated section of BENCHMARKS.md and
#                                       docs/bench/compare.png
#   bash bench/compare/run.sh --quick   small sizes, one round (CI): report in target/bench-compare/
#
# Other flags go to run.py (--rounds N, --messages N, --idle S, --clients a,b; a run with
# any of them writes its report into target/bench-compare/ too).
#
# Builds first: a venv in target/bench-venv (grpcio, matplotlib, the swtls Python binding),
# the release library (default features, for C and Go; the jni feature, for Java), swtls-collector (the sink and tls-pipe), the
# swtls tool (certificates), then each language's clients into target/bench-compare/bin.
# Needs cargo, a C compiler, python3 with venv, Go >= 1.26, a JDK 8+ and Maven; installs the
# JDK and Maven (Debian packages) when they are missing.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ROOT=$BENCH_ROOT
cd "$ROOT"
export CARGO_TERM_COLOR=never
step() { printf '\n==> %s\n' "$*" >&2; }

bench_find_go
command -v cargo >/dev/null || { echo "bench/compare: cargo (rustup) is required" >&2; exit 1; }
command -v go >/dev/null || { echo "bench/compare: Go 1.26 or newer is required (https://go.dev/dl)" >&2; exit 1; }
if ! command -v javac >/dev/null || ! command -v mvn >/dev/null; then
    step "installing a JDK and Maven (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless maven
fi

VENV=$ROOT/target/bench-venv
step "python: venv in target/bench-venv (grpcio, matplotlib, the swtls binding)"
if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p target
    python3 -m venv "$VENV" || { echo "bench/compare: cannot create a venv (apt-get install python3-venv)" >&2; exit 1; }
fi
pip=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install -r bench/compare/requirements.txt
# The binding builds the library as the wheel ships it (default features).
"${pip[@]}" install --force-reinstall --no-deps ./bindings/python

step "rust: the library as C, Python and Go agents ship it (default features) and as the Java binding ships it (jni feature), swtls-collector, swtls tool"
# The C and Go clients link the default-feature library (what the C tarball and the wheel
# carry), kept in target/bench-compare/lib; the jni build that follows writes
# target/release, where the Java client takes it from.
cargo build -q --release --lib
LIB=$ROOT/target/bench-compare/lib
rm -rf "$LIB"
mkdir -p "$LIB"
cp target/release/libswtls.so target/release/libswtls.a "$LIB/"
cp -P target/release/libswtls.so.[0-9]* "$LIB/" # the soname link build.rs makes
cargo build -q --release --lib --features jni
bench_build_tools

export SWTLS_ROOT=$ROOT SWTLS_BENCH_PYTHON=$VENV/bin/python SWTLS_BENCH_LIB=$LIB
BIN=$ROOT/target/bench-compare/bin
rm -rf "$BIN"
mkdir -p "$BIN"
"${CC:-cc}" -O2 -Wall -Wextra -Werror -std=c11 -o "$BIN/measure" bench/compare/measure.c
for lang in c python go java; do
    step "clients: $lang"
    bash "bench/compare/clients/$lang/build.sh" "$BIN"
done

step "running (progress below; figures are summarised at the end)"
exec "$VENV/bin/python" bench/compare/run.py "$@"
