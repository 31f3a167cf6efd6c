"""Multi-scale deformable attention (Deformable DETR, Zhu et al. 2021) in pure PyTorch, with a seam for kernels."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

DeformableAttentionKernel = Callable[[torch.Tensor, list[tuple[int, int]], torch.Tensor, torch.Tensor], torch.Tensor]


def multi_scale_deformable_attention(
    value: torch.Tensor,
    spatial_shapes: list[tuple[int, int]],
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
) -> torch.Tensor:
    """
    Weighted sum of bilinearly sampled values (`grid_sample`, zero padding, `align_corners=False`), the function
    computed by Deformable DETR's `MSDeformAttn` CUDA op and its PyTorch fallback.

    Samples are laid out `(points, queries)` so that `grid_sample` runs along the long query axis, and levels and
    points are accumulated in place, so the `(B·heads, head_dim, Lq, levels·points)` stack of samples of the
    reference fallback is never materialised (same result up to float summation order).

    Args:
        value (`torch.FloatTensor` of shape `(B, L, heads, head_dim)`): values of all levels, L = Σ H_l·W_l.
        spatial_shapes (`list[tuple[int, int]]`): `(H_l, W_l)` of each level, in the order of `value`.
        sampling_locations (`torch.FloatTensor` of shape `(B, Lq, heads, levels, points, 2)`):
            Normalised `(x, y)` locations, (0, 0) = top-left corner and (1, 1) = bottom-right corner of a map.
        attention_weights (`torch.FloatTensor` of shape `(B, Lq, heads, levels, points)`): weights of the samples.

    Returns:
        `torch.FloatTensor` of shape `(B, Lq, heads·head_dim)`.
    """
    batch, _, num_heads, head_dim = value.shape
    _, num_queries, _, _, num_points, _ = sampling_locations.shape
    level_values = value.split([height * width for height, width in spatial_shapes], dim=1)
    # [B, Lq, heads, levels, points, 2] -> [levels, B·heads, points, Lq, 2]
    grids = (2 * sampling_locations - 1).permute(3, 0, 2, 4, 1, 5).flatten(1, 2)
    # [B, Lq, heads, levels, points] -> [levels, B·heads, points, 1, Lq]
    weights = attention_weights.permute(3, 0, 2, 4, 1).flatten(1, 2).unsqueeze(3)
    output = value.new_zeros(batch * num_heads, head_dim, num_queries)
    for level, (height, width) in enumerate(spatial_shapes):
        # [B, H·W, heads, d] -> [B·heads, d, H, W]
        level_value = level_values[level].permute(0, 2, 3, 1).reshape(batch * num_heads, head_dim, height, width)
        sampled = F.grid_sample(
            level_value, grids[level], mode="bilinear", padding_mode="zeros", align_corners=False
        )  # [B·heads, d, points, Lq]
        for point in range(num_points):
            output = output.addcmul_(sampled[:, :, point], weights[level, :, point])
    return output.view(batch, num_heads * head_dim, num_queries).transpose(1, 2)


DEFORMABLE_ATTENTION_KERNELS: dict[str, DeformableAttentionKernel] = {"pytorch": multi_scale_deformable_attention}


def register_deformable_attention_kernel(name: str, kernel: DeformableAttentionKernel) -> None:
    """
    Make `kernel` selectable with `config.deformable_attention_implementation = name` (e.g. a compiled CUDA op).
    It must accept the arguments of [`multi_scale_deformable_attention`] and return the same function of them.
    """
    if name == "pytorch":
        raise ValueError("the name 'pytorch' is reserved for the built-in implementation")
    DEFORMABLE_ATTENTION_KERNELS[name] = kernel


def get_deformable_attention_kernel(name: str) -> DeformableAttentionKernel:
    if name not in DEFORMABLE_ATTENTION_KERNELS:
        raise ValueError(
            f"unknown deformable attention implementation {name!r}; registered: {sorted(DEFORMABLE_ATTENTION_KERNELS)} "
            "(add one with `register_deformable_attention_kernel`)"
        )
    return DEFORMABLE_ATTENTION_KERNELS[name]


class DeformableSamplingOffsets(nn.Linear):
    """
    The `hidden → heads·levels·points·2` projection predicting sampling offsets. Its own class so that the model
    initialises it at the leaf level (zero weight, directional bias, see [`DeformableSamplingOffsets.initial_bias`]).
    """

    def __init__(self, hidden_size: int, num_heads: int, num_levels: int, num_points: int):
        super().__init__(hidden_size, num_heads * num_levels * num_points * 2)
        self.num_heads = num_heads
        self.num_levels = num_levels
        self.num_points = num_points

    def initial_bias(self) -> torch.Tensor:
        """Deformable DETR's init: head h looks in direction 2πh/heads (on the unit square), point p at p+1 pixels."""
        angles = torch.arange(self.num_heads, dtype=torch.float32) * (2.0 * math.pi / self.num_heads)
        directions = torch.stack([angles.cos(), angles.sin()], dim=-1)
        directions = directions / directions.abs().max(dim=-1, keepdim=True).values
        scales = torch.arange(1, self.num_points + 1, dtype=torch.float32)
        offsets = directions[:, None, None, :] * scales[None, None, :, None]
        return offsets.expand(self.num_heads, self.num_levels, self.num_points, 2).reshape(-1)


