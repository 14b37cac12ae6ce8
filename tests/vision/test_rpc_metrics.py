"""RPC counting scores (cAcc, ACD, mCCD, mCIoU) on hand-computed cases."""

from __future__ import annotations

import pytest

from vision.items.metrics import rpc_scores


def test_perfect_counts() -> None:
    s = rpc_scores([{"a": 2, "b": 1}, {"b": 3}], [{"a": 2, "b": 1}, {"b": 3}])
    assert (s.cacc, s.acd, s.mccd, s.mciou) == (1.0, 0.0, 0.0, 1.0)


def test_hand_computed() -> None:
    truth = [{"a": 2, "b": 1}, {"b": 2}]
    pred = [{"a": 1, "b": 1}, {"b": 2, "c": 1}]
    s = rpc_scores(pred, truth)
    assert s.cacc == 0.0  # neither image is exactly right
    assert s.acd == pytest.approx(1.0)  # (1 + 1) / 2
    # mCCD over SKUs that occur: a = 1/2, b = 0/3 → 0.25
    assert s.mccd == pytest.approx(0.25)
    # mCIoU: a = 1/2, b = 3/3, c = 0/1 → 0.5
    assert s.mciou == pytest.approx(0.5)


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="one entry per image"):
        rpc_scores([{}], [])
