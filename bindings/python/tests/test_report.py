"""The reporter through the binding: report, flush, close and the counters, against
grpcio's server with mutual TLS (and against backends that refuse, vanish or hang)."""

import re
import threading

import pytest
from conftest import SEGMENTS, free_port
from messages import segment

import swtls

ALL = ["ca.crt", "client.crt", "client.pem"]


def assert_invariant(st: swtls.Stats) -> None:
    assert st.queued == st.acknowledged + st.dropped_queue_full + st.dropped_closed + st.dropped_server_error + st.pending, st


def collected(lines):
    """Messages grpcio's collect handler counted, over all streams it finished."""
    return sum(int(m.group(1)) for m in (re.fullmatch(r"collect (\d+) messages", x) for x in lines) if m)


def test_report_flush_and_counters(peers, agent_dirs):
    peer = peers.start("mtls")
    cfg = swtls.Config(collector_backend_service=peer.target, agent_ca_dir=agent_dirs("ca", ALL))
    messages = [segment(f"trace-{i}", f"segment-{i}") for i in range(500)]
    with swtls.Channel(cfg) as ch:
        st = ch.stats()
        assert (st.queued, st.acknowledged, st.pending) == (0, 0, 0)
        assert st.tls_mode == swtls.TlsMode.MUTUAL_TLS and st.backend == peer.target and st.backend_index == 0
        for m in messages:
            assert ch.report(SEGMENTS, m) is True
        assert_invariant(ch.stats())
        ch.flush(timeout=30)
        st = ch.stats()
        assert_invariant(st)
        assert st.queued == 500 and st.sent == 500 and st.acknowledged == 500
        assert st.pending == 0 and st.dropped == 0 and st.queued_bytes == 0
        assert st.bytes_sent == sum(len(m) for m in messages)
    # Closing ended the reporter's stream: grpcio counted every message.
    assert peer.wait_for(lambda lines: collected(lines) == 500), peer.lines
    final = ch.stats()
    assert final.acknowledged == 500 and final.dropped_closed == 0


def test_report_from_many_threads(peers, agent_dirs):
    peer = peers.start("mtls")
    cfg = swtls.Config(collector_backend_service=peer.target, agent_ca_dir=agent_dirs("ca", ALL))
    ch = swtls.Channel(cfg)
    dropped = []

    def worker(n):
        for i in range(250):
            if not ch.report(SEGMENTS, segment(f"t{n}", f"s{n}-{i}")):
                dropped.append(1)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ch.flush(timeout=30)
    st = ch.stats()
    assert_invariant(st)
    assert st.queued == 1000
    assert st.acknowledged == 1000 - len(dropped) and st.dropped_queue_full == len(dropped)
    ch.close(timeout=10)
    assert peer.wait_for(lambda lines: collected(lines) == 1000 - len(dropped))


def test_full_queue_drops_and_counts(agent_dirs):
    cfg = swtls.Config(
        collector_backend_service=f"127.0.0.1:{free_port()}",
        agent_ca_dir=agent_dirs("e", []),
        swtls_report_queue_messages=10,
    )
    ch = swtls.Channel(cfg)
    results = [ch.report(SEGMENTS, segment("t", f"s{i}")) for i in range(100)]
    st = ch.stats()
    assert_invariant(st)
    assert st.queued == 100
    assert results.count(False) == st.dropped_queue_full > 0
    assert st.acknowledged == 0
    with pytest.raises(swtls.SwtlsError):
        ch.close(timeout=0.5)  # nothing can be delivered
    st = ch.stats()
    assert_invariant(st)
    assert st.pending == 0 and st.queued_bytes == 0
    assert st.dropped_queue_full + st.dropped_closed + st.dropped_server_error == 100
    assert st.connect_failures >= 1


def test_flush_deadline_leaves_messages_queued(blackhole, agent_dirs):
    cfg = swtls.Config(collector_backend_service=f"127.0.0.1:{blackhole.port}", agent_ca_dir=agent_dirs("e", []))
    ch = swtls.Channel(cfg)
    for i in range(3):
        assert ch.report(SEGMENTS, segment("t", f"s{i}"))
    with pytest.raises(swtls.DeadlineExceeded) as e:
        ch.flush(timeout=0.3)
    assert "3" in e.value.message
    st = ch.stats()
    assert_invariant(st)
    assert st.pending == 3 and st.acknowledged == 0
    try:
        ch.close(timeout=0.2)
    except swtls.SwtlsError:
        pass
    st = ch.stats()
    assert_invariant(st)
    assert st.pending == 0 and st.dropped_closed + st.dropped_server_error == 3


def test_refused_token_drops_reports_and_flush_says_why(peers, agent_dirs):
    peer = peers.start("mtls", token="py-token")
    cfg = swtls.Config(
        collector_backend_service=peer.target, agent_ca_dir=agent_dirs("ca", ALL), agent_authentication="wrong"
    )
    with swtls.Channel(cfg) as ch:
        for i in range(5):
            assert ch.report(SEGMENTS, segment("t", f"s{i}"))
        with pytest.raises(swtls.Unauthenticated) as e:
            ch.flush(timeout=30)
        assert "wrong" not in e.value.message.replace("wrong-", "")
        st = ch.stats()
        assert_invariant(st)
        assert st.acknowledged == 0 and st.failed_streams >= 1
        assert st.dropped_server_error + st.pending == 5
    # The right token gets them through.
    cfg.set("agent.authentication", "py-token")
    with swtls.Channel(cfg) as ch:
        for i in range(5):
            ch.report(SEGMENTS, segment("t", f"ok{i}"))
        ch.flush(timeout=30)
        assert ch.stats().acknowledged == 5
