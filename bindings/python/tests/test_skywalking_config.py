"""swtls.skywalking's configuration: the agent's options and SW_AGENT_* variables mapped
onto swtls's keys, swtls's own options, and the errors (in this process: nothing is
started; the agent's configuration module is restored after each test)."""

import sys

import pytest

import swtls

if sys.version_info < (3, 10):
    pytest.skip("apache-skywalking 1.3.0 needs Python 3.10 or later", allow_module_level=True)

import swtls.skywalking as sk  # noqa: E402


@pytest.fixture
def agent_config(monkeypatch):
    from skywalking import config

    saved = {k: getattr(config, k) for k in config.options}
    yield config
    for k, v in saved.items():
        setattr(config, k, v)


def test_the_agents_placeholder_backend_is_an_error_naming_its_option(agent_config):
    agent_config.init(agent_collector_backend_services="oap_host:oap_port")  # the agent's default
    with pytest.raises(swtls.InvalidBackend) as e:
        sk.swtls_config({})
    assert "agent_collector_backend_services" in str(e.value) and "oap_host:oap_port" in str(e.value)


def test_force_tls_and_the_ca_folder_decide_the_mode(agent_config, agent_dirs):
    agent_config.init(agent_collector_backend_services="oap-1:11800,oap-2:11800", agent_force_tls=True)
    cfg = sk.swtls_config({"agent_ca_dir": agent_dirs("empty", [])})
    assert swtls.Channel(cfg).tls_mode == swtls.TlsMode.TLS_SYSTEM_ROOTS
    agent_config.init(agent_force_tls=False)
    ca = agent_dirs("mtls", ["ca.crt", "client.crt", "client.pem"])
    assert swtls.Channel(sk.swtls_config({"agent_ca_dir": ca})).tls_mode == swtls.TlsMode.MUTUAL_TLS


def test_an_option_overrides_its_environment_variable(agent_config, agent_dirs, monkeypatch):
    agent_config.init(agent_collector_backend_services="oap:11800")
    monkeypatch.setenv("SWTLS_CA_DIR", str(agent_dirs("from-env", ["ca.crt"])))
    assert swtls.Channel(sk.swtls_config({})).tls_mode == swtls.TlsMode.TLS
    cfg = sk.swtls_config({"agent_ca_dir": agent_dirs("from-option", [])})
    assert swtls.Channel(cfg).tls_mode == swtls.TlsMode.PLAINTEXT


def test_bad_values_name_the_option_or_variable_and_never_show_the_token(agent_config, monkeypatch):
    agent_config.init(agent_collector_backend_services="oap:11800")
    with pytest.raises(swtls.InvalidValue) as e:
        sk.swtls_config({"agent_collector_grpc_upstream_timeout": "soon"})
    assert "agent_collector_grpc_upstream_timeout" in str(e.value) and "soon" in str(e.value)
    agent_config.init(agent_collector_backend_services="oap:11800,oap:99999")
    with pytest.raises(swtls.InvalidBackend) as e:
        sk.swtls_config({})
    assert "agent_collector_backend_services" in str(e.value) and "oap:99999" in str(e.value)
    agent_config.init(agent_collector_backend_services="oap:11800", agent_authentication="s3cr\u00e9t-token")
    with pytest.raises(swtls.InvalidValue) as e:
        sk.swtls_config({})
    assert "agent_authentication" in str(e.value) and "s3cr" not in str(e.value)
    agent_config.init(agent_authentication="")
    monkeypatch.setenv("SW_AGENT_FORCE_TLS", "yes")
    with pytest.raises(swtls.InvalidValue) as e:
        sk.swtls_config({})
    assert "SW_AGENT_FORCE_TLS" in str(e.value)


def test_unknown_options_and_protocols_swtls_does_not_carry(agent_config):
    with pytest.raises(KeyError, match="agent_no_such_option"):
        sk.install(agent_no_such_option=1)
    with pytest.raises(KeyError, match="agent_ca_folder"):
        sk.swtls_config({"agent_ca_folder": "ca"})
    with pytest.raises(ValueError, match="gRPC protocol only"):
        sk.install(agent_protocol="http")
    with pytest.raises(ValueError, match="asyncio"):
        sk.install(agent_protocol="grpc", agent_asyncio_enhancement=True)
