"""Mean ± standard deviation of every number of the reproduction's tables over several runs (seeds).

python -m modeling_avs.reproduction.seeds out42/results.json out7/results.json out1/results.json > summary.md
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

from ..data.schema import NEGATIVE_CONDITIONS, POSITIVE_CONDITION

COLUMNS = (
    ("Pos. mIoU ↑", lambda results: results["conditions"][POSITIVE_CONDITION]["miou"]),
    *(
        (f"{condition} FPR ↓", lambda results, condition=condition: results["conditions"][condition]["fpr"])
        for condition in NEGATIVE_CONDITIONS
    ),
    ("G-mIoU ↑", lambda results: results["global"]["g_miou"]),
    ("G-F ↑", lambda results: results["global"]["g_f"]),
    ("G-FPR ↓", lambda results: results["global"]["g_fpr"]),
    ("unseen FPR ↓", lambda results: results["unseen"]["fpr"]),
)


def _cell(values: list[float]) -> str:
    percent = [100 * value for value in values]
    spread = statistics.stdev(percent) if len(percent) > 1 else 0.0
    return f"{statistics.mean(percent):.2f} ± {spread:.2f}"


def seed_summary(runs: Sequence[dict]) -> str:
    """Markdown tables (values in %, mean ± sample standard deviation over `runs`, the contents of several
    `results.json` of the same size) of every row of every architecture, with each run's required checks."""
    seeds = [run["seed"] for run in runs]
    lines = [f"Seeds {', '.join(map(str, seeds))} (mean ± standard deviation over {len(runs)} runs, values in %).", ""]
    for architecture, summary in runs[0]["architectures"].items():
        lines += [f"## {summary['title']}", "", "| Row | " + " | ".join(name for name, _ in COLUMNS) + " |"]
        lines.append("|---" + "|---:" * len(COLUMNS) + "|")
        for name, row in summary["variants"].items():
            cells = [
                _cell([value(run["architectures"][architecture]["variants"][name]["results"]) for run in runs])
                for _, value in COLUMNS
            ]
            lines.append("| " + " | ".join([row["title"], *cells]) + " |")
        lines.append("")
        for claim, verdict in summary["verdicts"].items():
            reproduced = [run["architectures"][architecture]["verdicts"][claim]["reproduced"] for run in runs]
            lines.append(f'- "{verdict["statement"]}": reproduced on {sum(reproduced)} of {len(runs)} seeds.')
        lines.append("")
    lines += ["## Required checks", "", "| Check | " + " | ".join(f"seed {seed}" for seed in seeds) + " |"]
    lines.append("|---" + "|---" * len(runs) + "|")
    for architecture, checks in runs[0]["checks"].items():
        for name in checks:
            cells = []
            for run in runs:
                check = run["checks"][architecture][name]
                cells.append(f"{'PASS' if check['passed'] else 'FAIL'} ({check['value']:.4f})")
            lines.append(f"| {architecture}.{name} | " + " | ".join(cells) + " |")
    walls = [f"{run['wall_time_s'] / 60:.1f}" for run in runs]
    return "\n".join([*lines, "", f"Wall time (min): {', '.join(walls)}.", ""])


def main(paths: Sequence[str]) -> int:
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    runs = [json.loads(Path(path).read_text(encoding="utf-8")) for path in paths]
    print(seed_summary(runs))
    return 0


__all__ = ["seed_summary"]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
