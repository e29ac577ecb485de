"""The swtls package's PEP 517 build backend: in-tree, standard library only.

The package is a ctypes binding: its wheel is the Python sources plus one native library,
``swtls/_lib/libswtls.so``, built from the Rust crate (a plain cdylib, no Python extension).
This backend

- builds the wheel with the library in platlib (``Root-Is-Purelib: false``), tagged
  ``py3-none-<platform>`` (any Python 3: the library is loaded with ctypes, there is no
  CPython ABI to tag);
- takes the library from ``cargo build --release --lib`` (the crate is the repository root
  in a checkout, ``rust/`` in an unpacked sdist), or from ``SWTLS_PREBUILT_LIBRARY``;
- writes an sdist that carries the crate in ``rust/`` (its sources, ``build.rs``,
  ``Cargo.lock``, and ``Cargo.toml`` without the repository's workspace and
  dev-dependencies), so that it builds from source wherever cargo is.

Platform tag: a library that cargo built here is for this machine (pip caches the wheel
for it), so its wheel is tagged ``linux_<arch>``. A prebuilt library (``make dist`` passes
the portable build of ``make portable``) is inspected: when it is an ELF shared library
that needs no glibc symbol newer than 2.X and links only glibc's own libraries (and
libgcc_s, at the versions manylinux allows), the wheel
is tagged ``manylinux_2_X_<arch>`` (X at least 17, the floor the portable build targets;
2.17 also carries its legacy name manylinux2014), and otherwise ``linux_<arch>``. CI checks
the tag independently with ``auditwheel show``.

Environment:
  SWTLS_PREBUILT_LIBRARY  absolute path of a built libswtls.so to put into the wheel
                          instead of running cargo
  SWTLS_CARGO             cargo to run (default: ``cargo`` on PATH, else ~/.cargo/bin/cargo)
  SWTLS_CARGO_ARGS        extra arguments for ``cargo build`` (e.g. ``--features jni``)
  SWTLS_SOURCE_DIR        the repository root, when the checkout is not found above this file
  CARGO_TARGET_DIR        as cargo reads it (e.g. to reuse a target folder)
  SOURCE_DATE_EPOCH       timestamp of the archive members (default: 1980-01-01)

Why a backend of its own rather than maturin or setuptools-rust: see the package README
("How the package is built").
"""

import base64
import gzip
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

PROJECT = Path(__file__).resolve().parent.parent  # bindings/python, or the unpacked sdist
PACKAGE = "swtls"
PREBUILT_ENV = "SWTLS_PREBUILT_LIBRARY"
# The oldest glibc a wheel claims (manylinux_2_17, alias manylinux2014): what the portable
# build targets (.ci/portable.sh) and the oldest Rust's std supports on x86_64 and aarch64.
GLIBC_FLOOR = (2, 17)
LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
# Libraries every glibc system has (the manylinux policies' own list, restricted to what a
# Rust cdylib links): a library linking anything else gets no manylinux tag.
GLIBC_LIBRARIES = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "libpthread.so.0",
        "librt.so.1",
        "libutil.so.1",
        "libgcc_s.so.1",
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
    }
)
ELF_MACHINES = {62: "x86_64", 183: "aarch64"}
# libgcc_s's symbol versions that manylinux_2_17 and every newer policy allow, per
# architecture (auditwheel's policy table): a newer one gets no manylinux tag.
LIBGCC_VERSIONS = {
    "x86_64": {"3.0", "3.3", "3.3.1", "3.4", "3.4.2", "3.4.4", "4.0.0", "4.2.0", "4.3.0", "4.7.0", "4.8.0"},
    "aarch64": {"3.0", "3.3", "3.3.1", "3.4", "3.4.2", "3.4.4", "4.0.0", "4.2.0", "4.3.0", "4.5.0", "4.7.0"},
}


class BuildError(SystemExit):
    """A build failure, with a message naming what is at fault (no traceback)."""

    def __init__(self, message: str) -> None:
        super().__init__("swtls build: " + message)


def _log(message: str) -> None:
    print("swtls build: " + message, file=sys.stderr, flush=True)


