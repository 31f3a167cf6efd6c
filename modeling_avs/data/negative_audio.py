"""Negative audio conditions of AVSBench-Robust, deterministic per video.

Every random choice is drawn from `numpy.random.default_rng(stable_seed(seed, video_id, purpose))`, so a
video's negatives depend only on the seed and its id, never on file-system or iteration order.

- silence: 5 s of zeros.
- noise: `modeling_avs.audio_conditions.white_noise` (RMS 0.1 of full scale, -20 dBFS, clipped to [-1, 1]) seeded
  per video, stored as 16-bit PCM. (The official script reinterpreted float64 bytes as int16, producing a 20-s
  periodic bit pattern instead of noise; that bug is deliberately not reproduced.)
- off-screen: the sound of another video of the same split drawn uniformly among the videos whose
  semantic groups avoid the own groups and their "least suitable contrast" groups
  (`modeling_avs.data.schema.LEAST_SUITABLE_CONTRAST`).
- unseen clips: arbitrary sounds from a folder (e.g. tuning fork, rooster), each applied to every video.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio_conditions import white_noise
from .audio_io import fit_length, read_audio_file
from .schema import CLIP_SAMPLES, UNSEEN_PREFIX, excluded_groups

UNSEEN_AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")


def stable_seed(*parts: object) -> int:
    """A 64-bit seed derived from `parts` with SHA-256 (stable across runs and machines, unlike `hash`)."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little")


def noise_waveform(seed: int, video_id: str) -> np.ndarray:
    """The noise condition of `video_id`: `white_noise` of 5 s, float32 `[80000]` in [-1, 1]."""
    return white_noise(CLIP_SAMPLES, stable_seed(seed, video_id, "noise"))


@dataclass(frozen=True)
class OffscreenChoice:
    """The video whose sound is used as off-screen audio; `relaxed` is True when no video outside the
    excluded groups existed and only the own groups were avoided."""

    source: str
    relaxed: bool = False


def pick_offscreen_sources(config: str, videos: Mapping[str, Sequence[str]], seed: int) -> dict[str, OffscreenChoice]:
    """Choose an off-screen source for every video of one split.

    Args:
        config: `"s4"` or `"ms3"` (selects the least-suitable-contrast table).
        videos: `{video_id: semantic groups}` of all videos of the split.
        seed: generation seed.

    Returns:
        `{video_id: OffscreenChoice}`. Candidates are the videos whose groups are disjoint from the own groups
        and their least suitable contrasts, drawn uniformly; if there are none, videos with groups disjoint
        from the own groups (`relaxed=True`). A `ValueError` names the video when even those are missing.
    """
    ordered = sorted(videos)
    group_sets = {video_id: frozenset(videos[video_id]) for video_id in ordered}
    choices = {}
    for video_id in ordered:
        own = group_sets[video_id]
        excluded = excluded_groups(config, sorted(own))
        candidates = [other for other in ordered if other != video_id and not group_sets[other] & excluded]
        relaxed = not candidates
        if relaxed:
            candidates = [other for other in ordered if other != video_id and not group_sets[other] & own]
        if not candidates:
            raise ValueError(
                f"no off-screen candidate for video {video_id!r} (groups {sorted(own)}): every other video of "
                "its split shares one of its semantic groups"
            )
        rng = np.random.default_rng(stable_seed(seed, video_id, "offscreen"))
        choices[video_id] = OffscreenChoice(candidates[int(rng.integers(len(candidates)))], relaxed)
    return choices


def load_unseen_clips(folder: str | Path) -> dict[str, np.ndarray]:
    """Read every audio file of `folder` as mono 16 kHz float32 `[80000]`, keyed `"unseen:<file stem>"`
    (`UNSEEN_PREFIX`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"unseen-audio folder {folder} does not exist or is not a directory")
    files = sorted(path for path in folder.iterdir() if path.suffix.lower() in UNSEEN_AUDIO_EXTENSIONS)
    if not files:
        raise ValueError(f"unseen-audio folder {folder} holds no {'/'.join(UNSEEN_AUDIO_EXTENSIONS)} files")
    return {f"{UNSEEN_PREFIX}{path.stem}": fit_length(read_audio_file(path)) for path in files}
