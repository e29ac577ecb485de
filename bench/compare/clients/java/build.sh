#!/usr/bin/env bash
# Builds the Java clients of the side-by-side benchmark (bench/compare/CLIENTS.md):
#
#   bench/compare/clients/java/build.sh OUT
#
# writes OUT/swtls-java, OUT/grpc-java (wrappers that exec java), OUT/<name>.size, and the
# jars they run in OUT/java/. Needs $SWTLS_ROOT/target/release/libswtls.so built with the
# jni feature, a JDK 8+ and Maven (grpc-java comes from Maven Central / ~/.m2).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/../../../lib.sh"
bench_out_dir "$0" "$@"
REPO=$BENCH_ROOT # the binding's sources: this checkout
ROOT=${SWTLS_ROOT:-$REPO}
LIB=$ROOT/target/release/libswtls.so
[ -f "$LIB" ] || { echo "$0: $LIB is missing: run cargo build --release --lib --features jni" >&2; exit 1; }

JAVA_OUT=$OUT/java
rm -rf "$JAVA_OUT"
mkdir -p "$JAVA_OUT/native" "$JAVA_OUT/swtls" "$JAVA_OUT/grpc"

# The binding jar as an agent ships it: the stripped library inside (loaded from the jar,
# the binding's default). Installed into ~/.m2 for this project's pom.
strip -o "$JAVA_OUT/native/libswtls.so" "$LIB"
(cd "$REPO/bindings/java" &&
    mvn -q -B -ntp -Dstyle.color=never -Dmaven.test.skip=true -Dswtls.native.dir="$JAVA_OUT/native" install) >&2

cd "$HERE"
mvn -q -B -ntp -Dstyle.color=never package dependency:build-classpath \
    -Dmdep.outputFile="$JAVA_OUT/classpath.txt" -Dmdep.includeScope=runtime >&2
cp target/swtls-bench-java-0.1.0-SNAPSHOT.jar "$JAVA_OUT/bench.jar"

# Split the dependencies: the swtls client gets only the binding jar, grpc-java the rest.
{ tr ':' '\n' <"$JAVA_OUT/classpath.txt"; echo; } | while read -r jar; do
    [ -n "$jar" ] || continue
    case "$jar" in
        */org/apache/skywalking/swtls/*) cp "$jar" "$JAVA_OUT/swtls/" ;;
        *) cp "$jar" "$JAVA_OUT/grpc/" ;;
    esac
done
[ "$(ls "$JAVA_OUT/swtls" | wc -l)" -eq 1 ] || { echo "$0: expected one swtls jar" >&2; exit 1; }

classpath() { # bench.jar followed by the jars of one client
    local cp=$JAVA_OUT/bench.jar jar
    for jar in "$JAVA_OUT/$1"/*.jar; do cp=$cp:$jar; done
    echo "$cp"
}
wrapper() { # NAME DEPS MAIN
    printf '#!/bin/sh\nexec java -cp \047%s\047 %s "$@"\n' "$(classpath "$2")" "$3" >"$OUT/$1"
    chmod +x "$OUT/$1"
}
wrapper swtls-java swtls bench.SwtlsMain
wrapper grpc-java grpc bench.GrpcMain

# What an agent ships to use each library (not the bench code).
swtls_jar=$(ls "$JAVA_OUT"/swtls/*.jar)
unzip -Z1 "$swtls_jar" | grep -cx 'native/linux-x86_64/libswtls.so' >/dev/null ||
    { echo "$0: $swtls_jar does not bundle libswtls.so" >&2; exit 1; }
printf '{"bytes": %d, "what": "%s (the Java binding jar, which bundles the stripped libswtls.so of %d bytes; counted once, as the jar)"}\n' \
    "$(stat -c %s "$swtls_jar")" "$(basename "$swtls_jar")" "$(stat -c %s "$JAVA_OUT/native/libswtls.so")" \
    >"$OUT/swtls-java.size"
grpc_jars=("$JAVA_OUT"/grpc/*.jar)
printf '{"bytes": %d, "what": "%d jars: grpc-netty-shaded and grpc-stub %s with all their run-time dependencies (%s)"}\n' \
    "$(cat "${grpc_jars[@]}" | wc -c)" "${#grpc_jars[@]}" \
    "$(basename "$(ls "$JAVA_OUT"/grpc/grpc-netty-shaded-*.jar)" .jar | sed 's/grpc-netty-shaded-//')" \
    "$(cd "$JAVA_OUT/grpc" && ls | sed 's/\.jar$//' | paste -sd, - | sed 's/,/, /g')" \
    >"$OUT/grpc-java.size"
