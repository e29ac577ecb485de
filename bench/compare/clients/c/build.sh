#!/usr/bin/env bash
# Builds the swtls-c benchmark client (bench/compare/CLIENTS.md) into OUT, linked against
# $SWTLS_BENCH_LIB/libswtls.so (the default-feature library, as the C tarball ships it; run.sh
# sets it; default $SWTLS_ROOT/target/release), and writes OUT/swtls-c.size: the stripped
# library, which is all a C agent ships.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/../../../lib.sh"
bench_out_dir "$0" "$@"
ROOT=${SWTLS_ROOT:?SWTLS_ROOT must name the repository root}
LIB=${SWTLS_BENCH_LIB:-$ROOT/target/release}
"${CC:-cc}" -O2 -Wall -Wextra -Werror -std=c11 -I"$ROOT/include" -o "$OUT/swtls-c" "$HERE/client.c" \
    -L"$LIB" -lswtls -Wl,-rpath,"$LIB"
stripped=$(mktemp)
trap 'rm -f "$stripped"' EXIT
strip -o "$stripped" "$LIB/libswtls.so"
printf '{"bytes": %d, "what": "libswtls.so (release, default features, stripped)"}\n' "$(stat -c %s "$stripped")" >"$OUT/swtls-c.size"
