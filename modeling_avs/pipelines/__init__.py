"""transformers pipelines of the package, registered in `PIPELINE_REGISTRY` when `modeling_avs` is imported."""

from transformers import AutoModel
from transformers.pipelines import PIPELINE_REGISTRY

from .audio_visual_segmentation import AudioVisualSegmentationPipeline
from .model_location import DEFAULT_BASELINE_MODEL, DEFAULT_MODEL, HOW_TO_GET_A_MODEL, model_location_problem

AUDIO_VISUAL_SEGMENTATION_TASK = "audio-visual-segmentation"


def register_pipelines() -> None:
    """Make `pipeline("audio-visual-segmentation", model=...)` resolve to [`AudioVisualSegmentationPipeline`]."""
    if AUDIO_VISUAL_SEGMENTATION_TASK not in PIPELINE_REGISTRY.get_supported_tasks():
        PIPELINE_REGISTRY.register_pipeline(
            AUDIO_VISUAL_SEGMENTATION_TASK,
            pipeline_class=AudioVisualSegmentationPipeline,
            pt_model=AutoModel,
            type="multimodal",
        )


__all__ = [
    "AUDIO_VISUAL_SEGMENTATION_TASK",
    "AudioVisualSegmentationPipeline",
    "DEFAULT_BASELINE_MODEL",
    "DEFAULT_MODEL",
    "HOW_TO_GET_A_MODEL",
    "model_location_problem",
    "register_pipelines",
]
