"""Small media files made in the tests: tone WAVs, flat-colour PNGs and MP4 videos written with PyAV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image


def tone(seconds: float, sampling_rate: int = 16000, frequency: float = 440.0, channels: int = 1) -> np.ndarray:
    """A sine tone, float32 `[samples]` (or `[samples, channels]`) at amplitude 0.3."""
    time = np.arange(int(seconds * sampling_rate)) / sampling_rate
    wave = (0.3 * np.sin(2 * np.pi * frequency * time)).astype(np.float32)
    return wave if channels == 1 else np.repeat(wave[:, None], channels, axis=1)


def write_wav(path: Path, seconds: float, sampling_rate: int = 16000, channels: int = 1) -> Path:
    sf.write(path, tone(seconds, sampling_rate, channels=channels), sampling_rate, subtype="PCM_16")
    return path


def write_png(path: Path, height: int, width: int, value: int | tuple[int, int, int] = 128) -> Path:
    Image.fromarray(np.full((height, width, 3), value, dtype=np.uint8)).save(path)
    return path


def write_video(
    path: Path, num_frames: int, fps: int = 8, size: tuple[int, int] = (32, 48), audio_seconds: float | None = None
) -> Path:
    """MP4 video whose frame k is a flat grey of value `min(8k, 255)` (so sampled frames can be identified), with an
    optional AAC tone track of `audio_seconds` (written by `modeling_avs.visualization.write_mp4`)."""
    from modeling_avs.visualization import write_mp4

    frames = [np.full((*size, 3), min(8 * index, 255), np.uint8) for index in range(num_frames)]
    audio = tone(audio_seconds) if audio_seconds is not None else None
    return write_mp4(frames, path, seconds_per_frame=1 / fps, audio=audio)
