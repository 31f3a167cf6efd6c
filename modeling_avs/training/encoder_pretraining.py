"""Class pretraining of the encoders: the offline stand-in for AudioSet-pretrained VGGish and ImageNet-pretrained
PVT-v2.

Every original AVS recipe starts from VGGish pretrained on AudioSet (kept frozen) and a PVT-v2 backbone pretrained
on ImageNet. Neither can be downloaded offline, and encoders trained from scratch on segmentation alone do not
learn which sound or which object class they see, which the robust recipe needs in order to tell aligned from
misaligned pairs. The reproduction therefore pretrains each encoder as a classifier of the object categories before
the segmentation training: the audio encoder on the training split's sounds (one label per video: its category),
the backbone either on the training split's frames or, like ImageNet, on a large separate set of generated frames
(`generated_object_frames`): a small backbone classifies unseen videos far better that way (measured in
`docs/reproduction_ablations.md`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import datasets
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.audio_io import decode_audio_cell
from ..data.synthetic_visual import SYNTHETIC_CLASSES, place_objects, render_video
from ..feature_extraction_vggish import VGGishFeatureExtractor
from ..image_processing_avs import AVSImageProcessor


def sound_class_examples(
    split: datasets.Dataset, feature_extractor: VGGishFeatureExtractor, categories: Sequence[str] | None = None
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """
    The log-mel examples `[V·T, 1, 96, 64]` of the original audio of every video of `split` (audio columns
    undecoded), their category ids `[V·T]` and the category names (sorted, or `categories` when given).
    """
    names = sorted(set(split["category"])) if categories is None else list(categories)
    features, labels = [], []
    for row in split.select_columns(["audio", "category"]):
        examples = feature_extractor(decode_audio_cell(row["audio"]), sampling_rate=feature_extractor.sampling_rate)
        features.append(torch.from_numpy(examples["input_features"]))
        labels += [names.index(row["category"])] * len(examples["input_features"])
    return torch.cat(features), torch.tensor(labels), names


def object_class_examples(
    split: datasets.Dataset, image_processor: AVSImageProcessor, categories: Sequence[str]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The frames `[V·T, 3, H, W]` (processed) of every video of `split` and their category ids `[V·T]`."""
    pixels, labels = [], []
    for row in split.select_columns(["frames", "category"]):
        pixels.append(image_processor(row["frames"], return_tensors="pt")["pixel_values"])
        labels += [list(categories).index(row["category"])] * len(row["frames"])
    return torch.cat(pixels), torch.tensor(labels)


def generated_object_frames(
    count: int, image_size: int, categories: Sequence[str], seed: int, radius_range: tuple[float, float] = (0.17, 0.27)
) -> tuple[torch.Tensor, torch.Tensor]:
    """
    `count` frames of freshly generated single-object S4 videos (one frame of each, a new background every time),
    uint8 `[count, 3, image_size, image_size]`, and their category ids `[count]` (indices into `categories`, S4
    category names; every category is drawn uniformly). Deterministic given `seed`; use a seed other than the
    benchmark's so that no evaluation video is among them.
    """
    rng = np.random.default_rng(seed)
    classes = {cls.s4_category: cls for cls in SYNTHETIC_CLASSES}
    unknown = [name for name in categories if name not in classes]
    if unknown:
        raise ValueError(f"generated_object_frames: unknown S4 categories {unknown}; known: {sorted(classes)}")
    labels = rng.integers(len(categories), size=count)
    frames = np.empty((count, image_size, image_size, 3), dtype=np.uint8)
    for index, label in enumerate(labels.tolist()):
        placed = place_objects(rng, [classes[categories[label]]], image_size, radius_range)
        video, _ = render_video(rng, placed, [True], image_size)
        frames[index] = video[int(rng.integers(len(video)))]
    return torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labels)


def normalize_frames(frames: torch.Tensor, image_processor: AVSImageProcessor) -> torch.Tensor:
    """uint8 frames `[N, 3, H, W]` (already at the model's size) → float pixel values, as `image_processor` makes."""
    mean = torch.tensor(image_processor.image_mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(image_processor.image_std, dtype=torch.float32).view(1, 3, 1, 1)
    return (frames.float() * float(image_processor.rescale_factor) - mean) / std


def pretrain_classifier(
    encoder: nn.Module,
    embed: Callable[[torch.Tensor], torch.Tensor],
    embedding_size: int,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    epochs: int = 8,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 42,
) -> float:
    """
    Train `encoder` in place as a classifier: `embed(inputs)` `[B, embedding_size]` → a linear head, cross-entropy,
    Adam. Returns the accuracy on the training examples; the head is discarded, `encoder` is left in eval mode and
    its parameters' `requires_grad` flags are restored (a frozen encoder is trained here and frozen again).
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    trainable = {parameter: parameter.requires_grad for parameter in encoder.parameters()}
    encoder.requires_grad_(True)
    head = nn.Linear(embedding_size, num_classes)
    optimizer = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=learning_rate)
    encoder.train()
    for _ in range(epochs):
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            loss = F.cross_entropy(head(embed(inputs[index])), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for parameter, requires_grad in trainable.items():
        parameter.requires_grad_(requires_grad)
    encoder.eval()
    with torch.no_grad():
        predictions = np.concatenate(
            [head(embed(inputs[start : start + 256])).argmax(1).numpy() for start in range(0, len(labels), 256)]
        )
    return float((predictions == labels.numpy()).mean())


__all__ = [
    "generated_object_frames",
    "normalize_frames",
    "object_class_examples",
    "pretrain_classifier",
    "sound_class_examples",
]
