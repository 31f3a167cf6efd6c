"""Builder of AVSBench-Robust from a local AVSBench v1 copy (`avs-robust build-dataset`).

For every video of the chosen config the builder stores the original frames, masks and sound and generates
the negative conditions of `modeling_avs.data.negative_audio` (silence, seeded white noise, off-screen sound
of another video of the same split, deterministic per video from `seed` + `video_id`). Rows are written as
Parquet shards `<output>/<config>/<split>-XXXXX-of-YYYYY.parquet` with a dataset card, atomically and
resumably (`modeling_avs.data.parquet_io`). With `unseen_audio`, the clips of that folder are stored in an
extra config `unseen` (split `test`, columns `name`, `audio`) for the unseen-sound evaluation.

Frames and masks keep their original PNG bytes; the positive sound keeps its original WAV bytes when it is
already 16-bit mono 16 kHz (otherwise it is down-mixed/resampled to that); generated clips are 5-s 16-bit
WAV (silence as FLAC).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import soundfile as sf

from ..atomic_files import remove_stale_temporaries, write_json_atomic
from ..audio_conditions import NOISE_RMS, silence
from .audio_io import audio_cell, encode_audio, fit_length, read_audio_file
from .avsbench_layout import AVSBenchLayoutError, ScanResult, VideoSource, scan_avsbench
from .negative_audio import load_unseen_clips, noise_waveform, pick_offscreen_sources
from .parquet_io import check_build_state, write_dataset_card, write_split_shards
from .schema import (
    CLIP_SAMPLES,
    LEAST_SUITABLE_CONTRAST,
    SAMPLE_RATE,
    SPLITS,
    UNSEEN_PREFIX,
    avs_features,
    check_config,
)

DEFAULT_SEED = 42
ROWS_PER_SHARD = 100
REPORT_FILE = "build_report.json"
CARD_TEMPLATE = "dataset_card.md.jinja"
# The columns holding AVSBench's own frames, masks and sounds (distributed by its authors under their own terms).
AVSBENCH_MEDIA_COLUMNS = ("frames", "masks", "audio", "audio_offscreen")
CARD_METADATA = {
    "pretty_name": "AVSBench-Robust",
    "license": "other",
    "task_categories": ["image-segmentation"],
    "tags": ["audio-visual", "audio-visual-segmentation", "robustness"],
}


@dataclass(frozen=True)
class BuildResult:
    """Shard paths per split, and the videos left out with `skip_invalid` (`{video_id: [problems]}`)."""

    shards: dict[str, list[Path]]
    skipped: dict[str, list[str]]
    report_path: Path | None


def unseen_features() -> datasets.Features:
    """Features of the `unseen` config: clip `name` and its 5-s mono 16 kHz `audio`."""
    return datasets.Features({"name": datasets.Value("string"), "audio": datasets.Audio(sampling_rate=SAMPLE_RATE)})


def original_audio_bytes(path: Path) -> bytes:
    """The file's bytes if it is 16-bit PCM mono 16 kHz WAV, else a converted 16-bit mono 16 kHz WAV."""
    info = sf.info(str(path))
    if info.format == "WAV" and info.subtype == "PCM_16" and info.channels == 1 and info.samplerate == SAMPLE_RATE:
        return path.read_bytes()
    return encode_audio(read_audio_file(path), "WAV")


def _image_cell(path: Path | None) -> dict | None:
    return None if path is None else {"bytes": path.read_bytes(), "path": path.name}


def given_pairs(pairs: Mapping[str, str], videos: list[VideoSource], split: str) -> dict[str, str]:
    """The off-screen sources of `videos` taken from `pairs`; every video and source must be in the split."""
    present = {video.video_id for video in videos}
    missing = sorted(video_id for video_id in present if video_id not in pairs)
    unknown = sorted({pairs[video_id] for video_id in present if video_id in pairs} - present)
    if missing or unknown:
        raise AVSBenchLayoutError(
            f"the given off-screen pairing does not fit the local {split} split: "
            + (f"no pair for {missing[:10]} " if missing else "")
            + (f"sources missing locally {unknown[:10]}" if unknown else "")
        )
    return {video_id: pairs[video_id] for video_id in present}


def published_offscreen_pairs(path_or_hub_id: str | Path, config: str) -> tuple[dict[str, str], set[int]]:
    """`({video_id: offscreen_source}, {seeds})` of all splits of a built or published AVSBench-Robust copy."""
    from .loading import load_avs_dataset

    dataset = load_avs_dataset(path_or_hub_id, config)
    pairs, seeds = {}, set()
    for split in dataset.values():
        columns = split.select_columns(["video_id", "offscreen_source", "seed"]).to_dict()
        pairs.update(zip(columns["video_id"], columns["offscreen_source"]))
        seeds.update(columns["seed"])
    return pairs, seeds


def _write_report(output_dir: Path, config: str, scan: ScanResult) -> Path:
    report = {"skipped_videos": scan.video_problems, "other_problems": scan.other_problems}
    return write_json_atomic(output_dir / config / REPORT_FILE, report, indent=1, sort_keys=True)


