#!/usr/bin/env bash
# The Java binding (bindings/java): builds the library with the `jni` cargo feature and
# the swtls tool (it makes the tests' certificates), runs the JUnit suite against
# grpc-java (Netty) servers on 127.0.0.1 (compile for Java 8, test, jar with the library
# inside), then the io.grpc.Channel module (bindings/java-grpc, artifact swtls-grpc, built
# against that jar): its tests run grpc-java's generated stubs (protoc and
# protoc-gen-grpc-java are downloaded by the build) on swtls against grpc-java servers. Both
# in one Maven reactor (`mvn verify` in bindings/: nothing is installed into the local Maven
# repository, which other checkouts may share). The same reactor builds the SkyWalking Java
# agent plugin (bindings/skywalking-java-plugin: swtls-skywalking-java-plugin-<version>.jar)
# and runs its end-to-end test: the real agent (apm-agent 9.3.0 from Maven Central) with the
# plugin against swtls-collector over mutual TLS with a token and a PKCS#1 DER client key,
# and the same set-up without the plugin, which must send nothing. Last, runs the example agent
# (examples/java) from the jar alone against swtls-collector over mutual TLS and checks
# what the collector decoded.
#
# Needs: cargo, a JDK 8+ (javac) and Maven; Maven downloads JUnit, grpc-java and protoc
# (test scope only; grpc-api is a provided dependency of swtls-grpc) from Maven Central.
# Run from anywhere: `bash .ci/test-java.sh` or `make test-java`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }

command -v cargo >/dev/null || { echo "test-java: cargo (rustup) is required"; exit 1; }
if ! command -v javac >/dev/null || ! command -v mvn >/dev/null; then
    step "java: installing a JDK and Maven (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless maven
fi

step "java: native library with the jni feature, swtls tool, swtls-collector"
cargo build --release --lib --features jni
cargo build --features cli --bin swtls
cargo build --release -p swtls-collector

step "java: mvn verify (bindings/java, bindings/java-grpc: io.grpc.Channel on swtls with grpc-java stubs, bindings/skywalking-java-plugin: the real agent on swtls)"
(cd bindings && mvn -B -ntp verify)
# The Maven version is the crate's (make dist-java checks it): the jar of this build, not
# one an older version left in target/.
VERSION=$(awk -F'"' '/^\[/ { p = ($0 == "[package]") } p && /^version *=/ { print $2; exit }' Cargo.toml)
JAR=bindings/java/target/swtls-$VERSION.jar
PLUGIN=bindings/skywalking-java-plugin/target/swtls-skywalking-java-plugin-$VERSION.jar
for built in "$JAR" "bindings/java-grpc/target/swtls-grpc-$VERSION.jar" "$PLUGIN"; do
    [ -f "$built" ] || { echo "no $built: are the versions of bindings/*/pom.xml Cargo.toml's, $VERSION?"; exit 1; }
done
jar tf "$JAR" | grep -x "native/linux-x86_64/libswtls.so" >/dev/null || { echo "the jar lacks the native library"; exit 1; }
plugin_entries=$(jar tf "$PLUGIN")
for entry in META-INF/services/org.apache.skywalking.apm.agent.core.boot.BootService \
        org/apache/skywalking/swtls/agent/SwtlsChannelManager.class \
        org/apache/skywalking/swtls/agent/shaded/grpc/SwtlsChannel.class; do
    printf '%s\n' "$plugin_entries" | grep -x "$entry" >/dev/null || { echo "the plugin jar lacks $entry"; exit 1; }
done
# The native libraries of the binding's jar, wherever it puts them, are in the plugin jar too.
for entry in $(jar tf "$JAR" | grep '^native/.*[^/]$'); do
    printf '%s\n' "$plugin_entries" | grep -x "$entry" >/dev/null || { echo "the plugin jar lacks $entry"; exit 1; }
done
if printf '%s\n' "$plugin_entries" | grep -E '^(io/grpc/|org/apache/skywalking/apm/dependencies/)' >/dev/null; then
    echo "the plugin jar bundles grpc classes: the agent has them"; exit 1
fi
echo "plugin jar: $PLUGIN ($(du -k "$PLUGIN" | cut -f1) KiB)"

step "java: example agent (examples/java) against swtls-collector with mutual TLS"
work=$(mktemp -d "${TMPDIR:-/tmp}/swtls-java-example.XXXXXX")
collector_pid=
cleanup() {
    if [ -n "$collector_pid" ]; then kill "$collector_pid" 2>/dev/null || true; wait "$collector_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
target/debug/swtls certs --out "$work/certs" --server-name 127.0.0.1 >/dev/null
target/release/swtls-collector serve --listen 127.0.0.1:0 --tls-dir "$work/certs/server" --mtls \
    --port-file "$work/port" >"$work/collector.log" 2>&1 &
collector_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "the collector did not start:"; cat "$work/collector.log"; exit 1; }
mkdir -p "$work/classes"
javac --release 8 -cp "$JAR" -d "$work/classes" examples/java/Agent.java
# Only the jar (no SWTLS_LIBRARY): the library is loaded from inside it.
env -u SWTLS_LIBRARY SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$(cat "$work/port")" \
    SWTLS_CA_DIR="$work/certs/ca" SW_AGENT_NAME=java-example SW_AGENT_INSTANCE_NAME=java-example-1 \
    java -cp "$JAR:$work/classes" Agent 3 20 200
for _ in $(seq 1 50); do [ "$(grep -c '^segment ' "$work/collector.log" || true)" -ge 60 ] && break; sleep 0.1; done
segments=$(grep -c '^segment .*service=java-example instance=java-example-1' "$work/collector.log" || true)
pings=$(grep -c '^keepAlive service=java-example instance=java-example-1' "$work/collector.log" || true)
echo "collector decoded $pings keepAlive and $segments segments from the Java example"
if [ "$pings" -ne 3 ] || [ "$segments" -ne 60 ]; then
    echo "test-java FAILED: expected 3 keepAlive and 60 segments"; cat "$work/collector.log"; exit 1
fi
echo "==> java OK"
