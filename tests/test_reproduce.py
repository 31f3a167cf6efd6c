"""`avs-robust reproduce --size smoke`: every output is written in the results.json schema, a rerun reuses the finished
rows; the report's rules (verdicts, checks) and the evaluation's gate on hand-made numbers."""

import json
import math
import os
import types

import pytest
import torch

from modeling_avs.cli.main import main
from modeling_avs.data.schema import CONDITIONS
from modeling_avs.data.synthetic_unseen_audio import UNSEEN_SOUNDS
from modeling_avs.reproduction import ARCHITECTURES, HEADLINE, PAPER_VARIANTS, VARIANTS, reproduce, verdicts
from modeling_avs.reproduction.report import acceptance_checks
from modeling_avs.reproduction.variants import variant_recipe

EXPECTED_FILES = ("results.json", "results.md") + tuple(
    f"{figure}_{architecture}.png" for figure in ("bars", "pair_scores", "overlays") for architecture in ARCHITECTURES
)
ROW_FILES = ("model.safetensors", "config.json", "processor_config.json", "README.md", "eval_results.json")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """Both architectures' rows trained in two worker processes, with two real unseen clips."""
    output = tmp_path_factory.mktemp("reproduce")
    clips = tmp_path_factory.mktemp("clips")
    import soundfile

    for name, frequency in (("hum", 110.0), ("whistle", 2000.0)):
        tone = 0.1 * torch.sin(2 * math.pi * frequency * torch.arange(24000 * 2) / 24000).numpy()
        soundfile.write(clips / f"{name}.wav", tone, 24000)
    arguments = ["reproduce", "--size", "smoke", "--output-dir", str(output), "--jobs", "2"]
    code = main([*arguments, "--unseen-audio", str(clips)])
    return output, code, json.loads((output / "results.json").read_text())


def test_smoke_run_writes_every_output_in_the_schema(smoke_run):
    output, code, summary = smoke_run
    assert code == 0
    for name in EXPECTED_FILES:
        assert (output / name).stat().st_size > 0, name
    assert set(summary) >= {"architectures", "checks", "wall_time_s", "phases", "all_checks_passed"}
    assert set(summary["phases"]) == {"data_s", "encoder_pretraining_s", "training_s", "report_s"}
    unseen = [f"unseen:{name}" for name in UNSEEN_SOUNDS] + ["unseen:hum", "unseen:whistle"]
    assert summary["unseen_sounds"]["builtin"] + summary["unseen_sounds"]["real"] == unseen
    for architecture in ARCHITECTURES:
        entry = summary["architectures"][architecture]
        assert list(entry["variants"]) == [variant.name for variant in VARIANTS]
        for name, row in entry["variants"].items():
            variant = next(variant for variant in VARIANTS if variant.name == name)
            assert row["description"] == variant.description
            assert row["extension"] is variant.extension and row["gated"] is variant.gated
            results = row["results"]
            assert list(results["conditions"]) == [*CONDITIONS, *unseen]
            for scores in results["conditions"].values():
                assert set(scores) == {"miou", "f", "fpr"} and 0.0 <= scores["fpr"] <= 1.0
            assert set(results["global"]) == {"g_miou", "g_f", "g_fpr"}
            fprs = [results["conditions"][condition]["fpr"] for condition in CONDITIONS[1:]]
            assert results["global"]["g_fpr"] == pytest.approx(sum(fprs) / 3)  # the unseen sounds are apart
            assert results["unseen"]["num_conditions"] == len(unseen)
            folder = output / "models" / architecture / name
            for file in ROW_FILES:
                assert (folder / file).is_file(), f"{architecture}/{name}/{file}"
            assert (output / "plots" / architecture / f"{name}.png").is_file()
        assert set(entry["verdicts"]) == {"negatives_alone_leave_the_bias", "similarity_loss_empties_the_masks"}
        assert set(summary["checks"][architecture]) == {
            "baseline_is_biased",
            "ours_removes_bias",
            "ours_keeps_positive_miou",
        }
    gate = summary["architectures"]["avsbench"]["variants"]["robust_gated"]["gate"]
    assert gate["threshold"] == pytest.approx(float(torch.sigmoid(torch.tensor(gate["similarity"]))))
    table = (output / "results.md").read_text()
    assert "## AVSBench-TPAVI" in table and "## AVSegFormer" in table and "18.60" in table  # the paper's G-FPR
    assert table.count("**reproduced**") + table.count("**not reproduced**") == 4
    assert not any(path.is_file() for path in (output / "runs").rglob("*"))


