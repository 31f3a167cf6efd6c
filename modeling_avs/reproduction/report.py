"""`results.json` and `results.md` of the reproduction: per architecture, the paper's rows with the paper's numbers
beside ours and a verdict per claim, then our extensions, the unseen sounds and the required checks.

`results.json` (values are fractions):
`{"architectures": {ARCH: {"title", "paper_source", "variants": {NAME: {"title", "description", "extension",
"gated", "results": {"conditions": {COND: {"miou", "f", "fpr"}}, "global": {"g_miou", "g_f", "g_fpr"},
"unseen": {...}}, "paper": {...} | None, "training", "mean_pair_score", "gate"}}, "verdicts": {...}}},
"checks": {ARCH: {CHECK: {"rule", "value", "passed", "required"}}}, "all_checks_passed", "wall_time_s", ...}`.
"""

from __future__ import annotations

import math

from ..data.schema import NEGATIVE_CONDITIONS, POSITIVE_CONDITION, UNSEEN_PREFIX
from .paper import EMPTY_MASKS_MAX_G_FPR, PAPER_ROWS, PAPER_SOURCES, verdicts
from .variants import HEADLINE, VARIANTS

ARCHITECTURE_TITLES = {"avsbench": "AVSBench-TPAVI", "avsegformer": "AVSegFormer"}
BASELINE_MIN_G_FPR = 0.05
MAX_POSITIVE_MIOU_DROP = 0.03
REQUIRED_CHECKS = ("baseline_is_biased", "ours_removes_bias", "ours_keeps_positive_miou")


def schema_results(results: dict) -> dict:
    """`RobustAVSEvaluator.compute()` results in the schema of `results.json`: per condition `miou`, `f`, `fpr`; the
    G-metrics (over silence, noise and off-screen); the unseen sounds' means."""
    conditions = {
        name: {"miou": scores["miou"], "f": scores["fscore"], "fpr": scores["fpr"]}
        for name, scores in results["conditions"].items()
    }
    summary = results["global"]
    return {
        "conditions": conditions,
        "global": {"g_miou": summary["g_miou"], "g_f": summary["g_f"], "g_fpr": summary["g_fpr"]},
        "unseen": results["unseen"],
    }


def acceptance_checks(rows: dict[str, dict]) -> dict[str, dict]:
    """The required checks of one architecture on its rows (`{variant: schema results}`): the baseline is biased,
    and `ours` (the model's own masks) removes the bias while keeping the positive mIoU."""
    baseline, ours = rows["baseline"], rows[HEADLINE]
    drop = baseline["conditions"][POSITIVE_CONDITION]["miou"] - ours["conditions"][POSITIVE_CONDITION]["miou"]
    baseline_fpr, ours_fpr = baseline["global"]["g_fpr"], ours["global"]["g_fpr"]
    return {
        "baseline_is_biased": _check(
            f"(a) G-FPR >= {BASELINE_MIN_G_FPR}", baseline_fpr, baseline_fpr >= BASELINE_MIN_G_FPR
        ),
        "ours_removes_bias": _check(
            f"ours G-FPR <= {EMPTY_MASKS_MAX_G_FPR}", ours_fpr, ours_fpr <= EMPTY_MASKS_MAX_G_FPR
        ),
        "ours_keeps_positive_miou": _check(
            f"positive mIoU of (a) - ours <= {MAX_POSITIVE_MIOU_DROP}", drop, drop <= MAX_POSITIVE_MIOU_DROP
        ),
    }


def _check(rule: str, value: float, passed: bool) -> dict:
    return {"rule": rule, "value": value, "passed": bool(passed), "required": True}


def architecture_summary(architecture: str, rows: dict[str, dict], details: dict[str, dict]) -> dict:
    """The `architectures[ARCH]` entry of `results.json` from the rows' schema results and their details (training
    summary, mean pair scores, gate)."""
    g_fpr = {name: rows[name]["global"]["g_fpr"] for name in rows}
    paper = PAPER_ROWS[architecture]
    return {
        "title": ARCHITECTURE_TITLES[architecture],
        "paper_source": PAPER_SOURCES[architecture],
        "variants": {
            variant.name: {
                "title": variant.title,
                "description": variant.description,
                "extension": variant.extension,
                "gated": variant.gated,
                "results": rows[variant.name],
                "paper": paper.get(variant.name),
                **details.get(variant.name, {}),
            }
            for variant in VARIANTS
            if variant.name in rows
        },
        "verdicts": verdicts(architecture, g_fpr),
        "checks": acceptance_checks(rows),
    }


