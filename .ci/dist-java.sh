#!/usr/bin/env bash
# make dist-java: the jars of target/dist/, built from the portable library.
#
#   bash .ci/dist-java.sh VERSION      # VERSION: Cargo.toml's; the Maven projects must say the same
#
# writes target/dist/swtls-VERSION.jar (the Java binding, with the JNI library inside at
# native/linux-x86_64/libswtls.so), target/dist/swtls-grpc-VERSION.jar (SwtlsChannel) and
# target/dist/swtls-skywalking-java-plugin-VERSION.jar (the SkyWalking Java agent plugin:
# both of them shaded onto the agent's grpc, with the same library).
#
# The library is the portable build with the jni feature (`.ci/portable.sh --features jni`:
# glibc 2.17 symbol versions, checked by .ci/check-glibc.sh). It comes out at the same path
# as the portable build without jni that the C tarball and the wheel ship
# (target/x86_64-unknown-linux-gnu/release/libswtls.so), and is copied away at once to
# target/dist-stage/java/native/linux-x86_64/. Same target directory on purpose: the jni
# feature adds only the jni crate, so cargo reuses every other dependency and rebuilds the
# swtls crate alone (about 30 s here), where a CARGO_TARGET_DIR of its own would build all
# dependencies a second time (about 3 min). The price: afterwards the portable output is
# the jni variant until the next `make portable`, which rebuilds the crate again (hence
# dist-java comes first in `make dist`); and this must not run alongside another portable
# build (`make -j dist`).
#
# The jars are packaged by Maven in bindings/ (tests skipped: `make test-java` runs them,
# and the consumer test there runs the jar this writes).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: dist-java.sh VERSION (make dist-java passes Cargo.toml's)"; exit 2; }
VERSION=$1
PLATFORM=linux-x86_64
STAGE=target/dist-stage/java
DIST=target/dist
JNI_PROBE=Java_org_apache_skywalking_swtls_Native_version

if ! command -v javac >/dev/null || ! command -v mvn >/dev/null; then
    echo "dist-java: installing a JDK and Maven (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless maven
fi

echo "dist-java: the portable library with the jni feature"
out=$(bash .ci/portable.sh --features jni | tail -n 1)
rm -rf "$STAGE" && mkdir -p "$STAGE/native/$PLATFORM" "$DIST"
LIB=$STAGE/native/$PLATFORM/libswtls.so
cp "$out/libswtls.so" "$LIB"
# (Not `objdump | grep -q`: grep stops at the first match, objdump dies of SIGPIPE, and
# pipefail makes that a failure.)
grep -q "$JNI_PROBE" <<<"$(objdump -T "$LIB")" ||
    { echo "dist-java: $out/libswtls.so has no JNI entry points ($JNI_PROBE): not the jni build"; exit 1; }
bash .ci/check-glibc.sh "$LIB"

echo "dist-java: the jars (mvn package in bindings/, with $LIB)"
rm -f bindings/java/target/swtls-*.jar bindings/java-grpc/target/swtls-grpc-*.jar
(cd bindings && mvn -B -ntp -q -Dstyle.color=never -pl java,java-grpc,skywalking-java-plugin package -Dmaven.test.skip=true -Dprotoc.skip=true -Dswtls.native.dir="$ROOT/$STAGE/native/$PLATFORM")
for jar in bindings/java/target/swtls-"$VERSION".jar bindings/java-grpc/target/swtls-grpc-"$VERSION".jar; do
    if [ ! -f "$jar" ]; then
        echo "dist-java: no $jar: the Maven version of bindings/pom.xml, bindings/java/pom.xml and"
        echo "bindings/java-grpc/pom.xml (and swtls-grpc's dependency on swtls) must be Cargo.toml's, $VERSION; built:"
        ls bindings/java/target/*.jar bindings/java-grpc/target/*.jar 2>/dev/null || true
        exit 1
    fi
done

# The binding jar carries exactly the staged library, and nothing else under native/.
JAR=bindings/java/target/swtls-$VERSION.jar
natives=$(jar tf "$JAR" | grep '^native/.*[^/]$' || true)
[ "$natives" = "native/$PLATFORM/libswtls.so" ] ||
    { echo "dist-java: $JAR should carry native/$PLATFORM/libswtls.so alone under native/; it has: ${natives:-nothing}"; exit 1; }
mkdir -p "$STAGE/check" && (cd "$STAGE/check" && jar xf "$ROOT/$JAR" "native/$PLATFORM/libswtls.so")
cmp "$STAGE/check/native/$PLATFORM/libswtls.so" "$LIB" ||
    { echo "dist-java: the library in $JAR is not the portable jni build $LIB"; exit 1; }
rm -rf "$STAGE/check"

PLUGIN=bindings/skywalking-java-plugin/target/swtls-skywalking-java-plugin-$VERSION.jar
[ -f "$PLUGIN" ] || { echo "dist-java: no $PLUGIN (its pom's version must be $VERSION)"; exit 1; }
mkdir -p "$STAGE/check" && (cd "$STAGE/check" && jar xf "$ROOT/$PLUGIN" "native/$PLATFORM/libswtls.so")
cmp "$STAGE/check/native/$PLATFORM/libswtls.so" "$LIB" ||
    { echo "dist-java: the library in $PLUGIN is not the portable jni build $LIB"; exit 1; }
rm -rf "$STAGE/check"

cp "$JAR" "$DIST/swtls-$VERSION.jar"
cp "$PLUGIN" "$DIST/swtls-skywalking-java-plugin-$VERSION.jar"
cp "bindings/java-grpc/target/swtls-grpc-$VERSION.jar" "$DIST/swtls-grpc-$VERSION.jar"
ls -l "$DIST/swtls-$VERSION.jar" "$DIST/swtls-grpc-$VERSION.jar" "$DIST/swtls-skywalking-java-plugin-$VERSION.jar"
