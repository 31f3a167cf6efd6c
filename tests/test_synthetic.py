"""The synthetic AVSBench-Robust benchmark: determinism, schema equality with the real builder, the design that
makes visual bias real, and class-recognisable audio."""

from __future__ import annotations

import io

import numpy as np
import pyarrow.parquet as pq
import pytest
from avsbench_tree import make_s4_tree
from PIL import Image

from modeling_avs.cli.main import main
from modeling_avs.data import (
    MS3_OBJECT_GROUPS,
    S4_CATEGORY_GROUPS,
    ConditionSamples,
    build_avsbench_robust,
    load_avs_dataset,
    make_synthetic_dataset,
)
from modeling_avs.data.audio_io import decode_audio_cell
from modeling_avs.data.schema import excluded_groups
from modeling_avs.data.synthetic import split_sizes
from modeling_avs.data.synthetic_audio import CLASS_SOUNDS, TABLE_SIZE, _wavetable, mixture
from modeling_avs.data.synthetic_unseen_audio import UNSEEN_SOUNDS, unseen_sound_clips
from modeling_avs.data.synthetic_visual import SYNTHETIC_CLASSES, png_bytes

pytestmark = pytest.mark.usefixtures("isolated_datasets_cache")


@pytest.fixture(scope="module")
def s4():
    return make_synthetic_dataset("s4", num_videos=16, image_size=32, seed=5)


@pytest.fixture(scope="module")
def ms3():
    return make_synthetic_dataset("ms3", num_videos=16, image_size=32, seed=5)


def test_bit_reproducible_from_seed(s4):
    again = make_synthetic_dataset("s4", num_videos=16, image_size=32, seed=5, num_proc=2)
    other = make_synthetic_dataset("s4", num_videos=16, image_size=32, seed=6)
    for split in s4:
        assert s4[split].data.table.equals(again[split].data.table)
        assert not s4[split].data.table.equals(other[split].data.table)


def test_disk_output_equals_memory_and_matches_builder_schema(s4, tmp_path):
    on_disk = make_synthetic_dataset("s4", num_videos=16, image_size=32, seed=5, output_dir=tmp_path / "syn")
    for split in s4:
        assert on_disk[split].data.table.equals(s4[split].data.table)
    make_s4_tree(tmp_path / "avsbench", {"train": 1, "val": 1, "test": 1})
    build_avsbench_robust(tmp_path / "avsbench", "s4", tmp_path / "real")
    real = pq.read_schema(tmp_path / "real" / "s4" / "test-00000-of-00001.parquet")
    synthetic = pq.read_schema(tmp_path / "syn" / "s4" / "test-00000-of-00001.parquet")
    assert real.equals(synthetic, check_metadata=True)
    # Media bytes are stored plainly (no compression, dictionary or statistics); metadata columns keep them.
    chunks = pq.ParquetFile(tmp_path / "syn" / "s4" / "test-00000-of-00001.parquet").metadata.row_group(0)
    chunks = {chunk.path_in_schema: chunk for chunk in map(chunks.column, range(chunks.num_columns))}
    assert chunks["audio.bytes"].compression == "UNCOMPRESSED" and not chunks["audio.bytes"].is_stats_set
    assert "RLE_DICTIONARY" not in chunks["frames.list.element.bytes"].encodings
    assert chunks["video_id"].compression == "SNAPPY" and chunks["video_id"].is_stats_set
    assert (
        load_avs_dataset(tmp_path / "syn", "s4", cache_dir=str(tmp_path / "cache"))["test"].features
        == on_disk["test"].features
    )


@pytest.mark.parametrize("shape", [(7, 5, 3), (1, 9), (32, 32)])
def test_png_bytes_is_lossless(shape):
    array = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    image = Image.open(io.BytesIO(png_bytes(array)))
    assert image.mode == ("RGB" if len(shape) == 3 else "L")
    assert np.array_equal(np.asarray(image), array)
    with pytest.raises(ValueError, match="uint8"):
        png_bytes(array.astype(np.float32))


