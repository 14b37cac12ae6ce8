"""Where a simulator connects, and as whom."""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.config import HubConfig
from hub.secrets import load_secrets
from simulators.errors import SimulatorError


@dataclass(frozen=True, slots=True)
class SimEndpoint:
    """Where a simulator connects, and as whom."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    #: CA bundle to verify the broker's certificate (``tls`` only; None = system CAs).
    ca_file: str | None = None


def endpoint_for(cfg: HubConfig, device_id: str, *, port: int | None = None) -> SimEndpoint:
    """The endpoint device ``device_id`` uses with this hub configuration.

    With ``STOREHUB_BROKER_URL`` (an external broker) that URL, with its user and
    password if it has them; otherwise the managed broker of ``[broker]`` with the
    device's own credentials from the data dir (``hub.secrets``). ``port``
    overrides the managed broker's port (a config with ``port = 0`` lets the hub
    pick a free one; pass the port it picked).
    """
    url = cfg.broker_url
    if url is not None:
        return SimEndpoint(url.host, port or url.port, url.username, url.password, tls=url.tls)
    if cfg.store.device(device_id) is None:
        raise SimulatorError(f"no device {device_id!r} in {cfg.source}")
    broker = cfg.store.broker
    creds = load_secrets(cfg.data_dir, cfg.store.devices)[device_id]
    # A broker listening on every interface is reached on the loopback one.
    host = "127.0.0.1" if broker.host in ("", "0.0.0.0") else broker.host
    host = "::1" if host == "::" else host
    if not (port or broker.port):
        raise SimulatorError("[broker] port = 0: the managed broker's port is not known here")
    return SimEndpoint(host, port or broker.port, creds.username, creds.password)
