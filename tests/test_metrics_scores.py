"""Scores from statistics against the literal reference: both protocols, batch sizes, empty ground truths."""

import math

import pytest
import torch
from avsbench_reference_metrics import (
    TABLE2_S4_G_MIOU,
    TABLE2_S4_MIOU,
    dataset_condition_scores,
    g_metric,
    legacy_condition_scores,
    table2_s4_frames,
)

from modeling_avs.metrics import compute_frame_statistics, condition_scores, g_score, robust_scores


def random_frames(num_frames, height, width, seed, empty_every=0):
    """Logits and masks with blob-like objects; every `empty_every`-th frame gets an empty ground truth."""
    generator = torch.Generator().manual_seed(seed)
    masks = torch.rand(num_frames, height, width, generator=generator) > 0.7
    if empty_every:
        masks[::empty_every] = False
    logits = torch.randn(num_frames, height, width, generator=generator) * 2 + masks * 2.5 - 1
    return logits, masks


def assert_scores_close(actual, expected):
    for key, value in expected.items():
        if math.isnan(value):
            assert math.isnan(actual[key]), key
        else:
            assert actual[key] == pytest.approx(value, abs=1e-6), key


@pytest.mark.parametrize("frames_per_batch", [1, 5, 20])
def test_legacy_protocol_matches_the_per_batch_reference(frames_per_batch):
    logits, masks = random_frames(25, 9, 13, seed=frames_per_batch, empty_every=4)
    masks[15:20] = False  # a whole batch of 5 frames without any object: F = 0 still counts
    probabilities = torch.sigmoid(logits)
    batches = [
        (probabilities[i : i + frames_per_batch], masks[i : i + frames_per_batch])
        for i in range(0, 25, frames_per_batch)
    ]
    statistics = compute_frame_statistics(logits, masks)
    batch_index = torch.arange(25) // frames_per_batch
    scores = condition_scores(statistics, "legacy", batch_index)
    assert scores["num_frames"] == 25
    assert_scores_close(scores, legacy_condition_scores(batches))


def test_dataset_protocol_matches_the_all_frames_reference():
    logits, masks = random_frames(12, 11, 8, seed=7, empty_every=3)
    scores = condition_scores(compute_frame_statistics(logits, masks), "dataset")
    assert_scores_close(scores, dataset_condition_scores(torch.sigmoid(logits), masks))


