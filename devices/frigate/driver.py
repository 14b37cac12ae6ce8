from __future__ import annotations

import itertools
from collections.abc import Sequence

from pydantic import BaseModel

from devices.base import Driver as BaseDriver
from devices.frigate import codec
from devices.frigate.config import FrigateConfig


class Driver(BaseDriver[FrigateConfig]):
    """Subscribes to a Frigate NVR's ``events`` and ``tracked_object_update`` topics."""

    kind = "frigate"
    config_model = FrigateConfig
    codec = codec.CODEC

    def __init__(self, config: FrigateConfig) -> None:
        super().__init__(config)
        # Frigate numbers nothing; the payloads' ``seq`` counts what this hub decoded.
        self._seq = itertools.count()

    def subscriptions(self) -> Sequence[str]:
        return codec.topics(self.config)

    def decode_foreign(self, topic: str, payload: bytes) -> Sequence[tuple[str, BaseModel]]:
        return codec.decode(self.config, topic, payload, next(self._seq))
