"""The paid registry over HTTP: a POS, an e-commerce order or staff mark RFID tags paid
(or un-mark them on a refund/void), so the exit gate lets them leave silently."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from hub.paid import EpcError, PaidRegistry
from rules.gate import service as gate_service
from store_api.auth import AUTH_RESPONSES, FORBIDDEN, Api, Reader, Responses, Staff
from store_api.models import Problem

router = APIRouter(prefix="/paid", tags=["paid tags"], responses=AUTH_RESPONSES)

UNAVAILABLE: Responses = {
    503: {"model": Problem, "description": "The RFID gate service is not running"}
}


class MarkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sale_id: str = Field(min_length=1, max_length=200, description="The sale that paid")
    epcs: list[str] = Field(min_length=1, max_length=10_000, description="EPCs, hex")


class UnmarkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epcs: list[str] | None = Field(default=None, max_length=10_000)
    sale_id: str | None = Field(default=None, max_length=200)
    reason: str = Field(min_length=1, max_length=200, description="refund, void, ...")


class Changed(BaseModel):
    changed: list[str] = Field(description="EPCs whose paid state changed")


class PaidState(BaseModel):
    epc: str
    paid: bool
    sale_id: str | None = None
    ts: float | None = None


async def _registry(api: Api) -> PaidRegistry:
    svc = gate_service(api.hub)
    if not svc.ready.is_set():
        raise HTTPException(503, "the RFID gate service is not running")
    return svc.paid


@router.get("/{epc}", response_model=PaidState, responses=UNAVAILABLE)
async def paid_state(
    api: Api, _who: Reader, epc: Annotated[str, Path(description="EPC, hex")]
) -> PaidState:
    """Is this tag paid, and by which sale?"""
    mark = (await _registry(api)).mark(epc.strip())
    if mark is None:
        return PaidState(epc=epc.strip().upper(), paid=False)
    return PaidState(epc=mark.epc, paid=True, sale_id=mark.sale_id, ts=mark.ts)


@router.post("", response_model=Changed, responses={**UNAVAILABLE, **FORBIDDEN})
async def mark_paid(api: Api, _who: Staff, body: MarkRequest) -> Changed:
    """Mark tags paid by a sale. Scope: staff. 422 for a value that is not an EPC."""
    try:
        return Changed(changed=await (await _registry(api)).mark_paid(body.epcs, body.sale_id))
    except EpcError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/unmark", response_model=Changed, responses={**UNAVAILABLE, **FORBIDDEN})
async def unmark(api: Api, _who: Staff, body: UnmarkRequest) -> Changed:
    """Un-mark tags (a refund: `epcs`; a void: `sale_id`; a partial return: both), so
    they alarm again at the exit. Scope: staff."""
    if body.epcs is None and body.sale_id is None:
        raise HTTPException(422, "give epcs, sale_id or both")
    try:
        gone = await (await _registry(api)).unmark(
            body.epcs, sale_id=body.sale_id, reason=body.reason
        )
    except EpcError as exc:
        raise HTTPException(422, str(exc)) from None
    return Changed(changed=gone)
