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

Global scores (paper Table 2) are over exactly the three standard negative conditions `NEGATIVE_CONDITIONS`
(silence, noise, off-screen): mIoU_N, F_N and G-FPR are the means of those conditions' mIoU, F-score and FPR (each
condition weighs the same, whatever its number of frames; under `"legacy"` each condition's legacy value), and
G-mIoU = 2 mIoU_P (1 - mIoU_N) / (mIoU_P + 1 - mIoU_N), G-F likewise with F_P and F_N. In the original code every
condition scores the same test videos, so this mean equals the pooled score there; with unequal frame counts it
does not, and the mean is the paper's definition ("the mean of the three"). When only some of the three are
present, the means are over those present (`global_negatives` names them); with none, or without the positive
condition, the G-metrics are NaN. A NaN condition score (e.g. an F-score without any non-empty ground truth)
makes its mean NaN.

Every other non-positive condition (the `unseen:<clip>` clips, or any extra name) is reported per condition and
summarised apart, never in the G-metrics: `unseen` holds the means of its conditions' mIoU, F-score and FPR.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from ..data.schema import CONDITIONS, NEGATIVE_CONDITIONS, POSITIVE_CONDITION
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


def _mean(conditions: Mapping[str, dict], names: list[str], key: str) -> float:
    """Mean of the score `key` over the conditions `names` (NaN without any)."""
    return sum(conditions[name][key] for name in names) / len(names) if names else math.nan


def robust_scores(
    statistics: Mapping[str, FrameStatistics],
    protocol: str = "dataset",
    batch_index: Mapping[str, torch.Tensor] | None = None,
) -> dict:
    """Per-condition, global and unseen-condition AVSBench-Robust scores (see the module docstring).

    Args:
        statistics (`Mapping[str, FrameStatistics]`): frames of each condition, in the order of the report.
            `"positive"` is the positive condition, `"silence"`, `"noise"` and `"offscreen"` the standard negative
            ones (the G-metrics), every other name an extra negative one (e.g. `"unseen:<clip>"`).
        protocol (`str`): `"dataset"` or `"legacy"`.
        batch_index (`Mapping[str, torch.LongTensor]`, *optional*): evaluation batch of each frame per condition,
            required by `"legacy"`.

    Returns:
        `dict` with
        - `protocol`;
        - `conditions`: `{name: {miou, fscore, fpr, num_frames}}` for every condition;
        - `global`: `miou_p`, `f_p` (the positive condition), `miou_n`, `f_n` (means over the standard negatives
          present), `g_miou`, `g_f` and `g_fpr` (mean FPR of those negatives); NaN without the positive condition
          or without any standard negative (`g_fpr`, `miou_n`, `f_n` need only the negatives);
        - `global_negatives`: the standard negatives present, which the global scores average (`NEGATIVE_CONDITIONS`
          order);
        - `unseen`: `{miou, fscore, fpr, num_conditions}`, the means over the other negative conditions (NaN, 0
          without any), excluded from `global`.
        Scores are fractions in [0, 1].
    """
    batch_index = batch_index or {}
    conditions = {name: condition_scores(stats, protocol, batch_index.get(name)) for name, stats in statistics.items()}
    negatives = [name for name in NEGATIVE_CONDITIONS if name in conditions]
    unseen = [name for name in conditions if name not in CONDITIONS]
    positive = conditions.get(POSITIVE_CONDITION, {"miou": math.nan, "fscore": math.nan})
    summary = {
        "miou_p": positive["miou"],
        "f_p": positive["fscore"],
        "miou_n": _mean(conditions, negatives, "miou"),
        "f_n": _mean(conditions, negatives, "fscore"),
    }
    summary["g_miou"] = g_score(summary["miou_p"], summary["miou_n"])
    summary["g_f"] = g_score(summary["f_p"], summary["f_n"])
    summary["g_fpr"] = _mean(conditions, negatives, "fpr")
    return {
        "protocol": protocol,
        "conditions": conditions,
        "global": summary,
        "global_negatives": negatives,
        "unseen": {key: _mean(conditions, unseen, key) for key in ("miou", "fscore", "fpr")}
        | {"num_conditions": len(unseen)},
    }
