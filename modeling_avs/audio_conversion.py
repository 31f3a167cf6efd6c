"""Conversion of any waveform to what the models hear: mono audio at 16 kHz (VGGish's rate)."""

from __future__ import annotations

import numpy as np

SAMPLING_RATE = 16000


def to_mono_16k(
    waveform: np.ndarray, sampling_rate: int, channel_axis: int = -1, target_rate: int = SAMPLING_RATE
) -> np.ndarray:
    """
    `[samples]` or 2-D audio with its channels on `channel_axis`, at `sampling_rate` → mono float64 `[samples']` at
    `target_rate`: integer PCM is scaled to [-1, 1) (int16 / 32768), channels are averaged and other rates are
    resampled with soxr (quality HQ).
    """
    waveform = np.asarray(waveform)
    if waveform.ndim not in (1, 2):
        raise ValueError(f"audio must be 1-D [samples] or 2-D [samples, channels], got shape {waveform.shape}")
    if np.issubdtype(waveform.dtype, np.integer):
        waveform = waveform / float(np.iinfo(waveform.dtype).max + 1)
    waveform = waveform.astype(np.float64)
    if waveform.ndim == 2:
        waveform = waveform.mean(axis=channel_axis)
    if not np.all(np.isfinite(waveform)):
        raise ValueError("audio contains NaN or infinite samples")
    if sampling_rate != target_rate:
        import soxr

        waveform = soxr.resample(waveform, sampling_rate, target_rate, quality="HQ")
    return waveform


__all__ = ["SAMPLING_RATE", "to_mono_16k"]
