"""The embedded synthetic AVSBench-Robust benchmark: same schema and negatives as the real builder, made
offline in seconds, on which visual bias really occurs.

- `s4`: one visible object, always the sound source (as in AVSBench S4); train videos annotate only the first
  frame. A model trained on positives alone can segment the object without listening, so it keeps
  segmenting it under silence, noise or off-screen sound: the visual bias the robust training removes.
- `ms3`: 2-3 visible objects of different semantic groups, of which 1-2 (never all) sound; the mask is the
  union of the sounding objects, so even positives need the audio.

The 12 object classes (`SYNTHETIC_CLASSES`, 3 per semantic group) each have a distinct shape, colour and
texture and a distinct sound (`synthetic_audio.CLASS_SOUNDS`). Everything is drawn from generators seeded
by `stable_seed(seed, config, ...)`, so a dataset is bit-reproducible from its seed. Six further sound categories
that no class makes are held out of the dataset for evaluation only (`synthetic_unseen_audio.unseen_sound_clips`,
the analogue of the paper's unseen clips).
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from multiprocessing.pool import Pool
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa

from ..atomic_files import remove_stale_temporaries
from ..audio_conditions import NOISE_RMS, silence
from .audio_io import audio_cell, encode_audio
from .negative_audio import noise_waveform, pick_offscreen_sources, stable_seed
from .parquet_io import check_build_state, write_dataset_card, write_split_shards
from .schema import CLIP_SAMPLES, NUM_FRAMES, SEMANTIC_GROUPS, SPLITS, avs_features, check_config
from .synthetic_audio import mixture
from .synthetic_visual import SYNTHETIC_CLASSES, SyntheticClass, place_objects, png_bytes, render_video

DEFAULT_TRAIN_VIDEOS = {"s4": 400, "ms3": 300}
EVALUATION_FRACTION = 0.15
DEFAULT_IMAGE_SIZE = 96
DEFAULT_SEED = 42
ROWS_PER_SHARD = 500
CARD_TEMPLATE = "synthetic_dataset_card.md.jinja"
CARD_METADATA = {"license": "apache-2.0", "pretty_name": "Synthetic AVSBench-Robust"}
# How model cards name this benchmark as training data (followed by the config, e.g. "... S4").
SYNTHETIC_DATASET_ID = "modeling-avs synthetic AVSBench-Robust"


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


@dataclass(frozen=True)
class SplitSettings:
    """What determines the content of one synthetic split."""

    config: str
    split: str
    image_size: int
    seed: int


def positive_audio(settings: SplitSettings, plan: VideoPlan) -> bytes:
    """16-bit WAV bytes of the video's own sound (the mixture of its sounding objects)."""
    rng = np.random.default_rng(stable_seed(settings.seed, settings.config, plan.video_id, "audio"))
    return encode_audio(mixture(rng, [cls.ms3_object for cls in plan.sources]), "WAV")


def video_media(settings: SplitSettings, plan: VideoPlan) -> dict:
    """The row of one video without the split-dependent audio columns (`audio`, `audio_offscreen`, ...)."""
    config, image_size = settings.config, settings.image_size
    rng = np.random.default_rng(stable_seed(settings.seed, config, plan.video_id, "visual"))
    radius_range = (0.17, 0.27) if config == "s4" else (0.11, 0.16)
    frames, masks = render_video(
        rng, place_objects(rng, list(plan.visible), image_size, radius_range), list(plan.sounding), image_size
    )
    annotated = 1 if (config == "s4" and settings.split == "train") else NUM_FRAMES
    names = [cls.s4_category if config == "s4" else cls.ms3_object for cls in plan.sources]
    return {
        "video_id": plan.video_id,
        "category": "_".join(names),
        "semantic_groups": plan.groups,
        "frames": [{"bytes": png_bytes(frame), "path": None} for frame in frames],
        "masks": [{"bytes": png_bytes(mask), "path": None} if k < annotated else None for k, mask in enumerate(masks)],
        "audio_noise": audio_cell(encode_audio(noise_waveform(settings.seed, plan.video_id), "WAV")),
    }


