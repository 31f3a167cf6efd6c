"""Original AVSBench TPAVI checkpoints (PVT-v2-b5, `Pred_endecoder`) → [`AVSBenchForAudioVisualSegmentation`].

The AVSBench segmentation checkpoints do not contain VGGish (the original always loads it separately from
`vggish-10086976.pth`), and no original TPAVI checkpoint has the robust similarity head: it keeps its
initialisation and must be trained (see `avs-robust train`).
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ..configuration_avsbench import AVSBenchConfig
from ..modeling_avsbench import AVSBenchForAudioVisualSegmentation
from .checkpoint_io import load_converted_state_dict, load_original_checkpoint, rename_keys
from .convert_vggish import convert_vggish_state_dict
from .pvt_v2 import pvt_v2_rules

NEW_MODULES = ("similarity_head.",)


def _zero_based(template: str):
    """Replacement that formats `template` with the first group turned from 1-based into 0-based."""

    def replace(match: re.Match) -> str:
        return template.format(int(match[1]) - 1, *match.groups()[1:])

    return replace


AVSBENCH_RULES = [
    *pvt_v2_rules("encoder_backbone."),
    (r"conv(\d)\.conv2d_list\.(\d)\.(.+)", _zero_based("stage_projections.{}.branches.{}.{}")),
    (r"tpavi_b(\d)\.align_channel\.(.+)", _zero_based("tpavi_blocks.{}.audio_proj.{}")),
    (r"tpavi_b(\d)\.norm_layer\.(.+)", _zero_based("tpavi_blocks.{}.layer_norm.{}")),
    (r"tpavi_b(\d)\.(g|theta|phi)\.(.+)", _zero_based("tpavi_blocks.{}.{}.{}")),
    (r"tpavi_b(\d)\.W_z\.0\.(.+)", _zero_based("tpavi_blocks.{}.output_conv.{}")),
    (r"tpavi_b(\d)\.W_z\.1\.(.+)", _zero_based("tpavi_blocks.{}.output_norm.{}")),
    (r"path(\d)\.resConfUnit(\d)\.(.+)", _zero_based("fusion_blocks.{}.residual_unit{}.{}")),
    (r"output_conv\.(\d)\.(.+)", r"mask_head.\1.\2"),
]


def convert_avsbench_state_dict(
    original: dict[str, torch.Tensor], vggish: dict[str, torch.Tensor] | None = None
) -> dict[str, torch.Tensor]:
    """Rename an original `Pred_endecoder` state dict (and, optionally, a torchvggish one) to this package."""
    converted = rename_keys(original, AVSBENCH_RULES, "AVSBench checkpoint")
    if vggish is not None:
        converted.update(convert_vggish_state_dict(vggish, target_prefix="audio_encoder."))
    return converted


def config_for_original(state_dict: dict[str, torch.Tensor]) -> AVSBenchConfig:
    """The configuration of an original checkpoint (TPAVI stages are read from the `tpavi_b{i}` keys)."""
    stages = sorted({int(m[1]) - 1 for key in state_dict if (m := re.match(r"tpavi_b(\d)\.", key))})
    return AVSBenchConfig(tpavi_stages=stages)


def convert_avsbench_checkpoint(
    checkpoint: str | Path, vggish_checkpoint: str | Path | None, output_dir: str | Path
) -> AVSBenchForAudioVisualSegmentation:
    """Convert `checkpoint` (+ `vggish_checkpoint`), load strictly, and `save_pretrained` to `output_dir`."""
    original = load_original_checkpoint(checkpoint)
    vggish = load_original_checkpoint(vggish_checkpoint) if vggish_checkpoint is not None else None
    model = AVSBenchForAudioVisualSegmentation(config_for_original(original))
    new_modules = NEW_MODULES if vggish is not None else (*NEW_MODULES, "audio_encoder.")
    load_converted_state_dict(model, convert_avsbench_state_dict(original, vggish), new_modules)
    model.save_pretrained(output_dir)
    return model
