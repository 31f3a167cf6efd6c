"""Fused (`scaled_dot_product_attention`) self-attention for transformers' PVT-v2 backbone."""

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


__all__ = ["PvtV2FusedSelfAttention", "use_fused_pvt_v2_attention"]
