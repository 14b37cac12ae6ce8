"""Staff alerts: list, read, acknowledge, resolve, assign, annotate.

Changes act on live (unresolved) alerts: an unknown id is 404, a resolved one 409.
Who did it is the calling token's name.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from hub import queries
from hub.alerts import AlertNotFound, StaffAlert
from hub.events import Severity
from store_api.auth import AUTH_RESPONSES, FORBIDDEN, Api, Reader, Responses, Staff
from store_api.models import AlertOut, AlertPage, AssignRequest, NoteRequest, Problem

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=AUTH_RESPONSES)

AlertId = Annotated[str, Path(description="The alert's id")]
CHANGE_RESPONSES: Responses = {
    **FORBIDDEN,
    404: {"model": Problem, "description": "No such alert"},
    409: {"model": Problem, "description": "The alert is already resolved"},
}


def _out(alert: StaffAlert) -> AlertOut:
    return AlertOut.model_validate(alert.model_dump())


async def _missing(api: Api, alert_id: str) -> HTTPException:
    row = await api.read(lambda c: queries.alert(c, alert_id))
    if row is None:
        return HTTPException(404, f"no alert {alert_id!r}")
    return HTTPException(409, f"alert {alert_id!r} is {row['status']}")


@router.get("", response_model=AlertPage)
async def list_alerts(
    api: Api,
    _who: Reader,
    status: Annotated[
        Literal["open", "acknowledged", "resolved", "live"] | None,
        Query(description="`live` = open or acknowledged"),
    ] = None,
    severity: Annotated[Severity | None, Query()] = None,
    kind: Annotated[str | None, Query(description="e.g. device_offline, unpaid_exit")] = None,
    device: Annotated[str | None, Query()] = None,
    assignee: Annotated[str | None, Query()] = None,
    before: Annotated[float | None, Query(description="Raised before (epoch s): paging")] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> AlertPage:
    """Alerts newest first, with their notes; page back with `before` = the page's `next`."""
    limit = min(limit, api.config.max_page)
    rows = await api.read(
        lambda c: queries.alerts(
            c,
            status=status,
            severity=severity,
            kind=kind,
            device=device,
            assignee=assignee,
            before=before,
            limit=limit + 1,
            notes=True,
        )
    )
    items = [AlertOut.model_validate(r) for r in rows[:limit]]
    return AlertPage(items=items, next=items[-1].ts if len(rows) > limit else None)


@router.get(
    "/{alert_id}",
    response_model=AlertOut,
    responses={404: {"model": Problem, "description": "No such alert"}},
)
async def get_alert(api: Api, _who: Reader, alert_id: AlertId) -> AlertOut:
    """One alert, live or resolved, with its notes."""
    try:
        return _out(api.hub.alerts.get(alert_id))
    except AlertNotFound:
        pass
    row = await api.read(lambda c: queries.alert(c, alert_id))
    if row is None:
        raise HTTPException(404, f"no alert {alert_id!r}")
    return AlertOut.model_validate(row)


@router.post("/{alert_id}/ack", response_model=AlertOut, responses=CHANGE_RESPONSES)
async def acknowledge(api: Api, who: Staff, alert_id: AlertId) -> AlertOut:
    """Acknowledge: someone is on it (stops escalation). Repeating it changes nothing.
    Scope: staff."""
    try:
        return _out(await api.hub.alerts.acknowledge(alert_id, who.name))
    except AlertNotFound:
        raise await _missing(api, alert_id) from None


@router.post("/{alert_id}/resolve", response_model=AlertOut, responses=CHANGE_RESPONSES)
async def resolve(api: Api, who: Staff, alert_id: AlertId) -> AlertOut:
    """Resolve: the fault is dealt with. Scope: staff."""
    try:
        done = await api.hub.alerts.resolve(alert_id=alert_id, by=who.name)
    except AlertNotFound:
        raise await _missing(api, alert_id) from None
    assert done is not None  # by id: found or AlertNotFound
    return _out(done)


@router.post("/{alert_id}/assign", response_model=AlertOut, responses=CHANGE_RESPONSES)
async def assign(api: Api, who: Staff, alert_id: AlertId, body: AssignRequest) -> AlertOut:
    """Give the alert to a staff member (`null`: unassign). Scope: staff."""
    try:
        return _out(await api.hub.alerts.assign(alert_id, body.assignee, by=who.name))
    except AlertNotFound:
        raise await _missing(api, alert_id) from None


@router.post(
    "/{alert_id}/notes", response_model=AlertOut, status_code=201, responses=CHANGE_RESPONSES
)
async def add_note(api: Api, who: Staff, alert_id: AlertId, body: NoteRequest) -> AlertOut:
    """Add a note (author: the token's name). Scope: staff."""
    try:
        return _out(await api.hub.alerts.add_note(alert_id, who.name, body.text))
    except AlertNotFound:
        raise await _missing(api, alert_id) from None