# --- the project's metadata (pyproject.toml [project]) ---

# The [project] keys this backend writes into the core metadata; any other key is refused
# rather than silently left out of the package.
_PROJECT_KEYS = {
    "name",
    "version",
    "description",
    "readme",
    "requires-python",
    "license",
    "classifiers",
    "dependencies",
    "optional-dependencies",
}


def _read_toml(path: Path) -> dict:
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise BuildError(
                "reading pyproject.toml needs tomli on Python < 3.11 (listed in its "
                "build-system.requires; build with a PEP 517 frontend such as pip or build)"
            ) from None
    with open(path, "rb") as f:
        return tomllib.load(f)


class Project:
    """pyproject.toml's [project] table, checked, and what is derived from it."""

    def __init__(self, root: Path = PROJECT) -> None:
        self.root = root
        data = _read_toml(root / "pyproject.toml")
        project = data.get("project")
        if not isinstance(project, dict):
            raise BuildError(f"{root / 'pyproject.toml'} has no [project] table")
        unknown = sorted(set(project) - _PROJECT_KEYS)
        if unknown:
            raise BuildError(
                f"pyproject.toml [project] has {', '.join(unknown)}, which this backend "
                f"(build_backend/swtls_build.py) does not write into the metadata: add it there"
            )
        self.project = project
        self.name: str = project["name"]
        self.version: str = project["version"]
        if self.name != PACKAGE:
            raise BuildError(f"pyproject.toml names the project {self.name!r}; this backend builds {PACKAGE!r}")
        # Normalized as wheel and sdist file names want it (PEP 427, PEP 625).
        self.dist_name = re.sub(r"[-_.]+", "_", self.name).lower()

    @property
    def dist_info(self) -> str:
        return f"{self.dist_name}-{self.version}.dist-info"

    def readme(self) -> Tuple[Optional[str], Optional[str]]:
        """(text, content type) of the long description."""
        readme = self.project.get("readme")
        if readme is None:
            return None, None
        if isinstance(readme, str):
            readme = {"file": readme}
        if "text" in readme:
            text = readme["text"]
        else:
            text = (self.root / readme["file"]).read_text(encoding="utf-8")
        ctype = readme.get("content-type")
        if ctype is None:
            suffix = Path(readme.get("file", "")).suffix.lower()
            ctype = {".md": "text/markdown", ".rst": "text/x-rst", ".txt": "text/plain"}.get(suffix)
            if ctype is None:
                raise BuildError(f"pyproject.toml readme {readme!r}: say its content-type")
        return text, ctype

    def core_metadata(self) -> str:
        """METADATA of the wheel, PKG-INFO of the sdist (core metadata 2.1)."""
        p = self.project
        lines = ["Metadata-Version: 2.1", f"Name: {self.name}", f"Version: {self.version}"]
        if "description" in p:
            lines.append(f"Summary: {p['description']}")
        lic = p.get("license")
        if lic is not None:
            if not isinstance(lic, dict) or "text" not in lic:
                raise BuildError("pyproject.toml license: this backend writes license = { text = ... } only")
            lines.append(f"License: {lic['text']}")
        lines += [f"Classifier: {c}" for c in p.get("classifiers", [])]
        if "requires-python" in p:
            lines.append(f"Requires-Python: {p['requires-python']}")
        lines += [f"Requires-Dist: {r}" for r in p.get("dependencies", [])]
        for extra, requirements in p.get("optional-dependencies", {}).items():
            lines.append(f"Provides-Extra: {extra}")
            for r in requirements:
                req, _, marker = r.partition(";")
                cond = f'extra == "{extra}"'
                if marker.strip():
                    cond = f"({marker.strip()}) and {cond}"
                lines.append(f"Requires-Dist: {req.strip()}; {cond}")
        text, ctype = self.readme()
        if ctype:
            lines.append(f"Description-Content-Type: {ctype}")
        out = "\n".join(lines) + "\n"
        if text:
            out += "\n" + text
        return out

    def python_files(self) -> List[Tuple[str, Path]]:
        """(path in the wheel, file) of the Python package: src/swtls without bytecode and
        without a _lib/ folder (the library is added from the build)."""
        pkg = self.root / "src" / PACKAGE
        out = []
        for f in sorted(pkg.rglob("*")):
            rel = f.relative_to(pkg)
            if f.is_dir() or rel.parts[0] == "_lib" or "__pycache__" in rel.parts or f.suffix == ".pyc":
                continue
            out.append((f"{PACKAGE}/{rel.as_posix()}", f))
        if not out:
            raise BuildError(f"no Python package in {pkg}")
        return out


