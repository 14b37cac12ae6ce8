"""The rules engine: list rules, reload the files, enable or disable one.

The engine (``rules.engine.RuleEngine``) is a separate plugin: found through
``hub.service`` when asked, 503 when it is not running.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from store_api.auth import AUTH_RESPONSES, FORBIDDEN, Admin, Api, Reader, Responses
from store_api.models import Problem, ReloadOut, RuleOut

router = APIRouter(
    prefix="/rules",
    tags=["rules"],
    responses={
        **AUTH_RESPONSES,
        503: {"model": Problem, "description": "The rules engine is not running"},
    },
)

RuleName = Annotated[str, Path(description="The rule's name")]
NOT_FOUND: Responses = {**FORBIDDEN, 404: {"model": Problem, "description": "No such rule"}}


def _engine(api: Api) -> Any:
    engine = api.rule_engine()
    if engine is None:
        raise HTTPException(503, "rules engine not running")
    return engine


def _rule_out(info: Any) -> RuleOut:
    return RuleOut.model_validate(info.model_dump(mode="json"))


@router.get("", response_model=list[RuleOut])
async def list_rules(api: Api, _who: Reader) -> list[RuleOut]:
    """Every loaded rule: file, enabled, run mode, trigger, and its counters
    (evaluations, fires, errors, seconds spent)."""
    return [_rule_out(info) for info in _engine(api).list()]


@router.post("/reload", response_model=ReloadOut, responses=FORBIDDEN)
async def reload(api: Api, _who: Admin) -> ReloadOut:
    """Re-read the rule files without dropping events. When a file is invalid the rules
    that ran keep running: `ok` is false and `errors` name file, rule and field.
    Scope: admin."""
    result = await _engine(api).reload()
    return ReloadOut.model_validate(result.model_dump(mode="json"))


async def _set_enabled(api: Api, name: str, enabled: bool) -> RuleOut:
    engine = _engine(api)
    try:
        engine.set_enabled(name, enabled)
    except KeyError:
        raise HTTPException(404, f"no rule {name!r}") from None
    for info in engine.list():
        if info.name == name:
            return _rule_out(info)
    raise HTTPException(404, f"no rule {name!r}")


@router.post("/{name}/enable", response_model=RuleOut, responses=NOT_FOUND)
async def enable(api: Api, _who: Admin, name: RuleName) -> RuleOut:
    """Turn a rule on. Scope: admin."""
    return await _set_enabled(api, name, True)


@router.post("/{name}/disable", response_model=RuleOut, responses=NOT_FOUND)
async def disable(api: Api, _who: Admin, name: RuleName) -> RuleOut:
    """Turn a rule off (it stays loaded, its counters kept). Scope: admin."""
    return await _set_enabled(api, name, False)
