"""Evaluation of a trained model on every condition of a split: robust scores, similarities and example masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data.schema import CONDITIONS
from ..metrics import RobustAVSEvaluator
from .collator import AVSDataCollator, FeaturizedSamples


@dataclass
class Evaluation:
    """Scores of one model on the test split, the similarities it gave and the masks shown in the overlay grid."""

    results: dict
    unseen_results: dict | None
    similarities: dict[str, list[float]]
    overlay_masks: dict[str, np.ndarray]


def evaluate_model(
    model: torch.nn.Module,
    samples: FeaturizedSamples,
    collator: AVSDataCollator,
    batch_size: int,
    overlay_video: str | None = None,
    gate_threshold: float | None = None,
) -> Evaluation:
    """
    Score `model` on every condition of `samples`: the standard conditions (positive, silence, noise, off-screen,
    G-metrics over the three negatives) and, separately, the unseen clips (positive + `unseen:*`, G-metrics over
    the clips). Also returns the similarity of every frame per condition and the masks `[H, W]` predicted for the
    first frame of `overlay_video` under each condition. With `gate_threshold`, the masks of frames whose
    `sigmoid(similarity)` is below it are emptied first (the `inference_gate_threshold` post-processing).
    """
    names = list(samples.conditions)
    standard = RobustAVSEvaluator(condition_names=names)
    unseen = RobustAVSEvaluator(condition_names=names)
    similarities = {name: [] for name in names}
    overlay = {}
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        for start in range(0, len(samples), batch_size):
            items = [samples[index] for index in range(start, min(start + batch_size, len(samples)))]
            batch = collator(items)
            outputs = model(
                pixel_values=batch["pixel_values"].to(device), input_features=batch["input_features"].to(device)
            )
            logits, condition_ids = outputs.logits.float().cpu(), batch["condition_ids"]
            if gate_threshold is not None:
                gated = torch.sigmoid(outputs.similarity.float().cpu()) < gate_threshold
                logits[gated] = torch.finfo(logits.dtype).min
            is_standard = torch.tensor([names[i] in CONDITIONS for i in condition_ids.tolist()])
            is_unseen = torch.tensor(
                [names[i] == "positive" or names[i] not in CONDITIONS for i in condition_ids.tolist()]
            )
            for evaluator, keep in ((standard, is_standard), (unseen, is_unseen)):
                if keep.any():
                    evaluator.update(logits[keep], batch["reference_masks"][keep], condition_ids[keep])
            for condition_id, similarity in zip(condition_ids.tolist(), outputs.similarity.float().cpu().tolist()):
                similarities[names[condition_id]].append(similarity)
            offset = 0
            for item in items:
                if item["video_id"] == overlay_video:
                    overlay[item["condition"]] = (logits[offset, 0] > 0).numpy()
                offset += len(item["pixel_values"])
    has_unseen = any(name not in CONDITIONS for name in names)
    return Evaluation(standard.compute(), unseen.compute() if has_unseen else None, similarities, overlay)


@dataclass
class GateCalibration:
    """The similarity gate chosen on a validation split: `threshold` on `sigmoid(similarity)` (what
    `config.inference_gate_threshold` holds) and, for every candidate, the validation G-FPR and positive mIoU."""

    threshold: float
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
    once; the candidate thresholds are `num_candidates` quantiles of the similarities it gives (observed values); the chosen one is the
    lowest whose gated masks keep the validation G-FPR within `max_g_fpr` (an operating point set by a
    false-positive budget, as for a detector), or the one with the lowest G-FPR when none does.
    """
    names = list(samples.conditions)
    device = next(model.parameters()).device
    logits, similarity, references, condition_ids = [], [], [], []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(samples), batch_size):
            batch = collator([samples[index] for index in range(start, min(start + batch_size, len(samples)))])
            outputs = model(
                pixel_values=batch["pixel_values"].to(device), input_features=batch["input_features"].to(device)
            )
            logits.append(outputs.logits.float().cpu())
            similarity.append(outputs.similarity.float().cpu())
            references.append(batch["reference_masks"])
            condition_ids.append(batch["condition_ids"])
    logits, similarity = torch.cat(logits), torch.cat(similarity)
    references, condition_ids = torch.cat(references), torch.cat(condition_ids)
    quantiles = np.linspace(0.0, 1.0, num_candidates)
    candidates = np.unique(np.quantile(similarity.numpy(), quantiles, method="lower"))  # observed values
    sweep = []
    for candidate in candidates.tolist():
        gated = logits.clone()
        gated[similarity < candidate] = torch.finfo(gated.dtype).min
        evaluator = RobustAVSEvaluator(condition_names=names)
        evaluator.update(gated, references, condition_ids)
        results = evaluator.compute()
        sweep.append(
            {
                "similarity": candidate,
                "threshold": float(torch.sigmoid(torch.tensor(candidate))),
                "g_fpr": results["global"]["g_fpr"],
                "positive_miou": results["conditions"]["positive"]["miou"],
            }
        )
    within = [entry for entry in sweep if entry["g_fpr"] <= max_g_fpr]
    chosen = within[0] if within else min(sweep, key=lambda entry: entry["g_fpr"])
    return GateCalibration(chosen["threshold"], max_g_fpr, sweep)


__all__ = ["Evaluation", "GateCalibration", "calibrate_gate", "evaluate_model"]
