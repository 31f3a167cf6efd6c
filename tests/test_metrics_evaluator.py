"""RobustAVSEvaluator: streaming in any chunking, condition handling, reports and Trainer integration."""

import math

import pytest
import torch
from avsbench_reference_metrics import (
    TABLE2_S4_G_MIOU,
    TABLE2_S4_MIOU,
    g_metric,
    legacy_condition_scores,
    table2_s4_frames,
)

from modeling_avs.metrics import RobustAVSEvaluator, flatten_results


def make_frames(num_videos, seed, size=(8, 10)):
    """Per condition: logits [V*5, H, W], masks [V*5, H, W] and video ids (the same videos in every condition)."""
    generator = torch.Generator().manual_seed(seed)
    masks = torch.rand(num_videos * 5, *size, generator=generator) > 0.65
    masks[3] = False  # one frame without object
    frames = {}
    for shift, name in enumerate(["positive", "silence", "noise", "offscreen"]):
        bias = 2.5 if name == "positive" else 1.0 - shift * 0.5
        logits = torch.randn(num_videos * 5, *size, generator=generator) * 2 + masks * bias - 0.5
        frames[name] = logits
    video_ids = [f"video{v}" for v in range(num_videos) for _ in range(5)]
    return frames, masks, video_ids


def interleaved_stream(frames, masks, video_ids, chunk):
    """Yield (logits, masks, condition names, video ids) chunks mixing conditions frame by frame."""
    order = [(name, i) for i in range(len(masks)) for name in frames]
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        yield (
            torch.stack([frames[name][i] for name, i in part]),
            torch.stack([masks[i] for _, i in part]),
            [name for name, _ in part],
            [video_ids[i] for _, i in part],
        )


@pytest.mark.parametrize("protocol", ["dataset", "legacy"])
def test_streaming_is_independent_of_chunking(protocol):
    frames, masks, video_ids = make_frames(4, seed=0)
    results = []
    for chunk in [1, 3, 7, 80]:
        evaluator = RobustAVSEvaluator(protocol=protocol, legacy_batch_videos=2)
        for logits, mask, names, ids in interleaved_stream(frames, masks, video_ids, chunk):
            evaluator.update(logits[:, None], mask, names, ids)
        results.append(evaluator.compute())
    assert all(result == results[0] for result in results[1:])
    assert list(results[0]["conditions"]) == ["positive", "silence", "noise", "offscreen"]
    assert results[0]["conditions"]["noise"]["num_frames"] == 20


def test_legacy_against_reference_and_video_boundaries():
    frames, masks, video_ids = make_frames(3, seed=1)
    with_ids = RobustAVSEvaluator(protocol="legacy", legacy_batch_videos=2)
    without_ids = RobustAVSEvaluator(protocol="legacy", legacy_batch_videos=2, frames_per_video=5)
    for name, logits in frames.items():
        with_ids.update(logits, masks, name, video_ids)
        without_ids.update(logits[:7], masks[:7], name)  # frames_per_video splits videos across updates
        without_ids.update(logits[7:], masks[7:], name)
    results = with_ids.compute()
    assert results == without_ids.compute()
    assert results["protocol"] == "legacy" and results["legacy_batch_videos"] == 2
    expected = {}
    for name, logits in frames.items():
        p = torch.sigmoid(logits)
        expected[name] = legacy_condition_scores([(p[:10], masks[:10]), (p[10:], masks[10:])])  # 2 + 1 videos
        for key, value in expected[name].items():
            assert results["conditions"][name][key] == pytest.approx(value, abs=1e-6)
    negatives = [expected[name]["miou"] for name in ["silence", "noise", "offscreen"]]
    assert results["global"]["g_miou"] == pytest.approx(g_metric(expected["positive"]["miou"], negatives), abs=1e-6)


def test_condition_order_extras_and_integer_ids():
    frames, masks, _ = make_frames(1, seed=2)
    evaluator = RobustAVSEvaluator(condition_names=["unseen:dog", "noise", "positive"])
    evaluator.update(frames["noise"], masks, torch.tensor([0, 1, 2, 0, 1]))
    evaluator.update(frames["positive"], masks, "unseen:cat")
    evaluator.update(frames["positive"], masks, ["positive"] * 5)
    assert list(evaluator.compute()["conditions"]) == ["positive", "noise", "unseen:dog", "unseen:cat"]
    assert evaluator.num_frames == 15
    assert evaluator.memory_bytes == 4 * 64 * (2 * 255 * 4 + 5 * 8)  # 4 conditions, minimal buffers of 64 frames
    evaluator.reset()
    assert evaluator.num_frames == 0 and evaluator.memory_bytes == 0


