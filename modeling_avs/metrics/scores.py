"""AVSBench-Robust scores (mIoU, F-score, FPR, G-mIoU, G-F, G-FPR) from `FrameStatistics`.

Per frame (AVSBench `mask_iou`, `Eval_Fmeasure` and the robust repo's `calculate_FPR`):

* IoU = |P ∩ G| / (|P ∪ G| + 1e-7) with P = {p > 0.5}; a frame with an empty ground truth scores the fraction of its
  pixels predicted background, TN / (H * W + 1e-7).
* F-curve: for each of the 255 thresholds, precision = TP / (#pred + 1e-20), recall = TP / (#GT + 1e-20),
  F = (1 + β²) P R / (β² P + R) with β² = 0.3 and 0/0 = 0. Frames with an empty ground truth have no F-curve.
* FPR = |P| / (H * W + 1e-7), the predicted-foreground area; it ignores the ground truth.

Two reductions of the frames of one condition:

* `"dataset"` (default, batch-independent): mIoU and FPR are means over frames; the F-score is the maximum over
  thresholds of the F-curve averaged over all frames with a non-empty ground truth (0 frames: NaN).
  Note that the first threshold is 0, at which every pixel is predicted foreground, so an empty prediction does
  not score F = 0: it scores the F-measure of the all-foreground mask (as in the original code).
* `"legacy"` (reproduces the published numbers): frames are grouped into evaluation batches and the score is the
  mean over batches of per-batch scores: mean IoU, mean FPR and the maximum over thresholds of the batch-mean
  F-curve (a batch without any non-empty ground truth scores F = 0, as in the original code). Pitfall: the
  threshold is re-optimised per batch, so the F-score depends on the batch size (with one video per batch it is a
  per-video oracle threshold) and so does, through a smaller last batch, the mIoU.

Global scores (paper Table 2): with mIoU_N and F_N the means over the negative conditions,
G-mIoU = 2 mIoU_P (1 - mIoU_N) / (mIoU_P + 1 - mIoU_N), G-F likewise, and G-FPR the FPR of all negative frames pooled
(the mean over all negative frames, or over all negative batches for `"legacy"`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from ..data.schema import POSITIVE_CONDITION
from .frame_statistics import FrameStatistics

PROTOCOLS = ("dataset", "legacy")
F_BETA_SQUARED = 0.3
IOU_EPSILON = 1e-7
FMEASURE_EPSILON = 1e-20


def frame_iou(statistics: FrameStatistics) -> torch.Tensor:
    """`[N]` float64 IoU of each frame at p > 0.5 (AVSBench `mask_iou`)."""
    empty = statistics.ground_truth_positives == 0
    numerator = torch.where(empty, statistics.true_negatives, statistics.intersection).double()
    denominator = torch.where(empty, statistics.num_pixels, statistics.union).double()
    return numerator / (denominator + IOU_EPSILON)


def frame_fpr(statistics: FrameStatistics) -> torch.Tensor:
    """`[N]` float64 fraction of each frame's pixels predicted foreground (p > 0.5)."""
    return statistics.predicted_positives.double() / (statistics.num_pixels.double() + IOU_EPSILON)


def frame_fmeasure_curves(statistics: FrameStatistics) -> torch.Tensor:
    """`[N, 255]` float64 F-measure (β² = 0.3) of each frame at each threshold (rows of empty-GT frames are unused)."""
    true_positives = statistics.threshold_true_positives.double()
    precision = true_positives / (statistics.threshold_predicted_positives.double() + FMEASURE_EPSILON)
    recall = true_positives / (statistics.ground_truth_positives.double()[:, None] + FMEASURE_EPSILON)
    curves = (1 + F_BETA_SQUARED) * precision * recall / (F_BETA_SQUARED * precision + recall)
    return torch.nan_to_num(curves, nan=0.0)


