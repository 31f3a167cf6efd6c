"""Base class shared by the audio-visual segmentation architectures: input contract, audio encoder, robust head."""

import importlib
import math
import os

import torch
from torch import nn
from transformers import AutoBackbone, PreTrainedModel
from transformers import initialization as init
from transformers.backbone_utils import load_backbone
from transformers.utils import logging

from .configuration_audio_visual_segmentation import AudioVisualSegmentationConfig
from .model_files import CheckedLoadingMixin
from .modeling_outputs import AudioVisualSegmentationOutput
from .modeling_vggish import VGGishModel
from .pvt_v2_attention import use_channels_last_token_convolutions, use_fused_pvt_v2_attention
from .similarity_head import (
    LEARNABLE_SCALE_INIT,
    AudioVisualSimilarityHead,
    presence_gated_logits,
    similarity_loss,
)
from .tensor_checks import check_tensor

logger = logging.get_logger(__name__)


class AudioVisualSegmentationPreTrainedModel(CheckedLoadingMixin, PreTrainedModel):
    """
    Shared machinery of every `*ForAudioVisualSegmentation` model. Subclasses own `self.backbone` (four feature
    maps; the base model, `base_model_prefix`), `self.audio_encoder` (a [`VGGishModel`]) and `self.similarity_head`.

    Forward contract (all architectures): `pixel_values` `[N, 3, H, W]` with N = B·T frames ordered video by
    video; exactly one of `input_features` `[N, 1, 96, 64]` (VGGish log-mel) or `audio_embeds` `[N, 128]`;
    optional `labels` `[N, H, W]` (0/1), `pair_labels` `[N]` (1 aligned / 0 negative) and `label_mask` `[N]`
    (frames that carry a ground-truth mask). H and W are multiples of `input_size_multiple` (32, the backbone's
    output stride), so the logits have the size of the frames. Anything else (numpy arrays, integer or other-dtype
    frames, N = 0, other sizes) is one `ValueError` naming the argument.
    """

    config: AudioVisualSegmentationConfig
    # The visual backbone is the base model: a checkpoint of the backbone alone (keys without `backbone.`) loads into
    # it, and `model.base_model` returns it.
    base_model_prefix = "backbone"
    main_input_name = "pixel_values"
    input_modalities = ("image", "audio")
    supports_gradient_checkpointing = True
    input_size_multiple = 32

    def save_pretrained(self, save_directory: str | os.PathLike, *args, **kwargs):
        """
        `PreTrainedModel.save_pretrained`, with the code of the `audio-visual-segmentation` pipeline and its
        `custom_pipelines` entry in the config (`modeling_avs.pipelines.remote_code`), so that
        `pipeline("audio-visual-segmentation", model=folder, trust_remote_code=True)` works without modeling_avs.
        """
        try:
            # A string, not an import statement: the model's code is copied into every saved folder, where
            # transformers follows its relative imports, and this one exists only in the package.
            remote_code = importlib.import_module(f"{__package__}.pipelines.remote_code")
        except ImportError:  # this class was itself loaded as remote code: there is no pipeline source to copy
            logger.warning("saving without the pipeline code: modeling_avs is not installed")
            self.config.custom_pipelines = {}
        else:
            self.config.custom_pipelines = remote_code.custom_pipelines()
            if kwargs.get("is_main_process", True):
                os.makedirs(save_directory, exist_ok=True)
                remote_code.save_pipeline_code(save_directory)  # first: `push_to_hub=True` uploads in the call below
        return super().save_pretrained(save_directory, *args, **kwargs)

    # Whether frames are processed independently (no temporal interaction): a clip then needs no padding to whole
    # windows of `config.num_frames`.
    independent_frames = False

    def _build_backbone(self) -> nn.Module:
        """
        Build the visual backbone of `config.backbone_config` (ImageNet weights if `use_pretrained_backbone`);
        a transformers PVT-v2 gets fused attention (timm's uses `scaled_dot_product_attention` already), and the
        convolutions that read token maps keep their weights channels-last.
        """
        if self.config.use_pretrained_backbone:
            if self.config.backbone_config.model_type != "timm_backbone":
                raise ValueError("`use_pretrained_backbone=True` is supported for timm backbones only.")
            backbone = AutoBackbone.from_config(self.config.backbone_config, pretrained=True)
        else:
            backbone = use_fused_pvt_v2_attention(load_backbone(self.config))
        return use_channels_last_token_convolutions(backbone)

    def _build_audio_encoder(self) -> VGGishModel:
        audio_encoder = VGGishModel(self.config.audio_config)
        if self.config.freeze_audio_encoder:
            audio_encoder.requires_grad_(False)
        return audio_encoder

    def freeze_backbone(self) -> None:
        """Stop gradients into the visual backbone (AVSegFormer's recipe freezes it for the first epochs)."""
        self.backbone.requires_grad_(False)

    def unfreeze_backbone(self) -> None:
        self.backbone.requires_grad_(True)

    def encode_audio(
        self, input_features: torch.Tensor | None, audio_embeds: torch.Tensor | None, total_frames: int
    ) -> torch.Tensor:
        """
        Return one audio embedding per frame, `[N, audio_config.embedding_size]`, from exactly one of
        `input_features` `[N, 1, 96, 64]` or precomputed `audio_embeds` `[N, 128]` (N = `total_frames` = B·T).
        """
        if (input_features is None) == (audio_embeds is None):
            raise ValueError("Pass exactly one of `input_features` (VGGish log-mel) or `audio_embeds`.")
        if audio_embeds is not None:
            check_tensor("audio_embeds", audio_embeds, self.dtype)
            expected = self.config.audio_config.embedding_size
            if audio_embeds.dim() != 2 or audio_embeds.shape != (total_frames, expected):
                raise ValueError(
                    f"`audio_embeds` must have shape [N, {expected}] with N = {total_frames} frames, "
                    f"got {list(audio_embeds.shape)}."
                )
            return audio_embeds
        check_tensor("input_features", input_features, self.dtype)
        if input_features.shape[0] != total_frames:
            raise ValueError(
                f"`input_features` has {input_features.shape[0]} examples but `pixel_values` has {total_frames} "
                "frames; pass one log-mel example per frame."
            )
        if self.config.freeze_audio_encoder:
            with torch.no_grad():
                return self.audio_encoder(input_features, return_dict=True).audio_embeds
        return self.audio_encoder(input_features, return_dict=True).audio_embeds

    def check_inputs(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None,
        pair_labels: torch.Tensor | None,
        label_mask: torch.Tensor | None,
        frames_per_video: int | None = None,
    ) -> torch.Tensor | None:
        """
        Validate the forward contract and return `labels` as a `[N, H, W]` float tensor (or None).
        `frames_per_video`, when given, requires N to be a multiple of it (TPAVI attends over a video's frames).
        """
        check_tensor("pixel_values", pixel_values, self.dtype)
        if pixel_values.dim() != 4 or pixel_values.shape[1] != 3:
            raise ValueError(f"`pixel_values` must have shape [N, 3, H, W], got {list(pixel_values.shape)}.")
        total_frames, _, height, width = pixel_values.shape
        multiple = self.input_size_multiple
        if height % multiple or width % multiple or min(height, width) < multiple:
            raise ValueError(
                f"`pixel_values` frames are {height}x{width} (H x W); the model needs H and W to be positive "
                f"multiples of {multiple} (resize the frames, e.g. with the processor, to {multiple * 7}x{multiple * 7})."
            )
        if frames_per_video is not None and total_frames % frames_per_video:
            raise ValueError(
                f"`pixel_values` holds {total_frames} frames, which is not a multiple of `config.num_frames` = "
                f"{frames_per_video}: pass whole videos (N = B·T, video-major)."
            )
        for name, value in (("labels", labels), ("pair_labels", pair_labels), ("label_mask", label_mask)):
            if value is not None:
                check_tensor(name, value)
        if labels is not None:
            if labels.dim() == 4 and labels.shape[1] == 1:
                labels = labels[:, 0]
            if labels.shape != (total_frames, height, width):
                raise ValueError(
                    f"`labels` must have shape [N, H, W] = [{total_frames}, {height}, {width}], got {list(labels.shape)}."
                )
            labels = labels.to(pixel_values.dtype)
        for name, value in (("pair_labels", pair_labels), ("label_mask", label_mask)):
            if value is not None and value.shape != (total_frames,):
                raise ValueError(f"`{name}` must have shape [N] = [{total_frames}], got {list(value.shape)}.")
        return labels

    def segmentation_frames(
        self, label_mask: torch.Tensor | None, pair_labels: torch.Tensor | None
    ) -> torch.Tensor | None:
        """The frames the mask loss sees: those of `label_mask` (all when None), less the negative pairs when
        `config.segmentation_loss_on_negatives` is False."""
        if self.config.segmentation_loss_on_negatives or pair_labels is None:
            return label_mask
        positives = pair_labels > 0
        return positives if label_mask is None else label_mask.to(torch.bool) & positives

    @staticmethod
    def select_supervised(label_mask: torch.Tensor | None, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Keep the frames of `label_mask` (all frames when it is None) in every tensor."""
        if label_mask is None:
            return tensors
        keep = label_mask.to(torch.bool)
        return tuple(tensor[keep] for tensor in tensors)

    def _build_similarity_head(self, audio_dim: int) -> AudioVisualSimilarityHead:
        """The robust head: audio features of `audio_dim` against the pooled last backbone stage."""
        return AudioVisualSimilarityHead(
            audio_dim,
            self.backbone.channels[-1],
            self.config.similarity_type,
            learnable_scale=self.config.similarity_learnable_scale,
        )

    @staticmethod
    def init_similarity_head(module: AudioVisualSimilarityHead) -> None:
        """`_init_weights` of the robust head's own parameters: a learnable pair logit starts at `t = 10`, `b = 0`
        (its projection is a Linear, which each architecture initialises with its other layers)."""
        if hasattr(module, "logit_scale"):
            init.constant_(module.logit_scale, math.log(LEARNABLE_SCALE_INIT))
            init.zeros_(module.logit_bias)

    def gate_by_presence(self, logits: torch.Tensor, similarity: torch.Tensor) -> torch.Tensor:
        """The mask logits `forward` returns: gated by the presence score with `config.presence_gating` (see
        [`presence_gated_logits`]), else unchanged."""
        return presence_gated_logits(logits, similarity) if self.config.presence_gating else logits

    def build_output(
        self,
        logits: torch.Tensor,
        similarity: torch.Tensor,
        segmentation_loss: torch.Tensor | None,
        pair_labels: torch.Tensor | None,
        audio_embeds: torch.Tensor,
        stage_maps: tuple[torch.Tensor, ...],
        output_hidden_states: bool | None,
        return_dict: bool | None,
        mask_features: torch.Tensor | None = None,
    ) -> AudioVisualSegmentationOutput | tuple:
        """
        Add the similarity loss (with `pair_labels`) and `L = L_seg + λ·L_BCE`, and package the outputs; the backbone's
        stage maps are returned as `hidden_states` when `output_hidden_states` (default `config.output_hidden_states`).
        """
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        sim_loss = None
        if pair_labels is not None:
            sim_loss = similarity_loss(similarity, pair_labels, self.config.similarity_positive_weight)
        terms = []
        if segmentation_loss is not None:
            terms.append(segmentation_loss)
        if sim_loss is not None:
            terms.append(self.config.similarity_loss_weight * sim_loss)
        output = AudioVisualSegmentationOutput(
            loss=sum(terms) if terms else None,
            logits=logits,
            similarity=similarity,
            segmentation_loss=segmentation_loss,
            similarity_loss=sim_loss,
            audio_embeds=audio_embeds,
            mask_features=mask_features,
            hidden_states=tuple(stage_maps) if output_hidden_states else None,
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        return output if return_dict else output.to_tuple()


__all__ = ["AudioVisualSegmentationPreTrainedModel"]
