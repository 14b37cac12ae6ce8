"""The ``[unmanned]`` table of the store file (docs/unmanned.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Model = Literal["rfid_box", "exit_gate", "grab_and_go"]


class UnmannedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    #: ``rfid_box`` (BingoBox: RFID counter + QR payment, exit opens when every tag in
    #: the exit zone is paid), ``exit_gate`` (two-door vestibule charging the session's
    #: payment token) or ``grab_and_go`` (weight shelves + shelf cameras, billed at exit).
    model: Model = "grab_and_go"
    #: The entry door (its QR/card reader opens sessions) and the exit door.
    entry_door: str = "door-in"
    exit_door: str | None = None
    #: RFID reader covering the exit zone: its unpaid tags keep the exit shut.
    exit_reader: str | None = None
    #: rfid_box: the counter's RFID reader and the kiosk that shows the bill and QR.
    counter_reader: str | None = None
    counter_kiosk: str | None = None
    #: exit_gate: the vestibule name (doors with ``vestibule = ...`` and ``side``) and
    #: the RFID reader inside it.
    vestibule: str | None = None
    vestibule_reader: str | None = None
    #: exit_gate: the counter camera over the vestibule (kind ``camera`` with ``items``):
    #: bills what has no readable tag, and flags its own unsure counts for review.
    vestibule_camera: str | None = None
    #: Camera whose face matches open sessions for enrolled members (vision consent).
    face_camera: str | None = None

    #: Public keys (raw Ed25519, base64) that sign entry tokens, by key id. HQ can add
    #: more through the cloud inbox (change type ``entry_key``).
    entry_keys: dict[str, str] = Field(default_factory=dict)
    #: Clock skew allowed when checking a token's ``exp``/``iat``.
    token_leeway_s: float = Field(default=30.0, ge=0, le=600)
    #: Most people one session (a family) lets in.
    max_party: int = Field(default=6, ge=1, le=20)
    #: A session still open after this long raises an alert and is closed for review.
    session_timeout_s: float = Field(default=3 * 3600.0, gt=0)
    #: A bill whose confidence is below this goes to the review queue before charging.
    review_threshold: float = Field(default=0.9, gt=0, le=1)
    #: Seconds ``open`` keeps a door open for a shopper.
    open_seconds: int = Field(default=5, ge=1, le=60)

    # -- timing of evidence
    #: Weaker reads (dBm) are cross-reads from beyond the reader's zone: ignored.
    min_rssi: float = Field(default=-65.0, ge=-120, le=0)
    #: Reads of an RFID reader count as "in the zone now" for this long.
    zone_window_s: float = Field(default=2.0, gt=0, le=30)
    #: After an exit request, reads are awaited this long before deciding.
    exit_read_wait_s: float = Field(default=0.3, ge=0, le=5)
    #: rfid_box: the counter bills once no new tag was read for this long.
    counter_settle_s: float = Field(default=0.8, gt=0, le=10)
    #: grab_and_go: a weight change and a camera detection of one slot within this
    #: many seconds are one pick.
    fuse_window_s: float = Field(default=0.8, gt=0, le=10)
    #: grab_and_go: a shopper who stepped away from a shelf this recently still counts
    #: as standing there.
    presence_grace_s: float = Field(default=0.5, ge=0, le=10)

    @model_validator(mode="after")
    def _check(self) -> UnmannedConfig:
        if not self.enabled:
            return self
        need: dict[Model, tuple[str, ...]] = {
            "rfid_box": ("exit_door", "exit_reader", "counter_reader"),
            "exit_gate": ("vestibule", "vestibule_reader"),
            "grab_and_go": ("exit_door",),
        }
        missing = [k for k in need[self.model] if not getattr(self, k)]
        if missing:
            raise ValueError(f"model {self.model!r} needs {', '.join(missing)}")
        return self
