"""Class pretraining of the encoders: the offline stand-in for AudioSet-pretrained VGGish and ImageNet-pretrained
PVT-v2.

Every original AVS recipe starts from VGGish pretrained on AudioSet (kept frozen) and a PVT-v2 backbone pretrained
on ImageNet. Neither can be downloaded offline, and encoders trained from scratch on segmentation alone do not
learn which sound or which object class they see, which the robust recipe needs in order to tell aligned from
misaligned pairs. The reproduction therefore pretrains each encoder as a classifier of the training split's own
categories (one label per video: its category) before the segmentation training.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import datasets
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.audio_io import decode_audio_cell
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


__all__ = ["object_class_examples", "pretrain_classifier", "sound_class_examples"]
