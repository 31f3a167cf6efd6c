"""Original AVSegFormer / AVSBench-Robust `AVSegFormer_robust` checkpoints → [`AVSegFormerForAudioVisualSegmentation`].

AVSegFormer checkpoints contain VGGish (`vggish.*`) and the PVT-v2 backbone (`backbone.*`). `AVSegFormer_robust`
adds the similarity head (`cosine_sim.audio_proj.*`); for a plain AVSegFormer checkpoint the similarity head keeps
its initialisation and must be trained. The head's `fpn` and `attn_fc` modules are never used in the original
forward and are dropped.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ..configuration_avsegformer import AVSegFormerConfig
from ..modeling_avsegformer import AVSegFormerForAudioVisualSegmentation
from .checkpoint_io import load_converted_state_dict, load_original_checkpoint, rename_keys
from .convert_vggish import convert_vggish_state_dict, vggish_rules
from .pvt_v2 import pvt_v2_rules

UNUSED_PREFIXES = ("head.fpn.", "head.attn_fc.")
SIMILARITY_PREFIX = "similarity_head."
AUDIO_ENCODER_PREFIX = "audio_encoder."

_QUERY_GENERATOR_NAMES = {
    "self_attn": "self_attn",
    "cross_attn": "audio_attn",
    "ffn.0": "fc1",
    "ffn.2": "fc2",
    "norm1": "self_attn_layer_norm",
    "norm2": "audio_attn_layer_norm",
    "norm3": "final_layer_norm",
}
_ENCODER_NAMES = {
    "self_attn": "self_attn",
    "norm1": "self_attn_layer_norm",
    "linear1": "fc1",
    "linear2": "fc2",
    "norm2": "final_layer_norm",
}
_DECODER_NAMES = {
    "self_attn": "self_attn",
    "cross_attn": "encoder_attn",
    "norm1": "self_attn_layer_norm",
    "norm2": "encoder_attn_layer_norm",
    "linear1": "fc1",
    "linear2": "fc2",
    "norm3": "final_layer_norm",
}


def _layer_rules(source: str, target: str, names: dict[str, str]) -> list[tuple[str, str]]:
    """Rules for `{source}.layers.{i}.{name}.*` → `{target}.layers.{i}.{names[name]}.*`."""
    src = source.replace(".", r"\.")
    return [
        (rf"{src}\.layers\.(\d+)\.{re.escape(name)}\.(.+)", rf"{target}.layers.\1.{new_name}.\2")
        for name, new_name in names.items()
    ]


AVSEGFORMER_RULES = [
    *pvt_v2_rules("backbone."),
    *vggish_rules(source_prefix="vggish.", target_prefix=AUDIO_ENCODER_PREFIX),
    (r"audio_proj\.(weight|bias)", r"audio_proj.\1"),
    (r"cosine_sim\.audio_proj\.(weight|bias)", rf"{SIMILARITY_PREFIX}audio_proj.\1"),
    (r"head\.level_embed", "level_embed"),
    (r"head\.learnable_query\.weight", "learnable_queries.weight"),
    (r"head\.query_generator\.query\.weight", "query_generator.query_embed.weight"),
    *_layer_rules("head.query_generator", "query_generator", _QUERY_GENERATOR_NAMES),
    *_layer_rules("head.transformer.encoder", "encoder", _ENCODER_NAMES),
    *_layer_rules("head.transformer.decoder", "decoder", _DECODER_NAMES),
    (r"head\.in_proj\.(\d)\.([01])\.(weight|bias)", r"input_projections.\1.\2.\3"),
    (r"head\.mlp\.layers\.(\d)\.(weight|bias)", r"mask_mlp.layers.\1.\2"),
    (r"head\.fusion_block\.(q_proj|kv_proj|proj)\.(weight|bias)", r"mixer.\1.\2"),
    (r"head\.lateral_conv\.([01])\.(weight|bias)", r"lateral_conv.\1.\2"),
    (r"head\.out_conv\.([01])\.(weight|bias)", r"output_conv.\1.\2"),
    (r"head\.fc\.([024])\.(weight|bias)", r"mask_head.\1.\2"),
]

_FUSED_PROJECTION = re.compile(r"(.+)\.in_proj_(weight|bias)")
_MASK_MLP_WEIGHT = re.compile(r"mask_mlp\.layers\.\d\.weight")


def convert_avsegformer_state_dict(
    original: dict[str, torch.Tensor], vggish: dict[str, torch.Tensor] | None = None
) -> dict[str, torch.Tensor]:
    """
    Rename an original `AVSegFormer` / `AVSegFormer_robust` state dict to this package: the fused
    `nn.MultiheadAttention` projections `in_proj_{weight,bias}` are split into `q_proj`/`k_proj`/`v_proj`, the 1×1
    conv weights of the mask MLP become linear weights, and `head.fpn.*` / `head.attn_fc.*` are dropped. A separate
    torchvggish state dict `vggish` may supply the audio encoder when the checkpoint has no `vggish.*` keys.
    """
    kept = {key: value for key, value in original.items() if not key.startswith(UNUSED_PREFIXES)}
    renamed = rename_keys(kept, AVSEGFORMER_RULES, "AVSegFormer checkpoint")
    converted = {}
    for key, value in renamed.items():
        if match := _FUSED_PROJECTION.fullmatch(key):
            for name, chunk in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0)):
                converted[f"{match[1]}.{name}.{match[2]}"] = chunk.clone()
        elif _MASK_MLP_WEIGHT.fullmatch(key):
            converted[key] = value.flatten(1)
        else:
            converted[key] = value
    if vggish is not None:
        if any(key.startswith(AUDIO_ENCODER_PREFIX) for key in converted):
            raise ValueError("the AVSegFormer checkpoint already contains VGGish weights; do not pass another one")
        converted.update(convert_vggish_state_dict(vggish, target_prefix=AUDIO_ENCODER_PREFIX))
    return converted


def _count_layers(state_dict: dict[str, torch.Tensor], prefix: str) -> int:
    indices = {int(m[1]) for key in state_dict if (m := re.match(rf"{re.escape(prefix)}\.layers\.(\d+)\.", key))}
    return len(indices)


def config_for_original(state_dict: dict[str, torch.Tensor]) -> AVSegFormerConfig:
    """The configuration of an original checkpoint (sizes and layer counts are read from the tensors)."""
    required = ("audio_proj.weight", "head.query_generator.query.weight", "head.mlp.layers.0.weight")
    missing = [key for key in required if key not in state_dict]
    if missing:
        raise ValueError(f"not an AVSegFormer checkpoint: missing {missing}")
    num_queries, hidden_size = state_dict["head.query_generator.query.weight"].shape
    return AVSegFormerConfig(
        hidden_size=hidden_size,
        num_queries=num_queries,
        encoder_layers=_count_layers(state_dict, "head.transformer.encoder"),
        decoder_layers=_count_layers(state_dict, "head.transformer.decoder"),
        query_generator_layers=_count_layers(state_dict, "head.query_generator"),
        encoder_ffn_dim=state_dict["head.transformer.encoder.layers.0.linear1.weight"].shape[0],
        decoder_ffn_dim=state_dict["head.transformer.decoder.layers.0.linear1.weight"].shape[0],
        query_generator_ffn_dim=state_dict["head.query_generator.layers.0.ffn.0.weight"].shape[0],
        use_learnable_queries="head.learnable_query.weight" in state_dict,
        mask_mlp_dim=state_dict["head.mlp.layers.0.weight"].shape[0],
    )


def load_original_avsegformer(
    original: dict[str, torch.Tensor], vggish: dict[str, torch.Tensor] | None = None
) -> AVSegFormerForAudioVisualSegmentation:
    """Build the model of `config_for_original(original)` and load the converted weights strictly."""
    config = config_for_original(original)
    converted = convert_avsegformer_state_dict(original, vggish)
    model = AVSegFormerForAudioVisualSegmentation(config)
    new_modules = ()
    if not any(key.startswith(SIMILARITY_PREFIX) for key in converted):
        new_modules += (SIMILARITY_PREFIX,)
    if not any(key.startswith(AUDIO_ENCODER_PREFIX) for key in converted):
        new_modules += (AUDIO_ENCODER_PREFIX,)
    load_converted_state_dict(model, converted, new_modules)
    return model


def convert_avsegformer_checkpoint(
    checkpoint: str | Path, output_dir: str | Path, vggish_checkpoint: str | Path | None = None
) -> AVSegFormerForAudioVisualSegmentation:
    """Convert `checkpoint` (read weights-only), load it strictly and `save_pretrained` it to `output_dir`."""
    original = load_original_checkpoint(checkpoint)
    vggish = load_original_checkpoint(vggish_checkpoint) if vggish_checkpoint is not None else None
    model = load_original_avsegformer(original, vggish)
    model.save_pretrained(output_dir)
    return model