# --- the crate ---


def _source_dir() -> Path:
    """The crate to build: rust/ of an unpacked sdist, else the repository root."""
    explicit = os.environ.get("SWTLS_SOURCE_DIR")
    candidates = [Path(explicit)] if explicit else [PROJECT / "rust", PROJECT.parent.parent]
    for d in candidates:
        manifest = d / "Cargo.toml"
        if manifest.is_file() and re.search(r'(?m)^name = "swtls"$', manifest.read_text(encoding="utf-8")):
            return d.resolve()
    raise BuildError(
        f"cannot find the swtls crate (a Cargo.toml with name = \"swtls\") in "
        f"{', '.join(str(c) for c in candidates)}: build from the repository "
        "(`pip install ./bindings/python`) or from the sdist, set SWTLS_SOURCE_DIR to the "
        f"repository root, or set {PREBUILT_ENV} to a built library"
    )


def _crate_version(manifest: Path) -> str:
    in_package = False
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            in_package = line.strip() == "[package]"
        elif in_package:
            m = re.match(r'version\s*=\s*"([^"]+)"', line)
            if m:
                return m.group(1)
    raise BuildError(f"{manifest} has no [package] version")


def _check_versions(project: Project, crate: Path) -> None:
    cv = _crate_version(crate / "Cargo.toml")
    if cv != project.version:
        raise BuildError(
            f"pyproject.toml says version {project.version}, the crate ({crate / 'Cargo.toml'}) "
            f"{cv}: the package bundles that crate's library, so the two must be the same"
        )


def _cargo() -> str:
    explicit = os.environ.get("SWTLS_CARGO")
    if explicit:
        found = shutil.which(explicit)
        if not found:
            raise BuildError(f"SWTLS_CARGO names {explicit!r}, which is not an executable (on PATH or as a path)")
        return found
    found = shutil.which("cargo")
    if found:
        return found
    home = Path.home() / ".cargo" / "bin" / "cargo"
    if home.is_file():
        return str(home)
    raise BuildError(
        "building the library needs Rust's cargo (https://rustup.rs), which is neither on "
        f"PATH nor in ~/.cargo/bin; or set SWTLS_CARGO, or {PREBUILT_ENV} to a built library"
    )


def _library_file_name() -> str:
    if sys.platform == "darwin":
        return "libswtls.dylib"
    if sys.platform == "win32":
        return "swtls.dll"
    return "libswtls.so"


