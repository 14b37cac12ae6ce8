"""Scripted scenarios: a TOML or JSON file of timed steps, played against the simulators.

    description = "A shopper walks out with an unpaid T-shirt"

    [[steps]]
    at = 0.5
    device = "gate-out"
    action = "walk"
    gtin = "06901234561067"
    noise = true

Steps run in file order (sorted by ``at``); a step starts ``at`` seconds after
the start, or when the step before it has finished, whichever is later. The
whole file is checked before anything is sent; a step that fails while running
stops the scenario with a :class:`ScenarioError` naming it. Format:
``docs/simulators.md``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from devices.base import DEVICE_ID_PATTERN
from devices.rfid_gate.epc import gtin_to_sgtin_hex
from simulators.base import DeviceSimulator, GarbageKind, SimulatorError
from simulators.rfid_gate import GateNoise, RfidGateSimulator

log = logging.getLogger("storehub.simulators.scenario")

#: Where ``--scenario NAME`` looks when NAME is not a file.
BUILTIN_DIR = Path(__file__).resolve().parent / "scenarios"


class ScenarioError(SimulatorError):
    """A scenario file that cannot be read or checked, or a step that failed."""


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Seconds after the scenario's start.
    at: float = Field(default=0.0, ge=0)
    device: str = Field(pattern=DEVICE_ID_PATTERN)


class EventStep(_Step):
    """``event/{name}``; its fields in ``fields`` and/or as extra keys of the step."""

    model_config = ConfigDict(extra="allow", frozen=True)

    action: Literal["event"]
    name: str
    fields: dict[str, Any] = Field(default_factory=dict)

    def all_fields(self) -> dict[str, Any]:
        return {**self.fields, **(self.model_extra or {})}


class NoiseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    miss_rate: float = Field(default=0.1, ge=0, lt=1)
    cross_reads: int = Field(default=2, ge=0)
    nearby: list[str] = Field(default_factory=list)
    rssi_sigma: float = Field(default=3.0, ge=0)

    def noise(self) -> GateNoise:
        return GateNoise(self.miss_rate, self.cross_reads, tuple(self.nearby), self.rssi_sigma)


class WalkStep(_Step):
    """Tags through an ``rfid_gate``: ``epcs``, and/or ``count`` new tags of ``gtin``
    (or of random demo products when no ``gtin``)."""

    action: Literal["walk"]
    epcs: list[Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{4,124}$")]] = Field(
        default_factory=list
    )
    gtin: str | None = None
    count: int = Field(default=0, ge=0, le=5000)
    direction: Literal["in", "out"] = "out"
    #: ``true`` = default noise; a table sets it; ``false`` = clean reads.
    noise: bool | NoiseSpec = False
    reads_per_antenna: int = Field(default=3, ge=1, le=50)
    dwell: float = Field(default=0.2, ge=0, le=60)

    @field_validator("gtin")
    @classmethod
    def _valid_gtin(cls, value: str | None) -> str | None:
        if value is not None:
            gtin_to_sgtin_hex(value, 1)  # EpcEncodeError (a ValueError) names what is wrong
        return value

    @model_validator(mode="after")
    def _some_tags(self) -> WalkStep:
        if not self.epcs and not self.count and self.gtin is None:
            raise ValueError("a walk needs epcs, count or gtin")
        return self

    def gate_noise(self) -> GateNoise | None:
        if isinstance(self.noise, NoiseSpec):
            return self.noise.noise()
        return GateNoise() if self.noise else None


class GarbageStep(_Step):
    action: Literal["garbage"]
    kind: GarbageKind
    event: str | None = None
    other_device: str = Field(default="impostor", pattern=DEVICE_ID_PATTERN)


class ResendStep(_Step):
    """Publish an event already sent again (``seq`` omitted: the device's last one)."""

    action: Literal["resend"]
    seq: int | None = None


class SetStep(_Step):
    """Change a misbehaviour knob: ``reply_delay`` (seconds) and/or ``ignore_commands``."""

    action: Literal["set"]
    reply_delay: float | None = Field(default=None, ge=0)
    ignore_commands: bool | None = None


class BareStep(_Step):
    """``drop`` (vanish: the will), ``reconnect`` (a new birth), ``clean_offline``."""

    action: Literal["drop", "reconnect", "clean_offline"]


Step = Annotated[
    EventStep | WalkStep | GarbageStep | ResendStep | SetStep | BareStep,
    Field(discriminator="action"),
]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    steps: list[Step] = Field(min_length=1)

    @property
    def length(self) -> float:
        """When the last step is due (seconds)."""
        return max(step.at for step in self.steps)

    def ordered(self) -> list[Step]:
        return sorted(self.steps, key=lambda s: s.at)  # stable: file order at equal times

    def check(self, sims: Mapping[str, DeviceSimulator[Any]]) -> None:
        """Check the steps against the simulated devices, before anything is sent."""
        for i, step in enumerate(self.steps):
            sim = sims.get(step.device)
            where = f"steps[{i}] ({step.action} on {step.device})"
            if sim is None:
                known = ", ".join(sorted(sims)) or "none"
                raise ScenarioError(
                    f"{where}: no simulated device {step.device!r} (simulating: {known})"
                )
            if isinstance(step, WalkStep) and not isinstance(sim, RfidGateSimulator):
                raise ScenarioError(
                    f"{where}: walk needs an rfid_gate, {step.device} is a {sim.config.kind}"
                )
            if isinstance(step, EventStep) and sim.codec is not None:
                if step.name not in sim.codec.events:
                    known = ", ".join(sorted(sim.codec.events))
                    raise ScenarioError(
                        f"{where}: kind {sim.config.kind} has no event "
                        f"{step.name!r} (it has: {known})"
                    )
                try:
                    sim.encode_event(step.name, {"ts": 0.0, "seq": 0, **step.all_fields()})
                except SimulatorError as exc:
                    raise ScenarioError(f"{where}: {exc}") from None


def resolve(scenario: str) -> Path:
    """A scenario file by path, or by name among the built-in ones (``simulators/scenarios``)."""
    path = Path(scenario).expanduser()
    if path.is_file():
        return path
    for suffix in ("", ".toml", ".json"):
        candidate = BUILTIN_DIR / f"{scenario}{suffix}"
        if candidate.is_file():
            return candidate
    names = ", ".join(sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))) or "none"
    raise ScenarioError(f"scenario {scenario!r}: no such file, nor a built-in one ({names})")


