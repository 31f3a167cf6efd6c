"""The `robust_avs` evaluate module: loads offline from the package, agrees with the evaluator, and exports as a
standalone folder (metric repository + Space) that loads without modeling_avs and gives the same numbers."""

import ast
import json
import sys

import evaluate
import numpy as np
import pytest
import torch
import yaml
from avsbench_reference_metrics import TABLE2_S4_G_MIOU, TABLE2_S4_MIOU, table2_s4_frames
from without_package import run_without_package

from modeling_avs.cli.main import main
from modeling_avs.metrics import RobustAVSEvaluator, evaluate_module_path
from modeling_avs.metrics.evaluate_module import REQUIREMENTS


@pytest.fixture(scope="module")
def robust_avs():
    return evaluate.load(evaluate_module_path())


def frames(seed):
    rng = np.random.default_rng(seed)
    masks = [rng.random((5, 6)) > 0.6 for _ in range(8)]
    logits = [rng.normal(size=(5, 6)).astype(np.float32) * 2 + m * 1.5 for m in masks]
    conditions = ["positive"] * 4 + ["silence"] * 2 + ["noise"] * 2
    video_ids = ["a", "a", "b", "b", "a", "b", "a", "b"]
    return logits, masks, conditions, video_ids


@pytest.mark.parametrize("protocol", ["dataset", "legacy"])
def test_compute_matches_evaluator(robust_avs, protocol):
    logits, masks, conditions, video_ids = frames(0)
    results = robust_avs.compute(
        predictions=logits,
        references=masks,
        conditions=conditions,
        video_ids=video_ids,
        protocol=protocol,
        input_type="logits",
    )
    assert results == evaluator_results(logits, masks, conditions, video_ids, protocol)
    assert results["protocol"] == protocol


def test_add_batch_and_docstring_example(robust_avs):
    logits, masks, conditions, _ = frames(1)
    robust_avs.add_batch(predictions=logits[:3], references=masks[:3], conditions=conditions[:3])
    robust_avs.add_batch(predictions=logits[3:], references=masks[3:], conditions=conditions[3:])
    batched = robust_avs.compute(input_type="logits")
    assert batched == robust_avs.compute(predictions=logits, references=masks, conditions=conditions)
    mask = np.zeros((4, 4), dtype=np.float32)
    mask[1:3, 1:3] = 1
    results = robust_avs.compute(
        predictions=[mask, np.zeros_like(mask)],
        references=[mask, mask],
        conditions=["positive", "silence"],
        input_type="binary",
    )
    assert round(results["global"]["g_miou"], 4) == 1.0 and results["conditions"]["silence"]["miou"] == 0.0


def test_table2_s4_row_with_unequal_frame_counts_and_an_unseen_clip(robust_avs):
    """data_and_metrics.md §3.5: G-mIoU 35.035 from the condition means, whatever the frames per condition; the
    unseen clip (every pixel predicted) is reported apart and left out of the G-metrics."""
    counts = {"positive": 3, "silence": 1, "noise": 4, "offscreen": 2, "unseen:frog": 3}
    frames = table2_s4_frames(counts)
    predictions = [frame.numpy() for p, _ in frames.values() for frame in p]
    references = [frame.numpy() for _, m in frames.values() for frame in m]
    conditions = [name for name, count in counts.items() for _ in range(count)]
    results = robust_avs.compute(
        predictions=predictions, references=references, conditions=conditions, input_type="binary"
    )
    negatives = [TABLE2_S4_MIOU[name] for name in ("silence", "noise", "offscreen")]
    assert results["global"]["g_miou"] == pytest.approx(TABLE2_S4_G_MIOU, abs=5e-6)
    assert results["global"]["g_fpr"] == pytest.approx(sum(negatives) / 6, abs=1e-6)
    assert results["global_negatives"] == ["silence", "noise", "offscreen"]
    assert results["unseen"]["num_conditions"] == 1
    assert results["unseen"]["fpr"] == pytest.approx(results["conditions"]["unseen:frog"]["fpr"]) == 1.0


