"""Builder of AVSBench-Robust from a miniature AVSBench tree: round trip, determinism, pairing rules, bad input,
resume and Hub publication (network mocked)."""

from __future__ import annotations

import io
import random
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from avsbench_tree import make_ms3_tree, make_s4_tree, write_s4_csv
from PIL import Image

import modeling_avs.data.parquet_io as parquet_io
from modeling_avs.cli.main import main
from modeling_avs.data import (
    CONDITIONS,
    AVSBenchLayoutError,
    ConditionSamples,
    avs_features,
    build_avsbench_robust,
    extra_audio_from_dataset,
    load_avs_dataset,
    published_offscreen_pairs,
    push_dataset_to_hub,
    stage_for_hub,
)
from modeling_avs.data.audio_io import decode_audio_cell
from modeling_avs.data.schema import excluded_groups

pytestmark = pytest.mark.usefixtures("isolated_datasets_cache")


def tables(output: Path, config: str) -> dict[str, object]:
    return {path.name: pq.read_table(path) for path in sorted((output / config).glob("*.parquet"))}


@pytest.fixture(scope="module")
def avsbench(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("avsbench")
    make_s4_tree(root, {"train": 3, "val": 1, "test": 1})
    make_ms3_tree(root)
    return root


@pytest.fixture(scope="module")
def built(avsbench, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("built")
    build_avsbench_robust(avsbench, "s4", output, seed=42, rows_per_shard=5)
    build_avsbench_robust(avsbench, "ms3", output, seed=42)
    return output


def test_s4_round_trip(avsbench, built, tmp_path):
    dataset = load_avs_dataset(built, "s4", cache_dir=str(tmp_path))
    assert set(dataset) == {"train", "validation", "test"}
    assert [len(dataset[split]) for split in ("train", "validation", "test")] == [12, 4, 4]
    expected = avs_features()
    for column, feature in dataset["train"].features.items():
        if column.startswith("audio"):
            assert (feature.sampling_rate, feature.decode) == (16000, False)
        else:
            assert feature == expected[column]
    assert list(dataset["train"].features) == list(expected)
    assert len(list((built / "s4").glob("train-*-of-00003.parquet"))) == 3

    row = dataset["train"][0]
    folder = avsbench / "Single-source" / "s4_data"
    frame_dir = folder / "visual_frames" / "train" / row["category"] / row["video_id"]
    assert np.array_equal(np.asarray(row["frames"][2]), np.asarray(Image.open(frame_dir / f"{row['video_id']}_3.png")))
    assert row["masks"][0] is not None and row["masks"][1:] == [None] * 4
    assert all(mask is not None for mask in dataset["test"][0]["masks"])

    wav = folder / "audio_wav" / "train" / row["category"] / f"{row['video_id']}.wav"
    assert row["audio"]["bytes"] == wav.read_bytes()
    assert not decode_audio_cell(row["audio_silence"]).any()
    noise = decode_audio_cell(row["audio_noise"])
    assert noise.shape == (80000,) and 0.095 < float(np.sqrt(np.mean(noise**2))) < 0.105
    source = dataset["train"].filter(lambda r: r["video_id"] == row["offscreen_source"])[0]
    source_wave = decode_audio_cell(source["audio"], None)
    offscreen = decode_audio_cell(row["audio_offscreen"], None)
    assert offscreen.shape == (80000,)
    assert (
        np.array_equal(offscreen[: source_wave.shape[0]], source_wave) and not offscreen[source_wave.shape[0] :].any()
    )

    samples = ConditionSamples(dataset["validation"])
    assert len(samples) == 4 * len(CONDITIONS)
    assert {samples[i]["condition"] for i in range(len(samples))} == set(CONDITIONS)


def test_ms3_objects_and_frames(built, tmp_path):
    dataset = load_avs_dataset(built, "ms3", cache_dir=str(tmp_path))
    rows = {row["video_id"]: row for row in dataset["train"]}
    assert rows["ms3train4_Ab"]["category"] == "baby_woman"
    assert rows["ms3train4_Ab"]["semantic_groups"] == ["human"]
    assert rows["ms3train5_Ab"]["semantic_groups"] == ["music"]
    assert all(len(row["frames"]) == 5 and None not in row["masks"] for row in rows.values())


@pytest.mark.parametrize("config", ["s4", "ms3"])
def test_offscreen_avoids_own_and_least_suitable_groups(built, tmp_path, config):
    dataset = load_avs_dataset(built, config, cache_dir=str(tmp_path))
    for split in dataset.values():
        groups = {row["video_id"]: row["semantic_groups"] for row in split}
        for video_id, own in groups.items():
            source = split[list(groups).index(video_id)]["offscreen_source"]
            excluded = excluded_groups(config, own)
            if not any(not set(other) & excluded for other in groups.values()):
                excluded = frozenset(own)  # relaxed rule: no video avoids all excluded groups
            assert source != video_id
            assert not set(groups[source]) & excluded


def test_determinism_and_order_independence(avsbench, built, tmp_path):
    shuffled = tmp_path / "shuffled"
    shutil.copytree(avsbench, shuffled)
    rows = make_rows_from_csv(shuffled)
    random.Random(3).shuffle(rows)
    write_s4_csv(shuffled / "Single-source", rows)
    build_avsbench_robust(shuffled, "s4", tmp_path / "same", seed=42, rows_per_shard=5)
    reference = tables(built, "s4")
    same = tables(tmp_path / "same", "s4")
    assert reference.keys() == same.keys()
    assert all(reference[name].equals(same[name]) for name in reference)

    build_avsbench_robust(avsbench, "s4", tmp_path / "other", seed=7, rows_per_shard=5)
    other = tables(tmp_path / "other", "s4")
    pairs = [table.column("offscreen_source").to_pylist() for table in reference.values()]
    other_pairs = [table.column("offscreen_source").to_pylist() for table in other.values()]
    assert pairs != other_pairs
    assert (
        reference["train-00000-of-00003.parquet"]
        .column("audio")
        .equals(other["train-00000-of-00003.parquet"].column("audio"))
    )


def make_rows_from_csv(root: Path) -> list[tuple[str, str, str]]:
    lines = (root / "Single-source" / "s4_meta_data.csv").read_text().splitlines()[1:]
    return [(cells[0], cells[2], cells[3]) for cells in (line.split(",") for line in lines)]


def _s4(root: Path) -> Path:
    return root / "Single-source" / "s4_data"


BAD_INPUTS = {
    "missing frame": (
        lambda r: (_s4(r) / "visual_frames/val/helicopter/helval0-yT_0/helval0-yT_0_3.png").unlink(),
        "helval0-yT_0_3.png",
    ),
    "surplus frame": (
        lambda r: shutil.copy(
            _s4(r) / "visual_frames/val/helicopter/helval0-yT_0/helval0-yT_0_3.png",
            _s4(r) / "visual_frames/val/helicopter/helval0-yT_0/helval0-yT_0_6.png",
        ),
        "helval0-yT_0_6.png",
    ),
    "corrupt png": (
        lambda r: (_s4(r) / "gt_masks/test/dog_barking/dogtest0-yT_0/dogtest0-yT_0_2.png").write_bytes(
            b"\x89PNG\r\n\x1a\nbroken"
        ),
        "cannot decode image",
    ),
    "corrupt wav": (
        lambda r: (_s4(r) / "audio_wav/train/male_speech/maltrain1-yT_2.wav").write_bytes(b"RIFF0000WAVEjunk"),
        "cannot decode audio",
    ),
    "mask size": (
        lambda r: Image.new("L", (8, 8)).save(
            _s4(r) / "gt_masks/train/playing_piano/platrain0-yT_0/platrain0-yT_0_1.png"
        ),
        "is 8x8 but the frames are (16, 16)",
    ),
    "unknown category": (
        lambda r: write_s4_csv(r / "Single-source", [*make_rows_from_csv(r), ("zzz", "playing_kazoo", "train")]),
        "playing_kazoo",
    ),
    "csv row without files": (
        lambda r: write_s4_csv(r / "Single-source", [*make_rows_from_csv(r), ("ghost0", "dog_barking", "train")]),
        "ghost0",
    ),
    "files without csv row": (
        lambda r: write_s4_csv(r / "Single-source", make_rows_from_csv(r)[1:]),
        "has no row in the meta CSV",
    ),
    "unknown split": (
        lambda r: write_s4_csv(
            r / "Single-source", [*make_rows_from_csv(r)[:-1], (*make_rows_from_csv(r)[-1][:2], "holdout")]
        ),
        "unknown split 'holdout'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_reported(tmp_path, case):
    root = tmp_path / "avsbench"
    make_s4_tree(root, {"train": 2, "val": 1, "test": 1})
    damage, expected = BAD_INPUTS[case]
    damage(root)
    with pytest.raises(AVSBenchLayoutError, match="problem") as error:
        build_avsbench_robust(root, "s4", tmp_path / "out")
    assert expected in str(error.value)
    assert not (tmp_path / "out" / "s4").exists()

    result = build_avsbench_robust(root, "s4", tmp_path / "skipped", skip_invalid=True)
    report = result.report_path.read_text()
    assert expected in report
    built_ids = {
        id_
        for paths in result.shards.values()
        for path in paths
        for id_ in pq.read_table(path).column("video_id").to_pylist()
    }
    assert not built_ids & set(result.skipped)


def test_ms3_without_avss_row_is_an_error(tmp_path):
    root = tmp_path / "avsbench"
    make_ms3_tree(root)
    lines = (root / "metadata.csv").read_text().splitlines()
    (root / "metadata.csv").write_text("\n".join(line for line in lines if not line.startswith("ms3val2_Ab")) + "\n")
    with pytest.raises(AVSBenchLayoutError, match="ms3val2_Ab: no row with label 'v1m'"):
        build_avsbench_robust(root, "ms3", tmp_path / "out")
    with pytest.raises(AVSBenchLayoutError, match="not found"):
        build_avsbench_robust(root, "ms3", tmp_path / "out", avss_metadata=tmp_path / "nope.csv")


def test_bad_root_and_config(tmp_path):
    with pytest.raises(AVSBenchLayoutError, match="does not exist"):
        build_avsbench_robust(tmp_path / "missing", "s4", tmp_path / "out")
    with pytest.raises(AVSBenchLayoutError, match="s4_meta_data.csv"):
        build_avsbench_robust(tmp_path, "s4", tmp_path / "out")
    with pytest.raises(ValueError, match="unknown config 'avss'"):
        build_avsbench_robust(tmp_path, "avss", tmp_path / "out")


def test_resume_after_interruption(avsbench, built, tmp_path, monkeypatch):
    original = parquet_io.write_table_atomic
    written = []

    def fail_on_second(table, path):
        if len(written) == 1:
            raise KeyboardInterrupt("simulated kill")
        written.append(path.name)
        original(table, path)

    monkeypatch.setattr(parquet_io, "write_table_atomic", fail_on_second)
    with pytest.raises(KeyboardInterrupt):
        build_avsbench_robust(avsbench, "s4", tmp_path / "out", seed=42, rows_per_shard=5)
    assert (
        [path.name for path in (tmp_path / "out" / "s4").glob("*.parquet")]
        == written
        == ["train-00000-of-00003.parquet"]
    )

    def record(table, path):
        written.append(path.name)
        original(table, path)

    monkeypatch.setattr(parquet_io, "write_table_atomic", record)
    build_avsbench_robust(avsbench, "s4", tmp_path / "out", seed=42, rows_per_shard=5)
    assert written.count("train-00000-of-00003.parquet") == 1 and len(written) == 5
    resumed, reference = tables(tmp_path / "out", "s4"), tables(built, "s4")
    assert resumed.keys() == reference.keys() and all(resumed[name].equals(reference[name]) for name in reference)

    with pytest.raises(ValueError, match="seed"):
        build_avsbench_robust(avsbench, "s4", tmp_path / "out", seed=1, rows_per_shard=5)


def test_unseen_audio_config(avsbench, tmp_path, unseen_audio_dir):
    build_avsbench_robust(avsbench, "s4", tmp_path / "out", unseen_audio=unseen_audio_dir)
    unseen = load_avs_dataset(tmp_path / "out", "unseen", cache_dir=str(tmp_path / "cache"))["test"]
    clips = extra_audio_from_dataset(unseen)
    assert len(clips) == 15 and {"unseen:rooster_segment", "unseen:fork_segment"} <= set(clips)
    assert all(
        wave.shape == (80000,) and wave.dtype == np.float32 and np.abs(wave).max() > 0.01 for wave in clips.values()
    )


def test_cli_build_and_hub_refusals(avsbench, tmp_path, monkeypatch, capsys):
    output = tmp_path / "cli"
    assert main(["build-dataset", "--avsbench-root", str(avsbench), "--config", "s4", "--output", str(output)]) == 0
    assert (output / "README.md").is_file()

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    args = [
        "build-dataset",
        "--avsbench-root",
        str(avsbench),
        "--config",
        "ms3",
        "--output",
        str(tmp_path / "pushed"),
        "--push-to-hub",
        "me/avs",
    ]
    assert main(args) == 2
    assert "HF_HUB_OFFLINE" in capsys.readouterr().err and not (tmp_path / "pushed").exists()

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    assert main(args) == 2
    assert "no token" in capsys.readouterr().err and not (tmp_path / "pushed").exists()

    assert main([*args[:-2], "--include-avsbench-media"]) == 2
    assert "only applies together with --push-to-hub" in capsys.readouterr().err


@pytest.mark.parametrize("include_media", [False, True])
def test_push_strips_avsbench_media_unless_asked(built, tmp_path, monkeypatch, include_media):
    uploads = []

    class FakeApi:
        def __init__(self, token):
            assert token == "secret"

        def whoami(self):
            return {"name": "me"}

        def create_repo(self, repo_id, repo_type, private, exist_ok, space_sdk=None):
            assert (repo_id, repo_type, space_sdk) == ("me/avs", "dataset", None)

        def upload_folder(self, folder_path, repo_id, repo_type, commit_message):
            shard = Path(folder_path) / "s4" / "train-00000-of-00003.parquet"
            uploads.append((pq.read_schema(shard).names, (Path(folder_path) / "README.md").read_text()))
            return "https://huggingface.co/datasets/me/avs/commit/1"

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    url = push_dataset_to_hub(built, "me/avs", include_media=include_media, token="secret")
    assert url.endswith("/commit/1")
    columns, card = uploads[0]
    media = {"frames", "masks", "audio", "audio_offscreen"}
    assert media <= set(columns) if include_media else not media & set(columns)
    assert {"video_id", "audio_noise", "offscreen_source", "seed"} <= set(columns)
    assert ("contains no AVSBench media" in card) != include_media


def test_staged_metadata_loads(built, tmp_path):
    stage_for_hub(built, tmp_path / "stage", include_media=False)
    dataset = load_avs_dataset(tmp_path / "stage", "s4", cache_dir=str(tmp_path / "cache"))
    assert "frames" not in dataset["train"].column_names
    reference = pq.read_table(built / "s4" / "train-00000-of-00003.parquet")
    assert dataset["train"][0]["audio_noise"]["bytes"] == reference.column("audio_noise")[0].as_py()["bytes"]
    assert sf.info(io.BytesIO(dataset["train"][0]["audio_noise"]["bytes"])).samplerate == 16000


def test_join_back_from_media_free_copy(avsbench, built, tmp_path, capsys):
    stage_for_hub(built, tmp_path / "published", include_media=False)
    pairs, seeds = published_offscreen_pairs(tmp_path / "published", "s4")
    assert seeds == {42} and len(pairs) == 20
    build_avsbench_robust(avsbench, "s4", tmp_path / "joined", seed=42, rows_per_shard=5, offscreen_pairs=pairs)
    joined, reference = tables(tmp_path / "joined", "s4"), tables(built, "s4")
    assert all(joined[name].equals(reference[name]) for name in reference)
    with pytest.raises(AVSBenchLayoutError, match="sources missing locally|no pair for"):
        build_avsbench_robust(
            avsbench, "s4", tmp_path / "bad", offscreen_pairs={**pairs, next(iter(pairs)): "elsewhere"}
        )
    args = ["build-dataset", "--avsbench-root", str(avsbench), "--config", "s4", "--output", str(tmp_path / "cli")]
    assert main([*args, "--pairing-from", str(tmp_path / "published"), "--seed", "1"]) == 2
    assert "seed(s) [42]" in capsys.readouterr().err


def test_ms3_layout_problems_are_listed_together(tmp_path):
    root = tmp_path / "avsbench"
    make_ms3_tree(root)
    data = root / "Multi-sources" / "ms3_data"
    (data / "visual_frames" / "ms3test1_Ab" / "ms3test1_Ab.mp4_5.png").unlink()
    (data / "gt_masks" / "val" / "stray_video").mkdir()
    with pytest.raises(AVSBenchLayoutError) as error:
        build_avsbench_robust(root, "ms3", tmp_path / "out")
    message = str(error.value)
    assert "2 problem(s)" in message and "ms3test1_Ab.mp4_5.png" in message
    assert "mask folder" in message and "stray_video has no row in the meta CSV" in message
