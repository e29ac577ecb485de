#!/usr/bin/env bash
# The Go binding's checks (what `make test-go` runs), as a user builds it: the library
# installed with `make install`, found with pkg-config, and bindings/go on its own.
#   1. builds the release library and swtls-collector, and installs the library into a
#      temporary prefix (make install PREFIX=...);
#   2. copies bindings/go alone (nothing else of the repository) into a temporary folder,
#      with PKG_CONFIG_PATH=prefix/lib/pkgconfig; checks that the go directives of both
#      modules are no newer than skywalking-go's and that the core package (both link
#      modes) imports nothing outside the standard library;
#   3. in the copy: go mod download/verify, go vet (both link modes), go test (grpc-go
#      servers with mutual TLS on loopback; libswtls.so.0 from the prefix through
#      LD_LIBRARY_PATH), go test -race, and go test -tags swtls_static: libswtls.a linked
#      in even though libswtls.so sits next to it, checked with ldd, built with
#      -Wl,--no-as-needed (as compilers that do not pass --as-needed by default link) and
#      run without LD_LIBRARY_PATH;
#   4. in the copy's grpcconn (the grpc.ClientConnInterface, its own module, which finds
#      the core through `replace ... => ../`): go mod download/verify, go vet, go test and
#      go test -race (protoc-gen-go-grpc clients against grpc-go servers with mutual TLS;
#      the generated code is committed, so protoc is not needed);
#   5. gofmt on the repository's Go code; builds examples/go/agent with an rpath to the
#      prefix (CGO_LDFLAGS, the documented way) and runs it, without LD_LIBRARY_PATH,
#      against swtls-collector with mutual TLS (certificates made with openssl), configured
#      only from SW_AGENT_* variables and SWTLS_CA_DIR, and checks what the collector
#      decoded (the example encodes the protobuf messages by hand).
# Needs Go >= 1.24 (GOTOOLCHAIN=local: the installed one, nothing downloaded), a C compiler
# (cgo), pkg-config, Rust and openssl.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=never

# skywalking-go's go directive (its go.mod and plugins/core/go.mod say `go 1.24`): the
# binding must not make an agent built with it raise its own.
SKYWALKING_GO_DIRECTIVE=1.24