def test_split_sizes_and_bad_arguments():
    assert split_sizes("s4", None) == {"train": 400, "validation": 60, "test": 60}
    assert split_sizes("ms3", 10) == {"train": 10, "validation": 2, "test": 2}
    with pytest.raises(ValueError, match="0 or >= 2"):
        split_sizes("s4", {"train": 4, "test": 1})
    with pytest.raises(ValueError, match="unknown config"):
        make_synthetic_dataset("avss", num_videos=4)
    with pytest.raises(ValueError, match="image_size"):
        make_synthetic_dataset("s4", num_videos=4, image_size=8)
    with pytest.raises(ValueError, match="num_proc"):
        make_synthetic_dataset("s4", num_videos=4, num_proc=0)


def test_s4_layout_one_sounding_object(s4):
    assert [len(s4[split]) for split in ("train", "validation", "test")] == [16, 3, 3]
    train = s4["train"]
    for row in train:
        assert S4_CATEGORY_GROUPS[row["category"]] == row["semantic_groups"][0] and len(row["semantic_groups"]) == 1
        assert row["masks"][0] is not None and row["masks"][1:] == [None] * 4
        assert 0.03 < (np.asarray(row["masks"][0]) > 0).mean() < 0.5
    assert len(set(train["category"])) == 12
    for row in s4["test"]:
        assert all(np.asarray(mask).any() for mask in row["masks"])
        assert row["frames"][0].size == (32, 32) and row["frames"][0].mode == "RGB"


def test_ms3_sounding_subset_and_union_masks(ms3):
    for row in ms3["train"]:
        objects = row["category"].split("_")
        assert 1 <= len(objects) <= 2
        assert sorted({MS3_OBJECT_GROUPS[name] for name in objects}) == sorted(row["semantic_groups"])
        assert all(mask is not None for mask in row["masks"])
        frame = np.asarray(row["frames"][0]).astype(int)
        mask = np.asarray(row["masks"][0]) > 0
        # Visible objects outside the mask exist (a silent object of another group), so a model must listen.
        assert 0 < mask.mean() < 0.5 and frame.shape == (32, 32, 3)
    two_sources = sum(len(row["category"].split("_")) == 2 for row in ms3["train"])
    assert 0 < two_sources < len(ms3["train"])


@pytest.mark.parametrize("config", ["s4", "ms3"])
def test_negatives_follow_the_rules(s4, ms3, config):
    dataset = s4 if config == "s4" else ms3
    for split in dataset.values():
        groups = dict(zip(split["video_id"], split["semantic_groups"]))
        audio = dict(zip(split["video_id"], split["audio"]))
        for row in split:
            excluded = excluded_groups(config, row["semantic_groups"])
            if not any(not set(other) & excluded for other in groups.values()):
                excluded = frozenset(row["semantic_groups"])  # relaxed rule: no video avoids all excluded groups
            assert row["offscreen_source"] != row["video_id"]
            assert not set(groups[row["offscreen_source"]]) & excluded
            assert row["audio_offscreen"]["bytes"] == audio[row["offscreen_source"]]["bytes"]
            assert not decode_audio_cell(row["audio_silence"]).any()
            noise = decode_audio_cell(row["audio_noise"])
            assert 0.095 < float(np.sqrt(np.mean(noise**2))) < 0.105


