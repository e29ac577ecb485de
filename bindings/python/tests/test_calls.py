"""Unary and client-streaming calls against grpcio's server with mutual TLS: bytes in and
out, tokens, deadlines, bad method paths, use after close, and the GIL released in calls."""

import threading
import time

import pytest
from conftest import ECHO, ECHO_COLLECT, KEEP_ALIVE, SEGMENTS, free_port
from messages import ping, segment

import swtls

ALL = ["ca.crt", "client.crt", "client.pem"]


@pytest.fixture
def mtls(peers, agent_dirs):
    """(peer, channel) over mutual TLS."""
    peer = peers.start("mtls")
    ch = swtls.Channel(swtls.Config(collector_backend_service=peer.target, agent_ca_dir=agent_dirs("ca", ALL)))
    yield peer, ch
    ch.close()


def test_unary_bytes_in_and_out(mtls):
    _, ch = mtls
    assert ch.unary(ECHO, b"") == b""
    assert ch.unary(ECHO) == b""
    payload = bytes(range(256)) * 4096  # 1 MiB, every byte value
    assert ch.unary(ECHO, payload) == payload
    assert ch.unary(ECHO, bytearray(b"from a bytearray")) == b"from a bytearray"
    assert ch.unary(ECHO, memoryview(b"xxfrom a viewxx")[2:-2]) == b"from a view"
    assert ch.unary(ECHO, b"with deadline", timeout=10) == b"with deadline"


def test_keep_alive_reaches_grpcio(mtls):
    peer, ch = mtls
    msg = ping("python-service", "python-instance")
    assert ch.unary(KEEP_ALIVE, msg) == b""  # empty Commands
    assert peer.wait_for(lambda lines: f"keepAlive {len(msg)} bytes" in lines)


def test_client_streaming(mtls):
    _, ch = mtls
    with ch.stream(ECHO_COLLECT) as s:
        for _ in range(300):
            s.send(b"\x01" * 1024)
    assert s.response == b"300 307200"
    # Explicit finish; then the stream is over.
    s = ch.stream(ECHO_COLLECT, timeout=10)
    s.send(b"abc")
    s.send(bytearray(b"de"))
    assert s.finish() == b"2 5"
    with pytest.raises(swtls.Closed):
        s.send(b"late")
    with pytest.raises(swtls.Closed):
        s.finish()
    s.close()
    with pytest.raises(swtls.Closed):
        s.send(b"after close")


def test_segments_stream(mtls):
    peer, ch = mtls
    with ch.stream(SEGMENTS) as s:
        for i in range(10):
            s.send(segment(f"trace-{i}", f"seg-{i}"))
    assert s.response == b""
    assert peer.wait_for(lambda lines: "collect 10 messages" in lines)


def test_stream_cancelled_when_the_block_raises(mtls):
    peer, ch = mtls
    with pytest.raises(RuntimeError):
        with ch.stream(SEGMENTS) as s:
            s.send(segment("t", "cancelled"))
            raise RuntimeError("agent failure")
    assert s.response is None
    with pytest.raises(swtls.Closed):
        s.send(b"after cancel")
    # The channel goes on: the next stream goes through.
    with ch.stream(SEGMENTS) as s2:
        for i in range(3):
            s2.send(segment("t", f"ok-{i}"))
    assert s2.response == b""
    assert peer.wait_for(lambda lines: "collect 3 messages" in lines)


def test_refused_token(peers, agent_dirs):
    peer = peers.start("mtls", token="py-token")
    d = agent_dirs("ca", ALL)
    with swtls.Channel(swtls.Config(collector_backend_service=peer.target, agent_ca_dir=d)) as none:
        with pytest.raises(swtls.Unauthenticated) as e:
            none.unary(KEEP_ALIVE, ping("a", "b"))
    assert isinstance(e.value, swtls.RpcError) and e.value.status == 16
    assert "invalid authentication token" in e.value.message
    cfg = swtls.Config(collector_backend_service=peer.target, agent_ca_dir=d, agent_authentication="wrong-token")
    with swtls.Channel(cfg) as wrong:
        with pytest.raises(swtls.Unauthenticated) as e:
            wrong.unary(KEEP_ALIVE, ping("a", "b"))
        with pytest.raises(swtls.Unauthenticated):
            with wrong.stream(SEGMENTS) as s:
                s.send(segment("t", "s"))
    assert "wrong-token" not in str(e.value)
    cfg.set("agent.authentication", "py-token")
    with swtls.Channel(cfg) as right:
        assert right.unary(ECHO, b"let in") == b"let in"


