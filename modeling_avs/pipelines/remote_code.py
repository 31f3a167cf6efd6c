"""The pipeline code a saved model carries, for `pipeline("audio-visual-segmentation", model=...,
trust_remote_code=True)` where modeling_avs is not installed (e.g. a model on the Hub).

transformers' mechanism: the model config's `custom_pipelines` names the pipeline class as `"<file>.<class>"` of a
file in the model folder, which `trust_remote_code=True` imports with its sibling imports. The models'
`save_pretrained` calls `save_pipeline_code`, which sets that entry and writes flat copies of the pipeline module and
of the package modules it imports (`modeling_avs.code_export`).
"""

from __future__ import annotations

from pathlib import Path

from ..atomic_files import write_text_atomic
from ..code_export import flat_module_sources, flat_name
from .audio_visual_segmentation import AUDIO_VISUAL_SEGMENTATION_TASK, AudioVisualSegmentationPipeline


def custom_pipelines() -> dict[str, dict]:
    """The `custom_pipelines` entry of a saved model's config."""
    pipeline_class = AudioVisualSegmentationPipeline
    return {
        AUDIO_VISUAL_SEGMENTATION_TASK: {
            "impl": f"{flat_name(pipeline_class.__module__)}.{pipeline_class.__name__}",
            "pt": ["AutoModel"],
            "type": "multimodal",
        }
    }


def save_pipeline_code(folder: str | Path) -> list[Path]:
    """Write the pipeline module and the package modules it imports into `folder`; returns the files written."""
    sources = flat_module_sources([AudioVisualSegmentationPipeline.__module__])
    return [write_text_atomic(Path(folder) / name, source) for name, source in sources.items()]


__all__ = ["custom_pipelines", "save_pipeline_code"]
