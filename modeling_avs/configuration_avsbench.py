"""AVSBench (TPAVI) model configuration."""

from __future__ import annotations

from huggingface_hub.dataclasses import strict

from .configuration_audio_visual_segmentation import AudioVisualSegmentationConfig


@strict
class AVSBenchConfig(AudioVisualSegmentationConfig):
    r"""
    Configuration of [`AVSBenchForAudioVisualSegmentation`], the TPAVI model of AVSBench (Zhou et al., ECCV 2022)
    with the AVSBench-Robust similarity head. Defaults reproduce the released PVT-v2-b5 model (S4 = MS3).
    Shared arguments are documented in [`AudioVisualSegmentationConfig`].

    Args:
        hidden_size (`int`, defaults to 256): Channels of the projected stage features and the decoder.
        aspp_dilations (`list[int]`, defaults to `[3, 6, 12, 18]`):
            Dilations of the four summed 3×3 branches that project every stage to `hidden_size`.
        tpavi_stages (`list[int]`, defaults to `[0, 1, 2, 3]`): Stages that get a TPAVI audio-visual block.
        tpavi_inter_channels (`int`, defaults to 128): Channels of the TPAVI theta/phi/g embeddings.
        audio_embed_dim (`int`, defaults to 128): Size of the audio embedding, `audio_config.embedding_size`.
        sa_loss_weight (`float`, defaults to 0.0):
            Weight of the MS3 audio-visual map-matching loss (`sa_loss`, KL variant; the MS3 recipe uses 0.5).
        sa_loss_normalize_features (`bool`, defaults to `False`):
            L2-normalise the audio and visual features of that loss before the softmaxes (the original's
            `norm_fea_flag`). The released MS3 recipe does not (its `train.sh` never passes the flag); normalised,
            the term is about 600× smaller on the same inputs.
        aspp_initializer_range (`float`, defaults to 0.01): Std of the normal init of the projection convs.
    """

    model_type = "avsbench"

    hidden_size: int = 256
    aspp_dilations: list[int] | tuple[int, ...] = (3, 6, 12, 18)
    tpavi_stages: list[int] | tuple[int, ...] = (0, 1, 2, 3)
    tpavi_inter_channels: int = 128
    audio_embed_dim: int = 128
    sa_loss_weight: float = 0.0
    sa_loss_normalize_features: bool = False
    aspp_initializer_range: float = 0.01

    def validate_architecture(self):
        super().validate_architecture()
        if any(stage not in (0, 1, 2, 3) for stage in self.tpavi_stages):
            raise ValueError(f"`tpavi_stages` must be a subset of [0, 1, 2, 3], got {list(self.tpavi_stages)}.")
        if self.sa_loss_weight > 0 and not self.tpavi_stages:
            raise ValueError("`sa_loss_weight` > 0 needs at least one TPAVI stage (`tpavi_stages`).")
        if not isinstance(self.sa_loss_normalize_features, bool):
            raise ValueError(
                f"`sa_loss_normalize_features` must be True or False, got {self.sa_loss_normalize_features!r}."
            )
        if self.audio_embed_dim != self.audio_config.embedding_size:
            raise ValueError(
                f"`audio_embed_dim` ({self.audio_embed_dim}) must equal the audio encoder's output size "
                f"`audio_config.embedding_size` ({self.audio_config.embedding_size})."
            )
        if not self.aspp_dilations or min(self.aspp_dilations) < 1:
            raise ValueError(f"`aspp_dilations` must be positive ints, got {list(self.aspp_dilations)}.")
        if min(self.hidden_size, self.tpavi_inter_channels) < 1:
            raise ValueError(
                f"`hidden_size` ({self.hidden_size}) and `tpavi_inter_channels` ({self.tpavi_inter_channels}) must be >= 1."
            )


AVSBenchConfig.register_for_auto_class()

__all__ = ["AVSBenchConfig"]