def _audio_features(wave: np.ndarray) -> np.ndarray:
    """Mean and spread of log band energies plus the envelope's modulation spectrum."""
    frames = wave[: wave.shape[0] // 512 * 512].reshape(-1, 512) * np.hanning(512)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    edges = np.unique(np.geomspace(2, 257, 25).astype(int))
    bands = np.log(np.stack([power[:, a:b].mean(1) for a, b in zip(edges[:-1], edges[1:])], 1) + 1e-10)
    envelope = bands.mean(1) - bands.mean()
    modulation = np.log(np.abs(np.fft.rfft(envelope))[:20] + 1e-6)
    return np.concatenate([bands.mean(0) - bands.mean(), bands.std(0), modulation])


def test_wavetable_is_the_sum_of_its_partials():
    amplitudes = (1.0, 0.0, 0.4, 0.25)
    phase = 2 * np.pi * np.arange(TABLE_SIZE) / TABLE_SIZE
    expected = sum(a * np.sin((k + 1) * phase + np.pi * (k + 1) ** 2 / 4) for k, a in enumerate(amplitudes))
    assert np.abs(_wavetable(amplitudes) - expected).max() < 1e-5


@pytest.fixture(scope="module")
def class_clip_features():
    """`_audio_features` `[12 * 4, D]` of 4 clips of every class (`CLASS_SOUNDS` order) and their class index."""
    clips_per_class = 4
    features = np.array(
        [
            _audio_features(mixture(np.random.default_rng(100 * i + j), [name]))
            for i, name in enumerate(CLASS_SOUNDS)
            for j in range(clips_per_class)
        ]
    )
    return features, np.repeat(np.arange(len(CLASS_SOUNDS)), clips_per_class)


def test_classes_are_recognisable_from_audio_alone(class_clip_features):
    names = list(CLASS_SOUNDS)
    assert sorted(names) == sorted(cls.ms3_object for cls in SYNTHETIC_CLASSES)
    features, labels = class_clip_features
    features = (features - features.mean(0)) / (features.std(0) + 1e-6)
    correct = 0
    for index in range(len(features)):
        others = np.arange(len(features)) != index
        centroids = np.array([features[others & (labels == label)].mean(0) for label in range(len(names))])
        correct += int(np.argmin(((centroids - features[index]) ** 2).sum(1)) == labels[index])
    assert correct / len(features) >= 0.9, f"nearest-centroid accuracy {correct / len(features):.2f}"


def test_unseen_sound_clips_are_deterministic_and_at_the_benchmark_level(s4):
    clips = unseen_sound_clips(3)
    assert list(clips) == [f"unseen:{name}" for name in UNSEEN_SOUNDS] and len(clips) == 6
    again, other = unseen_sound_clips(3), unseen_sound_clips(4)
    for name, clip in clips.items():
        assert clip.dtype == np.float32 and clip.shape == (80000,)  # 5 s, mono 16 kHz
        assert clip.tobytes() == again[name].tobytes() and clip.tobytes() != other[name].tobytes()
        assert np.abs(clip).max() <= 1.0
        assert (np.abs(clip) == 1.0).mean() < 1e-3  # impulsive sounds clip at most a few peaks
        level = 10 * np.log10(np.mean(clip.astype(np.float64) ** 2))
        assert -26.5 < level < -15.5, f"{name}: {level:.1f} dBFS"  # -26..-16 dBFS, + background noise
    # Each clip has its own generator: asking for a subset gives the same clips.
    assert unseen_sound_clips(3, ["thunder"])["unseen:thunder"].tobytes() == clips["unseen:thunder"].tobytes()
    with pytest.raises(ValueError, match="unknown unseen sound categories \\['dog'\\]"):
        unseen_sound_clips(3, ["dog"])
    # Ready to be evaluated as extra negative conditions of every video.
    samples = ConditionSamples(s4["test"], ("positive",), extra_audio=clips)
    assert samples.conditions == ("positive", *clips)
    item = samples[samples.indices_of("unseen:thunder")[0]]
    assert np.array_equal(item["waveform"], clips["unseen:thunder"]) and item["pair_label"] == 0


def test_unseen_categories_are_none_of_the_training_classes(class_clip_features):
    training_names = {name for cls in SYNTHETIC_CLASSES for name in (cls.s4_category, cls.ms3_object)}
    assert not set(UNSEEN_SOUNDS) & (set(CLASS_SOUNDS) | training_names)
    assert not set(UNSEEN_SOUNDS.values()) & set(CLASS_SOUNDS.values())
    # With the recognisability test's features, no unseen clip lies among the clips of a training class: each is
    # farther from every class centroid than the typical clip of that class is from its own.
    names = list(CLASS_SOUNDS)
    train, labels = class_clip_features
    mean, scale = train.mean(0), train.std(0) + 1e-6
    train = (train - mean) / scale
    centroids = np.array([train[labels == label].mean(0) for label in range(len(names))])
    within = np.median(np.linalg.norm(train - centroids[labels], axis=1))
    for seed in range(3):
        for name, clip in unseen_sound_clips(seed).items():
            distances = np.linalg.norm(centroids - (_audio_features(clip) - mean) / scale, axis=1)
            nearest = names[int(distances.argmin())]
            assert distances.min() > 1.25 * within, f"{name} (seed {seed}) sounds like {nearest}"


def test_cli_make_synthetic(tmp_path, capsys):
    args = ["make-synthetic", "--config", "ms3", "--num-videos", "4", "--image-size", "32", "--output", str(tmp_path)]
    assert main(args) == 0
    assert "train 4, validation 2, test 2" in capsys.readouterr().out
    assert main([*args, "--seed", "3"]) == 2
    assert "other settings (seed differ)" in capsys.readouterr().err