class DeformableAttentionWeights(nn.Linear):
    """The `hidden → heads·levels·points` projection of the sample weights (zero-initialised: uniform weights)."""


class MultiScaleDeformableAttention(nn.Module):
    """
    Deformable DETR's `MSDeformAttn`: each query predicts `points` sampling offsets per head and level around its
    reference point (offsets in pixels of the level, i.e. divided by `(W_l, H_l)`) and softmax weights over the
    `levels·points` samples of each head.
    """

    def __init__(
        self, hidden_size: int, num_heads: int, num_levels: int, num_points: int, implementation: str = "pytorch"
    ):
        super().__init__()
        self.num_heads = num_heads
        self.num_levels = num_levels
        self.num_points = num_points
        self.implementation = implementation
        self.sampling_offsets = DeformableSamplingOffsets(hidden_size, num_heads, num_levels, num_points)
        self.attention_weights = DeformableAttentionWeights(hidden_size, num_heads * num_levels * num_points)
        self.value_proj = nn.Linear(hidden_size, hidden_size)
        self.output_proj = nn.Linear(hidden_size, hidden_size)

    def forward(
        self,
        hidden_states: torch.Tensor,
        reference_points: torch.Tensor,
        value_states: torch.Tensor,
        spatial_shapes: list[tuple[int, int]],
    ) -> torch.Tensor:
        """
        Args:
            hidden_states (`torch.FloatTensor` of shape `(B, Lq, C)`): queries (with position embeddings).
            reference_points (`torch.FloatTensor` of shape `(B or 1, Lq, levels, 2)`): normalised `(x, y)`.
            value_states (`torch.FloatTensor` of shape `(B, L, C)`): flattened maps of all levels.
            spatial_shapes (`list[tuple[int, int]]`): `(H_l, W_l)` of each level.

        Returns:
            `torch.FloatTensor` of shape `(B, Lq, C)`.
        """
        batch, num_queries, channels = hidden_states.shape
        if len(spatial_shapes) != self.num_levels or sum(h * w for h, w in spatial_shapes) != value_states.shape[1]:
            raise ValueError(
                f"spatial_shapes {spatial_shapes} do not describe {self.num_levels} levels of the "
                f"{value_states.shape[1]} value tokens"
            )
        value = self.value_proj(value_states).view(batch, -1, self.num_heads, channels // self.num_heads)
        offsets = self.sampling_offsets(hidden_states).view(
            batch, num_queries, self.num_heads, self.num_levels, self.num_points, 2
        )
        weights = self.attention_weights(hidden_states).view(batch, num_queries, self.num_heads, -1).softmax(dim=-1)
        weights = weights.view(batch, num_queries, self.num_heads, self.num_levels, self.num_points)
        normalizer = torch.tensor(
            [[width, height] for height, width in spatial_shapes], dtype=offsets.dtype, device=offsets.device
        )
        locations = reference_points[:, :, None, :, None, :] + offsets / normalizer[None, None, None, :, None, :]
        kernel = get_deformable_attention_kernel(self.implementation)
        return self.output_proj(kernel(value, spatial_shapes, locations, weights))


__all__ = [
    "DeformableAttentionWeights",
    "DeformableSamplingOffsets",
    "MultiScaleDeformableAttention",
    "multi_scale_deformable_attention",
    "register_deformable_attention_kernel",
    "get_deformable_attention_kernel",
]