def test_protocols_differ_and_dataset_is_batch_independent():
    logits, masks = random_frames(20, 10, 10, seed=11)
    statistics = compute_frame_statistics(logits, masks)
    legacy = condition_scores(statistics, "legacy", torch.arange(20) // 5)
    dataset = condition_scores(statistics, "dataset")
    assert legacy["fscore"] > dataset["fscore"]  # per-batch threshold optimisation is an oracle
    assert legacy["miou"] == pytest.approx(dataset["miou"])  # equal batches: same mean IoU


@pytest.mark.parametrize("input_type", ["probabilities", "binary"])
def test_probabilities_and_binary_inputs_match_the_reference(input_type):
    logits, masks = random_frames(6, 7, 9, seed=5, empty_every=2)
    probabilities = torch.sigmoid(logits)
    predictions = probabilities if input_type == "probabilities" else (probabilities > 0.5)
    reference_input = predictions.float()
    scores = condition_scores(compute_frame_statistics(predictions, masks, input_type), "legacy", torch.arange(6) // 2)
    batches = [(reference_input[i : i + 2], masks[i : i + 2]) for i in range(0, 6, 2)]
    assert_scores_close(scores, legacy_condition_scores(batches))


def test_empty_predictions_and_empty_ground_truths():
    empty = torch.zeros(3, 6, 6)
    masks = torch.zeros(3, 6, 6, dtype=torch.bool)
    masks[1, 2:4, 2:4] = True
    scores = condition_scores(compute_frame_statistics(empty, masks, "binary"), "dataset")
    # frames 0 and 2: empty GT and empty prediction score IoU 1; frame 1 scores 0
    assert scores["miou"] == pytest.approx(2 / 3) and scores["fpr"] == 0
    assert_scores_close(scores, dataset_condition_scores(empty, masks))
    no_objects = condition_scores(compute_frame_statistics(empty, torch.zeros(3, 6, 6), "binary"), "dataset")
    assert math.isnan(no_objects["fscore"]) and no_objects["miou"] == pytest.approx(1)
    assert math.isnan(condition_scores(compute_frame_statistics(empty[:0], masks[:0]), "dataset")["miou"])


def test_table2_arithmetic_avsbench_s4_row():
    # AVSBench-Robust paper, AVSBench S4: mIoU_P 78.7, negatives 76.6 / 77.6 / 78.2, reported G-mIoU 35.032
    g = 100 * g_score(0.787, (0.766 + 0.776 + 0.782) / 3)
    assert g == pytest.approx(100 * g_metric(0.787, [0.766, 0.776, 0.782]))
    assert g == pytest.approx(35.035, abs=5e-4)  # the reported 35.032 is within the inputs' display rounding
    assert abs(g - 35.032) < 0.005
    assert g_score(0.0, 1.0) == 0.0


def test_robust_scores_global_metrics_against_reference():
    """Conditions of unequal frame counts: the G-metrics are the means of the three negative conditions' values (not
    the pooled frames), under both protocols; an unseen condition is left out of them."""
    conditions = {}
    probabilities = {}
    for seed, name in enumerate(["positive", "silence", "noise", "offscreen", "unseen:clock"]):
        logits, masks = random_frames(10 + 5 * seed, 8, 8, seed=20 + seed, empty_every=6)
        if name == "unseen:clock":
            logits = logits + 3  # far more foreground than any other condition
        conditions[name] = compute_frame_statistics(logits, masks)
        probabilities[name] = (torch.sigmoid(logits), masks)
    negative_names = ["silence", "noise", "offscreen"]
    for protocol in ["dataset", "legacy"]:
        batch_index = {name: torch.arange(len(stats)) // 5 for name, stats in conditions.items()}
        results = robust_scores(conditions, protocol, batch_index)
        if protocol == "dataset":
            expected = {name: dataset_condition_scores(*pair) for name, pair in probabilities.items()}
            negative_p = torch.cat([probabilities[name][0] for name in negative_names])
            pooled_fpr = dataset_condition_scores(negative_p, torch.zeros_like(negative_p))["fpr"]
        else:
            expected = {
                name: legacy_condition_scores([(p[i : i + 5], m[i : i + 5]) for i in range(0, len(p), 5)])
                for name, (p, m) in probabilities.items()
            }
            negative_batches = [
                probabilities[name][0][i : i + 5]
                for name in negative_names
                for i in range(0, len(probabilities[name][0]), 5)
            ]
            pooled_fpr = sum((p > 0.5).float().mean().item() for p in negative_batches) / len(negative_batches)
        for name in conditions:
            assert_scores_close(results["conditions"][name], expected[name])
        summary = results["global"]
        negatives = [expected[name] for name in negative_names]
        assert summary["g_miou"] == pytest.approx(
            g_metric(expected["positive"]["miou"], [s["miou"] for s in negatives]), abs=1e-6
        )
        assert summary["g_f"] == pytest.approx(
            g_metric(expected["positive"]["fscore"], [s["fscore"] for s in negatives]), abs=1e-6
        )
        assert summary["g_fpr"] == pytest.approx(sum(s["fpr"] for s in negatives) / 3, abs=1e-6)
        # silence, noise and off-screen have 15, 20 and 25 frames: the mean of conditions is not the pooled FPR
        assert summary["g_fpr"] != pytest.approx(pooled_fpr, abs=1e-6)
        assert results["global_negatives"] == negative_names
        unseen = expected["unseen:clock"]
        assert results["unseen"] == pytest.approx(
            {"miou": unseen["miou"], "fscore": unseen["fscore"], "fpr": unseen["fpr"], "num_conditions": 1}, abs=1e-6
        )


@pytest.mark.parametrize("protocol", ["dataset", "legacy"])
def test_table2_s4_row_with_unequal_frame_counts_and_unseen_clips(protocol):
    """data_and_metrics.md §3.5: mIoU_P 78.7, negatives 76.6 / 77.6 / 78.2 give G-mIoU 35.035 with mIoU_N the mean
    of the three; here with 2, 3 and 7 frames per negative condition and two unseen conditions (every pixel
    predicted) that would tilt a pooled or all-negatives mean."""
    counts = {"positive": 4, "silence": 2, "noise": 3, "offscreen": 7, "unseen:thunder": 6, "unseen:frog": 1}
    frames = table2_s4_frames(counts)
    statistics = {name: compute_frame_statistics(p, m, "binary") for name, (p, m) in frames.items()}
    batch_index = {name: torch.arange(count) for name, count in counts.items()}  # one frame per batch
    results = robust_scores(statistics, protocol, batch_index)
    negatives = [TABLE2_S4_MIOU[name] for name in ("silence", "noise", "offscreen")]
    summary = results["global"]
    assert summary["miou_p"] == pytest.approx(0.787, abs=1e-6)
    assert summary["miou_n"] == pytest.approx(sum(negatives) / 3, abs=1e-6)
    assert summary["g_miou"] == pytest.approx(g_metric(0.787, negatives), abs=1e-6)
    assert summary["g_miou"] == pytest.approx(TABLE2_S4_G_MIOU, abs=5e-6)
    assert summary["g_fpr"] == pytest.approx(sum(negatives) / 2 / 3, abs=1e-6)  # each prediction is half the frame
    pooled_miou = sum(TABLE2_S4_MIOU[name] * counts[name] for name in ("silence", "noise", "offscreen")) / 12
    assert abs(g_metric(0.787, [pooled_miou]) - summary["g_miou"]) > 1e-3  # pooling the frames would differ
    # every pixel predicted: IoU 1000 / 2000, precision 1/2 and recall 1 at every threshold
    everything = {"miou": 0.5, "fscore": 1.3 * 0.5 / (0.3 * 0.5 + 1), "fpr": 1.0, "num_conditions": 2}
    assert results["unseen"] == pytest.approx(everything, abs=1e-6)
    assert list(results["conditions"]) == list(counts)


def test_global_metrics_over_the_standard_negatives_present():
    frames = table2_s4_frames({"positive": 2, "silence": 1, "noise": 5, "unseen:cow": 3})
    statistics = {name: compute_frame_statistics(p, m, "binary") for name, (p, m) in frames.items()}
    partial = robust_scores(statistics)
    assert partial["global_negatives"] == ["silence", "noise"]
    assert partial["global"]["miou_n"] == pytest.approx((0.766 + 0.776) / 2, abs=1e-6)
    assert partial["global"]["g_fpr"] == pytest.approx((0.766 + 0.776) / 4, abs=1e-6)
    none = robust_scores({name: statistics[name] for name in ("positive", "unseen:cow")})
    assert none["global_negatives"] == [] and none["global"]["miou_p"] == pytest.approx(0.787, abs=1e-6)
    assert all(math.isnan(none["global"][key]) for key in ("miou_n", "f_n", "g_miou", "g_f", "g_fpr"))
    assert none["unseen"]["fpr"] == pytest.approx(1.0) and none["unseen"]["num_conditions"] == 1
    without_unseen = robust_scores({"positive": statistics["positive"]})["unseen"]
    assert without_unseen["num_conditions"] == 0 and math.isnan(without_unseen["fpr"])


def test_global_metrics_are_nan_without_negatives_and_protocol_is_checked():
    logits, masks = random_frames(4, 5, 5, seed=1)
    results = robust_scores({"positive": compute_frame_statistics(logits, masks)})
    assert math.isnan(results["global"]["g_miou"]) and results["global"]["miou_p"] > 0
    with pytest.raises(ValueError, match="protocol"):
        condition_scores(compute_frame_statistics(logits, masks), "per-video")
    with pytest.raises(ValueError, match="batch_index"):
        condition_scores(compute_frame_statistics(logits, masks), "legacy")
