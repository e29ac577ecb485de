"""Configuration from keywords, key/value pairs and the environment; every bad input gets
an exception of the right class whose message names the key, value, entry or variable."""

from pathlib import Path

import pytest

import swtls


def test_version_and_library():
    assert swtls.version().startswith("swtls/0.1.0 rustls/")
    assert swtls.library_path and Path(swtls.library_path).is_file()


def test_status_enum_matches_the_library():
    # Every code the library names is a Status member of the same name, and back.
    for code in range(0, 1000):
        name = swtls.status_name(code)
        if name == "UNRECOGNIZED":
            assert code not in {s.value for s in swtls.Status}, code
        else:
            assert swtls.Status(code).name == name
    assert swtls.status_name(99999) == "UNRECOGNIZED"


def test_every_status_has_an_exception_in_its_range():
    from swtls._errors import error_class

    families = [
        (range(1, 17), swtls.RpcError),
        (range(100, 200), swtls.UsageError),
        (range(200, 300), swtls.ConfigError),
        (range(300, 400), swtls.FileError),
        (range(400, 500), swtls.TlsError),
    ]
    for status in swtls.Status:
        if status == swtls.Status.OK:
            continue
        cls = error_class(status)
        family = next(f for r, f in families if status in r)
        assert issubclass(cls, family) and cls is not family, (status, cls)
    # A code unknown to this binding still lands in its family.
    assert error_class(499) is swtls.TlsError
    assert error_class(250) is swtls.ConfigError
    assert error_class(900) is swtls.SwtlsError


def test_keywords_mappings_and_set_apply_in_order(tmp_path):
    # force TLS on with no CA file: the mode shows that the keyword was applied.
    empty = tmp_path / "ca"
    empty.mkdir()
    cfg = swtls.Config({"collector.backend_service": "127.0.0.1:1"}, agent_ca_dir=empty, agent_force_tls=True)
    with swtls.Channel(cfg) as ch:
        assert ch.tls_mode == swtls.TlsMode.TLS_SYSTEM_ROOTS
        assert "agent.force_tls" in ch.tls_reason
    # A later set overwrites an earlier value.
    assert cfg.set("agent.force_tls", False) is cfg
    with swtls.Channel(cfg) as ch:
        assert ch.tls_mode == swtls.TlsMode.PLAINTEXT
    # Lists of backends are joined; numbers become decimal text.
    cfg.set("collector.backend_service", ["127.0.0.1:1", "[::1]:2"]).set("collector.grpc_upstream_timeout", 7)
    with swtls.Channel(cfg) as ch:
        assert ch.stats().backend in ("127.0.0.1:1", "[::1]:2")


def test_unknown_key():
    with pytest.raises(swtls.UnknownKey) as e:
        swtls.Config({"agent.forse_tls": "true"})
    err = e.value
    assert isinstance(err, swtls.ConfigError) and isinstance(err, swtls.SwtlsError)
    assert err.status == 200 and err.status is swtls.Status.CONFIG_UNKNOWN_KEY
    assert err.status_name == "CONFIG_UNKNOWN_KEY"
    assert "agent.forse_tls" in err.message and "agent.forse_tls" in str(err)
    # A keyword turns into the same dotted key.
    with pytest.raises(swtls.UnknownKey, match="agent.no_such_key"):
        swtls.Config(agent_no_such_key="1")


@pytest.mark.parametrize(
    "key,value",
    [
        ("agent.force_tls", "yes"),
        ("collector.grpc_upstream_timeout", "3s"),
        ("collector.grpc_channel_check_interval", "0"),
        ("collector.grpc_upstream_timeout", 1.5),
        ("swtls.report_queue_messages", "many"),
    ],
)
def test_bad_values_name_key_and_value(key, value):
    cfg = swtls.Config()
    with pytest.raises(swtls.InvalidValue) as e:
        cfg.set(key, value)
    assert e.value.status == swtls.Status.CONFIG_INVALID_VALUE
    assert key in e.value.message and str(value) in e.value.message


@pytest.mark.parametrize("backends,entry", [("oap:11800,,oap2:11800", ""), ("oap", "oap"), ("oap:70000", "oap:70000")])
def test_bad_backend_entries(backends, entry):
    with pytest.raises(swtls.InvalidBackend) as e:
        swtls.Config(collector_backend_service=backends)
    assert e.value.status_name == "CONFIG_INVALID_BACKEND"
    assert "collector.backend_service" in e.value.message or entry in e.value.message
    if entry:
        assert entry in e.value.message


def test_failed_set_leaves_the_value(tmp_path):
    cfg = swtls.Config(agent_force_tls=True, agent_ca_dir=tmp_path)
    with pytest.raises(swtls.InvalidValue):
        cfg.set("agent.force_tls", "maybe")
    with swtls.Channel(cfg) as ch:
        assert ch.tls_mode == swtls.TlsMode.TLS_SYSTEM_ROOTS


def test_value_types_are_checked_in_python():
    cfg = swtls.Config()
    with pytest.raises(TypeError, match="agent.force_tls"):
        cfg.set("agent.force_tls", object())
    with pytest.raises(TypeError, match="configuration key"):
        cfg.set(b"agent.force_tls", "true")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="swtls.Config"):
        swtls.Channel({"collector.backend_service": "a:1"})  # type: ignore[arg-type]


def test_environment_overrides_code_defaults_and_later_sets_override_it(monkeypatch, tmp_path):
    monkeypatch.setenv("SW_AGENT_FORCE_TLS", "TRUE")
    monkeypatch.setenv("SWTLS_CA_DIR", str(tmp_path))
    cfg = swtls.Config.from_env(agent_force_tls=False)
    with swtls.Channel(cfg) as ch:
        assert ch.tls_mode == swtls.TlsMode.TLS_SYSTEM_ROOTS
    cfg.set("agent.force_tls", "false")
    with swtls.Channel(cfg) as ch:
        assert ch.tls_mode == swtls.TlsMode.PLAINTEXT


def test_bad_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("SW_AGENT_COLLECTOR_GRPC_UPSTREAM_TIMEOUT", "soon")
    with pytest.raises(swtls.InvalidValue) as e:
        swtls.Config().load_env()
    assert "SW_AGENT_COLLECTOR_GRPC_UPSTREAM_TIMEOUT" in e.value.message and "soon" in e.value.message


def test_token_is_never_repeated(monkeypatch):
    with pytest.raises(swtls.InvalidValue) as e:
        swtls.Config(agent_authentication="s3cr3t\nvalue")
    assert "agent.authentication" in e.value.message
    assert "s3cr3t" not in str(e.value)


def test_closed_config_raises_closed():
    cfg = swtls.Config()
    cfg.close()
    with pytest.raises(swtls.Closed):
        cfg.set("agent.force_tls", "true")
    with pytest.raises(swtls.Closed):
        swtls.Channel(cfg)


def test_missing_library_is_explained(tmp_path):
    import os
    import subprocess
    import sys

    missing = tmp_path / "libswtls.so"
    env = dict(os.environ, SWTLS_LIBRARY=str(missing))
    r = subprocess.run([sys.executable, "-c", "import swtls"], env=env, capture_output=True, text=True, check=False)
    assert r.returncode != 0
    assert "LibraryNotFound" in r.stderr and str(missing) in r.stderr and "SWTLS_LIBRARY" in r.stderr
