"""VGGish log-mel feature extractor (the AudioSet / torchvggish `waveform_to_examples` front end)."""

import numbers

import numpy as np
from transformers import BatchFeature, SequenceFeatureExtractor
from transformers.audio_utils import mel_filter_bank
from transformers.utils import TensorType

from .audio_conversion import check_sampling_rate, to_mono_16k


def check_num_examples(num_examples: int | None) -> int | None:
    """`num_examples` (T, examples per clip) must be None or a positive integer; returns it as an `int`."""
    if num_examples is None:
        return None
    if isinstance(num_examples, bool) or not isinstance(num_examples, numbers.Integral) or num_examples < 1:
        raise ValueError(
            f"`num_examples` must be a positive integer or None (every complete example), got {num_examples!r}"
        )
    return int(num_examples)


class VGGishFeatureExtractor(SequenceFeatureExtractor):
    r"""
    Turns raw audio into VGGish log-mel examples `[T, 1, 96, 64]`, one example per second of a T-second clip,
    exactly as the original `vggish_input.waveform_to_examples`:

    1. [`to_mono_16k`]: integer PCM is scaled to [-1, 1) (int16 / 32768), multi-channel audio is averaged to mono,
       and audio at another rate is resampled to 16 kHz with `soxr` (the original used resampy; for 16 kHz input,
       e.g. every AVSBench WAV, the features are identical);
    2. magnitude STFT: periodic Hann window of 400 samples (25 ms), hop 160 (10 ms), FFT 512, no centring or
       padding, so a clip of L samples gives `1 + (L - 400) // 160` frames;
    3. 64 HTK mel bands between 125 and 7500 Hz (triangles in mel space, DC bin ignored), `log(mel + 0.01)`;
    4. non-overlapping examples of 96 frames (0.96 s): a 5.00 s clip gives exactly 5 examples covering
       [0, 4.8) s (the last 0.2 s is dropped, as in AVSBench).

    With `num_examples=T` the output always holds T examples: a clip that yields fewer is padded by repeating
    its last example (the AVSBench rule; a clip shorter than one example is zero-padded to one example first),
    and a **longer clip is truncated to its first T examples**. With `num_examples=None` every complete example
    is returned. Silence gives the finite value `log(0.01)` everywhere.

    Args:
        sampling_rate (`int`, defaults to 16000): Rate the features are computed at.
        num_mel_bins (`int`, defaults to 64): Mel bands (`feature_size`).
        window_length (`int`, defaults to 400): STFT window in samples.
        hop_length (`int`, defaults to 160): STFT hop in samples.
        fft_length (`int`, defaults to 512): FFT size.
        mel_min_hz (`float`, defaults to 125.0), mel_max_hz (`float`, defaults to 7500.0): Filterbank edges.
        log_offset (`float`, defaults to 0.01): Added before the natural log.
        example_frames (`int`, defaults to 96): STFT frames per example (example hop = example length).
        num_examples (`int`, *optional*, defaults to 5): T, examples per clip (AVSBench: 5 frames per video).
    """

    model_input_names = ["input_features"]

    def __init__(
        self,
        sampling_rate: int = 16000,
        num_mel_bins: int = 64,
        window_length: int = 400,
        hop_length: int = 160,
        fft_length: int = 512,
        mel_min_hz: float = 125.0,
        mel_max_hz: float = 7500.0,
        log_offset: float = 0.01,
        example_frames: int = 96,
        num_examples: int | None = 5,
        padding_value: float = 0.0,
        **kwargs,
    ):
        kwargs.pop("feature_size", None)  # saved by the parent class; always num_mel_bins here
        super().__init__(feature_size=num_mel_bins, sampling_rate=sampling_rate, padding_value=padding_value, **kwargs)
        self.num_mel_bins = num_mel_bins
        self.window_length = window_length
        self.hop_length = hop_length
        self.fft_length = fft_length
        self.mel_min_hz = mel_min_hz
        self.mel_max_hz = mel_max_hz
        self.log_offset = log_offset
        self.example_frames = example_frames
        self.num_examples = check_num_examples(num_examples)

    @property
    def example_samples(self) -> int:
        """Samples needed for one complete example (15,600 at the defaults)."""
        return self.window_length + (self.example_frames - 1) * self.hop_length

    def _mel_matrix(self) -> np.ndarray:
        """`[fft_length // 2 + 1, num_mel_bins]` HTK filterbank with triangles in mel space, DC row zeroed."""
        weights = mel_filter_bank(
            num_frequency_bins=self.fft_length // 2 + 1,
            num_mel_filters=self.num_mel_bins,
            min_frequency=self.mel_min_hz,
            max_frequency=self.mel_max_hz,
            sampling_rate=self.sampling_rate,
            norm=None,
            mel_scale="htk",
            triangularize_in_mel_space=True,
        )
        weights[0, :] = 0.0
        return weights

    def waveform_to_examples(self, waveform: np.ndarray, num_examples: int | None) -> np.ndarray:
        """Mono 16 kHz `[samples]` → `[T, 1, example_frames, num_mel_bins]` float32 log-mel examples."""
        if waveform.shape[0] < self.example_samples:
            waveform = np.pad(waveform, (0, self.example_samples - waveform.shape[0]))
        stft_frames = 1 + (waveform.shape[0] - self.window_length) // self.hop_length
        starts = np.arange(stft_frames)[:, None] * self.hop_length
        frames = waveform[starts + np.arange(self.window_length)[None, :]]
        window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(self.window_length) / self.window_length)  # periodic
        magnitude = np.abs(np.fft.rfft(frames * window, n=self.fft_length))
        log_mel = np.log(magnitude @ self._mel_matrix() + self.log_offset)
        count = stft_frames // self.example_frames
        examples = log_mel[: count * self.example_frames].reshape(count, self.example_frames, self.num_mel_bins)
        if num_examples is not None:
            if count < num_examples:
                examples = np.concatenate([examples, np.repeat(examples[-1:], num_examples - count, axis=0)])
            examples = examples[:num_examples]
        return examples[:, None].astype(np.float32)

    def __call__(
        self,
        raw_audio: np.ndarray | list[np.ndarray],
        sampling_rate: int | None = None,
        num_examples: int | None = -1,
        channel_axis: int = -1,
        return_tensors: str | TensorType | None = None,
        **kwargs,
    ) -> BatchFeature:
        """
        Args:
            raw_audio (`np.ndarray` or list of them): one clip `[samples]` / `[samples, channels]`, or a list of
                clips (videos). Integer arrays are treated as PCM.
            sampling_rate (`int`): rate of `raw_audio` (a positive integer); required, to avoid silently wrong
                features.
            num_examples (`int` or None): T per clip (a positive integer, or None for every complete example); -1
                (default) uses `self.num_examples`.
            channel_axis (`int`): axis of the channels of 2-D audio (-1 for soundfile's `[samples, channels]`).

        Returns:
            [`BatchFeature`] with `input_features` `[sum of T, 1, 96, 64]`: the clips' examples concatenated in
            order (video-major, matching `pixel_values` of N = B·T frames).
        """
        if sampling_rate is None:
            raise ValueError(
                "`sampling_rate` is required: pass the sampling rate of `raw_audio` so that it can be resampled "
                f"to {self.sampling_rate} Hz."
            )
        sampling_rate = check_sampling_rate(sampling_rate)
        num_examples = self.num_examples if num_examples == -1 else check_num_examples(num_examples)
        is_batched = isinstance(raw_audio, (list, tuple))
        clips = raw_audio if is_batched else [raw_audio]
        if not clips:
            raise ValueError("`raw_audio` is an empty list; pass one waveform per clip")
        features = [
            self.waveform_to_examples(to_mono_16k(clip, sampling_rate, channel_axis, self.sampling_rate), num_examples)
            for clip in clips
        ]
        return BatchFeature({"input_features": np.concatenate(features)}, tensor_type=return_tensors)


VGGishFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")

__all__ = ["VGGishFeatureExtractor"]