def _percent(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.2f}"


def architecture_markdown(architecture: str, summary: dict) -> list[str]:
    """The section of one architecture in `results.md`."""
    header = (
        "| Row | Pos. mIoU ↑ | Silence FPR ↓ | Noise FPR ↓ | Off-screen FPR ↓ | G-mIoU ↑ | G-F ↑ | G-FPR ↓ "
        "| paper G-mIoU | paper G-F | paper G-FPR |"
    )
    lines = [f"## {summary['title']}", "", header, "|---" + "|---:" * 10 + "|"]
    for index, (name, row) in enumerate(summary["variants"].items()):
        if row["extension"] and not summary["variants"][list(summary["variants"])[index - 1]]["extension"]:
            lines.append("| *our extensions* |" + " |" * 10)
        results, paper = row["results"], row["paper"] or {}
        conditions = results["conditions"]
        cells = [
            _percent(conditions[POSITIVE_CONDITION]["miou"]),
            *(_percent(conditions[condition]["fpr"]) for condition in NEGATIVE_CONDITIONS),
            *(_percent(results["global"][key]) for key in ("g_miou", "g_f", "g_fpr")),
            *(_percent(paper.get(key)) if paper else "–" for key in ("g_miou", "g_f", "g_fpr")),
        ]
        title = f"**{row['title']}**" if name == HEADLINE else row["title"]
        lines.append("| " + " | ".join([title, *cells]) + " |")
    lines += [
        "",
        f"Paper numbers: {summary['paper_source']}; values in %. Rows without [ext.] are the paper's, "
        "trained the way the paper trains this architecture and scored on the masks the model returns.",
        "",
    ]
    lines += ["Verdicts on the paper's claims:", ""]
    for verdict in summary["verdicts"].values():
        fpr = verdict["g_fpr"]
        state = "**reproduced**" if verdict["reproduced"] else "**not reproduced**"
        lines.append(
            f'- "{verdict["statement"].capitalize()}": {state} — G-FPR (a) {_percent(fpr["baseline"])} %, '
            f"(b) {_percent(fpr['negatives_only'])} %, (c) {_percent(fpr['robust'])} % (rule: {verdict['rule']})."
        )
    lines += ["", "Descriptions:", ""]
    lines += [f"- {row['title']}: {row['description']}." for row in summary["variants"].values()]
    return [*lines, ""]


def unseen_markdown(architectures: dict[str, dict], builtin: tuple[str, ...], real: tuple[str, ...]) -> list[str]:
    """FPR (%) of every row on every unseen sound (built-in held-out categories, then real clips), and their mean."""
    sounds = [*builtin, *real]
    if not sounds:
        return []
    header = ["Row", *[sound.removeprefix(UNSEEN_PREFIX) for sound in sounds], "mean FPR ↓"]
    lines = [
        "## Unseen sounds (FPR %, not part of the G-metrics)",
        "",
        f"Held-out synthetic categories never used in training ({len(builtin)})"
        + (f" and {len(real)} real clips of --unseen-audio" if real else "")
        + ", each paired with the first test videos.",
        "",
        "| " + " | ".join(header) + " |",
        "|---" + "|---:" * (len(header) - 1) + "|",
    ]
    for summary in architectures.values():
        for row in summary["variants"].values():
            conditions = row["results"]["conditions"]
            values = [_percent(conditions[sound]["fpr"]) for sound in sounds]
            mean = _percent(row["results"]["unseen"]["fpr"])
            lines.append("| " + " | ".join([f"{summary['title']}: {row['title']}", *values, mean]) + " |")
    return [*lines, ""]


def checks_markdown(checks: dict[str, dict[str, dict]]) -> list[str]:
    lines = ["## Required checks", ""]
    for architecture, entries in checks.items():
        for name, check in entries.items():
            state = "PASS" if check["passed"] else "FAIL"
            lines.append(f"- {state} {architecture}.{name}: {check['rule']} (value {check['value']:.4f})")
    return [*lines, ""]


__all__ = [
    "ARCHITECTURE_TITLES",
    "BASELINE_MIN_G_FPR",
    "MAX_POSITIVE_MIOU_DROP",
    "REQUIRED_CHECKS",
    "acceptance_checks",
    "architecture_markdown",
    "architecture_summary",
    "checks_markdown",
    "schema_results",
    "unseen_markdown",
]
