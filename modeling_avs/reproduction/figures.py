"""The reproduction's figures, per architecture (drawn with the package's `figures` module):

- `bars_<arch>.png`: mIoU, F-score and FPR per standard condition, one bar per row;
- `plots/<arch>/<row>.png`: the same for each row alone;
- `pair_scores_<arch>.png`: the pair score sigmoid(s) of positive vs negative test pairs for the paper's method (c)
  before and after training and for ours (the paper's Fig. 4);
- `overlays_<arch>.png`: every row's masks over one test frame under every condition (the paper's Fig. 3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data.schema import CONDITIONS
from ..figures import plot_overlays, plot_results, plot_similarity_histograms
from ..training.evaluation import Evaluation
from .data import ReproductionData
from .variants import HEADLINE, get_variant


def write_figures(
    output: Path,
    data: ReproductionData,
    evaluations: dict[str, dict[str, Evaluation]],
    before: dict[str, Evaluation],
) -> None:
    """Every figure of the module docstring from `{architecture: {row: evaluation}}` and each architecture's (c) at
    initialisation (`before`)."""
    row = data.test_split[0]
    size = data.processor.image_processor.size
    shape = (size["width"], size["height"])
    frame = np.asarray(row["frames"][0].convert("RGB").resize(shape))
    reference = np.asarray(row["masks"][0].convert("L").resize(shape)) > 0
    for architecture, rows in evaluations.items():
        standard = {get_variant(name).title: _standard(evaluation.results) for name, evaluation in rows.items()}
        plot_results(standard, output / f"bars_{architecture}.png")
        for name, evaluation in rows.items():
            plot_results(
                {get_variant(name).title: _standard(evaluation.results)},
                output / "plots" / architecture / f"{name}.png",
            )
        panels = {
            "(c) before training": before[architecture].similarities,
            "(c) after training": rows["robust"].similarities,
            f"{HEADLINE} after training": rows[HEADLINE].similarities,
        }
        scores = {
            title: {c: torch.sigmoid(torch.tensor(v)).tolist() for c, v in s.items()} for title, s in panels.items()
        }
        plot_similarity_histograms(
            scores, output / f"pair_scores_{architecture}.png", (0.0, 1.0), "pair score sigmoid(s)"
        )
        masks = {
            get_variant(name).title: {c: evaluation.overlay_masks[c] for c in CONDITIONS}
            for name, evaluation in rows.items()
        }
        plot_overlays(frame, reference, masks, output / f"overlays_{architecture}.png")


def _standard(results: dict) -> dict:
    """`results` restricted to the standard conditions (the unseen sounds have their own table)."""
    return {**results, "conditions": {name: results["conditions"][name] for name in CONDITIONS}}


__all__ = ["write_figures"]
