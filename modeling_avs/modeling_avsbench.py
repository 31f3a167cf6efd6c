"""AVSBench TPAVI model (Zhou et al., ECCV 2022) with the AVSBench-Robust similarity head."""

import torch
import torch.nn.functional as F
from torch import nn
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer

from .configuration_avsbench import AVSBenchConfig
from .losses import masked_av_kl_loss
from .modeling_audio_visual_segmentation import AudioVisualSegmentationPreTrainedModel
from .modeling_outputs import AudioVisualSegmentationOutput
from .similarity_head import AudioVisualSimilarityHead
from .upsampled_convolution import UpsamplingMaskHead

# The decoder's ×2 upsampling (bilinear, `align_corners=True`), also applied by the mask head to the last block's map.
FUSION_UPSAMPLING = {"scale_factor": 2, "mode": "bilinear", "align_corners": True}


class AVSBenchDilatedConv(nn.Conv2d):
    """A 3×3 convolution with `padding = dilation` (a branch of [`AVSBenchDilatedProjection`])."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int):
        super().__init__(in_channels, out_channels, kernel_size=3, padding=dilation, dilation=dilation)


class AVSBenchDilatedProjection(nn.Module):
    """
    Four parallel dilated 3×3 convolutions `C_in → hidden_size` whose outputs are summed (no BN, no ReLU).

    A kernel row (column) whose offset `±dilation` lies outside an `h × w` map only ever reads the zero padding,
    so it is skipped: a branch with `dilation ≥ h` and `≥ w` reduces to its centre tap, and all such centre taps
    are summed into one 1×1 convolution (same function; at 224² the 7×7 stage 4 keeps 2 of 4 branches).
    """

    def __init__(self, in_channels: int, out_channels: int, dilations: tuple[int, ...]):
        super().__init__()
        self.branches = nn.ModuleList(AVSBenchDilatedConv(in_channels, out_channels, d) for d in dilations)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """`[N, C_in, h, w]` → `[N, hidden_size, h, w]`."""
        height, width = features.shape[-2:]
        output = None
        centre_weight, centre_bias = None, None
        for branch in self.branches:
            dilation = branch.dilation[0]
            rows = slice(0, 3) if dilation < height else slice(1, 2)
            cols = slice(0, 3) if dilation < width else slice(1, 2)
            if rows.start == cols.start == 1:
                centre_weight = branch.weight[:, :, 1:2, 1:2] + (0 if centre_weight is None else centre_weight)
                centre_bias = branch.bias + (0 if centre_bias is None else centre_bias)
                continue
            padding = (dilation if rows.start == 0 else 0, dilation if cols.start == 0 else 0)
            result = F.conv2d(
                features, branch.weight[:, :, rows, cols], branch.bias, padding=padding, dilation=dilation
            )
            output = result if output is None else output.add_(result)
        if centre_weight is not None:
            result = F.conv2d(features, centre_weight, centre_bias)
            output = result if output is None else output.add_(result)
        return output


class AVSBenchTPAVIBlock(GradientCheckpointingLayer):
    """
    Temporal Pixel-wise Audio-Visual Interaction: every pixel of every frame of a video attends to the audio of
    all T frames with dot-product affinities divided by the token count M = T·h·w (no softmax), followed by a
    1×1×1 conv + BatchNorm (zero-initialised, so a fresh block is the identity), a residual and a LayerNorm.

    The affinity `theta_p · phi_q` takes only T distinct values per pixel p (the audio is constant within a frame),
    so `y = theta @ (sum_t phi_t G_tᵀ) / M` with `G_t` the sum of `g` over frame t: exact, and O(M) instead of
    O(M²) memory. Both `g` and `theta` are linear, so `G_t = W_g (sum of frame t's pixels) + h·w·b_g`, and the
    theta embedding and the output conv fold into a rank-T `C × C` map per video applied to the pixels.
    """

    def __init__(self, channels: int, inter_channels: int, audio_dim: int):
        super().__init__()
        self.audio_proj = nn.Linear(audio_dim, channels)
        self.layer_norm = nn.LayerNorm(channels)
        self.g = nn.Conv3d(channels, inter_channels, kernel_size=1)
        self.theta = nn.Conv3d(channels, inter_channels, kernel_size=1)
        self.phi = nn.Conv3d(channels, inter_channels, kernel_size=1)
        self.output_conv = nn.Conv3d(inter_channels, channels, kernel_size=1)
        self.output_norm = nn.BatchNorm3d(channels)

    def forward(self, visual: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Args:
            visual (`torch.FloatTensor` of shape `(B, C, T, h, w)`): projected stage features of B videos.
            audio (`torch.FloatTensor` of shape `(B, T, audio_dim)`): one audio embedding per frame.

        Returns:
            `(B, C, T, h, w)` fused features and the aligned audio features `(B, T, C)`.
        """
        batch, channels, frames, height, width = visual.shape
        num_tokens = frames * height * width
        pixels = visual.transpose(1, 2).reshape(batch * frames, channels, height * width)  # a view for frame maps
        audio_features = self.audio_proj(audio)
        phi = F.linear(audio_features, self.phi.weight.flatten(1), self.phi.bias)  # [B, T, I]
        g = F.linear(pixels.sum(dim=2), self.g.weight.flatten(1), height * width * self.g.bias)  # [B·T, I]
        # output_conv(y) = W_o (Σ_t g_t phi_tᵀ) (W_θ x + b_θ) / M + b_o = U (Vᵀ x + Φ b_θ) + b_o per video, with
        # U = W_o Gᵀ / M and V = W_θᵀ Φᵀ of rank T: 2·T·C multiply-adds per pixel instead of 2·I·C.
        left = torch.matmul(self.output_conv.weight.flatten(1), g.view(batch, frames, -1).transpose(1, 2))
        left = (left / num_tokens).repeat_interleave(frames, dim=0)  # U: [B·T, C, T]
        right = torch.matmul(phi, self.theta.weight.flatten(1))  # Vᵀ: [B, T, C]
        offset = torch.matmul(phi, self.theta.bias)[:, :, None].repeat_interleave(frames, dim=0)  # Φ b_θ
        projected = torch.baddbmm(offset, right.repeat_interleave(frames, dim=0), pixels)  # [B·T, T, h·w]
        attended = torch.baddbmm(self.output_conv.bias[:, None], left, projected)  # [B·T, C, h·w]
        attended = self.output_norm(attended.view(batch * frames, channels, 1, height, width)).flatten(2)
        fused = F.layer_norm(
            (attended + pixels).transpose(1, 2),
            (channels,),
            self.layer_norm.weight,
            self.layer_norm.bias,
            self.layer_norm.eps,
        )  # [B·T, h·w, C]
        fused = fused.transpose(1, 2).reshape(batch, frames, channels, height, width).transpose(1, 2)
        return fused, audio_features


