"""Configuration: a strict TOML store file plus the contract's ``STOREHUB_*`` overrides.

Environment (pydantic-settings): ``STOREHUB_BROKER_URL``, ``STOREHUB_STORE_ID``,
``STOREHUB_DATA_DIR``, ``STOREHUB_API_PORT``, ``STOREHUB_CONFIG``, ``STOREHUB_LOG_LEVEL``.
Every model forbids unknown keys, and a bad file fails at start-up with a
:class:`ConfigError` naming the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from devices import config_models
from devices.base import DEVICE_ID_PATTERN, DeviceConfig
from hub.checkout.config import CheckoutConfig
from hub.errors import ConfigError
from hub.unmanned.config import UnmannedConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = Path("configs/demo.toml")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreInfo(Strict):
    id: str = Field(default="s1", pattern=DEVICE_ID_PATTERN)
    name: str = ""
    timezone: str = "UTC"


class TlsConfig(Strict):
    port: int = Field(ge=1, le=65535)
    certfile: Path
    keyfile: Path
    cafile: Path | None = None


class BrokerConfig(Strict):
    """The hub-managed Mosquitto (ignored when ``STOREHUB_BROKER_URL`` is set)."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=0, le=65535)
    tls: TlsConfig | None = None
    executable: str = "mosquitto"
    keepalive: int = Field(default=15, ge=5, le=600)

    @model_validator(mode="after")
    def _tls_on_its_own_port(self) -> BrokerConfig:
        if self.tls is not None and self.tls.port == self.port:
            raise ValueError(f"tls.port {self.port} is the plain listener's port: give it its own")
        return self


class ApiConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    #: Commands a ``staff`` token may send, as ``kind/command`` (``admin`` may send any).
    staff_commands: tuple[Annotated[str, Field(pattern=r"^[a-z0-9_-]+/[a-z0-9_-]+$")], ...] = (
        "door/open",
        "esl/led",
    )
    #: Largest page a list endpoint returns.
    max_page: int = Field(default=500, ge=1, le=10_000)


class JournalConfig(Strict):
    #: Most rows one transaction commits.
    batch_max: int = Field(default=2000, ge=1)
    #: Bounded queue in front of the writer; a full queue slows ingest down.
    queue_max: int = Field(default=20000, ge=100)
    #: Seconds the writer waits for more rows when only a few are queued (bigger batches).
    linger_s: float = Field(default=0.004, ge=0, le=0.1)
    retention_days: float = Field(default=30, gt=0)


class CommandConfig(Strict):
    ttl_s: float = Field(default=10.0, gt=0)
    retry_s: float = Field(default=2.0, gt=0)


class AlertConfig(Strict):
    #: Seconds between a device's will and the ``device_offline`` alert (contract: ≤ 10 s).
    offline_delay_s: float = Field(default=0.0, ge=0, le=10)
    #: Minutes an alert may stay open (unacknowledged) before it escalates; 0 = never.
    escalate_after_min: float = Field(default=5.0, ge=0)
    #: The role an escalated alert goes to (in ``data.escalated_to`` on the wire).
    escalate_to: str = Field(default="manager", min_length=1)
    #: Seconds between two looks for alerts due to escalate.
    escalate_check_s: float = Field(default=5.0, gt=0)


