"""Base class shared by the audio-visual segmentation architectures: input contract, audio encoder, robust head."""

import torch
from torch import nn
from transformers import AutoBackbone, PreTrainedModel
from transformers.backbone_utils import load_backbone

from .configuration_audio_visual_segmentation import AudioVisualSegmentationConfig
from .modeling_outputs import AudioVisualSegmentationOutput
from .modeling_vggish import VGGishModel
from .pvt_v2_attention import use_channels_last_token_convolutions, use_fused_pvt_v2_attention
from .similarity_head import similarity_loss


class AudioVisualSegmentationPreTrainedModel(PreTrainedModel):
    """
    Shared machinery of every `*ForAudioVisualSegmentation` model. Subclasses own `self.backbone` (four feature
    maps), `self.audio_encoder` (a [`VGGishModel`]) and `self.similarity_head`.

    Forward contract (all architectures): `pixel_values` `[N, 3, H, W]` with N = B·T frames ordered video by
    video; exactly one of `input_features` `[N, 1, 96, 64]` (VGGish log-mel) or `audio_embeds` `[N, 128]`;
    optional `labels` `[N, H, W]` (0/1), `pair_labels` `[N]` (1 aligned / 0 negative) and `label_mask` `[N]`
    (frames that carry a ground-truth mask).
    """

    config: AudioVisualSegmentationConfig
    main_input_name = "pixel_values"
    input_modalities = ("image", "audio")
    supports_gradient_checkpointing = True
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
        self, input_features: torch.Tensor | None, audio_embeds: torch.Tensor | None, num_frames: int
    ) -> torch.Tensor:
        """
        Return one audio embedding per frame, `[N, audio_config.embedding_size]`, from exactly one of
        `input_features` `[N, 1, 96, 64]` or precomputed `audio_embeds` `[N, 128]`.
        """
        if (input_features is None) == (audio_embeds is None):
            raise ValueError("Pass exactly one of `input_features` (VGGish log-mel) or `audio_embeds`.")
        if audio_embeds is not None:
            expected = self.config.audio_config.embedding_size
            if audio_embeds.dim() != 2 or audio_embeds.shape != (num_frames, expected):
                raise ValueError(
                    f"`audio_embeds` must have shape [N, {expected}] with N = {num_frames} frames, "
                    f"got {list(audio_embeds.shape)}."
                )
            return audio_embeds
        if input_features.shape[0] != num_frames:
            raise ValueError(
                f"`input_features` has {input_features.shape[0]} examples but `pixel_values` has {num_frames} "
                "frames; pass one log-mel example per frame."
            )
        if self.config.freeze_audio_encoder:
            with torch.no_grad():
                return self.audio_encoder(input_features).audio_embeds
        return self.audio_encoder(input_features).audio_embeds

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
        if pixel_values.dim() != 4 or pixel_values.shape[1] != 3:
            raise ValueError(f"`pixel_values` must have shape [N, 3, H, W], got {list(pixel_values.shape)}.")
        num_frames, _, height, width = pixel_values.shape
        if frames_per_video is not None and num_frames % frames_per_video:
            raise ValueError(
                f"`pixel_values` holds {num_frames} frames, which is not a multiple of `config.num_frames` = "
                f"{frames_per_video}: pass whole videos (N = B·T, video-major)."
            )
        if labels is not None:
            if labels.dim() == 4 and labels.shape[1] == 1:
                labels = labels[:, 0]
            if labels.shape != (num_frames, height, width):
                raise ValueError(
                    f"`labels` must have shape [N, H, W] = [{num_frames}, {height}, {width}], got {list(labels.shape)}."
                )
            labels = labels.to(pixel_values.dtype)
        for name, value in (("pair_labels", pair_labels), ("label_mask", label_mask)):
            if value is not None and value.shape != (num_frames,):
                raise ValueError(f"`{name}` must have shape [N] = [{num_frames}], got {list(value.shape)}.")
        return labels

    @staticmethod
    def select_supervised(label_mask: torch.Tensor | None, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Keep the frames of `label_mask` (all frames when it is None) in every tensor."""
        if label_mask is None:
            return tensors
        keep = label_mask.to(torch.bool)
        return tuple(tensor[keep] for tensor in tensors)

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
        """Add the similarity loss (with `pair_labels`) and `L = L_seg + λ·L_BCE`, and package the outputs."""
        sim_loss = similarity_loss(similarity, pair_labels) if pair_labels is not None else None
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
