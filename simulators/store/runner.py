"""Play a seeded unmanned-store scenario against a running hub, and score it.

The hub runs with its own plugins and a real broker; every device of the store
is a simulator speaking the wire contract.  Shoppers scan an entry token, walk
in, take items (shelves with weight + camera, or RFID-tagged items), put some
back (sometimes on the wrong shelf), crowd a shelf, and leave through the
store's checkout model.  Afterwards staff work the review queue (with the truth
in hand: confirm or correct) and every session's charged lines are compared with
what the shopper really carried out.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.checkout.payment import SimulatedProvider
from hub.hub import Hub
from hub.state import attach as attach_flags
from hub.unmanned.service import UnmannedService
from hub.unmanned.tokens import issue
from simulators.base import DeviceSimulator, endpoint_for
from simulators.door import DoorSimulator
from simulators.registry import simulator_for
from simulators.rfid_gate import RfidGateSimulator
from simulators.shelf import ShelfSimulator
from simulators.store.counter import pay_at_counter
from simulators.store.layout import catalog_items
from simulators.store.report import Report
from simulators.store.scoring import LoggedHand, score
from simulators.store.shoppers import Knobs, Shopper, epc_of, shopping_list, stream

READ_CYCLES = 3
EXIT_TIMEOUT_S = 5.0
#: Longest a simulated visit may take before it is reported as stuck.
VISIT_TIMEOUT_S = 180.0


class StoreRun:
    def __init__(
        self,
        hub: Hub,
        knobs: Knobs,
        key: Ed25519PrivateKey,
        *,
        provider: SimulatedProvider | None = None,
        port: int | None = None,
        staff: bool = True,
    ) -> None:
        self.hub = hub
        self.k = knobs
        self.key = key
        self.provider = provider
        #: Simulated staff work the review queue after the run (the demo leaves it to people).
        self.staff = staff
        #: The scenario's own draws (device seeds, who is who); each shopper draws
        #: from a stream of their own (Shopper.rng).
        self.rng = random.Random(knobs.seed)
        self.sims: dict[str, DeviceSimulator[Any]] = {}
        for d in hub.registry:
            ep = endpoint_for(hub.config, d.id, port=port)
            self.sims[d.id] = simulator_for(
                d.config, hub.store_id, ep, seed=self.rng.getrandbits(32)
            )
        self.shoppers: list[Shopper] = []
        #: shelf → track → the slot it stands in front of
        self.at_shelf: dict[str, dict[str, str]] = {}
        self.entry = asyncio.Lock()
        self.counter = asyncio.Lock()
        self.vestibule = asyncio.Lock()
        #: What happened, for a person tracing a wrong charge: each hand (what each
        #: sensor made of it), the counter's and the doors' moments.
        self.log: list[str] = []
        #: The hands among them, for a wrong charge's trace.
        self.hands: list[LoggedHand] = []
        self.weights = {i["gtin"]: float(i["weight_g"]) for i in catalog_items()}

    @property
    def svc(self) -> UnmannedService:
        svc = self.hub.service(UnmannedService)
        assert svc is not None
        return svc

    def door(self, name: str) -> DoorSimulator:
        sim = self.sims[name]
        assert isinstance(sim, DoorSimulator)
        return sim

    # -- the run ---------------------------------------------------------------------

    async def play(self) -> Report:
        t0 = time.monotonic()
        for sim in self.sims.values():
            await sim.__aenter__()
        try:
            async with asyncio.timeout(15):
                await self.svc.ready.wait()
            await self._baseline()
            self._cast()
            jobs = [self._guarded(s) for s in self.shoppers]
            if self.k.fire_at is not None:
                jobs.append(self._fire())
            await asyncio.gather(*jobs)
            await asyncio.sleep(1.0)
            outcomes, reviews = await score(self, staff=self.staff)
        finally:
            for sim in self.sims.values():
                await sim.__aexit__(None, None, None)
        return Report(self.k, outcomes, time.monotonic() - t0, reviews)

    async def _baseline(self) -> None:
        for sim in self.sims.values():
            if isinstance(sim, ShelfSimulator):
                for slot, gtin in sim.config.slots.items():
                    # Stocked with the store catalog's items (their weights, not the
                    # simulator's own demo products').
                    sim.grams[slot] = sim.units[slot] * self.weights[gtin]
                    await sim.weight(slot, round(sim.grams[slot], 1))
                self.at_shelf[sim.device_id] = {}
        await asyncio.sleep(0.3)

    def _cast(self) -> None:
        k, rng = self.k, self.rng
        thieves = set(rng.sample(range(k.shoppers), min(k.thieves, k.shoppers)))
        rest = [i for i in range(k.shoppers) if i not in thieves]
        failing = set(rng.sample(rest, min(k.payment_failures, len(rest))))
        for i in range(k.shoppers):
            token = f"declined-{i}" if i in failing else f"tok-{i}"
            crowd = rng.random() < k.crowd
            self.shoppers.append(Shopper(i, f"t{i}", token, thief=i in thieves, crowd=crowd,
                                         rng=random.Random(f"{k.seed}/{i}")))  # fmt: skip

    async def _guarded(self, sh: Shopper) -> None:
        """A visit, bounded: a shopper stuck for good is reported, not waited for."""
        try:
            async with asyncio.timeout(VISIT_TIMEOUT_S):
                await self._visit(sh)
        except TimeoutError:
            sh.exit = "stuck"
            self.log.append(f"shopper {sh.n}: stuck for {VISIT_TIMEOUT_S} s")

    async def _visit(self, sh: Shopper) -> None:
        spread = self.k.arrivals_s
        # The crowd arrives together, half way through the arrivals.
        start = spread / 2 + sh.rng.uniform(0, 0.5) if sh.crowd else sh.rng.uniform(0, spread)
        await asyncio.sleep(start)
        if not await self._enter(sh):
            return
        if self.k.model == "grab_and_go":
            await self._shop_shelves(sh)
            await self._leave(sh, "door-out")
        else:
            self._take_tagged(sh)
            if self.k.model == "rfid_box":
                await pay_at_counter(self, sh)
                await self._leave_rfid_box(sh)
            else:
                await self._leave_vestibule(sh)

    async def _enter(self, sh: Shopper) -> bool:
        door = self.door("door-in")
        async with self.entry:
            token = issue(self.key, kid="demo", store=self.hub.store_id, member=f"m{sh.n}",
                          pay=sh.pay_token)  # fmt: skip
            mark = len(door.commands_received)
            await door.credential("qr", token)
            opened = await self._opened(door, mark, None)
            if opened is None or not opened.get("session"):
                self.log.append(f"shopper {sh.n}: not let in")
                return False
            sh.session = str(opened["session"])
            await door.passage("in", session=sh.session, track=sh.track)
        return True

    # -- grab and go -------------------------------------------------------------------

    def _where(self) -> dict[str, tuple[ShelfSimulator, str]]:
        out: dict[str, tuple[ShelfSimulator, str]] = {}
        for sim in self.sims.values():
            if isinstance(sim, ShelfSimulator):
                for slot, gtin in sim.config.slots.items():
                    out.setdefault(gtin, (sim, slot))
        return out

    async def _people(self, shelf: ShelfSimulator, track: str, slot: str | None = None) -> None:
        """The track now stands in front of ``slot`` (None: it left the shelf); the
        tracking system tells the shelf who stands there and what each can reach."""
        at = self.at_shelf[shelf.device_id]
        if slot is None:
            at.pop(track, None)
        else:
            at[track] = slot
        reach = {t: shelf.within_reach(s) for t, s in at.items()} if self.k.reach else None
        await shelf.people(list(at), reach, dict(at) if self.k.stance else None)

    async def _shop_shelves(self, sh: Shopper) -> None:
        k = self.k
        where = self._where()
        wanted = shopping_list(sh.rng, sorted(where), *k.items)
        if sh.crowd:
            # Crowding: everyone picked for it goes to the first shelf at once, each to a
            # slot of it (or all to its first slot).
            shelf = next(iter(where.values()))[0]
            slots = list(shelf.config.slots)
            slot = slots[0] if k.crowd_at == "slot" else slots[sh.n % len(slots)]
            wanted.insert(0, shelf.config.slots[slot])
        hide = sh.rng.randrange(len(wanted)) if sh.thief else -1
        for i, gtin in enumerate(wanted):
            rng = stream(sh.rng)  # this item's draws
            shelf, slot = where[gtin]
            await self._people(shelf, sh.track, self._stand(shelf, slot, rng))
            await asyncio.sleep(k.step_s)
            if shelf.units[slot] <= 0:  # sold out: nothing to take here
                await self._people(shelf, sh.track)
                continue
            await self._hand(shelf, slot, gtin, sh, "pick", stream(rng), hidden=i == hide)
            sh.take(gtin)
            if rng.random() < k.put_back:
                await asyncio.sleep(k.step_s)
                if rng.random() < k.wrong_shelf / max(k.put_back, 1e-9):
                    other, oslot = rng.choice(list(where.values()))
                    await self._people(shelf, sh.track)
                    await self._people(other, sh.track, oslot)
                    await asyncio.sleep(k.step_s)
                    await self._hand(other, oslot, gtin, sh, "put", stream(rng))
                    sh.drop(gtin)
                    await asyncio.sleep(k.step_s)
                    await self._people(other, sh.track)
                    continue
                await self._hand(shelf, slot, gtin, sh, "put", stream(rng))
                sh.drop(gtin)
            await asyncio.sleep(k.step_s)
            await self._people(shelf, sh.track)

    def _stand(self, shelf: ShelfSimulator, slot: str, rng: random.Random) -> str:
        """Where a shopper reaching into ``slot`` stands: in front of it, or (now and then)
        in front of the slot beside it."""
        if rng.random() >= self.k.side_reach:
            return slot
        return rng.choice([s for s in shelf.within_reach(slot) if s != slot] or [slot])

    async def _hand(
        self, shelf: ShelfSimulator, slot: str, gtin: str, sh: Shopper, action: str,
        rng: random.Random, *, hidden: bool = False,
    ) -> None:  # fmt: skip
        k = self.k
        sign = -1 if action == "pick" else 1
        if gtin == shelf.config.slots[slot]:
            shelf.units[slot] += sign  # (before any await: the caller checked for stock)
        # Every draw up front, whoever else is at the shelf: the same seed, the same hand.
        arm_miss, swap, other, miss, untracked = (rng.random() for _ in range(5))
        conf, noise = round(rng.uniform(0.85, 0.99), 2), rng.gauss(0.0, k.weight_noise_g)
        at = self.at_shelf[shelf.device_id]
        arm = camera = "-"  # (what the ceiling and the camera saw: "-" nothing)
        if arm_miss >= k.overhead_miss:
            arm = sh.track
            near = [t for t, s in at.items() if t != arm and slot in shelf.within_reach(s)]
            if near and swap < k.overhead_swap:
                arm = near[int(other * len(near))]
            await shelf.reached(slot, arm)
        if not hidden and miss >= k.vision_miss:
            track = None if untracked < k.track_miss else sh.track
            camera = track or "a hand"
            await shelf.action(slot, "pick" if action == "pick" else "put", gtin, 1, conf, track)
        shelf.grams[slot] += sign * self.weights[gtin]
        await asyncio.sleep(shelf.config.settle_s)  # the scale settles
        reading = shelf.grams[slot] + noise
        now = time.time()
        text = (
            f"{now:.3f} {sh.track} {action} {gtin[-4:]} {shelf.device_id}/{slot}"
            f" (stands at {at.get(sh.track)}; arm: {arm}, camera: {camera},"
            f" at the shelf: {' '.join(f'{t}@{s}' for t, s in at.items())})"
        )
        self.log.append(text)
        self.hands.append(LoggedHand(now, sh.track, shelf.device_id, text))
        await shelf.weight(slot, round(reading, 1))

    # -- RFID items --------------------------------------------------------------------

    def _take_tagged(self, sh: Shopper) -> None:
        gtins = [i["gtin"] for i in catalog_items()]
        for j, gtin in enumerate(shopping_list(sh.rng, gtins, *self.k.items)):
            sh.take(gtin, epc_of(gtin, 100_000 + 1000 * sh.n + j))
            if sh.rng.random() < self.k.put_back:
                sh.drop(gtin)
        if sh.thief and sh.holding:
            sh.hidden = sh.rng.choice(sh.all_epcs())

    async def read_tags(self, reader: str, sh: Shopper, *, skip: str | None = None) -> None:
        """The reader's cycles over what ``sh`` carries (each read may miss; now and then
        a weak cross-read of a tag another shopper holds)."""
        gate = self.sims[reader]
        assert isinstance(gate, RfidGateSimulator)
        epcs, rng = sh.all_epcs(), stream(sh.rng)
        others = [e for s in self.shoppers for e in s.all_epcs() if e not in epcs]
        for _ in range(READ_CYCLES):
            now = time.time()
            reads = [
                {"epc": e, "antenna": 1, "rssi": round(rng.uniform(-48, -35), 1), "ts": now}
                for e in epcs
                if e != skip and rng.random() >= self.k.rfid_miss
            ]
            cross, pick = rng.random(), rng.random()  # (drawn whoever else is in the store)
            if others and cross < self.k.cross_read:
                reads.append({"epc": others[int(pick * len(others))], "antenna": 1,
                              "rssi": round(rng.uniform(-80, -70), 1), "ts": now})  # fmt: skip
            if reads:
                await gate.event("reads", reads=reads)
            await asyncio.sleep(0.1)

    async def _leave_rfid_box(self, sh: Shopper) -> None:
        for attempt in range(2):
            async with self.vestibule:  # the exit zone is single file
                await self.read_tags("gate-exit", sh)
                if await self._leave(sh, "door-out", alarm_reader="gate-exit"):
                    return
                await asyncio.sleep(self.k.step_s)  # staff take a blocked shopper aside
            if sh.thief or attempt:
                return  # staff take it from here
            await pay_at_counter(self, sh)  # a tag the counter missed: back to the counter

    async def _leave_vestibule(self, sh: Shopper) -> None:
        inner, outer = self.door("exit-inner"), self.door("exit-outer")
        async with self.vestibule:
            mark = len(inner.commands_received)
            await inner.request(session=sh.session, track=sh.track)
            if await self._opened(inner, mark, sh.session) is None:
                sh.exit = "timeout"
                return
            omark = len(outer.commands_received)
            t0 = time.monotonic()
            # A thief's item sits in a foil-lined bag: no tag read, but the camera sees it.
            await self.read_tags("gate-vestibule", sh, skip=sh.hidden)
            await self._count(sh)
            await inner.passage("out", session=sh.session, track=sh.track)
            await self._exit_through(sh, outer, omark, t0)

    async def _count(self, sh: Shopper) -> None:
        """The vestibule camera counts what the shopper carries (each unit it may miss)."""
        cam = self.sims.get("cam-vestibule")
        if cam is None:
            return
        counts = []
        rng = stream(sh.rng)
        for gtin, n in sorted(sh.holding.items()):
            seen = sum(rng.random() >= self.k.vision_miss for _ in range(n))
            if seen:
                score = round(rng.uniform(0.85, 0.99), 2)
                counts.append({"gtin": gtin, "count": seen, "score": score})
        await cam.event("items", counts=counts, total=sum(c["count"] for c in counts))

    # -- leaving -----------------------------------------------------------------------

    async def _leave(self, sh: Shopper, door_id: str, *, alarm_reader: str | None = None) -> bool:
        door = self.door(door_id)
        mark = len(door.commands_received)
        t0 = time.monotonic()
        await door.request(session=sh.session, track=sh.track)
        done = await self._exit_through(sh, door, mark, t0)
        if not done and alarm_reader is not None:
            gate = self.sims[alarm_reader]
            sh.alarmed = any(c.name == "alarm" for c in gate.commands_received)
        return done

    async def _exit_through(self, sh: Shopper, door: DoorSimulator, mark: int, t0: float) -> bool:
        opened = await self._opened(door, mark, sh.session)
        if opened is None and sh.exit != "declined" and sh.pay_token.startswith("declined"):
            sh.exit = "declined"
            assert sh.session is not None
            await self.svc.let_out(sh.session, by="staff-sim")
            opened = await self._opened(door, mark, sh.session)
        elif opened is not None:
            sh.exit_latency = time.monotonic() - t0
        if opened is None:
            sh.exit = "blocked"
            return False
        if sh.exit in ("none", "blocked"):  # (out on a second try: stopped before)
            sh.exit = "emergency" if door.released else "opened"
        await door.passage("out", session=sh.session, track=sh.track)
        return True

    async def _opened(
        self, door: DoorSimulator, mark: int, session: str | None
    ) -> dict[str, Any] | None:
        end = time.monotonic() + EXIT_TIMEOUT_S
        while time.monotonic() < end:
            if door.released:
                return {"session": session, "released": True}
            for c in door.commands_received[mark:]:
                if c.name == "open" and (session is None or c.args.get("session") == session):
                    return c.args
            await asyncio.sleep(0.005)
        return None

    async def _fire(self) -> None:
        assert self.k.fire_at is not None
        await asyncio.sleep(self.k.fire_at)
        flags = await attach_flags(self.hub)
        await flags.set("emergency", True, by="fire alarm")
        if self.k.fire_for is None:
            return
        await asyncio.sleep(self.k.fire_for)
        await flags.set("emergency", False, by="staff-sim")
