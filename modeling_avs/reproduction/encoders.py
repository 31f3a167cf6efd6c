"""The shared encoders of the reproduction: a small VGGish and PVT-v2 class-pretrained once per output folder (the
offline stand-ins for AudioSet and ImageNet pretraining, see `training.encoder_pretraining`) and loaded into every
row of both architectures."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
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
from .data import ReproductionData
from .sizes import ReproductionSize

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


def pretrain_encoders(output: Path, data: ReproductionData, size: ReproductionSize, seed: int) -> dict[str, dict]:
    """
    Pretrain the audio encoder on the training split's sounds and the backbone on `size.visual_pretraining_frames`
    generated frames (seed `seed + 1`: none is a benchmark video; the training split's frames when 0) for
    `size.visual_pretraining_epochs`, both as
    classifiers of the S4 categories, on every core; save them in `output/pretrained_encoders/` (reused by a rerun
    with the same settings) and return their state dicts.
    """
    encoders = load_encoders(output, size, seed)
    if encoders is not None:
        return encoders
    torch.manual_seed(seed)
    architecture, config = next(iter(size.model_configs.items()))
    template = AutoModel.from_config(AutoConfig.for_model(architecture, **config))
    audio, backbone = template.audio_encoder, template.backbone
    processor = data.processor
    train_split = undecoded_audio(data.train_split)
    sounds, sound_labels, categories = sound_class_examples(train_split, processor.feature_extractor)
    if size.visual_pretraining_frames:  # uint8 frames, normalised batch by batch (50,000 in float: 600 MB)
        frames, frame_labels = generated_object_frames(
            size.visual_pretraining_frames, size.image_size, categories, seed + 1
        )
        prepare = partial(normalize_frames, image_processor=processor.image_processor)
    else:
        frames, frame_labels = object_class_examples(train_split, processor.image_processor, categories)
        prepare = torch.nn.Identity()

    def embed_frames(frames: torch.Tensor) -> torch.Tensor:
        return backbone(prepare(frames)).feature_maps[-1].mean(dim=(2, 3))

    with all_cores():
        accuracy = {
            "audio_encoder": pretrain_classifier(
                audio,
                lambda features: audio(features).audio_embeds,
                audio.config.embedding_size,
                sounds,
                sound_labels,
                len(categories),
                epochs=size.audio_pretraining_epochs,
                seed=seed,
            ),
            "backbone": pretrain_classifier(
                backbone,
                embed_frames,
                backbone.channels[-1],
                frames,
                frame_labels,
                len(categories),
                epochs=size.visual_pretraining_epochs,
                seed=seed,
            ),
        }
    encoders = {"audio_encoder": audio.state_dict(), "backbone": backbone.state_dict()}
    summary = {
        "categories": categories,
        "train_accuracy": accuracy,
        "epochs": {"audio_encoder": size.audio_pretraining_epochs, "backbone": size.visual_pretraining_epochs},
        "backbone_frames": len(frame_labels),
        "settings": encoder_settings(size, seed),
    }
    with atomic_directory(output / FOLDER) as temporary:
        for name, state in encoders.items():
            save_file({key: value.contiguous() for key, value in state.items()}, temporary / f"{name}.safetensors")
        write_json_atomic(temporary / "pretraining.json", summary)
    return encoders


@contextmanager
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


__all__ = ["ENCODERS", "all_cores", "available_cores", "encoder_settings", "load_encoders", "pretrain_encoders"]
