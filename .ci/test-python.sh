#!/usr/bin/env bash
# The Python binding's tests, on what users install:
#   1. `make dist-python`: the wheel (the portable library, manylinux2014, checked with
#      auditwheel) and the sdist, in target/dist/ (the portable build is not redone when
#      it is up to date);
#   2. a fresh venv (target/py-venv, made anew each run) holding that wheel and the test
#      dependencies only (tests/requirements.txt: pytest, grpcio (the server under test),
#      cryptography (test certificates), grpcio-tools and the real SkyWalking Python agent,
#      apache-skywalking, built from its sdist); SWTLS_LIBRARY unset;
#   3. pytest from the tests folder, where bindings/python/src is not importable;
#      conftest.py first checks that swtls and its library are the venv's
#      (SWTLS_TEST_INSTALLED_IN);
#   4. the sdist built from source into a wheel (pip wheel, which runs cargo; CARGO_TARGET_DIR
#      is this repository's target/, so that the dependencies are not compiled again),
#      checked to have compiled the sdist's own crate, installed over the first wheel, and
#      the TLS tests run against it.
# Works on a fresh clone; needs python3 (with venv; 3.10+ for the agent's test), cargo,
# the openssl command (the SkyWalking script's certificates) and network access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
venv="${SWTLS_PY_VENV:-$root/target/py-venv}"
python="${PYTHON:-python3}"
unset SWTLS_LIBRARY SWTLS_PREBUILT_LIBRARY

step() { printf '\n==> %s\n' "$*"; }

step "python binding: the wheel and the sdist (make dist-python)"
make -s dist-python
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' bindings/python/pyproject.toml | head -n 1)
wheel=$root/target/dist/swtls-$version-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
sdist=$root/target/dist/swtls-$version.tar.gz

step "python binding: a fresh venv in ${venv#"$root"/} with $(basename "$wheel") and the test dependencies"
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv" || {
    echo "cannot create a venv: install python3-venv (Debian/Ubuntu: apt-get install python3-venv)"
    exit 1
}
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install "$wheel" -r bindings/python/tests/requirements.txt
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
export SWTLS_TEST_INSTALLED_IN="$site"

step "python binding: pytest against the installed wheel (grpcio's server, the SkyWalking agent)"
# From the tests folder: `import swtls` is the installed package, not src/.
(cd bindings/python/tests && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" .)

step "python binding: the sdist built from source (pip wheel $(basename "$sdist"), cargo)"
# cargo gives the crate at a workspace's root the same unit in target/ wherever its sources
# are, and takes it as up to date when no source file is newer than the last build (the
# sdist's files are dated SOURCE_DATE_EPOCH or 1980): without this the repository's own
# build would go into the wheel instead of one compiled from the sdist. The dependencies
# stay.
cargo clean -q --release -p swtls
out=$root/target/py-sdist-wheel
rm -rf "$out"
log=$root/target/py-sdist-build.log
# -v: the build's own messages, checked below; --no-cache-dir: pip must build, not take a
# wheel it cached from an earlier run.
if ! CARGO_TARGET_DIR="$root/target" "$venv/bin/python" -m pip --disable-pip-version-check wheel -v \
    --no-cache-dir --no-deps -w "$out" "$sdist" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "building a wheel from $sdist failed (whole log: $log)"
    exit 1
fi
grep 'swtls build:' "$log"
grep -q 'swtls build: .*libswtls\.so: compiled from .*/rust$' "$log" || {
    echo "FAIL the wheel built from $sdist holds no library compiled from the sdist's crate (log: $log)"
    exit 1
}
src_wheel=$out/swtls-$version-py3-none-linux_x86_64.whl
[ -f "$src_wheel" ] || { echo "FAIL expected $src_wheel; $out holds: $(ls "$out")"; exit 1; }
"${pip[@]}" install --force-reinstall --no-deps "$src_wheel"
(cd bindings/python/tests && "$venv/bin/python" -m pytest -q -p no:cacheprovider test_tls.py)
