"""Devices: presence, detail, presence history, and sending a command."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Query

from hub import queries
from hub.errors import CommandError, UnknownDevice
from hub.events import CommandOutcome
from hub.registry import Device
from store_api.auth import AUTH_RESPONSES, FORBIDDEN, Api, Reader, Responses, may_send
from store_api.models import (
    CommandRequest,
    DeviceDetail,
    DeviceOut,
    DeviceStatus,
    Page,
    PresenceOut,
    Problem,
    page,
)

router = APIRouter(prefix="/devices", tags=["devices"], responses=AUTH_RESPONSES)

NOT_FOUND: Responses = {404: {"model": Problem, "description": "No such device"}}
DeviceId = Annotated[str, Path(description="Device id, e.g. `door-in`")]


def _status(device: Device) -> DeviceStatus:
    if device.online is None:
        return "unknown"
    if device.online:
        return "online"
    return "asleep" if device.config.may_sleep else "offline"


def _out(device: Device) -> DeviceOut:
    c = device.config
    return DeviceOut(
        id=device.id,
        kind=device.kind,
        name=c.name,
        zone=device.zone,
        role=c.role,
        may_sleep=c.may_sleep,
        online=device.online,
        status=_status(device),
        since=device.since,
        last_seen=device.last_seen,
        model=device.model,
        fw=device.fw,
    )


def _device(api: Api, device_id: str) -> Device:
    device = api.hub.registry.get(device_id)
    if device is None:
        raise HTTPException(404, f"no device {device_id!r}")
    return device


@router.get("", response_model=list[DeviceOut])
async def list_devices(
    api: Api,
    _who: Reader,
    status: Annotated[DeviceStatus | None, Query(description="Only devices in this state")] = None,
    kind: Annotated[str | None, Query(description="Only devices of this kind")] = None,
    zone: Annotated[str | None, Query()] = None,
) -> list[DeviceOut]:
    """Every configured device with its presence, live from the hub's registry."""
    out = [_out(d) for d in api.hub.registry]
    return [
        d
        for d in out
        if (status is None or d.status == status)
        and (kind is None or d.kind == kind)
        and (zone is None or d.zone == zone)
    ]


@router.get("/{device_id}", response_model=DeviceDetail, responses=NOT_FOUND)
async def get_device(api: Api, _who: Reader, device_id: DeviceId) -> DeviceDetail:
    """One device: presence, its configuration (no secrets), the events and commands of its
    kind."""
    device = _device(api, device_id)
    codec = device.driver.codec
    config = json.loads(device.config.model_dump_json(exclude={"password"}))
    return DeviceDetail(
        **_out(device).model_dump(),
        config=config,
        commands=sorted(codec.commands),
        events=sorted(codec.events),
    )


@router.get("/{device_id}/presence", response_model=Page[PresenceOut], responses=NOT_FOUND)
async def presence(
    api: Api,
    _who: Reader,
    device_id: DeviceId,
    before_id: Annotated[int | None, Query(description="Page back from this id")] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> Page[PresenceOut]:
    """Online/offline changes of a device, newest first."""
    _device(api, device_id)
    limit = min(limit, api.config.max_page)
    rows = await api.read(
        lambda c: queries.presence_history(c, device_id, limit + 1, before_id=before_id)
    )
    return page(PresenceOut, rows, limit)


@router.post(
    "/{device_id}/commands/{name}",
    response_model=CommandOutcome,
    responses={
        **NOT_FOUND,
        **FORBIDDEN,
        422: {"model": Problem, "description": "Bad command or arguments"},
    },
)
async def send_command(
    api: Api,
    who: Reader,
    device_id: DeviceId,
    name: Annotated[str, Path(description="The command, e.g. `open`")],
    body: Annotated[CommandRequest | None, Body()] = None,
) -> CommandOutcome:
    """Send a command through the hub and wait for its outcome (`ok`, `rejected`, `timeout`,
    `expired`, `unreachable`; always 200 once sent: the outcome says how it went).

    Scope: admin for any command; staff for the `kind/command` pairs in the store config's
    `api.staff_commands` (default: `door/open`, `esl/led`)."""
    device = _device(api, device_id)
    if not may_send(who, api.config.staff_commands, device.kind, name):
        raise HTTPException(
            403, f"token {who.name!r} may not send {name!r} to {device.kind} devices"
        )
    request = body or CommandRequest()
    try:
        return await api.hub.command(device_id, name, ttl=request.ttl, **request.args)
    except UnknownDevice:
        raise HTTPException(404, f"no device {device_id!r}") from None
    except CommandError as exc:
        raise HTTPException(422, str(exc)) from None
