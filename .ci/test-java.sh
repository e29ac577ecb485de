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
# and the same set-up without the plugin, which must send nothing. Then runs the example agent
# (examples/java; its messages from SkyWalking's generated apm-network classes, fetched with
# protobuf-java from Maven Central) with the library loaded from the jar against
# swtls-collector over mutual TLS and checks what the collector decoded. Last, the consumer
# test (tests/java-consumer): a Maven project of its own, with the jar installed into a
# temporary local repository, makes a keepAlive over mutual TLS. It takes the jar of
# `make dist` (target/dist/swtls-VERSION.jar, with the portable library) when there is
# one, else the jar just built.
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
# The Maven version is the crate's (make dist-java checks it): the jar of this build, not
# one an older version left in target/.
VERSION=$(awk -F'"' '/^\[/ { p = ($0 == "[package]") } p && /^version *=/ { print $2; exit }' Cargo.toml)
# The agent's end-to-end test runs the plugin jar that `make dist` ships (its portable
# library) when there is one, else the one this build packages.
e2e_plugin=()
if [ -f "target/dist/swtls-skywalking-java-plugin-$VERSION.jar" ]; then
    e2e_plugin=("-De2e.plugin.jar=$ROOT/target/dist/swtls-skywalking-java-plugin-$VERSION.jar")
    echo "the agent's end-to-end test runs the plugin of make dist: ${e2e_plugin[0]#*=}"
fi
(cd bindings && mvn -B -ntp verify "${e2e_plugin[@]}")
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
# The example's messages are SkyWalking's generated classes (apm-network) on protobuf-java,
# the two jars its header names, fetched from Maven Central (not their dependencies: the
# message classes need only protobuf-java).
for artifact in org.apache.skywalking:apm-network:9.3.0 com.google.protobuf:protobuf-java:3.25.9; do
    mvn -B -ntp -q -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
        -Dartifact="$artifact" -DoutputDirectory="$work/example-lib"
done
example_cp="$JAR:$work/example-lib/apm-network-9.3.0.jar:$work/example-lib/protobuf-java-3.25.9.jar"
javac --release 8 -cp "$example_cp" -d "$work/classes" examples/java/Agent.java
# The library only from the swtls jar (no SWTLS_LIBRARY): it is loaded from inside it.
env -u SWTLS_LIBRARY SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$(cat "$work/port")" \
    SWTLS_CA_DIR="$work/certs/ca" SW_AGENT_NAME=java-example SW_AGENT_INSTANCE_NAME=java-example-1 \
    java -cp "$example_cp:$work/classes" Agent 3 20 200
for _ in $(seq 1 50); do [ "$(grep -c '^segment ' "$work/collector.log" || true)" -ge 60 ] && break; sleep 0.1; done
segments=$(grep -c '^segment .*service=java-example instance=java-example-1' "$work/collector.log" || true)
pings=$(grep -c '^keepAlive service=java-example instance=java-example-1' "$work/collector.log" || true)
echo "collector decoded $pings keepAlive and $segments segments from the Java example"
if [ "$pings" -ne 3 ] || [ "$segments" -ne 60 ]; then
    echo "test-java FAILED: expected 3 keepAlive and 60 segments"; cat "$work/collector.log"; exit 1
fi

step "java: consumer test (tests/java-consumer): a Maven project that depends on the jar installed into a temporary local repository"
if [ -f "target/dist/swtls-$VERSION.jar" ]; then
    CONSUMER_JAR=target/dist/swtls-$VERSION.jar
    echo "the jar of make dist: $CONSUMER_JAR ($(date -r "$CONSUMER_JAR" '+%F %T'))"
else
    CONSUMER_JAR=$JAR
    echo "no target/dist/swtls-$VERSION.jar (make dist-java writes it): the jar just built, $CONSUMER_JAR"
fi
# Installed as the README tells a Maven user to (install-file 3.x takes the pom inside the
# jar), but into a local repository of its own, not ~/.m2, which other checkouts may share.
# The consumer build then gets its plugins and JUnit from ~/.m2 as a file:// repository (the
# "seed": copies, no downloads), and swtls only from that fresh local repository.
pom_dir=META-INF/maven/org.apache.skywalking/swtls
(cd "$work" && jar xf "$ROOT/$CONSUMER_JAR" "$pom_dir/pom.xml" "$pom_dir/pom.properties")
jar_version=$(sed -n 's/^version=//p' "$work/$pom_dir/pom.properties")
(cd "$work" && mvn -B -ntp -q -Dstyle.color=never \
    org.apache.maven.plugins:maven-install-plugin:3.1.2:install-file \
    -Dfile="$ROOT/$CONSUMER_JAR" -DlocalRepositoryPath="$work/m2")
cmp "$work/m2/org/apache/skywalking/swtls/$jar_version/swtls-$jar_version.pom" "$work/$pom_dir/pom.xml"
cp -r tests/java-consumer "$work/consumer"
(cd "$work/consumer" && env -u SWTLS_LIBRARY SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$(cat "$work/port")" \
    SWTLS_CA_DIR="$work/certs/ca" SW_AGENT_NAME=java-consumer SW_AGENT_INSTANCE_NAME=java-consumer-1 \
    mvn -B -ntp -Dstyle.color=never -Dmaven.repo.local="$work/m2" -Dswtls.version="$jar_version" \
    -Dseed.repository="file://${SWTLS_MAVEN_SEED:-$HOME/.m2/repository}" test)
cmp "$work/m2/org/apache/skywalking/swtls/$jar_version/swtls-$jar_version.jar" "$CONSUMER_JAR"
consumer_pings=$(grep -c '^keepAlive service=java-consumer instance=java-consumer-1$' "$work/collector.log" || true)
if [ "$consumer_pings" -ne 1 ]; then
    echo "test-java FAILED: the collector decoded $consumer_pings keepAlive from the consumer test, expected 1"
    cat "$work/collector.log"; exit 1
fi
echo "collector decoded the consumer test's keepAlive (swtls $jar_version from a local repository)"
echo "==> java OK"
