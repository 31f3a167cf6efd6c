"""The negative audio of AVSBench-Robust (silence, white noise), and the audio conditions of inference.

`silence` and `white_noise` are the one definition of the generated negatives, used by the dataset builders (5-s
clips seeded per video, see `modeling_avs.data.negative_audio`) and by inference:

- `original`: the clip's own audio.
- `silence`: zeros.
- `noise`: white Gaussian noise of RMS `NOISE_RMS` (0.1, -20 dBFS) clipped to [-1, 1], drawn from a seeded
  generator.
- `offscreen:FILE`: the sound of another recording (a sound source that is not in the picture), looped or cut
  to the clip's length.

Under every negative condition the correct mask is empty: a robust model's masks vanish and its audio-visual
correspondence score `sigmoid(similarity)` drops.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio_conversion import SAMPLING_RATE
from .data.schema import NEGATIVE_CONDITIONS
from .media import MediaError, MediaLimits, file_name, read_audio

AUDIO_CONDITION_KINDS = ("original", *NEGATIVE_CONDITIONS)
NOISE_RMS = 0.1


def silence(num_samples: int) -> np.ndarray:
    """`num_samples` zeros, float32."""
    return np.zeros(num_samples, dtype=np.float32)


def white_noise(num_samples: int, seed: int) -> np.ndarray:
    """White Gaussian noise of RMS `NOISE_RMS` clipped to [-1, 1], float32 `[num_samples]`, from `default_rng(seed)`."""
    noise = np.random.default_rng(seed).standard_normal(num_samples, dtype=np.float32) * np.float32(NOISE_RMS)
    return np.clip(noise, -1.0, 1.0)


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
        num_samples = num_seconds * SAMPLING_RATE
        if self.kind == "silence":
            return silence(num_samples), SAMPLING_RATE
        if self.kind == "noise":
            return white_noise(num_samples, seed), SAMPLING_RATE
        source, source_rate = read_audio(self.source, limits)
        source = source.mean(axis=1)
        if not np.any(source):
            raise MediaError(
                f"off-screen audio file {file_name(self.source)} is completely silent; pick a file with sound"
            )
        wanted = num_seconds * source_rate
        repeats = -(-wanted // source.shape[0])
        return np.tile(source, repeats)[:wanted], source_rate


__all__ = ["AUDIO_CONDITION_KINDS", "AudioCondition", "NOISE_RMS", "silence", "white_noise"]
