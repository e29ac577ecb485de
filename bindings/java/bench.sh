#!/usr/bin/env bash
# Benchmark of the Java binding: ns per Channel.report() call as the caller sees it (p50,
# p99) and messages/s delivered, over mutual TLS to a grpc-java server on 127.0.0.1.
#
#   bash bindings/java/bench.sh [messages] [bytes] [runs]     (defaults 200000 1024 3)
#
# With BENCH_BACKEND=host:port and BENCH_CA_DIR=<agent ca folder> it reports to that
# collector instead (e.g. `swtls-collector serve --mtls`, to compare with the C figures).
#
# Builds the library with the jni feature and the swtls tool (test certificates), compiles
# the binding and its tests, then runs org.apache.skywalking.swtls.bench.ReportBenchmark.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
cargo build -q --release --lib --features jni
cargo build -q --features cli --bin swtls
cd bindings/java
mvn -q -B -ntp test-compile dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test
exec java -Dswtls.cli="$ROOT/target/debug/swtls" \
    -cp "target/classes:target/test-classes:$(cat target/test-classpath.txt)" \
    org.apache.skywalking.swtls.bench.ReportBenchmark "$@"
