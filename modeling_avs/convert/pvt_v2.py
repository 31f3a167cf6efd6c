"""Key mapping of the original PVT-v2 implementation (`pvt.py` of AVSBench / AVSegFormer) to timm's
`pvt_v2_*` models wrapped by transformers' `TimmBackbone` with `features_only=True`.

The mapping is the one of timm's own `checkpoint_filter_fn`, with the `stages.{i}` → `stages_{i}` flattening of
timm's `FeatureListNet`; converted weights reproduce the original stage outputs to float rounding.
"""

from __future__ import annotations


def pvt_v2_rules(source_prefix: str, target_prefix: str = "backbone._backbone.") -> list[tuple[str, str]]:
    """Regex rules `(pattern, replacement)` for `rename_keys`, for keys of the original backbone under
    `source_prefix` (e.g. `"encoder_backbone."`), producing keys under `target_prefix`."""
    src = source_prefix.replace(".", r"\.")
    return [
        (rf"{src}patch_embed1\.(.+)", rf"{target_prefix}patch_embed.\1"),
        (rf"{src}patch_embed2\.(.+)", rf"{target_prefix}stages_1.downsample.\1"),
        (rf"{src}patch_embed3\.(.+)", rf"{target_prefix}stages_2.downsample.\1"),
        (rf"{src}patch_embed4\.(.+)", rf"{target_prefix}stages_3.downsample.\1"),
        *[
            (
                rf"{src}block{s}\.(\d+)\.mlp\.dwconv\.dwconv\.(.+)",
                rf"{target_prefix}stages_{s - 1}.blocks.\1.mlp.dwconv.\2",
            )
            for s in range(1, 5)
        ],
        *[(rf"{src}block{s}\.(.+)", rf"{target_prefix}stages_{s - 1}.blocks.\1") for s in range(1, 5)],
        *[(rf"{src}norm{s}\.(.+)", rf"{target_prefix}stages_{s - 1}.norm.\1") for s in range(1, 5)],
    ]
