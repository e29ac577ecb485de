"""examples/python/agent.py against grpcio's server with mutual TLS, configured only
through the SW_AGENT_* environment, as agents are."""

import os
import re
import subprocess
import sys

import pytest
from conftest import REPO

if sys.version_info < (3, 10):
    # requirements.txt installs apache-skywalking, whose generated protocol classes the
    # example encodes with, only where it runs.
    pytest.skip("the example needs apache-skywalking 1.3.0: Python 3.10 or later", allow_module_level=True)

AGENT = REPO / "examples" / "python" / "agent.py"


def run_agent(env_extra, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SW_AGENT_") and k != "SWTLS_CA_DIR"}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, str(AGENT), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_agent_loop_over_mutual_tls(peers, agent_dirs):
    peer = peers.start("mtls", token="agent-token")
    env = {
        "SW_AGENT_COLLECTOR_BACKEND_SERVICES": peer.target,
        "SWTLS_CA_DIR": str(agent_dirs("ca", ["ca.crt", "client.crt", "client.pem"])),
        "SW_AGENT_AUTHENTICATION": "agent-token",
        "SW_AGENT_NAME": "example-service",
    }
    r = run_agent(env, "--iterations", "2", "--segments", "3", "--interval", "0.1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "MUTUAL_TLS" in r.stdout
    assert "reported 6 segments: acknowledged 6, dropped 0" in r.stdout, r.stdout
    assert peer.wait_for(lambda lines: sum(1 for x in lines if x.startswith("keepAlive")) == 2)
    assert peer.wait_for(
        lambda lines: sum(int(m.group(1)) for m in (re.fullmatch(r"collect (\d+) messages", x) for x in lines) if m)
        == 6
    )


def test_agent_reports_a_bad_environment(tmp_path):
    r = run_agent({"SW_AGENT_FORCE_TLS": "perhaps", "SWTLS_CA_DIR": str(tmp_path)})
    assert r.returncode == 1
    assert "CONFIG_INVALID_VALUE" in r.stderr and "SW_AGENT_FORCE_TLS" in r.stderr


def test_agent_without_client_certificate_is_told_why(peers, agent_dirs):
    peer = peers.start("mtls")
    env = {
        "SW_AGENT_COLLECTOR_BACKEND_SERVICES": f"localhost:{peer.port}",
        "SWTLS_CA_DIR": str(agent_dirs("ca", ["ca.crt"])),
        "SW_AGENT_COLLECTOR_GRPC_UPSTREAM_TIMEOUT": "2",
    }
    r = run_agent(env, "--iterations", "1", "--segments", "1")
    assert r.returncode == 1
    assert "TLS_CLIENT_CERT_REQUIRED" in r.stderr, r.stderr
