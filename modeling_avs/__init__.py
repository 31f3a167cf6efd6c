"""modeling-avs: robust audio-visual segmentation models, data, metrics and training for transformers."""

from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoImageProcessor,
    AutoModel,
    AutoProcessor,
)

from .configuration_audio_visual_segmentation import AudioVisualSegmentationConfig
from .configuration_avsbench import AVSBenchConfig
from .configuration_avsegformer import AVSegFormerConfig
from .configuration_vggish import VGGishConfig
from .feature_extraction_vggish import VGGishFeatureExtractor
from .image_processing_avs import AVSImageProcessor
from .modeling_audio_visual_segmentation import AudioVisualSegmentationPreTrainedModel
from .modeling_avsbench import AVSBenchForAudioVisualSegmentation
from .modeling_avsegformer import AVSegFormerForAudioVisualSegmentation
from .modeling_outputs import AudioVisualSegmentationOutput
from .modeling_vggish import VGGishModel
from .pipelines import AudioVisualSegmentationPipeline, register_pipelines
from .processing_avs import AVSProcessor
from .similarity_head import AudioVisualSimilarityHead

__version__ = "0.1.0"

MODEL_CLASSES = {
    VGGishConfig: VGGishModel,
    AVSBenchConfig: AVSBenchForAudioVisualSegmentation,
    AVSegFormerConfig: AVSegFormerForAudioVisualSegmentation,
}


def _register_auto_classes() -> None:
    """Make `AutoConfig`/`AutoModel` resolve this package's model types, and saved checkpoints carry `auto_map`."""
    for config_class, model_class in MODEL_CLASSES.items():
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModel.register(config_class, model_class, exist_ok=True)
        config_class.register_for_auto_class()
        model_class.register_for_auto_class("AutoModel")
        AutoFeatureExtractor.register(config_class, VGGishFeatureExtractor, exist_ok=True)
        if config_class is not VGGishConfig:
            AutoImageProcessor.register(config_class, fast_image_processor_class=AVSImageProcessor, exist_ok=True)
            AutoProcessor.register(config_class, AVSProcessor, exist_ok=True)
    # Saved processors carry `auto_map` and their code too, so `trust_remote_code=True` loads them anywhere.
    AVSProcessor.register_for_auto_class("AutoProcessor")
    AVSImageProcessor.register_for_auto_class("AutoImageProcessor")
    VGGishFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")


_register_auto_classes()
register_pipelines()

__all__ = [
    "AVSBenchConfig",
    "AVSBenchForAudioVisualSegmentation",
    "AVSegFormerConfig",
    "AVSegFormerForAudioVisualSegmentation",
    "AudioVisualSegmentationConfig",
    "AudioVisualSegmentationOutput",
    "AudioVisualSegmentationPipeline",
    "AudioVisualSegmentationPreTrainedModel",
    "AudioVisualSimilarityHead",
    "AVSImageProcessor",
    "AVSProcessor",
    "VGGishFeatureExtractor",
    "VGGishConfig",
    "VGGishModel",
]
