import numpy as np
import pytest
import soundfile
import torch
from safetensors.torch import load_file

from modeling_avs import VGGishFeatureExtractor


def test_log_mel_matches_original_vggish_input(parity_dir):
    waveform, rate = soundfile.read(parity_dir / "rooster_16k_mono.wav", dtype="int16")
    features = VGGishFeatureExtractor()(waveform, sampling_rate=rate, return_tensors="pt")["input_features"]
    expected = load_file(parity_dir / "vggish.safetensors")["log_mel"]
    assert features.shape == (5, 1, 96, 64)
    assert (features - expected).abs().max().item() <= 1e-4


def test_example_count_follows_stft_framing():
    extractor = VGGishFeatureExtractor()
    rng = np.random.default_rng(0)
    # 5.00 s -> 498 STFT frames -> 5 complete examples; 2.5 s -> 2 examples.
    assert extractor(rng.standard_normal(80000), sampling_rate=16000, num_examples=None)["input_features"].shape == (
        5,
        1,
        96,
        64,
    )
    assert (
        extractor(rng.standard_normal(40000), sampling_rate=16000, num_examples=None)["input_features"].shape[0] == 2
    )


def test_short_clip_repeats_last_example_and_long_clip_is_truncated():
    extractor = VGGishFeatureExtractor()
    waveform = np.random.default_rng(1).standard_normal(16000 * 2)
    full = extractor(waveform, sampling_rate=16000, num_examples=None)["input_features"]
    padded = extractor(waveform, sampling_rate=16000, num_examples=5)["input_features"]
    assert padded.shape[0] == 5
    np.testing.assert_array_equal(padded[:2], full)
    for index in range(2, 5):
        np.testing.assert_array_equal(padded[index], full[-1])
    truncated = extractor(np.tile(waveform, 4), sampling_rate=16000, num_examples=3)["input_features"]
    assert truncated.shape[0] == 3


def test_silence_and_tiny_clips_give_finite_features():
    extractor = VGGishFeatureExtractor()
    silence = extractor(np.zeros(80000), sampling_rate=16000)["input_features"]
    assert np.isfinite(silence).all()
    np.testing.assert_allclose(silence, np.log(0.01), rtol=1e-6)
    tiny = extractor(np.ones(100), sampling_rate=16000, num_examples=5)["input_features"]
    assert tiny.shape == (5, 1, 96, 64) and np.isfinite(tiny).all()


def test_stereo_resampled_audio_matches_mono_16k():
    extractor = VGGishFeatureExtractor()
    t = np.arange(48000 * 3) / 48000
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([tone, tone], axis=1)
    t16 = np.arange(16000 * 3) / 16000
    reference = extractor(0.5 * np.sin(2 * np.pi * 440 * t16), sampling_rate=16000, num_examples=3)["input_features"]
    resampled = extractor(stereo, sampling_rate=48000, num_examples=3)["input_features"]
    # Same tone: the 440 Hz band dominates both, and the log-mels agree closely away from the edges.
    assert np.abs(resampled[:, :, 5:-5] - reference[:, :, 5:-5]).mean() < 0.05
    channels_first = extractor(stereo.T, sampling_rate=48000, num_examples=3, channel_axis=0)["input_features"]
    np.testing.assert_array_equal(channels_first, resampled)


def test_batch_concatenates_videos_in_order():
    extractor = VGGishFeatureExtractor()
    rng = np.random.default_rng(2)
    clips = [rng.standard_normal(80000), rng.standard_normal(80000)]
    batch = extractor(clips, sampling_rate=16000, return_tensors="pt")["input_features"]
    assert batch.shape == (10, 1, 96, 64)
    second = extractor(clips[1], sampling_rate=16000, return_tensors="pt")["input_features"]
    torch.testing.assert_close(batch[5:], second)


def test_bad_input_errors():
    extractor = VGGishFeatureExtractor()
    with pytest.raises(ValueError, match="sampling_rate"):
        extractor(np.zeros(16000))
    with pytest.raises(ValueError, match="1-D"):
        extractor(np.zeros((2, 2, 16000)), sampling_rate=16000)
    with pytest.raises(ValueError, match="NaN"):
        extractor(np.full(16000, np.nan), sampling_rate=16000)


def test_save_and_load_round_trip(tmp_path):
    extractor = VGGishFeatureExtractor(num_examples=3, log_offset=0.02)
    extractor.save_pretrained(tmp_path)
    loaded = VGGishFeatureExtractor.from_pretrained(tmp_path)
    assert loaded.num_examples == 3 and loaded.log_offset == 0.02
    waveform = np.random.default_rng(3).standard_normal(32000)
    np.testing.assert_array_equal(
        loaded(waveform, sampling_rate=16000)["input_features"],
        extractor(waveform, sampling_rate=16000)["input_features"],
    )
