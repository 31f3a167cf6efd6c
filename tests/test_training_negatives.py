"""Balanced per-epoch negatives and their collation into training batches."""

from collections import Counter

import pytest
import torch
from training_helpers import TINY_IMAGE_SIZE, tiny_dataset

from modeling_avs.data import ConditionSamples
from modeling_avs.training import (
    AVSDataCollator,
    AVSFeaturizer,
    BalancedNegativeDataset,
    FeaturizedSamples,
    build_processor,
    num_negative_pairs,
    plan_epoch,
)


def test_plan_has_the_ratio_and_balanced_conditions():
    plan = plan_epoch(90, 0.1, ("silence", "offscreen"), seed=3, epoch=0)
    negatives = [(row, condition) for row, condition in plan if condition != "positive"]
    assert len(plan) == 100 and len(negatives) == 10
    assert sorted(row for row, condition in plan if condition == "positive") == list(range(90))
    counts = Counter(condition for _, condition in negatives)
    assert counts == {"silence": 5, "offscreen": 5}
    assert len({row for row, _ in negatives}) == 10  # no video drawn twice within an epoch


def test_plan_is_deterministic_per_epoch_and_changes_between_epochs():
    first = plan_epoch(50, 0.2, ("silence", "noise", "offscreen"), seed=1, epoch=0)
    assert first == plan_epoch(50, 0.2, ("silence", "noise", "offscreen"), seed=1, epoch=0)
    assert first != plan_epoch(50, 0.2, ("silence", "noise", "offscreen"), seed=1, epoch=1)
    assert first != plan_epoch(50, 0.2, ("silence", "noise", "offscreen"), seed=2, epoch=0)
    counts = Counter(condition for _, condition in first if condition != "positive")
    assert max(counts.values()) - min(counts.values()) <= 1 and sum(counts.values()) == num_negative_pairs(50, 0.2)


def test_ratio_zero_is_positive_only_and_bad_ratio_is_rejected():
    assert all(condition == "positive" for _, condition in plan_epoch(7, 0.0, ("silence",), seed=0, epoch=4))
    with pytest.raises(ValueError, match="negative_ratio"):
        plan_epoch(7, 1.0, ("silence",), seed=0, epoch=0)


@pytest.fixture(scope="module")
def featurized():
    dataset = tiny_dataset(train_videos=9, evaluation_videos=2)
    featurizer = AVSFeaturizer(build_processor(TINY_IMAGE_SIZE), cache=True)
    samples = ConditionSamples(dataset["train"], ("positive", "silence", "offscreen"))
    return FeaturizedSamples(samples, featurizer, cache=True), featurizer, dataset


def test_negatives_get_empty_masks_and_pair_label_zero(featurized):
    samples, featurizer, _ = featurized
    train = BalancedNegativeDataset(samples, 0.25, ("silence", "offscreen"), seed=0)
    assert len(train) == 12  # 9 positives + 3 negatives = 25 %
    collator = AVSDataCollator(["positive", "silence", "noise", "offscreen"], featurizer, "first")
    batch = collator([train[index] for index in range(len(train))])
    frames = 5
    assert batch["pixel_values"].shape == (12 * frames, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE)
    assert batch["input_features"].shape == (12 * frames, 1, 96, 64)
    negative = batch["pair_labels"] == 0
    assert int(negative.sum()) == 3 * frames
    assert torch.all(batch["labels"][negative] == 0)
    assert torch.all(batch["condition_ids"][negative] != 0)
    positive_first_frames = (~negative) & batch["label_mask"]
    assert int(positive_first_frames.sum()) == 9 and batch["labels"][positive_first_frames].sum() > 0
    assert torch.equal(batch["label_mask"].view(12, frames)[:, 0], torch.ones(12, dtype=torch.bool))
    assert not batch["label_mask"].view(12, frames)[:, 1:].any()  # S4 train: first frame only
    assert "reference_masks" not in batch  # train videos are not fully annotated


def test_set_epoch_redraws_the_negatives(featurized):
    samples, _, _ = featurized
    train = BalancedNegativeDataset(samples, 0.25, ("silence", "offscreen"), seed=0)
    first = list(train.plan)
    train.set_epoch(1)
    assert train.plan != first and len(train.plan) == len(first)
    train.set_epoch(0)
    assert train.plan == first


def test_evaluation_batches_carry_reference_masks(featurized):
    _, featurizer, dataset = featurized
    samples = FeaturizedSamples(ConditionSamples(dataset["validation"]), featurizer)
    collator = AVSDataCollator(list(samples.conditions), featurizer, "all")
    batch = collator([samples[index] for index in samples.indices_of("silence")])
    assert torch.all(batch["labels"] == 0)  # training target of a negative
    assert batch["reference_masks"].sum() > 0  # but it is scored against the visible object
    assert batch["label_mask"].all()


def test_drop_unsupervised_frames_keeps_the_first_frames(featurized):
    samples, featurizer, _ = featurized
    collator = AVSDataCollator(
        ["positive", "silence", "offscreen"], featurizer, "first", drop_unsupervised_frames=True
    )
    batch = collator([samples[0], samples[1]])
    assert batch["pixel_values"].shape[0] == 2 and batch["labels"].shape[0] == 2
    assert torch.equal(batch["pixel_values"][1], samples[1]["pixel_values"][0])


def test_missing_negative_condition_is_a_clear_error(featurized):
    samples, _, _ = featurized
    with pytest.raises(ValueError, match="noise"):
        BalancedNegativeDataset(samples, 0.1, ("noise",))