def test_global_metrics_are_the_table2_means_and_unseen_clips_are_apart():
    """The AVSBench S4 row of Table 2 (data_and_metrics.md §3.5) streamed with unequal frame counts per condition
    and unseen clips: G-mIoU 35.035, G-FPR the mean of the three conditions' FPR, unseen clips summarised apart."""
    counts = {"positive": 10, "silence": 5, "offscreen": 15, "noise": 10, "unseen:clock": 5, "unseen:waves": 10}
    frames = table2_s4_frames(counts)
    evaluator = RobustAVSEvaluator(input_type="binary")
    for name, (predictions, masks) in frames.items():
        for start in range(0, counts[name], 5):  # one video per update
            evaluator.update(predictions[start : start + 5], masks[start : start + 5], name)
    results = evaluator.compute()
    negatives = [TABLE2_S4_MIOU[name] for name in ("silence", "noise", "offscreen")]
    assert results["global"]["g_miou"] == pytest.approx(TABLE2_S4_G_MIOU, abs=5e-6)
    assert results["global"]["g_miou"] == pytest.approx(g_metric(0.787, negatives), abs=1e-6)
    assert results["global"]["g_fpr"] == pytest.approx(sum(negatives) / 6, abs=1e-6)
    assert results["global_negatives"] == ["silence", "noise", "offscreen"]
    assert results["unseen"]["num_conditions"] == 2 and results["unseen"]["fpr"] == pytest.approx(1.0)
    assert list(results["conditions"]) == ["positive", "silence", "noise", "offscreen", "unseen:clock", "unseen:waves"]
    flat = flatten_results(results)
    assert flat["unseen_fpr"] == pytest.approx(1.0) and flat["unseen_num_conditions"] == 2.0
    assert flat["g_fpr"] == results["global"]["g_fpr"] and flat["unseen:waves_num_frames"] == 10.0


def test_memory_is_about_2_kb_per_frame_whatever_the_frame_size():
    evaluator = RobustAVSEvaluator()
    for _ in range(13):
        evaluator.update(torch.zeros(10, 64, 48), torch.zeros(10, 64, 48), "noise")
    assert evaluator.num_frames == 130
    assert evaluator.memory_bytes == 256 * (2 * 255 * 4 + 5 * 8)  # buffers of 64 frames doubled twice


def test_bad_arguments():
    frames, masks, ids = make_frames(1, seed=3)
    with pytest.raises(ValueError, match="condition_names"):
        RobustAVSEvaluator().update(frames["noise"], masks, [0] * 5)
    with pytest.raises(ValueError, match="outside condition_names"):
        RobustAVSEvaluator(condition_names=["positive"]).update(frames["noise"], masks, [1] * 5)
    with pytest.raises(ValueError, match="entries for 5 frames"):
        RobustAVSEvaluator().update(frames["noise"], masks, ["noise"] * 4)
    evaluator = RobustAVSEvaluator()
    evaluator.update(frames["noise"], masks, "noise", ids)
    with pytest.raises(ValueError, match="video_ids"):
        evaluator.update(frames["noise"], masks, "noise")
    for kwargs in [{"protocol": "video"}, {"input_type": "scores"}, {"legacy_batch_videos": 0}]:
        with pytest.raises(ValueError):
            RobustAVSEvaluator(**kwargs)


