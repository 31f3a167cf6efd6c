"""The `robust_avs` evaluate module loads offline from the package and agrees with the evaluator."""

from pathlib import Path

import evaluate
import numpy as np
import pytest
import torch
import yaml
from avsbench_reference_metrics import TABLE2_S4_G_MIOU, TABLE2_S4_MIOU, table2_s4_frames

from modeling_avs.metrics import RobustAVSEvaluator, evaluate_module_path
from modeling_avs.model_cards import render_card


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
    evaluator = RobustAVSEvaluator(protocol=protocol)
    for logit, mask, condition, video_id in zip(logits, masks, conditions, video_ids):
        evaluator.update(torch.from_numpy(logit)[None], torch.from_numpy(mask)[None], condition, [video_id])
    assert results == evaluator.compute()
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


def test_module_folder_and_its_card_make_a_space():
    folder = Path(evaluate_module_path()).parent
    card = render_card("metric_card.md.jinja")
    header = yaml.safe_load(card.split("---")[1])
    assert header["sdk"] == "gradio" and header["app_file"] == "app.py"
    assert {"evaluate", "metric"} <= set(header["tags"])
    assert (folder / "app.py").is_file()
    requirements = (folder / "requirements.txt").read_text().split()
    assert any(line.startswith("evaluate") for line in requirements)
    assert "modeling-avs" in requirements
    module_imports = [
        line for line in (folder / "robust_avs.py").read_text().splitlines() if line.startswith("import")
    ]
    assert all("," not in line for line in module_imports)  # evaluate's dependency scanner misreads "import a, b"