def test_paper_rows_follow_each_architectures_official_training():
    from modeling_avs.reproduction import SIZES

    size = SIZES["small"]
    tpavi, avsegformer = (variant_recipe(architecture, size, "robust") for architecture in ARCHITECTURES)
    assert tpavi.optimizer == "adam" and tpavi.freeze_backbone_epochs == 0 and tpavi.model_type == "avsbench"
    assert avsegformer.optimizer == "adamw" and avsegformer.weight_decay == 0.01
    assert avsegformer.freeze_backbone_epochs == round(size.num_epochs / 6) > 0  # frozen first, then trained
    assert avsegformer.model_overrides["mix_loss_weight"] == 0.1
    for architecture in ARCHITECTURES:
        for name in PAPER_VARIANTS:
            recipe = variant_recipe(architecture, size, name)
            assert recipe.train_negative_conditions == ("silence", "offscreen")
            assert recipe.negative_ratio == (0.0 if name == "baseline" else 0.1)
            assert recipe.similarity_loss_weight == (1.0 if name == "robust" else 0.0)
            assert not recipe.model_overrides.get("presence_gating", False)
        ours = variant_recipe(architecture, size, HEADLINE)
        assert ours.model_overrides["presence_gating"] and "noise" in ours.train_negative_conditions


def test_rerun_reuses_finished_rows_and_other_settings_retrain(smoke_run, tmp_path):
    import dataclasses

    from modeling_avs.reproduction import SIZES
    from modeling_avs.reproduction.training import is_finished

    output, _, _ = smoke_run
    weights = {
        path: path.stat().st_mtime_ns for path in (output / "models").rglob("model.safetensors")
    }  # every row of both architectures
    assert main(["reproduce", "--size", "smoke", "--output-dir", str(output), "--architecture", "avsegformer"]) == 0
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in weights.items())
    summary = json.loads((output / "results.json").read_text())
    assert list(summary["architectures"]) == ["avsegformer"]  # --architecture
    scale = SIZES["smoke"]
    assert is_finished(output, scale, 42, "avsbench", "robust")
    assert not is_finished(output, dataclasses.replace(scale, num_epochs=2), 42, "avsbench", "robust")
    assert not is_finished(output, scale, 7, "avsbench", "robust")
    assert is_finished(output, dataclasses.replace(scale, description="reworded"), 42, "avsbench", "robust")


def test_without_worker_processes_the_rows_train_in_turn_with_the_same_results(
    smoke_run, tmp_path, monkeypatch, caplog
):
    """The sequential path (a platform without worker processes) gives the worker processes' results, and the
    checkpoints of a run with other settings are discarded instead of resumed."""
    import modeling_avs.reproduction.runner as runner

    def unavailable(*args, **kwargs):
        raise OSError("no semaphores")

    monkeypatch.setattr(runner, "ProcessPoolExecutor", unavailable)
    stale = tmp_path / "runs" / "avsbench" / "baseline"
    (stale / "checkpoint-1").mkdir(parents=True)  # resuming from this (empty) checkpoint would fail
    (stale / "settings.json").write_text(json.dumps({"seed": 0}))
    summary = reproduce(tmp_path, size="smoke", architectures=("avsbench",), jobs=2, progress=False)
    assert "cannot start worker processes (no semaphores)" in caplog.text
    assert "discarding the checkpoints of a run with other settings" in caplog.text
    parallel = smoke_run[2]["architectures"]["avsbench"]["variants"]
    for name, row in summary["architectures"]["avsbench"]["variants"].items():
        standard = {condition: row["results"]["conditions"][condition] for condition in CONDITIONS}
        expected = {condition: parallel[name]["results"]["conditions"][condition] for condition in CONDITIONS}
        assert standard == expected, name


