"""Shelf-label settings: defaults, or a TOML file named by ``STOREHUB_ESL_CONFIG``.

(Meant to become an ``[esl]`` section of the store config; until then a file of
its own, so the store config's strict schema is left alone.)
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from devices.base import first_error
from hub.errors import ConfigError


class EslSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The store group HQ prices this store by (business district, school, ...).
    store_group: str = "default"
    #: Below this a label raises a low-battery alert (a CR2450 is ~3000 mV new).
    low_battery_mv: int = Field(default=2400, ge=0)
    #: A label that misses this many check-in intervals raises an offline alert.
    missed_intervals: float = Field(default=3.0, gt=1)
    #: More labels than this going missing in one sweep make one summary alert per AP.
    offline_summary_over: int = Field(default=20, ge=1)
    health_check_s: float = Field(default=30.0, gt=0)
    #: How often every settled label's price is checked against the checkout's.
    audit_s: float = Field(default=300.0, gt=0)
    #: The scheduler's tick (effective times are met to within this).
    tick_s: float = Field(default=1.0, gt=0)
    #: Label and progress rows are written in batches this often.
    flush_s: float = Field(default=0.5, gt=0)
    #: Render processes; None = one per CPU, 0 = a thread (no processes).
    render_workers: int | None = Field(default=None, ge=0)
    retry_base_s: float = Field(default=1.0, gt=0)
    retry_cap_s: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    #: Seconds an ``update`` command waits for the AP's reply.
    command_ttl_s: float = Field(default=10.0, gt=0)
    #: Keep the catalog's list price (what the checkout charges) equal to the shelf
    #: price for this store's group when a price takes effect.
    sync_catalog: bool = True


def load_settings(path: Path | None = None) -> EslSettings:
    """Settings from ``path`` (or ``$STOREHUB_ESL_CONFIG``); defaults when neither is set."""
    if path is None:
        env = os.environ.get("STOREHUB_ESL_CONFIG")
        if not env:
            return EslSettings()
        path = Path(env)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return EslSettings.model_validate(raw.get("esl", raw))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(f"{path}: esl.{first_error(exc)}") from None
