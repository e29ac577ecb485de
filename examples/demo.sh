#!/usr/bin/env bash
# The main job: an embedded SkyWalking-compatible collector with mutual TLS on loopback,
# and both C examples reporting to it through the C API, configured as agents are (from
# the environment). Run with `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> building the library, the C examples, the swtls tool and the collector (release)"
make -s examples
cargo build -q --features cli --bin swtls
cargo build -q --release -p swtls-collector
SWTLS=target/debug/swtls
COLLECTOR=target/release/swtls-collector

work=$(mktemp -d "${TMPDIR:-/tmp}/swtls-demo.XXXXXX")
collector_pid=
cleanup() {
    if [ -n "$collector_pid" ]; then kill "$collector_pid" 2>/dev/null || true; wait "$collector_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "==> swtls certs --out $work/certs --server-name localhost --server-name 127.0.0.1"
"$SWTLS" certs --out "$work/certs" --server-name localhost --server-name 127.0.0.1 | sed 's/^/    /'
# DIR/ca/ is the agent's ca/ folder (ca.crt, client.crt, client.pem); DIR/server/ the backend's.

echo "==> starting the collector with mutual TLS on 127.0.0.1"
"$COLLECTOR" serve --listen 127.0.0.1:0 --tls-dir "$work/certs/server" --mtls --port-file "$work/port" >"$work/collector.log" 2>&1 &
collector_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "the collector did not start:"; cat "$work/collector.log"; exit 1; }
port=$(cat "$work/port")
echo "    listening on 127.0.0.1:$port"

export SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$port"
export SWTLS_CA_DIR="$work/certs/ca"
echo "==> agent environment: SW_AGENT_COLLECTOR_BACKEND_SERVICES=$SW_AGENT_COLLECTOR_BACKEND_SERVICES SWTLS_CA_DIR=$SWTLS_CA_DIR"

echo "==> swtls check (same configuration as the agent: the environment above)"
"$SWTLS" check | sed 's/^/    /'

echo "==> target/examples/keepalive demo-service demo-instance-1"
target/examples/keepalive demo-service demo-instance-1

"$COLLECTOR" encode-segment --trace demo-trace-1 --segment demo-segment-1 \
    --service demo-service --instance demo-instance-1 --out "$work/segment.bin" >/dev/null
echo "==> target/examples/report segment.bin 100"
target/examples/report "$work/segment.bin" 100

# Let the collector print what it decoded, then stop it.
for _ in $(seq 1 50); do grep -q "stream completed" "$work/collector.log" && break; sleep 0.1; done
kill "$collector_pid"; wait "$collector_pid" 2>/dev/null || true; collector_pid=

echo "==> what the collector received"
segments=$(grep -c '^segment ' "$work/collector.log" || true)
grep -E '^(tls handshake|keepAlive)' "$work/collector.log" | grep -v swtls-check | sed 's/^/    /'
grep -m 3 '^segment ' "$work/collector.log" | sed 's/^/    /'
echo "    ... $segments segments in all"
grep '^stream completed' "$work/collector.log" | sed 's/^/    /'
if [ "$segments" -ne 100 ] || ! grep -q '^keepAlive service=demo-service instance=demo-instance-1' "$work/collector.log"; then
    echo "demo FAILED: the collector did not receive everything"; exit 1
fi
echo "==> demo OK: 1 keepAlive and 100 segments delivered over mutual TLS"
