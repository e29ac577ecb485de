"""Fixtures: certificates made here with `cryptography`, and grpcio's own server
(tests/peers/grpcio_server.py, BoringSSL from PyPI) started on loopback in a subprocess."""

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator, List, Optional

import pytest
from certs import CertSet

REPO = Path(__file__).resolve().parents[3]
PEER = REPO / "tests" / "peers" / "grpcio_server.py"
# The interpreter that runs the grpcio peer: this one unless SWTLS_PEER_PYTHON names
# another (e.g. to test the binding on a Python that grpcio no longer ships wheels for).
PEER_PYTHON = os.environ.get("SWTLS_PEER_PYTHON", sys.executable)



def pytest_configure(config: pytest.Config) -> None:
    """With SWTLS_TEST_INSTALLED_IN (a site-packages folder; .ci/test-python.sh sets it), the
    suite tests the package installed there: swtls and its library must both come from that
    folder, not from bindings/python/src nor from SWTLS_LIBRARY."""
    where = os.environ.get("SWTLS_TEST_INSTALLED_IN")
    if not where:
        return
    import swtls

    site = Path(where).resolve()
    problems = []
    if os.environ.get("SWTLS_LIBRARY"):
        problems.append(f"SWTLS_LIBRARY is set ({os.environ['SWTLS_LIBRARY']})")
    for what, path in (("swtls", swtls.__file__), ("its library", swtls.library_path)):
        if not path or site not in Path(path).resolve().parents:
            problems.append(f"{what} is {path}, not under {site}")
    if problems:
        pytest.exit("not testing the installed package: " + "; ".join(problems), returncode=2)


def pytest_report_header(config: pytest.Config) -> str:
    import swtls

    return f"swtls under test: {swtls.__file__}, library {swtls.library_path} ({swtls.version()})"


KEEP_ALIVE = "/skywalking.v3.ManagementService/keepAlive"
SEGMENTS = "/skywalking.v3.TraceSegmentReportService/collect"
ECHO = "/swtls.test.Echo/unary"
ECHO_COLLECT = "/swtls.test.Echo/collect"
ECHO_SLOW = "/swtls.test.Echo/slow"  # request: ASCII milliseconds


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertSet:
    return CertSet(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="session")
def other_certs(tmp_path_factory: pytest.TempPathFactory) -> CertSet:
    """Another private CA of the same name: its certificates must not be trusted for `certs`."""
    return CertSet(tmp_path_factory.mktemp("other-certs"))


# --- the grpcio peer ---


class Peer:
    """grpcio's server in a subprocess. ``lines`` collects what it prints per request."""

    def __init__(self, args: List[str]) -> None:
        self.proc = subprocess.Popen(
            [PEER_PYTHON, str(PEER), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if not first.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"the grpcio peer did not start (is grpcio installed?): {first!r}")
        self.port = int(first.split()[1])
        self.lines: List[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.strip())
                self._cond.notify_all()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait_for(self, predicate, timeout: float = 20.0) -> bool:
        """Waits until ``predicate(lines)`` holds (a safety bound, not a timing assertion)."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.lines), timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Peers:
    def __init__(self, certs: CertSet) -> None:
        self.certs = certs
        self._started: List[Peer] = []

    def start(self, mode: str, token: Optional[str] = None, verbose: bool = False) -> Peer:
        """``verbose``: the peer also prints each request's metadata and decoded messages
        (tests/peers/grpcio_server.py)."""
        c = self.certs
        args: List[str] = []
        if mode in ("tls", "mtls"):
            args += ["--cert", str(c.server_cert), "--key", str(c.server_key)]
        if mode == "mtls":
            args += ["--ca", str(c.ca_cert), "--require-client-auth"]
        if token is not None:
            args += ["--token", token]
        if verbose:
            args.append("--verbose")
        peer = Peer(args)
        self._started.append(peer)
        return peer

    def stop_all(self) -> None:
        for p in self._started:
            p.stop()


@pytest.fixture
def peers(certs: CertSet) -> Iterator[Peers]:
    p = Peers(certs)
    yield p
    p.stop_all()


@pytest.fixture
def agent_dirs(certs: CertSet, tmp_path: Path):
    """``agent_dirs(name, files)``: a ca folder holding those files of the test CA set."""

    def make(name: str, files: List[str]) -> Path:
        return certs.agent_dir(tmp_path / name, files)

    return make


def free_port() -> int:
    """A loopback port with nothing listening on it (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Blackhole:
    """A TCP listener that accepts connections and never answers: calls to it can only end
    at their deadline."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: List[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self._stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        except OSError:
            pass
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    b = Blackhole()
    yield b
    b.close()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SW_AGENT_* or SWTLS_CA_DIR from the caller's environment leaks into a test."""
    for k in list(os.environ):
        if k.startswith("SW_AGENT_") or k == "SWTLS_CA_DIR":
            monkeypatch.delenv(k)


