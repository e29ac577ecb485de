#!/usr/bin/env bash
# `make install` as a C user runs it, checked from outside the tree:
#   1. installs into a temporary prefix (and once more staged with DESTDIR) and checks the
#      files: swtls.h, libswtls.so.X.Y.Z with DT_SONAME libswtls.so.X and the links
#      libswtls.so.X and libswtls.so, libswtls.a, lib/pkgconfig/swtls.pc;
#   2. builds tests/c/version.c (header and library versions must match) with nothing but
#      `pkg-config --cflags --libs swtls`, and runs it against the installed libswtls.so
#      (LD_LIBRARY_PATH=prefix/lib; ldd must resolve it there, not in target/);
#   3. builds it again with `pkg-config --static --cflags --libs swtls`, libswtls.a linked in
#      (-l:libswtls.a in place of -lswtls, which would pick the shared library), checks
#      with ldd that it does not load libswtls.so, and runs it;
#   4. builds examples/c/keepalive.c from the prefix (not run: it needs a collector);
#   5. make uninstall leaves nothing of swtls in the prefix;
#   6. given the C tarball of `make dist` (.ci/test-install.sh target/dist/swtls-*.tar.gz):
#      unpacks it into a folder of its own, checks the glibc floor of its library, and
#      builds and runs tests/c/version.c from it with `pkg-config --define-prefix`, dynamic
#      and static, as in 2 and 3.
# Reuses the release library when it is there (`make install` depends on `make lib`).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

missing=()
for tool in pkg-config readelf ldd cc make; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    pkgs=()
    for tool in "${missing[@]}"; do
        case "$tool" in
            readelf) pkgs+=(binutils) ;;
            ldd) pkgs+=(libc-bin) ;;
            cc|make) pkgs+=(build-essential) ;;
            *) pkgs+=("$tool") ;;
        esac
    done
    echo "installing: ${pkgs[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
fi

version=$(awk -F'"' '/^\[/ { p = ($0 == "[package]") } p && /^version *=/ { print $2; exit }' Cargo.toml)
major=${version%%.*}
[ -n "$version" ] || fail "no [package] version in Cargo.toml"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
lib=$prefix/lib
cflags=(-std=c11 -Wall -Wextra -Werror -O2)

step "make install PREFIX=$prefix"
make -s install PREFIX="$prefix"
[ -f "$prefix/include/swtls.h" ] || fail "include/swtls.h not installed"
cmp -s include/swtls.h "$prefix/include/swtls.h" || fail "installed swtls.h differs from include/swtls.h"
[ -f "$lib/libswtls.so.$version" ] && [ ! -L "$lib/libswtls.so.$version" ] || fail "no file lib/libswtls.so.$version"
[ "$(readlink "$lib/libswtls.so.$major")" = "libswtls.so.$version" ] || fail "libswtls.so.$major does not link to libswtls.so.$version"
[ "$(readlink "$lib/libswtls.so")" = "libswtls.so.$major" ] || fail "libswtls.so does not link to libswtls.so.$major"
[ -f "$lib/libswtls.a" ] || fail "lib/libswtls.a not installed"
readelf -d "$lib/libswtls.so.$version" | grep -F "Library soname: [libswtls.so.$major]" \
    || fail "DT_SONAME of libswtls.so.$version is not libswtls.so.$major"
ls -l "$lib"
cat "$lib/pkgconfig/swtls.pc"

export PKG_CONFIG_PATH=$lib/pkgconfig
[ "$(pkg-config --modversion swtls)" = "$version" ] || fail "pkg-config --modversion swtls is not $version"

step "dynamic: cc version.c \$(pkg-config --cflags --libs swtls)"
read -ra flags <<<"$(pkg-config --cflags --libs swtls)"
echo "flags: ${flags[*]}"
cc "${cflags[@]}" -o "$work/version-shared" tests/c/version.c "${flags[@]}"
readelf -d "$work/version-shared" | grep -F "Shared library: [libswtls.so.$major]" \
    || fail "the program does not record NEEDED libswtls.so.$major"
