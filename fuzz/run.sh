#!/usr/bin/env bash
# Fuzzes every target for SECONDS each (default 30: the CI smoke run; 600 for a real run).
# Needs nightly Rust and cargo-fuzz (installed when missing). Seeds: the committed ones in
# fuzz/seeds/, plus certificates and keys in every format made now with `swtls certs` and
# openssl (key material is never committed). New inputs go to fuzz/corpus/ (ignored);
# a crash stops the run with its input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
targets=(config_set env_loader backends cert_and_key_files legacy_verifier x509_reader)
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

seeds=fuzz/seeds
gen=fuzz/corpus/generated
rm -rf "$gen"; mkdir -p "$gen"
cargo build -q --features cli --bin swtls
target/debug/swtls certs --out "$gen/ec" --server-name localhost >/dev/null
target/debug/swtls certs --out "$gen/rsa" --server-name localhost --rsa --pkcs1 >/dev/null
(
    cd "$gen"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout v1ca.key -out v1ca.crt -subj /CN=localhost -days 30 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -keyout v1.key -out v1.csr -subj /CN=localhost 2>/dev/null
    openssl x509 -req -in v1.csr -CA v1ca.crt -CAkey v1ca.key -CAcreateserial -days 30 -out v1.crt 2>/dev/null
    openssl x509 -in v1.crt -outform der -out v1.der
    openssl pkey -in ec/ca/client.pem -outform der -out ec.pkcs8.der
    openssl ec -in ec/ca/client.pem -outform der -out ec.sec1.der 2>/dev/null
    openssl rsa -in rsa/ca/client.pem -traditional -outform der -out rsa.pkcs1.der 2>/dev/null
    openssl pkey -in rsa/ca/client.pem -aes256 -passout pass:x -out rsa.encrypted.pem
    openssl x509 -in ec/server/server.crt -outform der -out ec.server.der
)
mkdir -p fuzz/corpus/{cert_and_key_files,legacy_verifier,x509_reader}
find "$gen" -type f \( -name '*.pem' -o -name '*.crt' -o -name '*.key' -o -name '*.der' \) \
    -exec cp {} fuzz/corpus/cert_and_key_files/ \;
cp "$gen"/*.der fuzz/corpus/legacy_verifier/
cp "$gen"/*.der fuzz/corpus/x509_reader/

for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    extra=()
    [ -d "$seeds/$t" ] && extra+=("$seeds/$t")
    echo "==> fuzz $t for ${seconds}s"
    cargo +nightly fuzz run "$t" "fuzz/corpus/$t" "${extra[@]}" -- \
        -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 2>&1 | tail -n 12
done
