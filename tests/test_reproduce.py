"""`avs-robust reproduce --size smoke`: every output is written, and a rerun reuses the finished models."""

import json
import os
import types

import pytest
import torch

from modeling_avs.cli.main import main
from modeling_avs.metrics.report import results_table
from modeling_avs.training.reproduce import GATED_NAME, VARIANTS, acceptance_checks, reproduce

EXPECTED_FILES = ("results.json", "results.md", "bars.png", "similarity_histograms.png", "overlays.png")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """The three variants trained in two worker processes (one of them trains two variants in turn)."""
    output = tmp_path_factory.mktemp("reproduce")
    code = main(["reproduce", "--size", "smoke", "--output-dir", str(output), "--jobs", "2"])
    return output, code


def test_smoke_run_writes_every_output(smoke_run):
    output, code = smoke_run
    assert code == 0
    for name in EXPECTED_FILES:
        assert (output / name).stat().st_size > 0, name
    summary = json.loads((output / "results.json").read_text())
    assert list(summary["models"]) == [name for name, _, _ in VARIANTS] + [GATED_NAME]
    for name, entry in summary["models"].items():
        if name == GATED_NAME:  # the robust model evaluated with the similarity gate: same weights
            assert (output / "models" / "robust" / "eval_results_gated.json").is_file()
            continue
        assert set(entry["results"]["conditions"]) == {"positive", "silence", "noise", "offscreen"}
        assert 0.0 <= entry["results"]["global"]["g_fpr"] <= 1.0
        model_dir = output / "models" / name
        for file in ("model.safetensors", "config.json", "processor_config.json", "README.md", "eval_results.json"):
            assert (model_dir / file).is_file(), f"{name}/{file}"
        card = (model_dir / "README.md").read_text()
        assert "model-index" in card and "avsbench-robust" in card and "G-FPR" in card
        assert "Mask head of 16/8 channels instead of the original's 128/32." in card
        assert json.loads((model_dir / "config.json").read_text())["mask_head_channels"] == [16, 8]
        assert (output / "plots" / f"{name}.png").is_file()
    assert set(summary["checks"]) >= {"baseline_is_biased", "robust_removes_bias", "robust_keeps_positive_miou"}
    gate = summary["similarity_gate"]  # the calibrated gate, as the sigmoid threshold and the similarity
    assert gate["threshold"] == pytest.approx(float(torch.sigmoid(torch.tensor(gate["similarity"]))))
    table = (output / "results.md").read_text()
    assert all(description in table for _, description, _ in VARIANTS)
    assert not (output / "runs").exists() or not any((output / "runs").iterdir())


def test_rerun_reuses_finished_models(smoke_run):
    output, _ = smoke_run
    weights = {name: (output / "models" / name / "model.safetensors").stat().st_mtime_ns for name, _, _ in VARIANTS}
    assert main(["reproduce", "--size", "smoke", "--output-dir", str(output)]) == 0
    for name, mtime in weights.items():
        assert (output / "models" / name / "model.safetensors").stat().st_mtime_ns == mtime, name


def test_results_of_other_settings_are_not_reused(smoke_run, tmp_path):
    import dataclasses
    import shutil

    from modeling_avs.training.reproduce import SIZES, _finished

    output, _ = smoke_run
    scale = SIZES["smoke"]
    assert all(_finished(output, scale, 42, name) for name, _, _ in VARIANTS)
    assert not _finished(output, dataclasses.replace(scale, num_epochs=2), 42, "robust")
    assert not _finished(output, scale, 7, "robust")
    # Rewording a size's prose description is not a new setting.
    assert _finished(output, dataclasses.replace(scale, description="reworded"), 42, "robust")
    # A folder written by an older version of the command (no settings recorded) is trained again.
    copy = tmp_path / "models" / "robust"
    shutil.copytree(output / "models" / "robust", copy)
    training = json.loads((copy / "training.json").read_text())
    del training["settings"]
    (copy / "training.json").write_text(json.dumps(training))
    assert not _finished(tmp_path, scale, 42, "robust")


