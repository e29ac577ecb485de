"""Each TLS mode against grpcio's server (BoringSSL), and the files that do not load."""

import pytest
from conftest import ECHO, KEEP_ALIVE
from messages import ping

import swtls

ALL = ["ca.crt", "client.crt", "client.pem"]


def channel(target, ca_dir, **keywords):
    return swtls.Channel(swtls.Config(collector_backend_service=target, agent_ca_dir=ca_dir, **keywords))


def test_plaintext(peers, agent_dirs):
    peer = peers.start("plaintext")
    with channel(peer.target, agent_dirs("empty", [])) as ch:
        assert ch.tls_mode == swtls.TlsMode.PLAINTEXT
        assert ch.unary(ECHO, b"plain\x00bytes") == b"plain\x00bytes"
        assert ch.stats().tls_mode == swtls.TlsMode.PLAINTEXT


def test_one_way_tls(peers, agent_dirs):
    peer = peers.start("tls")
    with channel(f"localhost:{peer.port}", agent_dirs("ca", ["ca.crt"])) as ch:
        assert ch.tls_mode == swtls.TlsMode.TLS
        assert "ca.crt" in ch.tls_reason
        assert ch.unary(ECHO, b"one-way") == b"one-way"
        assert ch.unary(KEEP_ALIVE, ping("py", "tls")) == b""
    # grpcio's handler saw it (it prints one line per keepAlive).
    assert peer.wait_for(lambda lines: any(line.startswith("keepAlive") for line in lines))


def test_mutual_tls(peers, agent_dirs):
    peer = peers.start("mtls")
    with channel(peer.target, agent_dirs("ca", ALL)) as ch:
        assert ch.tls_mode == swtls.TlsMode.MUTUAL_TLS
        assert ch.unary(ECHO, b"mutual") == b"mutual"


def test_mutual_tls_from_explicit_paths(peers, certs, tmp_path):
    peer = peers.start("mtls")
    cfg = swtls.Config(
        {
            "collector.backend_service": peer.target,
            "agent.ca_dir": str(tmp_path / "nothing-here"),
            "agent.ssl_trusted_ca_path": certs.ca_cert,
            "agent.ssl_cert_chain_path": certs.client_cert,
            "agent.ssl_key_path": certs.client_key,
        }
    )
    with swtls.Channel(cfg) as ch:
        assert ch.tls_mode == swtls.TlsMode.MUTUAL_TLS
        assert ch.unary(ECHO, b"explicit") == b"explicit"


def test_mutual_tls_server_refuses_a_client_without_certificate(peers, agent_dirs):
    peer = peers.start("mtls")
    with channel(f"localhost:{peer.port}", agent_dirs("ca", ["ca.crt"])) as ch:
        with pytest.raises(swtls.TlsClientCertRequired) as e:
            ch.unary(KEEP_ALIVE, ping("py", "no-cert"))
    assert isinstance(e.value, swtls.TlsError)
    assert "client.crt" in e.value.message


def test_force_tls_without_ca_uses_system_roots_and_refuses_a_private_ca(peers, agent_dirs):
    peer = peers.start("tls")
    with channel(f"localhost:{peer.port}", agent_dirs("empty", []), agent_force_tls=True) as ch:
        assert ch.tls_mode == swtls.TlsMode.TLS_SYSTEM_ROOTS
        assert "system trust store" in ch.tls_reason
        with pytest.raises(swtls.TlsUnknownIssuer) as e:
            ch.unary(ECHO, b"x")
    msg = e.value.message
    assert "system trust store" in msg and "unknown issuer" in msg, msg
    assert e.value.status == 400 and e.value.status_name == "TLS_UNKNOWN_ISSUER"


def test_a_ca_of_the_same_name_with_another_key_is_refused(peers, other_certs, tmp_path):
    peer = peers.start("mtls")
    with channel(peer.target, other_certs.agent_dir(tmp_path / "other", ALL)) as ch:
        with pytest.raises(swtls.TlsUnknownIssuer) as e:
            ch.unary(ECHO, b"x")
    assert peer.target in e.value.message


def test_plaintext_client_to_tls_server(peers, agent_dirs):
    peer = peers.start("tls")
    with channel(peer.target, agent_dirs("empty", [])) as ch:
        with pytest.raises(swtls.ServerRequiresTls, match="expects TLS"):
            ch.unary(ECHO, b"x")


def test_tls_client_to_plaintext_server(peers, agent_dirs):
    peer = peers.start("plaintext")
    with channel(peer.target, agent_dirs("ca", ["ca.crt"])) as ch:
        with pytest.raises(swtls.ServerNotTls, match="plaintext"):
            ch.unary(ECHO, b"x")


def test_name_mismatch(peers, agent_dirs):
    peer = peers.start("tls")
    with channel(peer.target, agent_dirs("ca", ["ca.crt"]), agent_ssl_target_name_override="oap.example") as ch:
        with pytest.raises(swtls.TlsNameMismatch) as e:
            ch.unary(ECHO, b"x")
    assert "oap.example" in e.value.message


# --- files that do not load: errors at Channel(), naming the file ---


def test_missing_explicit_ca_file(tmp_path):
    missing = tmp_path / "no" / "ca.crt"
    cfg = swtls.Config(agent_ssl_trusted_ca_path=missing)
    with pytest.raises(swtls.FileNotFound) as e:
        swtls.Channel(cfg)
    assert isinstance(e.value, swtls.FileError)
    assert str(missing) in e.value.message


def test_missing_explicit_key_file(certs, tmp_path):
    missing = tmp_path / "client.pem"
    cfg = swtls.Config(
        agent_ssl_trusted_ca_path=certs.ca_cert,
        agent_ssl_cert_chain_path=certs.client_cert,
        agent_ssl_key_path=missing,
    )
    with pytest.raises(swtls.FileError) as e:
        swtls.Channel(cfg)
    assert str(missing) in e.value.message


def test_client_certificate_without_key(agent_dirs):
    d = agent_dirs("ca", ["ca.crt", "client.crt"])
    with pytest.raises(swtls.ClientCertIncomplete) as e:
        swtls.Channel(swtls.Config(agent_ca_dir=d))
    assert "client.pem" in e.value.message


def test_key_of_another_certificate(certs, other_certs, tmp_path):
    d = certs.agent_dir(tmp_path / "ca", ["ca.crt", "client.crt"])
    (d / "client.pem").write_bytes(other_certs.client_key.read_bytes())
    (d / "client.pem").chmod(0o600)
    with pytest.raises(swtls.KeyMismatch) as e:
        swtls.Channel(swtls.Config(agent_ca_dir=d))
    assert "client.pem" in e.value.message and "client.crt" in e.value.message


def test_certificate_file_that_is_not_a_certificate(certs, tmp_path):
    bad = tmp_path / "ca.crt"
    bad.write_text("not a certificate\n")
    with pytest.raises(swtls.CertificateInvalid) as e:
        swtls.Channel(swtls.Config(agent_ssl_trusted_ca_path=bad))
    assert str(bad) in e.value.message


def test_key_file_that_holds_a_certificate(certs, tmp_path):
    d = certs.agent_dir(tmp_path / "ca", ["ca.crt", "client.crt"])
    (d / "client.pem").write_bytes(certs.client_cert.read_bytes())
    with pytest.raises(swtls.PrivateKeyInvalid) as e:
        swtls.Channel(swtls.Config(agent_ca_dir=d))
    assert "client.pem" in e.value.message
