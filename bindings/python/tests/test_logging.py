"""The log callback: a Python callable, called from the library's threads, kept alive by
the binding; and routing into the logging module."""

import gc
import logging
import sys
import threading

import pytest
from conftest import SEGMENTS, free_port
from messages import segment

import swtls


@pytest.fixture
def restore_logging():
    yield
    swtls.set_log_callback(None)


def test_callback_receives_messages_from_library_threads(agent_dirs, restore_logging):
    got = []
    lock = threading.Lock()

    def callback(level, message):
        with lock:
            got.append((level, message, threading.current_thread() is threading.main_thread()))

    swtls.set_log_callback(callback, swtls.LogLevel.DEBUG)
    del callback
    gc.collect()  # the binding keeps the callable alive
    cfg = swtls.Config(collector_backend_service=f"127.0.0.1:{free_port()}", agent_ca_dir=agent_dirs("e", []))
    ch = swtls.Channel(cfg)
    # The mode decision is logged at info level on the calling thread.
    with lock:
        assert any(lvl == swtls.LogLevel.INFO and "plaintext" in msg.lower() for lvl, msg, _ in got), got
    # The reporter's failures are logged by the library's worker threads.
    ch.report(SEGMENTS, segment("t", "s"))
    with pytest.raises(swtls.SwtlsError):
        ch.close(timeout=1)
    with lock:
        assert all(isinstance(lvl, swtls.LogLevel) for lvl, _, _ in got)
        assert any(not on_main for _, _, on_main in got), got


def test_max_level_filters(agent_dirs, restore_logging):
    got = []
    swtls.set_log_callback(lambda level, message: got.append(level), swtls.LogLevel.ERROR)
    swtls.Channel(swtls.Config(agent_ca_dir=agent_dirs("e", [])))
    assert swtls.LogLevel.INFO not in got


def test_bad_level_is_refused(restore_logging):
    with pytest.raises(swtls.InvalidParameter, match="max_level"):
        swtls.set_log_callback(lambda level, message: None, 9)  # type: ignore[arg-type]


def test_exception_in_callback_does_not_break_calls(agent_dirs, restore_logging, monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(u.exc_value))

    def broken(level, message):
        raise RuntimeError("host logging failed")

    swtls.set_log_callback(broken, swtls.LogLevel.DEBUG)
    with swtls.Channel(swtls.Config(agent_ca_dir=agent_dirs("e", []))) as ch:
        assert ch.tls_mode == swtls.TlsMode.PLAINTEXT
    # ctypes reported the exception (to sys.unraisablehook) instead of raising it into C.
    assert any(isinstance(e, RuntimeError) and "host logging failed" in str(e) for e in reported)


def test_use_logging(agent_dirs, caplog, restore_logging):
    swtls.use_logging("swtls.test", swtls.LogLevel.INFO)
    with caplog.at_level(logging.INFO, logger="swtls.test"):
        swtls.Channel(swtls.Config(agent_ca_dir=agent_dirs("e", [])))
    assert any(r.name == "swtls.test" and r.levelno == logging.INFO for r in caplog.records)


def test_interpreter_exits_cleanly_while_library_threads_log(tmp_path):
    """A process that exits with a Python log callback installed and the library's worker
    threads still busy (an unreachable backend, reports never closed) must exit normally:
    the binding uninstalls its callback before the interpreter is torn down."""
    import subprocess

    script = tmp_path / "exit_while_logging.py"
    script.write_text(
        "import swtls, socket\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()\n"
        "swtls.set_log_callback(lambda level, message: None, swtls.LogLevel.DEBUG)\n"
        f"ch = swtls.Channel(swtls.Config(collector_backend_service=f'127.0.0.1:{{port}}', agent_ca_dir={str(tmp_path)!r}))\n"
        "for i in range(100):\n"
        "    ch.report('/skywalking.v3.TraceSegmentReportService/collect', b'x' * 10)\n"
        "print('exiting', flush=True)\n"
    )
    for _ in range(3):
        r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False)
        assert r.returncode == 0 and r.stdout == "exiting\n", (r.returncode, r.stdout, r.stderr)
