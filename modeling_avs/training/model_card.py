"""Model cards of trained AVS models: YAML metadata with a `model-index` of the robust scores, and a README body."""

from __future__ import annotations

from collections.abc import Sequence

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..data.schema import CONDITIONS
from ..metrics.report import results_to_markdown
from ..model_cards import render_card
from .recipes import TrainingRecipe

TEMPLATE = "model_card.md.jinja"
TAGS = ["audio-visual-segmentation", "avsbench-robust", "modeling-avs"]
_CONDITION_SCORES = (("miou", "mean_iou", "mIoU"), ("fscore", "f1", "F-score"), ("fpr", "fpr", "FPR"))
_GLOBAL_SCORES = (("g_miou", "G-mIoU"), ("g_f", "G-F"), ("g_fpr", "G-FPR"))


def evaluation_results(
    results: dict, dataset_id: str, dataset_config: str, dataset_split: str, dataset_name: str | None = None
) -> list[EvalResult]:
    """
    `EvalResult`s (the card's `model-index`) of `RobustAVSEvaluator.compute()` results: mIoU, F-score and FPR of
    every condition and G-mIoU / G-F / G-FPR, as fractions in [0, 1]. NaN scores (e.g. no F-score) are skipped.
    """
    common = {
        "task_type": "image-segmentation",
        "task_name": "Audio-visual segmentation",
        "dataset_type": dataset_id,
        "dataset_name": dataset_name or dataset_id,
        "dataset_config": dataset_config,
        "dataset_split": dataset_split,
    }
    entries = []
    for condition, scores in results["conditions"].items():
        for key, metric_type, label in _CONDITION_SCORES:
            value = scores[key]
            if value == value:  # not NaN
                entries.append(
                    EvalResult(
                        metric_type=metric_type, metric_name=f"{condition} {label}", metric_value=value, **common
                    )
                )
    for key, label in _GLOBAL_SCORES:
        value = results["global"][key]
        if value == value:
            entries.append(EvalResult(metric_type=key, metric_name=label, metric_value=value, **common))
    return entries


def build_model_card(
    results: dict,
    recipe: TrainingRecipe,
    model_name: str,
    dataset_id: str,
    dataset_split: str = "test",
    load_id: str | None = None,
    summary: str = "",
    deviations: Sequence[str] = (),
    limitations: Sequence[str] = (),
    training_settings: dict | None = None,
    license: str = "apache-2.0",
) -> ModelCard:
    """
    The model card (README.md) of a trained model from the template `model_card.md.jinja` (`modeling_avs.model_cards`).

    Args:
        results: `RobustAVSEvaluator.compute()` results on `dataset_split`.
        recipe: the training recipe (its fields are listed; `recipe.base_model` becomes `base_model`).
        model_name: title of the card.
        dataset_id: Hub id or description of the training/evaluation dataset (`datasets` metadata).
        dataset_split: the evaluated split.
        load_id: what `from_pretrained` should be given in the usage snippet (default `model_name`).
        summary: a paragraph under the title.
        deviations: differences from the published recipe, one sentence each.
        limitations: more limitations, one sentence each.
        training_settings: more rows of the recipe table (e.g. the model size).
        license: SPDX id for the metadata.
    """
    card_data = ModelCardData(
        library_name="transformers",
        license=license,
        tags=list(TAGS),
        datasets=[dataset_id],
        base_model=recipe.base_model,
        pipeline_tag="image-segmentation",
        model_name=model_name,
        eval_results=evaluation_results(results, dataset_id, recipe.dataset_config, dataset_split),
    )
    rows = [(key, _format(value)) for key, value in recipe.to_dict().items() if key != "model_overrides"]
    rows += [(f"model.{key}", _format(value)) for key, value in recipe.model_overrides.items()]
    rows += [(key, _format(value)) for key, value in (training_settings or {}).items()]
    if recipe.negative_ratio > 0:
        negatives = (
            f"{100 * recipe.negative_ratio:.0f}% of the training pairs of every epoch are negatives "
            f"({', '.join(recipe.train_negative_conditions)} audio) with an empty target mask and pair label 0"
        )
        negatives += (
            f", and the similarity classifier is trained with BCE (λ = {recipe.similarity_loss_weight:g})."
            if recipe.similarity_loss_weight > 0
            else ", without the similarity loss (λ = 0)."
        )
    else:
        negatives = "positive pairs only (the usual AVSBench recipe, no negatives, the visual-bias baseline)."
    extra = [name for name in results["conditions"] if name not in CONDITIONS]
    content = render_card(
        TEMPLATE,
        card_data=card_data.to_yaml(),
        model_name=model_name,
        summary=summary,
        negatives_sentence=negatives,
        dataset_id=dataset_id,
        dataset_config=recipe.dataset_config,
        dataset_split=dataset_split,
        protocol=results["protocol"],
        extra_conditions=", ".join(extra),
        results_table=results_to_markdown(results, model_name),
        recipe_rows=rows,
        deviations=list(deviations),
        limitations=list(limitations),
        load_id=load_id or model_name,
    )
    return ModelCard(content)


def _format(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value) or "–"
    return "–" if value is None else str(value)


__all__ = ["TAGS", "TEMPLATE", "build_model_card", "evaluation_results"]