class SyncConfig(Strict):
    """Cloud sync (docs/sync.md): outbox → cloud, inbox ← cloud."""

    enabled: bool = False
    #: ``https``: the protocol of docs/sync.md; ``mqtt``: publish the outbox to a cloud
    #: topic of the (bridged) store broker, and pull the inbox over HTTPS if ``url`` is set.
    mode: Literal["https", "mqtt"] = "https"
    #: The cloud's base URL; https:// (http:// only on loopback, for tests).
    url: str = ""
    #: The per-store bearer credential: read from this file, else from this variable.
    token_file: Path | None = None
    token_env: str = "STOREHUB_SYNC_TOKEN"
    timeout_s: float = Field(default=10.0, gt=0)
    #: A batch leaves when it holds this many rows or bytes, or its oldest row is this old.
    batch_rows: int = Field(default=500, ge=1, le=10_000)
    batch_bytes: int = Field(default=1_000_000, ge=1024)
    batch_age_s: float = Field(default=1.0, ge=0)
    #: How often an idle uploader looks for new outbox rows.
    poll_s: float = Field(default=0.5, gt=0)
    backoff_min_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=60.0, gt=0)
    #: Bytes of unsent outbox data the store may hold (docs/sync.md "Disk budget").
    budget_bytes: int = Field(default=256 * 2**20, ge=4096)
    #: Share of the budget that raises the warning alert.
    warn_ratio: float = Field(default=0.8, gt=0, lt=1)
    #: Streams whose oldest unsent rows may be dropped at 100 % (never sales).
    droppable_streams: tuple[str, ...] = ("traffic", "device_health")
    budget_check_s: float = Field(default=5.0, gt=0)
    #: Sent rows stay this long, so rows a cloud lost after acknowledging can be re-sent.
    keep_sent_s: float = Field(default=86_400.0, ge=0)
    #: How often the store compares its stream heads with the cloud's.
    reconcile_s: float = Field(default=300.0, gt=0)
    #: No successful upload for this long while rows wait raises ``sync_offline``.
    offline_alert_s: float = Field(default=3600.0, gt=0)
    pull: bool = True
    #: Long-poll window of the inbox (0 = plain periodic polling every ``pull_interval_s``).
    pull_wait_s: float = Field(default=25.0, ge=0, le=120)
    pull_interval_s: float = Field(default=5.0, gt=0)
    #: Topic of the MQTT bridge mode; ``{store}`` is replaced.
    mqtt_topic: str = "store/{store}/cloud/outbox"

    @model_validator(mode="after")
    def _check_url(self) -> SyncConfig:
        if "sales" in self.droppable_streams:
            raise ValueError("droppable_streams: sales are never dropped")
        if not self.url:
            if self.enabled and self.mode == "https":
                raise ValueError("url is required when sync is enabled in https mode")
            return self
        parts = urlsplit(self.url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"url {self.url!r} is not https://host[:port][/path]")
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("plain http:// is only allowed on loopback; use https://")
        return self


def _device_union() -> Any:
    models = config_models()
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="kind")]  # noqa: UP007


@cache
def device_adapter() -> TypeAdapter[DeviceConfig]:
    """Validates one device entry (a ``[[devices]]`` table, a provisioned device) against
    its kind's own model: the discriminated union of every known driver's config."""
    return TypeAdapter(_device_union())


class StoreConfig(Strict):
    """The whole store file (``configs/*.toml``)."""

    store: StoreInfo = StoreInfo()
    broker: BrokerConfig = BrokerConfig()
    api: ApiConfig = ApiConfig()
    journal: JournalConfig = JournalConfig()
    commands: CommandConfig = CommandConfig()
    alerts: AlertConfig = AlertConfig()
    sync: SyncConfig = SyncConfig()
    checkout: CheckoutConfig = CheckoutConfig()
    unmanned: UnmannedConfig = UnmannedConfig()
    devices: list[DeviceConfig] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _typed_devices(cls, data: Any) -> Any:
        # Validate each [[devices]] entry against its kind's own model (the
        # discriminated union of every discovered driver's config model).
        if isinstance(data, dict) and isinstance(data.get("devices"), list):
            adapter = device_adapter()
            data = {
                **data,
                "devices": [_validate_device(adapter, i, d) for i, d in enumerate(data["devices"])],
            }
        return data

    @model_validator(mode="after")
    def _unique_ids(self) -> StoreConfig:
        seen: set[str] = set()
        for d in self.devices:
            if d.id in seen:
                raise ValueError(f"device id {d.id!r} is used twice")
            seen.add(d.id)
        return self

    @model_validator(mode="after")
    def _unmanned_devices(self) -> StoreConfig:
        u = self.unmanned
        if not u.enabled:
            return self
        ids = {d.id for d in self.devices}
        keys = ("entry_door", "exit_door", "exit_reader", "counter_reader", "counter_kiosk")
        for key in (*keys, "vestibule_reader", "vestibule_camera", "face_camera"):
            value = getattr(u, key)
            if value and value not in ids:
                raise ValueError(f"unmanned.{key}: no device {value!r} in [[devices]]")
        return self

    def device(self, device_id: str) -> DeviceConfig | None:
        return next((d for d in self.devices if d.id == device_id), None)


