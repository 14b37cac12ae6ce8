"""What simulated shoppers do, and what can go wrong around them (the scenario knobs)."""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field
from typing import Literal

from devices.rfid_gate.epc import sgtin96_hex
from hub.unmanned.config import Model


@dataclass(frozen=True, slots=True)
class Knobs:
    """A seeded scenario: N shoppers and the trouble they meet."""

    model: Model = "grab_and_go"
    shoppers: int = 10
    seed: int = 1
    #: Items on a shopping list (uniform in this range).
    items: tuple[int, int] = (1, 5)
    #: Chance that a taken item is put back, and put back on the wrong shelf.
    put_back: float = 0.15
    wrong_shelf: float = 0.05
    #: Share of shoppers who all crowd one shelf at the same time, each at a slot of it
    #: (``crowd_at="slot"``: all reaching into one slot).
    crowd: float = 0.1
    crowd_at: Literal["shelf", "slot"] = "shelf"
    #: RFID: chance one read cycle misses a tag; chance of a weak cross-read from a
    #: neighbour's basket.
    rfid_miss: float = 0.2
    cross_read: float = 0.1
    #: Shelf camera: chance it misses a hand, or sees it but not whose it is.
    vision_miss: float = 0.02
    track_miss: float = 0.02
    #: The overhead tracking tells the shelf which slots each shopper can reach (the
    #: slot in front of them and its neighbours); off: only who stands at the shelf.
    reach: bool = True
    #: ... and which slot each stands in front of (the hub weighs it against a view
    #: naming a shopper beside the slot).
    stance: bool = True
    #: Chance a shopper reaches into the slot next to the one they stand in front of.
    side_reach: float = 0.05
    #: The overhead tracking's view of arms going into slots: chance it misses one, and
    #: chance it names another shopper in reach.  It sees arms, not items: a thief who
    #: hides an item from the shelf camera does not hide their arm from the ceiling.
    #: ``overhead_miss=1``: a store without it.
    overhead_miss: float = 0.05
    overhead_swap: float = 0.01
    #: Scale noise (grams, one standard deviation).
    weight_noise_g: float = 2.0
    #: Shoppers who hide a tagged item (from the camera, or at the RFID counter).
    thieves: int = 1
    #: Shoppers whose payment is declined.
    payment_failures: int = 1
    #: Seconds after the start when the fire alarm goes off (None: no fire).
    fire_at: float | None = None
    #: How long until staff lift the emergency (None: not during the run).
    fire_for: float | None = 3.0
    #: Seconds between a shopper's steps (a real visit, compressed about tenfold).
    step_s: float = 0.6
    #: Shoppers enter over this many seconds (None: one a second).
    arrive_over_s: float | None = None

    @property
    def arrivals_s(self) -> float:
        return float(self.shoppers) if self.arrive_over_s is None else self.arrive_over_s

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Knobs:
        data = json.loads(text)
        data["items"] = tuple(data["items"])
        return cls(**data)


@dataclass(slots=True)
class Shopper:
    n: int
    track: str
    pay_token: str
    thief: bool = False
    #: Goes for the crowded shelf first, at the same time as the others who do.
    crowd: bool = False
    #: What they hold now: GTIN → units (the truth the bill is scored against).
    holding: dict[str, int] = field(default_factory=dict)
    #: RFID models: the EPCs of the units they hold.
    epcs: dict[str, list[str]] = field(default_factory=dict)
    hidden: str | None = None
    #: This shopper's own random stream (their list, put-backs and what the devices
    #: make of them), so a seed gives the same visits however the shoppers interleave.
    rng: random.Random = field(default_factory=random.Random)
    session: str | None = None
    #: Payments (rfid_box QR) and what the shopper saw happen.
    payments: list[str] = field(default_factory=list)
    exit_latency: float | None = None
    exit: str = "none"  # opened, blocked, declined, timeout, emergency
    alarmed: bool = False

    def take(self, gtin: str, epc: str | None = None) -> None:
        self.holding[gtin] = self.holding.get(gtin, 0) + 1
        if epc is not None:
            self.epcs.setdefault(gtin, []).append(epc)

    def drop(self, gtin: str) -> str | None:
        self.holding[gtin] -= 1
        if not self.holding[gtin]:
            del self.holding[gtin]
        tags = self.epcs.get(gtin)
        return tags.pop() if tags else None

    def all_epcs(self) -> list[str]:
        return [e for tags in self.epcs.values() for e in tags]


def epc_of(gtin14: str, serial: int) -> str:
    """An SGTIN-96 of the item (company prefix: the GTIN's first 7 digits after the
    indicator; the catalog's items are all 690123x)."""
    indicator, body = gtin14[0], gtin14[1:13]
    return sgtin96_hex(body[:7], indicator + body[7:], serial)


def stream(rng: random.Random) -> random.Random:
    """A stream of its own for one step, drawn from ``rng`` with a single draw: what the
    step draws (which may depend on timing) does not shift the draws after it."""
    return random.Random(rng.getrandbits(64))


def shopping_list(rng: random.Random, gtins: list[str], lo: int, hi: int) -> list[str]:
    return [rng.choice(gtins) for _ in range(rng.randint(lo, hi))]