def load_scenario(scenario: str | Path) -> Scenario:
    """Read and check a scenario file: TOML, or JSON (a list of steps or ``{"steps": [...]}``)."""
    path = resolve(str(scenario))
    try:
        text = path.read_text(encoding="utf-8")
        raw: Any = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    if isinstance(raw, list):
        raw = {"steps": raw}
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = [str(p) for p in err["loc"]]
        if len(loc) >= 3 and loc[0] == "steps":
            del loc[2]  # the discriminator's tag pydantic puts after the index
        key = ".".join(loc) or "(top level)"
        raise ScenarioError(f"{path}: {key}: {err['msg']}") from None


async def play(scenario: Scenario, sims: Mapping[str, DeviceSimulator[Any]]) -> None:
    """Run the steps at their times; returns when the last one has run."""
    scenario.check(sims)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, step in enumerate(scenario.ordered()):
        delay = start + step.at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        sim = sims[step.device]
        try:
            await _run_step(step, sim)
        except (SimulatorError, ValueError) as exc:
            raise ScenarioError(
                f"step {i} at {step.at:g}s ({step.action} on {step.device}) failed: {exc}"
            ) from None
        log.debug("step %d done: %s %s", i, step.action, step.device)


async def _run_step(step: Step, sim: DeviceSimulator[Any]) -> None:
    if isinstance(step, EventStep):
        await sim.event(step.name, **step.all_fields())
    elif isinstance(step, WalkStep):
        assert isinstance(sim, RfidGateSimulator)
        epcs = [*step.epcs, *sim.new_tags(step.count or (0 if step.epcs else 1), step.gtin)]
        await sim.walk(
            epcs,
            step.direction,
            noise=step.gate_noise(),
            reads_per_antenna=step.reads_per_antenna,
            dwell=step.dwell,
        )
    elif isinstance(step, GarbageStep):
        await sim.garbage(step.kind, event=step.event, other_device=step.other_device)
    elif isinstance(step, ResendStep):
        await sim.resend(step.seq)
    elif isinstance(step, SetStep):
        if step.reply_delay is not None:
            sim.reply_delay = step.reply_delay
        if step.ignore_commands is not None:
            sim.ignore_commands = step.ignore_commands
    elif step.action == "drop":
        await sim.drop()
    elif step.action == "reconnect":
        await sim.reconnect()
    else:
        await sim.clean_offline()
