"""Miniature AVSBench v1 copies (real layout and file names, tiny media) for the dataset tests."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

S4_CATEGORIES = ("playing_piano", "male_speech", "dog_barking", "helicopter")
MS3_OBJECTS = ("guitar", "man", "dog", "car", "baby_woman", "piano_violin", "cat", "emergency-car")
IMAGE_SIZE = 16


def _png(path: Path, rng: np.random.Generator, mode: str, size: int = IMAGE_SIZE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "RGB":
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
    else:
        Image.fromarray((rng.random((size, size)) > 0.5).astype(np.uint8) * 255).save(path)


def _wav(path: Path, rng: np.random.Generator, seconds: float = 1.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frequency = rng.uniform(200, 2000)
    time = np.arange(int(16000 * seconds)) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * frequency * time) * 32767).astype(np.int16), 16000, subtype="PCM_16")


def make_s4_tree(
    root: Path, videos_per_category: dict[str, int] | None = None, seed: int = 0
) -> list[tuple[str, str, str]]:
    """Write `root/Single-source/...`; returns the CSV rows `(name, category, split)`."""
    counts = videos_per_category or {"train": 2, "val": 1, "test": 1}
    rng = np.random.default_rng(seed)
    base = root / "Single-source"
    data = base / "s4_data"
    rows = []
    for split, count in counts.items():
        for category in S4_CATEGORIES:
            for index in range(count):
                name = f"{category[:3]}{split}{index}-yT_{index * 2}"
                rows.append((name, category, split))
                for k in range(1, 6):
                    _png(data / "visual_frames" / split / category / name / f"{name}_{k}.png", rng, "RGB")
                    if split != "train" or k == 1:
                        _png(data / "gt_masks" / split / category / name / f"{name}_{k}.png", rng, "L")
                _wav(data / "audio_wav" / split / category / f"{name}.wav", rng)
    write_s4_csv(base, rows)
    return rows


def write_s4_csv(base: Path, rows: list[tuple[str, str, str]]) -> None:
    with open(base / "s4_meta_data.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "start", "category", "split"])
        writer.writerows((name, 0, category, split) for name, category, split in rows)


def make_ms3_tree(root: Path, seed: int = 0) -> list[tuple[str, str, str]]:
    """Write `root/Multi-sources/...` and `root/metadata.csv`; returns `(video_id, objects, split)`."""
    rng = np.random.default_rng(seed)
    base = root / "Multi-sources"
    data = base / "ms3_data"
    rows = []
    for split, count in {"train": 8, "val": 4, "test": 4}.items():
        for index in range(count):
            video_id = f"ms3{split}{index}_Ab"
            objects = (
                MS3_OBJECTS[(index * 3 + len(split)) % len(MS3_OBJECTS)] if split != "train" else MS3_OBJECTS[index]
            )
            rows.append((video_id, objects, split))
            for k in range(1, 6):
                _png(data / "visual_frames" / video_id / f"{video_id}.mp4_{k}.png", rng, "RGB")
                _png(data / "gt_masks" / split / video_id / f"{video_id}_{k}.png", rng, "L")
            _wav(data / "audio_wav" / split / f"{video_id}.wav", rng)
    with open(base / "ms3_meta_data.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video_id", "split"])
        writer.writerows((video_id, split) for video_id, _objects, split in rows)
    with open(root / "metadata.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["vid", "uid", "s_min", "s_sec", "a_obj", "split", "label"])
        writer.writerow(["s4video", "s4video_0", 0, 0, "dog", "train", "v1s"])
        writer.writerows((video_id, f"{video_id}_0", 0, 0, objects, split, "v1m") for video_id, objects, split in rows)
        writer.writerow(["v2video", "v2video_0", 0, 0, "unknownthing", "train", "v2"])
    return rows
