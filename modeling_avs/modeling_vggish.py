"""VGGish audio embedding network as a transformers model."""

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_vggish import VGGishConfig
from .model_files import CheckedLoadingMixin
from .tensor_checks import check_tensor


@dataclass
class VGGishOutput(ModelOutput):
    """
    Args:
        audio_embeds (`torch.FloatTensor` of shape `(N, embedding_size)`):
            One embedding per 0.96 s log-mel example (non-negative: the last layer is followed by a ReLU). With
            `config.postprocess` these are the PCA-whitened, 8-bit quantised values in [0, 255].
        last_conv_features (`torch.FloatTensor` of shape `(N, 512, 6, 4)`):
            Output of the convolutional trunk (channels-first), before the channels-last flatten.
    """

    audio_embeds: torch.FloatTensor | None = None
    last_conv_features: torch.FloatTensor | None = None


class VGGishPreTrainedModel(CheckedLoadingMixin, PreTrainedModel):
    config: VGGishConfig
    # The name of the VGGish sub-model inside the audio-visual segmentation models.
    base_model_prefix = "audio_encoder"
    main_input_name = "input_features"
    input_modalities = ("audio",)
    _no_split_modules = []

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """He initialisation: keeps activations alive through the ReLU stack, so a freshly built VGGish
        (e.g. trained from scratch offline) gives informative, non-zero embeddings."""
        if isinstance(module, nn.Conv2d):
            init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            init.zeros_(module.bias)
        elif isinstance(module, VGGishModel) and module.config.postprocess:
            init.eye_(module.pca_eigen_vectors)
            init.zeros_(module.pca_means)


class VGGishModel(VGGishPreTrainedModel):
    """
    VGGish (AudioSet) embedding network. Module names `features.{i}` and `embeddings.{i}` follow the torchvggish
    checkpoint `vggish-10086976.pth`, so converted weights load without renaming.
    """

    # AudioSet post-processing constants (quantisation range of the released embeddings).
    QUANTIZE_MIN_VAL = -2.0
    QUANTIZE_MAX_VAL = 2.0

    def __init__(self, config: VGGishConfig):
        super().__init__(config)
        layers: list[nn.Module] = []
        in_channels = 1
        for index, out_channels in enumerate(config.conv_channels):
            layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
            if index in config.pool_after:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            in_channels = out_channels
        self.features = nn.Sequential(*layers)

        fc_layers: list[nn.Module] = []
        in_features = config.flattened_size
        for out_features in (*config.hidden_sizes, config.embedding_size):
            fc_layers += [nn.Linear(in_features, out_features), nn.ReLU()]
            in_features = out_features
        self.embeddings = nn.Sequential(*fc_layers)

        if config.postprocess:
            self.register_buffer("pca_eigen_vectors", torch.eye(config.embedding_size))
            self.register_buffer("pca_means", torch.zeros(config.embedding_size))
        self.post_init()

    def _postprocess(self, embeddings: torch.Tensor) -> torch.Tensor:
        """PCA whitening, clipping to [-2, 2] and rounding to 8-bit levels, as AudioSet's released features."""
        projected = (embeddings - self.pca_means) @ self.pca_eigen_vectors.T
        clipped = projected.clamp(self.QUANTIZE_MIN_VAL, self.QUANTIZE_MAX_VAL)
        scale = 255.0 / (self.QUANTIZE_MAX_VAL - self.QUANTIZE_MIN_VAL)
        return torch.round((clipped - self.QUANTIZE_MIN_VAL) * scale)

    def forward(
        self, input_features: torch.Tensor, return_dict: bool | None = None, **kwargs
    ) -> VGGishOutput | tuple[torch.Tensor, ...]:
        """
        Args:
            input_features (`torch.FloatTensor` of shape `(N, 1, example_frames, num_mel_bins)`):
                VGGish log-mel examples, e.g. from [`VGGishFeatureExtractor`] (`[N, 1, 96, 64]` by default).

        Returns:
            [`VGGishOutput`] with `audio_embeds` of shape `(N, embedding_size)` (its tuple when `return_dict` is
            False; default `config.return_dict`).
        """
        check_tensor("input_features", input_features, self.dtype)
        expected = (1, self.config.example_frames, self.config.num_mel_bins)
        if input_features.dim() != 4 or tuple(input_features.shape[1:]) != expected:
            raise ValueError(
                f"`input_features` must have shape [N, {expected[0]}, {expected[1]}, {expected[2]}], "
                f"got {list(input_features.shape)}."
            )
        conv_features = self.features(input_features)
        # TF (channels-last) flatten order of the original network: [N, C, H, W] -> [N, H, W, C].
        flat = conv_features.permute(0, 2, 3, 1).reshape(conv_features.shape[0], -1)
        embeddings = self.embeddings(flat)
        if self.config.postprocess:
            embeddings = self._postprocess(embeddings)
        output = VGGishOutput(audio_embeds=embeddings, last_conv_features=conv_features)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        return output if return_dict else output.to_tuple()


VGGishModel.register_for_auto_class("AutoModel")

__all__ = ["VGGishModel", "VGGishPreTrainedModel", "VGGishOutput"]
