"""`transformers.Trainer` for robust AVS training: per-epoch negatives, backbone freezing, robust evaluation."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from transformers import AutoConfig, AutoModel, PreTrainedConfig, Trainer, TrainerCallback, TrainingArguments

from ..data.samples import ConditionSamples
from ..data.schema import CONDITIONS, POSITIVE_CONDITION
from ..feature_extraction_vggish import VGGishFeatureExtractor
from ..image_processing_avs import AVSImageProcessor
from ..metrics.evaluator import RobustAVSEvaluator
from ..processing_avs import AVSProcessor
from .collator import AVSDataCollator, AVSFeaturizer, FeaturizedSamples
from .negative_sampling import BalancedNegativeDataset
from .recipes import TrainingRecipe

EVALUATION_LABEL_NAMES = ["reference_masks", "condition_ids"]


def build_processor(image_size: int, num_frames: int = 5) -> AVSProcessor:
    """An [`AVSProcessor`] resizing frames to `image_size`² and cutting `num_frames` log-mel examples per clip."""
    return AVSProcessor(
        AVSImageProcessor(size={"height": image_size, "width": image_size}),
        VGGishFeatureExtractor(num_examples=num_frames),
    )


def build_model(
    recipe: TrainingRecipe,
    model_config: Mapping | PreTrainedConfig | None = None,
    pretrained_model: str | Path | None = None,
) -> torch.nn.Module:
    """
    The model of a recipe: `pretrained_model` (a folder or Hub id loaded with `AutoModel.from_pretrained`) or a new
    `recipe.model_type` model built from `model_config` (a config or its dict; the architecture's defaults when
    None). The recipe's `similarity_loss_weight`, `freeze_audio_encoder` and `model_overrides` are applied on top.
    """
    settings = {
        "similarity_loss_weight": recipe.similarity_loss_weight,
        "freeze_audio_encoder": recipe.freeze_audio_encoder,
        **recipe.model_overrides,
    }
    if pretrained_model is not None:
        return AutoModel.from_pretrained(pretrained_model, **settings)
    if isinstance(model_config, PreTrainedConfig):
        if model_config.model_type != recipe.model_type:
            raise ValueError(
                f"model_config is a {model_config.model_type!r} config but recipe {recipe.name!r} trains "
                f"{recipe.model_type!r}"
            )
        model_config = model_config.to_dict()
    values = {key: value for key, value in dict(model_config or {}).items() if key != "model_type"}
    config = AutoConfig.for_model(recipe.model_type, **{**values, **settings})
    return AutoModel.from_config(config)


def _epoch_of(state) -> int:
    """0-based index of the epoch that starts (or is resumed) at `state.epoch`."""
    return math.floor((state.epoch or 0.0) + 1e-6)


class NegativeResamplingCallback(TrainerCallback):
    """Calls `train_dataset.set_epoch(epoch)` at each epoch start, so that each epoch draws its own negatives
    (also right after resuming from a checkpoint)."""

    def __init__(self, train_dataset: BalancedNegativeDataset) -> None:
        self.train_dataset = train_dataset

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.train_dataset.set_epoch(_epoch_of(state))


class BackboneFreezingCallback(TrainerCallback):
    """Keeps the visual backbone frozen during the first `num_epochs` epochs (AVSegFormer's recipe)."""

    def __init__(self, num_epochs: int) -> None:
        self.num_epochs = num_epochs

    def on_epoch_begin(self, args, state, control, model=None, **kwargs):
        if model is None:
            return
        if _epoch_of(state) < self.num_epochs:
            model.freeze_backbone()
        else:
            model.unfreeze_backbone()


class RobustAVSTrainer(Trainer):
    """
    `transformers.Trainer` for AVS models. The model computes its loss (`L = L_seg + λ·L_BCE`); evaluation batches
    also carry `reference_masks` and `condition_ids` (the evaluator's labels, see `EVALUATION_LABEL_NAMES`), which are
    removed before the forward pass. `processor` (an [`AVSProcessor`]) is saved with every checkpoint and the final
    model (it is not passed as `processing_class`, which the Trainer expects to hold a tokenizer). Use
    [`build_trainer`] to get one wired for a recipe.
    """

    def __init__(self, *args, processor: AVSProcessor | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.processor = processor
        # The models take **kwargs but do not normalise their loss by `num_items_in_batch`.
        self.model_accepts_loss_kwargs = False

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        super()._save(output_dir, state_dict)
        if self.processor is not None:
            self.processor.save_pretrained(output_dir if output_dir is not None else self.args.output_dir)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = {key: value for key, value in inputs.items() if key not in EVALUATION_LABEL_NAMES}
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


def training_arguments(recipe: TrainingRecipe, output_dir: str | Path, **overrides) -> TrainingArguments:
    """
    `TrainingArguments` of a recipe: its batch size, epochs, optimiser (torch's fused AdamW; with `weight_decay=0` it
    is Adam) and learning-rate schedule, incomplete last batches dropped (BatchNorm needs more than one value per channel),
    evaluation and checkpoints every epoch with the robust metrics
    (`batch_eval_metrics`), the best checkpoint by `recipe.model_selection_metric` loaded at the end.
    `overrides` replace any of these (e.g. `save_strategy="no"`, `logging_steps=1`).
    """
    metric = recipe.model_selection_metric
    settings = {
        "output_dir": str(output_dir),
        "per_device_train_batch_size": recipe.batch_size,
        "per_device_eval_batch_size": recipe.batch_size,
        "num_train_epochs": recipe.num_epochs,
        "learning_rate": recipe.learning_rate,
        "weight_decay": recipe.weight_decay,
        "optim": "adamw_torch_fused",  # one kernel for all parameters: 10-15 ms less per step of a small CPU model
        "lr_scheduler_type": recipe.lr_scheduler_type,
        "eval_strategy": "epoch",
        "save_strategy": "epoch",
        "logging_strategy": "steps",
        "logging_steps": 10,
        "save_total_limit": 2,
        "load_best_model_at_end": True,
        "metric_for_best_model": metric,
        "greater_is_better": not metric.endswith("fpr"),
        "batch_eval_metrics": True,
        "label_names": list(EVALUATION_LABEL_NAMES),
        "remove_unused_columns": False,
        "report_to": "none",
        "dataloader_num_workers": 0,
        "dataloader_drop_last": True,
        "dataloader_pin_memory": torch.cuda.is_available(),
        # Without a GPU, `use_cpu` makes accelerate form a multi-process CPU group under torchrun (gloo); otherwise a
        # CUDA build of torch on a CPU-only machine leaves every rank training alone on the full data.
        "use_cpu": not torch.cuda.is_available(),
        "seed": 0,
    }
    settings.update(overrides)
    if settings.get("eval_strategy") == "no":
        settings["load_best_model_at_end"] = False
    return TrainingArguments(**settings)


def build_trainer(
    recipe: TrainingRecipe,
    model: torch.nn.Module,
    processor: AVSProcessor,
    train_split,
    eval_split=None,
    args: TrainingArguments | None = None,
    output_dir: str | Path | None = None,
    extra_eval_audio: Mapping[str, np.ndarray] | None = None,
    cache_features: bool = True,
    drop_unsupervised_frames: bool = False,
    callbacks: list[TrainerCallback] | None = None,
    featurizer: AVSFeaturizer | None = None,
) -> RobustAVSTrainer:
    """
    A [`RobustAVSTrainer`] for `recipe`: the training split becomes a [`BalancedNegativeDataset`]
    (`recipe.negative_ratio` of negatives from `recipe.train_negative_conditions`, re-drawn every epoch), the
    evaluation split all four conditions (plus `extra_eval_audio`, e.g. unseen clips) scored by a
    [`RobustAVSEvaluator`] (masks gated by the model's `config.inference_gate_threshold` when it is set).

    Args:
        recipe: the training preset.
        model: the model to train (see [`build_model`]).
        processor: turns frames and audio into model inputs (see [`build_processor`]).
        train_split, eval_split: `datasets.Dataset` splits with the AVSBench-Robust schema.
        args: Trainer arguments; default `training_arguments(recipe, output_dir)`.
        extra_eval_audio: `{name: waveform}` extra negative evaluation conditions.
        cache_features: keep featurised samples in memory (frames decoded once per video, each distinct waveform
            featurised once, and embedded once when the model's audio encoder is frozen); recommended for datasets
            that fit in memory.
        drop_unsupervised_frames: train on the supervised frames only (see [`AVSDataCollator`]); needs a model
            with `config.num_frames == 1` (no temporal interaction). Evaluation always uses every frame.
        callbacks: more Trainer callbacks.
        featurizer: an [`AVSFeaturizer`] of `processor` to use instead of a new one, e.g. to share its caches between
            trainings on the same data (its `audio_encoder`, if any, must hold the model's frozen encoder weights).
    """
    if drop_unsupervised_frames and model.config.num_frames != 1:
        raise ValueError(
            f"drop_unsupervised_frames needs a model with config.num_frames == 1, got {model.config.num_frames}"
        )
    if args is None:
        if output_dir is None:
            raise ValueError("build_trainer needs `args` or `output_dir`")
        args = training_arguments(recipe, output_dir)
    if featurizer is None:
        # A frozen audio encoder embeds each distinct waveform once (cached) instead of at every training step.
        frozen_audio = model.audio_encoder if cache_features and model.config.freeze_audio_encoder else None
        featurizer = AVSFeaturizer(processor, cache=cache_features, audio_encoder=frozen_audio)
    negatives = recipe.train_negative_conditions if recipe.negative_ratio > 0 else ()
    train_conditions = tuple(dict.fromkeys((POSITIVE_CONDITION, *negatives)))  # a condition listed twice: once
    train_samples = FeaturizedSamples(ConditionSamples(train_split, train_conditions), featurizer, cache_features)
    train_dataset = BalancedNegativeDataset(
        train_samples, recipe.negative_ratio, recipe.train_negative_conditions, seed=args.seed
    )
    eval_dataset, compute_metrics = None, None
    condition_names = list(CONDITIONS)
    if eval_split is not None:
        eval_samples = ConditionSamples(eval_split, CONDITIONS, extra_audio=extra_eval_audio)
        condition_names = list(eval_samples.conditions)
        eval_dataset = FeaturizedSamples(eval_samples, featurizer, cache_features)
        evaluator = RobustAVSEvaluator(
            condition_names=condition_names,
            frames_per_video=model.config.num_frames,
            gate_threshold=model.config.inference_gate_threshold,
        )
        compute_metrics = evaluator.compute_metrics
    collator = AVSDataCollator(condition_names, featurizer, recipe.supervised_frames, "auto", drop_unsupervised_frames)
    all_callbacks = [NegativeResamplingCallback(train_dataset)]
    if recipe.freeze_backbone_epochs:
        all_callbacks.append(BackboneFreezingCallback(recipe.freeze_backbone_epochs))
    return RobustAVSTrainer(
        model=model,
        args=args,
        data_collator=collator,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processor=processor,
        compute_metrics=compute_metrics,
        callbacks=all_callbacks + list(callbacks or []),
    )


__all__ = [
    "BackboneFreezingCallback",
    "EVALUATION_LABEL_NAMES",
    "NegativeResamplingCallback",
    "RobustAVSTrainer",
    "build_model",
    "build_processor",
    "build_trainer",
    "training_arguments",
]
