"""Loading AVSBench-Robust with `datasets`, audio columns left undecoded.

`load_avs_dataset` loads a local output folder or a Hub repository with `datasets.load_dataset` and casts the audio
columns to `Audio(decode=False)`: `datasets` 5 would decode them through torchcodec/ffmpeg, whereas the package decodes
the stored 16-bit PCM bytes with `soundfile` (`modeling_avs.data.audio_io`). Needs no torch.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import datasets
import numpy as np

from .audio_io import decode_audio_cell
from .schema import SAMPLE_RATE, UNSEEN_PREFIX


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
    return {f"{UNSEEN_PREFIX}{row['name']}": decode_audio_cell(row["audio"]) for row in dataset}


__all__ = [
    "extra_audio_from_dataset",
    "load_avs_dataset",
    "local_cache_dir",
    "undecoded_audio",
    "undecoded_audio_features",
]
