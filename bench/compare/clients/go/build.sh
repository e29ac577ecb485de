#!/usr/bin/env bash
# Builds the Go benchmark clients into OUT (see bench/compare/CLIENTS.md):
#   OUT/swtls-go   the swtls Go binding, libswtls.a linked in (-tags swtls_static), so the
#                  binary needs only glibc at run time;
#   OUT/swtls-go-stubs  the same workloads through protoc-gen-go-grpc stubs (pb/) on the
#                  binding's grpc.ClientConnInterface (bindings/go/grpcconn), linked the same way;
#   OUT/grpc-go    grpc-go with mutual TLS (pure Go, CGO_ENABLED=0);
#   OUT/NAME.size  the stripped binary's size (it includes the Go runtime and the bench
#                  main), with "baseline_bytes": a stripped hello-world built the same way,
#                  so that bytes - baseline_bytes estimates the library's own share.
# Needs Go >= 1.26, a C compiler, make and pkg-config; libswtls.a of $SWTLS_BENCH_LIB (the
# default-feature library run.sh keeps there; default $SWTLS_ROOT/target/release) must
# exist: it is installed as it is (make -o lib install LIBSRC=..., no cargo build) into a
# temporary prefix, which the binding finds with pkg-config.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/../../../lib.sh"
bench_out_dir "$0" "$@"
ROOT=$(cd "${SWTLS_ROOT:-$BENCH_ROOT}" && pwd)
bench_find_go
# The default-feature library (run.sh keeps it in SWTLS_BENCH_LIB), as Go agents install it.
LIB=${SWTLS_BENCH_LIB:-$ROOT/target/release}
[ -f "$LIB/libswtls.a" ] || { echo "$LIB/libswtls.a is missing (cargo build --release --lib)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/swtls-bench-go.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
make -s -C "$ROOT" -o lib install PREFIX="$tmp/prefix" LIBSRC="$LIB"
export PKG_CONFIG_PATH=$tmp/prefix/lib/pkgconfig
# Go's build cache keys a cgo package on its CGO_* flags but not on pkg-config's output
# (go help cache): with -trimpath, a package compiled in an earlier run (or another
# checkout) would be reused with that run's -L folder, gone or someone else's. Naming this
# prefix in CGO_LDFLAGS as well makes the cache key change with it.
export CGO_LDFLAGS="-L$tmp/prefix/lib"
# A workspace replace makes the build use $SWTLS_ROOT's binding even when this script is
# run from another checkout (the library is $SWTLS_ROOT's too, installed above).
cat >"$tmp/go.work" <<WORK
go 1.26.0
use $HERE
replace github.com/apache/skywalking-swtls/bindings/go => $ROOT/bindings/go
replace github.com/apache/skywalking-swtls/bindings/go/grpcconn => $ROOT/bindings/go/grpcconn
WORK
export GOWORK=$tmp/go.work CGO_ENABLED=1 GOFLAGS=-buildvcs=false

build() { go build -trimpath -ldflags='-s -w' "$@"; }
(cd "$HERE" && build -tags swtls_static -o "$OUT/swtls-go" ./cmd/swtls-go)
(cd "$HERE" && build -tags swtls_static -o "$OUT/swtls-go-stubs" ./cmd/swtls-go-stubs)
# grpc-go needs no C: built as Go programs usually are without cgo (fully static).
(cd "$HERE" && CGO_ENABLED=0 build -o "$OUT/grpc-go" ./cmd/grpc-go)
for name in swtls-go swtls-go-stubs; do
    if ldd "$OUT/$name" | grep libswtls >/dev/null; then
        echo "$name still loads libswtls.so:" >&2; ldd "$OUT/$name" >&2; exit 1
    fi
done

mkdir "$tmp/hello"
printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n' >"$tmp/hello/main.go"
printf 'module hello\n\ngo 1.26.0\n' >"$tmp/hello/go.mod"
(cd "$tmp/hello" && GOWORK=off build -o "$tmp/hello/hello" .)
baseline=$(stat -c %s "$tmp/hello/hello")

size() { # NAME WHAT
    printf '{"bytes": %d, "baseline_bytes": %d, "what": "%s"}\n' "$(stat -c %s "$OUT/$1")" "$baseline" "$2" >"$OUT/$1.size"
}
hello="baseline_bytes: a stripped Go hello world (fmt.Println), $(go env GOVERSION)"
size swtls-go "stripped static Go binary incl. the bench main (go build -trimpath -ldflags='-s -w' -tags swtls_static: Go runtime + bindings/go + libswtls.a; loads only glibc: libc, libm, libgcc_s); $hello"
size swtls-go-stubs "stripped static Go binary incl. the bench main and its generated stubs (go build -trimpath -ldflags='-s -w' -tags swtls_static: Go runtime + bindings/go + bindings/go/grpcconn + grpc-go v1.85.0 and protobuf-go for the stub types + libswtls.a; loads only glibc: libc, libm, libgcc_s); $hello"
size grpc-go "stripped static Go binary incl. the bench main (CGO_ENABLED=0 go build -trimpath -ldflags='-s -w': Go runtime + grpc-go v1.85.0, no shared libraries); $hello"