step() { printf '\n==> %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null || fail "go ($SKYWALKING_GO_DIRECTIVE or newer) is required for the Go binding"
if ! command -v pkg-config >/dev/null; then
    echo "installing: pkg-config"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pkg-config
fi
export CGO_ENABLED=1 GOTOOLCHAIN=local

work=$(mktemp -d "${TMPDIR:-/tmp}/swtls-go.XXXXXX")
collector_pid=
cleanup() {
    if [ -n "$collector_pid" ]; then kill "$collector_pid" 2>/dev/null || true; wait "$collector_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
prefix=$work/prefix
copy=$work/go
# Running against the installed libswtls.so.0 (dynamic link): the prefix comes first.
libpath=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

step "release library and collector (cargo build --release), make install PREFIX=$prefix"
cargo build -q --release --lib
cargo build -q --release -p swtls-collector
COLLECTOR=$ROOT/target/release/swtls-collector
make -s install PREFIX="$prefix"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
echo "pkg-config --cflags --libs swtls: $(pkg-config --cflags --libs swtls)"
echo "pkg-config --static --libs swtls: $(pkg-config --static --libs swtls)"

step "bindings/go alone in $copy ($(go version))"
cp -R bindings/go "$copy"
cd "$copy"
for mod in . grpcconn; do
    directive=$(cd "$mod" && go mod edit -json | sed -n 's/^[[:space:]]*"Go": "\(.*\)",\{0,1\}$/\1/p')
    [ -n "$directive" ] || fail "$mod/go.mod has no go directive"
    # Go orders 1.24 < 1.24.0 < 1.24.1, as sort -V does.
    newest=$(printf '%s\n%s\n' "$directive" "$SKYWALKING_GO_DIRECTIVE" | sort -V | tail -n 1)
    if [ "$newest" != "$SKYWALKING_GO_DIRECTIVE" ]; then
        fail "$mod/go.mod says go $directive, newer than skywalking-go's go $SKYWALKING_GO_DIRECTIVE"
    fi
    echo "$mod/go.mod: go $directive (skywalking-go: go $SKYWALKING_GO_DIRECTIVE)"
done
for tags in "" swtls_static; do
    outside=$(go list -tags "$tags" -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' . |
        grep -vx 'github.com/apache/skywalking-swtls/bindings/go' || true)
    [ -z "$outside" ] || fail "the core package (tags '$tags') imports packages outside the standard library: $outside"
done
echo "the core package imports only the standard library (grpc-go is for its tests)"
go mod download && go mod verify
(cd grpcconn && go mod download && go mod verify)

step "bindings/go: go vet"
go vet ./...
go vet -tags swtls_static ./...

step "bindings/go: go test (libswtls.so.0 from the prefix)"
LD_LIBRARY_PATH=$libpath go test -count=1 ./...

step "bindings/go: go test -race"
LD_LIBRARY_PATH=$libpath go test -race -count=1 ./...

step "bindings/go: go test -tags swtls_static (libswtls.a linked in, libswtls.so next to it)"
CGO_LDFLAGS=-Wl,--no-as-needed go test -tags swtls_static -c -o "$work/swtls-static.test" .
deps=$(env -u LD_LIBRARY_PATH ldd "$work/swtls-static.test")
echo "$deps"
if grep -F libswtls <<<"$deps" >/dev/null; then fail "the swtls_static test binary loads libswtls.so"; fi
env -u LD_LIBRARY_PATH "$work/swtls-static.test" -test.count=1

step "bindings/go/grpcconn: go vet, go test, go test -race"
(cd grpcconn && go vet ./... &&
    LD_LIBRARY_PATH=$libpath go test -count=1 ./... &&
    LD_LIBRARY_PATH=$libpath go test -race -count=1 ./...)

cd "$ROOT"
step "gofmt"
unformatted=$(gofmt -l bindings/go examples/go)
[ -z "$unformatted" ] || fail "not gofmt-formatted: $unformatted"

step "examples/go/agent (CGO_LDFLAGS=-Wl,-rpath,$prefix/lib) against swtls-collector (mutual TLS)"
(cd examples/go/agent && go vet ./... && CGO_LDFLAGS="-Wl,-rpath,$prefix/lib" go build -o "$work/agent" .)
deps=$(env -u LD_LIBRARY_PATH ldd "$work/agent")
echo "$deps"
grep -F "libswtls.so.0 => $prefix/lib/libswtls.so.0 " <<<"$deps" >/dev/null ||
    fail "the example does not find libswtls.so.0 in $prefix/lib through its rpath"
# Certificates with openssl (a CA, a server certificate for 127.0.0.1, a client one).
mkdir -p "$work/certs" "$work/agent-ca"
(
    cd "$work/certs"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 365 -subj "/CN=swtls Go example CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    for who in server client; do
        openssl req "${ec[@]}" -keyout "$who.key" -out "$who.csr" -subj "/CN=swtls Go example $who" 2>/dev/null
    done
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    for who in server client; do
        openssl x509 -req -in "$who.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 \
            -extfile "$who.ext" -out "$who.crt" 2>/dev/null
    done
)
cp "$work/certs/ca.crt" "$work/certs/client.crt" "$work/agent-ca/"
install -m 600 "$work/certs/client.key" "$work/agent-ca/client.pem"
"$COLLECTOR" serve --listen 127.0.0.1:0 --tls-dir "$work/certs" --mtls --port-file "$work/port" >"$work/collector.log" 2>&1 &
collector_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "the collector did not start:"; cat "$work/collector.log"; exit 1; }

env -u LD_LIBRARY_PATH SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$(cat "$work/port")" SWTLS_CA_DIR="$work/agent-ca" \
    SW_AGENT_NAME=go-example SW_AGENT_INSTANCE_NAME=go-example-1 \
    "$work/agent" -rounds 2 -segments 25 -interval 100ms

for _ in $(seq 1 50); do grep -q "stream completed" "$work/collector.log" && break; sleep 0.1; done
kill "$collector_pid"; wait "$collector_pid" 2>/dev/null || true; collector_pid=
keepalives=$(grep -c '^keepAlive service=go-example instance=go-example-1' "$work/collector.log" || true)
segments=$(grep -c '^segment trace=go-trace-.* service=go-example instance=go-example-1' "$work/collector.log" || true)
echo "collector decoded $keepalives keepAlive(s) and $segments segment(s) from the Go example"
if [ "$keepalives" -ne 2 ] || [ "$segments" -ne 50 ]; then
    echo "Go example FAILED; collector log:"; cat "$work/collector.log"; exit 1
fi
echo "Go binding: OK"
