"""Per-condition samples → model inputs: featurisation with the processor (optionally memoised) and batching."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from ..data.schema import SAMPLE_RATE
from .recipes import SUPERVISED_FRAMES


def _empty_mask_like(frame: Image.Image) -> Image.Image:
    return Image.new("L", frame.size, 0)


class AVSFeaturizer:
    """
    Turns one sample of [`ConditionSamples`] (5 PIL frames, masks or None, a 16 kHz waveform) into tensors with an
    [`AVSProcessor`]: `pixel_values` `[T, 3, H, W]`, `masks` `[T, H, W]` (the video's own masks, zeros where a frame
    is not annotated), `annotated` `[T]` (bool), `input_features` `[T, 1, 96, 64]`, plus `video_id`, `condition`
    and `pair_label`.

    With `cache=True` the frames of a video are processed once (keyed by `video_id`) and every distinct waveform
    once (keyed by a SHA-1 of its samples: silence, a clip reused as another video's off-screen sound or an unseen
    clip paired with every video cost one feature extraction each). The cache lives in memory; use it for
    datasets that fit (the synthetic benchmark: a few hundred MB at most).

    With `audio_encoder` (a frozen audio encoder, e.g. the model's [`VGGishModel`]), items carry its embeddings
    `audio_embeds` `[T, D]` instead of `input_features`: a frozen encoder embeds a waveform the same way in every
    epoch, so with `cache=True` each distinct waveform is embedded once instead of at every forward pass. The cached
    embeddings are those of the encoder's weights when first computed.
    """

    def __init__(self, processor, cache: bool = False, audio_encoder: torch.nn.Module | None = None) -> None:
        self.processor = processor
        self.cache = cache
        self.audio_encoder = audio_encoder
        self._frames: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self._audio: dict[bytes, torch.Tensor] = {}
        self._embeddings: dict[bytes, torch.Tensor] = {}

    def frames(self, sample: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`(pixel_values [T, 3, H, W], masks [T, H, W], annotated [T])` of a sample's video."""
        key = sample["video_id"]
        if self.cache and key in self._frames:
            return self._frames[key]
        frames = sample["frames"]
        masks = sample["masks"] if sample["masks"] is not None else [None] * len(frames)
        if len(masks) != len(frames):
            raise ValueError(f"video {key}: {len(frames)} frames but {len(masks)} masks")
        annotated = torch.tensor([mask is not None for mask in masks])
        filled = [mask if mask is not None else _empty_mask_like(frame) for frame, mask in zip(frames, masks)]
        processed = self.processor.image_processor(frames, segmentation_maps=filled, return_tensors="pt")
        labels = processed["labels"] * annotated[:, None, None]
        result = (processed["pixel_values"], labels, annotated)
        if self.cache:
            self._frames[key] = result
        return result

    @staticmethod
    def _audio_key(waveform: np.ndarray, num_frames: int) -> bytes:
        return hashlib.sha1(waveform.tobytes()).digest() + num_frames.to_bytes(2, "little")

    def audio(self, waveform: np.ndarray, num_frames: int) -> torch.Tensor:
        """`input_features` `[num_frames, 1, 96, 64]` of a mono 16 kHz waveform."""
        waveform = np.ascontiguousarray(waveform, dtype=np.float32)
        key = self._audio_key(waveform, num_frames)
        if self.cache and key in self._audio:
            return self._audio[key]
        features = self.processor.feature_extractor(
            [waveform], sampling_rate=SAMPLE_RATE, num_examples=num_frames, return_tensors="pt"
        )["input_features"]
        if self.cache:
            self._audio[key] = features
        return features

    def audio_embeds(self, waveform: np.ndarray, num_frames: int) -> torch.Tensor:
        """`audio_embeds` `[num_frames, D]` of a mono 16 kHz waveform by `audio_encoder`."""
        waveform = np.ascontiguousarray(waveform, dtype=np.float32)
        key = self._audio_key(waveform, num_frames)
        if self.cache and key in self._embeddings:
            return self._embeddings[key]
        features = self.audio(waveform, num_frames)
        parameter = next(self.audio_encoder.parameters())
        with torch.no_grad():
            embeddings = self.audio_encoder(features.to(parameter.device, parameter.dtype), return_dict=True)
        embeddings = embeddings.audio_embeds.cpu()
        if self.cache:
            self._embeddings[key] = embeddings
        return embeddings

    def __call__(self, sample: dict) -> dict:
        pixel_values, masks, annotated = self.frames(sample)
        item = {
            "video_id": sample["video_id"],
            "condition": sample["condition"],
            "pair_label": int(sample["pair_label"]),
            "pixel_values": pixel_values,
            "masks": masks,
            "annotated": annotated,
        }
        if self.audio_encoder is None:
            item["input_features"] = self.audio(sample["waveform"], len(pixel_values))
        else:
            item["audio_embeds"] = self.audio_embeds(sample["waveform"], len(pixel_values))
        return item


class FeaturizedSamples(torch.utils.data.Dataset):
    """
    [`ConditionSamples`] whose items are featurised by an [`AVSFeaturizer`]; with `cache=True` each item is
    featurised once and kept (so frames are decoded once per video, not once per epoch). Exposes the same
    `conditions` and `indices_of` as the wrapped samples.
    """

    def __init__(self, samples, featurizer: AVSFeaturizer, cache: bool = False) -> None:
        self.samples = samples
        self.featurizer = featurizer
        self.cache = cache
        self._items: dict[int, dict] = {}

    @property
    def conditions(self) -> tuple[str, ...]:
        return self.samples.conditions

    def indices_of(self, condition: str) -> range:
        return self.samples.indices_of(condition)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        if self.cache and index in self._items:
            return self._items[index]
        item = self.featurizer(self.samples[index])
        if self.cache:
            self._items[index] = item
        return item


class AVSDataCollator:
    """
    Batches samples (raw [`ConditionSamples`] items, featurised on the fly with `featurizer`, or items of
    [`FeaturizedSamples`]) into the model's inputs, N = B·T frames video by video:

    - `pixel_values` `[N, 3, H, W]`, `input_features` `[N, 1, 96, 64]` (or `audio_embeds` `[N, D]`, when the items
      carry embeddings: see [`AVSFeaturizer`]);
    - `labels` `[N, H, W]`: the training target, the video's mask for positives and an **empty mask for
      negatives** (`pair_label == 0`);
    - `label_mask` `[N]`: supervised frames, the annotated frames (`supervised_frames="all"`) or only the first
      one (`"first"`, the S4 recipe), for negatives too;
    - `pair_labels` `[N]` (1 aligned audio, 0 negative) and `condition_ids` `[N]` (index into `condition_names`);
    - `reference_masks` `[N, H, W]`: the video's own masks whatever the condition, what the robust metrics score
      negatives against. `return_references=True` requires every frame to be annotated, `"auto"` adds them to
      the batches whose frames all are (evaluation splits), `False` never adds them.

    With `drop_unsupervised_frames=True` only the supervised frames are kept (every tensor above), which saves
    the forward pass of frames without a loss; only valid for models without temporal interaction
    (`config.num_frames == 1`), for which every frame is a video of its own.
    """

    def __init__(
        self,
        condition_names: Sequence[str],
        featurizer: AVSFeaturizer | None = None,
        supervised_frames: str = "all",
        return_references: bool | str = "auto",
        drop_unsupervised_frames: bool = False,
    ) -> None:
        if return_references not in (True, False, "auto"):
            raise ValueError(f"return_references must be True, False or 'auto', got {return_references!r}")
        if supervised_frames not in SUPERVISED_FRAMES:
            raise ValueError(f"supervised_frames must be one of {SUPERVISED_FRAMES}, got {supervised_frames!r}")
        self.condition_names = list(condition_names)
        self.featurizer = featurizer
        self.supervised_frames = supervised_frames
        self.return_references = return_references
        self.drop_unsupervised_frames = drop_unsupervised_frames

    def _featurized(self, sample: dict) -> dict:
        if "pixel_values" in sample:
            return sample
        if self.featurizer is None:
            raise ValueError("raw samples (frames + waveform) need a `featurizer` to be collated")
        return self.featurizer(sample)

    def __call__(self, samples: Sequence[dict]) -> dict[str, torch.Tensor]:
        items = [self._featurized(sample) for sample in samples]
        labels, label_mask, pair_labels, condition_ids = [], [], [], []
        for item in items:
            num_frames = len(item["pixel_values"])
            if item["condition"] not in self.condition_names:
                raise ValueError(f"condition {item['condition']!r} is not in condition_names {self.condition_names}")
            supervised = item["annotated"].clone()
            if self.supervised_frames == "first":
                supervised[1:] = False
                if not supervised[0]:
                    raise ValueError(f"video {item['video_id']}: supervised_frames='first' needs a first-frame mask")
            if self.return_references is True and not item["annotated"].all():
                raise ValueError(f"video {item['video_id']}: evaluation needs a mask for every frame")
            labels.append(item["masks"] if item["pair_label"] else torch.zeros_like(item["masks"]))
            label_mask.append(supervised)
            pair_labels.append(torch.full((num_frames,), float(item["pair_label"])))
            condition_ids.append(torch.full((num_frames,), self.condition_names.index(item["condition"])))
        audio_key = audio_input_name(items[0])
        if any(audio_input_name(item) != audio_key for item in items):
            raise ValueError("cannot batch items with `input_features` together with items with `audio_embeds`")
        batch = {
            "pixel_values": torch.cat([item["pixel_values"] for item in items]),
            audio_key: torch.cat([item[audio_key] for item in items]),
            "labels": torch.cat(labels),
            "label_mask": torch.cat(label_mask),
            "pair_labels": torch.cat(pair_labels),
            "condition_ids": torch.cat(condition_ids),
        }
        fully_annotated = all(bool(item["annotated"].all()) for item in items)
        if self.return_references is True or (self.return_references == "auto" and fully_annotated):
            batch["reference_masks"] = torch.cat([item["masks"] for item in items])
        if self.drop_unsupervised_frames:
            keep = batch["label_mask"]
            batch = {key: value[keep] for key, value in batch.items()}
        return batch


def audio_input_name(inputs: dict) -> str:
    """The audio input a featurised item or batch carries: `"audio_embeds"` or `"input_features"`."""
    return "audio_embeds" if "audio_embeds" in inputs else "input_features"


__all__ = ["AVSDataCollator", "AVSFeaturizer", "FeaturizedSamples", "audio_input_name"]
