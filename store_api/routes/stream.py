"""The live stream: alerts and events as Server-Sent Events.

Each client gets its own ``drop_oldest`` bus subscription, so a slow phone
never slows the hub down: it loses its oldest events and is told so with a
``lagged`` event.  Event names are the bus event types (``alert``,
``device_event``, ``presence``, ``command``, ...); ``data`` is JSON.  The
stream starts with a ``hello`` event once the subscription is in place.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from hub.alerts import StaffAlert
from hub.bus import Subscription
from hub.events import AlertChanged, BusEvent
from store_api.auth import AUTH_RESPONSES, Api, StreamReader
from store_api.models import AlertOut

router = APIRouter(tags=["stream"], responses=AUTH_RESPONSES)

DEFAULT_TYPES = "alert,device_event,presence,command"
#: Events a client may fall behind by before the oldest are dropped.
QUEUE = 1000
RETRY_MS = 3000
_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def parse_types(
    types: Annotated[
        str,
        Query(
            description="Comma-separated event types: alert, device_event, presence, "
            "command (and any the rules engine adds)"
        ),
    ] = DEFAULT_TYPES,
) -> frozenset[str]:
    wanted = frozenset(t.strip() for t in types.split(",") if t.strip())
    bad = sorted(t for t in wanted if not _TYPE.match(t))
    if not wanted or bad:
        raise HTTPException(400, f"bad event types: {', '.join(bad) or '(none given)'}")
    return wanted


def payload(event: BusEvent) -> dict[str, Any]:
    if isinstance(event, AlertChanged):
        alert = event.alert
        body = (
            alert.model_dump()
            if isinstance(alert, StaffAlert)
            else alert.model_dump(include=set(AlertOut.model_fields))
        )
        return {"change": event.change, "alert": AlertOut.model_validate(body).model_dump()}
    return event.model_dump(mode="json")


@router.get(
    "/stream", response_class=EventSourceResponse, responses={400: {"description": "Bad `types`"}}
)
async def stream(
    api: Api,
    who: StreamReader,
    types: Annotated[frozenset[str], Depends(parse_types)],
) -> AsyncIterator[ServerSentEvent]:
    """Live alerts and events as `text/event-stream`. Authenticate with the
    `Authorization: Bearer` header or, from a browser's `EventSource`, with `?token=`.
    First event: `hello`; then one event per change, named by type (`alert` data:
    `{"change": ..., "alert": {...}}`), `lagged` when this client fell behind and events
    were dropped, and `: ping` comments to keep proxies open."""
    sub = api.hub.bus.subscribe(
        f"api-stream:{who.name}",
        maxsize=QUEUE,
        policy="drop_oldest",
        accept=lambda e: e.type in types,
    )
    api.metrics.streams.inc()
    stop = asyncio.ensure_future(api.closing.wait())
    reported = 0
    try:
        yield ServerSentEvent(
            event="hello", data={"token": who.name, "types": sorted(types)}, retry=RETRY_MS
        )
        while (event := await _next(sub, stop)) is not None:
            if sub.dropped > reported:
                api.metrics.stream_dropped.inc(sub.dropped - reported)
                yield ServerSentEvent(event="lagged", data={"dropped": sub.dropped - reported})
                reported = sub.dropped
            yield ServerSentEvent(event=event.type, data=payload(event))
    finally:
        stop.cancel()
        sub.close()
        api.metrics.streams.dec()


async def _next(sub: Subscription, stop: asyncio.Future[Any]) -> BusEvent | None:
    """The next event, or ``None`` once the server is closing."""
    event = sub.get_nowait()  # fast path: no task when events are waiting
    if event is not None:
        return event
    get = asyncio.ensure_future(sub.get())
    try:
        await asyncio.wait({get, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not get.done():
            get.cancel()
    if get.done() and not get.cancelled():
        return get.result()
    return None
