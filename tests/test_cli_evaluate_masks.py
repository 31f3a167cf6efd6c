"""`avs-robust evaluate-masks` on a tiny dataset in the AVSBench-Robust schema and PNG predictions."""

import json

import datasets
import numpy as np
import pytest
import torch
from PIL import Image

from modeling_avs.cli.main import main
from modeling_avs.metrics import RobustAVSEvaluator, load_reference_masks

HEIGHT, WIDTH = 6, 7
CONDITIONS = ["positive", "silence", "unseen:rooster"]


@pytest.fixture
def toy_benchmark(tmp_path):
    """Dataset folder (config `s4`, split `test`), prediction folder and the arrays behind both."""
    rng = np.random.default_rng(0)
    masks = {
        "vid_a": [rng.random((HEIGHT, WIDTH)) > 0.6 for _ in range(5)],
        "vid_b": [rng.random((HEIGHT, WIDTH)) > 0.6, None, None, None, None],  # S4-train-like: only frame 0
    }
    masks["vid_a"][2][:] = False  # an annotated frame without object
    features = datasets.Features({"video_id": datasets.Value("string"), "masks": datasets.List(datasets.Image())})
    rows = {
        "video_id": list(masks),
        "masks": [
            [None if m is None else Image.fromarray(m.astype(np.uint8) * 255) for m in frames]
            for frames in masks.values()
        ],
    }
    data_dir = tmp_path / "dataset"
    (data_dir / "s4").mkdir(parents=True)
    datasets.Dataset.from_dict(rows, features=features).to_parquet(data_dir / "s4" / "test-00000-of-00001.parquet")
    (data_dir / "README.md").write_text(
        "---\nconfigs:\n- config_name: s4\n  data_files:\n  - split: test\n    path: s4/test-*.parquet\n---\n"
    )
    predictions = {}
    prediction_dir = tmp_path / "predictions"
    for condition in CONDITIONS:
        for video_id, frames in masks.items():
            folder = prediction_dir / condition / video_id
            folder.mkdir(parents=True)
            for frame in range(5):  # a prediction for every frame; only annotated ones are scored
                grey = rng.integers(0, 256, (HEIGHT, WIDTH), dtype=np.uint8)
                if frames[frame] is not None and condition == "positive":
                    grey = np.where(frames[frame], np.maximum(grey, 100), grey // 2).astype(np.uint8)
                Image.fromarray(grey).save(folder / f"{frame}.png")
                predictions[condition, video_id, frame] = grey
    return data_dir, prediction_dir, masks, predictions


def expected_results(masks, predictions, input_type, protocol="dataset"):
    evaluator = RobustAVSEvaluator(protocol=protocol, input_type=input_type)
    for condition in CONDITIONS:
        for video_id, frames in masks.items():
            annotated = [k for k, m in enumerate(frames) if m is not None]
            grey = np.stack([predictions[condition, video_id, k] for k in annotated])
            values = grey.astype(np.float32) / 255 if input_type == "probabilities" else grey > 0
            evaluator.update(
                torch.from_numpy(values),
                torch.from_numpy(np.stack([frames[k] for k in annotated])),
                condition,
                [video_id] * len(annotated),
            )
    return evaluator.compute()


def run_cli(*arguments):
    return main(["evaluate-masks", *map(str, arguments)])


@pytest.mark.parametrize("input_type, protocol", [("probabilities", "dataset"), ("binary", "legacy")])
def test_scores_match_the_evaluator(toy_benchmark, tmp_path, capsys, input_type, protocol):
    data_dir, prediction_dir, masks, predictions = toy_benchmark
    output = tmp_path / "out" / "results.json"
    code = run_cli(
        "--predictions",
        prediction_dir,
        "--dataset",
        data_dir,
        "--config",
        "s4",
        "--input-type",
        input_type,
        "--protocol",
        protocol,
        "--output",
        output,
    )
    assert code == 0
    written = json.loads(output.read_text())
    expected = expected_results(masks, predictions, input_type, protocol)
    assert written["conditions"] == expected["conditions"]
    assert written["global"] == expected["global"]
    assert written["conditions"]["positive"]["num_frames"] == 6  # 5 + 1 annotated frames
    assert list(written["conditions"]) == CONDITIONS
    assert written["input_type"] == input_type and written["protocol"] == protocol
    # silence is the only standard negative: the G-FPR is its FPR; the unseen clip is apart
    assert written["global_negatives"] == ["silence"]
    assert written["global"]["g_fpr"] == written["conditions"]["silence"]["fpr"]
    assert written["unseen"]["fpr"] == written["conditions"]["unseen:rooster"]["fpr"] != written["global"]["g_fpr"]
    assert written["unseen"]["num_conditions"] == 1 and written["unseen"] == expected["unseen"]
    assert json.loads(capsys.readouterr().out)["global"] == expected["global"]


def test_markdown_and_plot(toy_benchmark, tmp_path, capsys):
    data_dir, prediction_dir, _, _ = toy_benchmark
    code = run_cli(
        "--predictions",
        prediction_dir,
        "--dataset",
        data_dir,
        "--config",
        "s4",
        "--input-type",
        "binary",
        "--markdown",
        "--method",
        "Mine",
        "--plot",
        tmp_path / "bars.svg",
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("| Method |") and "| Mine |" in out and "unseen:rooster FPR ↓" in out
    assert (tmp_path / "bars.svg").read_text().lstrip().startswith("<?xml")


def test_load_reference_masks(toy_benchmark):
    data_dir, _, masks, _ = toy_benchmark
    references = load_reference_masks(str(data_dir), "test", "s4")
    assert list(references) == ["vid_a", "vid_b"]
    assert references["vid_b"][1:] == [None] * 4
    assert all(np.array_equal(references["vid_a"][k], masks["vid_a"][k]) for k in range(5))
    with pytest.raises(ValueError, match="split 'val'"):
        load_reference_masks(str(data_dir), "val", "s4")


def expect_cli_error(capsys, *arguments, message):
    assert run_cli(*arguments) == 2
    assert message in capsys.readouterr().err


def test_missing_frame(toy_benchmark, capsys):
    data_dir, prediction_dir, _, _ = toy_benchmark
    (prediction_dir / "silence" / "vid_a" / "3.png").unlink()
    (prediction_dir / "silence" / "vid_b" / "4.png").unlink()  # not annotated: not needed
    expect_cli_error(
        capsys,
        "--predictions",
        prediction_dir,
        "--dataset",
        data_dir,
        "--config",
        "s4",
        "--input-type",
        "binary",
        message="1 prediction frame(s) missing for condition 'silence'",
    )


def test_size_mismatch(toy_benchmark, capsys):
    data_dir, prediction_dir, _, _ = toy_benchmark
    Image.new("L", (WIDTH + 1, HEIGHT)).save(prediction_dir / "positive" / "vid_b" / "0.png")
    expect_cli_error(
        capsys,
        "--predictions",
        prediction_dir,
        "--dataset",
        data_dir,
        "--config",
        "s4",
        "--input-type",
        "binary",
        message=f"is {WIDTH + 1}x{HEIGHT} but its ground truth is {WIDTH}x{HEIGHT}",
    )


def test_unknown_condition_and_extra_condition(toy_benchmark, capsys):
    data_dir, prediction_dir, _, _ = toy_benchmark
    (prediction_dir / "silence").rename(prediction_dir / "silent")
    arguments = ["--predictions", prediction_dir, "--dataset", data_dir, "--config", "s4", "--input-type", "binary"]
    expect_cli_error(capsys, *arguments, message="unknown condition folder(s) ['silent']")
    assert run_cli(*arguments, "--extra-condition", "silent") == 0
    assert "silent" in json.loads(capsys.readouterr().out)["conditions"]


def test_unknown_video_and_bad_dataset(toy_benchmark, tmp_path, capsys):
    data_dir, prediction_dir, _, _ = toy_benchmark
    (prediction_dir / "noise" / "vid_z").mkdir(parents=True)
    expect_cli_error(
        capsys,
        "--predictions",
        prediction_dir,
        "--dataset",
        data_dir,
        "--config",
        "s4",
        "--input-type",
        "binary",
        message="not in the dataset split, e.g. ['vid_z']",
    )
    expect_cli_error(
        capsys,
        "--predictions",
        prediction_dir,
        "--dataset",
        tmp_path / "nowhere",
        "--input-type",
        "binary",
        message="cannot load dataset",
    )
