"""Audio conditions of inference: keep a clip's audio or replace it with one of the AVSBench-Robust negatives.

- `original`: the clip's own audio.
- `silence`: zeros.
- `noise`: white Gaussian noise of RMS `NOISE_RMS` (0.1, -20 dBFS) clipped to [-1, 1], the definition used by
  the AVSBench-Robust builder of this package, drawn from a seeded generator.
- `offscreen:FILE`: the sound of another recording (a sound source that is not in the picture), looped or cut
  to the clip's length.

Under every negative condition the correct mask is empty: a robust model's masks vanish and its audio-visual
correspondence score `sigmoid(similarity)` drops.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .media import MediaError, MediaLimits, read_audio

AUDIO_CONDITION_KINDS = ("original", "silence", "noise", "offscreen")
NEGATIVE_SAMPLING_RATE = 16000


@dataclass(frozen=True)
class AudioCondition:
    """
    One audio condition; build it from text with [`AudioCondition.parse`].

    Attributes:
        kind: one of `AUDIO_CONDITION_KINDS`.
        source: the recording played as off-screen sound (`kind == "offscreen"` only).
    """

    kind: str = "original"
    source: Path | None = None

    def __post_init__(self):
        if self.kind not in AUDIO_CONDITION_KINDS:
            raise ValueError(f"audio condition must be one of {AUDIO_CONDITION_KINDS}, got {self.kind!r}")
        if (self.kind == "offscreen") != (self.source is not None):
            raise ValueError("the `offscreen` audio condition needs a source file (`offscreen:FILE`), and only it")

    @classmethod
    def parse(cls, text: str | AudioCondition | None) -> AudioCondition:
        """`"original"`, `"silence"`, `"noise"` or `"offscreen:FILE"` (None → original)."""
        if text is None:
            return cls()
        if isinstance(text, AudioCondition):
            return text
        kind, _, source = str(text).partition(":")
        kind = kind.strip().lower().replace("-", "")
        if kind == "offscreen":
            if not source:
                raise ValueError("the off-screen audio condition needs a file: `offscreen:FILE`")
            return cls("offscreen", Path(source))
        if source or kind not in AUDIO_CONDITION_KINDS:
            raise ValueError(f"unknown audio condition {text!r}: use original, silence, noise or offscreen:FILE")
        return cls(kind)

    @property
    def is_negative(self) -> bool:
        """Whether the correct mask is empty under this condition."""
        return self.kind != "original"

    def __str__(self) -> str:
        return f"offscreen:{self.source}" if self.kind == "offscreen" else self.kind

    def apply(
        self,
        waveform: np.ndarray | None,
        sampling_rate: int | None,
        num_seconds: int,
        seed: int = 0,
        limits: MediaLimits | None = None,
    ) -> tuple[np.ndarray | None, int | None]:
        """
        Return the audio to feed for a clip of `num_seconds` seconds.

        Args:
            waveform: the clip's own audio (`[samples]` or `[samples, channels]`), or None if it has none.
            sampling_rate: rate of `waveform`.
            num_seconds: length of the clip (frames T); negatives are made exactly this long.
            seed: seed of the noise generator.
            limits: media limits for reading the off-screen file.

        Returns:
            `(waveform, sampling_rate)`; the original audio (possibly None) for `original`.
        """
        if self.kind == "original":
            return waveform, sampling_rate
        num_samples = num_seconds * NEGATIVE_SAMPLING_RATE
        if self.kind == "silence":
            return np.zeros(num_samples, dtype=np.float32), NEGATIVE_SAMPLING_RATE
        if self.kind == "noise":
            from .data.negative_audio import NOISE_RMS  # here: `modeling_avs.data` imports `datasets` (slow)

            rng = np.random.default_rng(seed)
            noise = rng.standard_normal(num_samples, dtype=np.float32) * np.float32(NOISE_RMS)
            return np.clip(noise, -1.0, 1.0), NEGATIVE_SAMPLING_RATE
        source, source_rate = read_audio(self.source, limits)
        source = source.mean(axis=1)
        if not np.any(source):
            raise MediaError(f"off-screen audio file {self.source} is completely silent; pick a file with sound")
        wanted = num_seconds * source_rate
        repeats = -(-wanted // source.shape[0])
        return np.tile(source, repeats)[:wanted], source_rate


__all__ = ["AUDIO_CONDITION_KINDS", "AudioCondition"]
