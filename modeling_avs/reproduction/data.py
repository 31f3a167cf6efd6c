"""The reproduction's data: the synthetic S4 benchmark of a size and seed, featurised once per process.

Deterministic from the seed and fast to regenerate, so a worker process rebuilds it instead of receiving it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import datasets

from ..data.negative_audio import load_unseen_clips
from ..data.samples import ConditionSamples
from ..data.schema import CONDITIONS
from ..data.synthetic import SYNTHETIC_DATASET_ID, make_synthetic_dataset
from ..data.synthetic_unseen_audio import unseen_sound_clips
from ..processing_avs import AVSProcessor
from ..training.collator import AVSDataCollator, AVSFeaturizer, FeaturizedSamples
from ..training.trainer import build_processor
from .sizes import ReproductionSize

DATASET_ID = f"{SYNTHETIC_DATASET_ID} S4"


@dataclass
class ReproductionData:
    """
    What every row needs: the splits, the processor, and the evaluation samples.

    - `test_samples`: the standard conditions (positive, silence, noise, off-screen) of the test videos;
    - `validation_samples`: the same for the validation videos (to calibrate the gate of the gated row);
    - `unseen_samples`: the first `unseen_videos` test videos paired with every unseen sound (their positive pairs
      are among the test samples): the built-in held-out synthetic categories, plus the real clips of
      `--unseen-audio` when given;
    - `overlay_video`: the test video shown in the overlay figures.
    """

    train_split: datasets.Dataset
    test_split: datasets.Dataset
    processor: AVSProcessor
    featurizer: AVSFeaturizer
    test_samples: FeaturizedSamples
    validation_samples: FeaturizedSamples
    unseen_samples: FeaturizedSamples
    builtin_unseen: tuple[str, ...]
    real_unseen: tuple[str, ...]
    overlay_video: str

    def evaluation_sources(self, validation: bool = False) -> list[tuple[FeaturizedSamples, AVSDataCollator]]:
        """`(samples, collator)` pairs for `training.evaluation`: the test split with its unseen sounds, or the
        validation split."""
        parts = [self.validation_samples] if validation else [self.test_samples, self.unseen_samples]
        return [(samples, self.collator(samples)) for samples in parts]

    def collator(self, samples: FeaturizedSamples) -> AVSDataCollator:
        return AVSDataCollator(list(samples.conditions), self.featurizer, "all", return_references=True)


_DATA: dict[tuple, ReproductionData] = {}  # per process: the data of (size, seed, unseen-audio folder)


def data_for(size: ReproductionSize, seed: int, unseen_audio: Path | None = None) -> ReproductionData:
    """`prepare_data`, once per process (a worker process trains several rows on the same data)."""
    key = (size.name, seed, None if unseen_audio is None else str(unseen_audio))
    if key not in _DATA:
        _DATA[key] = prepare_data(size, seed, unseen_audio)
    return _DATA[key]


def prepare_data(size: ReproductionSize, seed: int, unseen_audio: Path | None = None) -> ReproductionData:
    """The benchmark of `size` and `seed` (in memory), the processor, and the evaluation samples (cached features)."""
    real = load_unseen_clips(unseen_audio) if unseen_audio is not None else {}
    real = dict(list(real.items())[: size.max_unseen_clips])
    builtin = unseen_sound_clips(seed)
    clashes = sorted(set(real) & set(builtin))
    if clashes:
        raise ValueError(f"--unseen-audio {unseen_audio}: clip names {clashes} clash with the built-in unseen sounds")
    dataset = make_synthetic_dataset(
        "s4",
        num_videos={
            "train": size.train_videos,
            "validation": size.validation_videos,
            "test": max(size.test_videos, size.unseen_videos),
        },
        image_size=size.image_size,
        seed=seed,
    )
    test = dataset["test"]
    processor = build_processor(size.image_size)
    featurizer = AVSFeaturizer(processor, cache=True)
    standard_test = test.select(range(size.test_videos))
    unseen_split = test.select(range(size.unseen_videos))
    return ReproductionData(
        train_split=dataset["train"],
        test_split=standard_test,
        processor=processor,
        featurizer=featurizer,
        test_samples=FeaturizedSamples(ConditionSamples(standard_test, CONDITIONS), featurizer, cache=True),
        validation_samples=FeaturizedSamples(ConditionSamples(dataset["validation"], CONDITIONS), featurizer),
        unseen_samples=FeaturizedSamples(
            ConditionSamples(unseen_split, (), extra_audio=builtin | real), featurizer, cache=True
        ),
        builtin_unseen=tuple(builtin),
        real_unseen=tuple(real),
        overlay_video=standard_test[0]["video_id"],
    )


__all__ = ["DATASET_ID", "ReproductionData", "data_for", "prepare_data"]
