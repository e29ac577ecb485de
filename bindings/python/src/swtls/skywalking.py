"""The Apache SkyWalking Python agent (``apache-skywalking``) on swtls.

One line changes in the application::

    # before: from skywalking import agent, config; config.init(**options); agent.start()
    import swtls.skywalking
    swtls.skywalking.start(**options)

:func:`start` takes every keyword argument of ``skywalking.config.init`` and swtls's own
options below, and starts the agent's gRPC protocol with every call it makes (heartbeat and
instance properties; segments, logs and meters; profile commands and snapshots) carried by
swtls: TLS and mutual TLS with a CA folder or explicit files, the certificates SkyWalking's
key-generation script makes, failover over a comma-separated backend list, certificate
rotation, fork safety, and the ``authentication`` token.

The agent's own settings keep their meaning, from keyword arguments or their ``SW_AGENT_*``
variables, and swtls carries them:

- ``agent_collector_backend_services`` -> ``collector.backend_service``: a comma-separated
  list, with failover (the agent alone takes one target);
- ``agent_force_tls`` -> ``agent.force_tls``: TLS with the system roots when there is no
  ``ca.crt``;
- ``agent_authentication`` -> ``agent.authentication``: sent by swtls on every call;
- ``agent_logging_level``: swtls's own messages go to the agent's ``skywalking`` logger at
  that level.

swtls's own options, named the agent's way (``agent_`` and the key after its section; the
collector's keys keep ``collector_``, as the agent's do). Each also has the environment
variable of its swtls key, the Java agent's name where it has one (:data:`SWTLS_OPTIONS`):

- ``agent_ca_dir`` -> ``agent.ca_dir`` (``SWTLS_CA_DIR``): the folder with ``ca.crt``,
  ``client.crt`` and ``client.pem``;
- ``agent_ssl_trusted_ca_path``, ``agent_ssl_cert_chain_path``, ``agent_ssl_key_path`` ->
  ``agent.ssl_*`` (``SW_AGENT_SSL_TRUSTED_CA_PATH``, ``..._CERT_CHAIN_PATH``,
  ``..._KEY_PATH``): explicit files instead of those in the ca folder;
- ``agent_ssl_target_name_override`` -> ``agent.ssl_target_name_override``
  (``SW_AGENT_SSL_TARGET_NAME_OVERRIDE``): the name the server's certificate must carry;
- ``agent_collector_grpc_upstream_timeout`` -> ``collector.grpc_upstream_timeout``
  (``SW_AGENT_COLLECTOR_GRPC_UPSTREAM_TIMEOUT``): seconds, the deadline of every call;
- ``agent_collector_grpc_channel_check_interval`` ->
  ``collector.grpc_channel_check_interval``
  (``SW_AGENT_COLLECTOR_GRPC_CHANNEL_CHECK_INTERVAL``): seconds between health checks.

Precedence, as in the agent: keyword arguments over environment variables over defaults.
The environment is read by swtls's own rules, which are stricter than the agent's: a
variable whose value does not parse (``SW_AGENT_FORCE_TLS=yes``) is an error naming it,
not a silent ``false``.

How it is wired: the agent's ``GrpcProtocol`` (``skywalking/agent/protocol/grpc.py``) makes
its channel with ``grpc.insecure_channel`` or ``grpc.secure_channel`` and builds its
generated stubs on it. :func:`install` gives that module, and only it, a stand-in for the
``grpc`` module whose channel functions return a :class:`swtls.grpc.Channel` (a channel
that grpcio-generated stubs accept) and which otherwise is ``grpc`` itself. No agent code is
copied or changed; a ``GrpcProtocol`` made in a forked child (the agent's fork support)
gets its own new channel the same way.

Not supported: ``agent_protocol`` other than ``grpc`` (use the agent alone for HTTP and
Kafka) and ``agent_asyncio_enhancement`` (swtls has no ``grpc.aio`` channel).
"""

import importlib
import os
import threading
from typing import Any, Dict, Mapping, Optional, Tuple

import swtls

__all__ = ["start", "install", "swtls_config", "SWTLS_OPTIONS", "AGENT_OPTIONS"]