class SplitGenerator:
    """Plans a split, synthesises every video's own sound, pairs off-screen sources, then renders rows on demand.

    `pool` (a `multiprocessing` pool) spreads the per-video work over processes; results do not depend on it.
    """

    def __init__(self, settings: SplitSettings, count: int, pool: Pool | None = None, num_proc: int = 1) -> None:
        self.settings = settings
        self.pool = pool
        self.num_proc = num_proc
        self.plans = plan_split(settings.config, settings.split, count, settings.seed)
        sounds = self._map(partial(positive_audio, settings), self.plans)
        self.audio = {plan.video_id: sound for plan, sound in zip(self.plans, sounds)}
        groups = {plan.video_id: plan.groups for plan in self.plans}
        self.offscreen = pick_offscreen_sources(settings.config, groups, settings.seed)
        self.silence = audio_cell(encode_audio(silence(CLIP_SAMPLES)))

    def _map(self, function, items: Sequence) -> list:
        if self.pool is None:
            return [function(item) for item in items]
        return self.pool.map(function, items, chunksize=max(1, len(items) // (4 * self.num_proc)))

    def rows(self, plans: Sequence[VideoPlan]) -> list[dict]:
        """Arrow storage rows (see `avs_features`) of the given plans of this split."""
        rows = []
        for plan, media in zip(plans, self._map(partial(video_media, self.settings), plans)):
            source = self.offscreen[plan.video_id].source
            rows.append(
                {
                    **media,
                    "audio": audio_cell(self.audio[plan.video_id]),
                    "audio_silence": self.silence,
                    "audio_offscreen": audio_cell(self.audio[source]),
                    "offscreen_source": source,
                    "seed": self.settings.seed,
                }
            )
        return rows


def make_synthetic_dataset(
    config: str = "s4",
    num_videos: int | Mapping[str, int] | None = None,
    image_size: int = DEFAULT_IMAGE_SIZE,
    seed: int = DEFAULT_SEED,
    output_dir: str | Path | None = None,
    rows_per_shard: int = ROWS_PER_SHARD,
    num_proc: int = 1,
) -> datasets.DatasetDict:
    """Generate the synthetic benchmark (see the module docstring) with the AVSBench-Robust schema.

    Args:
        config: `"s4"` (one sounding object) or `"ms3"` (2-3 objects, 1-2 sounding).
        num_videos: videos per split, see `split_sizes` (default s4 400/60/60, ms3 300/45/45).
        image_size: side of the square frames and masks in pixels (>= 32).
        seed: generation seed; the same seed gives bit-identical data (whatever `num_proc`).
        output_dir: if given, Parquet shards and a dataset card are written there (a rerun with the same
            settings reuses finished shards) and the returned splits are memory-mapped from it; otherwise the
            dataset is built in memory.
        rows_per_shard: videos per Parquet shard.
        num_proc: worker processes for the per-video work (1: none).

    Returns:
        `DatasetDict` of the non-empty splits, audio columns cast to `Audio(decode=False)` (decode them with
        `modeling_avs.data.audio_io.decode_audio_cell`, or use `ConditionSamples`).
    """
    from .loading import load_avs_dataset, undecoded_audio_features

    check_config(config)
    if image_size < 32:
        raise ValueError(f"image_size must be >= 32 pixels, got {image_size}")
    if num_proc < 1:
        raise ValueError(f"num_proc must be >= 1, got {num_proc}")
    sizes = {split: count for split, count in split_sizes(config, num_videos).items() if count}
    features = avs_features()
    if output_dir is not None:
        state = {
            "producer": "modeling_avs.data.synthetic",
            "config": config,
            "split_sizes": sizes,
            "image_size": image_size,
            "seed": seed,
            "rows_per_shard": rows_per_shard,
        }
        remove_stale_temporaries(output_dir)
        check_build_state(output_dir, config, state)
    # Built with undecoded audio features and an explicit fingerprint: otherwise `datasets` would hash
    # (pickle) the whole in-memory table to fingerprint a cast.
    info = datasets.DatasetInfo(features=undecoded_audio_features(features))
    splits = {}
    with _worker_pool(num_proc) as pool:
        for split, count in sizes.items():
            generator = SplitGenerator(SplitSettings(config, split, image_size, seed), count, pool, num_proc)
            if output_dir is not None:
                write_split_shards(
                    output_dir, config, split, generator.plans, generator.rows, features, rows_per_shard
                )
                continue
            table = pa.Table.from_pylist(generator.rows(generator.plans), schema=features.arrow_schema)
            fingerprint = f"{stable_seed('synthetic', config, split, count, image_size, seed):016x}"
            splits[split] = datasets.Dataset(
                datasets.table.InMemoryTable(table),
                info=info.copy(),
                split=datasets.Split(split),
                fingerprint=fingerprint,
            )
    if output_dir is None:
        return datasets.DatasetDict(splits)
    write_dataset_card(output_dir, CARD_TEMPLATE, CARD_METADATA, classes=SYNTHETIC_CLASSES, noise_rms=NOISE_RMS)
    return load_avs_dataset(output_dir, config)


@contextmanager
def _worker_pool(num_proc: int) -> Iterator[Pool | None]:
    """A process pool (fork where available) for `num_proc > 1`, else None."""
    if num_proc == 1:
        yield None
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(num_proc) as pool:
        yield pool
