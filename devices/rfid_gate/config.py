from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from devices.base import DeviceConfig


class RfidGateConfig(DeviceConfig):
    kind: Literal["rfid_gate"] = "rfid_gate"
    #: Antenna ports facing the inside of the store / the outside.
    inside_antennas: list[int] = Field(min_length=1)
    outside_antennas: list[int] = Field(min_length=1)
    #: An exit gate enforces the leaving-tag (unpaid item) rule.
    exit: bool = False
    #: ``contract`` = ``event/reads`` of the wire contract; ``zebra`` = Zebra IoT
    #: Connector JSON tag data events on ``data_topic``.
    format: Literal["contract", "zebra"] = "contract"
    data_topic: str | None = None

    # Gate logic (rules/gate.py, docs/rfid.md "Gate logic"); every one has a default.
    #: Reads of one tag within this many seconds are merged into one piece of evidence
    #: per antenna and side (count, peak RSSI); side and location are decided on it.
    merge_window_s: float = Field(default=1.0, gt=0, le=30)
    #: Reads on the new side (within the merge window) before a tag changes side.
    direction_min_reads: int = Field(default=1, ge=1, le=100)
    #: Reads on one side this much weaker (peak RSSI, dB) than on the other within the
    #: merge window are an echo (a cross-read), not the tag changing side. Set it to 100
    #: to take every inside-then-outside pair as leaving, however weak the outside read.
    echo_margin_db: float = Field(default=15.0, gt=0, le=100)
    #: Reads on the new antenna (within the merge window) before a tag has moved.
    moved_min_reads: int = Field(default=2, ge=1, le=100)
    #: A tag not read for this long has departed (and is forgotten).
    departed_after_s: float = Field(default=600.0, gt=0)
    #: A tag read on one side only for this long is lingering (reported once, no alarm).
    linger_after_s: float = Field(default=30.0, gt=0)
    #: Unpaid tags leaving within this many seconds of the previous one are one passage:
    #: one alarm, one alert listing them all.
    passage_gap_s: float = Field(default=3.0, gt=0, le=600)
    #: ``seconds`` of the ``alarm`` command; a passage still going on after it re-alarms.
    alarm_seconds: int = Field(default=5, ge=1, le=300)

    @model_validator(mode="after")
    def _check(self) -> RfidGateConfig:
        both = set(self.inside_antennas) & set(self.outside_antennas)
        if both:
            raise ValueError(f"antennas {sorted(both)} are both inside and outside")
        if self.format == "zebra" and not self.data_topic:
            raise ValueError("format = 'zebra' needs data_topic (the reader's data topic)")
        if self.data_topic and any(c in self.data_topic for c in "+#"):
            raise ValueError("data_topic must be a topic name, not a filter")
        return self
