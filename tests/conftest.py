"""Shared fixtures: tiny model configurations, tiny saved models, and the optional `../shared` reference material."""

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"
PARITY_DIR = SHARED_DIR / "reference" / "parity"


@pytest.fixture
def isolated_datasets_cache(tmp_path, monkeypatch):
    """Keep the `datasets` cache of a test out of the user's cache (`datasets` keys local folders by name)."""
    monkeypatch.setattr("datasets.config.HF_DATASETS_CACHE", str(tmp_path / "hf_cache"))


@pytest.fixture
def parity_dir() -> Path:
    """`../shared/reference/parity` (reference fixtures of the original implementations); skips when absent."""
    if not PARITY_DIR.is_dir():
        pytest.skip("../shared/reference/parity is not available (fresh clone)")
    return PARITY_DIR


def tiny_backbone_config():
    from transformers import PvtV2Config

    return PvtV2Config(
        depths=[1, 1, 1, 1],
        hidden_sizes=[8, 16, 32, 64],
        num_attention_heads=[1, 1, 2, 2],
        out_features=["stage1", "stage2", "stage3", "stage4"],
    )


def tiny_vggish_config():
    from modeling_avs import VGGishConfig

    return VGGishConfig(conv_channels=[4, 4, 8, 8, 8, 8], hidden_sizes=[16, 16])


def tiny_avsbench_config(**overrides):
    from modeling_avs import AVSBenchConfig

    kwargs = {
        "backbone_config": tiny_backbone_config(),
        "audio_config": tiny_vggish_config(),
        "hidden_size": 16,
        "tpavi_inter_channels": 8,
        "num_frames": 2,
    }
    kwargs.update(overrides)
    return AVSBenchConfig(**kwargs)


@pytest.fixture
def seeded():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def tiny_avs_model_factory(tmp_path_factory):
    """
    `make(name, mask_bias=None, gate_threshold=None) -> Path`: save a tiny AVSBench-TPAVI model and its processor
    (64² frames) once per name. `mask_bias` overrides the bias of the last mask convolution (a large value makes
    every pixel foreground); `gate_threshold` sets `config.inference_gate_threshold`.
    """
    from modeling_avs import (
        AVSBenchForAudioVisualSegmentation,
        AVSImageProcessor,
        AVSProcessor,
        VGGishFeatureExtractor,
    )

    made: dict[str, Path] = {}

    def make(name: str, mask_bias: float | None = None, gate_threshold: float | None = None) -> Path:
        if name in made:
            return made[name]
        torch.manual_seed(0)
        config = tiny_avsbench_config(num_frames=5, inference_gate_threshold=gate_threshold)
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
