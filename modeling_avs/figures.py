"""The package's figures (matplotlib's object API: no display, no pyplot state), each saved atomically.

- `plot_results`: mIoU, F-score and FPR per condition, one bar per method (`avs-robust evaluate-masks --plot`,
  `RobustAVSEvaluator.plot`, the reproduction's `bars.png` and `plots/<model>.png`);
- `plot_similarity_histograms`: similarities of positive vs negative pairs (the paper's Fig. 4);
- `plot_overlays`: predicted masks over one frame, models by conditions (the paper's Fig. 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .atomic_files import atomic_path
from .data.schema import NEGATIVE_CONDITIONS, POSITIVE_CONDITION, UNSEEN_PREFIX

_SCORES = (("miou", "mIoU"), ("fscore", "F-score"), ("fpr", "FPR"))
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def save_figure(figure, path: str | Path, dpi: int = 110) -> Path:
    """Save a matplotlib `Figure` to `path` atomically, in the format of its suffix (one of `FIGURE_SUFFIXES`)."""
    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise ValueError(f"cannot save a figure as {path.name}: use one of {', '.join(FIGURE_SUFFIXES)}")
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=path.suffix.lstrip(".").lower(), dpi=dpi)
    return path


def plot_results(rows: Mapping[str, dict], path: str | Path) -> Path:
    """
    Bars of mIoU, F-score and FPR (in percent) per condition, one panel per score and one bar per method of `rows`
    (`{method: RobustAVSEvaluator.compute() results}`, same conditions); each method's legend entry carries its
    G-mIoU, G-F and G-FPR.
    """
    from matplotlib.figure import Figure

    conditions = list(next(iter(rows.values()))["conditions"])
    figure = Figure(figsize=(4.2 * len(_SCORES), 1.2 + 0.5 * len(conditions) + 0.25 * len(rows)), layout="constrained")
    width = 0.8 / len(rows)
    for panel, (key, label) in enumerate(_SCORES):
        axes = figure.add_subplot(1, len(_SCORES), panel + 1)
        for offset, (method, results) in enumerate(rows.items()):
            values = [100 * results["conditions"][name][key] for name in conditions]
            positions = [index + (offset - (len(rows) - 1) / 2) * width for index in range(len(conditions))]
            summary = results["global"]
            legend = (
                f"{method} (G-mIoU {100 * summary['g_miou']:.2f}, G-F {100 * summary['g_f']:.2f}, "
                f"G-FPR {100 * summary['g_fpr']:.2f})"
            )
            axes.bar(positions, np.nan_to_num(values), width=width, label=legend)
        axes.set_xticks(range(len(conditions)), [name.removeprefix(UNSEEN_PREFIX) for name in conditions])
        axes.set_title(label)
        axes.set_ylim(0, 100)
        if panel == 0:
            axes.set_ylabel("%")
    figure.legend(*axes.get_legend_handles_labels(), loc="outside lower center", fontsize="small")
    figure.suptitle(f"protocol: {next(iter(rows.values()))['protocol']}", fontsize="medium")
    return save_figure(figure, path)


def plot_similarity_histograms(
    panels: Mapping[str, Mapping[str, list[float]]],
    path: str | Path,
    value_range: tuple[float, float] = (-1.0, 1.0),
    xlabel: str = "cosine similarity",
) -> Path:
    """Histograms of the similarity (or any pair score in `value_range`) of positive vs negative pairs, one panel per
    model state (`{title: {condition: values}}`; the negatives are the standard negative conditions)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.4 * len(panels), 3.0), layout="constrained")
    bins = np.linspace(*value_range, 41)
    for index, (title, similarities) in enumerate(panels.items()):
        axes = figure.add_subplot(1, len(panels), index + 1)
        positives = similarities.get(POSITIVE_CONDITION, [])
        negatives = [value for name in NEGATIVE_CONDITIONS for value in similarities.get(name, [])]
        axes.hist(positives, bins=bins, alpha=0.6, density=True, label="positive pairs")
        axes.hist(negatives, bins=bins, alpha=0.6, density=True, label="negative pairs")
        axes.set_title(title, fontsize="medium")
        axes.set_xlabel(xlabel)
        if index == 0:
            axes.legend(fontsize="small")
    return save_figure(figure, path)


def plot_overlays(
    frame: np.ndarray, reference: np.ndarray, masks: Mapping[str, Mapping[str, np.ndarray]], path: str | Path
) -> Path:
    """
    Grid of masks over one frame (uint8 RGB `[H, W, 3]`): rows are methods, columns the ground truth (`reference`,
    bool `[H, W]`) then the conditions of `masks` (`{method: {condition: bool [H, W]}}`), tinted with
    `visualization.overlay_mask`.
    """
    from matplotlib.figure import Figure

    from .visualization import overlay_mask

    conditions = list(next(iter(masks.values())))
    columns = ["ground truth", *conditions]
    figure = Figure(figsize=(1.7 * len(columns), 1.8 * len(masks)), layout="constrained")
    for row, (method, predicted) in enumerate(masks.items()):
        for column, name in enumerate(columns):
            axes = figure.add_subplot(len(masks), len(columns), row * len(columns) + column + 1)
            axes.imshow(overlay_mask(frame, reference if name == "ground truth" else predicted[name]))
            axes.set_xticks([])
            axes.set_yticks([])
            if row == 0:
                axes.set_title(name.removeprefix(UNSEEN_PREFIX), fontsize="small")
            if column == 0:
                axes.set_ylabel(method, fontsize="small")
    return save_figure(figure, path)


__all__ = ["FIGURE_SUFFIXES", "plot_overlays", "plot_results", "plot_similarity_histograms", "save_figure"]