#: swtls's own options, in the agent's naming, and the swtls key each one sets.
SWTLS_OPTIONS: Mapping[str, str] = {
    "agent_ca_dir": "agent.ca_dir",
    "agent_ssl_trusted_ca_path": "agent.ssl_trusted_ca_path",
    "agent_ssl_cert_chain_path": "agent.ssl_cert_chain_path",
    "agent_ssl_key_path": "agent.ssl_key_path",
    "agent_ssl_target_name_override": "agent.ssl_target_name_override",
    "agent_collector_grpc_upstream_timeout": "collector.grpc_upstream_timeout",
    "agent_collector_grpc_channel_check_interval": "collector.grpc_channel_check_interval",
}

#: The agent's own options that swtls carries, and the swtls key each one sets.
AGENT_OPTIONS: Mapping[str, str] = {
    "agent_collector_backend_services": "collector.backend_service",
    "agent_force_tls": "agent.force_tls",
    "agent_authentication": "agent.authentication",
}

# The agent's default backend is a placeholder, not an address.
_AGENT_PLACEHOLDER_BACKEND = "oap_host:oap_port"

_LOG_LEVELS = {
    "DEBUG": swtls.LogLevel.DEBUG,
    "INFO": swtls.LogLevel.INFO,
    "WARN": swtls.LogLevel.WARN,
    "WARNING": swtls.LogLevel.WARN,
}

_lock = threading.Lock()
# The swtls options given to the last install(); every channel is configured from them.
_swtls_options: Dict[str, Any] = {}


def swtls_config(options: Optional[Mapping[str, Any]] = None) -> swtls.Config:
    """The swtls configuration of the next channel: swtls's ``SW_AGENT_*`` and
    ``SWTLS_CA_DIR`` variables, then the agent's settings as ``skywalking.config`` holds
    them now (its ``init`` arguments over its variables), then swtls's options (``options``,
    by default those given to :func:`install`). Errors name the agent option or variable at
    fault."""
    from skywalking import config as agent_config

    if options is None:
        with _lock:
            options = dict(_swtls_options)
    unknown = sorted(set(options) - set(SWTLS_OPTIONS))
    if unknown:
        raise KeyError(f"not a swtls option: {', '.join(unknown)} (swtls options: {', '.join(SWTLS_OPTIONS)})")
    cfg = swtls.Config()
    cfg.load_env()
    for option, key in AGENT_OPTIONS.items():
        value = getattr(agent_config, option)
        if option == "agent_collector_backend_services" and value == _AGENT_PLACEHOLDER_BACKEND:
            raise swtls.InvalidBackend(
                int(swtls.Status.CONFIG_INVALID_BACKEND),
                "CONFIG_INVALID_BACKEND",
                f"agent_collector_backend_services is the agent's placeholder '{value}': set it "
                "(or SW_AGENT_COLLECTOR_BACKEND_SERVICES) to the OAP backends, host:port[,host:port...]",
            )
        _set(cfg, option, key, value)
    for option, value in options.items():
        _set(cfg, option, SWTLS_OPTIONS[option], value)
    return cfg


def _set(cfg: swtls.Config, option: str, key: str, value: Any) -> None:
    try:
        cfg.set(key, value)
    except swtls.SwtlsError as e:
        # The library's message names the swtls key (and never shows the token); add the
        # agent's name for it.
        raise type(e)(e.status, e.status_name, f"agent option {option}: {e.message}") from None


def _new_channel() -> Any:
    """A grpcio-compatible channel carried by swtls, for the agent's stubs. The one place
    that makes the agent's channels."""
    from swtls.grpc import Channel

    return Channel(swtls_config())