def test_without_worker_processes_the_variants_train_in_turn_with_the_same_results(
    smoke_run, tmp_path, monkeypatch, caplog
):
    """The sequential path (a platform without worker processes) gives the results of the three worker processes,
    and the checkpoints of a run with other settings are discarded instead of resumed."""
    import modeling_avs.training.reproduce as reproduction

    def unavailable(*args, **kwargs):
        raise OSError("no semaphores")

    monkeypatch.setattr(reproduction, "ProcessPoolExecutor", unavailable)
    stale = tmp_path / "runs" / "baseline"
    (stale / "checkpoint-1").mkdir(parents=True)  # resuming from this (empty) checkpoint would fail
    (stale / "settings.json").write_text(json.dumps({"seed": 0}))
    summary = reproduce(tmp_path, size="smoke", jobs=3, progress=False)
    assert "cannot start worker processes (no semaphores)" in caplog.text
    assert "discarding the checkpoints of a run with other settings" in caplog.text
    parallel = json.loads((smoke_run[0] / "results.json").read_text())
    for name in parallel["models"]:
        assert summary["models"][name]["results"] == parallel["models"][name]["results"], name
        assert summary["models"][name]["mean_similarity"] == parallel["models"][name]["mean_similarity"], name


def test_saved_model_loads_with_auto_classes(smoke_run):
    from transformers import AutoModel, AutoProcessor

    output, _ = smoke_run
    model = AutoModel.from_pretrained(output / "models" / "robust")
    processor = AutoProcessor.from_pretrained(output / "models" / "robust")
    gate = json.loads((output / "models" / "robust" / "eval_results_gated.json").read_text())["gate"]
    assert model.config.inference_gate_threshold == pytest.approx(gate["threshold"])  # the calibrated gate is saved
    card = (output / "models" / "robust" / "README.md").read_text()
    assert "inference_gate_threshold" in card and "masks not gated" not in card
    frames = [torch.zeros(3, 32, 32, dtype=torch.uint8)] * 5
    inputs = processor(images=frames, audio=torch.zeros(80000).numpy(), sampling_rate=16000)
    assert model(**inputs).logits.shape == (5, 1, 32, 32)


def _results(positive_miou, g_fpr):
    return {
        "protocol": "dataset",
        "conditions": {"positive": {"miou": positive_miou, "fscore": 0.5, "fpr": 0.1, "num_frames": 5}},
        "global": {"g_miou": 0.5, "g_f": 0.5, "g_fpr": g_fpr},
    }


def test_acceptance_checks_follow_the_rules():
    gated = _results(0.58, 0.004)
    gated["conditions"] |= {
        name: {"miou": 0.0, "fscore": 0.0, "fpr": fpr, "num_frames": 5}
        for name, fpr in (("silence", 0.0), ("noise", 0.008), ("offscreen", 0.004))
    }
    results = {
        "baseline": _results(0.60, 0.10),
        "negatives_only": _results(0.59, 0.02),
        "robust": _results(0.585, 0.03),  # the same model without its gate
        GATED_NAME: gated,
    }
    checks = acceptance_checks(results)
    assert checks["baseline_is_biased"]["passed"] and checks["robust_removes_bias"]["passed"]
    assert checks["robust_keeps_positive_miou"]["passed"] and not checks["negatives_only_removes_bias"]["passed"]
    assert not checks["ungated_robust_removes_bias"]["passed"]  # reported: the gate decides the required checks
    assert checks["gated_robust_silence_fpr"]["passed"] and not checks["gated_robust_noise_fpr"]["passed"]
    results[GATED_NAME] = gated | {
        "conditions": gated["conditions"] | {"positive": _results(0.55, 0)["conditions"]["positive"]}
    }
    assert not acceptance_checks(results)["robust_keeps_positive_miou"]["passed"]
    results[GATED_NAME] = gated | {"global": gated["global"] | {"g_fpr": 0.006}}
    assert not acceptance_checks(results)["robust_removes_bias"]["passed"]
    assert results_table({"a": results["baseline"], "b": results["robust"]}).count("\n| ") == 2


class ScoredFramesModel(torch.nn.Module):
    """Foreground everywhere; each frame's similarity is read from its first pixel (see `collate_scored`)."""

    def __init__(self):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, pixel_values, input_features):
        n, _, h, w = pixel_values.shape
        return types.SimpleNamespace(logits=torch.full((n, 1, h, w), 5.0), similarity=pixel_values[:, 0, 0, 0])


def scored_samples(scores: dict[str, list[float]]) -> list[dict]:
    """One sample per frame score, `{condition: [similarity, ...]}`, with a `conditions` attribute."""

    class Samples(list):
        conditions = tuple(scores)

    return Samples(
        {"video_id": "v", "condition": condition, "condition_id": index, "score": score, "pixel_values": [0]}
        for index, condition in enumerate(scores)
        for score in scores[condition]
    )


