"""Writes OUT/swtls-python.size, OUT/grpcio.size and OUT/swtls-python-stubs.size
(bench/compare/CLIENTS.md): the bytes an agent must ship to use each library, counted in the
bench venv (run with its python).

- swtls-python: the installed `swtls` package directory (its .py files, py.typed and the
  bundled _lib/libswtls.so).
- grpcio: every file the grpcio distribution installed (the `grpc` package with its
  Cython extension, and grpcio's dist-info), plus every distribution grpcio requires
  unconditionally (Requires-Dist without an extra marker: typing-extensions), counted the
  same way. Also checked: after `import grpc` no module of any other third-party
  distribution is loaded (else this fails).
- swtls-python-stubs: the swtls package directory, grpcio as above (generated stubs import
  grpc) and protobuf (the generated messages' runtime).

Bytecode (__pycache__) is left out on both sides: pip writes it at install time."""

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path


def tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        total += sum((Path(dirpath) / f).stat().st_size for f in filenames)
    return total


def dist_bytes(name: str) -> int:
    total = 0
    for f in metadata.files(name) or []:
        if "__pycache__" in f.parts:
            continue
        path = Path(f.locate())
        if path.is_file():
            total += path.stat().st_size
    return total


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def required(dist: str) -> list:
    """Requirements of `dist` without an `extra` marker (those are optional)."""
    names = []
    for req in metadata.requires(dist) or []:
        spec, _, marker = req.partition(";")
        if "extra" in marker:
            continue
        names.append(norm(re.match(r"[A-Za-z0-9._-]+", spec.strip()).group(0)))
    return names


def modules_after(imports: str) -> set:
    code = f"import sys{imports}; print('\\n'.join(sorted(sys.modules)))"
    names = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    return {n.split(".")[0] for n in names}


def loaded_distributions(module: str) -> set:
    """Third-party distributions whose modules importing `module` loads in a fresh
    interpreter (what the interpreter loads by itself, e.g. setuptools' .pth hook, is not
    counted)."""
    owners = metadata.packages_distributions()
    tops = modules_after(f", {module}") - modules_after("")
    return {norm(d) for top in tops for d in owners.get(top, [])}


def write(out: Path, name: str, nbytes: int, what: str) -> None:
    (out / f"{name}.size").write_text(json.dumps({"bytes": nbytes, "what": what}) + "\n")


def main() -> None:
    out = Path(sys.argv[1])

    import swtls

    pkg = Path(swtls.__file__).resolve().parent
    lib = pkg / "_lib" / "libswtls.so"
    others = loaded_distributions("swtls") - {"swtls"}
    if others:
        sys.exit(f"import swtls loaded modules of other distributions: {sorted(others)}")
    write(out, "swtls-python", tree_bytes(pkg),
          f"the installed swtls package directory without __pycache__: its .py files and the bundled "
          f"_lib/libswtls.so ({lib.stat().st_size} bytes); no Python dependencies")

    deps = required("grpcio")
    loaded = loaded_distributions("grpc") - {"grpcio"}
    extra = loaded - set(deps)
    if extra:
        sys.exit(f"import grpc loaded modules of distributions grpcio does not require: {sorted(extra)}")
    parts = {"grpcio": dist_bytes("grpcio")}
    for dep in deps:
        parts[dep] = dist_bytes(dep)
    detail = ", ".join(f"{n} {metadata.version(n)} {b} bytes" for n, b in parts.items())
    write(out, "grpcio", sum(parts.values()),
          f"every file installed by grpcio (the grpc package with its Cython extension, and its dist-info) "
          f"plus its required dependencies ({', '.join(deps) or 'none'}), without __pycache__: {detail}; "
          f"import grpc loads modules of {', '.join(sorted(loaded)) or 'no other distribution'} besides grpcio")

    protobuf = dist_bytes("protobuf")
    write(out, "swtls-python-stubs", tree_bytes(pkg) + sum(parts.values()) + protobuf,
          f"the swtls package directory as for swtls-python ({tree_bytes(pkg)} bytes), grpcio with its required "
          f"dependencies as for grpcio (the generated stubs import grpc) and protobuf "
          f"{metadata.version('protobuf')} {protobuf} bytes (the generated messages' runtime), without __pycache__")


if __name__ == "__main__":
    main()
