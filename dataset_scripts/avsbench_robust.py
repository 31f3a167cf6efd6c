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
import os
from dataclasses import dataclass
from pathlib import Path
from string import Template

import datasets
import numpy as np
import soundfile as sf

from modeling_avs.data.audio_io import audio_cell, encode_audio, fit_length, read_audio_file
from modeling_avs.data.negative_audio import (
    NOISE_RMS,
    load_unseen_clips,
    noise_waveform,
    pick_offscreen_sources,
    silence_waveform,
)
from modeling_avs.data.parquet_io import check_build_state, write_dataset_card, write_split_shards
from modeling_avs.data.schema import LEAST_SUITABLE_CONTRAST, SAMPLE_RATE, SPLITS, avs_features, check_config

from .avsbench_layout import AVSBenchLayoutError, ScanResult, VideoSource, scan_avsbench

DEFAULT_SEED = 42
ROWS_PER_SHARD = 100
REPORT_FILE = "build_report.json"
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


def _write_report(output_dir: Path, config: str, scan: ScanResult) -> Path:
    path = output_dir / config / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    report = {"skipped_videos": scan.video_problems, "other_problems": scan.other_problems}
    temporary.write_text(json.dumps(report, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)
    return path


def build_avsbench_robust(
    avsbench_root: str | Path,
    config: str,
    output_dir: str | Path,
    seed: int = DEFAULT_SEED,
    avss_metadata: str | Path | None = None,
    unseen_audio: str | Path | None = None,
    skip_invalid: bool = False,
    rows_per_shard: int = ROWS_PER_SHARD,
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

    Raises:
        AVSBenchLayoutError: listing every problem of the AVSBench copy (unless `skip_invalid`), or when no
            valid video remains.
    """
    check_config(config)
    output_dir = Path(output_dir)
    scan = scan_avsbench(avsbench_root, config, avss_metadata)
    if (scan.video_problems or scan.other_problems) and not skip_invalid:
        raise AVSBenchLayoutError(scan.error_message(Path(avsbench_root)))
    if not scan.videos:
        raise AVSBenchLayoutError(f"no valid {config} video found in {avsbench_root}")
    by_split: dict[str, list[VideoSource]] = {}
    for video in sorted(scan.videos, key=lambda video: video.video_id):
        by_split.setdefault(video.split, []).append(video)
    state = {
        "producer": "dataset_scripts.avsbench_robust",
        "config": config,
        "seed": seed,
        "rows_per_shard": rows_per_shard,
        "videos": {
            split: hashlib.sha256("\n".join(video.video_id for video in videos).encode()).hexdigest()
            for split, videos in by_split.items()
        },
    }
    check_build_state(output_dir, config, state)
    features = avs_features()
    silence = audio_cell(encode_audio(silence_waveform()))
    shards = {}
    for split in SPLITS:
        videos = by_split.get(split, [])
        if not videos:
            continue
        offscreen = pick_offscreen_sources(config, {video.video_id: video.semantic_groups for video in videos}, seed)
        audio_paths = {video.video_id: video.audio_path for video in videos}

        def make_row(video: VideoSource, offscreen=offscreen, audio_paths=audio_paths) -> dict:
            source = offscreen[video.video_id].source
            return {
                "video_id": video.video_id,
                "category": video.category,
                "semantic_groups": list(video.semantic_groups),
                "frames": [_image_cell(path) for path in video.frame_paths],
                "masks": [_image_cell(path) for path in video.mask_paths],
                "audio": audio_cell(original_audio_bytes(video.audio_path)),
                "audio_silence": silence,
                "audio_noise": audio_cell(encode_audio(noise_waveform(seed, video.video_id), "WAV")),
                "audio_offscreen": audio_cell(encode_audio(fit_length(read_audio_file(audio_paths[source])), "WAV")),
                "offscreen_source": source,
                "seed": seed,
            }

        shards[split] = write_split_shards(output_dir, config, split, videos, make_row, features, rows_per_shard)
    if unseen_audio is not None:
        clips = load_unseen_clips(unseen_audio)
        names = sorted(clips)
        check_build_state(output_dir, "unseen", {"clips": names})
        shards["unseen"] = write_split_shards(
            output_dir,
            "unseen",
            "test",
            names,
            lambda name: {"name": name.split(":", 1)[1], "audio": audio_cell(encode_audio(clips[name], "WAV"))},
            unseen_features(),
            len(names),
        )
    report_path = _write_report(output_dir, config, scan) if scan.video_problems or scan.other_problems else None
    write_dataset_card(output_dir, dataset_card(seed), CARD_METADATA)
    return BuildResult(shards, scan.video_problems, report_path)


def dataset_card(seed: int, media_included: bool = True) -> str:
    """Markdown body of the AVSBench-Robust dataset card."""
    contrast = "; ".join(
        f"{config}: "
        + ", ".join(f"{group} -> {'/'.join(sorted(excluded)) or '(none)'}" for group, excluded in table.items())
        for config, table in LEAST_SUITABLE_CONTRAST.items()
    )
    media = (
        "This copy contains the AVSBench frames, masks and sounds."
        if media_included
        else "This copy contains no AVSBench media: the columns `frames`, `masks`, `audio` and `audio_offscreen` "
        "were removed. Rebuild them from your own AVSBench download with `avs-robust build-dataset` and the same "
        "seed; the builder is deterministic per video, and `offscreen_source` records every pairing."
    )
    template = Template((Path(__file__).parent / "README_TEMPLATE.md").read_text(encoding="utf-8"))
    return template.substitute(
        seed=seed, noise_rms=NOISE_RMS, contrast=contrast, media=media, noise_dbfs=round(20 * np.log10(NOISE_RMS))
    )