@pytest.mark.parametrize("method", ["keepAlive", "/noservice", "skywalking.v3.X/y", "/a.B/", ""])
def test_bad_method_paths(mtls, method):
    _, ch = mtls
    with pytest.raises(swtls.InvalidMethod) as e:
        ch.unary(method, b"")
    assert e.value.status == swtls.Status.INVALID_METHOD
    with pytest.raises(swtls.InvalidMethod):
        ch.stream(method)
    with pytest.raises(swtls.InvalidMethod):
        ch.report(method, b"x")


def test_unknown_method_is_unimplemented(mtls):
    _, ch = mtls
    with pytest.raises(swtls.Unimplemented):
        ch.unary("/swtls.test.Echo/nope", b"")


def test_bad_argument_types(mtls):
    _, ch = mtls
    with pytest.raises(TypeError, match="bytes-like"):
        ch.unary(ECHO, "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bytes-like"):
        ch.report(SEGMENTS, "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="method"):
        ch.unary(b"/swtls.test.Echo/unary", b"")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        ch.unary(ECHO, b"", timeout=0)
    with pytest.raises(ValueError, match="timeout"):
        ch.flush(timeout=-1)


def test_unreachable_backend_is_unavailable(agent_dirs):
    cfg = swtls.Config(collector_backend_service=f"127.0.0.1:{free_port()}", agent_ca_dir=agent_dirs("e", []))
    with swtls.Channel(cfg) as ch:
        with pytest.raises(swtls.Unavailable) as e:
            ch.unary(ECHO, b"", timeout=10)
    assert "127.0.0.1" in e.value.message


def test_deadline_exceeded(blackhole, agent_dirs):
    cfg = swtls.Config(collector_backend_service=f"127.0.0.1:{blackhole.port}", agent_ca_dir=agent_dirs("e", []))
    with swtls.Channel(cfg) as ch:
        with pytest.raises(swtls.DeadlineExceeded) as e:
            ch.unary(ECHO, b"", timeout=0.3)
        assert "did not finish within 300ms" in e.value.message
        with pytest.raises(swtls.DeadlineExceeded):
            with ch.stream(ECHO_COLLECT, timeout=0.3) as s:
                s.send(b"never answered")


def test_calls_release_the_gil(blackhole, agent_dirs):
    """A call blocked in the library must let other Python threads run: while one thread
    waits out a 5 s deadline, this thread wakes from a short sleep and sees it still
    waiting (with the GIL held, this thread could run again only after the call ended)."""
    cfg = swtls.Config(collector_backend_service=f"127.0.0.1:{blackhole.port}", agent_ca_dir=agent_dirs("e", []))
    ch = swtls.Channel(cfg)
    outcome = []
    entered = threading.Event()

    def blocked_call():
        entered.set()
        try:
            ch.unary(ECHO, b"", timeout=5)
        except swtls.SwtlsError as e:
            outcome.append(e)

    t = threading.Thread(target=blocked_call)
    t.start()
    entered.wait()
    time.sleep(0.5)
    still_waiting = t.is_alive() and not outcome
    t.join()
    ch.close()
    assert still_waiting
    assert isinstance(outcome[0], swtls.DeadlineExceeded)


def test_use_after_close(mtls):
    _, ch = mtls
    ch.report(SEGMENTS, segment("t", "before close"))
    ch.close(timeout=10)
    assert ch.closed
    for call in (
        lambda: ch.unary(ECHO, b""),
        lambda: ch.stream(ECHO_COLLECT),
        lambda: ch.report(SEGMENTS, b""),
        lambda: ch.flush(),
    ):
        with pytest.raises(swtls.Closed) as e:
            call()
        assert e.value.status == 103 and e.value.status_name == "CLOSED"
        assert isinstance(e.value, swtls.UsageError)
    # What stays available after close: the final counters and the mode.
    st = ch.stats()
    assert st.acknowledged == 1 and st.pending == 0
    assert ch.tls_mode == swtls.TlsMode.MUTUAL_TLS
    ch.close()  # closing again does nothing
    assert "closed" in repr(ch)


def test_channel_from_many_threads(mtls):
    _, ch = mtls
    errors = []

    def worker(n):
        try:
            for i in range(20):
                body = f"{n}-{i}".encode()
                assert ch.unary(ECHO, body) == body
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
