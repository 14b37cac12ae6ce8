"""The entrance: who may come in, and under which session.

An app QR token (signed by the cloud, checked offline, used once), a card on file
(the cloud's member data ``cards``) at the door's reader or an entrance kiosk, or
the face of a member who enrolled under a consent (vision's ``member_seen``) opens
a session and the door; a passage through it joins the person's track to the
session.  Everything refused is journaled with its reason (``entry_refused``).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from hub.events import DeviceEvent
from hub.unmanned import sessions as ss
from hub.unmanned import tokens
from hub.unmanned.sessions import ShopperSession, Via

if TYPE_CHECKING:
    from hub.unmanned.service import UnmannedService

log = logging.getLogger("storehub.unmanned.entry")


class Entrance:
    def __init__(self, svc: UnmannedService) -> None:
        self.svc = svc
        cfg = svc.config
        self._keys_checked = 0.0
        self.verifier = tokens.TokenVerifier(
            svc.hub.store_id,
            {},
            leeway_s=cfg.token_leeway_s,
            max_party=cfg.max_party,
            clock=svc.clock,
        )

    async def reload_keys(self) -> None:
        """The entry keys of the store file and those HQ published (cloud inbox)."""
        texts = dict(await self.svc.hub.journal.call(tokens.stored_keys))
        texts.update(self.svc.config.entry_keys)
        keys = {}
        for kid, text in texts.items():
            try:
                keys[kid] = tokens.load_public_key(text)
            except ValueError as exc:
                log.error("entry key %s ignored: %s", kid, exc)
        self.verifier.keys = keys
        self._keys_checked = time.monotonic()

    async def credential(self, door: str, method: str, value: str) -> ShopperSession | None:
        if method == "card":
            return await self.open_by_card(door, value, via_device=door)
        try:
            claims = self.verifier.verify(value)
        except tokens.TokenRefused as exc:
            if exc.reason.startswith("unknown signing key") and (
                time.monotonic() - self._keys_checked > 5
            ):
                await self.reload_keys()  # HQ may have rotated keys: look once more
                return await self.credential(door, method, value)
            await self.refuse(door, exc.reason)
            return None
        return await self.open_session(
            door, "qr", member=claims.member, pay=claims.pay, party=claims.party, jti=claims.jti
        )

    async def open_by_card(
        self, door: str, token: str, *, via_device: str
    ) -> ShopperSession | None:
        member = await self.svc.hub.journal.call(lambda c: card_owner(c, token))
        if member is None:
            await self.refuse(via_device, "unknown card")
            return None
        return await self.open_session(door, "card", member=member, pay=token)

    async def open_by_face(self, member: str) -> ShopperSession | None:
        now = self.svc.clock()
        for s in self.svc.sessions.values():
            if s.member == member and s.state == "open" and now - s.opened < 60:
                return None  # the same face seen again at the door
        cards = await self.svc.hub.journal.call(lambda c: member_cards(c, member))
        if not cards:
            await self.refuse(self.svc.config.entry_door, f"member {member} has no card on file")
            return None
        return await self.open_session(
            self.svc.config.entry_door, "face", member=member, pay=cards[0]
        )

    async def refuse(self, device: str, reason: str) -> None:
        self.svc.m_refused.labels(reason.split(" ")[0]).inc()
        log.info("entry refused at %s: %s", device, reason)
        await self.svc.journal_event("entry_refused", {"device": device, "reason": reason})

    async def open_session(
        self,
        door: str,
        via: Via,
        *,
        member: str | None,
        pay: str | None,
        party: int = 1,
        jti: str | None = None,
    ) -> ShopperSession | None:
        now = self.svc.clock()
        s = ShopperSession(
            id=ss.new_session_id(), opened=now, via=via, member=member, pay_token=pay, party=party
        )

        def write(conn: Any) -> None:
            if jti is not None:
                tokens.use(conn, jti, s.id, now)
            ss.save(conn, s, now)

        try:
            await self.svc.hub.journal.call(write)
        except tokens.TokenRefused as exc:
            await self.refuse(door, exc.reason)
            return None
        self.svc.sessions[s.id] = s
        self.svc.m_sessions.labels(via).inc()
        await self.svc.journal_event(
            "session_opened", {"session": s.id, "via": via, "member": member, "party": party}
        )
        self.svc.open_door(door, s.id)
        return s

    async def _tailgating(self, event: DeviceEvent, why: str, data: dict[str, Any]) -> None:
        await self.svc.hub.alerts.raise_(
            "unmanned_tailgating", "warning", why, device=event.device, zone=event.zone, data=data
        )

    async def passage(self, event: DeviceEvent, p: Any) -> None:
        door = event.device
        assert self.svc.exits is not None
        if p.direction == "in" and door == self.svc.config.entry_door:
            sid = p.session
            if sid is None:
                held = self.svc.opened_for.get(door)
                sid = held[0] if held and held[1] >= self.svc.clock() else None
            s = self.svc.sessions.get(sid) if sid else None
            if s is None:
                why = f"someone entered through {door} without a session"
                await self._tailgating(event, why, {"track": p.track})
                return
            s.entered += 1
            if s.entered > s.party:
                why = f"more people entered than session {s.id} lets in ({s.party})"
                await self._tailgating(event, why, {"session": s.id, "track": p.track})
            if p.track and p.track not in s.tracks:
                s.tracks.append(p.track)
                self.svc.by_track[p.track] = s.id
            await self.svc.save(s)
            return
        await self.svc.exits.passage(event, p)


def card_owner(conn: Any, token: str) -> str | None:
    """The member whose card-on-file list (cloud member data ``cards``) holds ``token``."""
    row = conn.execute(
        "SELECT m.id FROM sync_members m, json_each(m.data, '$.cards') c WHERE c.value = ?",
        (token,),
    ).fetchone()
    return None if row is None else str(row[0])


def member_cards(conn: Any, member: str) -> list[str]:
    row = conn.execute(
        "SELECT value FROM sync_members m, json_each(m.data, '$.cards') WHERE m.id = ?", (member,)
    ).fetchall()
    return [str(r[0]) for r in row]
