"""The shared encoders of the reproduction: a small VGGish and PVT-v2 class-pretrained once per output folder (the
offline stand-ins for AudioSet and ImageNet pretraining, see `training.encoder_pretraining`) and loaded into every
row of both architectures."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict
from functools import partial
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModel

from ..atomic_files import atomic_directory, write_json_atomic
from ..data.loading import undecoded_audio
from ..training.encoder_pretraining import (
    generated_object_frames,
    normalize_frames,
    object_class_examples,
    pretrain_classifier,
    sound_class_examples,
)
from .data import ReproductionData, data_for
from .sizes import SIZES, ReproductionSize

ENCODERS = ("audio_encoder", "backbone")
FOLDER = "pretrained_encoders"


def encoder_settings(size: ReproductionSize, seed: int) -> dict:
    """What the pretrained encoders depend on (as JSON reads it back): their configs, the data and the pretraining
    schedule, and the seed; not the segmentation schedule, so changing it keeps the encoders."""
    settings = {
        "encoders": size.encoder_config(),
        "image_size": size.image_size,
        "train_videos": size.train_videos,
        "pretraining": {
            key: value for key, value in asdict(size).items() if key.endswith(("pretraining_epochs", "frames"))
        },
        "seed": seed,
    }
    return json.loads(json.dumps(settings))


def load_encoders(output: Path, size: ReproductionSize, seed: int) -> dict[str, dict] | None:
    """The encoders pretrained for these settings in `output`, or None."""
    directory = output / FOLDER
    summary = directory / "pretraining.json"
    if not summary.is_file() or json.loads(summary.read_text(encoding="utf-8")).get("settings") != encoder_settings(
        size, seed
    ):
        return None
    return {name: load_file(directory / f"{name}.safetensors") for name in ENCODERS}


def pretrain_encoder(name: str, data: ReproductionData, size: ReproductionSize, seed: int) -> tuple[dict, dict]:
    """
    Pretrain one shared encoder as a classifier of the S4 categories and return its state dict and a summary: the
    audio encoder (`"audio_encoder"`) on the training split's sounds for `size.audio_pretraining_epochs`, the
    backbone (`"backbone"`) on `size.visual_pretraining_frames` generated frames (seed `seed + 1`: none is a
    benchmark video; the training split's frames when 0) for `size.visual_pretraining_epochs`. Both start from the
    same seeded template, so the result does not depend on which process runs it or on the other encoder.
    """
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of {ENCODERS}")
    torch.manual_seed(seed)
    architecture, config = next(iter(size.model_configs.items()))
    template = AutoModel.from_config(AutoConfig.for_model(architecture, **config))
    processor = data.processor
    train_split = undecoded_audio(data.train_split)
    categories = sorted(set(train_split["category"]))
    if name == "audio_encoder":
        encoder, epochs = template.audio_encoder, size.audio_pretraining_epochs
        inputs, labels, _ = sound_class_examples(train_split, processor.feature_extractor, categories)
        width = encoder.config.embedding_size

        def embed(features: torch.Tensor) -> torch.Tensor:
            return encoder(features).audio_embeds

    else:
        encoder, epochs = template.backbone, size.visual_pretraining_epochs
        if size.visual_pretraining_frames:  # uint8 frames, normalised batch by batch (50,000 in float: 600 MB)
            inputs, labels = generated_object_frames(
                size.visual_pretraining_frames, size.image_size, categories, seed + 1
            )
            prepare = partial(normalize_frames, image_processor=processor.image_processor)
        else:
            inputs, labels = object_class_examples(train_split, processor.image_processor, categories)
            prepare = torch.nn.Identity()
        width = encoder.channels[-1]

        def embed(frames: torch.Tensor) -> torch.Tensor:
            return encoder(prepare(frames)).feature_maps[-1].mean(dim=(2, 3))

    accuracy = pretrain_classifier(encoder, embed, width, inputs, labels, len(categories), epochs=epochs, seed=seed)
    summary = {"categories": categories, "train_accuracy": accuracy, "epochs": epochs, "examples": len(labels)}
    return encoder.state_dict(), summary


def pretrain_task(
    size_name: str, seed: int, unseen_audio: Path | None, name: str, every_core: bool
) -> tuple[dict, dict]:
    """`pretrain_encoder(name, ...)` on this process's data (built once per process): on one core in a worker process
    (the other encoder trains beside it), on every core when `every_core`."""
    size = SIZES[size_name]
    data = data_for(size, seed, unseen_audio)
    if every_core:
        with all_cores():
            return pretrain_encoder(name, data, size, seed)
    size.limit_threads()
    return pretrain_encoder(name, data, size, seed)


def save_encoders(output: Path, size: ReproductionSize, seed: int, pretrained: dict[str, tuple[dict, dict]]) -> dict:
    """Save the pretrained encoders (`{name: (state dict, summary)}`, see `pretrain_encoder`) in
    `output/pretrained_encoders/` atomically, for this run's rows and a rerun with the same settings; return the state
    dicts."""
    summary = {name: info for name, (_, info) in pretrained.items()}
    summary["settings"] = encoder_settings(size, seed)
    with atomic_directory(output / FOLDER) as temporary:
        for name, (state, _) in pretrained.items():
            save_file({key: value.contiguous() for key, value in state.items()}, temporary / f"{name}.safetensors")
        write_json_atomic(temporary / "pretraining.json", summary)
    return {name: state for name, (state, _) in pretrained.items()}


@contextlib.contextmanager
def all_cores():
    """Run the block on every core, then restore the thread count: the encoder pretraining runs alone, and its
    batches of 64 frames are large enough to gain (measured: 694 vs 555 frames/s on 2 cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(available_cores() or threads)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


__all__ = [
    "ENCODERS",
    "all_cores",
    "available_cores",
    "encoder_settings",
    "load_encoders",
    "pretrain_encoder",
    "pretrain_task",
    "save_encoders",
]