class _AgentGrpc:
    """Stands in for the ``grpc`` module inside ``skywalking.agent.protocol.grpc``: the
    functions that make a channel return a new swtls channel; everything else is ``grpc``.

    swtls decides TLS from its configuration (``agent_force_tls`` included) and sends the
    ``authentication`` token itself, so the agent's TLS credentials are not used and its
    header interceptor (the one interceptor that module installs) is not needed."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def insecure_channel(self, target: str, options: Any = None, compression: Any = None) -> Any:
        return _new_channel()

    def secure_channel(self, target: str, credentials: Any, options: Any = None, compression: Any = None) -> Any:
        return _new_channel()

    def ssl_channel_credentials(self, *args: Any, **kwargs: Any) -> None:
        return None

    def intercept_channel(self, channel: Any, *interceptors: Any) -> Any:
        return channel


def _split(kwargs: Mapping[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    agent_kwargs = {k: v for k, v in kwargs.items() if k not in SWTLS_OPTIONS}
    swtls_kwargs = {k: v for k, v in kwargs.items() if k in SWTLS_OPTIONS}
    return agent_kwargs, swtls_kwargs


def install(**kwargs: Any) -> Any:
    """Everything :func:`start` does except starting: applies the agent options
    (``skywalking.config.init``) and swtls's options, routes swtls's log messages into the
    agent's logger, checks the configuration and the certificate files by building a
    channel (and closing it), and makes the agent's gRPC protocol use swtls channels.
    Returns the agent (``skywalking.agent.agent``), e.g. for ``start_prefork_master()`` in
    a pre-forking server's master.

    Raises ``KeyError`` for an option neither the agent nor swtls knows (as
    ``config.init`` does), :class:`swtls.ConfigError` for a value swtls refuses, and
    ``ValueError`` for a protocol swtls does not carry."""
    agent_kwargs, swtls_kwargs = _split(kwargs)
    # Before the first import of skywalking.agent: its reporter threads take their periods
    # (heartbeat, meters, profile queries) from the configuration at import time.
    from skywalking import config as agent_config
    from skywalking import loggings

    agent_config.init(**agent_kwargs)
    if agent_config.agent_protocol != "grpc":
        raise ValueError(
            f"agent_protocol is '{agent_config.agent_protocol}': swtls carries the gRPC protocol only "
            "(start the agent alone for http or kafka)"
        )
    if agent_config.agent_asyncio_enhancement:
        raise ValueError("agent_asyncio_enhancement is on: swtls has no asyncio (grpc.aio) channel; turn it off")
    if agent_config.agent_experimental_fork_support:
        # As agent.start() does, before grpc is first imported (swtls.grpc may import it):
        # the agent's own calls do not go through grpcio, but the application's may.
        os.environ["GRPC_ENABLE_FORK_SUPPORT"] = "true"
    try:
        importlib.import_module("swtls.grpc")
    except ImportError as e:
        raise RuntimeError(f"swtls.skywalking needs swtls.grpc, the grpcio-compatible channel: {e}") from e

    with _lock:
        _swtls_options.clear()
        _swtls_options.update(swtls_kwargs)

    loggings.init()  # the agent's logger at the agent's level, before swtls logs into it
    level = _LOG_LEVELS.get(str(agent_config.agent_logging_level).upper(), swtls.LogLevel.ERROR)
    swtls.use_logging(loggings.logger, level)

    # Fail now, in the caller, on a bad key, value or file rather than in a reporter
    # thread that would retry it for ever: build a channel once (it reads and checks every
    # file and logs the TLS mode it chose) and close it.
    probe = _new_channel()
    probe.close()

    # The gRPC protocol module is imported here, earlier than agent.start() would; its
    # client module binds the profile service and the debug flag when it is imported, so
    # both must be set up first, as agent.start() does before it imports it (loggings.init()
    # above; profile.init() here, idempotent: agent.start() calls it again).
    if agent_config.agent_profile_active:
        from skywalking import profile

        profile.init()
    import grpc
    from skywalking.agent.protocol import grpc as agent_grpc_protocol

    if not isinstance(agent_grpc_protocol.grpc, _AgentGrpc):
        agent_grpc_protocol.grpc = _AgentGrpc(grpc)

    from skywalking.agent import agent

    return agent


def start(**kwargs: Any) -> None:
    """Starts the SkyWalking Python agent with swtls carrying its gRPC calls.

    Takes the keyword arguments of ``skywalking.config.init`` and swtls's options
    (:data:`SWTLS_OPTIONS`); replaces ``config.init(**kwargs); agent.start()``. With
    ``agent_experimental_fork_support`` the agent restarts itself in forked children, each
    with its own new swtls channel."""
    install(**kwargs).start()