def test_markdown_and_plot(tmp_path):
    frames, masks, _ = make_frames(2, seed=4)
    evaluator = RobustAVSEvaluator()
    for name, logits in frames.items():
        evaluator.update(logits, masks, name)
    results = evaluator.compute()
    table = evaluator.to_markdown(results, method="TPAVI")
    header, _, row = table.splitlines()[:3]
    assert header.startswith("| Method | Positive mIoU ↑ | Positive F ↑ | Silence mIoU ↓")
    assert header.count("|") == row.count("|") == 1 + (1 + 2 + 3 * 3 + 3)  # method, positive, 3 negatives, global
    assert f"{100 * results['global']['g_miou']:.2f}" in row and row.startswith("| TPAVI |")
    assert "Protocol: dataset" in table
    evaluator.plot(tmp_path / "bars.png")
    assert (tmp_path / "bars.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [path.name for path in tmp_path.iterdir()] == ["bars.png"]  # written atomically, no temporary left


def test_compute_metrics_accumulates_and_resets():
    from transformers import EvalPrediction

    frames, masks, _ = make_frames(2, seed=5)
    names = ["positive", "silence", "noise", "offscreen"]
    logits = torch.cat([frames[name] for name in names])[:, None]
    labels = masks.repeat(4, 1, 1)
    ids = torch.arange(4).repeat_interleave(10)
    evaluator = RobustAVSEvaluator(condition_names=names)
    for start in [0, 16]:
        stop = start + 16
        part = EvalPrediction(predictions=(logits[start:stop],), label_ids=(labels[start:stop], ids[start:stop]))
        assert evaluator.compute_metrics(part, compute_result=False) == {}
    last = EvalPrediction(predictions=logits[32:], label_ids=(labels[32:], ids[32:]))
    metrics = evaluator.compute_metrics(last, compute_result=True)
    direct = RobustAVSEvaluator(condition_names=names)
    direct.update(logits, labels, ids)
    assert metrics == flatten_results(direct.compute())
    assert {"g_miou", "g_f", "g_fpr", "positive_miou", "silence_fpr", "offscreen_num_frames"} <= set(metrics)
    assert not any(key.startswith("unseen") for key in metrics)  # no unseen condition, no unseen summary
    assert all(isinstance(value, float) for value in metrics.values())
    assert evaluator.num_frames == 0
    with pytest.raises(ValueError, match="label_ids"):
        evaluator.compute_metrics(EvalPrediction(predictions=logits, label_ids=labels), compute_result=True)


def test_compute_metrics_gates_the_frames_scored_below_the_threshold():
    from transformers import EvalPrediction

    # Every pixel predicted foreground; correspondence scores on both sides of 0.55, one exactly at it (kept).
    similarity = torch.logit(torch.tensor([0.6, 0.5, 0.56, 0.54]))
    threshold = float(torch.sigmoid(similarity[2]))
    logits = torch.full((4, 1, 4, 4), 5.0)
    prediction = EvalPrediction(predictions=(logits, similarity), label_ids=(torch.ones(4, 4, 4), torch.arange(4)))
    names = ["positive", "silence", "noise", "offscreen"]
    metrics = RobustAVSEvaluator(condition_names=names, gate_threshold=threshold).compute_metrics(prediction, True)
    assert [metrics[f"{name}_fpr"] for name in names] == pytest.approx([1.0, 0.0, 1.0, 0.0])
    ungated = RobustAVSEvaluator(condition_names=names).compute_metrics(prediction, True)
    assert [ungated[f"{name}_fpr"] for name in names] == pytest.approx([1.0, 1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="logits, similarity"):
        RobustAVSEvaluator(condition_names=names, gate_threshold=0.5).compute_metrics(
            EvalPrediction(predictions=logits, label_ids=(torch.ones(4, 4, 4), torch.arange(4))), True
        )


class TinySegmenter(torch.nn.Module):
    """A 1x1 convolution from an image to mask logits, with a BCE loss."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 1, 1)

    def forward(self, pixel_values, labels=None, condition_ids=None):
        logits = self.conv(pixel_values)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], labels.float())
        return {"loss": loss, "logits": logits}


def test_trainer_with_batch_eval_metrics(tmp_path):
    from transformers import Trainer, TrainingArguments

    generator = torch.Generator().manual_seed(6)
    rows = [
        {
            "pixel_values": torch.randn(3, 6, 6, generator=generator),
            "labels": (torch.rand(6, 6, generator=generator) > 0.5).long(),
            "condition_ids": torch.tensor(i % 3),
        }
        for i in range(10)
    ]
    evaluator = RobustAVSEvaluator(condition_names=["positive", "silence", "noise"])
    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_eval_batch_size=4,
        batch_eval_metrics=True,
        label_names=["labels", "condition_ids"],
        report_to=[],
        use_cpu=True,
    )
    model = TinySegmenter()
    trainer = Trainer(model=model, args=args, eval_dataset=rows, compute_metrics=evaluator.compute_metrics)
    metrics = trainer.evaluate()
    direct = RobustAVSEvaluator(condition_names=["positive", "silence", "noise"])
    with torch.no_grad():
        logits = model(torch.stack([row["pixel_values"] for row in rows]), torch.stack([r["labels"] for r in rows]))
    direct.update(logits["logits"], torch.stack([r["labels"] for r in rows]), [r["condition_ids"] for r in rows])
    expected = flatten_results(direct.compute())
    assert metrics["eval_positive_num_frames"] == 4 and metrics["eval_noise_num_frames"] == 3
    for key, value in expected.items():
        assert math.isclose(metrics[f"eval_{key}"], value, rel_tol=1e-5, abs_tol=1e-6), key
