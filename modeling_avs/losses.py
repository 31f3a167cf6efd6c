"""Segmentation losses of the original AVS recipes."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def dice_loss(logits: torch.Tensor, targets: torch.Tensor, smooth: float = 0.001) -> torch.Tensor:
    """
    AVSegFormer's Dice loss, `1 - 2·Σpg / (Σp² + smooth + Σg² + smooth)` per sample on `p = sigmoid(logits)`,
    averaged over samples. On an empty target the numerator is 0, so the loss is exactly 1 and gives no gradient.

    Args:
        logits (`torch.FloatTensor` of shape `(N, ...)`): mask logits.
        targets (`torch.FloatTensor` of shape `(N, ...)`): 0/1 masks with as many elements per sample.
    """
    probabilities = torch.sigmoid(logits).flatten(1)
    targets = targets.flatten(1).to(probabilities.dtype)
    numerator = 2 * (probabilities * targets).sum(dim=1)
    denominator = probabilities.pow(2).sum(dim=1) + smooth + targets.pow(2).sum(dim=1) + smooth
    return (1 - numerator / denominator).mean()


def masked_av_kl_loss(
    logits: torch.Tensor,
    stage_features: list[torch.Tensor],
    audio_features: list[torch.Tensor],
    normalize_features: bool = False,
) -> torch.Tensor:
    """
    AVSBench MS3 audio-visual map-matching loss (`sa_loss`, KL variant), averaged over stages. For a stage map
    `F_s` `(N, C, h, w)`: `m = sigmoid(avgpool_{h,w}(logits))`, `v = mean_{h,w}(relu(F_s) · m)`, `a` the stage's
    audio feature `(N, C)`; `KL(softmax(a) || softmax(v))` summed over frames and channels.
    The ReLU reproduces the original, whose decoder's in-place ReLU modified the maps before the loss saw them.

    Args:
        logits (`torch.FloatTensor` of shape `(N, 1, H, W)`): mask logits.
        stage_features (list of `torch.FloatTensor` of shape `(N, C, h_s, w_s)`): TPAVI outputs.
        audio_features (list of `torch.FloatTensor` of shape `(N, C)`): aligned audio features of those stages.
        normalize_features (`bool`, *optional*, defaults to `False`): L2-normalise `a` and `v` over the channels
            first (the original's `norm_fea_flag`, which the released MS3 `train.sh` never passes; normalised,
            the term is orders of magnitude smaller).
    """
    losses = []
    for features, audio in zip(stage_features, audio_features, strict=True):
        mask = torch.sigmoid(F.adaptive_avg_pool2d(logits, features.shape[-2:]))
        visual = (F.relu(features) * mask).mean(dim=(2, 3))
        if normalize_features:
            visual, audio = F.normalize(visual, dim=1), F.normalize(audio, dim=1)
        losses.append(F.kl_div(F.log_softmax(visual, dim=1), F.softmax(audio, dim=1), reduction="sum"))
    return torch.stack(losses).mean()


__all__ = ["dice_loss", "masked_av_kl_loss"]
