"""Passages of unpaid tags through an exit gate, and what their alert says. Pure: no I/O.

A shopper walking out with a bag of unpaid items makes the gate decide
"leaving" for each tag a few milliseconds to a second apart, over several
``reads`` events.  Staff want one alarm and one alert for that, listing every
item — and the alarm must not wait for the last tag.  So:

- the *first* unpaid tag opens a passage: the alarm is sent and the alert is
  raised at once (both within the latency goal), naming that tag;
- every further unpaid tag leaving the same gate within ``passage_gap_s`` of the
  previous one joins the passage; the alert is then updated (same id,
  republished with the full list) rather than raised again;
- a passage that is still going on when its alarm has run out (``alarm_seconds``)
  sends the alarm again: the siren stops while tags are still leaving;
- after ``passage_gap_s`` without an unpaid tag the passage is over, and the
  next unpaid tag opens a new passage, alarm and alert.

A tag already in the passage (it bounced in and out in the doorway) adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from devices.rfid_gate.epc import decode_epc
from hub.catalog import Catalog

#: Most tags an alert lists one by one (``data.count`` has them all).
MAX_LISTED = 250


@dataclass(slots=True)
class Passage:
    id: str
    gate: str
    started: float
    last: float
    alarmed_at: float
    epcs: list[str] = field(default_factory=list)
    #: How many of :attr:`epcs` the alert listed when it was last published.
    published: int = 0

    @property
    def alert_key(self) -> str:
        return f"unpaid_exit:{self.gate}:{self.id}"


@dataclass(frozen=True, slots=True)
class PassageStep:
    """What one batch of unpaid leaving tags did to the gate's passage."""

    passage: Passage
    #: EPCs new to the passage.
    added: tuple[str, ...]
    #: A new passage: raise its alert.
    opened: bool
    #: Send the alarm now.
    alarm: bool


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


class PassageBook:
    """The current passage of one gate."""

    def __init__(
        self,
        gate: str,
        *,
        gap_s: float,
        alarm_s: float,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self.gate = gate
        self.gap_s = gap_s
        self.alarm_s = alarm_s
        self._new_id = new_id
        self.current: Passage | None = None

    def add(self, epcs: Sequence[str], now: float) -> PassageStep | None:
        """Unpaid tags that just left; ``None`` when that changes nothing."""
        p = self.current
        if p is None or now - p.last > self.gap_s:
            p = self.current = Passage(
                id=self._new_id(), gate=self.gate, started=now, last=now, alarmed_at=now
            )
            p.epcs.extend(dict.fromkeys(epcs))
            return PassageStep(p, tuple(p.epcs), opened=True, alarm=True)
        known = set(p.epcs)
        added = tuple(e for e in dict.fromkeys(epcs) if e not in known)
        if not added:
            return None
        p.epcs.extend(added)
        p.last = now
        alarm = now - p.alarmed_at >= self.alarm_s
        if alarm:
            p.alarmed_at = now
        return PassageStep(p, added, opened=False, alarm=alarm)


def describe_tag(epc: str, catalog: Catalog | None) -> dict[str, Any]:
    """What an alert says of one tag: EPC, scheme and URI, for an SGTIN its GTIN and
    serial, and the item's name and price when the catalog knows the GTIN."""
    decoded = decode_epc(epc)
    out: dict[str, Any] = {"epc": decoded.hex, "scheme": decoded.scheme, "uri": decoded.uri}
    if decoded.gtin is not None:
        out["gtin"] = decoded.gtin
    if decoded.serial is not None:
        out["serial"] = decoded.serial
    item = catalog.get(decoded.gtin) if catalog is not None and decoded.gtin else None
    if item is not None:
        out["name"] = item.name
        out["price"] = item.price_text()
        out["currency"] = item.currency
    return out


def alert_content(
    passage: Passage, gate_name: str, catalog: Catalog | None
) -> tuple[str, dict[str, Any]]:
    """Title and ``data`` of a passage's ``unpaid_exit`` alert.

    ``data`` repeats the first tag's fields at the top level (``epc``, ``gtin``,
    ``serial``, ``name``) for simple consumers, and lists every tag in ``tags``.
    """
    tags = [describe_tag(e, catalog) for e in passage.epcs[:MAX_LISTED]]
    first = tags[0]
    label = first.get("name") or first.get("gtin") or first["epc"]
    n = len(passage.epcs)
    if n == 1:
        title = f"Unpaid item leaving through {gate_name}: {label}"
    else:
        title = f"{n} unpaid items leaving through {gate_name}: {label} and {n - 1} more"
    data: dict[str, Any] = {
        **first,
        "count": n,
        "epcs": passage.epcs[:MAX_LISTED],
        "tags": tags,
        "passage": passage.id,
        "gate": passage.gate,
        "started": passage.started,
    }
    if n > MAX_LISTED:
        data["truncated"] = n - MAX_LISTED
    return title, data
