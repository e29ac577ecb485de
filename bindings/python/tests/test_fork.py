"""os.fork() while logging is routed to Python and a library thread is inside the Python
callback (issue 11, item 1): the child's call keeps its deadline, and replacing the
callback there (also at interpreter exit) does not wait for the parent's call."""

import re
import subprocess
import sys
from pathlib import Path

ALL = ["ca.crt", "client.crt", "client.pem"]
SCRIPT = Path(__file__).with_name("forking.py")


def test_fork_during_a_slow_python_log_callback(peers, agent_dirs):
    peer = peers.start("mtls")
    ca_dir = agent_dirs("ca", ALL)
    r = subprocess.run(
        [sys.executable, str(SCRIPT), peer.target, str(ca_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    m = re.search(r"child: keepAlive ok in ([0-9.]+) s, callback replaced in ([0-9.]+) s", out)
    assert m, out
    assert float(m.group(1)) < 2.5, out  # within its 2 s deadline (and it succeeded)
    assert float(m.group(2)) < 1.0, out
    assert "child exit: 0" in out, out  # the exit (atexit replaces the callback) did not hang
    assert peer.wait_for(lambda lines: sum("keepAlive" in line for line in lines) >= 2), out