class _DeviceError(ValueError):
    pass


def _validate_device(adapter: TypeAdapter[DeviceConfig], index: int, raw: Any) -> DeviceConfig:
    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        ident = raw.get("id", "?") if isinstance(raw, dict) else "?"
        err = exc.errors(include_url=False)[0]
        loc = [str(p) for p in err["loc"]]
        if loc and isinstance(raw, dict) and loc[0] == raw.get("kind"):
            loc = loc[1:]  # drop the union tag pydantic puts first
        key = ".".join(loc) or "kind"
        raise _DeviceError(f"devices[{index}] (id={ident}).{key}: {err['msg']}") from None


class BrokerUrl(BaseModel):
    model_config = ConfigDict(frozen=True)

    scheme: Literal["mqtt", "mqtts"]
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def tls(self) -> bool:
        return self.scheme == "mqtts"

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ConfigError(
                f"STOREHUB_BROKER_URL: {url!r} is not mqtt://[user:pass@]host[:port] or mqtts://"
            )
        try:
            port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        except ValueError:
            raise ConfigError(f"STOREHUB_BROKER_URL: bad port in {url!r}") from None
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


class EnvSettings(BaseSettings):
    """The contract's environment variables."""

    model_config = SettingsConfigDict(env_prefix="STOREHUB_", extra="ignore")

    broker_url: str | None = None
    store_id: str | None = None
    data_dir: Path | None = None
    api_port: int | None = Field(default=None, ge=0, le=65535)
    config: Path = DEFAULT_CONFIG
    log_level: str = "INFO"


class HubConfig(BaseModel):
    """What a running hub needs: the store file plus the runtime overrides."""

    model_config = ConfigDict(frozen=True)

    store: StoreConfig
    source: Path
    data_dir: Path
    broker_url: BrokerUrl | None = None
    log_level: str = "INFO"

    @property
    def store_id(self) -> str:
        return self.store.store.id

    @property
    def api_port(self) -> int:
        return self.store.api.port


def resolve_config_path(path: Path) -> Path:
    """A relative config path is looked up in the working dir, then in the checkout."""
    if path.is_absolute() or path.exists():
        return path
    candidate = REPO_ROOT / path
    return candidate if candidate.exists() else path


def load_store_file(path: Path) -> StoreConfig:
    """Read and validate a store TOML file, or raise :class:`ConfigError` naming the key."""
    path = resolve_config_path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return StoreConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        if msg.startswith("devices["):
            raise ConfigError(f"{path}: {msg}") from None
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ConfigError(f"{path}: {key}: {msg}") from None


def load_config(env: EnvSettings | None = None, **overrides: Any) -> HubConfig:
    """Environment + store file → :class:`HubConfig`. Overrides win over the env."""
    try:
        env = env or EnvSettings(**overrides)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = "STOREHUB_" + ".".join(str(p) for p in err["loc"]).upper()
        raise ConfigError(f"environment: {key}: {err['msg']}") from None
    store = load_store_file(env.config)
    patch: dict[str, Any] = {}
    if env.store_id is not None:
        if not re.match(DEVICE_ID_PATTERN, env.store_id):
            raise ConfigError(f"environment: STOREHUB_STORE_ID: {env.store_id!r} is not a valid id")
        patch["store"] = store.store.model_copy(update={"id": env.store_id})
    if env.api_port is not None:
        patch["api"] = store.api.model_copy(update={"port": env.api_port})
    if patch:
        store = store.model_copy(update=patch)
    return HubConfig(
        store=store,
        source=resolve_config_path(env.config),
        data_dir=(env.data_dir or Path("var")).resolve(),
        broker_url=BrokerUrl.parse(env.broker_url) if env.broker_url else None,
        log_level=env.log_level,
    )
