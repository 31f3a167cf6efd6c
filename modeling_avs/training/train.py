"""One training run of a recipe from data to a saved model with its card (what `avs-robust train` runs)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from transformers.trainer_utils import IntervalStrategy

from ..atomic_files import write_json_atomic, write_text_atomic
from ..data.loading import load_avs_dataset
from ..data.negative_audio import load_unseen_clips
from ..data.samples import ConditionSamples
from ..data.schema import CONDITIONS
from ..data.synthetic import SYNTHETIC_DATASET_ID, make_synthetic_dataset
from ..hub import upload_folder
from ..metrics.report import results_to_markdown
from .checkpoints import last_complete_checkpoint
from .collator import AVSDataCollator, AVSFeaturizer, FeaturizedSamples
from .evaluation import evaluate_model
from .model_card import build_model_card
from .recipes import TrainingRecipe
from .trainer import (
    build_model,
    build_processor,
    build_trainer,
    training_arguments,
)

# What a model repository does not need from a training folder.
UPLOAD_IGNORE_PATTERNS = ["checkpoint-*", "checkpoint-*/**", "runs/**", "synthetic-data/**", ".*"]


def train(
    recipe: TrainingRecipe,
    output_dir: str | Path,
    dataset: str | Path | None = None,
    model_config: Mapping | None = None,
    pretrained_model: str | Path | None = None,
    unseen_audio: str | Path | None = None,
    synthetic_videos: int | None = None,
    seed: int = 42,
    resume: bool = False,
    max_steps: int | None = None,
    evaluate_every_epoch: bool = True,
    per_frame: bool = False,
    hub_model_id: str | None = None,
    hub_token: str | None = None,
    **training_overrides,
) -> dict:
    """
    Train `recipe` and save the final model, processor, `README.md` model card and `eval_results.json` (test split)
    in `output_dir`; epoch checkpoints go to `output_dir/checkpoint-*`.

    Args:
        recipe: the preset (see `get_recipe`).
        output_dir: where everything is written.
        dataset: AVSBench-Robust folder or Hub id; `None` generates the synthetic benchmark of
            `recipe.dataset_config` into `output_dir/synthetic-data` (`synthetic_videos` train videos).
        model_config, pretrained_model: see [`build_model`].
        unseen_audio: folder of extra negative clips added to the evaluation conditions.
        seed: seed of the model initialisation, the data order and the negative draws.
        resume: continue from the newest complete checkpoint in `output_dir` (see `last_complete_checkpoint`).
        max_steps: stop after this many optimiser steps (overrides the epochs).
        evaluate_every_epoch: score the validation split (all conditions) after each epoch and keep the best model
            by `recipe.model_selection_metric`.
        per_frame: forward only the supervised frames (models with `num_frames == 1`).
        hub_model_id: push the final folder to this Hub repository (check access with
            `modeling_avs.hub.check_hub_access` first).
        training_overrides: more `TrainingArguments` fields.

    Returns:
        `{"output_dir", "train_metrics", "test_results", "test_markdown", "hub_commit"}`.
    """
    output_dir = Path(output_dir)
    args = training_arguments(recipe, output_dir, seed=seed, max_steps=max_steps or -1, **training_overrides)
    with args.main_process_first(desc="dataset"):
        if dataset is None:
            splits = make_synthetic_dataset(
                recipe.dataset_config, num_videos=synthetic_videos, seed=seed, output_dir=output_dir / "synthetic-data"
            )
            dataset_id = f"{SYNTHETIC_DATASET_ID} {recipe.dataset_config.upper()}"
        else:
            splits = load_avs_dataset(dataset, recipe.dataset_config)
            dataset_id = str(dataset)
    if "train" not in splits:
        raise ValueError(f"dataset {dataset_id} has no train split (splits: {list(splits)})")
    extra_audio = load_unseen_clips(unseen_audio) if unseen_audio is not None else None
    validation = splits["validation"] if evaluate_every_epoch and "validation" in splits else None
    if validation is None and args.eval_strategy != IntervalStrategy.NO:
        # Edited in place: a second TrainingArguments would not join the process group the first one started.
        args.eval_strategy, args.load_best_model_at_end = IntervalStrategy.NO, False

    torch.manual_seed(seed)
    model = build_model(recipe, model_config, pretrained_model)
    processor = build_processor(recipe.image_size)
    trainer = build_trainer(
        recipe,
        model,
        processor,
        splits["train"],
        validation,
        args,
        extra_eval_audio=extra_audio,
        drop_unsupervised_frames=per_frame,
    )
    checkpoint = last_complete_checkpoint(output_dir) if resume else None
    if resume and checkpoint is None:
        raise ValueError(f"--resume: no complete checkpoint-* folder in {output_dir}")
    train_metrics = trainer.train(resume_from_checkpoint=checkpoint).metrics
    trainer.save_model(str(output_dir))
    summary = {"output_dir": str(output_dir), "train_metrics": train_metrics, "test_results": None}
    if not trainer.is_world_process_zero():
        return summary

    split_name = "test" if "test" in splits else ("validation" if "validation" in splits else None)
    results = None
    if split_name is not None:
        featurizer = AVSFeaturizer(processor, cache=True)
        samples = FeaturizedSamples(ConditionSamples(splits[split_name], CONDITIONS, extra_audio), featurizer)
        collator = AVSDataCollator(list(samples.conditions), featurizer, "all", return_references=True)
        gate_threshold = trainer.model.config.inference_gate_threshold
        evaluation = evaluate_model(
            trainer.model, [(samples, collator)], args.per_device_eval_batch_size, None, gate_threshold
        )
        results = evaluation.results
        summary["test_results"] = results
        summary["test_markdown"] = results_to_markdown(results, recipe.name)
        payload = {"split": split_name, "results": results}
        write_json_atomic(output_dir / "eval_results.json", payload)
        card = build_model_card(
            results,
            recipe,
            model_name=hub_model_id or output_dir.resolve().name,
            dataset_id=dataset_id,
            dataset_split=split_name,
            summary=f"An AVS model trained with the `{recipe.name}` recipe of modeling-avs.",
        )
        write_text_atomic(output_dir / "README.md", str(card))
    if hub_model_id:
        message = "Upload AVS model trained with modeling-avs"
        summary["hub_commit"] = upload_folder(
            output_dir, hub_model_id, "model", message, token=hub_token, ignore_patterns=UPLOAD_IGNORE_PATTERNS
        )
    else:
        summary["hub_commit"] = None
    return summary


__all__ = ["train"]
