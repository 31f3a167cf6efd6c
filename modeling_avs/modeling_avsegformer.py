"""AVSegFormer (Gao et al., AAAI 2024) with the AVSBench-Robust similarity head."""

import torch
import torch.nn.functional as F
from torch import nn
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer

from .configuration_avsegformer import AVSegFormerConfig
from .deformable_attention import DeformableAttentionWeights, DeformableSamplingOffsets, MultiScaleDeformableAttention
from .losses import dice_loss
from .modeling_audio_visual_segmentation import AudioVisualSegmentationPreTrainedModel
from .modeling_outputs import AudioVisualSegmentationOutput
from .similarity_head import AudioVisualSimilarityHead
from .upsampled_convolution import UpsamplingMaskHead

# Backbone stages (0-based) whose projections feed the deformable encoder; stage 0 feeds the mask feature only.
ENCODER_STAGES = (1, 2, 3)


def sine_position_embedding(height: int, width: int, channels: int, temperature: float, device) -> torch.Tensor:
    """
    Unnormalised 2-D sine position encoding of an `height × width` map (DETR's encoding with `normalize=False`,
    i.e. positions are the raw counts 1..H and 1..W). The first `channels/2` channels encode y, the others x,
    each interleaving `sin` (even channels) and `cos` (odd channels) of `pos / temperature^(2⌊k/2⌋/(channels/2))`.

    Returns:
        `torch.FloatTensor` of shape `(height·width, channels)`, row-major over the map.
    """
    num_feats = channels // 2
    dim_t = torch.arange(num_feats, dtype=torch.float32, device=device)
    dim_t = temperature ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / num_feats)
    y_embed = torch.arange(1, height + 1, dtype=torch.float32, device=device)[:, None].expand(height, width)
    x_embed = torch.arange(1, width + 1, dtype=torch.float32, device=device)[None, :].expand(height, width)

    def encode(positions: torch.Tensor) -> torch.Tensor:
        angles = positions[..., None] / dim_t
        return torch.stack([angles[..., 0::2].sin(), angles[..., 1::2].cos()], dim=-1).flatten(-2)

    return torch.cat([encode(y_embed), encode(x_embed)], dim=-1).flatten(0, 1)


def encoder_reference_points(spatial_shapes: list[tuple[int, int]], device) -> torch.Tensor:
    """
    Pixel centres `((j + 0.5)/W_l, (i + 0.5)/H_l)` of every token of every level (no padding, so valid ratios are 1),
    repeated for each level. Returns `(1, L, levels, 2)` with L = Σ H_l·W_l.
    """
    points = []
    for height, width in spatial_shapes:
        ref_y, ref_x = torch.meshgrid(
            torch.linspace(0.5, height - 0.5, height, dtype=torch.float32, device=device),
            torch.linspace(0.5, width - 0.5, width, dtype=torch.float32, device=device),
            indexing="ij",
        )
        points.append(torch.stack([ref_x.reshape(-1) / width, ref_y.reshape(-1) / height], dim=-1))
    return torch.cat(points)[None, :, None, :].expand(1, -1, len(spatial_shapes), 2)


