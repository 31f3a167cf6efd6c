"""The original implementations' order of computation, on this package's models (the benchmarks' reference paths).

Every function computes the same logits as the package's forward (checked by `forward_speed.py`), but the way the
original code does: AVSBench's literal `M × M` TPAVI affinity with the audio broadcast to every pixel and 1×1×1
Conv3d embeddings, PVT-v2 attention with explicit softmax scores, the decoder and mask head at full resolution
with the upsampled maps built; AVSegFormer's stacked-sample deformable attention (transformers' reference),
key/value projections of every pixel in the mixer, per-query mask maps followed by a 1×1-conv MLP in NCHW, the
mask head at full resolution. Weights are the model's own, so the same model serves both paths.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from transformers.models.deformable_detr.modeling_deformable_detr import (
    MultiScaleDeformableAttention as TransformersMultiScaleDeformableAttention,
)

from modeling_avs import AVSBenchForAudioVisualSegmentation, AVSegFormerForAudioVisualSegmentation
from modeling_avs.deformable_attention import register_deformable_attention_kernel
from modeling_avs.modeling_avsbench import AVSBenchTPAVIBlock
from modeling_avs.modeling_avsegformer import AVSegFormerCrossModalMixer, AVSegFormerMaskMLP
from modeling_avs.pvt_v2_attention import PvtV2FusedSelfAttention

# ----------------------------------------------------------------------------------------------- shared pieces


@contextlib.contextmanager
def explicit_backbone_attention(backbone: torch.nn.Module) -> Iterator[None]:
    """PVT-v2 attention as the original `pvt.py`: `softmax(q kᵀ · scale) v` with the score matrix built."""
    fused_timm = [module for module in backbone.modules() if getattr(module, "fused_attn", False)]
    fused_transformers = [module for module in backbone.modules() if isinstance(module, PvtV2FusedSelfAttention)]
    for module in fused_timm:
        module.fused_attn = False
    for module in fused_transformers:
        module.__class__ = PvtV2FusedSelfAttention.__mro__[1]
    try:
        yield
    finally:
        for module in fused_timm:
            module.fused_attn = True
        for module in fused_transformers:
            module.__class__ = PvtV2FusedSelfAttention


def original_mask_head(head: torch.nn.Sequential, features: torch.Tensor) -> torch.Tensor:
    """The original `output_conv` / `fc`: the `nn.Sequential` applied layer by layer at full resolution."""
    for layer in head:
        features = layer(features)
    return features


# ----------------------------------------------------------------------------------------------------- AVSBench


def original_tpavi(block: AVSBenchTPAVIBlock, visual: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """TPAVI as the original `TPAVI.py` (`mode="dot"`): `[B, C, T, h, w]` visual, `[B, T, 128]` audio."""
    batch, _, frames, height, width = visual.shape
    inter_channels = block.g.out_channels
    aligned = block.audio_proj(audio)  # align_channel
    audio_map = aligned.permute(0, 2, 1)[..., None, None].repeat(1, 1, 1, height, width)
    g = block.g(visual).view(batch, inter_channels, -1).permute(0, 2, 1)
    theta = block.theta(visual).view(batch, inter_channels, -1).permute(0, 2, 1)
    phi = block.phi(audio_map).view(batch, inter_channels, -1)
    affinity = torch.matmul(theta, phi)
    affinity = affinity / affinity.size(-1)
    y = torch.matmul(affinity, g).permute(0, 2, 1).contiguous().view(batch, inter_channels, frames, height, width)
    z = block.output_norm(block.output_conv(y)) + visual
    return block.layer_norm(z.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)


def original_residual_unit(unit, features: torch.Tensor) -> torch.Tensor:
    """`ResidualConvUnit` with its in-place ReLU (the skip connection sees the ReLU'd input)."""
    features = F.relu_(features)
    return unit.conv2(F.relu(unit.conv1(features))) + features


def original_fusion_block(block, features: torch.Tensor, lateral: torch.Tensor | None = None) -> torch.Tensor:
    if lateral is not None:
        features += original_residual_unit(block.residual_unit1, lateral)
    features = original_residual_unit(block.residual_unit2, features)
    return F.interpolate(features, scale_factor=2, mode="bilinear", align_corners=True)


def original_avsbench_logits(
    model: AVSBenchForAudioVisualSegmentation, pixel_values: torch.Tensor, input_features: torch.Tensor
) -> torch.Tensor:
    """`Pred_endecoder.forward` (+ the separate VGGish of the original): logits `[N, 1, H, W]`."""
    frames = model.config.num_frames
    audio = model.audio_encoder(input_features).audio_embeds
    with explicit_backbone_attention(model.backbone):
        stage_maps = model.backbone(pixel_values).feature_maps
    feature_maps = []
    for features, projection in zip(stage_maps, model.stage_projections):
        output = projection.branches[0](features)
        for branch in projection.branches[1:]:
            output += branch(features)
        feature_maps.append(output)
    for stage in sorted(model.config.tpavi_stages):
        features = feature_maps[stage]
        _, channels, height, width = features.shape
        fused = torch.zeros_like(features)
        video = features.reshape(-1, frames, channels, height, width).permute(0, 2, 1, 3, 4).contiguous()
        video = original_tpavi(model.tpavi_blocks[str(stage)], video, audio.view(-1, frames, audio.shape[-1]))
        fused += video.permute(0, 2, 1, 3, 4).reshape(-1, channels, height, width)
        fused /= 1  # the original averages over the enabled TPAVI variants (only audio-visual here)
        feature_maps[stage] = fused
    decoded = original_fusion_block(model.fusion_blocks[-1], feature_maps[-1])
    for stage in range(len(feature_maps) - 2, -1, -1):
        decoded = original_fusion_block(model.fusion_blocks[stage], decoded, feature_maps[stage])
    return original_mask_head(model.mask_head, decoded)


# -------------------------------------------------------------------------------------------------- AVSegFormer


def transformers_kernel(value, spatial_shapes, sampling_locations, attention_weights):
    shapes = torch.tensor(spatial_shapes, device=value.device)
    return TransformersMultiScaleDeformableAttention()(
        value, shapes, spatial_shapes, None, sampling_locations, attention_weights, 64
    )


def original_mixer(self, mask_features, audio):
    """Original order: project keys and values of every pixel, attend, gate."""
    batch, channels, height, width = mask_features.shape
    head_dim = channels // self.num_heads
    pixels = mask_features.flatten(2).transpose(1, 2)
    keys, values = self.kv_proj(pixels).view(batch, -1, 2, self.num_heads, head_dim).permute(2, 0, 3, 1, 4)
    query = self.q_proj(audio).view(batch, self.num_heads, 1, head_dim)
    attention = (query @ keys.transpose(-1, -2) * head_dim**-0.5).softmax(dim=-1)
    gate = torch.sigmoid(self.proj((attention @ values).reshape(batch, channels)))
    return mask_features * gate[:, :, None, None]


def original_mask_mlp(self, queries, pixels):
    """Original order: per-query mask maps `[N, Q, H, W]`, then 1×1 convolutions in NCHW."""
    num_frames, num_pixels, channels = pixels.shape
    side = int(num_pixels**0.5)
    features = pixels.transpose(1, 2).reshape(num_frames, channels, side, side)
    hidden = torch.einsum("bqc,bchw->bqhw", queries, features)
    for index, layer in enumerate(self.layers):
        hidden = F.conv2d(hidden, layer.weight[:, :, None, None], layer.bias)
        hidden = F.relu(hidden) if index < len(self.layers) - 1 else hidden
    return hidden.flatten(2).transpose(1, 2)


@contextlib.contextmanager
def original_avsegformer(model: AVSegFormerForAudioVisualSegmentation) -> Iterator[None]:
    """Switch `model` (and its classes, while inside) to the original order of computation."""
    register_deformable_attention_kernel("transformers-reference", transformers_kernel)
    saved = model.config.deformable_attention_implementation
    for layer in model.encoder.layers:
        layer.self_attn.implementation = "transformers-reference"
    AVSegFormerCrossModalMixer.forward, mixer_forward = original_mixer, AVSegFormerCrossModalMixer.forward
    AVSegFormerMaskMLP.forward, mlp_forward = original_mask_mlp, AVSegFormerMaskMLP.forward
    head_forward = type(model.mask_head).forward
    type(model.mask_head).forward = original_mask_head
    try:
        with explicit_backbone_attention(model.backbone):
            yield
    finally:
        type(model.mask_head).forward = head_forward
        AVSegFormerCrossModalMixer.forward, AVSegFormerMaskMLP.forward = mixer_forward, mlp_forward
        for layer in model.encoder.layers:
            layer.self_attn.implementation = saved
