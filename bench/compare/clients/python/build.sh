#!/usr/bin/env bash
# bench/compare/clients/python/build.sh OUT: writes OUT/swtls-python, OUT/grpcio and
# OUT/swtls-python-stubs (wrappers that exec $SWTLS_BENCH_PYTHON on the client script) and
# their .size files (bench/compare/CLIENTS.md). Nothing to compile: the bench venv holds
# grpcio, protobuf and swtls; the stubs of swtls-python-stubs are generated here from the
# test proto of the binding (the shape of SkyWalking's protocol) with grpcio-tools, run from
# a venv of its own (target/bench-protoc-venv: see protoc-requirements.txt).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/../../../lib.sh"
bench_out_dir "$0" "$@"
out=$OUT
: "${SWTLS_BENCH_PYTHON:?set SWTLS_BENCH_PYTHON to the bench venv python}"
root=$BENCH_ROOT
protos=$root/bindings/python/tests/protos
protoc_venv=$root/target/bench-protoc-venv
if [ ! -x "$protoc_venv/bin/python" ]; then
    python3 -m venv "$protoc_venv"
fi
"$protoc_venv/bin/python" -m pip --disable-pip-version-check -q install -r "$here/protoc-requirements.txt"
stubs=$out/python-stubs
rm -rf "$stubs"
mkdir -p "$stubs"
"$protoc_venv/bin/python" -m grpc_tools.protoc -I"$protos" --python_out="$stubs" --grpc_python_out="$stubs" \
    "$protos/skywalking_test.proto"
for pair in swtls-python:swtls_client.py grpcio:grpcio_client.py swtls-python-stubs:stubs_client.py; do
    name=${pair%%:*}
    script=$here/${pair#*:}
    # The harness measures the process it starts: exec, so that it is the interpreter.
    printf '#!/bin/sh\nSWTLS_BENCH_STUBS=%s exec "$SWTLS_BENCH_PYTHON" %s "$@"\n' "'$stubs'" "'$script'" >"$out/$name"
    chmod +x "$out/$name"
done
"$SWTLS_BENCH_PYTHON" "$here/size.py" "$out"
