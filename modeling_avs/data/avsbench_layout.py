"""Reading and validating an AVSBench v1 ("AVSBench-object") download.

Expected layout (`--avsbench-root` may be the folder holding `Single-source/` and `Multi-sources/`, or one of
those folders itself):

    Single-source/s4_meta_data.csv                  header; columns by position: name, start, category, split
    Single-source/s4_data/visual_frames/<split>/<category>/<name>/<name>_<k>.png        k = 1..5
    Single-source/s4_data/audio_wav/<split>/<category>/<name>.wav
    Single-source/s4_data/gt_masks/<split>/<category>/<name>/<name>_<k>.png             train: k = 1 at least
    Multi-sources/ms3_meta_data.csv                 header; columns by position: video_id, split
    Multi-sources/ms3_data/visual_frames/<video_id>/<video_id>.mp4_<k>.png              k = 1..5
    Multi-sources/ms3_data/audio_wav/<split>/<video_id>.wav
    Multi-sources/ms3_data/gt_masks/<split>/<video_id>/<video_id>_<k>.png              k = 1..5

MS3 object names come from the AVSBench-semantic `metadata.csv` (rows with `label == "v1m"`, columns `vid`,
`a_obj` underscore-joined, `split`). Splits are named `train`/`val`/`test` on disk and
`train`/`validation`/`test` in the dataset.

Every problem (missing, unreadable or surplus files, wrong frame counts, masks of another size, unknown
categories or objects, CSV rows without files, files without CSV rows) is collected, so that one error (or,
with `skip_invalid`, one report) lists them all.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

from .schema import NUM_FRAMES, check_config, groups_of

IMAGE_FORMATS = ("PNG",)
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")
DISK_SPLITS = {"train": "train", "val": "validation", "test": "test"}
CONFIG_FOLDERS = {"s4": "Single-source", "ms3": "Multi-sources"}
META_FILES = {"s4": "s4_meta_data.csv", "ms3": "ms3_meta_data.csv"}
MAX_LISTED_PROBLEMS = 40


class AVSBenchLayoutError(ValueError):
    """The AVSBench folder does not match the expected layout; the message lists every problem found."""


@dataclass(frozen=True)
class VideoSource:
    """The files of one AVSBench video (`mask_paths[k]` is None when frame k+1 is not annotated)."""

    video_id: str
    split: str
    category: str
    semantic_groups: tuple[str, ...]
    frame_paths: tuple[Path, ...]
    mask_paths: tuple[Path | None, ...]
    audio_path: Path


@dataclass
class ScanResult:
    """Valid videos, problems per video id, and problems not tied to a listed video (e.g. surplus files)."""

    videos: list[VideoSource] = field(default_factory=list)
    video_problems: dict[str, list[str]] = field(default_factory=dict)
    other_problems: list[str] = field(default_factory=list)

    def all_problems(self) -> list[str]:
        listed = [
            f"video {video_id}: {message}"
            for video_id, messages in self.video_problems.items()
            for message in messages
        ]
        return listed + self.other_problems

    def error_message(self, root: Path) -> str:
        problems = self.all_problems()
        shown = "\n".join(f"  - {problem}" for problem in problems[:MAX_LISTED_PROBLEMS])
        more = f"\n  ... and {len(problems) - MAX_LISTED_PROBLEMS} more" if len(problems) > MAX_LISTED_PROBLEMS else ""
        return (
            f"{len(problems)} problem(s) in the AVSBench copy at {root}:\n{shown}{more}\n"
            "Fix the files, or pass --skip-invalid to leave these videos out (they are listed in build_report.json)."
        )


def locate_config_root(avsbench_root: str | Path, config: str) -> Path:
    """The folder holding the config's meta CSV (`Single-source/` or `Multi-sources/`)."""
    root = Path(avsbench_root)
    if not root.is_dir():
        raise AVSBenchLayoutError(f"--avsbench-root {root} does not exist or is not a directory")
    for candidate in (root, root / CONFIG_FOLDERS[config], root / "avsbench_data" / CONFIG_FOLDERS[config]):
        if (candidate / META_FILES[config]).is_file():
            return candidate
    raise AVSBenchLayoutError(
        f"no {META_FILES[config]} found in {root} or {root / CONFIG_FOLDERS[config]}: "
        f"--avsbench-root must point to the AVSBench data folder holding {CONFIG_FOLDERS[config]}/"
    )


def _utf8_error(path: Path, error: UnicodeDecodeError) -> AVSBenchLayoutError:
    return AVSBenchLayoutError(
        f"{path} is not UTF-8 text (byte {error.start}: {error.reason}); save it as UTF-8 (AVSBench's CSVs are)"
    )


