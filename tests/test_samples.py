"""Per-condition samples, soundfile decoding of the audio columns, negative-audio helpers."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from modeling_avs.data import (
    CONDITIONS,
    ConditionSamples,
    load_avs_dataset,
    load_unseen_clips,
    make_synthetic_dataset,
    noise_waveform,
    pick_offscreen_sources,
    stable_seed,
)
from modeling_avs.data.audio_io import decode_audio_cell, encode_audio, pcm16

pytestmark = pytest.mark.usefixtures("isolated_datasets_cache")


@pytest.fixture(scope="module")
def split():
    return make_synthetic_dataset("s4", num_videos=4, image_size=32, seed=1)["validation"]


def test_items_per_condition(split):
    samples = ConditionSamples(split)
    assert len(samples) == len(split) * 4 and samples.conditions == CONDITIONS
    rows = len(split)
    for condition in CONDITIONS:
        indices = samples.indices_of(condition)
        assert len(indices) == rows
        item = samples[indices[1]]
        assert item["condition"] == condition and item["video_id"] == split[1]["video_id"]
        assert item["pair_label"] == int(condition == "positive")
        assert len(item["frames"]) == 5 and all(
            frame.mode == "RGB" and frame.size == (32, 32) for frame in item["frames"]
        )
        assert len(item["masks"]) == 5 and all(mask is not None for mask in item["masks"])
        assert item["waveform"].dtype == np.float32 and item["waveform"].shape == (80000,)
    positive = samples[samples.indices_of("positive")[0]]["waveform"]
    assert np.array_equal(positive, decode_audio_cell(split[0]["audio"]))
    assert not samples[samples.indices_of("silence")[0]]["waveform"].any()
    offscreen = samples[samples.indices_of("offscreen")[0]]
    source_row = split["video_id"].index(split[0]["offscreen_source"])
    assert np.array_equal(offscreen["waveform"], samples[source_row]["waveform"])
    assert samples[-1]["condition"] == "offscreen"
    with pytest.raises(IndexError):
        samples[len(samples)]


def test_condition_subset_and_extra_audio(split):
    tone = np.sin(np.arange(24000) / 10).astype(np.float32)
    samples = ConditionSamples(split, conditions=("positive", "noise"), extra_audio={"unseen:tone": tone})
    assert samples.conditions == ("positive", "noise", "unseen:tone") and len(samples) == 3 * len(split)
    item = samples[samples.indices_of("unseen:tone")[1]]
    assert item["pair_label"] == 0 and item["video_id"] == split[1]["video_id"]
    assert np.allclose(item["waveform"][:24000], tone) and not item["waveform"][24000:].any()
    with pytest.raises(ValueError, match="unknown condition"):
        ConditionSamples(split, conditions=("positive", "misaligned"))
    with pytest.raises(ValueError, match="clash"):
        ConditionSamples(split, extra_audio={"noise": tone})


def test_loader_reads_audio_without_torchcodec(tmp_path):
    make_synthetic_dataset("s4", num_videos=2, image_size=32, seed=1, output_dir=tmp_path / "syn")
    dataset = load_avs_dataset(tmp_path / "syn", "s4", cache_dir=str(tmp_path / "cache"))
    feature = dataset["test"].features["audio_noise"]
    assert feature.decode is False and feature.sampling_rate == 16000
    cell = dataset["test"][0]["audio_noise"]
    assert set(cell) == {"bytes", "path"}
    assert np.allclose(decode_audio_cell(cell), noise_waveform(1, dataset["test"][0]["video_id"]), atol=1 / 32767)
    with pytest.raises(FileNotFoundError, match="no README.md"):
        load_avs_dataset(tmp_path / "cache", "s4")


def test_audio_encoding_round_trip_and_resampling(tmp_path):
    wave = np.random.default_rng(0).uniform(-0.5, 0.5, 80000).astype(np.float32)
    for audio_format in ("WAV", "FLAC"):
        assert (
            np.abs(decode_audio_cell({"bytes": encode_audio(wave, audio_format), "path": None}) - wave).max()
            <= 1 / 32767
        )
    # The WAV writer produces the canonical file libsndfile writes for 16-bit mono 16 kHz PCM.
    clipped = np.concatenate([wave, [1.5, -1.5, 0.5 / 32767, -2.5 / 32767]]).astype(np.float32)
    reference = io.BytesIO()
    sf.write(reference, pcm16(clipped), 16000, format="WAV", subtype="PCM_16")
    assert encode_audio(clipped, "WAV") == reference.getvalue()
    assert sf.info(io.BytesIO(encode_audio(clipped, "WAV"))).frames == clipped.shape[0]
    assert pcm16(clipped)[-4:].tolist() == [32767, -32767, 0, -2]  # clipped, rounded half to even
    stereo = np.stack([wave[:48000], wave[:48000]], axis=1)
    sf.write(tmp_path / "clip.wav", stereo, 48000)
    (tmp_path / "notes.txt").write_text("ignored")
    clips = load_unseen_clips(tmp_path)
    assert list(clips) == ["unseen:clip"] and clips["unseen:clip"].shape == (80000,)
    assert not clips["unseen:clip"][16000:].any() and clips["unseen:clip"][:16000].std() > 0.1
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no"):
        load_unseen_clips(tmp_path / "empty")
    with pytest.raises(ValueError, match="does not exist"):
        load_unseen_clips(tmp_path / "missing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.wav").write_bytes(b"not audio")
    with pytest.raises(ValueError, match="broken.wav"):
        load_unseen_clips(tmp_path / "bad")


def test_shared_unseen_clips(unseen_audio_dir):
    clips = load_unseen_clips(unseen_audio_dir)
    assert len(clips) == 15 and all(wave.shape == (80000,) for wave in clips.values())


def test_negative_audio_is_deterministic_per_video():
    assert stable_seed(42, "abc", "noise") == stable_seed(42, "abc", "noise") != stable_seed(42, "abd", "noise")
    assert np.array_equal(noise_waveform(42, "abc"), noise_waveform(42, "abc"))
    assert not np.array_equal(noise_waveform(42, "abc"), noise_waveform(43, "abc"))
    videos = {f"v{i}": [group] for i, group in enumerate(["music", "human", "animal", "device"] * 5)}
    choices = pick_offscreen_sources("s4", videos, seed=0)
    reordered = pick_offscreen_sources("s4", dict(reversed(list(videos.items()))), seed=0)
    assert choices == reordered
    allowed = {"music": {"animal", "device"}, "human": {"animal", "device"}, "animal": {"music", "device"}}
    for video_id, choice in choices.items():
        own = videos[video_id][0]
        assert not choice.relaxed and videos[choice.source][0] in allowed.get(own, {"music", "human", "animal"})
    sources = {choice.source for video_id, choice in choices.items() if videos[video_id] == ["device"]}
    assert len(sources) > 3  # uniform over candidate videos, not a fixed one


def test_offscreen_relaxation_and_impossible_pairing():
    relaxed = pick_offscreen_sources("s4", {"a": ["music"], "b": ["human"]}, seed=0)
    assert relaxed["a"].source == "b" and relaxed["a"].relaxed
    with pytest.raises(ValueError, match="no off-screen candidate for video 'a'"):
        pick_offscreen_sources("ms3", {"a": ["animal"], "b": ["animal"]}, seed=0)


def test_rebuilt_folder_is_not_served_from_a_stale_cache(tmp_path, monkeypatch):
    monkeypatch.setattr("datasets.config.HF_DATASETS_CACHE", str(tmp_path / "hf_cache"))
    first = make_synthetic_dataset("s4", num_videos=2, image_size=32, seed=1, output_dir=tmp_path / "a" / "syn")
    second = make_synthetic_dataset("s4", num_videos=2, image_size=32, seed=2, output_dir=tmp_path / "b" / "syn")
    assert first["test"]["seed"] == [1, 1] and second["test"]["seed"] == [2, 2]
    assert load_avs_dataset(tmp_path / "a" / "syn", "s4")["test"]["seed"] == [1, 1]
