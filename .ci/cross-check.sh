#!/usr/bin/env bash
# The crate compiles, without warnings, for targets that are not built or tested here:
# Windows (x86_64-pc-windows-gnu) and macOS (aarch64-apple-darwin). `cargo zigbuild check`
# (zig as the C compiler for ring's build script) type-checks the library for each, so
# Unix-only code that is not gated fails here. Checking is not testing: see the README's
# "Platforms".
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
venv="$ROOT/target/zig-venv"
[ -x "$venv/bin/cargo-zigbuild" ] || bash .ci/portable.sh >/dev/null
export PATH="$venv/bin:$PATH"
for triple in x86_64-pc-windows-gnu aarch64-apple-darwin; do
    rustup target add "$triple" >/dev/null 2>&1 || true
    echo "cargo-zigbuild check --lib --target $triple"
    RUSTFLAGS="-D warnings" cargo-zigbuild check -q --lib --target "$triple"
done
echo "cross-check OK"