class AVSBenchResidualConvUnit(nn.Module):
    """`RCU(x) = relu(x) + conv2(relu(conv1(relu(x))))` (the original's in-place ReLU makes the skip ReLU'd)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        activated = F.relu(features)
        return activated + self.conv2(F.relu(self.conv1(activated)))


class AVSBenchFusionBlock(GradientCheckpointingLayer):
    """`FFB(a, b) = up2(RCU2(a + RCU1(b)))`, `FFB(a) = up2(RCU2(a))`, bilinear ×2 with `align_corners=True`."""

    def __init__(self, channels: int):
        super().__init__()
        self.residual_unit1 = AVSBenchResidualConvUnit(channels)
        self.residual_unit2 = AVSBenchResidualConvUnit(channels)

    def forward(
        self, features: torch.Tensor, lateral: torch.Tensor | None = None, upsample: bool = True
    ) -> torch.Tensor:
        """`upsample=False` returns the map before `up2` (the mask head applies it, see [`UpsamplingMaskHead`])."""
        if lateral is not None:
            features = features + self.residual_unit1(lateral)
        features = self.residual_unit2(features)
        return F.interpolate(features, **FUSION_UPSAMPLING) if upsample else features


class AVSBenchPreTrainedModel(AudioVisualSegmentationPreTrainedModel):
    config: AVSBenchConfig
    _no_split_modules = ["AVSBenchTPAVIBlock", "AVSBenchFusionBlock"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Backbone and audio encoder are sub-models: transformers dispatches their own `_init_weights`."""
        if isinstance(module, AVSBenchDilatedConv):
            init.normal_(module.weight, mean=0.0, std=self.config.aspp_initializer_range)
            init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm3d):
            # The TPAVI output BatchNorm is zero-initialised: a new TPAVI block is identity + LayerNorm.
            init.zeros_(module.weight)
            init.zeros_(module.bias)
            init.zeros_(module.running_mean)
            init.ones_(module.running_var)
        elif isinstance(module, (nn.Conv2d, nn.Conv3d, nn.Linear)):
            init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, AudioVisualSimilarityHead):
            self.init_similarity_head(module)


