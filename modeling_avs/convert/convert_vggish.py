"""torchvggish (`vggish-10086976.pth`) → [`VGGishModel`]."""

from __future__ import annotations

from pathlib import Path

import torch

from ..configuration_vggish import VGGishConfig
from ..modeling_vggish import VGGishModel
from .checkpoint_io import load_converted_state_dict, load_original_checkpoint, rename_keys

VGGISH_PCA_KEYS = {"pca_eigen_vectors", "pca_means"}


def vggish_rules(source_prefix: str = "", target_prefix: str = "") -> list[tuple[str, str]]:
    """torchvggish keys `features.{i}.*` / `embeddings.{i}.*` keep their names; only prefixes change."""
    src = source_prefix.replace(".", r"\.")
    return [(rf"{src}((?:features|embeddings)\.\d+\.(?:weight|bias))", rf"{target_prefix}\1")]


def convert_vggish_state_dict(original: dict[str, torch.Tensor], target_prefix: str = "") -> dict[str, torch.Tensor]:
    """Convert a torchvggish state dict; the AudioSet PCA parameters, if present, become `[128]`/`[128,128]` buffers."""
    weights = {k: v for k, v in original.items() if k not in VGGISH_PCA_KEYS}
    converted = rename_keys(weights, vggish_rules(target_prefix=target_prefix), "VGGish checkpoint")
    if "pca_means" in original:
        converted[f"{target_prefix}pca_eigen_vectors"] = original["pca_eigen_vectors"]
        converted[f"{target_prefix}pca_means"] = original["pca_means"].reshape(-1)
    return converted


def convert_vggish_checkpoint(checkpoint: str | Path, output_dir: str | Path) -> VGGishModel:
    """Convert a torchvggish checkpoint, load it strictly into a [`VGGishModel`] and `save_pretrained` it."""
    original = load_original_checkpoint(checkpoint)
    model = VGGishModel(VGGishConfig(postprocess="pca_means" in original))
    load_converted_state_dict(model, convert_vggish_state_dict(original))
    model.save_pretrained(output_dir)
    return model
