"""Shared fixtures of the vision tests: a running journal, real photos packages ship."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from simulators.vision.photos import astronaut, coffee, grace_hopper

__all__ = ["astronaut", "coffee", "grace_hopper", "jpeg"]


def jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()
