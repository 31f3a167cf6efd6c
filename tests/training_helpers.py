"""Tiny model and data shared by the training tests."""

from __future__ import annotations

from transformers import PvtV2Config

from modeling_avs import VGGishConfig
from modeling_avs.data import make_synthetic_dataset

TINY_IMAGE_SIZE = 32


def tiny_model_config(**overrides) -> dict:
    """Architecture fields of a TPAVI model small enough for a few CPU steps per second."""
    config = {
        "backbone_config": PvtV2Config(
            depths=[1, 1, 1, 1],
            hidden_sizes=[8, 16, 32, 64],
            num_attention_heads=[1, 1, 2, 2],
            out_features=["stage1", "stage2", "stage3", "stage4"],
        ).to_dict(),
        "audio_config": VGGishConfig(conv_channels=[4, 4, 8, 8, 8, 8], hidden_sizes=[16, 16]).to_dict(),
        "hidden_size": 16,
        "tpavi_inter_channels": 8,
    }
    config.update(overrides)
    return config


def tiny_dataset(train_videos: int = 8, evaluation_videos: int = 2, seed: int = 0):
    """An in-memory synthetic S4 benchmark at 32×32."""
    sizes = {"train": train_videos, "validation": evaluation_videos, "test": evaluation_videos}
    return make_synthetic_dataset("s4", num_videos=sizes, image_size=TINY_IMAGE_SIZE, seed=seed)
