"""Markdown tables of AVSBench-Robust results in the layout of the paper's Table 2, built from the results."""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..data.schema import POSITIVE_CONDITION

_CONDITION_TITLES = {"positive": "Positive", "silence": "Silence", "noise": "Noise", "offscreen": "Off-screen"}


def _percent(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{100 * value:.2f}"


def _columns(results: dict) -> list[tuple[str, str]]:
    """`(header, cell)` of every score column of one results dict."""
    columns = []
    for name, scores in results["conditions"].items():
        title = _CONDITION_TITLES.get(name, name)
        if name == POSITIVE_CONDITION:
            keys = (("miou", "mIoU ↑"), ("fscore", "F ↑"))
        else:
            keys = (("miou", "mIoU ↓"), ("fscore", "F ↓"), ("fpr", "FPR ↓"))
        columns += [(f"{title} {label}", _percent(scores[key])) for key, label in keys]
    summary = results["global"]
    columns += [(label, _percent(summary[key])) for key, label in (("g_miou", "G-mIoU ↑"), ("g_f", "G-F ↑"))]
    columns.append(("G-FPR ↓", _percent(summary["g_fpr"])))
    unseen = results.get("unseen")
    if unseen and unseen["num_conditions"]:
        columns.append((f"Unseen FPR ↓ (mean of {unseen['num_conditions']})", _percent(unseen["fpr"])))
    return columns


def results_table(rows: Mapping[str, dict]) -> str:
    """
    A Markdown table with one row per method of `rows` (`{method: RobustAVSEvaluator.compute() results}`), in
    percent. Columns follow Table 2 of the AVSBench-Robust paper: the positive condition's mIoU and F (higher is
    better), then mIoU, F and FPR of each negative condition (lower is better), then G-mIoU, G-F and G-FPR (over
    silence, noise and off-screen only) and, when there are other negative conditions (`unseen:<clip>`, ...), their
    mean FPR. A note under the table names the protocol, the conditions the G-metrics average and the number of
    frames per condition (of the first method).
    """
    if not rows:
        raise ValueError("results_table needs at least one row")
    columns = {method: _columns(results) for method, results in rows.items()}
    header = [title for title, _ in next(iter(columns.values()))]
    for method, cells in columns.items():
        if [title for title, _ in cells] != header:
            raise ValueError(f"the results of {method!r} have other conditions than those of the first row")
    first = next(iter(rows.values()))
    protocol = first["protocol"]
    if "legacy_batch_videos" in first:
        protocol += f", {first['legacy_batch_videos']} video(s) per batch"
    frames = ", ".join(f"{name} {scores['num_frames']}" for name, scores in first["conditions"].items())
    if "global_negatives" in first:
        protocol += f". G-metrics: means over {', '.join(first['global_negatives']) or 'no standard negative'}"
    lines = [
        "| " + " | ".join(["Method", *header]) + " |",
        "|" + "|".join(["---"] + ["---:"] * len(header)) + "|",
        *("| " + " | ".join([method, *(cell for _, cell in cells)]) + " |" for method, cells in columns.items()),
        "",
        f"Protocol: {protocol}. Frames: {frames}.",
    ]
    return "\n".join(lines) + "\n"


def results_to_markdown(results: dict, method: str = "model") -> str:
    """`results_table` of one method."""
    return results_table({method: results})


__all__ = ["results_table", "results_to_markdown"]
