"""Real photos that installed packages ship (no download): the faces the face pipeline is
tested and benchmarked on.  Typed wrappers: scikit-image and matplotlib's sample-data
helpers are untyped."""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Image8 = NDArray[np.uint8]


def _skimage(name: str) -> Image8:
    data: Any = importlib.import_module("skimage.data")
    return np.asarray(getattr(data, name)(), dtype=np.uint8)


@cache
def astronaut() -> Image8:
    """Eileen Collins, NASA portrait (public domain), from scikit-image."""
    return _skimage("astronaut")


@cache
def coffee() -> Image8:
    """A cup of coffee: a real photo with no face in it (scikit-image)."""
    return _skimage("coffee")


@cache
def grace_hopper() -> Image8:
    """Grace Hopper's portrait, from matplotlib's sample data."""
    cbook: Any = importlib.import_module("matplotlib.cbook")
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"), dtype=np.uint8)
