"""Loading AVSBench-Robust and expanding its rows into per-condition samples.

`load_avs_dataset` loads a local output folder or a Hub repository with `datasets.load_dataset` and casts
the audio columns to `Audio(decode=False)`: `datasets` 5 would decode them through torchcodec/ffmpeg,
whereas `ConditionSamples` decodes the stored 16-bit PCM bytes with `soundfile`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import datasets
import numpy as np
import torch

from .audio_io import decode_audio_cell, fit_length
from .schema import CONDITION_AUDIO_COLUMNS, CONDITIONS, SAMPLE_RATE


def undecoded_audio_features(features: datasets.Features) -> datasets.Features:
    """`features` with every `Audio` feature replaced by `Audio(sampling_rate=16000, decode=False)`."""
    return datasets.Features(
        {
            column: datasets.Audio(sampling_rate=SAMPLE_RATE, decode=False)
            if isinstance(feature, datasets.Audio)
            else feature
            for column, feature in features.items()
        }
    )


def undecoded_audio(dataset: datasets.Dataset | datasets.DatasetDict) -> datasets.Dataset | datasets.DatasetDict:
    """Cast every `Audio` column to `Audio(sampling_rate=16000, decode=False)` (cells become `{"bytes", "path"}`)."""
    features = dataset.features if isinstance(dataset, datasets.Dataset) else next(iter(dataset.values())).features
    for column, feature in undecoded_audio_features(features).items():
        if feature != features[column]:
            dataset = dataset.cast_column(column, feature)  # metadata-only change, no data is rewritten
    return dataset


def local_cache_dir(folder: str | Path, config: str) -> Path:
    """A `datasets` cache folder specific to the current shard files of `<folder>/<config>`.

    `datasets` 5 keys the cache of a local folder by its name and file patterns, not by the files' content or
    modification times, so loading a rebuilt folder (or another folder of the same name) would silently return
    the old data. Hashing the shards' names, sizes and modification times into the cache path avoids that.
    """
    entries = sorted(
        f"{path.relative_to(folder)}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
        for path in [Path(folder) / "README.md", *(Path(folder) / config).glob("*.parquet")]
        if path.exists()
    )
    digest = hashlib.sha256("\n".join([str(Path(folder).resolve()), *entries]).encode()).hexdigest()[:16]
    return Path(datasets.config.HF_DATASETS_CACHE) / "modeling_avs" / digest


def load_avs_dataset(path_or_hub_id: str | Path, config: str, **load_kwargs) -> datasets.DatasetDict:
    """`datasets.load_dataset(path_or_hub_id, config)` with audio columns left undecoded (see module docstring).

    `path_or_hub_id` is a folder written by `avs-robust build-dataset` / `make-synthetic` or a Hub dataset id;
    `load_kwargs` go to `datasets.load_dataset` (e.g. `split`, `cache_dir`). For a local folder the default
    cache is `local_cache_dir(folder, config)`, so that a rebuilt folder is never served from a stale cache.
    """
    path = str(path_or_hub_id)
    if Path(path).exists():
        if not (Path(path) / "README.md").exists():
            raise FileNotFoundError(
                f"{path} has no README.md: not a folder written by build-dataset or make-synthetic"
            )
        load_kwargs.setdefault("cache_dir", str(local_cache_dir(path, config)))
    return undecoded_audio(datasets.load_dataset(path, config, **load_kwargs))


def extra_audio_from_dataset(dataset: datasets.Dataset) -> dict[str, np.ndarray]:
    """`{"unseen:<name>": float32 [80000]}` from the rows (`name`, `audio`) of a builder's `unseen` config."""
    dataset = undecoded_audio(dataset)
    return {f"unseen:{row['name']}": decode_audio_cell(row["audio"]) for row in dataset}


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
            "pair_label": int(condition == "positive"),
        }