def evaluator_results(logits, masks, conditions, video_ids, protocol):
    evaluator = RobustAVSEvaluator(protocol=protocol)
    for logit, mask, condition, video_id in zip(logits, masks, conditions, video_ids):
        evaluator.update(torch.from_numpy(logit)[None], torch.from_numpy(mask)[None], condition, [video_id])
    return evaluator.compute()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("metric_export") / "robust_avs"
    assert main(["export-metric", "--output", str(folder)]) == 0
    return folder


def test_exported_folder_is_a_metric_repository_and_a_space(exported):
    assert (exported / "robust_avs.py").is_file() and (exported / "evaluator.py").is_file()
    header = yaml.safe_load((exported / "README.md").read_text().split("---")[1])
    assert header["sdk"] == "gradio" and header["app_file"] == "app.py"
    assert {"evaluate", "metric"} <= set(header["tags"])
    assert 'with_name("robust_avs.py")' in (exported / "app.py").read_text()
    assert 'evaluate.load("path/to/robust_avs")' in (exported / "README.md").read_text()
    requirements = (exported / "requirements.txt").read_text().split()
    assert requirements == list(REQUIREMENTS) and not any("modeling" in line for line in requirements)
    script_imports = [
        line for line in (exported / "robust_avs.py").read_text().splitlines() if line.startswith("import")
    ]
    assert all("," not in line for line in script_imports)  # evaluate's dependency scanner misreads "import a, b"


def test_requirements_cover_what_the_exported_files_import_at_load_time(exported):
    """Module-level imports only: what `evaluate.load` runs (imports inside functions are not exported)."""
    required = {line.split(">")[0].split("=")[0] for line in REQUIREMENTS}
    local = {path.stem for path in exported.glob("*.py")}
    for path in exported.glob("*.py"):
        if path.name == "app.py":
            continue
        for node in ast.parse(path.read_text()).body:
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in required | local | sys.stdlib_module_names, (path.name, name)


def test_exported_metric_gives_the_evaluator_numbers_without_the_package(exported, tmp_path):
    logits, masks, _, video_ids = frames(3)
    conditions = ["positive"] * 4 + ["silence", "noise", "offscreen", "unseen:rain"]
    np.savez(tmp_path / "frames.npz", logits=np.stack(logits), masks=np.stack(masks).astype(np.float32))
    (tmp_path / "labels.json").write_text(json.dumps({"conditions": conditions, "video_ids": video_ids}))
    output = run_without_package(
        """
        import json, sys
        import evaluate
        import numpy as np

        metric = evaluate.load(sys.argv[1])
        data = np.load("frames.npz")
        labels = json.load(open("labels.json"))
        results = {
            protocol: metric.compute(
                predictions=list(data["logits"]), references=list(data["masks"]), conditions=labels["conditions"],
                video_ids=labels["video_ids"], protocol=protocol,
            )
            for protocol in ("dataset", "legacy")
        }
        print(json.dumps(results))
        """,
        tmp_path,
        str(exported),
    )
    remote = json.loads(output.strip().splitlines()[-1])
    for protocol in ("dataset", "legacy"):
        expected = evaluator_results(logits, masks, conditions, video_ids, protocol)
        assert json.dumps(remote[protocol], sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_export_metric_refuses_a_folder_name_that_cannot_name_the_script(tmp_path, capsys):
    assert main(["export-metric", "--output", str(tmp_path / "my metric")]) == 2
    assert "must be letters, digits" in capsys.readouterr().err
    assert main(["export-metric", "--output", str(tmp_path / "evaluator")]) == 2
    assert not (tmp_path / "evaluator").exists()


def test_pushing_offline_fails_before_writing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    assert main(["export-metric", "--output", str(tmp_path / "robust_avs"), "--push-to-hub", "me/robust_avs"]) == 2
    assert "offline mode" in capsys.readouterr().err
    assert not (tmp_path / "robust_avs").exists()
