"""Robust AVS training with `transformers.Trainer`: recipes, balanced negatives, collation, model cards, reproduction.
Names are imported from their modules on first use."""

from ..lazy_module import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "checkpoints": ["checkpoint_problem", "last_complete_checkpoint"],
        "collator": ["AVSDataCollator", "AVSFeaturizer", "FeaturizedSamples"],
        "negative_sampling": ["BalancedNegativeDataset", "num_negative_pairs", "plan_epoch"],
        "recipes": ["RECIPES", "TrainingRecipe", "get_recipe"],
        "trainer": [
            "EVALUATION_LABEL_NAMES",
            "BackboneFreezingCallback",
            "NegativeResamplingCallback",
            "RobustAVSTrainer",
            "build_model",
            "build_processor",
            "build_trainer",
            "training_arguments",
        ],
    },
)