def test_saved_rows_load_with_auto_classes(smoke_run):
    from transformers import AutoModel, AutoProcessor

    output, _, _ = smoke_run
    gated = output / "models" / "avsbench" / "robust_gated"
    model = AutoModel.from_pretrained(gated)
    gate = json.loads((gated / "eval_results.json").read_text())["gate"]
    assert model.config.inference_gate_threshold == pytest.approx(gate["threshold"])  # the calibrated gate is saved
    assert "inference_gate_threshold" in (gated / "README.md").read_text()
    ours = AutoModel.from_pretrained(output / "models" / "avsegformer" / "ours")
    assert ours.config.presence_gating and ours.config.inference_gate_threshold is None
    processor = AutoProcessor.from_pretrained(output / "models" / "avsegformer" / "ours")
    frames = [torch.zeros(3, 32, 32, dtype=torch.uint8)] * 5
    inputs = processor(images=frames, audio=torch.zeros(80000).numpy(), sampling_rate=16000)
    assert ours(**inputs).logits.shape == (5, 1, 32, 32)


def _rows(**g_fpr) -> dict[str, dict]:
    return {name: {"global": {"g_fpr": value}} for name, value in g_fpr.items()}


def test_verdicts_state_each_claim_from_the_g_fpr():
    # The paper's TPAVI rows satisfy both claims.
    result = verdicts("avsbench", {"baseline": 0.186, "negatives_only": 0.189, "robust": 0.0})
    assert all(verdict["reproduced"] and verdict["paper_holds"] for verdict in result.values())
    # (b) keeps 40 % of (a)'s bias (< 50 %): the first claim fails; (c) at 0.6 % is not empty.
    result = verdicts("avsegformer", {"baseline": 0.10, "negatives_only": 0.04, "robust": 0.006})
    assert not result["negatives_alone_leave_the_bias"]["reproduced"]
    assert result["negatives_alone_leave_the_bias"]["paper_holds"] is None  # no (b) row for AVSegFormer
    assert not result["similarity_loss_empties_the_masks"]["reproduced"]
    assert verdicts("avsegformer", {"baseline": 0.1, "negatives_only": 0.05, "robust": 0.005})[
        "negatives_alone_leave_the_bias"
    ]["reproduced"]  # exactly half: kept


def _schema(positive_miou: float, g_fpr: float) -> dict:
    return {"conditions": {"positive": {"miou": positive_miou, "f": 0.5, "fpr": 0.1}}, "global": {"g_fpr": g_fpr}}


