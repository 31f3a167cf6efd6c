"""The rows of the reproduction: the paper's Table 4 (trained as the paper trains each architecture) and our
extensions, each saying what it changes.

Paper rows, per architecture, with the architecture's official training (`training.recipes`): TPAVI with its
per-pixel BCE mask loss and Adam, everything but VGGish trained; AVSegFormer with Dice + 0.1·mix Dice (an empty
target gives zero mask gradient) and AdamW, its backbone frozen for the first sixth of the epochs, then trained.
Negatives are the official ones: 10 % of the pairs, half silence, half off-screen sound. These rows are reported
as the masks the model's `forward` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..training.recipes import TrainingRecipe, get_recipe
from .sizes import ReproductionSize

OFFICIAL_NEGATIVES = ("silence", "offscreen")
OFFICIAL_NEGATIVE_RATIO = 0.10
# AVSegFormer's S4 recipe keeps the backbone frozen for 5 of its 30 epochs.
AVSEGFORMER_FROZEN_FRACTION = 5 / 30
RECIPE_PRESETS = {"avsbench": "avsbench-s4", "avsegformer": "avsegformer-s4"}


@dataclass(frozen=True)
class Variant:
    """
    One row of an architecture's table.

    Args:
        name: key in `results.json` (`baseline`, `negatives_only`, `robust` are the paper's rows; `ours` is our
            headline).
        title: the row's label in `results.md`.
        description: what the row is, and for an extension what it changes.
        extension: not in the paper.
        recipe: overrides of the architecture's paper recipe (`TrainingRecipe` fields).
        model: config overrides of the model (`TrainingRecipe.model_overrides`), per architecture or `"*"` for all.
        gate_of: evaluation-only row: the model of that variant with a similarity gate calibrated on validation.
    """

    name: str
    title: str
    description: str
    extension: bool = False
    recipe: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    gate_of: str | None = None

    @property
    def gated(self) -> bool:
        """Whether the row's masks are emptied by a post-hoc similarity gate."""
        return self.gate_of is not None

    def model_overrides(self, architecture: str) -> dict:
        return {**self.model.get("*", {}), **self.model.get(architecture, {})}


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "baseline",
        "(a) no negatives",
        "positive pairs only (Table 4, row 1): the visual-bias baseline",
        recipe={"negative_ratio": 0.0, "similarity_loss_weight": 0.0},
    ),
    Variant(
        "negatives_only",
        "(b) negatives, λ = 0",
        "10 % negatives (silence, off-screen) with empty masks, no similarity loss (Table 4, row 2)",
        recipe={"similarity_loss_weight": 0.0},
    ),
    Variant(
        "robust",
        "(c) negatives + similarity loss, λ = 1",
        "10 % negatives and the classifier-guided similarity loss (Table 4, row 3: the paper's method)",
        recipe={"similarity_loss_weight": 1.0},
    ),
    Variant(
        "robust_gated",
        "(c) + calibrated gate [ext.]",
        "extension: (c)'s masks emptied where sigmoid(s) is below a threshold chosen on the validation split "
        "(post-hoc, not the model's own output)",
        extension=True,
        gate_of="robust",
    ),
    Variant(
        "ours",
        "ours: presence-gated masks [ext.]",
        "extension: (c) + presence gating inside forward (mask probability × sigmoid of the pair logit), a "
        "learnable pair-logit temperature and bias, positive pairs weighted 0.5 in the pair BCE, negatives left "
        "to the pair loss (the mask loss sees positive pairs only), 20 % negatives with noise among them and "
        "off-screen sounds twice as often (silence, noise, off-screen ×2)",
        extension=True,
        recipe={
            "similarity_loss_weight": 1.0,
            "negative_ratio": 0.2,
            "train_negative_conditions": ("silence", "noise", "offscreen", "offscreen"),
        },
        model={
            "*": {
                "similarity_learnable_scale": True,
                "similarity_positive_weight": 0.5,
                "segmentation_loss_on_negatives": False,
                "presence_gating": True,
            },
        },
    ),
)
PAPER_VARIANTS = tuple(variant.name for variant in VARIANTS if not variant.extension)
TRAINED_VARIANTS = tuple(variant.name for variant in VARIANTS if not variant.gated)
HEADLINE = "ours"


def get_variant(name: str) -> Variant:
    for variant in VARIANTS:
        if variant.name == name:
            return variant
    raise ValueError(f"unknown variant {name!r}; choose one of {[variant.name for variant in VARIANTS]}")


def variant_recipe(architecture: str, size: ReproductionSize, name: str) -> TrainingRecipe:
    """The training recipe of variant `name` of `architecture` at `size`: the architecture's paper recipe (optimiser,
    loss, frozen parts, official negatives) at the size's scale, with the variant's overrides."""
    variant = get_variant(name)
    if variant.gated:
        raise ValueError(f"variant {name!r} is not trained: it evaluates {variant.gate_of!r} with a gate")
    frozen = round(size.num_epochs * AVSEGFORMER_FROZEN_FRACTION) if architecture == "avsegformer" else 0
    base = get_recipe(RECIPE_PRESETS[architecture])
    overrides = {
        "name": f"{base.name}-reproduce-{size.name}-{name}",
        "image_size": size.image_size,
        "num_epochs": size.num_epochs,
        "batch_size": size.batch_size,
        "learning_rate": size.learning_rate,
        "negative_ratio": OFFICIAL_NEGATIVE_RATIO,
        "train_negative_conditions": OFFICIAL_NEGATIVES,
        "freeze_backbone_epochs": frozen,
        **variant.recipe,
    }
    overrides["model_overrides"] = {**base.model_overrides, **variant.model_overrides(architecture)}
    return base.replace(**overrides)


__all__ = [
    "HEADLINE",
    "PAPER_VARIANTS",
    "TRAINED_VARIANTS",
    "VARIANTS",
    "Variant",
    "get_variant",
    "variant_recipe",
]
