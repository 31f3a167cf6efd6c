"""Conversion of any waveform to what the models hear: mono audio at 16 kHz (VGGish's rate)."""

from __future__ import annotations

import numbers

import numpy as np

SAMPLING_RATE = 16000


def check_sampling_rate(sampling_rate, name: str = "sampling_rate") -> int:
    """Return `sampling_rate` as an `int` after checking that it is a positive whole number (an integral float such
    as 16000.0 is accepted); otherwise raise a `ValueError` naming the argument `name`."""
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, numbers.Real):
        raise ValueError(f"`{name}` must be a positive integer (Hz), got {sampling_rate!r}")
    if sampling_rate != int(sampling_rate) or sampling_rate <= 0:
        raise ValueError(f"`{name}` must be a positive integer (Hz), got {sampling_rate!r}")
    return int(sampling_rate)


def to_mono_16k(
    waveform: np.ndarray, sampling_rate: int, channel_axis: int = -1, target_rate: int = SAMPLING_RATE
) -> np.ndarray:
    """
    `[samples]` or 2-D audio with its channels on `channel_axis`, at `sampling_rate` → mono float64 `[samples']` at
    `target_rate`: integer PCM is scaled to [-1, 1) (int16 / 32768), channels are averaged and other rates are
    resampled with soxr (quality HQ). Complex, non-numeric and non-finite samples and a bad `sampling_rate` are a
    `ValueError`.
    """
    sampling_rate = check_sampling_rate(sampling_rate)
    waveform = np.asarray(waveform)
    if waveform.ndim not in (1, 2):
        raise ValueError(f"audio must be 1-D [samples] or 2-D [samples, channels], got shape {waveform.shape}")
    if np.iscomplexobj(waveform) or not np.issubdtype(waveform.dtype, np.number):
        raise ValueError(f"audio samples must be real numbers (float or integer PCM), got dtype {waveform.dtype}")
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


__all__ = ["SAMPLING_RATE", "check_sampling_rate", "to_mono_16k"]
