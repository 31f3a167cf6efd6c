"""Sizes of the reproduction (`--size`): data, shared encoders, model configurations and schedule.

Both architectures share the data, the class-pretrained encoders (the same small PVT-v2 and VGGish) and the
schedule of one size, so every row of both tables starts from the same encoders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ARCHITECTURES: tuple[str, ...] = ("avsbench", "avsegformer")


@dataclass(frozen=True)
class ReproductionSize:
    r"""
    One `--size` of the reproduction.

    Args:
        name (`str`): the size's name.
        train_videos, validation_videos, test_videos (`int`): videos of the synthetic S4 splits.
        unseen_videos (`int`): test videos each unseen sound is paired with.
        image_size (`int`): side of the frames.
        num_epochs, batch_size (`int`), learning_rate (`float`): the schedule of every row (constant rate, as every
            original recipe).
        model_configs (`dict`): `{architecture: config overrides}`; their `backbone_config` and `audio_config` must be
            the same (the encoders are pretrained once and shared).
        per_frame (`bool`): train on the supervised frame of each video only (models with `num_frames=1`).
        audio_pretraining_epochs (`int`): epochs of the audio encoder's class pretraining on the training sounds.
        visual_pretraining_frames, visual_pretraining_epochs (`int`): generated frames the backbone is
            class-pretrained on (the stand-in for ImageNet; 0 = none, e.g. with ImageNet weights on a GPU) and epochs.
        cpu_threads (`int`, *optional*): intra-op threads of each training process on a CPU (None: torch's default).
        max_unseen_clips (`int`, *optional*): cap on the real unseen clips of `--unseen-audio` (tests).
        description (`str`): one line for `--help` and the model cards.
    """

    name: str
    train_videos: int
    validation_videos: int
    test_videos: int
    unseen_videos: int
    image_size: int
    num_epochs: int
    batch_size: int
    learning_rate: float
    model_configs: dict = field(default_factory=dict)
    per_frame: bool = True
    audio_pretraining_epochs: int = 8
    visual_pretraining_frames: int = 0
    visual_pretraining_epochs: int = 3
    cpu_threads: int | None = 1
    max_unseen_clips: int | None = None
    description: str = ""

    def limit_threads(self) -> None:
        """Set this process's intra-op threads to `cpu_threads` on a CPU: the small models train several times faster
        on one thread each, in parallel processes, than on two (measured on the 2-core reference machine: their
        operations are too small to share)."""
        import torch

        if self.cpu_threads is not None and not torch.cuda.is_available():
            torch.set_num_threads(self.cpu_threads)

    def encoder_config(self) -> dict:
        """The shared encoders' `backbone_config` and `audio_config` (checked to be the same for every architecture)."""
        configs = [
            {key: config.get(key) for key in ("backbone_config", "audio_config")}
            for config in self.model_configs.values()
        ]
        if any(config != configs[0] for config in configs[1:]):
            raise ValueError(f"size {self.name!r}: the architectures must share backbone_config and audio_config")
        return configs[0]


def _small_encoders(hidden_sizes: list[int], vggish_channels: list[int], vggish_hidden: int) -> dict:
    from transformers import PvtV2Config

    from ..configuration_vggish import VGGishConfig

    return {
        "backbone_config": PvtV2Config(
            depths=[1, 1, 1, 1],
            hidden_sizes=hidden_sizes,
            num_attention_heads=[1, 1, 2, 2],
            out_features=["stage1", "stage2", "stage3", "stage4"],
        ).to_dict(),
        "audio_config": VGGishConfig(
            conv_channels=vggish_channels, hidden_sizes=[vggish_hidden, vggish_hidden]
        ).to_dict(),
    }


def _small_configs(encoders: dict, hidden: int, mask_head: list[int], queries: int) -> dict:
    """Per-frame TPAVI and a small AVSegFormer (one encoder, decoder and query-generator layer) of width `hidden`."""
    common = {**encoders, "hidden_size": hidden, "mask_head_channels": mask_head, "num_frames": 1}
    heads = 4 if hidden % 4 == 0 else 1
    return {
        "avsbench": {**common, "tpavi_inter_channels": hidden // 2},
        "avsegformer": {
            **common,
            "num_queries": queries,
            "encoder_layers": 1,
            "encoder_attention_heads": heads,
            "encoder_n_points": 2,
            "encoder_ffn_dim": 2 * hidden,
            "decoder_layers": 1,
            "decoder_attention_heads": heads,
            "decoder_ffn_dim": 2 * hidden,
            "query_generator_layers": 1,
            "query_generator_attention_heads": heads,
            "query_generator_ffn_dim": 2 * hidden,
            "mixer_attention_heads": heads,
            "mask_mlp_dim": 2 * hidden,
            "num_groups": 8,
        },
    }


def _sizes() -> dict[str, ReproductionSize]:
    smoke_encoders = _small_encoders([8, 16, 32, 64], [4, 4, 8, 8, 8, 8], 16)
    small_encoders = _small_encoders([16, 32, 64, 128], [8, 16, 16, 32, 32, 32], 64)
    return {
        "smoke": ReproductionSize(
            name="smoke",
            train_videos=8,
            validation_videos=2,
            test_videos=2,
            unseen_videos=2,
            image_size=32,
            num_epochs=1,
            batch_size=4,
            learning_rate=1e-3,
            model_configs=_small_configs(smoke_encoders, 16, [16, 8], 4),
            audio_pretraining_epochs=1,
            visual_pretraining_frames=64,
            visual_pretraining_epochs=1,
            max_unseen_clips=2,
            description="a few steps of tiny models, for tests only (the numbers mean nothing)",
        ),
        "small": ReproductionSize(
            name="small",
            train_videos=400,
            validation_videos=40,
            test_videos=100,
            unseen_videos=40,
            image_size=32,
            num_epochs=30,
            batch_size=16,
            learning_rate=1e-3,
            model_configs=_small_configs(small_encoders, 32, [32, 16], 16),
            visual_pretraining_frames=50_000,
            visual_pretraining_epochs=4,
            description=(
                "per-frame TPAVI and a one-layer AVSegFormer on a small PVT-v2 and VGGish class-pretrained on generated "
                "data, 32×32 frames, 400 training videos, 30 epochs (2 CPU cores)"
            ),
        ),
        "paper": ReproductionSize(
            name="paper",
            train_videos=3452,
            validation_videos=740,
            test_videos=740,
            unseen_videos=740,
            image_size=224,
            num_epochs=15,
            batch_size=4,
            learning_rate=1e-4,
            model_configs={"avsbench": {"num_frames": 5}, "avsegformer": {"num_frames": 5}},
            per_frame=False,
            visual_pretraining_frames=0,
            cpu_threads=None,
            description=(
                "the full architectures (PVT-v2-b5, VGGish) at 224×224 on an S4-sized synthetic benchmark, 5-frame "
                "TPAVI, the papers' learning rate (GPU)"
            ),
        ),
    }


SIZES: dict[str, ReproductionSize] = _sizes()


def small_model_config(architecture: str, size: str = "small") -> dict:
    """
    The config overrides of `architecture` (`"avsbench"` or `"avsegformer"`) at a reproduction size: a small model
    that trains on a CPU (`AutoConfig.for_model(architecture, **small_model_config(architecture))`).
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; choose one of {ARCHITECTURES}")
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {sorted(SIZES)}")
    return dict(SIZES[size].model_configs[architecture])


__all__ = ["ARCHITECTURES", "SIZES", "ReproductionSize", "small_model_config"]
