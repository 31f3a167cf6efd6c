"""The AVSBench-Robust classifier-guided similarity head, shared by every architecture."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SIMILARITY_TYPES = ("cosine", "euclidean", "concat")


class AudioVisualSimilarityHead(nn.Module):
    """
    Scores whether the audio belongs to the frame. The audio embedding is projected to the channels of the last
    visual stage, the stage map is global-average pooled, and the two vectors are compared:

    - `"cosine"` (paper default): `s = cos(W a + b, GAP(v))`, in [-1, 1];
    - `"euclidean"`: `s = -||W a + b - GAP(v)||_2`;
    - `"concat"`: `s = MLP([W a + b, GAP(v)])` with an MLP 2C→256→128→1 (ReLU, dropout 0.1).

    The module is named `audio_proj` inside so that the robust AVSegFormer checkpoint key
    `cosine_sim.audio_proj.*` maps onto it one to one.
    """

    def __init__(self, audio_dim: int, visual_dim: int, similarity_type: str = "cosine", dropout: float = 0.1):
        super().__init__()
        if similarity_type not in SIMILARITY_TYPES:
            raise ValueError(f"`similarity_type` must be one of {SIMILARITY_TYPES}, got {similarity_type!r}.")
        self.similarity_type = similarity_type
        self.audio_proj = nn.Linear(audio_dim, visual_dim)
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
            `torch.FloatTensor` of shape `(N,)`: the similarity `s` (a logit for the pair label).
        """
        audio = self.audio_proj(audio_embeds)
        visual = visual_features.mean(dim=(2, 3))
        if self.similarity_type == "cosine":
            return F.cosine_similarity(audio, visual, dim=1, eps=1e-8)
        if self.similarity_type == "euclidean":
            return -torch.linalg.vector_norm(audio - visual, dim=1)
        return self.classifier(torch.cat([audio, visual], dim=1)).squeeze(1)


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


def similarity_loss(similarity: torch.Tensor, pair_labels: torch.Tensor) -> torch.Tensor:
    """
    `BCE(sigmoid(similarity), pair_labels)` averaged over frames, computed stably from the logit.

    Args:
        similarity (`torch.FloatTensor` of shape `(N,)`): output of [`AudioVisualSimilarityHead`].
        pair_labels (`torch.Tensor` of shape `(N,)`): 1 for an aligned (positive) pair, 0 for a negative.
    """
    return F.binary_cross_entropy_with_logits(similarity, pair_labels.to(similarity.dtype))


__all__ = ["AudioVisualSimilarityHead", "SIMILARITY_TYPES", "gate_logits", "similarity_gate", "similarity_loss"]
