from __future__ import annotations

from devices.base import Driver as BaseDriver
from devices.shelf.codec import CODEC
from devices.shelf.config import ShelfConfig


class Driver(BaseDriver[ShelfConfig]):
    kind = "shelf"
    config_model = ShelfConfig
    codec = CODEC
