"""Named training presets reproducing the settings of the AVSBench, AVSegFormer and AVSBench-Robust papers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from transformers import SchedulerType

from ..data.schema import NEGATIVE_CONDITIONS

SUPERVISED_FRAMES = ("first", "all")
OPTIMIZERS = ("adam", "adamw")
LR_SCHEDULERS = tuple(scheduler.value for scheduler in SchedulerType)


@dataclass(frozen=True)
class TrainingRecipe:
    r"""
    Everything a robust AVS training run needs besides the data location. Every field can be overridden with
    [`get_recipe`] (`get_recipe("avsbench-s4", num_epochs=3)`).

    Args:
        name (`str`): Preset name (informative; written into the model card).
        model_type (`str`): `AutoConfig` model type of the architecture (`"avsbench"`, `"avsegformer"`).
        dataset_config (`str`): AVSBench-Robust configuration, `"s4"` or `"ms3"`.
        image_size (`int`): Side of the square model input (a multiple of 32).
        optimizer (`str`): `"adam"` or `"adamw"` (torch implementations).
        learning_rate (`float`), weight_decay (`float`): Optimiser settings.
        lr_scheduler_type (`str`): `transformers` learning-rate schedule (`"constant"`, as every original recipe;
            `"linear"` decays it to 0 over the run).
        batch_size (`int`): Videos per device and step (a video is `num_frames` frames).
        num_epochs (`int`): Training epochs.
        supervised_frames (`str`): `"first"` (S4 train annotates only the first frame) or `"all"`.
        negative_ratio (`float`): Fraction of the training pairs of an epoch that are negatives (0 = positive-only).
        train_negative_conditions (`tuple[str, ...]`): Conditions negatives are drawn from, in equal shares (noise
            is evaluation-only in the official recipe, but can be selected); a condition listed twice gets two shares.
        similarity_loss_weight (`float`): λ in `L = λ·L_BCE + L_seg` (0 disables the similarity loss).
        freeze_audio_encoder (`bool`): Keep the audio encoder frozen, as every original recipe.
        freeze_backbone_epochs (`int`): Epochs during which the visual backbone gets no gradient (AVSegFormer).
        model_overrides (`dict`): Extra architecture config fields (e.g. `sa_loss_weight`, `mix_loss_weight`).
        model_selection_metric (`str`): Evaluation metric that selects the best checkpoint (G-mIoU by default).
        base_model (`str`, *optional*): Hub id of the pretrained model the run starts from (for the model card).
    """

    name: str
    model_type: str
    dataset_config: str
    image_size: int
    optimizer: str
    learning_rate: float
    batch_size: int
    num_epochs: int
    supervised_frames: str
    weight_decay: float = 0.0
    lr_scheduler_type: str = "constant"
    negative_ratio: float = 0.10
    train_negative_conditions: tuple[str, ...] = ("silence", "offscreen")
    similarity_loss_weight: float = 1.0
    freeze_audio_encoder: bool = True
    freeze_backbone_epochs: int = 0
    model_overrides: dict = field(default_factory=dict)
    model_selection_metric: str = "g_miou"
    base_model: str | None = None

    def __post_init__(self) -> None:
        if self.image_size <= 0 or self.image_size % 32:
            raise ValueError(
                f"recipe {self.name!r}: image_size must be a positive multiple of 32, got {self.image_size}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"recipe {self.name!r}: optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.supervised_frames not in SUPERVISED_FRAMES:
            raise ValueError(
                f"recipe {self.name!r}: supervised_frames must be one of {SUPERVISED_FRAMES}, "
                f"got {self.supervised_frames!r}"
            )
        if self.lr_scheduler_type not in LR_SCHEDULERS:
            raise ValueError(
                f"recipe {self.name!r}: lr_scheduler_type must be one of {LR_SCHEDULERS}, got {self.lr_scheduler_type!r}"
            )
        if not 0.0 <= self.negative_ratio < 1.0:
            raise ValueError(f"recipe {self.name!r}: negative_ratio must be in [0, 1), got {self.negative_ratio}")
        unknown = [c for c in self.train_negative_conditions if c not in NEGATIVE_CONDITIONS]
        if unknown or (self.negative_ratio > 0 and not self.train_negative_conditions):
            raise ValueError(
                f"recipe {self.name!r}: train_negative_conditions must be a non-empty subset of "
                f"{NEGATIVE_CONDITIONS}, got {list(self.train_negative_conditions)}"
            )
        for name in ("learning_rate", "batch_size", "num_epochs"):
            if getattr(self, name) <= 0:
                raise ValueError(f"recipe {self.name!r}: {name} must be > 0, got {getattr(self, name)}")
        if self.similarity_loss_weight < 0 or self.freeze_backbone_epochs < 0 or self.weight_decay < 0:
            raise ValueError(
                f"recipe {self.name!r}: similarity_loss_weight, freeze_backbone_epochs and weight_decay must be >= 0"
            )

    def replace(self, **overrides) -> TrainingRecipe:
        """A copy with some fields changed (unknown names raise a `ValueError` listing the valid ones)."""
        valid = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - valid)
        if unknown:
            raise ValueError(f"unknown recipe field(s) {unknown}; valid fields: {sorted(valid)}")
        if "train_negative_conditions" in overrides:
            overrides["train_negative_conditions"] = tuple(overrides["train_negative_conditions"])
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


RECIPES: dict[str, TrainingRecipe] = {
    "avsbench-s4": TrainingRecipe(
        name="avsbench-s4",
        model_type="avsbench",
        dataset_config="s4",
        image_size=224,
        optimizer="adam",
        learning_rate=1e-4,
        batch_size=4,
        num_epochs=15,
        supervised_frames="first",
    ),
    "avsbench-ms3": TrainingRecipe(
        name="avsbench-ms3",
        model_type="avsbench",
        dataset_config="ms3",
        image_size=224,
        optimizer="adam",
        learning_rate=1e-4,
        batch_size=4,
        num_epochs=30,
        supervised_frames="all",
        model_overrides={"sa_loss_weight": 0.5},
    ),
    "avsegformer-s4": TrainingRecipe(
        name="avsegformer-s4",
        model_type="avsegformer",
        dataset_config="s4",
        image_size=512,
        optimizer="adamw",
        learning_rate=2e-5,
        weight_decay=0.01,
        batch_size=2,
        num_epochs=30,
        supervised_frames="first",
        freeze_backbone_epochs=5,
        model_overrides={"mix_loss_weight": 0.1},
    ),
    "avsegformer-ms3": TrainingRecipe(
        name="avsegformer-ms3",
        model_type="avsegformer",
        dataset_config="ms3",
        image_size=512,
        optimizer="adamw",
        learning_rate=2e-5,
        weight_decay=0.01,
        batch_size=2,
        num_epochs=60,
        supervised_frames="all",
        freeze_backbone_epochs=10,
        model_overrides={"mix_loss_weight": 0.1},
    ),
}


def get_recipe(preset: str, /, **overrides) -> TrainingRecipe:
    """The preset named `preset` (see `RECIPES`) with `overrides` (any recipe field, `name` included) applied."""
    if preset not in RECIPES:
        raise ValueError(f"unknown recipe {preset!r}; available: {sorted(RECIPES)}")
    return RECIPES[preset].replace(**overrides) if overrides else RECIPES[preset]


__all__ = ["RECIPES", "SUPERVISED_FRAMES", "TrainingRecipe", "get_recipe"]
