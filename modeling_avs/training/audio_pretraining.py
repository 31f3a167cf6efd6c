"""Sound-class pretraining of a VGGish audio encoder: the offline stand-in for AudioSet-pretrained VGGish.

Every original AVS recipe uses VGGish pretrained on AudioSet and keeps it frozen. Those weights cannot be
downloaded offline, and a frozen random VGGish cannot tell sounds apart, so the reproduction pretrains the
audio encoder as a sound-event classifier on the training split's own audio (one label per video, its
category; one log-mel example per second) and then freezes it, as the paper's recipe does.
"""

from __future__ import annotations

from collections.abc import Sequence

import datasets
import numpy as np
import torch
import torch.nn.functional as F

from ..configuration_vggish import VGGishConfig
from ..data.audio_io import decode_audio_cell
from ..feature_extraction_vggish import VGGishFeatureExtractor
from ..modeling_vggish import VGGishModel


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


def pretrain_audio_encoder(
    config: VGGishConfig,
    features: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    epochs: int = 8,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 42,
) -> tuple[VGGishModel, float]:
    """
    Train a [`VGGishModel`] of `config` with a linear classification head on `(features, labels)` (cross-entropy,
    Adam) and return the encoder (in eval mode, without the head) and its accuracy on the training examples.
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    encoder = VGGishModel(config)
    head = torch.nn.Linear(config.embedding_size, num_classes)
    optimizer = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=learning_rate)
    encoder.train()
    for _ in range(epochs):
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            loss = F.cross_entropy(head(encoder(features[index]).audio_embeds), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    encoder.eval()
    with torch.no_grad():
        predictions = np.concatenate(
            [
                head(encoder(features[start : start + 256]).audio_embeds).argmax(1).numpy()
                for start in range(0, len(labels), 256)
            ]
        )
    return encoder, float((predictions == labels.numpy()).mean())


__all__ = ["pretrain_audio_encoder", "sound_class_examples"]
