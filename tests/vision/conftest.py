"""Shared fixtures of the vision tests: a running journal, real photos packages ship."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hub.journal import Journal
from simulators.vision.photos import astronaut, coffee, grace_hopper

__all__ = ["astronaut", "coffee", "grace_hopper", "journal", "jpeg"]


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    j = Journal(tmp_path / "hub.db")
    await j.open()
    task = asyncio.create_task(j.run())
    yield j
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    j.close()


def jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()
