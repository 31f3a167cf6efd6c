"""The AVSBench-Robust classifier-guided similarity head, shared by every architecture."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SIMILARITY_TYPES = ("cosine", "euclidean", "concat")
# Initial temperature t of a learnable pair logit `t·s + b` (SigLIP's initialisation): the cosine's range [-1, 1]
# becomes [-10, 10], so the BCE can make confident decisions; b starts at 0.
LEARNABLE_SCALE_INIT = 10.0


class AudioVisualSimilarityHead(nn.Module):
    """
    Scores whether the audio belongs to the frame. The audio embedding is projected to the channels of the last
    visual stage, the stage map is global-average pooled, and the two vectors are compared:

    - `"cosine"` (paper default): `s = cos(W a + b, GAP(v))`, in [-1, 1];
    - `"euclidean"`: `s = -||W a + b - GAP(v)||_2`;
    - `"concat"`: `s = MLP([W a + b, GAP(v)])` with an MLP 2C→256→128→1 (ReLU, dropout 0.1).

    With `learnable_scale`, the output is the pair logit `t·s + b` with a learnable temperature `t = exp(logit_scale)`
    and bias `b = logit_bias` (as SigLIP's sigmoid loss): the paper's `sigmoid(s)` of a cosine can never leave
    [0.27, 0.73], which keeps the pair BCE from ever being confident; the calibrated logit can be.

    The module is named `audio_proj` inside so that the robust AVSegFormer checkpoint key
    `cosine_sim.audio_proj.*` maps onto it one to one.
    """

    def __init__(
        self,
        audio_dim: int,
        visual_dim: int,
        similarity_type: str = "cosine",
        dropout: float = 0.1,
        learnable_scale: bool = False,
    ):
        super().__init__()
        if similarity_type not in SIMILARITY_TYPES:
            raise ValueError(f"`similarity_type` must be one of {SIMILARITY_TYPES}, got {similarity_type!r}.")
        self.similarity_type = similarity_type
        self.audio_proj = nn.Linear(audio_dim, visual_dim)
        if learnable_scale:
            self.logit_scale = nn.Parameter(torch.empty(()))
            self.logit_bias = nn.Parameter(torch.empty(()))
        if similarity_type == "concat":
            self.classifier = nn.Sequential(
                nn.Linear(2 * visual_dim, 256),
                nn.ReLU(),
                nn.Dropout(dropout),
                nn.Linear(256, 128),
                nn.ReLU(),
                nn.Dropout(dropout),
                nn.Linear(128, 1),
            )

    def forward(self, audio_embeds: torch.Tensor, visual_features: torch.Tensor) -> torch.Tensor:
        """
        Args:
            audio_embeds (`torch.FloatTensor` of shape `(N, audio_dim)`): one audio embedding per frame.
            visual_features (`torch.FloatTensor` of shape `(N, visual_dim, h, w)`): last backbone stage.

        Returns:
            `torch.FloatTensor` of shape `(N,)`: the pair logit, the similarity `s` itself (paper) or `t·s + b`.
        """
        audio = self.audio_proj(audio_embeds)
        visual = visual_features.mean(dim=(2, 3))
        if self.similarity_type == "cosine":
            similarity = F.cosine_similarity(audio, visual, dim=1, eps=1e-8)
        elif self.similarity_type == "euclidean":
            similarity = -torch.linalg.vector_norm(audio - visual, dim=1)
        else:
            similarity = self.classifier(torch.cat([audio, visual], dim=1)).squeeze(1)
        if hasattr(self, "logit_scale"):
            return self.logit_scale.exp() * similarity + self.logit_bias
        return similarity


def presence_gated_logits(logits: torch.Tensor, pair_logits: torch.Tensor) -> torch.Tensor:
    """
    Mask logits scaled by the frame's presence score inside the model (`config.presence_gating`, our extension, in
    the spirit of SAM 2's object score): the pixel probability becomes `sigmoid(m) · sigmoid(p)`, returned as its
    logit. A frame whose pair logit `p` is below 0 has every pixel below 0.5, so its mask is empty; a confident
    positive frame (`sigmoid(p)` near 1) keeps its mask. Differentiable in both, so the mask loss also trains `p`.

    Args:
        logits (`torch.FloatTensor` of shape `(N, 1, H, W)`): mask logits `m`.
        pair_logits (`torch.FloatTensor` of shape `(N,)`): the similarity head's pair logits `p`.

    Returns:
        `torch.FloatTensor` of shape `(N, 1, H, W)`: `logit(sigmoid(m) · sigmoid(p))`.
    """
    log_probability = F.logsigmoid(logits) + F.logsigmoid(pair_logits).view(-1, 1, 1, 1)
    # log(1 - q) from log q, stable for q near 0 (log1p) and near 1 (expm1); q < 1 strictly for finite inputs.
    tiny = torch.finfo(log_probability.dtype).tiny
    log_complement = torch.log((-torch.expm1(log_probability)).clamp(min=tiny))
    return log_probability - log_complement


def similarity_gate(similarity: torch.Tensor, gate_threshold: float | None) -> torch.Tensor:
    """
    The frames whose masks the robust recipe keeps: those whose correspondence score `sigmoid(similarity)` is at
    least `gate_threshold` (`config.inference_gate_threshold`); every frame when it is None.

    Args:
        similarity (`torch.FloatTensor` of shape `(N,)`): output of [`AudioVisualSimilarityHead`].
        gate_threshold (`float`, *optional*): threshold on `sigmoid(similarity)`, in [0, 1].

    Returns:
        `torch.BoolTensor` of shape `(N,)`, True for the kept frames.
    """
    if gate_threshold is None:
        return torch.ones(similarity.shape, dtype=torch.bool, device=similarity.device)
    return torch.sigmoid(similarity) >= gate_threshold


def gate_logits(logits: torch.Tensor, similarity: torch.Tensor, gate_threshold: float | None) -> torch.Tensor:
    """
    `logits` `(N, 1, H, W)` with the frames outside [`similarity_gate`] emptied (set to the lowest finite value, so
    that their probabilities are 0); `logits` itself when `gate_threshold` is None.
    """
    if gate_threshold is None:
        return logits
    gated = logits.clone()
    gated[~similarity_gate(similarity, gate_threshold)] = torch.finfo(gated.dtype).min
    return gated


def similarity_loss(similarity: torch.Tensor, pair_labels: torch.Tensor, positive_weight: float = 1.0) -> torch.Tensor:
    """
    `BCE(sigmoid(similarity), pair_labels)` averaged over frames, computed stably from the logit; with
    `positive_weight` != 1 the positive pairs' terms are weighted by it (a class-balance weight: the recipe's pairs
    are mostly positive).

    Args:
        similarity (`torch.FloatTensor` of shape `(N,)`): output of [`AudioVisualSimilarityHead`].
        pair_labels (`torch.Tensor` of shape `(N,)`): 1 for an aligned (positive) pair, 0 for a negative.
        positive_weight (`float`): weight of the positive pairs' terms (negatives weigh 1).
    """
    targets = pair_labels.to(similarity.dtype)
    weight = None if positive_weight == 1.0 else 1.0 + (positive_weight - 1.0) * targets
    return F.binary_cross_entropy_with_logits(similarity, targets, weight=weight)


__all__ = [
    "AudioVisualSimilarityHead",
    "LEARNABLE_SCALE_INIT",
    "SIMILARITY_TYPES",
    "gate_logits",
    "presence_gated_logits",
    "similarity_gate",
    "similarity_loss",
]
