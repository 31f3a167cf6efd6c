"""Markdown rendering of AVSBench-Robust results in the layout of the paper's Table 2."""

from __future__ import annotations

import math

from .scores import POSITIVE_CONDITION

_CONDITION_TITLES = {"positive": "Positive", "silence": "Silence", "noise": "Noise", "offscreen": "Off-screen"}


def _percent(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{100 * value:.2f}"


def results_to_markdown(results: dict, method: str = "model") -> str:
    """One-row Markdown table of `RobustAVSEvaluator.compute()` results, in percent.

    Columns follow Table 2 of the AVSBench-Robust paper: the positive condition's mIoU and F (higher is better), then
    mIoU, F and FPR of each negative condition (lower is better), then G-mIoU, G-F and G-FPR. A note under the table
    names the protocol and the number of frames per condition.
    """
    header, row = ["Method"], [method]
    for name, scores in results["conditions"].items():
        title = _CONDITION_TITLES.get(name, name)
        if name == POSITIVE_CONDITION:
            header += [f"{title} mIoU ↑", f"{title} F ↑"]
            row += [_percent(scores["miou"]), _percent(scores["fscore"])]
        else:
            header += [f"{title} mIoU ↓", f"{title} F ↓", f"{title} FPR ↓"]
            row += [_percent(scores["miou"]), _percent(scores["fscore"]), _percent(scores["fpr"])]
    summary = results["global"]
    header += ["G-mIoU ↑", "G-F ↑", "G-FPR ↓"]
    row += [_percent(summary["g_miou"]), _percent(summary["g_f"]), _percent(summary["g_fpr"])]
    protocol = results["protocol"]
    if "legacy_batch_videos" in results:
        protocol += f", {results['legacy_batch_videos']} video(s) per batch"
    frames = ", ".join(f"{name} {scores['num_frames']}" for name, scores in results["conditions"].items())
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
        "| " + " | ".join(row) + " |",
        "",
        f"Protocol: {protocol}. Frames: {frames}.",
    ]
    return "\n".join(lines) + "\n"
