"""Shelf labels: HQ price batches and their progress, labels, bindings, LED flashing.

HQ (``hq`` scope) pushes batches; staff (``staff``) bind labels and flash them;
any valid token reads.  All of it is :class:`hub.esl.service.EslService`, which
runs as a hub plugin; without it these answer 503.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.auth import Principal
from hub.esl.batches import BadBatch, IdempotencyConflict, PriceBatchIn
from hub.esl.labels import Binding, binding_history
from hub.esl.service import EslService
from store_api.auth import AUTH_RESPONSES, FORBIDDEN, Api, Reader, Requires, Responses, Staff
from store_api.models import Problem

router = APIRouter(prefix="/esl", tags=["shelf labels"], responses=AUTH_RESPONSES)

Hq = Annotated[Principal, Depends(Requires("hq"))]
LabelId = Annotated[str, Path(description="Label id, e.g. `ap-1-l00042`")]
NOT_FOUND: Responses = {404: {"model": Problem, "description": "No such batch or label"}}
UNAVAILABLE: Responses = {503: {"model": Problem, "description": "The ESL service is not running"}}


class Progress(BaseModel):
    """A batch's progress; counts are cumulative, ``(confirmed + failed + skipped) / total``
    is how far it got."""

    model_config = ConfigDict(extra="allow")

    id: str
    idempotency_key: str
    total: int
    scheduled: int
    queued: int
    rendered: int
    sent: int
    confirmed: int
    failed: int
    skipped: int
    done: bool
    errors: dict[str, str] = Field(default_factory=dict)


class LedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    color: Literal["red", "green", "blue", "white"] = "green"
    pattern: Literal["flash", "solid"] = "flash"
    seconds: int = Field(default=10, ge=1, le=600)


def service(api: Api) -> EslService:
    found = api.hub.service(EslService)
    if found is None:
        raise HTTPException(503, "the shelf-label service is not running in this hub")
    return found


Esl = Annotated[EslService, Depends(service)]


@router.post(
    "/batches",
    status_code=202,
    response_model=Progress,
    responses={
        **FORBIDDEN,
        **UNAVAILABLE,
        409: {"model": Problem, "description": "Idempotency key reused"},
        422: {"model": Problem, "description": "Bad GTIN or amount"},
    },
)
async def push_batch(
    body: PriceBatchIn,
    esl: Esl,
    who: Hq,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> dict[str, Any]:
    """Push price changes and promotions (``hq``). Sending the same ``Idempotency-Key``
    again returns the first batch and changes nothing."""
    try:
        return await esl.push(body, key=idempotency_key, by=who.name)
    except IdempotencyConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except BadBatch as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/batches/{batch_id}", response_model=Progress, responses={**NOT_FOUND, **UNAVAILABLE})
async def batch_progress(batch_id: str, esl: Esl, _who: Reader) -> dict[str, Any]:
    """Progress of a batch, by id or idempotency key."""
    found = esl.progress(batch_id)
    if found is None:
        raise HTTPException(404, f"no batch {batch_id!r}")
    return found


@router.get("/labels", responses=UNAVAILABLE)
async def list_labels(
    esl: Esl,
    _who: Reader,
    gtin: Annotated[str | None, Query()] = None,
    problem: Annotated[bool, Query(description="Only labels not converged or failing")] = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[dict[str, Any]]:
    """The label database: binding, battery, signal, last seen, what it shows."""
    labels = esl.labels.for_gtin(gtin) if gtin else list(esl.labels)
    if problem:
        labels = [lb for lb in labels if lb.gtin and (not lb.converged or lb.last_error)]
    return [lb.summary() for lb in labels[:limit]]


@router.get("/labels/{label_id}", responses={**NOT_FOUND, **UNAVAILABLE})
async def get_label(label_id: LabelId, esl: Esl, api: Api, _who: Reader) -> dict[str, Any]:
    """One label: health (battery, signal, last check-in), content and binding history."""
    label = esl.labels.get(label_id)
    if label is None:
        raise HTTPException(404, f"no label {label_id!r}")
    history = await api.read(lambda c: binding_history(c, label_id))
    return {**label.summary(), "history": [h.model_dump() for h in history]}


@router.put("/labels/{label_id}/binding", responses={**FORBIDDEN, **UNAVAILABLE})
async def bind_label(label_id: LabelId, body: Binding, esl: Esl, who: Staff) -> dict[str, Any]:
    """Bind a label to an item (``staff``); it is rendered and sent at once."""
    if body.label != label_id:
        raise HTTPException(422, "the body's label must match the path")
    try:
        label = await esl.bind(body, by=who.name)
    except BadBatch as exc:
        raise HTTPException(422, str(exc)) from None
    return label.summary()


@router.delete("/labels/{label_id}/binding", responses={**NOT_FOUND, **FORBIDDEN, **UNAVAILABLE})
async def unbind_label(label_id: LabelId, esl: Esl, who: Staff) -> dict[str, Any]:
    """Unbind a label from its item (``staff``); the binding history keeps it."""
    label = await esl.unbind(label_id, by=who.name)
    if label is None:
        raise HTTPException(404, f"no label {label_id!r}")
    return label.summary()


@router.post("/labels/{label_id}/led", responses={**NOT_FOUND, **FORBIDDEN, **UNAVAILABLE})
async def flash_label(label_id: LabelId, body: LedRequest, esl: Esl, _who: Staff) -> dict[str, Any]:
    """Flash a label's LED so staff find the shelf (``staff``)."""
    try:
        outcome = await esl.flash(
            label_id, color=body.color, seconds=body.seconds, pattern=body.pattern
        )
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    return outcome.model_dump(mode="json")
