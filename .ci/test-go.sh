#!/usr/bin/env bash
# The Go binding's checks (what `make test-go` runs), on a fresh clone:
#   1. builds the release library (target/release/libswtls.{so,a}) and swtls-collector;
#   2. checks that the go directives of bindings/go and grpcconn are no newer than
#      skywalking-go's and that the core package (both link modes) imports nothing outside
#      the standard library; downloads the Go modules named in bindings/go/go.sum (grpc-go
#      for the test server);
#   3. in bindings/go: gofmt, go vet, go test (grpc-go servers with mutual TLS on loopback),
#      go test -race, and go test -tags swtls_static (the library linked statically,
#      checked with ldd);
#   4. in bindings/go/grpcconn (the grpc.ClientConnInterface, its own module; gofmt in
#      step 3): downloads its modules, go vet, go test and go test -race (protoc-gen-go-grpc
#      clients against grpc-go servers with mutual TLS; the generated code is committed, so
#      protoc is not needed);
#   5. builds examples/go/agent and runs it against swtls-collector with mutual TLS
#      (certificates made with openssl),
#      configured only from SW_AGENT_* variables and SWTLS_CA_DIR, and checks what the
#      collector decoded (the example encodes the protobuf messages by hand).
# Needs Go >= 1.24 (GOTOOLCHAIN=local: the installed one, nothing downloaded), a C compiler
# (cgo), Rust and openssl.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=never

# skywalking-go's go directive (its go.mod and plugins/core/go.mod say `go 1.24`): the
# binding must not make an agent built with it raise its own.
SKYWALKING_GO_DIRECTIVE=1.24

step() { printf '\n==> %s\n' "$*"; }

if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null || { echo "go ($SKYWALKING_GO_DIRECTIVE or newer) is required for the Go binding"; exit 1; }
export CGO_ENABLED=1 GOTOOLCHAIN=local

step "release library and collector (cargo build --release)"
cargo build -q --release --lib
cargo build -q --release -p swtls-collector
COLLECTOR=$ROOT/target/release/swtls-collector

step "Go modules ($(go version))"
for mod in bindings/go bindings/go/grpcconn; do
    directive=$(cd "$mod" && go mod edit -json | sed -n 's/^[[:space:]]*"Go": "\(.*\)",\{0,1\}$/\1/p')
    [ -n "$directive" ] || { echo "$mod/go.mod has no go directive"; exit 1; }
    # Go orders 1.24 < 1.24.0 < 1.24.1, as sort -V does.
    newest=$(printf '%s\n%s\n' "$directive" "$SKYWALKING_GO_DIRECTIVE" | sort -V | tail -n 1)
    if [ "$newest" != "$SKYWALKING_GO_DIRECTIVE" ]; then
        echo "$mod/go.mod says go $directive, newer than skywalking-go's go $SKYWALKING_GO_DIRECTIVE"; exit 1
    fi
    echo "$mod/go.mod: go $directive (skywalking-go: go $SKYWALKING_GO_DIRECTIVE)"
done
for tags in "" swtls_static; do
    outside=$(cd bindings/go && go list -tags "$tags" -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' . |
        grep -vx 'github.com/apache/skywalking-swtls/bindings/go' || true)
    if [ -n "$outside" ]; then
        echo "the core package (tags '$tags') imports packages outside the standard library: $outside"; exit 1
    fi
done
echo "the core package imports only the standard library (grpc-go is for its tests)"
(cd bindings/go && go mod download && go mod verify)
(cd bindings/go/grpcconn && go mod download && go mod verify)

step "bindings/go: gofmt, go vet"
unformatted=$(gofmt -l bindings/go examples/go)
[ -z "$unformatted" ] || { echo "not gofmt-formatted: $unformatted"; exit 1; }
(cd bindings/go && go vet ./... && go vet -tags swtls_static ./...)

step "bindings/go: go test"
(cd bindings/go && go test -count=1 ./...)

step "bindings/go: go test -race"
(cd bindings/go && go test -race -count=1 ./...)

step "bindings/go: go test -tags swtls_static (libswtls.a linked in)"
mkdir -p target/go
(cd bindings/go && go test -tags swtls_static -c -o "$ROOT/target/go/swtls-static.test" .)
if ldd target/go/swtls-static.test | grep libswtls >/dev/null; then
    echo "the swtls_static test binary still loads libswtls.so:"; ldd target/go/swtls-static.test; exit 1
fi
(cd bindings/go && "$ROOT/target/go/swtls-static.test" -test.count=1)

step "bindings/go/grpcconn: go vet, go test, go test -race"
(cd bindings/go/grpcconn && go vet ./... && go test -count=1 ./... && go test -race -count=1 ./...)

step "examples/go/agent against swtls-collector (mutual TLS)"
(cd examples/go/agent && go vet ./... && go build -o "$ROOT/target/go/agent" .)
work=$(mktemp -d "${TMPDIR:-/tmp}/swtls-go-example.XXXXXX")
collector_pid=
cleanup() {
    if [ -n "$collector_pid" ]; then kill "$collector_pid" 2>/dev/null || true; wait "$collector_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
# Certificates with openssl (a CA, a server certificate for 127.0.0.1, a client one).
mkdir -p "$work/certs" "$work/agent/ca"
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
cp "$work/certs/ca.crt" "$work/certs/client.crt" "$work/agent/ca/"
install -m 600 "$work/certs/client.key" "$work/agent/ca/client.pem"
"$COLLECTOR" serve --listen 127.0.0.1:0 --tls-dir "$work/certs" --mtls --port-file "$work/port" >"$work/collector.log" 2>&1 &
collector_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "the collector did not start:"; cat "$work/collector.log"; exit 1; }

SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$(cat "$work/port")" SWTLS_CA_DIR="$work/agent/ca" \
    SW_AGENT_NAME=go-example SW_AGENT_INSTANCE_NAME=go-example-1 \
    target/go/agent -rounds 2 -segments 25 -interval 100ms

for _ in $(seq 1 50); do grep -q "stream completed" "$work/collector.log" && break; sleep 0.1; done
kill "$collector_pid"; wait "$collector_pid" 2>/dev/null || true; collector_pid=
keepalives=$(grep -c '^keepAlive service=go-example instance=go-example-1' "$work/collector.log" || true)
segments=$(grep -c '^segment trace=go-trace-.* service=go-example instance=go-example-1' "$work/collector.log" || true)
echo "collector decoded $keepalives keepAlive(s) and $segments segment(s) from the Go example"
if [ "$keepalives" -ne 2 ] || [ "$segments" -ne 50 ]; then
    echo "Go example FAILED; collector log:"; cat "$work/collector.log"; exit 1
fi
echo "Go binding: OK"
