from __future__ import annotations

from devices.base import Driver as BaseDriver
from devices.esl_ap.codec import CODEC
from devices.esl_ap.config import EslApConfig


class Driver(BaseDriver[EslApConfig]):
    """Contract-speaking: the labels' logic (queues, retries, health) is in ``hub/esl``."""

    kind = "esl_ap"
    config_model = EslApConfig
    codec = CODEC
