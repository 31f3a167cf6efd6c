"""Encoding and decoding of the audio cells of AVSBench-Robust rows with `soundfile`.

Audio columns are declared as `datasets.Audio(sampling_rate=16000)` so that the Hub viewer can play them,
but `datasets` 5 decodes that feature through torchcodec (which needs ffmpeg). Our loaders therefore cast
audio columns to `Audio(decode=False)` and decode the stored bytes (16-bit PCM WAV or FLAC) here.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from ..audio_conversion import to_mono_16k
from .schema import CLIP_SAMPLES, SAMPLE_RATE


def fit_length(waveform: np.ndarray, num_samples: int = CLIP_SAMPLES) -> np.ndarray:
    """Zero-pad or truncate a `[T]` waveform to `[num_samples]` (float32)."""
    waveform = np.asarray(waveform, dtype=np.float32)[:num_samples]
    if waveform.shape[0] < num_samples:
        waveform = np.pad(waveform, (0, num_samples - waveform.shape[0]))
    return waveform


def pcm16(waveform: np.ndarray) -> np.ndarray:
    """Quantise a float waveform `[T]` in [-1, 1] (clipped) to little-endian 16-bit PCM `[T]`."""
    scaled = np.clip(np.asarray(waveform, dtype=np.float32), -1.0, 1.0) * np.float32(32767.0)
    return np.rint(scaled, out=scaled).astype("<i2")


def wav_bytes(pcm: np.ndarray) -> bytes:
    """A mono 16 kHz 16-bit PCM WAV file (canonical 44-byte RIFF header) holding `pcm` (int16 `[T]`)."""
    data_size = 2 * pcm.shape[0]
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_size,
        b"WAVE",
        b"fmt ",
        16,  # size of the fmt chunk
        1,  # PCM
        1,  # channels
        SAMPLE_RATE,
        2 * SAMPLE_RATE,  # bytes per second
        2,  # bytes per frame
        16,  # bits per sample
        b"data",
        data_size,
    )
    return header + pcm.astype("<i2", copy=False).tobytes()


def encode_audio(waveform: np.ndarray, audio_format: str = "FLAC") -> bytes:
    """Encode a mono 16 kHz float waveform `[T]` in [-1, 1] as 16-bit PCM FLAC (or WAV) bytes."""
    pcm = pcm16(waveform)
    if audio_format == "WAV":
        return wav_bytes(pcm)
    buffer = io.BytesIO()
    sf.write(buffer, pcm, SAMPLE_RATE, format=audio_format, subtype="PCM_16")
    return buffer.getvalue()


def decode_audio(data: bytes, num_samples: int | None = CLIP_SAMPLES) -> np.ndarray:
    """Decode WAV/FLAC bytes to mono 16 kHz float32 `[num_samples]` (or the full length if `None`)."""
    waveform, sampling_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=False)
    waveform = to_mono_16k(waveform, sampling_rate).astype(np.float32)
    return waveform if num_samples is None else fit_length(waveform, num_samples)


def decode_audio_cell(cell: dict, num_samples: int | None = CLIP_SAMPLES) -> np.ndarray:
    """Decode an undecoded `datasets.Audio` cell (`{"bytes": ..., "path": ...}`) to float32 `[num_samples]`."""
    if cell.get("bytes") is not None:
        return decode_audio(cell["bytes"], num_samples)
    if cell.get("path"):
        return decode_audio(Path(cell["path"]).read_bytes(), num_samples)
    raise ValueError("audio cell holds neither bytes nor a path")


def audio_cell(data: bytes, path: str | None = None) -> dict:
    """The Arrow storage of a `datasets.Audio` value: `{"bytes": data, "path": path}`."""
    return {"bytes": data, "path": path}


def read_audio_file(path: str | Path) -> np.ndarray:
    """Read any audio file `soundfile` understands as mono 16 kHz float32 `[T]`; errors name the file."""
    try:
        waveform, sampling_rate = sf.read(str(path), dtype="float32", always_2d=False)
    except (RuntimeError, sf.LibsndfileError) as error:
        raise ValueError(f"cannot decode audio file {path}: {error}") from error
    if waveform.size == 0:
        raise ValueError(f"audio file {path} contains no samples")
    try:
        return to_mono_16k(waveform, sampling_rate).astype(np.float32)
    except ValueError as error:
        raise ValueError(f"audio file {path}: {error}") from error
