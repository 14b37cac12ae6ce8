"""The journal (everything the hub recorded), device events, and dead letters."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from hub import queries
from store_api.auth import AUTH_RESPONSES, Api, Reader
from store_api.models import DeadLetterCount, DeadLetterOut, JournalOut, Page, page

router = APIRouter(tags=["events"], responses=AUTH_RESPONSES)


class Window:
    """Query parameters shared by the journal and the events: filters and a cursor."""

    def __init__(
        self,
        device: Annotated[str | None, Query(description="Only this device")] = None,
        name: Annotated[str | None, Query(description="Event name (or command name, ...)")] = None,
        since: Annotated[float | None, Query(description="Received at or after (epoch s)")] = None,
        until: Annotated[float | None, Query(description="Received before (epoch s)")] = None,
        after_id: Annotated[int | None, Query(ge=0, description="Rows after this id")] = None,
        before_id: Annotated[int | None, Query(ge=0, description="Rows before this id")] = None,
        order: Annotated[
            Literal["asc", "desc"] | None,
            Query(description="Default: `asc` with `after_id` (tailing), else `desc`"),
        ] = None,
        limit: Annotated[int, Query(ge=1, description="Page size (at most api.max_page)")] = 100,
    ) -> None:
        self.device, self.name, self.since, self.until = device, name, since, until
        self.after_id, self.before_id, self.limit = after_id, before_id, limit
        self.order = order or ("asc" if after_id is not None and before_id is None else "desc")

    def query(self, *, type: str | None, devices: list[str] | None, limit: int) -> dict[str, Any]:
        return dict(
            after_id=self.after_id or 0,
            before_id=self.before_id,
            device=self.device,
            type=type,
            name=self.name,
            since=self.since,
            until=self.until,
            limit=limit + 1,
            newest_first=self.order == "desc",
            devices=devices,
        )


async def _journal(
    api: Api, window: Window, *, type: str | None, devices: list[str] | None = None
) -> Page[JournalOut]:
    limit = min(window.limit, api.config.max_page)
    args = window.query(type=type, devices=devices, limit=limit)
    rows = await api.read(lambda c: queries.journal(c, **args))
    return page(JournalOut, rows, limit)


@router.get("/journal", response_model=Page[JournalOut])
async def journal(
    api: Api,
    _who: Reader,
    window: Annotated[Window, Depends()],
    type: Annotated[str | None, Query(description="event, state, command, reply or alert")] = None,
) -> Page[JournalOut]:
    """Everything the hub journaled: device events, states, commands and their replies,
    alert changes. Paginated by id: follow `next` as `before_id` (newest first) or `after_id`
    (oldest first, `order=asc`)."""
    return await _journal(api, window, type=type)


@router.get("/events", response_model=Page[JournalOut])
async def events(
    api: Api,
    _who: Reader,
    window: Annotated[Window, Depends()],
    kind: Annotated[str | None, Query(description="Only devices of this kind")] = None,
) -> Page[JournalOut]:
    """Device events only (the journal's `event` rows), filterable by device kind."""
    devices = None
    if kind is not None:
        devices = [d.id for d in api.hub.registry if d.kind == kind]
    return await _journal(api, window, type="event", devices=devices)


@router.get("/deadletter", response_model=Page[DeadLetterOut])
async def deadletters(
    api: Api,
    _who: Reader,
    device: Annotated[str | None, Query(description="Only this device")] = None,
    reason: Annotated[str | None, Query(description="e.g. not_json, invalid, too_large")] = None,
    before_id: Annotated[int | None, Query(description="Page back from this id")] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> Page[DeadLetterOut]:
    """Rejected messages with the reason and the payload's first bytes, newest first."""
    limit = min(limit, api.config.max_page)
    rows = await api.read(
        lambda c: queries.deadletters(
            c, device=device, reason=reason, before_id=before_id, limit=limit + 1
        )
    )
    return page(DeadLetterOut, rows, limit)


@router.get("/deadletter/counts", response_model=list[DeadLetterCount])
async def deadletter_counts(api: Api, _who: Reader) -> list[DeadLetterCount]:
    """Rejected messages counted per device and reason."""
    rows = await api.read(queries.deadletter_counts)
    return [DeadLetterCount.model_validate(r) for r in rows]
