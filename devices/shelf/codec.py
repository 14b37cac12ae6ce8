"""Wire payloads of the ``shelf`` kind (hub-defined, not in contract v1). Pure: no I/O.

A smart shelf unit reports what it senses on its own: each slot's scale (``weight``),
its camera's view of hands taking or putting items (``action``), and, from the store's
overhead tracking system, which shopper tracks stand in front of it (``people``) and
whose hand went into which slot (``hand``).  Deciding who took what is the hub's job,
not the shelf's.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from devices.base import Codec, CommandArgs, TrackId, WirePayload
from hub.catalog import normalise_gtin

SLOT_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
#: A slot (one scale, one facing) of the shelf, as the planogram names it.
SlotId = Annotated[str, StringConstraints(pattern=SLOT_PATTERN)]
#: A GTIN-8/12/13/14 with a correct check digit, normalised to GTIN-14.
Gtin = Annotated[str, AfterValidator(normalise_gtin)]


class Weight(WirePayload):
    """A slot's total weight once its scale settled; sent when it changed."""

    slot: SlotId
    grams: float = Field(allow_inf_nan=False)


class Action(WirePayload):
    """The shelf camera saw a hand take (``pick``) or put back (``put``) items at a slot."""

    slot: SlotId
    action: Literal["pick", "put"]
    #: The item recognised; None = not recognised.
    gtin: Gtin | None = None
    count: int = Field(ge=1, le=50)
    confidence: float = Field(ge=0.0, le=1.0)
    #: The shopper track whose hand it was; None = unknown.
    track: TrackId | None = None


class People(WirePayload):
    """The shopper tracks now standing at the shelf; sent when the set changed (or
    when one of them moved along it)."""

    tracks: list[TrackId] = Field(max_length=50)
    #: Where the tracking system knows it: the slots each track can reach from where it
    #: stands.  A track not listed may reach any slot of the shelf.
    reach: dict[TrackId, list[SlotId]] = Field(default_factory=dict, max_length=50)
    #: Where the tracking system knows it: the slot each track stands in front of.
    front: dict[TrackId, SlotId] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _of_present_tracks(self) -> People:
        for name, tracks in (("reach", self.reach), ("front", self.front)):
            stray = sorted(set(tracks) - set(self.tracks))
            if stray:
                raise ValueError(f"{name} names tracks not at the shelf: {', '.join(stray)}")
        beyond = sorted(
            t for t, slot in self.front.items() if t in self.reach and slot not in self.reach[t]
        )
        if beyond:
            raise ValueError(f"front names a slot out of reach of {', '.join(beyond)}")
        return self


class Hand(WirePayload):
    """The overhead tracking saw a shopper track's hand go into a slot.  It sees arms, not
    items: neither what was taken nor whether it was taken or put back (the scale and the
    shelf camera say that)."""

    slot: SlotId
    track: TrackId


class Identify(CommandArgs):
    """Blink the shelf's LED strip so staff can find it."""

    seconds: int = Field(default=10, ge=1, le=300)


class Tare(CommandArgs):
    """Zero a slot's scale (it is empty now)."""

    slot: SlotId


CODEC = Codec(
    events={"weight": Weight, "action": Action, "people": People, "hand": Hand},
    commands={"identify": Identify, "tare": Tare},
    # No cloud stream: these are raw, local evidence tied to shopper tracks; the cloud
    # gets what the hub concludes from them (sales, alerts), not the tracks themselves.
)
