"""Counting scores of the RPC retail checkout benchmark (Wei et al., 2019). Pure.

For images i and SKUs k, with P the predicted and G the true count:

- **cAcc** — share of images whose counts are exactly right for every SKU;
- **ACD** — average counting distance: mean over images of Σ_k |P_ik − G_ik|;
- **mCCD** — mean category counting distance: mean over SKUs of
  Σ_i |P_ik − G_ik| / Σ_i G_ik (SKUs that never occur are left out);
- **mCIoU** — mean category IoU: mean over SKUs of Σ_i min(P_ik, G_ik) / Σ_i max(P_ik, G_ik).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

Counts = Mapping[str, int]


class RpcScores(BaseModel):
    model_config = ConfigDict(frozen=True)

    images: int
    cacc: float
    acd: float
    mccd: float
    mciou: float

    def line(self) -> str:
        return (
            f"cAcc {self.cacc:.1%}  ACD {self.acd:.2f}  mCCD {self.mccd:.3f}  "
            f"mCIoU {self.mciou:.1%}  ({self.images} images)"
        )


def rpc_scores(predicted: Sequence[Counts], truth: Sequence[Counts]) -> RpcScores:
    if len(predicted) != len(truth):
        raise ValueError("predicted and truth must have one entry per image")
    n = len(truth)
    if n == 0:
        return RpcScores(images=0, cacc=0.0, acd=0.0, mccd=0.0, mciou=0.0)
    skus = sorted({k for c in (*predicted, *truth) for k in c})
    exact = 0
    distance_sum = 0
    diff: dict[str, int] = dict.fromkeys(skus, 0)
    true_sum: dict[str, int] = dict.fromkeys(skus, 0)
    inter: dict[str, int] = dict.fromkeys(skus, 0)
    union: dict[str, int] = dict.fromkeys(skus, 0)
    for p, g in zip(predicted, truth, strict=True):
        d = 0
        for k in skus:
            pk, gk = p.get(k, 0), g.get(k, 0)
            d += abs(pk - gk)
            diff[k] += abs(pk - gk)
            true_sum[k] += gk
            inter[k] += min(pk, gk)
            union[k] += max(pk, gk)
        exact += d == 0
        distance_sum += d
    present = [k for k in skus if true_sum[k] > 0]
    mccd = sum(diff[k] / true_sum[k] for k in present) / len(present) if present else 0.0
    with_union = [k for k in skus if union[k] > 0]
    mciou = sum(inter[k] / union[k] for k in with_union) / len(with_union) if with_union else 1.0
    return RpcScores(images=n, cacc=exact / n, acd=distance_sum / n, mccd=mccd, mciou=mciou)
