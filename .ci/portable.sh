#!/usr/bin/env bash
# The portable build: the library that swtls ships (the wheel, the jars, the C tarball),
# linked against glibc 2.17 symbol versions so that it loads on every x86_64 Linux with
# glibc 2.17 or newer (manylinux2014: CentOS 7, Amazon Linux 2, RHEL/UBI 8, Debian 11,
# Ubuntu 20.04 and later). cargo-zigbuild uses zig as the C compiler and linker; zig
# carries stub libraries for any glibc version, so no old sysroot or container is needed.
# Both come from PyPI (.ci/portable-requirements.txt) into target/zig-venv.
#
#   bash .ci/portable.sh                      # -> target/x86_64-unknown-linux-gnu/release/libswtls.{so,a}
#   bash .ci/portable.sh --features jni       # extra cargo arguments (CARGO_TARGET_DIR to keep both)
#
# Prints the output folder on its last line, after checking the symbol versions of the
# shared library (.ci/check-glibc.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TRIPLE=${SWTLS_PORTABLE_TRIPLE:-x86_64-unknown-linux-gnu}
export GLIBC_FLOOR=${GLIBC_FLOOR:-2.17}

venv="$ROOT/target/zig-venv"
if ! "$venv/bin/python" -c 'import ziglang' 2>/dev/null || [ ! -x "$venv/bin/cargo-zigbuild" ]; then
    mkdir -p "$ROOT/target"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r .ci/portable-requirements.txt >&2
fi
# cargo-zigbuild finds zig as `python3 -m ziglang` (the venv's python3 first on PATH).
export PATH="$venv/bin:$PATH"
rustup target add "$TRIPLE" >/dev/null 2>&1 || true

cargo zigbuild --release --lib --target "$TRIPLE.$GLIBC_FLOOR" "$@" >&2
out="${CARGO_TARGET_DIR:-$ROOT/target}/$TRIPLE/release"
bash .ci/check-glibc.sh "$out/libswtls.so" >&2
echo "$out"