# (ldd's output is kept in a variable: `ldd | grep -q` can fail under pipefail when grep
# stops reading early.)
deps=$(LD_LIBRARY_PATH=$lib ldd "$work/version-shared")
echo "$deps"
grep -F "libswtls.so.$major => $lib/libswtls.so.$major " <<<"$deps" >/dev/null \
    || fail "libswtls.so.$major does not resolve to the installed prefix"
LD_LIBRARY_PATH=$lib "$work/version-shared"

step "static: cc version.c \$(pkg-config --static --cflags --libs swtls), libswtls.a linked in"
read -ra flags <<<"$(pkg-config --static --cflags --libs swtls)"
flags=("${flags[@]/#-lswtls/-l:libswtls.a}")
echo "flags: ${flags[*]}"
cc "${cflags[@]}" -o "$work/version-static" tests/c/version.c "${flags[@]}"
deps=$(ldd "$work/version-static")
echo "$deps"
if grep -F libswtls <<<"$deps" >/dev/null; then fail "the static program loads libswtls.so"; fi
"$work/version-static"

step "examples/c/keepalive.c builds from the prefix"
read -ra flags <<<"$(pkg-config --cflags --libs swtls)"
cc "${cflags[@]}" -pthread -o "$work/keepalive" examples/c/keepalive.c "${flags[@]}"

step "make uninstall PREFIX=$prefix"
make -s uninstall PREFIX="$prefix"
left=$(find "$prefix" -name '*swtls*')
[ -z "$left" ] || fail "left after uninstall: $left"

step "make install DESTDIR=$work/stage PREFIX=/usr"
make -s install DESTDIR="$work/stage" PREFIX=/usr
[ -L "$work/stage/usr/lib/libswtls.so" ] && [ -f "$work/stage/usr/include/swtls.h" ] || fail "DESTDIR not honoured"
grep -qx 'prefix=/usr' "$work/stage/usr/lib/pkgconfig/swtls.pc" || fail "swtls.pc of a DESTDIR install does not say prefix=/usr"
grep -qx 'libdir=${prefix}/lib' "$work/stage/usr/lib/pkgconfig/swtls.pc" || fail "swtls.pc libdir is not \${prefix}/lib"
make -s uninstall DESTDIR="$work/stage" PREFIX=/usr

tarball=${1:-}
if [ -n "$tarball" ]; then
    step "the C tarball $tarball, unpacked elsewhere"
    mkdir -p "$work/unpacked"
    tar -C "$work/unpacked" -xzf "$tarball"
    root=$(echo "$work"/unpacked/swtls-*)
    [ -d "$root" ] || fail "$tarball holds no swtls-* folder"
    bash .ci/check-glibc.sh "$root/lib/libswtls.so.$version"
    export PKG_CONFIG_PATH=$root/lib/pkgconfig
    read -ra flags <<<"$(pkg-config --define-prefix --cflags --libs swtls)"
    echo "flags: ${flags[*]}"
    cc "${cflags[@]}" -o "$work/tar-shared" tests/c/version.c "${flags[@]}"
    deps=$(LD_LIBRARY_PATH=$root/lib ldd "$work/tar-shared")
    grep -F "libswtls.so.$major => $root/lib/libswtls.so.$major " <<<"$deps" >/dev/null \
        || fail "libswtls.so.$major does not resolve to the unpacked tarball: $deps"
    LD_LIBRARY_PATH=$root/lib "$work/tar-shared"
    read -ra flags <<<"$(pkg-config --define-prefix --static --cflags --libs swtls)"
    flags=("${flags[@]/#-lswtls/-l:libswtls.a}")
    cc "${cflags[@]}" -o "$work/tar-static" tests/c/version.c "${flags[@]}"
    deps=$(ldd "$work/tar-static")
    if grep -F libswtls <<<"$deps" >/dev/null; then fail "the static program loads libswtls.so"; fi
    "$work/tar-static"
fi

echo "install OK: swtls $version"
