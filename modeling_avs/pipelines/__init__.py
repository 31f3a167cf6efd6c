"""transformers pipelines of the package; `import modeling_avs` registers the `audio-visual-segmentation` task (see
`modeling_avs.auto_registration`)."""

from ..lazy_module import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "audio_visual_segmentation": ["AUDIO_VISUAL_SEGMENTATION_TASK", "AudioVisualSegmentationPipeline"],
        "model_location": [
            "DEFAULT_BASELINE_MODEL",
            "DEFAULT_MODEL",
            "HOW_TO_GET_A_MODEL",
            "REPRODUCE_OUTPUT_DIR",
            "load_segmenter",
            "model_location_problem",
        ],
    },
)
