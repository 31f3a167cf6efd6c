"""Per-epoch, deterministic, condition-balanced negative training pairs (the AVSBench-Robust recipe)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..data.negative_audio import stable_seed
from ..data.schema import NEGATIVE_CONDITIONS, POSITIVE_CONDITION


def num_negative_pairs(num_positives: int, negative_ratio: float) -> int:
    """Negatives added to `num_positives` positives so that they make `negative_ratio` of all pairs."""
    if not 0.0 <= negative_ratio < 1.0:
        raise ValueError(f"negative_ratio must be in [0, 1), got {negative_ratio}")
    return round(negative_ratio / (1.0 - negative_ratio) * num_positives)


def plan_epoch(
    num_rows: int, negative_ratio: float, conditions: Sequence[str], seed: int, epoch: int
) -> list[tuple[int, str]]:
    """
    The training pairs of one epoch: every row once with its own audio (`"positive"`), then
    `num_negative_pairs(num_rows, negative_ratio)` negatives. Negative rows are drawn without replacement (a
    fresh permutation whenever all rows were used) and the conditions are balanced (their counts differ by at
    most one), both from a generator seeded by `(seed, epoch)`: the same seed and epoch give the same plan,
    another epoch a different one.

    Returns:
        `[(row_index, condition), ...]`, positives first (the Trainer's sampler shuffles the order).
    """
    plan = [(row, POSITIVE_CONDITION) for row in range(num_rows)]
    count = num_negative_pairs(num_rows, negative_ratio)
    if count == 0:
        return plan
    if not conditions:
        raise ValueError("negative_ratio > 0 needs at least one negative condition")
    rng = np.random.default_rng(stable_seed(seed, "negative-pairs", epoch))
    rows = np.concatenate([rng.permutation(num_rows) for _ in range(-(-count // num_rows))])[:count]
    names = np.array([conditions[index % len(conditions)] for index in range(count)])[rng.permutation(count)]
    return plan + [(int(row), str(name)) for row, name in zip(rows, names)]


class BalancedNegativeDataset(torch.utils.data.Dataset):
    """
    Training view of per-condition samples: each epoch every video once with its own audio plus a balanced,
    deterministic draw of negatives (see [`plan_epoch`]). The length is the same in every epoch;
    [`NegativeResamplingCallback`] (or the data loader) calls `set_epoch` so that each epoch gets its own draw.

    Args:
        samples: per-condition samples exposing `conditions`, `indices_of(condition)` and `__getitem__`
            (a [`ConditionSamples`] or a [`FeaturizedSamples`]) that hold `"positive"` and the negative conditions.
        negative_ratio (`float`): fraction of the pairs that are negatives (0: the positive-only baseline).
        negative_conditions (`Sequence[str]`): conditions the negatives are drawn from.
        seed (`int`): seed of the draws.
    """

    def __init__(self, samples, negative_ratio: float, negative_conditions: Sequence[str], seed: int = 0) -> None:
        needed = (POSITIVE_CONDITION, *negative_conditions) if negative_ratio > 0 else (POSITIVE_CONDITION,)
        missing = [c for c in needed if c not in samples.conditions]
        if missing:
            raise ValueError(f"samples lack condition(s) {missing}; they hold {list(samples.conditions)}")
        unknown = [c for c in negative_conditions if c not in NEGATIVE_CONDITIONS]
        if unknown:
            raise ValueError(f"negative conditions must be among {NEGATIVE_CONDITIONS}, got {unknown}")
        self.samples = samples
        self.negative_ratio = negative_ratio
        self.negative_conditions = tuple(negative_conditions)
        self.seed = seed
        self.num_rows = len(samples.indices_of(POSITIVE_CONDITION))
        self.epoch = -1
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Draw the negatives of `epoch` (0-based)."""
        if epoch != self.epoch:
            self.epoch = epoch
            self.plan = plan_epoch(self.num_rows, self.negative_ratio, self.negative_conditions, self.seed, epoch)

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, index: int) -> dict:
        row, condition = self.plan[index]
        return self.samples[self.samples.indices_of(condition)[row]]


__all__ = ["BalancedNegativeDataset", "num_negative_pairs", "plan_epoch"]
