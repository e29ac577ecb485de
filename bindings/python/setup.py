"""Build step: compile the swtls Rust library and bundle it into the package.

`pip install ./bindings/python` (from the repository) runs `cargo build --release --lib` in
the repository root and copies target/release/libswtls.so into the package as
swtls/_lib/libswtls.so. The wheel is tagged for the platform (py3-none-<platform>): it
holds a native library but no Python extension.

Environment:
  SWTLS_CARGO        cargo to run (default: `cargo` on PATH, else ~/.cargo/bin/cargo)
  SWTLS_SOURCE_DIR   the repository root (default: found from this file's location)
  SWTLS_CARGO_ARGS   extra arguments for cargo build (e.g. "--no-default-features --features aws-lc-rs")
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent


def lib_name() -> str:
    if sys.platform == "darwin":
        return "libswtls.dylib"
    if sys.platform == "win32":
        return "swtls.dll"
    return "libswtls.so"


def source_dir() -> Path:
    explicit = os.environ.get("SWTLS_SOURCE_DIR")
    candidates = [Path(explicit)] if explicit else [HERE.parent.parent, *HERE.parents]
    for d in candidates:
        manifest = d / "Cargo.toml"
        if manifest.is_file() and 'name = "swtls"' in manifest.read_text(encoding="utf-8"):
            return d
    raise SystemExit(
        "swtls: cannot find the Rust sources (Cargo.toml of the swtls crate) above "
        f"{HERE}; install from a checkout of the repository (`pip install ./bindings/python`) "
        "or set SWTLS_SOURCE_DIR to its root"
    )


def cargo() -> str:
    explicit = os.environ.get("SWTLS_CARGO")
    if explicit:
        return explicit
    found = shutil.which("cargo")
    if found:
        return found
    home = Path.home() / ".cargo" / "bin" / "cargo"
    if home.is_file():
        return str(home)
    raise SystemExit(
        "swtls: building the package needs Rust's cargo (https://rustup.rs), which was not found "
        "on PATH nor in ~/.cargo/bin; or set SWTLS_CARGO"
    )


def build_library() -> Path:
    root = source_dir()
    cmd = [cargo(), "build", "--release", "--lib", "--message-format=json-render-diagnostics"]
    cmd += shlex.split(os.environ.get("SWTLS_CARGO_ARGS", ""))
    print("swtls: running " + " ".join(cmd) + f" in {root}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=root, stdout=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"swtls: cargo build failed (exit code {proc.returncode}); its messages are above")
    built = None
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "swtls":
            for f in msg.get("filenames", []):
                if Path(f).name == lib_name():
                    built = Path(f)
    if built is None or not built.is_file():
        raise SystemExit(f"swtls: cargo build did not report {lib_name()}")
    return built


class BuildPyWithLibrary(build_py):
    """build_py, plus the Rust library copied into swtls/_lib/."""

    def run(self) -> None:
        super().run()
        built = build_library()
        dest = Path(self.build_lib) / "swtls" / "_lib"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, dest / lib_name())
        print(f"swtls: bundled {built} as {dest / lib_name()}", file=sys.stderr)


class PlatformWheel(bdist_wheel):
    """The wheel carries a native library: tag it for the platform, for any Python 3."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel})
