"""Robust AVS training with `transformers.Trainer`: recipes, balanced negatives, collation, model cards, reproduction."""

from .collator import AVSDataCollator, AVSFeaturizer, FeaturizedSamples
from .negative_sampling import BalancedNegativeDataset, num_negative_pairs, plan_epoch
from .recipes import NEGATIVE_CONDITIONS, RECIPES, TrainingRecipe, get_recipe
from .trainer import (
    EVALUATION_LABEL_NAMES,
    BackboneFreezingCallback,
    NegativeResamplingCallback,
    RobustAVSTrainer,
    build_model,
    build_processor,
    build_trainer,
    training_arguments,
)

__all__ = [
    "AVSDataCollator",
    "AVSFeaturizer",
    "BackboneFreezingCallback",
    "BalancedNegativeDataset",
    "EVALUATION_LABEL_NAMES",
    "FeaturizedSamples",
    "NEGATIVE_CONDITIONS",
    "NegativeResamplingCallback",
    "RECIPES",
    "RobustAVSTrainer",
    "TrainingRecipe",
    "build_model",
    "build_processor",
    "build_trainer",
    "get_recipe",
    "num_negative_pairs",
    "plan_epoch",
    "training_arguments",
]
