#!/usr/bin/env bash
# bench/compare/clients/python/build.sh OUT: writes OUT/swtls-python and OUT/grpcio (wrappers
# that exec $SWTLS_BENCH_PYTHON on the client script) and their .size files
# (bench/compare/CLIENTS.md). Nothing to compile: the bench venv holds grpcio and swtls.
set -euo pipefail
out=${1:?usage: build.sh OUT}
: "${SWTLS_BENCH_PYTHON:?set SWTLS_BENCH_PYTHON to the bench venv python}"
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
for pair in swtls-python:swtls_client.py grpcio:grpcio_client.py; do
    name=${pair%%:*}
    script=$here/${pair#*:}
    # The harness measures the process it starts: exec, so that it is the interpreter.
    printf '#!/bin/sh\nexec "$SWTLS_BENCH_PYTHON" %s "$@"\n' "'$script'" >"$out/$name"
    chmod +x "$out/$name"
done
"$SWTLS_BENCH_PYTHON" "$here/size.py" "$out"
