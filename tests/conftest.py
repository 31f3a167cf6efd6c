"""Shared fixtures: tiny saved AVS models (model + processor folders) for the inference tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_avs_model_factory(tmp_path_factory):
    """
    `make(name, mask_bias=None, gate_threshold=None) -> Path`: save a tiny AVSBench-TPAVI model and its processor
    (64² frames) once per name. `mask_bias` overrides the bias of the last mask convolution (a large value makes
    every pixel foreground); `gate_threshold` sets `config.inference_gate_threshold`.
    """
    import torch
    from transformers import PvtV2Config

    from modeling_avs import (
        AVSBenchConfig,
        AVSBenchForAudioVisualSegmentation,
        AVSImageProcessor,
        AVSProcessor,
        VGGishConfig,
        VGGishFeatureExtractor,
    )

    made: dict[str, Path] = {}

    def make(name: str, mask_bias: float | None = None, gate_threshold: float | None = None) -> Path:
        if name in made:
            return made[name]
        torch.manual_seed(0)
        config = AVSBenchConfig(
            backbone_config=PvtV2Config(
                depths=[1, 1, 1, 1],
                hidden_sizes=[8, 16, 32, 64],
                num_attention_heads=[1, 1, 2, 2],
                out_features=["stage1", "stage2", "stage3", "stage4"],
            ),
            audio_config=VGGishConfig(conv_channels=[4, 4, 8, 8, 8, 8], hidden_sizes=[16, 16]),
            hidden_size=16,
            tpavi_inter_channels=8,
            inference_gate_threshold=gate_threshold,
        )
        model = AVSBenchForAudioVisualSegmentation(config).eval()
        if mask_bias is not None:
            with torch.no_grad():
                model.mask_head[-1].weight.zero_()
                model.mask_head[-1].bias.fill_(mask_bias)
        folder = tmp_path_factory.mktemp(f"tiny_avs_{name}")
        model.save_pretrained(folder)
        AVSProcessor(AVSImageProcessor(size={"height": 64, "width": 64}), VGGishFeatureExtractor()).save_pretrained(
            folder
        )
        made[name] = folder
        return folder

    return make


@pytest.fixture(scope="session")
def tiny_avs_model_dir(tiny_avs_model_factory) -> Path:
    """A tiny randomly initialised AVSBench-TPAVI model + processor folder (config.num_frames = 5)."""
    return tiny_avs_model_factory("random")
