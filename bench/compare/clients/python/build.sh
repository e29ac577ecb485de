#!/usr/bin/env bash
# bench/compare/clients/python/build.sh OUT: writes OUT/swtls-python, OUT/grpcio and
# OUT/swtls-python-stubs (wrappers that exec $SWTLS_BENCH_PYTHON on the client script) and
# their .size files (bench/compare/CLIENTS.md). Nothing to compile: the bench venv holds
# grpcio, grpcio-tools and swtls; the stubs of swtls-python-stubs are generated here, with
# grpcio-tools, from the test proto of the binding (the shape of SkyWalking's protocol).
set -euo pipefail
out=${1:?usage: build.sh OUT}
: "${SWTLS_BENCH_PYTHON:?set SWTLS_BENCH_PYTHON to the bench venv python}"
here=$(cd "$(dirname "$0")" && pwd)
protos=$(cd "$here/../../../../bindings/python/tests/protos" && pwd)
mkdir -p "$out"
stubs=$out/python-stubs
rm -rf "$stubs"
mkdir -p "$stubs"
"$SWTLS_BENCH_PYTHON" -m grpc_tools.protoc -I"$protos" --python_out="$stubs" --grpc_python_out="$stubs" \
    "$protos/skywalking_test.proto"
for pair in swtls-python:swtls_client.py grpcio:grpcio_client.py swtls-python-stubs:stubs_client.py; do
    name=${pair%%:*}
    script=$here/${pair#*:}
    # The harness measures the process it starts: exec, so that it is the interpreter.
    printf '#!/bin/sh\nSWTLS_BENCH_STUBS=%s exec "$SWTLS_BENCH_PYTHON" %s "$@"\n' "'$stubs'" "'$script'" >"$out/$name"
    chmod +x "$out/$name"
done
"$SWTLS_BENCH_PYTHON" "$here/size.py" "$out"
