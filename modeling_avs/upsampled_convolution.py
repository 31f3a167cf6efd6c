"""A 3×3 convolution of a bilinearly upsampled map computed at the lower resolution, and the mask head built on it."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn


@functools.lru_cache(maxsize=32)
def shifted_interpolation_matrices(
    in_size: int, out_size: int, align_corners: bool, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """
    The 1-D bilinear resampling `in_size → out_size` (as `F.interpolate(mode="linear")`) as matrices shifted by the
    three taps of a 3×3 kernel along that axis: `A[s + 1][y] = A[y + s]` for `s ∈ {-1, 0, 1}`, zero where `y + s`
    leaves the output (the convolution's zero padding).

    Returns:
        `torch.Tensor` of shape `(3, out_size, in_size)`, built in float64. Cached (do not modify); created outside
        inference mode so that autograd can use it.
    """
    with torch.inference_mode(False):
        identity = torch.eye(in_size, dtype=torch.float64)[None]
        matrix = F.interpolate(identity, size=out_size, mode="linear", align_corners=align_corners)[0].T
        shifted = torch.zeros(3, out_size, in_size, dtype=torch.float64)
        shifted[0, 1:], shifted[1], shifted[2, :-1] = matrix[:-1], matrix, matrix[1:]
        return shifted.to(device, dtype)


def upsampled_conv3x3(
    features: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    scale_factor: int,
    align_corners: bool,
) -> torch.Tensor:
    """
    `F.conv2d(F.interpolate(x, scale_factor=scale_factor, mode="bilinear", align_corners=align_corners), weight,
    bias, padding=1)` without building the upsampled map, on channel-major maps (`x = features.transpose(0, 1)`).

    Bilinear upsampling is linear and separable, `up(x) = A_h x A_wᵀ`, so each of the nine taps of the kernel
    commutes with it: `conv(up(x)) = Σ_{dy,dx} A_{h,dy} (W_{dy,dx} x) A_{w,dx}ᵀ` with `A_{·,s}` the interpolation
    matrix shifted by the tap. The channel mixing `W_{dy,dx} x` (all nine taps, one matmul) runs at the input
    resolution, i.e. `scale_factor²` times fewer multiply-adds than the convolution at the output resolution, and
    the resampling becomes matmuls along the columns, then the rows, in the layouts the previous step leaves (no
    copies). Same function up to float rounding.

    Args:
        features (`torch.FloatTensor` of shape `(C_in, N, H, W)`): channel-major map before upsampling.
        weight (`torch.FloatTensor` of shape `(C_out, C_in, 3, 3)`): the convolution's kernel (stride 1, padding 1).
        bias (`torch.FloatTensor` of shape `(C_out,)`, *optional*).
        scale_factor (`int`): integer upsampling factor of both sides.
        align_corners (`bool`): `align_corners` of the upsampling.

    Returns:
        `torch.FloatTensor` of shape `(C_out, N, scale_factor·H, scale_factor·W)`, contiguous (channel-major).
    """
    if weight.shape[-2:] != (3, 3):
        raise ValueError(f"upsampled_conv3x3 needs a 3×3 kernel, got {tuple(weight.shape[-2:])}")
    in_channels, batch, height, width = features.shape
    out_channels = weight.shape[0]
    out_height, out_width = height * scale_factor, width * scale_factor
    rows = shifted_interpolation_matrices(height, out_height, align_corners, features.dtype, features.device)
    cols = shifted_interpolation_matrices(width, out_width, align_corners, features.dtype, features.device)
    maps = out_channels * batch

    # [dy, dx, (C_out, N, H), W]: every tap's channel mixing at the input resolution.
    taps = weight.permute(2, 3, 0, 1).reshape(9 * out_channels, in_channels)
    mixed = torch.mm(taps, features.reshape(in_channels, -1)).view(3, 3, maps * height, width)
    # Columns: [dy, (C_out, N, H), W_out] = Σ_dx mixed[dy, dx] A_{w,dx}ᵀ
    upsampled_cols = torch.bmm(mixed[:, 0], cols[0].T.expand(3, -1, -1))
    for dx in (1, 2):
        upsampled_cols.baddbmm_(mixed[:, dx], cols[dx].T.expand(3, -1, -1))
    # Rows: [(C_out, N), H_out, W_out] = Σ_dy A_{h,dy} upsampled_cols[dy]
    upsampled_cols = upsampled_cols.view(3, maps, height, out_width)
    output = torch.matmul(rows[0], upsampled_cols[0])
    for dy in (1, 2):
        output.baddbmm_(rows[dy].expand(maps, -1, -1), upsampled_cols[dy])
    output = output.view(out_channels, batch, out_height, out_width)
    return output if bias is None else output.add_(bias[:, None, None, None])


class UpsamplingMaskHead(nn.Sequential):
    """
    The mask head of both architectures: Conv3×3(C → c1) → bilinear ×`scale_factor` (`align_corners=False`) →
    Conv3×3(c1 → c2) → ReLU → Conv1×1(c2 → 1) (AVSBench's `output_conv`, AVSegFormer's `fc`). Layer indices 0, 2
    and 4 hold the weights, as in the original checkpoints.

    The convolution after the upsampling runs at the lower resolution with [`upsampled_conv3x3`]; so does the first
    one when the caller hands over its input before a last upsampling (`input_upsampling`, AVSBench's decoder).
    """

    def __init__(
        self, in_channels: int, head_channels: int, output_channels: int, scale_factor: int, last_bias: bool = True
    ):
        super().__init__(
            nn.Conv2d(in_channels, head_channels, kernel_size=3, padding=1),
            nn.Upsample(scale_factor=scale_factor, mode="bilinear", align_corners=False),
            nn.Conv2d(head_channels, output_channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(output_channels, 1, kernel_size=1, bias=last_bias),
        )

    def forward(self, features: torch.Tensor, input_upsampling: tuple[int, bool] | None = None) -> torch.Tensor:
        """
        Args:
            features (`torch.FloatTensor` of shape `(N, C, h, w)`): the map to decode.
            input_upsampling (`tuple[int, bool]`, *optional*): `(scale_factor, align_corners)` of a bilinear
                upsampling to apply to `features` first.

        Returns:
            Logits `(N, 1, s·h', s·w')` with `h' = h` (or `h·scale_factor` of `input_upsampling`), `s` the head's
            upsampling factor.
        """
        first, upsample, second, activation, last = self
        if input_upsampling is None:
            hidden = first(features).transpose(0, 1).contiguous()
        else:
            hidden = features.transpose(0, 1).contiguous()
            hidden = upsampled_conv3x3(hidden, first.weight, first.bias, *input_upsampling)
        scale_factor, align_corners = int(upsample.scale_factor), upsample.align_corners
        hidden = activation(upsampled_conv3x3(hidden, second.weight, second.bias, scale_factor, align_corners))
        channels, batch, height, width = hidden.shape
        logits = torch.mm(last.weight.view(1, channels), hidden.view(channels, -1))
        if last.bias is not None:
            logits = logits + last.bias[:, None]
        return logits.view(1, batch, height, width).transpose(0, 1)


__all__ = ["UpsamplingMaskHead", "shifted_interpolation_matrices", "upsampled_conv3x3"]
