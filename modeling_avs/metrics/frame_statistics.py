"""Per-frame sufficient statistics of the AVSBench(-Robust) metrics (mIoU, F-score, FPR).

A frame is reduced to a few integer counts from which every score of the benchmark can be computed without keeping
its mask:

* at the 0.5 operating point of `mask_iou` and `calculate_FPR` (predicted foreground = p > 0.5): the intersection
  with the ground truth, the number of predicted-positive pixels and the number of ground-truth pixels (the union
  and the true negatives follow);
* for the 255 thresholds of `Eval_Fmeasure` (`torch.linspace(0, 1 - 1e-10, 255)` in float32, foreground = p >= t):
  the number of predicted-positive pixels and of true positives per threshold.

The per-threshold counts are obtained in one pass per frame: every pixel gets the index k = #{t : threshold_t <= p}
of its threshold bucket (with its ground-truth bit) and one `bincount` gives the histogram of the frame; counts
"p >= threshold_t" are reverse cumulative sums of that histogram. The bucket index is first estimated with float32
arithmetic, `floor(p * 254) + 1`; this estimate can only be wrong when `p * 254` rounds to (or just below) an
integer, so those rare pixels are re-bucketed exactly with `searchsorted` against the thresholds. The result is
identical, pixel for pixel, to comparing against each threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

NUM_THRESHOLDS = 255
INPUT_TYPES = ("logits", "probabilities", "binary")

# `linspace(0, 1 - 1e-10, 255)` in float32 has thresholds[127] == 0.5 exactly, so "p > 0.5" is "bucket >= 128 and
# p != 0.5"; pixels with p == 0.5 get their own bins (one per ground-truth bit) after the 256 x 2 bucket bins.
_HALF_BUCKET = 128
_NUM_BUCKETS = NUM_THRESHOLDS + 1
_BINS_PER_FRAME = 2 * _NUM_BUCKETS + 2
# `floor(p * 254) + 1` is exact unless p * 254 (float32) is an integer or within a few ulps below one.
_NEAR_INTEGER_MARGIN = 2.0**-14
# frames are processed in chunks of about this many pixels to bound the temporary memory (and keep the float32
# codes below 2**24)
_CHUNK_PIXELS = 2**22


def fmeasure_thresholds(device: torch.device | str | None = None) -> torch.Tensor:
    """The 255 thresholds of AVSBench's `Eval_Fmeasure`: `torch.linspace(0, 1 - 1e-10, 255)` in float32.

    In float32 `1 - 1e-10` rounds to 1.0, so the last threshold is exactly 1.0 and only p == 1 passes it.
    """
    return torch.linspace(0, 1 - 1e-10, NUM_THRESHOLDS, dtype=torch.float32).to(device)


@dataclass
class FrameStatistics:
    """Integer counts of N frames; all tensors are on the CPU.

    Attributes:
        num_pixels (`torch.LongTensor` of shape `[N]`): H * W of each frame.
        intersection (`torch.LongTensor` of shape `[N]`): pixels with p > 0.5 inside the ground truth.
        predicted_positives (`torch.LongTensor` of shape `[N]`): pixels with p > 0.5.
        ground_truth_positives (`torch.LongTensor` of shape `[N]`): ground-truth foreground pixels.
        threshold_true_positives (`torch.IntTensor` of shape `[N, 255]`): pixels with p >= threshold_t inside the
            ground truth.
        threshold_predicted_positives (`torch.IntTensor` of shape `[N, 255]`): pixels with p >= threshold_t.
    """

    num_pixels: torch.Tensor
    intersection: torch.Tensor
    predicted_positives: torch.Tensor
    ground_truth_positives: torch.Tensor
    threshold_true_positives: torch.Tensor
    threshold_predicted_positives: torch.Tensor

    def __len__(self) -> int:
        return self.num_pixels.shape[0]

    @property
    def union(self) -> torch.Tensor:
        """`[N]` pixels in the predicted (p > 0.5) or the ground-truth foreground."""
        return self.predicted_positives + self.ground_truth_positives - self.intersection

    @property
    def true_negatives(self) -> torch.Tensor:
        """`[N]` pixels outside both the prediction (p > 0.5) and the ground truth."""
        return self.num_pixels - self.union

    def select(self, index: torch.Tensor | slice) -> FrameStatistics:
        """The statistics of the frames picked by `index` (a slice, a boolean mask or indices of shape `[N]`)."""
        return FrameStatistics(**{name: value[index] for name, value in vars(self).items()})

    @classmethod
    def concatenate(cls, parts: Sequence[FrameStatistics]) -> FrameStatistics:
        """Concatenate the frames of `parts` (at least one) in order."""
        if not parts:
            raise ValueError("FrameStatistics.concatenate needs at least one part")
        return cls(**{name: torch.cat([vars(part)[name] for part in parts]) for name in vars(parts[0])})


def _as_frames(tensor: torch.Tensor, name: str) -> torch.Tensor:
    """Return `tensor` of shape `[N, H, W]` or `[N, 1, H, W]` as `[N, H * W]`."""
    if tensor.dim() == 4 and tensor.shape[1] == 1:
        tensor = tensor[:, 0]
    if tensor.dim() != 3:
        raise ValueError(f"{name} must have shape [N, H, W] or [N, 1, H, W], got {tuple(tensor.shape)}")
    return tensor.reshape(tensor.shape[0], -1)


def prediction_probabilities(predictions: torch.Tensor, input_type: str) -> torch.Tensor:
    """Map predictions to float32 foreground probabilities p in [0, 1] (same shape).

    Args:
        predictions (`torch.Tensor`): mask logits, probabilities or binary masks, any shape.
        input_type (`str`): `"logits"` (p = sigmoid, as in AVSBench), `"probabilities"` (used as they are; must lie
            in [0, 1]) or `"binary"` (a value > 0.5 is foreground, so {0, 1}, {0, 255} and booleans all work).
    """
    if input_type not in INPUT_TYPES:
        raise ValueError(f"input_type must be one of {INPUT_TYPES}, got {input_type!r}")
    if input_type == "binary":
        return (predictions > 0.5).float()
    probabilities = predictions.float()
    if input_type == "logits":
        probabilities = torch.sigmoid(probabilities)
    if torch.isnan(probabilities).any():
        raise ValueError("predictions contain NaN")
    if input_type == "probabilities":
        if probabilities.numel() and (probabilities.min() < 0 or probabilities.max() > 1):
            raise ValueError(
                "predictions with input_type='probabilities' must lie in [0, 1]; pass input_type='logits' for logits"
            )
        probabilities = probabilities + 0.0  # turns -0.0 into +0.0, whose bucket is that of 0
    return probabilities


def compute_frame_statistics(
    predictions: torch.Tensor, references: torch.Tensor, input_type: str = "logits"
) -> FrameStatistics:
    """Reduce N frames to their `FrameStatistics`.

    Args:
        predictions (`torch.Tensor` of shape `[N, H, W]` or `[N, 1, H, W]`): logits, probabilities or binary masks,
            as declared by `input_type` (see `prediction_probabilities`). Any device; the work happens there, in
            chunks of about `_CHUNK_PIXELS` pixels.
        references (`torch.Tensor` of the same shape): ground-truth masks; a value > 0.5 is foreground (so {0, 1},
            {0, 255} and booleans all work).
        input_type (`str`): `"logits"`, `"probabilities"` or `"binary"`; never guessed.
    """
    flat_predictions = _as_frames(predictions, "predictions")
    flat_references = _as_frames(references, "references")
    if flat_predictions.shape != flat_references.shape:
        raise ValueError(
            f"predictions and references must have the same shape, got {tuple(predictions.shape)} and "
            f"{tuple(references.shape)}"
        )
    num_frames, num_pixels = flat_predictions.shape
    if num_pixels >= 2**31:
        raise ValueError(f"frames of {num_pixels} pixels are too large (at most 2**31 - 1)")
    frames_per_chunk = max(1, _CHUNK_PIXELS // max(num_pixels, 1))
    parts = [
        _chunk_statistics(
            prediction_probabilities(flat_predictions[start : start + frames_per_chunk], input_type),
            flat_references[start : start + frames_per_chunk] > 0.5,
        )
        for start in range(0, max(num_frames, 1), frames_per_chunk)
    ]
    return FrameStatistics.concatenate(parts)


def _chunk_statistics(probabilities: torch.Tensor, ground_truth: torch.Tensor) -> FrameStatistics:
    """`FrameStatistics` of probabilities `[n, P]` (float32) and boolean ground truth `[n, P]`."""
    num_frames, num_pixels = probabilities.shape
    scaled = probabilities * (NUM_THRESHOLDS - 1)
    codes = scaled.floor()
    fraction = scaled - codes
    near_integer = (fraction == 0) | (fraction > 1 - _NEAR_INTEGER_MARGIN)
    # code = 2 * bucket + ground-truth bit + frame offset, with bucket = floor(p * 254) + 1 (exact in float32)
    frame_offsets = torch.arange(num_frames, device=codes.device, dtype=codes.dtype)[:, None] * _BINS_PER_FRAME
    codes = codes.mul_(2).add_(ground_truth.to(codes.dtype).add_(frame_offsets + 2)).long()
    size = num_frames * _BINS_PER_FRAME
    histogram = torch.bincount(codes.view(-1), minlength=size)

    near_indices = near_integer.view(-1).nonzero().squeeze(1)
    if near_indices.numel():
        near_probabilities = probabilities.view(-1)[near_indices]
        # p = 0 and p = 1 are common (binary masks, saturated sigmoids) and their estimate is exact.
        keep = (near_probabilities != 0) & (near_probabilities != 1)
        near_indices, near_probabilities = near_indices[keep], near_probabilities[keep]
        old_codes = codes.view(-1)[near_indices]
        buckets = torch.searchsorted(fmeasure_thresholds(codes.device), near_probabilities, right=True)
        new_codes = old_codes - old_codes % _BINS_PER_FRAME + 2 * buckets + old_codes % 2
        new_codes[near_probabilities == 0.5] += 2 * (_NUM_BUCKETS - _HALF_BUCKET)
        histogram += torch.bincount(new_codes, minlength=size) - torch.bincount(old_codes, minlength=size)

    histogram = histogram.view(num_frames, _BINS_PER_FRAME).cpu()
    buckets = histogram[:, : 2 * _NUM_BUCKETS].view(num_frames, _NUM_BUCKETS, 2).clone()
    above_half = buckets[:, _HALF_BUCKET:].sum(1)  # p > 0.5, by ground-truth bit
    buckets[:, _HALF_BUCKET] += histogram[:, 2 * _NUM_BUCKETS :]  # p == 0.5 passes the thresholds <= 0.5
    # pixels with p >= threshold_t are those of the buckets t + 1 .. 255
    at_least = buckets[:, 1:].flip(1).cumsum(1).flip(1)
    return FrameStatistics(
        num_pixels=torch.full((num_frames,), num_pixels, dtype=torch.long),
        intersection=above_half[:, 1],
        predicted_positives=above_half.sum(1),
        ground_truth_positives=buckets[:, :, 1].sum(1),
        threshold_true_positives=at_least[:, :, 1].int(),
        threshold_predicted_positives=at_least.sum(2).int(),
    )
