"""Checkout by camera: detections in a frame → how many of each SKU lie on the counter.

A detection below ``min_score`` is not counted; a counted one below ``review_below``
flags the frame for a person to look at (DOMAIN: low confidence goes to a human
review queue, never to a silent wrong charge).
"""

from __future__ import annotations

from collections.abc import Sequence

from devices.camera.codec import ItemCount
from vision.items.detector import Detection


def count(
    detections: Sequence[Detection], *, min_score: float = 0.25, review_below: float = 0.5
) -> tuple[list[ItemCount], bool]:
    """Per-SKU counts (sorted by GTIN) and whether a person should review the frame."""
    per: dict[str, list[float]] = {}
    review = False
    for d in detections:
        if d.score < min_score:
            continue
        per.setdefault(d.gtin, []).append(d.score)
        review = review or d.score < review_below
    counts = [
        ItemCount(gtin=g.zfill(14), count=len(s), score=round(min(s), 4))
        for g, s in sorted(per.items())
    ]
    return counts, review


def as_dict(counts: Sequence[ItemCount]) -> dict[str, int]:
    return {c.gtin: c.count for c in counts}
