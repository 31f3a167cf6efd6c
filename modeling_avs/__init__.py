"""modeling-avs: robust audio-visual segmentation models, data, metrics and training for transformers.

Importing the package is cheap: every name below is imported from its module on first use, and the Auto classes and
the `audio-visual-segmentation` pipeline are registered with transformers as soon as transformers loads them (see
`modeling_avs.auto_registration`).
"""

from .auto_registration import register_with_transformers
from .lazy_module import lazy_exports

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "configuration_audio_visual_segmentation": ["AudioVisualSegmentationConfig"],
        "configuration_avsbench": ["AVSBenchConfig"],
        "configuration_avsegformer": ["AVSegFormerConfig"],
        "configuration_vggish": ["VGGishConfig"],
        "feature_extraction_vggish": ["VGGishFeatureExtractor"],
        "image_processing_avs": ["AVSImageProcessor"],
        "modeling_audio_visual_segmentation": ["AudioVisualSegmentationPreTrainedModel"],
        "modeling_avsbench": ["AVSBenchForAudioVisualSegmentation"],
        "modeling_avsegformer": ["AVSegFormerForAudioVisualSegmentation"],
        "modeling_outputs": ["AudioVisualSegmentationOutput"],
        "modeling_vggish": ["VGGishModel"],
        "pipelines.audio_visual_segmentation": ["AudioVisualSegmentationPipeline"],
        "processing_avs": ["AVSProcessor"],
        "similarity_head": ["AudioVisualSimilarityHead"],
    },
)

register_with_transformers()