def _read_csv(path: Path, min_columns: int) -> list[tuple[int, list[str]]]:
    """Data rows `(line number, cells)` of a UTF-8 CSV with a header; rows with fewer cells raise an error."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as error:
        raise _utf8_error(path, error) from error
    if not rows:
        raise AVSBenchLayoutError(f"{path} is empty")
    short = [number for number, row in enumerate(rows[1:], start=2) if row and len(row) < min_columns]
    if short:
        raise AVSBenchLayoutError(f"{path}: line(s) {short[:10]} have fewer than {min_columns} columns")
    return [(number, [cell.strip() for cell in row]) for number, row in enumerate(rows[1:], start=2) if row]


def read_avss_objects(metadata_csv: str | Path) -> dict[str, list[str]]:
    """`{vid: [object names]}` of the `v1m` rows of AVSBench-semantic's `metadata.csv`."""
    path = Path(metadata_csv)
    if not path.is_file():
        raise AVSBenchLayoutError(
            f"AVSBench-semantic metadata {path} not found; MS3 object names come from its rows with label 'v1m' "
            "(pass --avss-metadata FILE)"
        )
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"vid", "a_obj", "label"} - set(reader.fieldnames or ())
            if missing:
                raise AVSBenchLayoutError(f"{path} lacks the column(s) {sorted(missing)}")
            return {
                row["vid"].strip(): row["a_obj"].strip().split("_") for row in reader if row["label"].strip() == "v1m"
            }
    except UnicodeDecodeError as error:
        raise _utf8_error(path, error) from error


def _check_image(path: Path, problems: list[str]) -> tuple[int, int] | None:
    """Decode an image fully (PNG only: AVSBench's format, whatever else the file holds is a problem); returns its
    size or records a problem."""
    if not path.is_file():
        problems.append(f"missing file {path}")
        return None
    try:
        with Image.open(path, formats=IMAGE_FORMATS) as image:
            image.load()
            return image.size
    except Image.UnidentifiedImageError:
        problems.append(f"cannot decode image {path}: it is not a PNG image, or is corrupt")
    except (OSError, SyntaxError, ValueError) as error:
        problems.append(f"cannot decode image {path}: {error}")
    return None


def _check_audio(path: Path, problems: list[str]) -> None:
    """Records a problem when the audio file is missing, unreadable, empty or (floating-point WAV) not finite."""
    if not path.is_file():
        problems.append(f"missing file {path}")
        return
    try:
        info = sf.info(str(path))
        # PCM cannot hold NaN; floating-point files are read whole to find NaN or infinite samples.
        waveform, _ = sf.read(str(path), frames=-1 if info.subtype in FLOAT_SUBTYPES else 16, dtype="float32")
    except (RuntimeError, sf.LibsndfileError) as error:
        problems.append(f"cannot decode audio {path}: {error}")
        return
    if info.frames == 0:
        problems.append(f"audio {path} holds no samples")
    elif not np.all(np.isfinite(waveform)):
        problems.append(f"audio {path} contains NaN or infinite samples")


def check_video(source: VideoSource, required_masks: int, problems: list[str]) -> None:
    """Validate the frames, masks and audio of one video, appending messages to `problems`."""
    frame_dir = source.frame_paths[0].parent
    if not frame_dir.is_dir():
        problems.append(f"missing frame folder {frame_dir}")
    else:
        surplus = sorted({path.name for path in frame_dir.iterdir()} - {path.name for path in source.frame_paths})
        if surplus:
            problems.append(
                f"{frame_dir} holds {NUM_FRAMES + len(surplus)} entries, expected {NUM_FRAMES} frames; unexpected: {surplus[:5]}"
            )
    sizes = {path.name: _check_image(path, problems) for path in source.frame_paths}
    frame_sizes = {size for size in sizes.values() if size is not None}
    if len(frame_sizes) > 1:
        problems.append(f"frames of different sizes {sorted(frame_sizes)} in {frame_dir}")
    for index, path in enumerate(source.mask_paths):
        if path is None:
            continue
        if index >= required_masks and not path.is_file():
            continue
        size = _check_image(path, problems)
        if size is not None and frame_sizes and size not in frame_sizes:
            problems.append(f"mask {path} is {size[0]}x{size[1]} but the frames are {next(iter(frame_sizes))}")
    _check_audio(source.audio_path, problems)


def _surplus_entries(folder: Path, expected: set[str], what: str) -> list[str]:
    if not folder.is_dir():
        return []
    return [
        f"{what} {folder / name} has no row in the meta CSV"
        for name in sorted({p.name for p in folder.iterdir()} - expected)
    ]


def _first_listing(video_id: str, line: int, disk_split: str, seen: set[str], problems: list[str]) -> bool:
    """Whether a meta-CSV row is the first one of its video and names a known split; otherwise says why not."""
    if video_id in seen:
        problems.append(f"listed twice in the meta CSV (line {line})")
        return False
    seen.add(video_id)
    if disk_split not in DISK_SPLITS:
        problems.append(f"line {line}: unknown split {disk_split!r} (expected train, val or test)")
        return False
    return True