def test_acceptance_checks_follow_the_rules():
    checks = acceptance_checks({"baseline": _schema(0.60, 0.10), HEADLINE: _schema(0.575, 0.004)})
    assert all(check["passed"] and check["required"] for check in checks.values())
    assert checks["ours_keeps_positive_miou"]["value"] == pytest.approx(0.025)
    checks = acceptance_checks({"baseline": _schema(0.60, 0.049), HEADLINE: _schema(0.565, 0.006)})
    assert not any(check["passed"] for check in checks.values())


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
    unseen = scored_samples({"unseen:clock": [0.26, 0.24]})
    threshold = float(torch.sigmoid(torch.tensor(0.25)))
    sources = [(samples, collate_scored), (unseen, collate_scored)]
    plain = evaluate_model(ScoredFramesModel(), sources, batch_size=3)
    gated = evaluate_model(ScoredFramesModel(), sources, batch_size=3, gate_threshold=threshold)
    fpr = {name: gated.results["conditions"][name]["fpr"] for name in [*samples.conditions, *unseen.conditions]}
    assert fpr == pytest.approx({"positive": 1.0, "silence": 0.0, "noise": 1.0, "offscreen": 0.0, "unseen:clock": 0.5})
    assert gated.results["global"]["g_fpr"] == pytest.approx(1 / 3)  # the unseen clip is not among the negatives
    assert all(plain.results["conditions"][name]["fpr"] == pytest.approx(1.0) for name in samples.conditions)
    assert gated.similarities["unseen:clock"] == pytest.approx([0.26, 0.24])
    with pytest.raises(ValueError, match="more than one source"):
        evaluate_model(ScoredFramesModel(), [sources[0], sources[0]], batch_size=3)


def test_unknown_size_or_architecture_is_a_cli_error(tmp_path, capsys):
    for option, value in (("--size", "huge"), ("--architecture", "unet")):
        with pytest.raises(SystemExit):
            main(["reproduce", option, value, "--output-dir", str(tmp_path)])
        assert "invalid choice" in capsys.readouterr().err


def test_jobs_below_one_is_an_error(tmp_path, capsys):
    assert main(["reproduce", "--size", "smoke", "--output-dir", str(tmp_path), "--jobs", "0"]) != 0
    assert "--jobs 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="jobs"):
        reproduce(tmp_path, size="smoke", jobs=0)
    with pytest.raises(ValueError, match="architectures"):
        reproduce(tmp_path, size="smoke", architectures=("unet",))


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
    # A looser budget also admits 0.3 (only the 0.3 noise frame passes: noise FPR 1/2, G-FPR 1/6), the lowest gate
    # within it; the calibration still picks 0.8, whose G-mIoU is higher, rather than the edge of the negatives' tail.
    loose = calibrate_gate(ScoredFramesModel(), samples, collate_scored, batch_size=3, max_g_fpr=0.2)
    admitted = [entry["similarity"] for entry in loose.sweep if entry["g_fpr"] <= 0.2]
    assert min(admitted) == pytest.approx(0.3)
    assert loose.similarity == pytest.approx(0.8)
    # No candidate within the budget: the one with the lowest G-FPR.
    impossible = calibrate_gate(ScoredFramesModel(), samples, collate_scored, batch_size=3, max_g_fpr=-1.0)
    assert min(entry["g_fpr"] for entry in impossible.sweep) == 0.0
    assert next(e for e in impossible.sweep if e["similarity"] == impossible.similarity)["g_fpr"] == 0.0


def test_encoder_pretraining_threads_are_restored():
    from modeling_avs.reproduction.encoders import all_cores

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with all_cores():
            assert torch.get_num_threads() == len(os.sched_getaffinity(0))
        assert torch.get_num_threads() == 1
        with pytest.raises(RuntimeError), all_cores():
            raise RuntimeError("pretraining failed")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_seed_summary_gives_mean_and_spread_of_every_table_number(smoke_run):
    import copy

    from modeling_avs.reproduction.seeds import seed_summary

    first = smoke_run[2]
    second = copy.deepcopy(first)
    second["seed"] = 7
    positive = second["architectures"]["avsbench"]["variants"]["ours"]["results"]["conditions"]["positive"]
    original = positive["miou"]
    positive["miou"] = original + 0.02
    summary = seed_summary([first, second])
    assert summary.startswith("Seeds 42, 7")
    ours = next(line for line in summary.splitlines() if line.startswith("| ours"))
    mean, spread = 100 * (original + 0.01), 100 * 0.02 / math.sqrt(2)
    assert ours.split(" | ")[1] == f"{mean:.2f} ± {spread:.2f}"
    assert "## AVSegFormer" in summary and "| avsbench.ours_removes_bias |" in summary
