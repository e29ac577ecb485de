"""The real SkyWalking Python agent (apache-skywalking 1.3.0, installed from its sdist by
requirements.txt) on swtls, end to end (issue 12).

agent_app.py is instrumented by the agent, started with ``swtls.skywalking.start``, over
mutual TLS with the certificates SkyWalking's key-generation script makes (X.509 v1, the
name only in the CN; the agent alone cannot use them) and a token. oap_peer.py (grpcio's
server, BoringSSL, requiring a client certificate) decodes every message with the agent's
own generated protobuf classes and prints it. The app forks once with the agent's fork
support on; the child's data must arrive too. A second, shorter run has a backend list
whose first entry is down.
"""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from certs import ScriptCertSet
from conftest import free_port

if sys.version_info < (3, 10):
    pytest.skip("apache-skywalking 1.3.0 needs Python 3.10 or later", allow_module_level=True)

TESTS = Path(__file__).resolve().parent
APP = TESTS / "agent_app.py"
OAP = TESTS / "oap_peer.py"
TOKEN = "e2e-token-7f3a"
SERVICE = "swtls-e2e"
INSTANCE = "app-1"
CLIENT_CN = "skywalking-agent"


class Oap:
    """oap_peer.py in a subprocess; ``records`` collects the JSON objects it prints."""

    def __init__(self, args: List[str]) -> None:
        self.proc = subprocess.Popen([sys.executable, str(OAP), *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if not first.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"oap_peer.py did not start (is apache-skywalking installed?): {first!r}")
        self.port = int(first.split()[1])
        self.records: List[Dict[str, Any]] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.records.append(json.loads(line))
                self._cond.notify_all()

    def wait_for(self, predicate, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.records), timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _child(r: Dict[str, Any]) -> bool:
    return (r.get("instance") or "").startswith(f"{INSTANCE}-child(")


def _complete(records: List[Dict[str, Any]]) -> bool:
    rpcs = {(r["rpc"], _child(r)) for r in records}
    parent_ops = {s["op"] for r in records if r["rpc"] == "segment" and r["instance"] == INSTANCE for s in r["spans"]}
    child_ops = {s["op"] for r in records if r["rpc"] == "segment" and _child(r) for s in r["spans"]}
    meters = any(r["rpc"] == "meter" and r["names"] for r in records)
    return (
        meters
        and {("properties", False), ("keepAlive", False), ("log", False), ("meter", False), ("profileQuery", False),
         ("snapshot", False), ("properties", True), ("keepAlive", True), ("log", True)} <= rpcs
        and {"/parent-work", "/parent-call", "/profiled", "/child-call"} <= parent_ops
        and {"/child-work", "/child-call"} <= child_ops
    )


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> ScriptCertSet:
    """SkyWalking's script certificates, and an agent ca folder with them."""
    s = ScriptCertSet(tmp_path_factory.mktemp("script-certs"), client_cn=CLIENT_CN)
    assert s.version("server.crt") == s.version("client.crt") == "Version: 1 (0x0)"
    s.agent_dir(s.dir / "agent-ca")
    return s


def _oap(script: ScriptCertSet, *extra: str) -> Oap:
    return Oap(["--cert", str(script.server_cert), "--key", str(script.server_key), "--ca", str(script.ca_cert),
                "--require-client-auth", "--token", TOKEN, *extra])


def _app(tmp: Path, options: Dict[str, Any], *args: str) -> subprocess.Popen:
    """agent_app.py with no SW_AGENT_* variables of the caller's; output into tmp."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("SW_AGENT_") or k == "SWTLS_CA_DIR")}
    with open(tmp / "app.out", "w") as out, open(tmp / "app.err", "w") as err:
        return subprocess.Popen([sys.executable, str(APP), json.dumps(options), *args], stdin=subprocess.PIPE,
                                stdout=out, stderr=err, text=True, env=env, cwd=tmp)


def _finish(app: subprocess.Popen, tmp: Path, oap: Oap) -> Dict[str, Any]:
    if app.poll() is None:
        app.kill()
        app.wait()
    oap.stop()
    return {"records": oap.records, "stdout": (tmp / "app.out").read_text(),
            "stderr": (tmp / "app.err").read_text(), "code": app.returncode}


def _tell(app: subprocess.Popen, line: Optional[str]) -> bool:
    """Writes a line to the app (None: closes its input); False when the app had ended."""
    assert app.stdin is not None
    try:
        if line is None:
            app.stdin.close()
        else:
            app.stdin.write(line + "\n")
            app.stdin.flush()
        return True
    except BrokenPipeError:
        return False


def _wait(app: subprocess.Popen) -> None:
    try:
        app.wait(30)
    except subprocess.TimeoutExpired:
        pass  # killed by _finish; the test shows the output


@pytest.fixture(scope="module")
def run(script: ScriptCertSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    """One run of the app against the OAP stand-in: what the OAP decoded and what the app
    printed."""
    tmp = tmp_path_factory.mktemp("skywalking-agent")
    oap = _oap(script, "--profile-endpoint", "/profiled")
    options = {
        # the agent's own options
        "agent_collector_backend_services": f"127.0.0.1:{oap.port}",
        "agent_name": SERVICE,
        "agent_instance_name": INSTANCE,
        "agent_authentication": TOKEN,
        "agent_experimental_fork_support": True,
        "agent_meter_reporter_period": 1,
        "agent_collector_get_profile_task_interval": 1,
        "agent_disable_plugins": "sw_(?!http_server|urllib_request)",
        # swtls's
        "agent_ca_dir": str(script.dir / "agent-ca"),
        "agent_ssl_target_name_override": "localhost",
    }
    app = _app(tmp, options)
    try:
        # The forked child exits when told, once its heartbeat has arrived (the agent's
        # heartbeat thread is a daemon: an exit would end it wherever it is).
        oap.wait_for(lambda records: {("properties", True), ("keepAlive", True)}
                     <= {(r["rpc"], _child(r)) for r in records}, timeout=40)
        complete = _tell(app, "child may exit") and oap.wait_for(_complete, timeout=30)
        _tell(app, None)  # ends the app
        _wait(app)
    finally:
        result = _finish(app, tmp, oap)
    yield dict(result, complete=complete, port=oap.port)


@pytest.fixture(scope="module")
def failover_run(script: ScriptCertSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    """The app with a backend list whose first entry is down: the heartbeat's calls move
    to the next one (nothing was sent to the first), and so does the segment made after."""
    tmp = tmp_path_factory.mktemp("skywalking-agent-failover")
    oap = _oap(script)
    dead = free_port()
    options = {
        "agent_collector_backend_services": f"127.0.0.1:{dead},127.0.0.1:{oap.port}",
        "agent_name": SERVICE,
        "agent_instance_name": "failover-1",
        "agent_authentication": TOKEN,
        "agent_meter_reporter_active": False,
        "agent_log_reporter_active": False,
        "agent_profile_active": False,
        "agent_disable_plugins": "sw_(?!http_server|urllib_request)",
        "agent_ca_dir": str(script.dir / "agent-ca"),
        "agent_ssl_target_name_override": "localhost",
    }
    app = _app(tmp, options, "work-on-request")
    try:
        heartbeat = oap.wait_for(lambda records: {"properties", "keepAlive"} <= {r["rpc"] for r in records}, 40)
        segment = _tell(app, "work") and oap.wait_for(
            lambda records: {"/on-request", "/on-request-call"}
            <= {s["op"] for r in records if r["rpc"] == "segment" for s in r["spans"]}, 30)
        _tell(app, None)
        _wait(app)
    finally:
        result = _finish(app, tmp, oap)
    yield dict(result, heartbeat=heartbeat, segment=segment, dead=dead, port=oap.port)


def _show(run: Dict[str, Any]) -> str:
    """What to print when an assertion fails: the app's output and the OAP's records
    (without the snapshots' stacks)."""
    records = [{k: v for k, v in r.items() if k != "stack"} for r in run["records"]]
    return (f"app exit {run['code']}\n--- app stdout\n{run['stdout']}\n--- app stderr (tail)\n"
            f"{run['stderr'][-6000:]}\n--- OAP records\n" + "\n".join(json.dumps(r) for r in records[-60:]))


def _records(run: Dict[str, Any], rpc: str, child: bool = False) -> List[Dict[str, Any]]:
    return [r for r in run["records"] if r["rpc"] == rpc and _child(r) == child]


def test_the_app_ran_and_everything_arrived(run):
    assert run["complete"], _show(run)
    assert run["code"] == 0, _show(run)
    assert "DONE" in run["stdout"], _show(run)
    assert "CHANNEL swtls.grpc\n" in run["stdout"], _show(run)  # the binding's own channel
    # Every message came over mutual TLS with the script's v1 client certificate (the OAP
    # reports the CN its TLS layer verified) and with the token (the OAP refuses others).
    assert {r["peer_cn"] for r in run["records"]} == {CLIENT_CN}, _show(run)


def test_heartbeat_and_instance_properties(run):
    props = _records(run, "properties")
    assert props, _show(run)
    assert {(r["service"], r["instance"]) for r in props} == {(SERVICE, INSTANCE)}
    assert props[0]["properties"]["language"] == "python"
    assert props[0]["properties"]["Process No."].isdigit()
    assert {(r["service"], r["instance"]) for r in _records(run, "keepAlive")} == {(SERVICE, INSTANCE)}, _show(run)


def test_segments_with_the_span_api_and_the_http_plugins(run):
    segments = _records(run, "segment")
    by_op = {s["op"]: (r, s) for r in segments for s in r["spans"]}
    assert {"/parent-work", "/parent-call", "/profiled"} <= set(by_op), _show(run)
    seg, work = by_op["/parent-work"]
    assert (seg["service"], seg["instance"]) == (SERVICE, INSTANCE)
    assert (work["type"], work["layer"], work["parent"]) == ("Entry", "Http", -1)
    # The urllib_request plugin's exit span, inside the entry span of the span API...
    exits = [s for s in seg["spans"] if s["op"] == "/parent-call"]
    assert exits and exits[0]["type"] == "Exit" and exits[0]["tags"]["http.method"] == "GET", _show(run)
    # ...and the http_server plugin's entry span on the serving side, linked to it.
    served = [r for r in segments if any(s["op"] == "/parent-call" and s["type"] == "Entry" for s in r["spans"])]
    assert served and served[0]["traceId"] == seg["traceId"], _show(run)
    assert seg["segmentId"] in served[0]["spans"][0]["refs"], _show(run)


def test_logs_meters_and_profiling(run):
    logs = [r for r in _records(run, "log") if "parent log record" in r["text"]]
    assert logs, _show(run)
    assert (logs[0]["service"], logs[0]["instance"], logs[0]["endpoint"]) == (SERVICE, INSTANCE, "/parent-work")
    assert logs[0]["tags"]["logger"] == "app" and logs[0]["traceId"], _show(run)
    meters = [r for r in _records(run, "meter") if r["names"]]
    assert meters and {(r["service"], r["instance"]) for r in meters} >= {(SERVICE, INSTANCE)}
    assert any(n.startswith("instance_pvm_") for r in meters for n in r["names"]), _show(run)
    assert _records(run, "profileQuery")[0]["service"] == SERVICE
    # The profile task the OAP answered reached the agent: thread snapshots of /profiled.
    snapshots = _records(run, "snapshot")
    assert snapshots and {r["taskId"] for r in snapshots} == {"task-1"}, _show(run)
    profiled = [r["segmentId"] for r in _records(run, "segment") if any(s["op"] == "/profiled" for s in r["spans"])]
    assert snapshots[0]["segmentId"] in profiled, _show(run)
    assert any("agent_app.py" in frame for r in snapshots for frame in r["stack"]), _show(run)


def test_a_forked_child_reports_as_its_own_instance(run):
    m = [line for line in run["stdout"].splitlines() if line.startswith("CHILD ")]
    assert m and m[0].endswith("EXIT 0"), _show(run)
    pid = m[0].split()[1]
    instance = f"{INSTANCE}-child({pid})"
    child_segments = _records(run, "segment", child=True)
    assert {r["instance"] for r in child_segments} == {instance}, _show(run)
    ops = {s["op"]: s for r in child_segments for s in r["spans"]}
    assert ops["/child-work"]["type"] == "Entry" and ops["/child-call"]["type"] == "Exit", _show(run)
    props = _records(run, "properties", child=True)
    assert props and props[0]["instance"] == instance and props[0]["properties"]["Process No."] == pid, _show(run)
    assert _records(run, "keepAlive", child=True), _show(run)
    logs = [r for r in _records(run, "log", child=True) if f"child log record from {pid}" in r["text"]]
    assert logs and logs[0]["endpoint"] == "/child-work", _show(run)
    # The parent served the child's call: its segment continues the child's trace.
    served = [r for r in _records(run, "segment") if any(s["op"] == "/child-call" for s in r["spans"])]
    assert served and served[0]["traceId"] == child_segments[0]["traceId"], _show(run)


def test_the_library_logs_in_the_agents_logger(run):
    err = run["stderr"]
    # swtls's messages, in the agent's logger ("skywalking", its format with the pid).
    assert " skywalking [pid:" in err, _show(run)
    assert f"swtls channel to 127.0.0.1:{run['port']}: mutual-tls" in err, _show(run)
    assert "accepted a legacy server certificate for 'localhost'" in err, _show(run)
    assert TOKEN not in err and TOKEN not in run["stdout"]


def test_failover_over_the_backend_list(failover_run):
    run = failover_run
    assert run["heartbeat"] and run["segment"] and run["code"] == 0, _show(run)
    assert f"swtls channel to 127.0.0.1:{run['dead']},127.0.0.1:{run['port']}: mutual-tls" in run["stderr"]
    ops = {s["op"] for r in run["records"] if r["rpc"] == "segment" for s in r["spans"]}
    assert {"/on-request", "/on-request-call"} <= ops, _show(run)
    assert {r["instance"] for r in run["records"]} == {"failover-1"}
    assert {r["peer_cn"] for r in run["records"]} == {CLIENT_CN}


@pytest.fixture(scope="module")
def prefork_run(script: ScriptCertSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    """A pre-forking server's master installs the agent with
    ``swtls.skywalking.install(...).start_prefork_master()`` and forks a worker."""
    tmp = tmp_path_factory.mktemp("skywalking-agent-prefork")
    oap = _oap(script)
    options = {
        "agent_collector_backend_services": f"127.0.0.1:{oap.port}",
        "agent_name": SERVICE,
        "agent_instance_name": "master",
        "agent_authentication": TOKEN,
        "agent_experimental_fork_support": True,
        "agent_meter_reporter_active": False,
        "agent_profile_active": False,
        "agent_disable_plugins": "sw_(?!http_server|urllib_request)",
        "agent_ca_dir": str(script.dir / "agent-ca"),
        "agent_ssl_target_name_override": "localhost",
    }
    app = _app(tmp, options, "prefork")
    try:
        ready = oap.wait_for(lambda records: {"properties", "keepAlive", "segment", "log"}
                             <= {r["rpc"] for r in records}, 40)
        _tell(app, "worker may exit")
        _wait(app)
    finally:
        result = _finish(app, tmp, oap)
    yield dict(result, ready=ready)


def test_a_pre_forking_servers_worker_reports_and_its_master_does_not(prefork_run):
    run = prefork_run
    assert run["ready"] and run["code"] == 0, _show(run)
    m = [line for line in run["stdout"].splitlines() if line.startswith("WORKER ")]
    assert m and m[0].endswith("EXIT 0"), _show(run)
    pid = m[0].split()[1]
    # Every record is the worker's, none the master's.
    assert {r["instance"] for r in run["records"] if "instance" in r} == {f"master-child({pid})"}, _show(run)
    ops = {s["op"] for r in run["records"] if r["rpc"] == "segment" for s in r["spans"]}
    assert {"/worker-work", "/worker-call"} <= ops, _show(run)
    assert any(f"worker log record from {pid}" in r["text"] for r in run["records"] if r["rpc"] == "log")

