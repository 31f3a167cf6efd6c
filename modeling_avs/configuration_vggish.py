"""VGGish audio encoder configuration."""

from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig


@strict
class VGGishConfig(PreTrainedConfig):
    r"""
    Configuration of [`VGGishModel`], the AudioSet VGGish audio embedding network (torchvggish port).

    The defaults reproduce the original network: six 3×3 convolutions with 64, 128, 256, 256, 512, 512 channels,
    a 2×2 max-pool after convolutions 1, 2, 4 and 6, a channels-last flatten of the `[512, 6, 4]` map and three
    fully connected layers 12288→4096→4096→128 each followed by a ReLU (so embeddings are non-negative).

    Args:
        conv_channels (`list[int]`, defaults to `[64, 128, 256, 256, 512, 512]`):
            Output channels of the convolutions.
        pool_after (`list[int]`, defaults to `[0, 1, 3, 5]`):
            Indices of the convolutions followed by a 2×2 max-pool.
        num_mel_bins (`int`, defaults to 64): Mel bands of an input example (width of the input).
        example_frames (`int`, defaults to 96): STFT frames of an input example (height of the input), as
            [`VGGishFeatureExtractor`]'s `example_frames`.
        hidden_sizes (`list[int]`, defaults to `[4096, 4096]`): Hidden sizes of the fully connected layers.
        embedding_size (`int`, defaults to 128): Size of the output embedding.
        postprocess (`bool`, defaults to `False`):
            Apply the AudioSet PCA + 8-bit quantisation post-processing. Off in every AVS recipe; when on, the PCA
            parameters are buffers `pca_eigen_vectors` `[128, 128]` and `pca_means` `[128]` to be loaded.
    """

    model_type = "vggish"

    conv_channels: list[int] | tuple[int, ...] = (64, 128, 256, 256, 512, 512)
    pool_after: list[int] | tuple[int, ...] = (0, 1, 3, 5)
    num_mel_bins: int = 64
    example_frames: int = 96
    hidden_sizes: list[int] | tuple[int, ...] = (4096, 4096)
    embedding_size: int = 128
    postprocess: bool = False

    def validate_architecture(self):
        super().validate_architecture()
        downsample = 2 ** len(self.pool_after)
        if self.example_frames % downsample or self.num_mel_bins % downsample:
            raise ValueError(
                f"`example_frames` ({self.example_frames}) and `num_mel_bins` ({self.num_mel_bins}) must be divisible by "
                f"2**len(pool_after) = {downsample}."
            )
        if any(not 0 <= index < len(self.conv_channels) for index in self.pool_after):
            raise ValueError(f"`pool_after` indices {self.pool_after} must index `conv_channels`.")

    @property
    def flattened_size(self) -> int:
        """Size of the channels-last flattened convolution output (12288 for the original network)."""
        downsample = 2 ** len(self.pool_after)
        return self.conv_channels[-1] * (self.example_frames // downsample) * (self.num_mel_bins // downsample)


VGGishConfig.register_for_auto_class()

__all__ = ["VGGishConfig"]
