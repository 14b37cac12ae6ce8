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
