"""Configuration fields shared by every audio-visual segmentation architecture of the package."""

from __future__ import annotations

import sys

from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .configuration_vggish import VGGishConfig
from .similarity_head import SIMILARITY_TYPES

# The pipeline task of every architecture (`pipeline("audio-visual-segmentation")`); here rather than in the pipeline
# module because the config, which a saved model carries as code, needs it too (`custom_pipelines`).
AUDIO_VISUAL_SEGMENTATION_TASK = "audio-visual-segmentation"

PVT_V2_B5_BACKBONE = SubConfigSpec(
    config_class=AutoConfig,
    model_type="timm_backbone",
    init_kwargs={"backbone": "pvt_v2_b5", "out_indices": [0, 1, 2, 3]},
)


@strict
class AudioVisualSegmentationConfig(PreTrainedConfig):
    r"""
    Base of the architecture configurations (not used directly). Holds what the robust recipe adds to any AVS
    model and the forward contract shared by all of them.

    Args:
        backbone_config (`dict` or `PreTrainedConfig`, *optional*):
            Visual backbone returning four feature maps (strides 4, 8, 16, 32), built with
            `transformers.backbone_utils.load_backbone`. Defaults to timm's `pvt_v2_b5` through
            `TimmBackboneConfig` (random initialisation). Any transformers backbone config works, e.g. a small
            `PvtV2Config(out_features=["stage1", "stage2", "stage3", "stage4"])`.
        use_pretrained_backbone (`bool`, defaults to `False`):
            Download ImageNet weights for a timm backbone when the model is built (needs Hub access).
        audio_config (`dict` or [`VGGishConfig`], *optional*): The audio encoder sub-model (VGGish by default).
        freeze_audio_encoder (`bool`, defaults to `True`):
            Keep the audio encoder frozen (no gradients, run under `torch.no_grad`), as every original recipe does.
        num_frames (`int`, defaults to 5): Frames T of a video; inputs carry N = B·T frames, video-major.
        similarity_type (`str`, defaults to `"cosine"`): `"cosine"`, `"euclidean"` or `"concat"`.
        similarity_loss_weight (`float`, defaults to 1.0): λ in `L = λ·L_BCE + L_seg`.
        similarity_learnable_scale (`bool`, defaults to `False`):
            Our extension: the similarity head outputs the pair logit `t·s + b` with a learnable temperature and bias
            (SigLIP-style, `t` starts at 10, `b` at 0) instead of the paper's raw cosine `s`, whose sigmoid is confined
            to [0.27, 0.73].
        similarity_positive_weight (`float`, defaults to 1.0):
            Weight of the positive pairs in the similarity BCE (negatives weigh 1); below 1 it balances the recipe's
            mostly positive pairs. 1 is the paper's plain BCE.
        segmentation_loss_on_negatives (`bool`, defaults to `True`):
            Whether the mask loss sees the negative pairs' (empty) masks. `False` (our extension, with presence gating)
            leaves the negatives to the pair loss: their masks are emptied by the presence score, and the mask head
            only learns the objects of positive pairs.
        presence_gating (`bool`, defaults to `False`):
            Our extension: `forward` returns the mask logits of `sigmoid(m) · sigmoid(p)`, the mask probability scaled
            by the frame's presence score `sigmoid(p)` (p = the similarity head's pair logit), in training and at
            inference alike ([`presence_gated_logits`]); a frame with `p < 0` gets an empty mask. Off (the paper's
            model: the similarity does not touch the masks).
        inference_gate_threshold (`float`, *optional*):
            When set, the processor's post-processing, the pipeline and the evaluations keep the masks of the frames
            whose correspondence score `sigmoid(similarity)` is at least this value and empty the others
            ([`similarity_gate`]). Off by default, as in the paper.
        mask_head_channels (`list[int]`, defaults to `[128, 32]`):
            Channels of the mask head's two 3×3 convolutions (before and after its upsampling), the original's by
            default; a smaller model may use fewer (the second one runs at full resolution and dominates its cost).
        initializer_range (`float`, defaults to 0.02): Standard deviation of the default weight initialiser.

    Contract checked at construction: the backbone returns 4 feature maps and the widths are positive.
    """

    sub_configs_defaults = {"backbone_config": PVT_V2_B5_BACKBONE, "audio_config": VGGishConfig}

    backbone_config: dict | PreTrainedConfig | None = None
    use_pretrained_backbone: bool = False
    audio_config: dict | PreTrainedConfig | None = None
    freeze_audio_encoder: bool = True
    num_frames: int = 5
    similarity_type: str = "cosine"
    similarity_loss_weight: float = 1.0
    similarity_learnable_scale: bool = False
    similarity_positive_weight: float = 1.0
    segmentation_loss_on_negatives: bool = True
    presence_gating: bool = False
    inference_gate_threshold: float | None = None
    mask_head_channels: list[int] | tuple[int, ...] = (128, 32)
    initializer_range: float = 0.02

    @property
    def custom_pipelines(self) -> dict:
        """
        transformers' `custom_pipelines` of a saved model: `{"audio-visual-segmentation": {"impl": "<file>.<class>",
        ...}}`, set by the model's `save_pretrained` next to the pipeline code it writes, so that
        `pipeline("audio-visual-segmentation", model=..., trust_remote_code=True)` works where modeling_avs is not
        installed. Where the task is registered in this process (`import modeling_avs` registers it), the entry is
        left out: `pipeline()` then uses the registered class, with or without `trust_remote_code`.
        """
        saved = self.__dict__.get("custom_pipelines") or {}
        if AUDIO_VISUAL_SEGMENTATION_TASK in saved and _task_is_registered(AUDIO_VISUAL_SEGMENTATION_TASK):
            return {task: entry for task, entry in saved.items() if task != AUDIO_VISUAL_SEGMENTATION_TASK}
        return saved

    @custom_pipelines.setter
    def custom_pipelines(self, value: dict) -> None:
        self.__dict__["custom_pipelines"] = value  # saved as it is by `to_dict`

    def validate_architecture(self):
        super().validate_architecture()
        if self.similarity_type not in SIMILARITY_TYPES:
            raise ValueError(f"`similarity_type` must be one of {SIMILARITY_TYPES}, got {self.similarity_type!r}.")
        if self.num_frames < 1:
            raise ValueError(f"`num_frames` must be >= 1, got {self.num_frames}.")
        if self.similarity_loss_weight < 0:
            raise ValueError(f"`similarity_loss_weight` must be >= 0, got {self.similarity_loss_weight}.")
        if not self.similarity_positive_weight > 0:
            raise ValueError(f"`similarity_positive_weight` must be > 0, got {self.similarity_positive_weight}.")
        if self.inference_gate_threshold is not None and not 0.0 <= self.inference_gate_threshold <= 1.0:
            raise ValueError(
                f"`inference_gate_threshold` must be None or in [0, 1], got {self.inference_gate_threshold}."
            )
        if len(self.mask_head_channels) != 2 or min(self.mask_head_channels) < 1:
            raise ValueError(f"`mask_head_channels` must be two positive ints, got {list(self.mask_head_channels)}.")
        stages = getattr(self.backbone_config, "out_indices", None)
        if stages is not None and len(stages) != 4:
            raise ValueError(
                f"`backbone_config` must return 4 feature maps (strides 4, 8, 16, 32), got out_indices {list(stages)}."
            )


def _task_is_registered(task: str) -> bool:
    """Whether transformers' pipeline registry of this process knows `task` (without importing transformers.pipelines)."""
    pipelines = sys.modules.get("transformers.pipelines")
    return pipelines is not None and task in pipelines.PIPELINE_REGISTRY.get_supported_tasks()


__all__ = ["AUDIO_VISUAL_SEGMENTATION_TASK", "AudioVisualSegmentationConfig"]
