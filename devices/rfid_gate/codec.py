"""Wire payloads of the ``rfid_gate`` kind (contract v1). Pure: no I/O."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from devices.base import Codec, CommandArgs, WirePayload


class TagRead(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    epc: str = Field(pattern=r"^[0-9A-Fa-f]{4,124}$")
    antenna: int = Field(ge=0)
    rssi: float
    ts: float


class Reads(WirePayload):
    reads: list[TagRead] = Field(max_length=5000)


class Alarm(CommandArgs):
    pattern: Literal["theft", "attention"] = "theft"
    seconds: int = Field(default=5, ge=1, le=300)


CODEC = Codec(events={"reads": Reads}, commands={"alarm": Alarm})