def build_avsbench_robust(
    avsbench_root: str | Path,
    config: str,
    output_dir: str | Path,
    seed: int = DEFAULT_SEED,
    avss_metadata: str | Path | None = None,
    unseen_audio: str | Path | None = None,
    skip_invalid: bool = False,
    rows_per_shard: int = ROWS_PER_SHARD,
    offscreen_pairs: Mapping[str, str] | None = None,
) -> BuildResult:
    """Build one config of AVSBench-Robust from an AVSBench download (see the module docstring).

    Args:
        avsbench_root: AVSBench data folder (holding `Single-source/`, `Multi-sources/`) or a config folder.
        config: `"s4"` or `"ms3"`.
        output_dir: where shards, `README.md` and (if anything was skipped) `<config>/build_report.json` go.
        seed: generation seed (the paper used 42).
        avss_metadata: AVSBench-semantic `metadata.csv` for MS3 object names (default `<avsbench_root>/metadata.csv`).
        unseen_audio: optional folder of extra sounds stored as config `unseen`.
        skip_invalid: leave out videos with problems and list them in the report instead of raising.
        rows_per_shard: videos per Parquet shard.
        offscreen_pairs: `{video_id: offscreen_source}` to reuse instead of drawing new pairs, e.g. from a
            published media-free copy (`published_offscreen_pairs`), so that a local rebuild matches it even when
            the local AVSBench copy lacks some videos.

    Raises:
        AVSBenchLayoutError: listing every problem of the AVSBench copy (unless `skip_invalid`), or when no
            valid video remains.
    """
    check_config(config)
    output_dir = Path(output_dir)
    remove_stale_temporaries(output_dir)
    scan = scan_avsbench(avsbench_root, config, avss_metadata)
    if (scan.video_problems or scan.other_problems) and not skip_invalid:
        raise AVSBenchLayoutError(scan.error_message(Path(avsbench_root)))
    if not scan.videos:
        raise AVSBenchLayoutError(f"no valid {config} video found in {avsbench_root}")
    by_split: dict[str, list[VideoSource]] = {}
    for video in sorted(scan.videos, key=lambda video: video.video_id):
        by_split.setdefault(video.split, []).append(video)
    state = {
        "producer": "modeling_avs.data.avsbench_robust",
        "config": config,
        "seed": seed,
        "rows_per_shard": rows_per_shard,
        "offscreen_pairs": None
        if offscreen_pairs is None
        else hashlib.sha256(json.dumps(sorted(offscreen_pairs.items())).encode()).hexdigest(),
        "videos": {
            split: hashlib.sha256("\n".join(video.video_id for video in videos).encode()).hexdigest()
            for split, videos in by_split.items()
        },
    }
    check_build_state(output_dir, config, state)
    features = avs_features()
    silence_cell = audio_cell(encode_audio(silence(CLIP_SAMPLES)))
    shards = {}
    for split in SPLITS:
        videos = by_split.get(split, [])
        if not videos:
            continue
        if offscreen_pairs is None:
            groups = {video.video_id: video.semantic_groups for video in videos}
            offscreen = {
                video_id: choice.source for video_id, choice in pick_offscreen_sources(config, groups, seed).items()
            }
        else:
            offscreen = given_pairs(offscreen_pairs, videos, split)
        audio_paths = {video.video_id: video.audio_path for video in videos}

        def make_row(video: VideoSource, offscreen=offscreen, audio_paths=audio_paths) -> dict:
            source = offscreen[video.video_id]
            return {
                "video_id": video.video_id,
                "category": video.category,
                "semantic_groups": list(video.semantic_groups),
                "frames": [_image_cell(path) for path in video.frame_paths],
                "masks": [_image_cell(path) for path in video.mask_paths],
                "audio": audio_cell(original_audio_bytes(video.audio_path)),
                "audio_silence": silence_cell,
                "audio_noise": audio_cell(encode_audio(noise_waveform(seed, video.video_id), "WAV")),
                "audio_offscreen": audio_cell(encode_audio(fit_length(read_audio_file(audio_paths[source])), "WAV")),
                "offscreen_source": source,
                "seed": seed,
            }

        shards[split] = write_split_shards(
            output_dir,
            config,
            split,
            videos,
            lambda batch, make_row=make_row: [make_row(v) for v in batch],
            features,
            rows_per_shard,
        )
    if unseen_audio is not None:
        clips = load_unseen_clips(unseen_audio)
        names = sorted(clips)
        check_build_state(output_dir, "unseen", {"clips": names})
        shards["unseen"] = write_split_shards(
            output_dir,
            "unseen",
            "test",
            names,
            lambda batch: [
                {"name": name.removeprefix(UNSEEN_PREFIX), "audio": audio_cell(encode_audio(clips[name], "WAV"))}
                for name in batch
            ],
            unseen_features(),
            len(names),
        )
    report_path = _write_report(output_dir, config, scan) if scan.video_problems or scan.other_problems else None
    write_avsbench_robust_card(output_dir, seed)
    return BuildResult(shards, scan.video_problems, report_path)


def write_avsbench_robust_card(output_dir: str | Path, seed: int | str, media_included: bool = True) -> Path:
    """Write the AVSBench-Robust dataset card (`README.md`, template `dataset_card.md.jinja`) of `output_dir`."""
    contrast = "; ".join(
        f"{config}: "
        + ", ".join(f"{group} -> {'/'.join(sorted(excluded)) or '(none)'}" for group, excluded in table.items())
        for config, table in LEAST_SUITABLE_CONTRAST.items()
    )
    return write_dataset_card(
        output_dir,
        CARD_TEMPLATE,
        CARD_METADATA,
        seed=seed,
        noise_rms=NOISE_RMS,
        noise_dbfs=round(20 * np.log10(NOISE_RMS)),
        contrast=contrast,
        media_included=media_included,
        media_columns=", ".join(f"`{column}`" for column in AVSBENCH_MEDIA_COLUMNS),
    )
