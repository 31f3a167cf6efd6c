"""Bar chart of AVSBench-Robust results (needs matplotlib)."""

from __future__ import annotations

from pathlib import Path

_SCORES = (("miou", "mIoU"), ("fscore", "F-score"), ("fpr", "FPR"))


def plot_results(results: dict, path: str | Path) -> None:
    """Save grouped bars (mIoU, F-score, FPR in percent) per condition to `path`; the title carries G-metrics.

    The format follows the suffix of `path` (`.png`, `.pdf`, `.svg`, ...). Uses matplotlib's object API, so it
    neither needs a display nor touches pyplot's global state.
    """
    from matplotlib.figure import Figure

    conditions = list(results["conditions"])
    width = 0.8 / len(_SCORES)
    figure = Figure(figsize=(1.6 + 1.4 * len(conditions), 3.6), layout="constrained")
    axes = figure.add_subplot()
    for offset, (key, label) in enumerate(_SCORES):
        values = [100 * results["conditions"][name][key] for name in conditions]
        positions = [index + (offset - 1) * width for index in range(len(conditions))]
        axes.bar(positions, values, width=width, label=label)
    axes.set_xticks(range(len(conditions)), conditions)
    axes.set_ylabel("%")
    axes.set_ylim(0, 100)
    axes.legend(ncols=len(_SCORES), loc="upper right", fontsize="small")
    summary = results["global"]
    axes.set_title(
        f"G-mIoU {100 * summary['g_miou']:.2f}   G-F {100 * summary['g_f']:.2f}   G-FPR {100 * summary['g_fpr']:.2f}"
        f"   ({results['protocol']})",
        fontsize="medium",
    )
    figure.savefig(path)
