"""The two-door exit gate (淘咖啡 style): a shopper steps into the vestibule, the tags read
there (and the session's cart, and what the vestibule camera counted beyond them) are
charged to the session's payment token, then the outer door opens; the inner door always
opens from inside (hub/unmanned/exits.py has the rules every model keeps)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devices.door.config import DoorConfig
from hub.events import DeviceEvent
from hub.unmanned.exits import CAMERA_CONFIDENCE, Exits
from hub.unmanned.sessions import CartLine, Evidence, ShopperSession

if TYPE_CHECKING:
    from hub.unmanned.service import UnmannedService


@dataclass(slots=True)
class _Vestibule:
    session: str | None = None
    track: str | None = None
    since: float = 0.0
    busy: bool = False


class ExitGate(Exits):
    def __init__(self, svc: UnmannedService) -> None:
        super().__init__(svc)
        self.inner: str | None = None
        self.outer: str | None = None
        for d in svc.hub.registry:
            c = d.config
            if isinstance(c, DoorConfig) and c.vestibule == self.cfg.vestibule:
                if c.side == "inner":
                    self.inner = c.id
                else:
                    self.outer = c.id
        if self.inner is None or self.outer is None:
            raise ValueError(f"vestibule {self.cfg.vestibule!r} needs an inner and an outer door")
        self.v = _Vestibule()

    async def request(
        self, door: str, s: ShopperSession | None, track: str | None, t0: float
    ) -> None:
        svc, v = self.svc, self.v
        if svc.emergency:
            await self.emergency_exit(door, s, t0)
            return
        if door == self.inner:
            inside_vestibule = v.busy and (s is None or s.id == v.session or track == v.track)
            if inside_vestibule or not v.busy:
                # Into the vestibule, or back out of it: the inner door always opens.
                svc.open_door(door, s.id if s else None)
                if not v.busy:
                    self.v = _Vestibule(s.id if s else None, track, t0, busy=False)
            return
        if door == self.outer and v.busy and s is not None and s.id == v.session:
            await self.decide(s, t0)

    async def passage(self, event: DeviceEvent, p: Any) -> None:
        svc, v = self.svc, self.v
        t = event.received
        if event.device == self.inner and p.direction == "out":
            s = svc.session_of(p.session or v.session, p.track or v.track)
            self.v = _Vestibule(s.id if s else None, p.track, t, busy=True)
            if svc.emergency:
                return
            if s is None:
                await svc.hub.alerts.raise_(
                    "unmanned_unknown_shopper",
                    "warning",
                    "someone without a session is in the exit vestibule",
                    device=self.outer,
                )
                return
            await asyncio.sleep(self.cfg.exit_read_wait_s)
            await self.decide(s, t)
        elif event.device == self.inner and p.direction == "in":
            self.v = _Vestibule()
        elif event.device == self.outer and p.direction == "out":
            s = svc.session_of(p.session or v.session, p.track or v.track)
            self.v = _Vestibule()
            await self.left(s, p.track)

    def camera_lines(self, rfid: list[CartLine]) -> list[CartLine]:
        """What the vestibule camera counted beyond the tags read: items without a tag (or
        with a shielded one). Fewer than the tags is the camera's miss: the tags stand.
        A count the camera itself calls unsure makes the bill unsure."""
        cam = self.cfg.vestibule_camera
        seen = self.svc.counted.get(cam or "")
        if cam is None or seen is None or seen[0] < self.v.since - self.cfg.zone_window_s:
            return []
        ts, counts, unsure = seen
        tagged = {ln.gtin: ln.qty for ln in rfid}
        out = []
        for gtin, n in counts.items():
            extra = n - tagged.get(gtin, 0)
            if extra > 0:
                conf = 0.5 if unsure else CAMERA_CONFIDENCE
                note = "the camera counted more than the tags read"
                ev = Evidence(source="vision", device=cam, ts=ts, confidence=conf, note=note)
                out.append(CartLine(gtin=gtin, qty=extra, confidence=conf, evidence=[ev]))
        if unsure and not out and rfid:
            ev = Evidence(source="vision", device=cam, ts=ts, confidence=0.5,
                          note="the camera was unsure of its count")  # fmt: skip
            rfid[0].confidence = min(rfid[0].confidence, 0.5)
            rfid[0].evidence.append(ev)
        return out

    async def decide(self, s: ShopperSession, t0: float) -> None:
        svc = self.svc
        assert self.outer is not None and self.inner is not None
        reader = self.cfg.vestibule_reader
        assert reader is not None
        epcs = self.unpaid_in_zone(reader, self.v.since - self.cfg.zone_window_s)
        lines = self.rfid_lines(reader, epcs, svc.clock())
        lines += self.camera_lines(lines)
        outcome = await self.settle(s, lines, self.outer, t0)
        if outcome == "declined":
            svc.open_door(self.inner, s.id)  # back into the store; the outer door stays shut
            svc.decided("declined", t0)
            return
        svc.open_door(self.outer, s.id)
        await svc.save(s)
        svc.decided(outcome, t0)