class AVSBenchForAudioVisualSegmentation(AVSBenchPreTrainedModel):
    """
    AVSBench TPAVI model: PVT-v2 backbone → per-stage dilated projections to `hidden_size` → TPAVI blocks on
    `config.tpavi_stages` → Panoptic-FPN-style decoder with residual conv units → mask head, plus the
    AVSBench-Robust similarity head (VGGish embedding projected to the last stage's channels vs. the pooled
    stage-4 map; an extension: the original robust code exists only for AVSegFormer).
    """

    def __init__(self, config: AVSBenchConfig):
        super().__init__(config)
        self.backbone = self._build_backbone()
        self.audio_encoder = self._build_audio_encoder()
        channels = self.backbone.channels
        hidden = config.hidden_size
        self.stage_projections = nn.ModuleList(
            AVSBenchDilatedProjection(c, hidden, tuple(config.aspp_dilations)) for c in channels
        )
        self.tpavi_blocks = nn.ModuleDict(
            {
                str(stage): AVSBenchTPAVIBlock(hidden, config.tpavi_inter_channels, config.audio_embed_dim)
                for stage in sorted(config.tpavi_stages)
            }
        )
        self.fusion_blocks = nn.ModuleList(AVSBenchFusionBlock(hidden) for _ in channels)
        self.mask_head = UpsamplingMaskHead(hidden, *config.mask_head_channels, scale_factor=2)
        self.similarity_head = self._build_similarity_head(config.audio_embed_dim)
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor,
        input_features: torch.Tensor | None = None,
        audio_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        pair_labels: torch.Tensor | None = None,
        label_mask: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> AudioVisualSegmentationOutput | tuple:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(N, 3, H, W)`):
                Normalised frames, N = B·T (T = `config.num_frames`), video-major; H and W multiples of 32.
            input_features (`torch.FloatTensor` of shape `(N, 1, 96, 64)`, *optional*):
                VGGish log-mel example of each frame's second of audio.
            audio_embeds (`torch.FloatTensor` of shape `(N, 128)`, *optional*):
                Precomputed audio embeddings (instead of `input_features`).
            labels (`torch.Tensor` of shape `(N, H, W)`, *optional*): Ground-truth masks (0/1).
            pair_labels (`torch.Tensor` of shape `(N,)`, *optional*): 1 for aligned audio, 0 for a negative.
            label_mask (`torch.Tensor` of shape `(N,)`, *optional*):
                Frames whose mask is supervised (S4 train annotates the first frame of each video only).

        Returns:
            [`AudioVisualSegmentationOutput`] with `logits` `(N, 1, H, W)` and `similarity` `(N,)`.
        """
        frames = self.config.num_frames
        labels = self.check_inputs(pixel_values, labels, pair_labels, label_mask, frames_per_video=frames)
        audio_embeds = self.encode_audio(input_features, audio_embeds, pixel_values.shape[0])
        stage_maps = self.backbone(pixel_values).feature_maps

        video_audio = audio_embeds.view(-1, frames, audio_embeds.shape[-1])
        projected = []
        audio_features = []
        for stage, (features, projection) in enumerate(zip(stage_maps, self.stage_projections)):
            features = projection(features)
            if str(stage) in self.tpavi_blocks:
                features, stage_audio = self._apply_tpavi(self.tpavi_blocks[str(stage)], features, video_audio)
                audio_features.append(stage_audio.flatten(0, 1))
            projected.append(features)

        # The first block's upsampling is left to the mask head, which convolves before upsampling.
        decoded = self.fusion_blocks[-1](projected[-1], upsample=len(projected) > 1)
        for stage in range(len(projected) - 2, -1, -1):
            decoded = self.fusion_blocks[stage](decoded, projected[stage], upsample=stage > 0)
        upsampling = (FUSION_UPSAMPLING["scale_factor"], FUSION_UPSAMPLING["align_corners"])
        similarity = self.similarity_head(audio_embeds, stage_maps[-1])
        logits = self.gate_by_presence(self.mask_head(decoded, input_upsampling=upsampling), similarity)

        segmentation_loss = None
        if labels is not None:
            frames = self.segmentation_frames(label_mask, pair_labels)
            segmentation_loss = self._segmentation_loss(logits, labels, frames, projected, audio_features)
        return self.build_output(
            logits,
            similarity,
            segmentation_loss,
            pair_labels,
            audio_embeds,
            stage_maps,
            output_hidden_states,
            return_dict,
        )

    def _apply_tpavi(
        self, block: AVSBenchTPAVIBlock, features: torch.Tensor, video_audio: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run a TPAVI block on `[N, C, h, w]` features reshaped to videos `[B, C, T, h, w]`."""
        batch, frames = video_audio.shape[:2]
        _, channels, height, width = features.shape
        video = features.view(batch, frames, channels, height, width).transpose(1, 2)
        fused, stage_audio = block(video, video_audio)
        return fused.transpose(1, 2).reshape(batch * frames, channels, height, width), stage_audio

    def _segmentation_loss(
        self,
        logits: torch.Tensor,
        labels: torch.Tensor,
        label_mask: torch.Tensor | None,
        projected: list[torch.Tensor],
        audio_features: list[torch.Tensor],
    ) -> torch.Tensor:
        """Per-pixel BCE on the supervised frames (0 without any; + `sa_loss_weight` × the MS3 masked AV KL loss)."""
        selected_logits, selected_labels = self.select_supervised(label_mask, logits[:, 0], labels)
        if len(selected_logits):
            loss = F.binary_cross_entropy_with_logits(selected_logits, selected_labels)
        else:  # e.g. a batch of negative pairs with `segmentation_loss_on_negatives=False`
            loss = logits.sum() * 0
        if self.config.sa_loss_weight > 0:
            tpavi_maps = [projected[stage] for stage in sorted(self.config.tpavi_stages)]
            map_loss = masked_av_kl_loss(logits, tpavi_maps, audio_features, self.config.sa_loss_normalize_features)
            loss = loss + self.config.sa_loss_weight * map_loss
        return loss


AVSBenchForAudioVisualSegmentation.register_for_auto_class("AutoModel")

__all__ = ["AVSBenchForAudioVisualSegmentation", "AVSBenchPreTrainedModel"]
