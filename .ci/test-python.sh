#!/usr/bin/env bash
# The Python binding's tests, the way a user installs it: a fresh venv in target/, then
# `pip install ./bindings/python` (which runs `cargo build --release --lib` and bundles
# libswtls.so into the package), pytest, grpcio (the server under test), cryptography
# (test certificates) and the real SkyWalking Python agent (apache-skywalking, built from
# its sdist: see tests/requirements.txt) from PyPI, then pytest against grpcio's server
# with mutual TLS. Works on a fresh clone; needs python3 (with venv; 3.10+ for the agent's
# test), cargo, the openssl command (the SkyWalking script's certificates) and network
# access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
venv="${SWTLS_PY_VENV:-$root/target/py-venv}"
python="${PYTHON:-python3}"

step() { printf '\n==> %s\n' "$*"; }

step "python binding: venv in ${venv#"$root"/}"
if [ ! -x "$venv/bin/python" ]; then
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv" || {
        echo "cannot create a venv: install python3-venv (Debian/Ubuntu: apt-get install python3-venv)"
        exit 1
    }
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install -r bindings/python/tests/requirements.txt

step "python binding: pip install ./bindings/python (runs cargo build --release --lib: minutes on a fresh clone)"
# --force-reinstall: the version does not change between commits, the library does.
"${pip[@]}" install --force-reinstall --no-deps ./bindings/python
# The installed package must not pick another library up.
unset SWTLS_LIBRARY
"$venv/bin/python" -c 'import swtls; print(swtls.version(), "from", swtls.library_path)'

step "python binding: pytest (against grpcio's server)"
# Run from the tests folder so that `import swtls` is the installed package, not src/.
cd bindings/python/tests
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" .
