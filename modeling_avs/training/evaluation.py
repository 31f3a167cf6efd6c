"""Evaluation of a trained model on every condition of a split: robust scores, similarities and example masks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..data.schema import POSITIVE_CONDITION
from ..metrics.evaluator import RobustAVSEvaluator
from ..similarity_head import gate_logits
from .collator import AVSDataCollator, FeaturizedSamples, audio_input_name


@dataclass
class Evaluation:
    """Scores of one model (`RobustAVSEvaluator.compute()` results: standard conditions, G-metrics over silence, noise
    and off-screen, and any unseen condition apart), the similarity it gave every frame per condition and the masks
    shown in the overlay grid."""

    results: dict
    similarities: dict[str, list[float]]
    overlay_masks: dict[str, np.ndarray]
    gate: dict | None = None  # the similarity gate applied to the masks, when one was


def _predictions(
    model: torch.nn.Module, samples: FeaturizedSamples, collator: AVSDataCollator, batch_size: int
) -> Iterator[tuple[list[dict], dict, torch.Tensor, torch.Tensor]]:
    """Run `model` over `samples` in batches: yields the items, the collated batch, the logits `[n, 1, H, W]` and the
    similarities `[n]` (float32, on the CPU)."""
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        for start in range(0, len(samples), batch_size):
            items = [samples[index] for index in range(start, min(start + batch_size, len(samples)))]
            batch = collator(items)
            audio = audio_input_name(batch)
            outputs = model(pixel_values=batch["pixel_values"].to(device), **{audio: batch[audio].to(device)})
            yield items, batch, outputs.logits.float().cpu(), outputs.similarity.float().cpu()


def evaluate_model(
    model: torch.nn.Module,
    sources: Sequence[tuple[FeaturizedSamples, Callable[[list[dict]], dict]]],
    batch_size: int,
    overlay_video: str | None = None,
    gate_threshold: float | None = None,
) -> Evaluation:
    """
    Score `model` on every condition of every `(samples, collator)` of `sources` with one [`RobustAVSEvaluator`]
    (e.g. the standard conditions of the test videos, and unseen sounds paired with some of them; no condition in two
    sources). Also returns the similarity of every frame per condition and the masks `[H, W]` predicted for the first
    frame of `overlay_video` under each condition. With `gate_threshold` (pass the model's
    `config.inference_gate_threshold`), the frames outside [`similarity_gate`] are emptied first (`gate_logits`).
    """
    names = [name for samples, _ in sources for name in samples.conditions]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"evaluate_model: conditions {repeated} appear in more than one source")
    evaluator = RobustAVSEvaluator()
    similarities: dict[str, list[float]] = {name: [] for name in names}
    overlay = {}
    for samples, collator in sources:
        conditions = list(samples.conditions)
        for items, batch, logits, similarity in _predictions(model, samples, collator, batch_size):
            logits = gate_logits(logits, similarity, gate_threshold)
            frame_conditions = [conditions[index] for index in batch["condition_ids"].tolist()]
            evaluator.update(logits, batch["reference_masks"], frame_conditions)
            for condition, value in zip(frame_conditions, similarity.tolist()):
                similarities[condition].append(value)
            offset = 0
            for item in items:
                if item["video_id"] == overlay_video:
                    overlay[item["condition"]] = (logits[offset, 0] > 0).numpy()
                offset += len(item["pixel_values"])
    return Evaluation(evaluator.compute(), similarities, overlay)


@dataclass
class GateCalibration:
    """The similarity gate chosen on a validation split: `threshold` on `sigmoid(similarity)` (what
    `config.inference_gate_threshold` holds), the `similarity` it corresponds to, the G-FPR budget, and for every
    candidate the validation G-FPR and positive mIoU."""

    threshold: float
    similarity: float
    max_g_fpr: float
    sweep: list[dict]


def calibrate_gate(
    model: torch.nn.Module,
    samples: FeaturizedSamples,
    collator: AVSDataCollator,
    batch_size: int,
    max_g_fpr: float,
    num_candidates: int = 101,
) -> GateCalibration:
    """
    Choose the similarity gate of `model` on validation `samples` (positive + negative conditions): the model runs
    once; the candidates are `num_candidates` quantiles of the similarities it gives (observed values). Among those
    whose gated masks (`gate_logits`, as at test time) keep the validation G-FPR within `max_g_fpr` (a
    false-positive budget, as for a detector), the chosen one has the highest validation G-mIoU (the benchmark's
    model-selection metric; ties go to the lowest G-FPR): a gate in the gap between the positive and the negative
    similarities rather than at the edge of the negatives' tail. When none is within the budget, the one with the
    lowest G-FPR.
    """
    names = list(samples.conditions)
    predictions = list(_predictions(model, samples, collator, batch_size))
    logits = torch.cat([logits for _, _, logits, _ in predictions])
    similarity = torch.cat([similarity for _, _, _, similarity in predictions])
    references = torch.cat([batch["reference_masks"] for _, batch, _, _ in predictions])
    condition_ids = torch.cat([batch["condition_ids"] for _, batch, _, _ in predictions])
    quantiles = np.linspace(0.0, 1.0, num_candidates)
    candidates = np.unique(np.quantile(similarity.numpy(), quantiles, method="lower"))  # observed values
    sweep = []
    for candidate in candidates.tolist():
        threshold = float(torch.sigmoid(torch.tensor(candidate, dtype=similarity.dtype)))
        evaluator = RobustAVSEvaluator(condition_names=names)
        evaluator.update(gate_logits(logits, similarity, threshold), references, condition_ids)
        results = evaluator.compute()
        sweep.append(
            {
                "similarity": candidate,
                "threshold": threshold,
                "g_fpr": results["global"]["g_fpr"],
                "g_miou": results["global"]["g_miou"],
                "positive_miou": results["conditions"][POSITIVE_CONDITION]["miou"],
            }
        )
    within = [entry for entry in sweep if entry["g_fpr"] <= max_g_fpr]
    if within:
        chosen = max(within, key=lambda entry: (entry["g_miou"], -entry["g_fpr"]))
    else:
        chosen = min(sweep, key=lambda entry: entry["g_fpr"])
    return GateCalibration(chosen["threshold"], chosen["similarity"], max_g_fpr, sweep)


__all__ = ["Evaluation", "GateCalibration", "calibrate_gate", "evaluate_model"]