def condition_scores(
    statistics: FrameStatistics, protocol: str = "dataset", batch_index: torch.Tensor | None = None
) -> dict[str, float | int]:
    """Scores of the frames of one condition.

    Args:
        statistics (`FrameStatistics`): the N frames.
        protocol (`str`): `"dataset"` or `"legacy"` (see the module docstring).
        batch_index (`torch.LongTensor` of shape `[N]`, *optional*): evaluation batch of each frame, required by
            `"legacy"`; batches are numbered in any order, empty numbers are ignored.

    Returns:
        `dict` with `miou`, `fscore`, `fpr` (fractions in [0, 1], NaN without frames) and `num_frames`.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    num_frames = len(statistics)
    if num_frames == 0:
        return {"miou": math.nan, "fscore": math.nan, "fpr": math.nan, "num_frames": 0}
    iou, fpr = frame_iou(statistics), frame_fpr(statistics)
    non_empty = statistics.ground_truth_positives > 0
    curves = frame_fmeasure_curves(statistics) * non_empty[:, None]
    if protocol == "dataset":
        fscore = (curves.sum(0) / non_empty.sum()).max().item() if non_empty.any() else math.nan
        return {"miou": iou.mean().item(), "fscore": fscore, "fpr": fpr.mean().item(), "num_frames": num_frames}
    if batch_index is None or batch_index.shape != (num_frames,):
        raise ValueError("protocol='legacy' needs batch_index of shape [N] (one evaluation batch per frame)")
    _, batches = torch.unique(batch_index, return_inverse=True)
    num_batches = int(batches.max()) + 1

    def batch_sum(values: torch.Tensor) -> torch.Tensor:
        return torch.zeros((num_batches, *values.shape[1:]), dtype=values.dtype).index_add_(0, batches, values)

    frames_per_batch = batch_sum(torch.ones(num_frames, dtype=torch.float64))
    non_empty_per_batch = batch_sum(non_empty.double())
    batch_curves = batch_sum(curves) / non_empty_per_batch.clamp(min=1)[:, None]
    batch_fscores = torch.where(non_empty_per_batch > 0, batch_curves.max(1).values, 0.0)
    return {
        "miou": (batch_sum(iou) / frames_per_batch).mean().item(),
        "fscore": batch_fscores.mean().item(),
        "fpr": (batch_sum(fpr) / frames_per_batch).mean().item(),
        "num_frames": num_frames,
    }


def g_score(positive: float, negative: float) -> float:
    """Harmonic combination 2 p (1 - n) / (p + 1 - n) of a positive score p and a negative score n (0 if both 0)."""
    denominator = positive + 1 - negative
    return 2 * positive * (1 - negative) / denominator if denominator else 0.0


def robust_scores(
    statistics: Mapping[str, FrameStatistics],
    protocol: str = "dataset",
    batch_index: Mapping[str, torch.Tensor] | None = None,
) -> dict:
    """Per-condition and global AVSBench-Robust scores.

    Args:
        statistics (`Mapping[str, FrameStatistics]`): frames of each condition, in the order of the report.
            `"positive"` is the positive condition, every other name is a negative one.
        protocol (`str`): `"dataset"` or `"legacy"`.
        batch_index (`Mapping[str, torch.LongTensor]`, *optional*): evaluation batch of each frame per condition,
            required by `"legacy"`.

    Returns:
        `dict` with `protocol`, `conditions` (`{name: {miou, fscore, fpr, num_frames}}`) and `global`
        (`miou_p`, `f_p`, `miou_n`, `f_n`, `g_miou`, `g_f`, `g_fpr`; NaN when the positive or every negative
        condition is missing). Scores are fractions in [0, 1].
    """
    batch_index = batch_index or {}
    conditions = {name: condition_scores(stats, protocol, batch_index.get(name)) for name, stats in statistics.items()}
    negatives = [name for name in conditions if name != POSITIVE_CONDITION]
    positive = conditions.get(POSITIVE_CONDITION)
    summary = dict.fromkeys(("miou_p", "f_p", "miou_n", "f_n", "g_miou", "g_f", "g_fpr"), math.nan)
    if positive is not None:
        summary.update(miou_p=positive["miou"], f_p=positive["fscore"])
    if negatives:
        summary["miou_n"] = sum(conditions[name]["miou"] for name in negatives) / len(negatives)
        summary["f_n"] = sum(conditions[name]["fscore"] for name in negatives) / len(negatives)
        pooled_batches = None
        if protocol == "legacy":  # batches of different conditions must stay apart when pooled
            stride = 1 + max((int(batch_index[name].max()) for name in negatives if len(statistics[name])), default=0)
            pooled_batches = torch.cat([batch_index[name] + i * stride for i, name in enumerate(negatives)])
        pooled = FrameStatistics.concatenate([statistics[name] for name in negatives])
        summary["g_fpr"] = condition_scores(pooled, protocol, pooled_batches)["fpr"]
    if positive is not None and negatives:
        summary["g_miou"] = g_score(summary["miou_p"], summary["miou_n"])
        summary["g_f"] = g_score(summary["f_p"], summary["f_n"])
    return {"protocol": protocol, "conditions": conditions, "global": summary}
