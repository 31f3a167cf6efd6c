"""Per-condition samples of AVSBench-Robust rows (a `torch` dataset): each video under each audio condition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import datasets
import numpy as np
import torch

from .audio_io import decode_audio_cell, fit_length
from .loading import undecoded_audio
from .schema import CONDITION_AUDIO_COLUMNS, CONDITIONS, POSITIVE_CONDITION


class ConditionSamples(torch.utils.data.Dataset):
    """Per-condition view of AVSBench-Robust rows, built lazily (frames are decoded only when an item is read).

    Item `i` is condition `conditions[i // len(dataset)]` of row `i % len(dataset)`:
    `{"video_id": str, "condition": str, "frames": list of 5 PIL RGB images, "masks": list of 5 PIL images or
    None (the video's own masks, for every condition), "waveform": float32 np.ndarray [80000] (5 s mono
    16 kHz), "pair_label": 1 for "positive" else 0}`.

    Args:
        dataset: one split of `load_avs_dataset` (or any dataset with the AVSBench-Robust schema).
        conditions: subset of `CONDITIONS`, in the order they are laid out.
        extra_audio: additional negative conditions, `{name: waveform}` (e.g. from `load_unseen_clips`); each
            waveform (mono 16 kHz) is padded/truncated to 5 s and paired with every video.
    """

    def __init__(
        self,
        dataset: datasets.Dataset,
        conditions: Sequence[str] = CONDITIONS,
        extra_audio: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        unknown = [condition for condition in conditions if condition not in CONDITIONS]
        if unknown:
            raise ValueError(f"unknown condition(s) {unknown}; expected a subset of {CONDITIONS}")
        extra_audio = dict(extra_audio or {})
        clashes = [name for name in extra_audio if name in CONDITIONS]
        if clashes:
            raise ValueError(f"extra_audio names {clashes} clash with the built-in conditions")
        self.dataset = undecoded_audio(dataset)
        self.extra_audio = {
            name: fit_length(np.asarray(wave, dtype=np.float32).reshape(-1)) for name, wave in extra_audio.items()
        }
        self.conditions = tuple(conditions) + tuple(self.extra_audio)
        if not self.conditions:
            raise ValueError("ConditionSamples needs at least one condition")

    def __len__(self) -> int:
        return len(self.dataset) * len(self.conditions)

    def indices_of(self, condition: str) -> range:
        """Item indices of one condition (one per row, in row order)."""
        start = self.conditions.index(condition) * len(self.dataset)
        return range(start, start + len(self.dataset))

    def __getitem__(self, index: int) -> dict:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        condition_index, row_index = divmod(index, len(self.dataset))
        condition = self.conditions[condition_index]
        row = self.dataset[row_index]
        if condition in CONDITION_AUDIO_COLUMNS:
            waveform = decode_audio_cell(row[CONDITION_AUDIO_COLUMNS[condition]])
        else:
            waveform = self.extra_audio[condition].copy()
        return {
            "video_id": row["video_id"],
            "condition": condition,
            "frames": [frame.convert("RGB") for frame in row["frames"]],
            "masks": list(row["masks"]),
            "waveform": waveform,
            "pair_label": int(condition == POSITIVE_CONDITION),
        }


__all__ = ["ConditionSamples"]
