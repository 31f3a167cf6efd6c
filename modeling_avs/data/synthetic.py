"""The embedded synthetic AVSBench-Robust benchmark: same schema and negatives as the real builder, made
offline in seconds, on which visual bias really occurs.

- `s4`: one visible object, always the sound source (as in AVSBench S4); train videos annotate only the first
  frame. A model trained on positives alone can segment the object without listening, so it keeps
  segmenting it under silence, noise or off-screen sound: the visual bias the robust training removes.
- `ms3`: 2-3 visible objects of different semantic groups, of which 1-2 (never all) sound; the mask is the
  union of the sounding objects, so even positives need the audio.

The 12 object classes (`SYNTHETIC_CLASSES`, 3 per semantic group) each have a distinct shape, colour and
texture and a distinct sound (`synthetic_audio.CLASS_SOUNDS`). Everything is drawn from generators seeded
by `stable_seed(seed, config, ...)`, so a dataset is bit-reproducible from its seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa

from .audio_io import audio_cell, encode_audio
from .negative_audio import NOISE_RMS, noise_waveform, pick_offscreen_sources, silence_waveform, stable_seed
from .parquet_io import check_build_state, write_dataset_card, write_split_shards
from .schema import NUM_FRAMES, SEMANTIC_GROUPS, SPLITS, avs_features, check_config
from .synthetic_audio import mixture
from .synthetic_visual import SYNTHETIC_CLASSES, SyntheticClass, place_objects, png_bytes, render_video

DEFAULT_TRAIN_VIDEOS = {"s4": 400, "ms3": 300}
EVALUATION_FRACTION = 0.15
DEFAULT_IMAGE_SIZE = 96
DEFAULT_SEED = 42
ROWS_PER_SHARD = 500


@dataclass(frozen=True)
class VideoPlan:
    """What one synthetic video shows and sounds like."""

    video_id: str
    visible: tuple[SyntheticClass, ...]
    sounding: tuple[bool, ...]

    @property
    def sources(self) -> list[SyntheticClass]:
        return [cls for cls, is_sounding in zip(self.visible, self.sounding) if is_sounding]

    @property
    def groups(self) -> list[str]:
        present = {cls.group for cls in self.sources}
        return [group for group in SEMANTIC_GROUPS if group in present]


def split_sizes(config: str, num_videos: int | Mapping[str, int] | None) -> dict[str, int]:
    """Videos per split: `None` -> defaults (s4 400/60/60, ms3 300/45/45); an int N -> train N and
    validation/test max(2, ceil(0.15 N)) each; a mapping -> as given (missing splits get 0)."""
    if num_videos is None:
        num_videos = DEFAULT_TRAIN_VIDEOS[check_config(config)]
    if isinstance(num_videos, int):
        if num_videos < 1:
            raise ValueError(f"num_videos must be >= 1, got {num_videos}")
        evaluation = max(2, math.ceil(EVALUATION_FRACTION * num_videos))
        return {"train": num_videos, "validation": evaluation, "test": evaluation}
    unknown = set(num_videos) - set(SPLITS)
    if unknown or any(count < 0 or count == 1 for count in num_videos.values()):
        raise ValueError(f"num_videos must map splits {SPLITS} to 0 or >= 2 videos, got {dict(num_videos)}")
    return {split: int(num_videos.get(split, 0)) for split in SPLITS}


def plan_split(config: str, split: str, count: int, seed: int) -> list[VideoPlan]:
    """Choose the classes of every video of a split (class-balanced order, shuffled by the seed)."""
    rng = np.random.default_rng(stable_seed(seed, config, split, "plan"))
    groups = list(SEMANTIC_GROUPS)
    by_group = {group: [cls for cls in SYNTHETIC_CLASSES if cls.group == group] for group in groups}
    # Classes interleaved across groups, so that any 4 consecutive entries cover all groups.
    interleaved = [by_group[group][rank] for rank in range(3) for group in groups]
    balanced = (np.arange(count) + len(groups) * int(rng.integers(3))) % len(interleaved)
    first_groups = np.arange(count) % len(groups)
    for order in (balanced, first_groups):
        order[:4] = rng.permutation(order[:4])
        order[4:] = rng.permutation(order[4:])
    plans = []
    for index in range(count):
        video_id = f"synthetic_{config}_{split}_{index:05d}"
        if config == "s4":
            plans.append(VideoPlan(video_id, (interleaved[balanced[index]],), (True,)))
            continue
        num_visible = int(rng.integers(2, 4))
        first = groups[first_groups[index]]
        others = rng.choice([group for group in groups if group != first], num_visible - 1, replace=False)
        visible = tuple(by_group[group][int(rng.integers(3))] for group in [first, *others])
        # The first 4 videos have one source each, of 4 different groups, so every video has an off-screen
        # candidate whatever the split size.
        num_sounding = 1 if index < len(groups) else int(rng.integers(1, min(2, num_visible - 1) + 1))
        plans.append(VideoPlan(video_id, visible, tuple(k < num_sounding for k in range(num_visible))))
    return plans


def synthetic_split_rows(config: str, split: str, count: int, image_size: int, seed: int):
    """The plans of a split and a function that renders the Arrow storage row of one plan."""
    plans = plan_split(config, split, count, seed)
    audio_bytes = {
        plan.video_id: encode_audio(
            mixture(
                np.random.default_rng(stable_seed(seed, config, plan.video_id, "audio")),
                [c.ms3_object for c in plan.sources],
            ),
            "WAV",
        )
        for plan in plans
    }
    offscreen = pick_offscreen_sources(config, {plan.video_id: plan.groups for plan in plans}, seed)
    silence = audio_cell(encode_audio(silence_waveform()))
    radius_range = (0.17, 0.27) if config == "s4" else (0.11, 0.16)
    annotated = 1 if (config == "s4" and split == "train") else NUM_FRAMES

    def make_row(plan: VideoPlan) -> dict:
        rng = np.random.default_rng(stable_seed(seed, config, plan.video_id, "visual"))
        objects = place_objects(rng, list(plan.visible), image_size, radius_range)
        frames, masks = render_video(rng, objects, list(plan.sounding), image_size)
        names = [cls.s4_category if config == "s4" else cls.ms3_object for cls in plan.sources]
        return {
            "video_id": plan.video_id,
            "category": "_".join(names),
            "semantic_groups": plan.groups,
            "frames": [{"bytes": png_bytes(frame), "path": None} for frame in frames],
            "masks": [
                {"bytes": png_bytes(mask), "path": None} if k < annotated else None for k, mask in enumerate(masks)
            ],
            "audio": audio_cell(audio_bytes[plan.video_id]),
            "audio_silence": silence,
            "audio_noise": audio_cell(encode_audio(noise_waveform(seed, plan.video_id), "WAV")),
            "audio_offscreen": audio_cell(audio_bytes[offscreen[plan.video_id].source]),
            "offscreen_source": offscreen[plan.video_id].source,
            "seed": seed,
        }

    return plans, make_row


def make_synthetic_dataset(
    config: str = "s4",
    num_videos: int | Mapping[str, int] | None = None,
    image_size: int = DEFAULT_IMAGE_SIZE,
    seed: int = DEFAULT_SEED,
    output_dir: str | Path | None = None,
    rows_per_shard: int = ROWS_PER_SHARD,
) -> datasets.DatasetDict:
    """Generate the synthetic benchmark (see the module docstring) with the AVSBench-Robust schema.

    Args:
        config: `"s4"` (one sounding object) or `"ms3"` (2-3 objects, 1-2 sounding).
        num_videos: videos per split, see `split_sizes` (default s4 400/60/60, ms3 300/45/45).
        image_size: side of the square frames and masks in pixels (>= 32).
        seed: generation seed; the same seed gives bit-identical data.
        output_dir: if given, Parquet shards and a dataset card are written there (a rerun with the same
            settings reuses finished shards) and the returned splits are memory-mapped from it; otherwise the
            dataset is built in memory.
        rows_per_shard: videos per Parquet shard.

    Returns:
        `DatasetDict` of the non-empty splits, audio columns cast to `Audio(decode=False)` (decode them with
        `modeling_avs.data.audio_io.decode_audio_cell`, or use `ConditionSamples`).
    """
    from .samples import load_avs_dataset, undecoded_audio

    check_config(config)
    if image_size < 32:
        raise ValueError(f"image_size must be >= 32 pixels, got {image_size}")
    sizes = split_sizes(config, num_videos)
    features = avs_features()
    if output_dir is None:
        splits = {}
        for split, count in sizes.items():
            if count:
                plans, make_row = synthetic_split_rows(config, split, count, image_size, seed)
                table = pa.Table.from_pylist([make_row(plan) for plan in plans], schema=features.arrow_schema)
                splits[split] = datasets.Dataset(datasets.table.InMemoryTable(table), split=datasets.Split(split))
        return undecoded_audio(datasets.DatasetDict(splits))
    state = {
        "producer": "modeling_avs.data.synthetic",
        "config": config,
        "split_sizes": sizes,
        "image_size": image_size,
        "seed": seed,
        "rows_per_shard": rows_per_shard,
    }
    check_build_state(output_dir, config, state)
    for split, count in sizes.items():
        if count:
            plans, make_row = synthetic_split_rows(config, split, count, image_size, seed)
            write_split_shards(output_dir, config, split, plans, make_row, features, rows_per_shard)
    write_dataset_card(
        output_dir, synthetic_card(), {"license": "apache-2.0", "pretty_name": "Synthetic AVSBench-Robust"}
    )
    return load_avs_dataset(output_dir, config)


def synthetic_card() -> str:
    """Markdown body of the dataset card of a synthetic benchmark folder."""
    classes = "\n".join(
        f"| {cls.s4_category} | {cls.ms3_object} | {cls.group} | {cls.shape}, {cls.texture}, RGB{cls.color} |"
        for cls in SYNTHETIC_CLASSES
    )
    template = (Path(__file__).parent / "synthetic_card.md").read_text(encoding="utf-8")
    return template.replace("$classes", classes).replace("$noise_rms", str(NOISE_RMS))
