#!/usr/bin/env bash
# make dist-python: the Python binding's sdist and wheel into target/dist/, made by
# `python -m build bindings/python` (the sdist, then the wheel built from that sdist) with
# the given library in the wheel (SWTLS_PREBUILT_LIBRARY: the portable build of `make
# portable`, so cargo is not run again and the wheel carries the glibc 2.17 library, not a
# build for this machine). Then checks what was made:
#   - auditwheel show: the wheel is consistent with manylinux_2_17_x86_64, the tag its
#     name carries;
#   - the wheel: Root-Is-Purelib false, nothing in purelib, and its library is byte for
#     byte the one given;
#   - the sdist: the package, the backend and the crate in rust/ (Cargo.toml without the
#     repository's workspace, Cargo.lock, build.rs, src/). Building it from source is
#     tested by .ci/test-python.sh.
# The tools (build, auditwheel: .ci/python-dist-requirements.txt) go into target/py-dist-venv.
#
#   bash .ci/dist-python.sh target/x86_64-unknown-linux-gnu/release/libswtls.so
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ $# -eq 1 ] || { echo "usage: dist-python.sh LIBRARY (the portable build: make portable)"; exit 2; }
[ -f "$1" ] || { echo "dist-python: no library at $1 (make portable builds it)"; exit 1; }
lib=$(realpath "$1")
dist=$root/target/dist
venv=$root/target/py-dist-venv
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' bindings/python/pyproject.toml | head -n 1)
[ -n "$version" ] || { echo "dist-python: no version in bindings/python/pyproject.toml"; exit 1; }
tag=py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64
wheel=$dist/swtls-$version-$tag.whl
sdist=$dist/swtls-$version.tar.gz

if [ ! -x "$venv/bin/python" ]; then
    mkdir -p target
    "${PYTHON:-python3}" -m venv "$venv" || {
        echo "dist-python: cannot create a venv: install python3-venv (Debian/Ubuntu: apt-get install python3-venv)"
        exit 1
    }
fi
# Installed again only when the pins change (a copy of the file in the venv says which).
if ! cmp -s .ci/python-dist-requirements.txt "$venv/requirements.txt"; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r .ci/python-dist-requirements.txt
    cp .ci/python-dist-requirements.txt "$venv/requirements.txt"
fi

mkdir -p "$dist"
rm -f "$sdist" "$dist"/swtls-"$version"-*.whl
SWTLS_PREBUILT_LIBRARY=$lib "$venv/bin/python" -m build --outdir "$dist" bindings/python
[ -f "$wheel" ] || { echo "dist-python: expected $wheel; $dist holds: $(ls "$dist")"; exit 1; }
[ -f "$sdist" ] || { echo "dist-python: expected $sdist; $dist holds: $(ls "$dist")"; exit 1; }

echo "dist-python: auditwheel show $(basename "$wheel")"
shown=$("$venv/bin/auditwheel" show "$wheel" 2>&1) || { echo "$shown"; echo "dist-python: auditwheel show failed"; exit 1; }
echo "$shown"
# auditwheel wraps its lines: compare with the whitespace folded.
if ! tr -s ' \n' '  ' <<<"$shown" | grep -qF 'consistent with the following platform tag: "manylinux_2_17_x86_64"'; then
    echo "dist-python: FAIL auditwheel does not find $(basename "$wheel") consistent with manylinux_2_17_x86_64"
    exit 1
fi

"$venv/bin/python" - "$wheel" "$sdist" "$lib" "$version" <<'EOF'
import hashlib, re, sys, tarfile, zipfile

wheel, sdist, lib, version = sys.argv[1:]
problems = []
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    meta = z.read(f"swtls-{version}.dist-info/WHEEL").decode().splitlines()
    if "Root-Is-Purelib: false" not in meta:
        problems.append(f"{wheel}: WHEEL does not say Root-Is-Purelib: false")
    problems += [f"{wheel}: {n} is in purelib" for n in names if ".data/purelib/" in n]
    shipped = z.read("swtls/_lib/libswtls.so") if "swtls/_lib/libswtls.so" in names else b""
    if hashlib.sha256(shipped).digest() != hashlib.sha256(open(lib, "rb").read()).digest():
        problems.append(f"{wheel}: swtls/_lib/libswtls.so is not {lib}")
with tarfile.open(sdist) as t:
    base = f"swtls-{version}/"
    names = set(t.getnames())
    for f in ("PKG-INFO", "pyproject.toml", "README.md", "build_backend/swtls_build.py", "src/swtls/__init__.py",
              "src/swtls/_native.py", "rust/Cargo.toml", "rust/Cargo.lock", "rust/build.rs", "rust/src/lib.rs"):
        if base + f not in names:
            problems.append(f"{sdist}: no {f}")
    if base + "rust/Cargo.toml" in names:
        manifest = t.extractfile(base + "rust/Cargo.toml").read().decode()
        if re.search(r"(?m)^(members\s*=|\[dev-dependencies\])", manifest):
            problems.append(f"{sdist}: rust/Cargo.toml still has the repository's workspace or dev-dependencies")
for p in problems:
    print("dist-python: FAIL " + p)
if problems:
    sys.exit(1)
print(f"dist-python: ok: {wheel.rsplit('/', 1)[-1]} (manylinux_2_17, the library given, platlib) and {sdist.rsplit('/', 1)[-1]} (the crate in rust/)")
EOF
ls -l "$wheel" "$sdist"
