"""A stand-in for ``rules.engine.RuleEngine`` with the interface the API relies on:
``list() -> list[RuleInfo]``, ``async reload() -> ReloadResult``, ``set_enabled(name, on)``.

Installed as the module ``rules.engine`` for one test, so the API's lazy lookup finds it
whether or not the real engine exists yet.
"""

from __future__ import annotations

import sys
import types

import pytest
from pydantic import BaseModel

from hub.hub import Hub


class RuleStats(BaseModel):
    evaluations: int = 0
    fires: int = 0
    errors: int = 0
    seconds: float = 0.0


class RuleInfo(BaseModel):
    name: str
    file: str
    enabled: bool = True
    mode: str = "single"
    trigger: str = "presence offline"
    stats: RuleStats = RuleStats()


class ReloadResult(BaseModel):
    ok: bool
    rules: int
    errors: list[str]


class RuleEngine:
    def __init__(self) -> None:
        self.rules = {
            "offline": RuleInfo(
                name="offline",
                file="configs/rules/builtin.toml",
                stats=RuleStats(evaluations=12, fires=2, seconds=0.004),
            ),
            "help": RuleInfo(
                name="help", file="configs/rules/builtin.toml", mode="queued", trigger="kiosk help"
            ),
        }
        self.reloads = 0
        self.broken = False

    def list(self) -> list[RuleInfo]:
        return list(self.rules.values())

    async def reload(self) -> ReloadResult:
        self.reloads += 1
        if self.broken:
            return ReloadResult(
                ok=False,
                rules=len(self.rules),
                errors=["configs/rules/x.toml: rule 'y': when: unknown field"],
            )
        return ReloadResult(ok=True, rules=len(self.rules), errors=[])

    def set_enabled(self, name: str, enabled: bool) -> None:
        rule = self.rules[name]  # KeyError for an unknown rule, as the real one
        self.rules[name] = rule.model_copy(update={"enabled": enabled})


def install_fake_engine(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> RuleEngine:
    module = types.ModuleType("rules.engine")
    module.RuleEngine = RuleEngine  # type: ignore[attr-defined]
    module.FAKE = True  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rules.engine", module)
    engine = RuleEngine()
    hub.provide(engine)
    return engine
