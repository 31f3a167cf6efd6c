"""Output dataclasses shared by every audio-visual segmentation architecture of the package."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput


@dataclass
class AudioVisualSegmentationOutput(ModelOutput):
    """
    Output of every `*ForAudioVisualSegmentation` model. N = B·T frames (B videos of T frames).

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` or `pair_labels` are given):
            `segmentation_loss + similarity_loss_weight * similarity_loss` (each term present only when its
            targets are given).
        logits (`torch.FloatTensor` of shape `(N, 1, H, W)`):
            Mask logits at the input resolution; `sigmoid(logits) > 0.5` is the predicted sounding-object mask.
        similarity (`torch.FloatTensor` of shape `(N,)`):
            Audio-visual similarity `s` of the robust classifier head (cosine in [-1, 1] by default);
            `sigmoid(s)` is the audio-visual correspondence score trained with `BCE(sigmoid(s), pair_labels)`.
        segmentation_loss (`torch.FloatTensor` of shape `()`, *optional*):
            The architecture's mask loss on the frames selected by `label_mask`.
        similarity_loss (`torch.FloatTensor` of shape `()`, *optional*):
            `BCE(sigmoid(similarity), pair_labels)`, averaged over frames.
        audio_embeds (`torch.FloatTensor` of shape `(N, 128)`):
            Audio embeddings (VGGish output or the `audio_embeds` given to `forward`).
        mask_features (`torch.FloatTensor` of shape `(N, C, h, w)`, *optional*):
            Architecture-specific mask feature map (AVSegFormer: the audio-gated mask feature).
        hidden_states (`tuple(torch.FloatTensor)`, *optional*, returned with `output_hidden_states=True`):
            Backbone feature maps, one `(N, C_i, H_i, W_i)` tensor per stage.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    similarity: torch.FloatTensor | None = None
    segmentation_loss: torch.FloatTensor | None = None
    similarity_loss: torch.FloatTensor | None = None
    audio_embeds: torch.FloatTensor | None = None
    mask_features: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None


__all__ = ["AudioVisualSegmentationOutput"]