class AVSegFormerConvNorm(nn.Sequential):
    """Conv2d → GroupNorm (→ ReLU): the stage projections (1×1), the lateral (1×1) and output (3×3) mask convs."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, num_groups: int, relu: bool = False):
        layers = [
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
            nn.GroupNorm(num_groups, out_channels),
        ]
        if relu:
            layers.append(nn.ReLU())
        super().__init__(*layers)


class AVSegFormerAttention(nn.Module):
    """Multi-head attention (as `nn.MultiheadAttention`, separate q/k/v projections) computed with SDPA."""

    def __init__(self, hidden_size: int, num_heads: int, bias: bool = True, dropout: float = 0.0):
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(hidden_size, hidden_size, bias=bias)
        self.k_proj = nn.Linear(hidden_size, hidden_size, bias=bias)
        self.v_proj = nn.Linear(hidden_size, hidden_size, bias=bias)
        self.out_proj = nn.Linear(hidden_size, hidden_size, bias=bias)

    def forward(self, queries: torch.Tensor, keys_values: torch.Tensor) -> torch.Tensor:
        """`queries` `(B, Lq, C)` attend over `keys_values` `(B, Lk, C)` → `(B, Lq, C)`."""
        batch, num_queries, channels = queries.shape
        head_dim = channels // self.num_heads

        def split_heads(states: torch.Tensor) -> torch.Tensor:
            return states.view(batch, -1, self.num_heads, head_dim).transpose(1, 2)

        output = F.scaled_dot_product_attention(
            split_heads(self.q_proj(queries)),
            split_heads(self.k_proj(keys_values)),
            split_heads(self.v_proj(keys_values)),
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.out_proj(output.transpose(1, 2).reshape(batch, num_queries, channels))


class AVSegFormerEncoderLayer(GradientCheckpointingLayer):
    """Post-norm layer: `x = LN(x + MSDeformAttn(x + pos, x))`, `x = LN(x + FFN(x))` (GELU)."""

    def __init__(self, config: AVSegFormerConfig):
        super().__init__()
        hidden = config.hidden_size
        self.self_attn = MultiScaleDeformableAttention(
            hidden,
            config.encoder_attention_heads,
            len(ENCODER_STAGES),
            config.encoder_n_points,
            config.deformable_attention_implementation,
        )
        self.self_attn_layer_norm = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, config.encoder_ffn_dim)
        self.fc2 = nn.Linear(config.encoder_ffn_dim, hidden)
        self.final_layer_norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        hidden_states: torch.Tensor,
        position_embeddings: torch.Tensor,
        reference_points: torch.Tensor,
        spatial_shapes: list[tuple[int, int]] | None = None,
    ) -> torch.Tensor:
        """`hidden_states` `(N, L, C)`, `position_embeddings` `(1, L, C)`, `reference_points` `(1, L, levels, 2)`."""
        attended = self.self_attn(hidden_states + position_embeddings, reference_points, hidden_states, spatial_shapes)
        hidden_states = self.self_attn_layer_norm(hidden_states + self.dropout(attended))
        transformed = self.fc2(self.dropout(F.gelu(self.fc1(hidden_states))))
        return self.final_layer_norm(hidden_states + self.dropout(transformed))


class AVSegFormerEncoder(nn.Module):
    """Deformable-attention encoder over the flattened projected stages 2–4 (Deformable DETR encoder)."""

    def __init__(self, config: AVSegFormerConfig):
        super().__init__()
        self.layers = nn.ModuleList(AVSegFormerEncoderLayer(config) for _ in range(config.encoder_layers))

    def forward(
        self,
        hidden_states: torch.Tensor,
        position_embeddings: torch.Tensor,
        spatial_shapes: list[tuple[int, int]],
    ) -> torch.Tensor:
        """`(N, L, C)` tokens of all levels (+ `(1, L, C)` position and level embeddings) → memory `(N, L, C)`."""
        reference_points = encoder_reference_points(spatial_shapes, hidden_states.device).to(hidden_states.dtype)
        for layer in self.layers:
            hidden_states = layer(hidden_states, position_embeddings, reference_points, spatial_shapes=spatial_shapes)
        return hidden_states


class AVSegFormerQueryGeneratorLayer(GradientCheckpointingLayer):
    """Post-norm layer: bias-free self-attention, bias-free cross-attention to the audio token, FFN (GELU)."""

    def __init__(self, config: AVSegFormerConfig):
        super().__init__()
        hidden = config.hidden_size
        heads = config.query_generator_attention_heads
        self.self_attn = AVSegFormerAttention(hidden, heads, bias=False)
        self.self_attn_layer_norm = nn.LayerNorm(hidden)
        self.audio_attn = AVSegFormerAttention(hidden, heads, bias=False)
        self.audio_attn_layer_norm = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, config.query_generator_ffn_dim)
        self.fc2 = nn.Linear(config.query_generator_ffn_dim, hidden)
        self.final_layer_norm = nn.LayerNorm(hidden)

    def forward(self, queries: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """`queries` `(N, Q, C)`, `audio` `(N, 1, C)` → `(N, Q, C)`."""
        queries = self.self_attn_layer_norm(queries + self.self_attn(queries, queries))
        queries = self.audio_attn_layer_norm(queries + self.audio_attn(queries, audio))
        return self.final_layer_norm(queries + self.fc2(F.gelu(self.fc1(queries))))


class AVSegFormerQueryGenerator(nn.Module):
    """Learned queries conditioned on the frame's audio token (AVSegFormer's `AttentionGenerator`)."""

    def __init__(self, config: AVSegFormerConfig):
        super().__init__()
        self.query_embed = nn.Embedding(config.num_queries, config.hidden_size)
        self.layers = nn.ModuleList(
            AVSegFormerQueryGeneratorLayer(config) for _ in range(config.query_generator_layers)
        )

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """`audio` `(N, 1, C)` → queries `(N, Q, C)`."""
        queries = self.query_embed.weight[None].expand(audio.shape[0], -1, -1)
        for layer in self.layers:
            queries = layer(queries, audio)
        return queries


class AVSegFormerDecoderLayer(GradientCheckpointingLayer):
    """Post-norm transformer decoder layer without positional embeddings (self-attn, cross-attn, FFN with GELU)."""

    def __init__(self, config: AVSegFormerConfig):
        super().__init__()
        hidden = config.hidden_size
        heads = config.decoder_attention_heads
        self.self_attn = AVSegFormerAttention(hidden, heads, dropout=config.dropout)
        self.self_attn_layer_norm = nn.LayerNorm(hidden)
        self.encoder_attn = AVSegFormerAttention(hidden, heads, dropout=config.dropout)
        self.encoder_attn_layer_norm = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, config.decoder_ffn_dim)
        self.fc2 = nn.Linear(config.decoder_ffn_dim, hidden)
        self.final_layer_norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, queries: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """`queries` `(N, Q, C)`, encoder `memory` `(N, L, C)` → `(N, Q, C)`."""
        queries = self.self_attn_layer_norm(queries + self.dropout(self.self_attn(queries, queries)))
        queries = self.encoder_attn_layer_norm(queries + self.dropout(self.encoder_attn(queries, memory)))
        transformed = self.fc2(self.dropout(F.gelu(self.fc1(queries))))
        return self.final_layer_norm(queries + self.dropout(transformed))


class AVSegFormerDecoder(nn.Module):
    def __init__(self, config: AVSegFormerConfig):
        super().__init__()
        self.layers = nn.ModuleList(AVSegFormerDecoderLayer(config) for _ in range(config.decoder_layers))

    def forward(self, queries: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """Returns the output of the last layer, `(N, Q, C)`."""
        for layer in self.layers:
            queries = layer(queries, memory)
        return queries


class AVSegFormerCrossModalMixer(nn.Module):
    """
    Audio-conditioned channel gate: the frame's audio token (one query) attends over all pixels of the mask feature
    (bias-free q/kv projections, `heads` heads); the output goes through `proj` and a sigmoid and scales the channels.

    The single query makes the attention low rank: `q_h·(W_k,h x) = (W_k,hᵀ q_h)·x` and `Σ_p a_p W_v,h x_p =
    W_v,h Σ_p a_p x_p`, so keys and values are never projected for the `H·W` pixels (same function, ~30× fewer
    operations at 128×128).
    """

    def __init__(self, hidden_size: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.q_proj = nn.Linear(hidden_size, hidden_size, bias=False)
        self.kv_proj = nn.Linear(hidden_size, 2 * hidden_size, bias=False)
        self.proj = nn.Linear(hidden_size, hidden_size)

    def forward(self, mask_features: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """
        Args:
            mask_features (`torch.FloatTensor` of shape `(N, C, H, W)`): mask feature map.
            audio (`torch.FloatTensor` of shape `(N, C)`): projected audio token of each frame.

        Returns:
            The gated map, `(N, C, H, W)` (N = 1 included).
        """
        batch, channels = audio.shape
        head_dim = channels // self.num_heads
        key_weight, value_weight = self.kv_proj.weight.view(2, self.num_heads, head_dim, channels).unbind(0)
        query = self.q_proj(audio).view(batch, self.num_heads, head_dim) * head_dim**-0.5
        pixel_query = torch.einsum("nhd,hdc->nhc", query, key_weight)  # [N, heads, C]
        pixels = mask_features.flatten(2)  # [N, C, H·W]
        attention = torch.bmm(pixel_query, pixels).softmax(dim=-1)  # [N, heads, H·W]
        pooled = torch.bmm(attention, pixels.transpose(1, 2))  # [N, heads, C]
        attended = torch.einsum("nhc,hdc->nhd", pooled, value_weight).reshape(batch, channels)
        gate = torch.sigmoid(self.proj(attended))
        return mask_features * gate[:, :, None, None]


class AVSegFormerMaskMLP(nn.Module):
    """
    The 1×1-conv MLP `Q → d → d → C` (ReLU between layers) applied to the per-query mask maps
    `einsum("nqc,nchw->nqhw", queries, mask_features)`, stored as `nn.Linear` layers.

    Computed channels-last as matmuls over pixels, with the first layer folded into the queries:
    `W_1 (Q F) = (W_1 Q) F` costs `d × C` instead of `Q × C + d × Q` multiply-adds per pixel.
    """

    def __init__(self, num_queries: int, hidden_dim: int, out_channels: int):
        super().__init__()
        self.layers = nn.ModuleList(
            [
                nn.Linear(num_queries, hidden_dim),
                nn.Linear(hidden_dim, hidden_dim),
                nn.Linear(hidden_dim, out_channels),
            ]
        )

    def forward(self, queries: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        """
        Args:
            queries (`torch.FloatTensor` of shape `(N, Q, C)`): decoder output.
            pixels (`torch.FloatTensor` of shape `(N, H·W, C)`): mask feature, channels-last.

        Returns:
            `torch.FloatTensor` of shape `(N, H·W, out_channels)`.
        """
        first, second, last = self.layers
        folded = torch.matmul(first.weight, queries)  # [N, d, C]
        hidden = torch.baddbmm(first.bias, pixels, folded.transpose(1, 2)).relu_()
        return last(second(hidden).relu_())


class AVSegFormerPreTrainedModel(AudioVisualSegmentationPreTrainedModel):
    config: AVSegFormerConfig
    independent_frames = True
    _no_split_modules = ["AVSegFormerEncoderLayer", "AVSegFormerDecoderLayer", "AVSegFormerQueryGeneratorLayer"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """
        AVSegFormer's head init: Xavier-uniform for every weight matrix (convs, linears, query embeddings), zero
        biases, Deformable DETR's init of the deformable attention projections and N(0, 1) level embeddings. Backbone
        and audio encoder are sub-models: transformers dispatches their own `_init_weights`. Decisions are taken at
        the leaf modules (a parent without own parameters is skipped for custom-code models).
        """
        if isinstance(module, DeformableSamplingOffsets):
            init.zeros_(module.weight)
            init.copy_(module.bias, module.initial_bias())
        elif isinstance(module, DeformableAttentionWeights):
            init.zeros_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, (nn.Conv2d, nn.Linear, nn.Embedding)):
            init.xavier_uniform_(module.weight)
            if getattr(module, "bias", None) is not None:
                init.zeros_(module.bias)
        elif isinstance(module, (nn.LayerNorm, nn.GroupNorm)):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, AVSegFormerForAudioVisualSegmentation):
            init.normal_(module.level_embed)
        elif isinstance(module, AudioVisualSimilarityHead):
            self.init_similarity_head(module)


class AVSegFormerForAudioVisualSegmentation(AVSegFormerPreTrainedModel):
    """
    AVSegFormer: PVT-v2 backbone; stages projected to `hidden_size` (1×1 conv + GroupNorm); a deformable-attention
    encoder over stages 2–4; audio-conditioned queries decoded against the encoder memory; a mask feature from
    stage 1 and the finest memory level, gated channel-wise by the audio (cross-modal mixer); per-query mask maps
    mixed by a 1×1-conv MLP, added to the mask feature and decoded to logits at the input resolution. Plus the
    AVSBench-Robust similarity head (`AVSegFormer_robust`): the projected audio token → `Linear(C, C_4)` vs the
    average-pooled raw stage-4 map, cosine similarity.
    """

    def __init__(self, config: AVSegFormerConfig):
        super().__init__(config)
        hidden = config.hidden_size
        self.backbone = self._build_backbone()
        self.audio_encoder = self._build_audio_encoder()
        channels = self.backbone.channels
        self.audio_proj = nn.Linear(config.audio_config.embedding_size, hidden)
        self.input_projections = nn.ModuleList(AVSegFormerConvNorm(c, hidden, 1, config.num_groups) for c in channels)
        self.level_embed = nn.Parameter(torch.empty(len(ENCODER_STAGES), hidden))
        self.encoder = AVSegFormerEncoder(config)
        self.query_generator = AVSegFormerQueryGenerator(config)
        self.learnable_queries = nn.Embedding(config.num_queries, hidden) if config.use_learnable_queries else None
        self.decoder = AVSegFormerDecoder(config)
        self.lateral_conv = AVSegFormerConvNorm(hidden, hidden, 1, config.num_groups)
        self.output_conv = AVSegFormerConvNorm(hidden, hidden, 3, config.num_groups, relu=True)
        self.mixer = AVSegFormerCrossModalMixer(hidden, config.mixer_attention_heads)
        self.mask_mlp = AVSegFormerMaskMLP(config.num_queries, config.mask_mlp_dim, hidden)
        self.mask_head = UpsamplingMaskHead(hidden, *config.mask_head_channels, scale_factor=4, last_bias=False)
        self.similarity_head = self._build_similarity_head(hidden)
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
        Frames are processed independently (N need not be a multiple of `config.num_frames`).

        Args:
            pixel_values (`torch.FloatTensor` of shape `(N, 3, H, W)`):
                Normalised frames (512×512 in the original recipe), H and W multiples of 32.
            input_features (`torch.FloatTensor` of shape `(N, 1, 96, 64)`, *optional*):
                VGGish log-mel example of each frame.
            audio_embeds (`torch.FloatTensor` of shape `(N, 128)`, *optional*):
                Precomputed VGGish embeddings (instead of `input_features`).
            labels (`torch.Tensor` of shape `(N, H, W)`, *optional*): Ground-truth masks (0/1, empty for negatives).
            pair_labels (`torch.Tensor` of shape `(N,)`, *optional*): 1 for aligned audio, 0 for a negative.
            label_mask (`torch.Tensor` of shape `(N,)`, *optional*): Frames whose mask is supervised.

        Returns:
            [`AudioVisualSegmentationOutput`] with `logits` `(N, 1, H, W)`, `similarity` `(N,)` and
            `mask_features` `(N, hidden_size, H/4, W/4)` (the audio-gated mask feature).
        """
        labels = self.check_inputs(pixel_values, labels, pair_labels, label_mask)
        audio_embeds = self.encode_audio(input_features, audio_embeds, pixel_values.shape[0])
        audio = self.audio_proj(audio_embeds)  # [N, C]
        stage_maps = self.backbone(pixel_values).feature_maps

        projected = [projection(features) for projection, features in zip(self.input_projections, stage_maps)]
        memory, spatial_shapes = self._encode(projected)

        queries = self.query_generator(audio[:, None])
        if self.learnable_queries is not None:
            queries = queries + self.learnable_queries.weight
        queries = self.decoder(queries, memory)

        height, width = spatial_shapes[0]
        finest_memory = memory[:, : height * width].unflatten(1, (height, width)).permute(0, 3, 1, 2)
        lateral = self.lateral_conv(projected[0])
        upsampled = F.interpolate(finest_memory, size=lateral.shape[-2:], mode="bilinear", align_corners=False)
        mask_features = self.mixer(self.output_conv(lateral + upsampled), audio)

        similarity = self.similarity_head(audio, stage_maps[-1])
        logits = self.gate_by_presence(self._decode_masks(queries, mask_features), similarity)

        segmentation_loss = None
        if labels is not None:
            frames = self.segmentation_frames(label_mask, pair_labels)
            segmentation_loss = self._segmentation_loss(logits, mask_features, labels, frames, pair_labels)
        return self.build_output(
            logits,
            similarity,
            segmentation_loss,
            pair_labels,
            audio_embeds,
            stage_maps,
            output_hidden_states,
            return_dict,
            mask_features=mask_features,
        )

    def _encode(self, projected: list[torch.Tensor]) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """Flatten the encoder stages with sine + level embeddings and run the encoder: memory `(N, L, C)`."""
        tokens, positions, spatial_shapes = [], [], []
        for level, stage in enumerate(ENCODER_STAGES):
            features = projected[stage]
            height, width = features.shape[-2:]
            spatial_shapes.append((height, width))
            tokens.append(features.flatten(2).transpose(1, 2))
            position = sine_position_embedding(
                height, width, self.config.hidden_size, self.config.position_temperature, features.device
            )
            positions.append(position.to(features.dtype) + self.level_embed[level])
        memory = self.encoder(torch.cat(tokens, dim=1), torch.cat(positions)[None], spatial_shapes)
        return memory, spatial_shapes

    def _decode_masks(self, queries: torch.Tensor, mask_features: torch.Tensor) -> torch.Tensor:
        """
        `fc(F + MLP(einsum(queries, F)))` → logits `(N, 1, 4h, 4w)`. The MLP and residual run channels-last, one
        frame at a time, which bounds the memory of the `d`-channel and full-resolution intermediates.
        """
        logits = []
        for frame_queries, frame_features in zip(queries.split(1), mask_features.split(1)):
            _, channels, height, width = frame_features.shape
            pixels = frame_features.permute(0, 2, 3, 1).reshape(1, height * width, channels)
            mixed = self.mask_mlp(frame_queries, pixels).add_(pixels)
            logits.append(self.mask_head(mixed.view(1, height, width, channels).permute(0, 3, 1, 2)))
        return torch.cat(logits).contiguous()

    def _segmentation_loss(
        self,
        logits: torch.Tensor,
        mask_features: torch.Tensor,
        labels: torch.Tensor,
        label_mask: torch.Tensor | None,
        pair_labels: torch.Tensor | None,
    ) -> torch.Tensor:
        """
        Dice on the supervised frames + `mix_loss_weight` × Dice of the channel-mean mask feature resized to the
        labels (+ with `negative_segmentation_loss="bce"`, per-pixel BCE on the supervised negative frames).
        """
        mask_mean = mask_features.mean(dim=1, keepdim=True)
        pairs = pair_labels if pair_labels is not None else torch.ones_like(labels[:, 0, 0])
        logits, mask_mean, labels, pairs = self.select_supervised(label_mask, logits[:, 0], mask_mean, labels, pairs)
        if labels.shape[0] == 0:  # e.g. a batch of negative pairs with `segmentation_loss_on_negatives=False`
            return mask_features.sum() * 0
        mix = F.interpolate(mask_mean, size=labels.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
        loss = dice_loss(logits, labels) + self.config.mix_loss_weight * dice_loss(mix, labels)
        negatives = pairs == 0
        if self.config.negative_segmentation_loss == "bce" and negatives.any():
            loss = loss + F.binary_cross_entropy_with_logits(logits[negatives], labels[negatives])
        return loss


AVSegFormerForAudioVisualSegmentation.register_for_auto_class("AutoModel")

__all__ = ["AVSegFormerForAudioVisualSegmentation", "AVSegFormerPreTrainedModel"]
