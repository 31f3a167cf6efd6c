"""AVSegFormer model configuration."""

from __future__ import annotations

from huggingface_hub.dataclasses import strict

from .configuration_audio_visual_segmentation import AudioVisualSegmentationConfig

NEGATIVE_SEGMENTATION_LOSSES = ("none", "bce")


@strict
class AVSegFormerConfig(AudioVisualSegmentationConfig):
    r"""
    Configuration of [`AVSegFormerForAudioVisualSegmentation`], AVSegFormer (Gao et al., AAAI 2024) with the
    AVSBench-Robust similarity head. Defaults reproduce the released PVT-v2-b5 model at 512×512 (S4 = MS3) and the
    `AVSegFormer_robust` recipe. Shared arguments are documented in [`AudioVisualSegmentationConfig`].

    Args:
        hidden_size (`int`, defaults to 256): Width of the projected features, queries and transformers.
        num_queries (`int`, defaults to 300): Queries of the audio-conditioned query generator and decoder.
        encoder_layers (`int`, defaults to 6): Deformable-attention encoder layers over backbone stages 2–4.
        encoder_attention_heads (`int`, defaults to 8): Heads of the multi-scale deformable attention.
        encoder_n_points (`int`, defaults to 4): Sampling points per head and level.
        encoder_ffn_dim (`int`, defaults to 2048): FFN width of the encoder layers.
        decoder_layers (`int`, defaults to 6): Standard transformer decoder layers (queries × encoder memory).
        decoder_attention_heads (`int`, defaults to 8): Heads of the decoder attentions.
        decoder_ffn_dim (`int`, defaults to 2048): FFN width of the decoder layers.
        query_generator_layers (`int`, defaults to 6): Layers of the audio-conditioned query generator.
        query_generator_attention_heads (`int`, defaults to 8): Heads of its (bias-free) attentions.
        query_generator_ffn_dim (`int`, defaults to 1024): FFN width of its layers.
        use_learnable_queries (`bool`, defaults to `True`): Add a second learnable query embedding to the
            generated queries.
        mixer_attention_heads (`int`, defaults to 8): Heads of the cross-modal mixer (audio query over pixels).
        mask_mlp_dim (`int`, defaults to 2048): Hidden width of the 1×1-conv MLP `num_queries → d → d → hidden`.
        num_groups (`int`, defaults to 32): Groups of the GroupNorms of the projections and mask-feature convs.
        dropout (`float`, defaults to 0.1): Dropout of the encoder and decoder layers (training only).
        position_temperature (`float`, defaults to 10000.0): Temperature of the (unnormalised) sine position
            encoding of the encoder tokens.
        mix_loss_weight (`float`, defaults to 0.1): Weight of the Dice loss of the channel-mean mask feature.
        negative_segmentation_loss (`str`, defaults to `"none"`):
            How frames with `pair_labels == 0` (misaligned or silent audio, empty ground truth) train the masks.
            `"none"` is the paper's recipe: only the (mix) Dice losses, which are constant with exactly zero
            gradient on an empty mask, so negatives are learned through the similarity BCE alone. `"bce"` adds a
            per-pixel BCE between the logits and the (empty) masks of the supervised negative frames, pushing
            their predictions to empty.
        deformable_attention_implementation (`str`, defaults to `"pytorch"`):
            Kernel of the multi-scale deformable attention, a name registered with
            [`register_deformable_attention_kernel`]. `"pytorch"` (bilinear `grid_sample`) runs everywhere.
    """

    model_type = "avsegformer"

    hidden_size: int = 256
    num_queries: int = 300
    encoder_layers: int = 6
    encoder_attention_heads: int = 8
    encoder_n_points: int = 4
    encoder_ffn_dim: int = 2048
    decoder_layers: int = 6
    decoder_attention_heads: int = 8
    decoder_ffn_dim: int = 2048
    query_generator_layers: int = 6
    query_generator_attention_heads: int = 8
    query_generator_ffn_dim: int = 1024
    use_learnable_queries: bool = True
    mixer_attention_heads: int = 8
    mask_mlp_dim: int = 2048
    num_groups: int = 32
    dropout: float = 0.1
    position_temperature: float = 10000.0
    mix_loss_weight: float = 0.1
    negative_segmentation_loss: str = "none"
    deformable_attention_implementation: str = "pytorch"

    def validate_architecture(self):
        super().validate_architecture()
        if self.negative_segmentation_loss not in NEGATIVE_SEGMENTATION_LOSSES:
            raise ValueError(
                f"`negative_segmentation_loss` must be one of {NEGATIVE_SEGMENTATION_LOSSES}, "
                f"got {self.negative_segmentation_loss!r}."
            )
        for name in (
            "encoder_attention_heads",
            "decoder_attention_heads",
            "query_generator_attention_heads",
            "mixer_attention_heads",
        ):
            if self.hidden_size % getattr(self, name):
                raise ValueError(f"`hidden_size` ({self.hidden_size}) must be divisible by `{name}`.")
        if self.hidden_size % self.num_groups:
            raise ValueError(f"`hidden_size` ({self.hidden_size}) must be divisible by `num_groups`.")
        if self.hidden_size % 4:
            raise ValueError(
                f"`hidden_size` must be a multiple of 4 for the sine position encoding, got {self.hidden_size}."
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1), got {self.dropout}.")


AVSegFormerConfig.register_for_auto_class()

__all__ = ["AVSegFormerConfig"]
