"""Inference-friendly PVT-v2 backbones: fused self-attention for transformers' PVT-v2, channels-last token convs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers.models.pvt_v2.modeling_pvt_v2 import PvtV2SelfAttention


class PvtV2FusedSelfAttention(PvtV2SelfAttention):
    """
    [`PvtV2SelfAttention`] with the softmax attention computed by `F.scaled_dot_product_attention` (one fused
    kernel instead of materialising the `[B, heads, L, L_reduced]` scores). Same parameters and function; the
    attention probabilities are only built when they are asked for (`output_attentions=True`).
    """

    def forward(
        self, hidden_states: torch.Tensor, height: int, width: int, output_attentions: bool = False
    ) -> tuple[torch.Tensor, ...]:
        if output_attentions or self.linear_attention:
            return super().forward(hidden_states, height, width, output_attentions)
        batch_size, seq_len, num_channels = hidden_states.shape
        query = self.transpose_for_scores(self.query(hidden_states))
        if self.spatial_reduction_ratio > 1:
            reduced = hidden_states.transpose(1, 2).reshape(batch_size, num_channels, height, width)
            hidden_states = self.layer_norm(self.spatial_reduction(reduced).flatten(2).transpose(1, 2))
        key = self.transpose_for_scores(self.key(hidden_states))
        value = self.transpose_for_scores(self.value(hidden_states))
        context = F.scaled_dot_product_attention(
            query, key, value, dropout_p=self.attn_drop.p if self.training else 0.0
        )
        context = context.transpose(1, 2).reshape(batch_size, seq_len, num_channels)
        return (self.proj_drop(self.proj(context)),)


def use_fused_pvt_v2_attention(backbone: nn.Module) -> nn.Module:
    """Switch every [`PvtV2SelfAttention`] of `backbone` to [`PvtV2FusedSelfAttention`] in place (no new weights)."""
    for module in backbone.modules():
        if type(module) is PvtV2SelfAttention:
            module.__class__ = PvtV2FusedSelfAttention
    return backbone


# Convolutions of PVT-v2 (timm and transformers) that read the token sequence `[B, H·W, C]` viewed as a map, i.e. a
# channels-last `[B, C, H, W]`: the MLP's depth-wise conv and the attention's spatial reduction.
TOKEN_MAP_CONVOLUTIONS = ("dwconv", "attn.sr", "attention.spatial_reduction")


def use_channels_last_token_convolutions(backbone: nn.Module) -> nn.Module:
    """
    Store the weights of the convolutions that read token maps (see `TOKEN_MAP_CONVOLUTIONS`) channels-last, the
    layout of their input, so that they run without converting the input to NCHW and back (same values).
    """
    for name, module in backbone.named_modules():
        if isinstance(module, nn.Conv2d) and name.endswith(TOKEN_MAP_CONVOLUTIONS):
            weight = module.weight.data
            if weight.shape[1] == 1:
                # Depth-wise: both layouts hold the same bytes, and PyTorch reads such a weight as contiguous
                # (NCHW), then converts the input to NCHW. Channels-last strides on the size-1 axis say otherwise.
                kernel_height, kernel_width = weight.shape[2:]
                strides = (kernel_height * kernel_width, 1, kernel_width, 1)
                module.weight.data = weight.contiguous().as_strided(weight.shape, strides)
            else:
                module.weight.data = weight.contiguous(memory_format=torch.channels_last)
    return backbone


__all__ = ["PvtV2FusedSelfAttention", "use_channels_last_token_convolutions", "use_fused_pvt_v2_attention"]