def _cargo_build(crate: Path) -> Path:
    cmd = [_cargo(), "build", "--release", "--lib", "--message-format=json-render-diagnostics"]
    if crate == (PROJECT / "rust").resolve():
        # The sdist's crate: build exactly the versions its Cargo.lock pins.
        cmd.append("--locked")
    cmd += shlex.split(os.environ.get("SWTLS_CARGO_ARGS", ""))
    _log(f"running {' '.join(cmd)} in {crate}")
    proc = subprocess.run(cmd, cwd=crate, stdout=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise BuildError(f"cargo build failed (exit code {proc.returncode}) in {crate}; its messages are above")
    built, fresh = None, None
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == PACKAGE:
            for f in msg.get("filenames", []):
                if Path(f).name == _library_file_name():
                    built, fresh = Path(f), msg.get("fresh")
    if built is None or not built.is_file():
        raise BuildError(f"cargo build in {crate} did not report {_library_file_name()}")
    # Said so that a build from the sdist can be checked to have compiled its own sources.
    _log(f"{built}: {'up to date, not recompiled' if fresh else 'compiled'} from {crate}")
    return built


# --- what a library needs (ELF), and the platform tag ---


def _elf_needs(path: Path) -> Tuple[str, List[str], Set[str]]:
    """(architecture, DT_NEEDED libraries, symbol versions needed) of a 64-bit
    little-endian ELF shared library, read from its section headers."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        raise BuildError(f"{path} is not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise BuildError(f"{path}: only 64-bit little-endian ELF libraries are supported")
    (e_type, e_machine) = struct.unpack_from("<HH", data, 16)
    e_shoff, = struct.unpack_from("<Q", data, 40)
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 58)
    if e_type != 3:
        raise BuildError(f"{path} is not a shared library (ELF type {e_type})")
    arch = ELF_MACHINES.get(e_machine)
    if arch is None:
        raise BuildError(f"{path}: ELF machine {e_machine} is none of {sorted(ELF_MACHINES.values())}")
    if e_shoff == 0 or e_shnum == 0:
        raise BuildError(f"{path} has no section headers")
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize) for i in range(e_shnum)]

    def strtab(index: int, offset: int) -> str:
        base = sections[index][4]
        end = data.index(b"\0", base + offset)
        return data[base + offset : end].decode("utf-8", "replace")

    needed: List[str] = []
    versions: Set[str] = set()
    for _, sh_type, _, _, sh_offset, sh_size, sh_link, sh_info, _, _ in sections:
        if sh_type == 6:  # SHT_DYNAMIC
            for pos in range(sh_offset, sh_offset + sh_size, 16):
                tag, val = struct.unpack_from("<qQ", data, pos)
                if tag == 0:
                    break
                if tag == 1:  # DT_NEEDED
                    needed.append(strtab(sh_link, val))
        elif sh_type == 0x6FFFFFFE:  # SHT_GNU_verneed: sh_info entries
            pos = sh_offset
            for _ in range(sh_info):
                _, vn_cnt, _, vn_aux, vn_next = struct.unpack_from("<HHIII", data, pos)
                aux = pos + vn_aux
                for _ in range(vn_cnt):
                    _, _, _, vna_name, vna_next = struct.unpack_from("<IHHII", data, aux)
                    versions.add(strtab(sh_link, vna_name))
                    aux += vna_next
                pos += vn_next
    return arch, needed, versions


def _prebuilt_platform_tag(path: Path) -> str:
    arch, needed, versions = _elf_needs(path)
    glibc: List[Tuple[int, int]] = []
    others: List[str] = []
    for v in sorted(versions):
        m = re.fullmatch(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?", v)
        if m:
            glibc.append((int(m.group(1)), int(m.group(2))))
        elif not (v.startswith("GCC_") and v[4:] in LIBGCC_VERSIONS[arch]):
            others.append(v)
    foreign = sorted(set(needed) - GLIBC_LIBRARIES)
    if others or foreign:
        _log(
            f"{path} is not a manylinux library (links {', '.join(foreign) or 'only glibc'}; "
            f"needs {', '.join(others) or 'no symbol version outside glibc and libgcc_s'}): "
            f"tagging the wheel linux_{arch}, for this kind of machine only"
        )
        return f"linux_{arch}"
    major, minor = max(glibc + [GLIBC_FLOOR])
    tag = f"manylinux_{major}_{minor}_{arch}"
    legacy = LEGACY_MANYLINUX.get((major, minor))
    if legacy:
        tag += f".{legacy}_{arch}"
    newest = "%d.%d" % max(glibc) if glibc else "none"
    _log(f"{path}: newest glibc symbol version {newest}, links {', '.join(needed)}: {tag}")
    return tag


def _local_platform_tag(path: Path) -> str:
    if sys.platform.startswith("linux"):
        arch, _, _ = _elf_needs(path)
        return f"linux_{arch}"
    return re.sub(r"[-.]", "_", sysconfig.get_platform())


def _library() -> Tuple[Path, str]:
    """(library, wheel platform tag): the prebuilt library, or cargo's build of the crate."""
    prebuilt = os.environ.get(PREBUILT_ENV)
    if prebuilt:
        path = Path(prebuilt)
        if not path.is_absolute():
            raise BuildError(
                f"{PREBUILT_ENV} must be an absolute path (the build may run in a temporary "
                f"folder): {prebuilt!r}"
            )
        if not path.is_file():
            raise BuildError(f"{PREBUILT_ENV} names {prebuilt}, which is not a file")
        _log(f"using the prebuilt library {path} ({PREBUILT_ENV}); cargo is not run")
        return path, _prebuilt_platform_tag(path)
    built = _cargo_build(_source_dir())
    return built, _local_platform_tag(built)


# --- archives ---


def _timestamp() -> int:
    """SOURCE_DATE_EPOCH, else 1980-01-01 (the oldest a zip can say): the same inputs make
    the same archives."""
    return max(int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")), 315532800)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def _write_wheel(path: Path, entries: List[Tuple[str, bytes, bool]], dist_info: str) -> None:
    """entries: (name, contents, executable); RECORD is added last."""
    date = time.gmtime(_timestamp())[:6]
    record = [f"{name},{_record_hash(data)},{len(data)}" for name, data, _ in entries]
    record.append(f"{dist_info}/RECORD,,")
    entries = entries + [(f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode(), False)]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data, executable in entries:
            info = zipfile.ZipInfo(name, date_time=date)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ((0o755 if executable else 0o644) | 0o100000) << 16
            zf.writestr(info, data)


def _write_sdist(path: Path, base: str, entries: List[Tuple[str, bytes, bool]]) -> None:
    mtime = _timestamp()
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, data, executable in entries:
                info = tarfile.TarInfo(f"{base}/{name}")
                info.size = len(data)
                info.mtime = mtime
                info.mode = 0o755 if executable else 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                tar.addfile(info, io.BytesIO(data))


# --- the crate as the sdist carries it ---


def _sdist_manifest(text: str, origin: Path) -> str:
    """The repository's Cargo.toml without [workspace] (whose member, the collector, the sdist
    does not carry) and without dev-dependencies (path dependencies on the collector and the
    crate itself, for its tests only), plus an empty [workspace]: the crate is its own
    workspace, so cargo looks no further up for one wherever the sdist is unpacked."""
    out: List[str] = []
    section, skipping = "", False
    for line in text.splitlines():
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", line)
        if header:
            section = header.group(1)
            skipping = section == "workspace" or section.startswith("workspace.") or section.endswith("dev-dependencies")
        if skipping:
            continue
        if section.endswith("dependencies") and re.search(r"\bpath\s*=", line):
            raise BuildError(f"{origin}: [{section}] has a path dependency ({line.strip()}), which the sdist cannot carry")
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    out += [
        "",
        "# Written by bindings/python/build_backend/swtls_build.py for the sdist: the crate is its",
        "# own workspace (the repository's [workspace] and [dev-dependencies] are left out).",
        "[workspace]",
    ]
    return "\n".join(out) + "\n"


def _lock_packages(text: str) -> Dict[str, Set[str]]:
    """name -> versions of a Cargo.lock."""
    out: Dict[str, Set[str]] = {}
    for block in text.split("[[package]]")[1:]:
        name = re.search(r'(?m)^name = "([^"]+)"', block)
        version = re.search(r'(?m)^version = "([^"]+)"', block)
        if name and version:
            out.setdefault(name.group(1), set()).add(version.group(1))
    return out


def _crate_files(root: Path) -> List[Tuple[str, bytes, bool]]:
    """The crate of the repository root as rust/ of the sdist: build.rs, src/, Cargo.toml
    (_sdist_manifest) and a Cargo.lock of just the crate's own dependencies, at the versions
    the repository's Cargo.lock pins (cargo prunes it; a version that changed is an error)."""
    files: Dict[str, bytes] = {"build.rs": (root / "build.rs").read_bytes()}
    for f in sorted((root / "src").rglob("*")):
        if f.is_file():
            files[f.relative_to(root).as_posix()] = f.read_bytes()
    files["Cargo.toml"] = _sdist_manifest((root / "Cargo.toml").read_text(encoding="utf-8"), root / "Cargo.toml").encode()
    original_lock = (root / "Cargo.lock").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="swtls-sdist-") as tmp:
        stage = Path(tmp)
        for name, data in files.items():
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_bytes(data)
        (stage / "Cargo.lock").write_text(original_lock, encoding="utf-8")
        cmd = [_cargo(), "metadata", "--format-version", "1", "--manifest-path", str(stage / "Cargo.toml")]
        _log(f"pruning Cargo.lock to the crate's own dependencies: {' '.join(cmd)}")
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise BuildError(
                "cargo could not resolve the sdist's crate with the repository's Cargo.lock:\n"
                + proc.stderr.decode("utf-8", "replace")
            )
        lock = (stage / "Cargo.lock").read_text(encoding="utf-8")
    pinned = _lock_packages(original_lock)
    changed = sorted(f"{n} {v}" for n, vs in _lock_packages(lock).items() for v in vs if v not in pinned.get(n, set()))
    if changed:
        raise BuildError(f"the sdist's Cargo.lock would hold versions the repository's does not pin: {', '.join(changed)}")
    files["Cargo.lock"] = lock.encode()
    return [(f"rust/{name}", data, False) for name, data in sorted(files.items())]


# --- PEP 517 hooks ---


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    project = Project()
    d = Path(metadata_directory) / project.dist_info
    d.mkdir(parents=True, exist_ok=True)
    (d / "METADATA").write_text(project.core_metadata(), encoding="utf-8")
    return project.dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = Project()
    if not os.environ.get(PREBUILT_ENV):
        _check_versions(project, _source_dir())
    library, platform = _library()
    tags = [f"py3-none-{p}" for p in platform.split(".")]
    entries = [(name, f.read_bytes(), False) for name, f in project.python_files()]
    entries.append((f"{PACKAGE}/_lib/{_library_file_name()}", library.read_bytes(), True))
    wheel_meta = ["Wheel-Version: 1.0", "Generator: swtls_build (bindings/python/build_backend)", "Root-Is-Purelib: false"]
    wheel_meta += [f"Tag: {t}" for t in tags]
    entries.append((f"{project.dist_info}/METADATA", project.core_metadata().encode(), False))
    entries.append((f"{project.dist_info}/WHEEL", ("\n".join(wheel_meta) + "\n").encode(), False))
    name = f"{project.dist_name}-{project.version}-py3-none-{platform}.whl"
    Path(wheel_directory).mkdir(parents=True, exist_ok=True)
    _write_wheel(Path(wheel_directory) / name, entries, project.dist_info)
    _log(f"wrote {name}")
    return name


def build_sdist(sdist_directory, config_settings=None):
    project = Project()
    root = PROJECT
    entries: List[Tuple[str, bytes, bool]] = [
        ("pyproject.toml", (root / "pyproject.toml").read_bytes(), False),
        ("PKG-INFO", project.core_metadata().encode(), False),
    ]
    readme = project.project.get("readme")
    if isinstance(readme, str):
        entries.append((readme, (root / readme).read_bytes(), False))
    for f in sorted((root / "build_backend").glob("*.py")):
        entries.append((f"build_backend/{f.name}", f.read_bytes(), False))
    entries += [(f"src/{name}", f.read_bytes(), False) for name, f in project.python_files()]
    if (root / "rust" / "Cargo.toml").is_file():
        # An unpacked sdist: its crate is already what an sdist carries.
        crate = root / "rust"
        _check_versions(project, crate)
        for f in sorted(crate.rglob("*")):
            rel = f.relative_to(crate)
            if f.is_file() and rel.parts[0] != "target":
                entries.append((f"rust/{rel.as_posix()}", f.read_bytes(), False))
    else:
        crate = _source_dir()
        _check_versions(project, crate)
        entries += _crate_files(crate)
    base = f"{project.dist_name}-{project.version}"
    name = f"{base}.tar.gz"
    Path(sdist_directory).mkdir(parents=True, exist_ok=True)
    _write_sdist(Path(sdist_directory) / name, base, sorted(entries))
    _log(f"wrote {name} (the crate in rust/)")
    return name
