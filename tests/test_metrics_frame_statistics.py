"""The vectorised per-frame statistics against brute-force counting, on random and adversarial inputs."""

import pytest
import torch

from modeling_avs.metrics import frame_statistics
from modeling_avs.metrics.frame_statistics import compute_frame_statistics, fmeasure_thresholds


def brute_force_counts(p, target):
    """Per-threshold and 0.5 counts by comparing against every threshold (p: float32 probabilities)."""
    target = target > 0.5
    thresholds = torch.linspace(0, 1 - 1e-10, 255)
    flat_p, flat_t = p.reshape(p.shape[0], -1), target.reshape(target.shape[0], -1)
    true_positives = torch.stack([((flat_p >= th) & flat_t).sum(1) for th in thresholds], 1)
    predicted = torch.stack([(flat_p >= th).sum(1) for th in thresholds], 1)
    above = flat_p > 0.5
    return {
        "threshold_true_positives": true_positives,
        "threshold_predicted_positives": predicted,
        "intersection": (above & flat_t).sum(1),
        "predicted_positives": above.sum(1),
        "ground_truth_positives": flat_t.sum(1),
    }


def assert_matches_brute_force(predictions, references, input_type, probabilities):
    statistics = compute_frame_statistics(predictions, references, input_type)
    for name, expected in brute_force_counts(probabilities, references).items():
        assert torch.equal(getattr(statistics, name).long(), expected.long()), name
    assert torch.equal(statistics.num_pixels, torch.full((len(statistics),), probabilities[0].numel()))
    return statistics


def test_thresholds_are_avsbench_linspace_with_half_at_index_127():
    thresholds = fmeasure_thresholds()
    assert thresholds.dtype == torch.float32 and thresholds.shape == (255,)
    assert thresholds[0] == 0 and thresholds[-1] == 1 and thresholds[127] == 0.5
    assert torch.all(thresholds[1:] > thresholds[:-1])


@pytest.mark.parametrize("shape", [(1, 7, 9), (4, 16, 16), (3, 1, 5, 11)])
def test_random_logits(shape):
    generator = torch.Generator().manual_seed(sum(shape))
    logits = torch.randn(shape, generator=generator) * 4
    references = torch.rand(shape, generator=generator) > 0.6
    assert_matches_brute_force(logits, references, "logits", torch.sigmoid(logits).reshape(-1, *shape[-2:]))


def test_probabilities_at_and_next_to_every_threshold():
    # every threshold, its float32 neighbours and values a few ulps away: where an arithmetic bucket would slip
    thresholds = fmeasure_thresholds()
    bits = thresholds.view(torch.int32)
    offsets = torch.arange(-40, 41, dtype=torch.int32)
    values = (bits[:, None] + offsets).clamp(0, 0x3F800000).view(torch.float32).reshape(-1)
    values = torch.cat([values, torch.tensor([0.5, 0.0, -0.0, 1.0])])
    values = values[torch.randperm(len(values), generator=torch.Generator().manual_seed(0))]
    probabilities = values.reshape(1, 73, 283)  # 255 * 81 + 4 values
    references = torch.rand(probabilities.shape, generator=torch.Generator().manual_seed(1)) > 0.5
    assert_matches_brute_force(probabilities, references, "probabilities", probabilities)


def test_saturated_and_infinite_logits():
    logits = torch.tensor([[[float("inf"), -float("inf"), 40.0], [-40.0, 0.0, 1e-9]]])
    references = torch.tensor([[[1, 1, 0], [0, 1, 0]]])
    statistics = assert_matches_brute_force(logits, references, "logits", torch.sigmoid(logits))
    assert statistics.predicted_positives.item() == 2  # inf and 40; sigmoid(0) == 0.5 is not > 0.5


@pytest.mark.parametrize(
    "predictions, references",
    [
        (torch.zeros(2, 5, 5), torch.zeros(2, 5, 5)),  # empty prediction, empty ground truth
        (torch.ones(2, 5, 5), torch.ones(2, 5, 5)),  # all ones
        (torch.zeros(2, 5, 5), torch.ones(2, 5, 5)),
        (torch.ones(1, 3, 4), torch.zeros(1, 3, 4)),
    ],
)
def test_degenerate_binary_masks(predictions, references):
    assert_matches_brute_force(predictions, references, "binary", predictions)


def test_single_pixel_objects_and_binary_value_conventions():
    references = torch.zeros(2, 6, 7, dtype=torch.uint8)
    references[0, 2, 3] = 255
    references[1, 5, 6] = 1
    predictions = torch.zeros(2, 6, 7, dtype=torch.uint8)
    predictions[0, 2, 3] = 255
    predictions[1, 0, 0] = 1
    statistics = assert_matches_brute_force(predictions, references, "binary", (predictions > 0).float())
    assert statistics.intersection.tolist() == [1, 0]
    assert statistics.union.tolist() == [1, 2]
    boolean = compute_frame_statistics(predictions > 0, references > 0, "binary")
    assert torch.equal(boolean.threshold_true_positives, statistics.threshold_true_positives)


def test_chunking_gives_the_same_counts(monkeypatch):
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(7, 9, 10, generator=generator)
    references = torch.rand(7, 9, 10, generator=generator) > 0.5
    whole = compute_frame_statistics(logits, references)
    monkeypatch.setattr(frame_statistics, "_CHUNK_PIXELS", 200)  # two frames per chunk
    chunked = compute_frame_statistics(logits, references)
    for name, value in vars(whole).items():
        assert torch.equal(value, getattr(chunked, name)), name


def test_zero_frames():
    statistics = compute_frame_statistics(torch.zeros(0, 4, 4), torch.zeros(0, 4, 4), "probabilities")
    assert len(statistics) == 0 and statistics.threshold_true_positives.shape == (0, 255)


@pytest.mark.parametrize(
    "predictions, references, input_type, message",
    [
        (torch.zeros(2, 4, 4), torch.zeros(2, 4, 5), "logits", "same shape"),
        (torch.zeros(4, 4), torch.zeros(4, 4), "logits", r"\[N, H, W\]"),
        (torch.zeros(2, 4, 4), torch.zeros(2, 4, 4), "scores", "input_type"),
        (torch.full((1, 2, 2), float("nan")), torch.zeros(1, 2, 2), "logits", "NaN"),
        (torch.full((1, 2, 2), 2.0), torch.zeros(1, 2, 2), "probabilities", r"\[0, 1\]"),
    ],
)
def test_bad_input_is_rejected(predictions, references, input_type, message):
    with pytest.raises(ValueError, match=message):
        compute_frame_statistics(predictions, references, input_type)
