"""What the paper reports, beside which our rows are printed, and the two claims whose verdicts `results.md` states.

Numbers are the paper's S4 results (our benchmark is S4-like), as fractions. Table 4's first row (G-mIoU 35.03,
G-FPR 0.186) is Table 2's AVSBench (PVT-v2) row, so its ablation is of AVSBench-TPAVI; for AVSegFormer the paper
reports only the baseline and the full method (Table 2). Cells the paper does not give here are None.
"""

from __future__ import annotations

from dataclasses import dataclass

PAPER_ROWS: dict[str, dict[str, dict[str, float | None]]] = {
    "avsbench": {
        "baseline": {"g_miou": 0.3503, "g_f": None, "g_fpr": 0.186},
        "negatives_only": {"g_miou": 0.3485, "g_f": None, "g_fpr": 0.189},
        "robust": {"g_miou": 0.8767, "g_f": 0.8246, "g_fpr": 0.000},
    },
    "avsegformer": {
        "baseline": {"g_miou": 0.2820, "g_f": 0.1736, "g_fpr": 0.188},
        "robust": {"g_miou": 0.8507, "g_f": 0.8085, "g_fpr": 0.001},
    },
}
PAPER_SOURCES = {
    "avsbench": "Table 4 (S4 ablation; its first row is Table 2's AVSBench row)",
    "avsegformer": "Table 2 (S4): AVSegFormer and AVSegFormer + the robust recipe",
}
# MS3 rows of Table 4, for reference (our benchmark is S4): G-F and G-FPR of (a), (b); all three of (c).
PAPER_MS3_TABLE4 = {
    "baseline": {"g_miou": None, "g_f": 0.5104, "g_fpr": 0.072},
    "negatives_only": {"g_miou": None, "g_f": 0.3006, "g_fpr": 0.095},
    "robust": {"g_miou": 0.6661, "g_f": 0.7059, "g_fpr": 0.004},
}

# Decision thresholds of the verdicts (and of the required checks).
BIAS_KEPT_FRACTION = 0.5  # "negatives alone leave the bias": (b) keeps at least half of (a)'s G-FPR
EMPTY_MASKS_MAX_G_FPR = 0.005  # "masks are empty under negatives": G-FPR at most 0.5 %


@dataclass(frozen=True)
class Claim:
    name: str
    statement: str
    rule: str


CLAIMS = (
    Claim(
        "negatives_alone_leave_the_bias",
        "negatives alone leave the bias",
        f"(b)'s G-FPR is at least {BIAS_KEPT_FRACTION:.0%} of (a)'s",
    ),
    Claim(
        "similarity_loss_empties_the_masks",
        "negatives + similarity loss empty the masks",
        f"(c)'s G-FPR (the model's own masks) is at most {EMPTY_MASKS_MAX_G_FPR:.1%}",
    ),
)


def claim_holds(name: str, g_fpr: dict[str, float]) -> bool:
    """Whether claim `name` holds for the G-FPR of the rows `{variant: g_fpr}` (ours or the paper's)."""
    if name == "negatives_alone_leave_the_bias":
        return g_fpr["negatives_only"] >= BIAS_KEPT_FRACTION * g_fpr["baseline"]
    if name == "similarity_loss_empties_the_masks":
        return g_fpr["robust"] <= EMPTY_MASKS_MAX_G_FPR
    raise ValueError(f"unknown claim {name!r}")


def verdicts(architecture: str, g_fpr: dict[str, float]) -> dict[str, dict]:
    """
    `{claim: {"statement", "rule", "paper_holds", "reproduced", "g_fpr"}}` for one architecture: the claim is
    reproduced when it holds for our rows (`g_fpr`, `{variant: G-FPR}`); `paper_holds` says whether the paper's own
    numbers satisfy the rule (None where the paper lacks a row of this architecture).
    """
    paper = {name: row["g_fpr"] for name, row in PAPER_ROWS[architecture].items()}
    result = {}
    for claim in CLAIMS:
        holds = claim_holds(claim.name, g_fpr)
        try:  # the paper's rows of this architecture may lack one the rule needs
            paper_holds = claim_holds(claim.name, paper)
        except KeyError:
            paper_holds = None
        result[claim.name] = {
            "statement": claim.statement,
            "rule": claim.rule,
            "paper_holds": paper_holds,
            "reproduced": holds,
            "g_fpr": {name: g_fpr[name] for name in ("baseline", "negatives_only", "robust")},
        }
    return result


__all__ = [
    "BIAS_KEPT_FRACTION",
    "CLAIMS",
    "EMPTY_MASKS_MAX_G_FPR",
    "PAPER_MS3_TABLE4",
    "PAPER_ROWS",
    "PAPER_SOURCES",
    "claim_holds",
    "verdicts",
]
