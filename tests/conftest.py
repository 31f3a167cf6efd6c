"""Shared fixtures: tiny model configurations and the optional `../shared` reference material."""

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"
PARITY_DIR = SHARED_DIR / "reference" / "parity"


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