def collate_scored(items):
    n = len(items)
    return {
        "pixel_values": torch.tensor([item["score"] for item in items]).view(n, 1, 1, 1).expand(n, 3, 4, 4),
        "input_features": torch.zeros(n, 1, 96, 64),
        "condition_ids": torch.tensor([item["condition_id"] for item in items]),
        "reference_masks": torch.ones(n, 4, 4),
    }


def test_evaluation_gate_keeps_exactly_the_frames_scored_at_or_above_the_threshold():
    from modeling_avs.training.evaluation import evaluate_model

    # One frame per condition, every pixel foreground; sigmoid(0.3) = 0.574 and sigmoid(0.25) = 0.562 reach the
    # threshold sigmoid(0.25), sigmoid(0.2) = 0.550 and sigmoid(0.1) = 0.525 do not (raw similarities all would).
    samples = scored_samples({"positive": [0.3], "silence": [0.1], "noise": [0.25], "offscreen": [0.2]})
    threshold = float(torch.sigmoid(torch.tensor(0.25)))
    plain = evaluate_model(ScoredFramesModel(), samples, collate_scored, batch_size=3)
    gated = evaluate_model(ScoredFramesModel(), samples, collate_scored, batch_size=3, gate_threshold=threshold)
    fpr = {name: gated.results["conditions"][name]["fpr"] for name in samples.conditions}
    assert fpr == pytest.approx({"positive": 1.0, "silence": 0.0, "noise": 1.0, "offscreen": 0.0})
    assert all(plain.results["conditions"][name]["fpr"] == pytest.approx(1.0) for name in samples.conditions)


def test_unknown_size_is_a_cli_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "--size", "huge", "--output-dir", str(tmp_path)])
    assert "invalid choice" in capsys.readouterr().err


def test_jobs_below_one_is_an_error(tmp_path, capsys):
    assert main(["reproduce", "--size", "smoke", "--output-dir", str(tmp_path), "--jobs", "0"]) != 0
    assert "--jobs 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="jobs"):
        reproduce(tmp_path, size="smoke", jobs=0)


def test_gate_calibration_picks_the_best_g_miou_within_the_false_positive_budget():
    from modeling_avs.training.evaluation import calibrate_gate

    # Positives score 0.9 and 0.8; the negatives at most 0.3 (one noise frame), then 0.2, 0.1 and -0.5.
    samples = scored_samples(
        {"positive": [0.9, 0.8], "silence": [-0.5, -0.5], "noise": [0.3, 0.1], "offscreen": [0.2, -0.5]}
    )
    calibration = calibrate_gate(ScoredFramesModel(), samples, collate_scored, batch_size=3, max_g_fpr=0.0)
    # Gates at 0.8 and 0.9 keep every negative empty; 0.9 also empties the 0.8 positive, 0.8 keeps both.
    assert calibration.threshold == pytest.approx(float(torch.sigmoid(torch.tensor(0.8))))
    assert calibration.similarity == pytest.approx(0.8)
    similarities = [entry["similarity"] for entry in calibration.sweep]
    assert similarities == sorted(similarities)
    assert calibration.sweep[0]["g_fpr"] > 0
    # A looser budget also admits 0.3 (only the 0.3 noise frame passes: G-FPR 1/6), the lowest gate within it; the
    # calibration still picks 0.8, whose G-mIoU is higher, rather than the edge of the negatives' tail.
    loose = calibrate_gate(ScoredFramesModel(), samples, collate_scored, batch_size=3, max_g_fpr=0.2)
    admitted = [entry["similarity"] for entry in loose.sweep if entry["g_fpr"] <= 0.2]
    assert min(admitted) == pytest.approx(0.3)
    assert loose.similarity == pytest.approx(0.8)
    # No candidate within the budget: the one with the lowest G-FPR.
    impossible = calibrate_gate(ScoredFramesModel(), samples, collate_scored, batch_size=3, max_g_fpr=-1.0)
    assert min(entry["g_fpr"] for entry in impossible.sweep) == 0.0
    assert next(e for e in impossible.sweep if e["similarity"] == impossible.similarity)["g_fpr"] == 0.0


def test_encoder_pretraining_threads_are_restored():
    from modeling_avs.training.reproduce import _all_cores

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _all_cores():
            assert torch.get_num_threads() == len(os.sched_getaffinity(0))
        assert torch.get_num_threads() == 1
        with pytest.raises(RuntimeError), _all_cores():
            raise RuntimeError("pretraining failed")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