def scan_s4(config_root: Path) -> ScanResult:
    """Read `s4_meta_data.csv` and check every listed video."""
    data = config_root / "s4_data"
    result = ScanResult()
    listed: dict[tuple[str, str], set[str]] = {}
    seen: set[str] = set()
    for line, (name, _start, category, disk_split, *_rest) in _read_csv(config_root / META_FILES["s4"], 4):
        problems = result.video_problems.setdefault(name, [])
        if not _first_listing(name, line, disk_split, seen, problems):
            continue
        try:
            groups = tuple(groups_of("s4", [category]))
        except ValueError as error:
            problems.append(f"line {line}: {error}")
            continue
        listed.setdefault((disk_split, category), set()).add(name)
        split = DISK_SPLITS[disk_split]
        frame_dir = data / "visual_frames" / disk_split / category / name
        mask_dir = data / "gt_masks" / disk_split / category / name
        source = VideoSource(
            video_id=name,
            split=split,
            category=category,
            semantic_groups=groups,
            frame_paths=tuple(frame_dir / f"{name}_{k}.png" for k in range(1, NUM_FRAMES + 1)),
            mask_paths=tuple(mask_dir / f"{name}_{k}.png" for k in range(1, NUM_FRAMES + 1)),
            audio_path=data / "audio_wav" / disk_split / category / f"{name}.wav",
        )
        check_video(source, 1 if split == "train" else NUM_FRAMES, problems)
        if not problems:
            masks = tuple(path if path.is_file() else None for path in source.mask_paths)
            result.videos.append(VideoSource(**{**source.__dict__, "mask_paths": masks}))
    for (disk_split, category), names in sorted(listed.items()):
        result.other_problems += _surplus_entries(
            data / "visual_frames" / disk_split / category, names, "frame folder"
        )
        result.other_problems += _surplus_entries(
            data / "audio_wav" / disk_split / category, {f"{name}.wav" for name in names}, "audio file"
        )
        result.other_problems += _surplus_entries(data / "gt_masks" / disk_split / category, names, "mask folder")
    for disk_split in DISK_SPLITS:
        categories = {category for split, category in listed if split == disk_split}
        result.other_problems += _surplus_entries(data / "visual_frames" / disk_split, categories, "category folder")
    result.video_problems = {key: value for key, value in result.video_problems.items() if value}
    return result


def scan_ms3(config_root: Path, objects: dict[str, list[str]]) -> ScanResult:
    """Read `ms3_meta_data.csv` (object names from `read_avss_objects`) and check every listed video."""
    data = config_root / "ms3_data"
    result = ScanResult()
    listed: dict[str, set[str]] = {}
    seen: set[str] = set()
    for line, (video_id, disk_split, *_rest) in _read_csv(config_root / META_FILES["ms3"], 2):
        problems = result.video_problems.setdefault(video_id, [])
        if not _first_listing(video_id, line, disk_split, seen, problems):
            continue
        if video_id not in objects:
            problems.append("no row with label 'v1m' in the AVSBench-semantic metadata.csv")
            continue
        try:
            groups = tuple(groups_of("ms3", objects[video_id]))
        except ValueError as error:
            problems.append(str(error))
            continue
        listed.setdefault(disk_split, set()).add(video_id)
        frame_dir = data / "visual_frames" / video_id
        mask_dir = data / "gt_masks" / disk_split / video_id
        source = VideoSource(
            video_id=video_id,
            split=DISK_SPLITS[disk_split],
            category="_".join(objects[video_id]),
            semantic_groups=groups,
            frame_paths=tuple(frame_dir / f"{video_id}.mp4_{k}.png" for k in range(1, NUM_FRAMES + 1)),
            mask_paths=tuple(mask_dir / f"{video_id}_{k}.png" for k in range(1, NUM_FRAMES + 1)),
            audio_path=data / "audio_wav" / disk_split / f"{video_id}.wav",
        )
        check_video(source, NUM_FRAMES, problems)
        if not problems:
            result.videos.append(source)
    result.other_problems += _surplus_entries(data / "visual_frames", seen, "frame folder")
    for disk_split, names in sorted(listed.items()):
        result.other_problems += _surplus_entries(
            data / "audio_wav" / disk_split, {f"{name}.wav" for name in names}, "audio file"
        )
        result.other_problems += _surplus_entries(data / "gt_masks" / disk_split, names, "mask folder")
    result.video_problems = {key: value for key, value in result.video_problems.items() if value}
    return result


def scan_avsbench(avsbench_root: str | Path, config: str, avss_metadata: str | Path | None = None) -> ScanResult:
    """Locate and validate the videos of one config (MS3 reads `avss_metadata`, by default
    `<avsbench_root>/metadata.csv`)."""
    config_root = locate_config_root(avsbench_root, check_config(config))
    if config == "s4":
        result = scan_s4(config_root)
    else:
        result = scan_ms3(config_root, read_avss_objects(avss_metadata or Path(avsbench_root) / "metadata.csv"))
    result.videos = [video for video in result.videos if video.video_id not in result.video_problems]
    return result
