"""modeling-avs: robust audio-visual segmentation models, data, metrics and training for transformers."""

from transformers import AutoConfig, AutoModel

from .configuration_audio_visual_segmentation import AudioVisualSegmentationConfig
from .configuration_avsbench import AVSBenchConfig
from .configuration_avsegformer import AVSegFormerConfig
from .configuration_vggish import VGGishConfig
from .modeling_audio_visual_segmentation import AudioVisualSegmentationPreTrainedModel
from .modeling_avsbench import AVSBenchForAudioVisualSegmentation
from .modeling_avsegformer import AVSegFormerForAudioVisualSegmentation
from .modeling_outputs import AudioVisualSegmentationOutput
from .modeling_vggish import VGGishModel
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


_register_auto_classes()

__all__ = [
    "AVSBenchConfig",
    "AVSBenchForAudioVisualSegmentation",
    "AVSegFormerConfig",
    "AVSegFormerForAudioVisualSegmentation",
    "AudioVisualSegmentationConfig",
    "AudioVisualSegmentationOutput",
    "AudioVisualSegmentationPreTrainedModel",
    "AudioVisualSimilarityHead",
    "VGGishConfig",
    "VGGishModel",
]
