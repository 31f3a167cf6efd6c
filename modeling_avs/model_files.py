"""Checks of a saved model folder before transformers loads it, so that a missing, truncated or mismatched weights
file is one sentence naming the file and the likely cause instead of a safetensors error or a loading report."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

SAFE_WEIGHTS_NAME = "model.safetensors"
SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
LEGACY_WEIGHTS_NAMES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
RESAVE = "save the model again with `save_pretrained`, or download it again"


class ModelFilesError(OSError):
    """A saved model whose files cannot be loaded; the message names the file and the likely cause."""


def _safetensors_files(folder: Path) -> list[Path]:
    """The safetensors files of a model folder (the shards of an index, or `model.safetensors`)."""
    index = folder / SAFE_WEIGHTS_INDEX_NAME
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ModelFilesError(
                f"{index} is not a valid weights index ({error}): it is probably truncated or corrupt; {RESAVE}"
            ) from error
        missing = [name for name in shards if not (folder / name).is_file()]
        if missing:
            raise ModelFilesError(
                f"{folder} lacks the weights shard(s) {missing[:3]} listed in {SAFE_WEIGHTS_INDEX_NAME}: the copy or "
                f"download is incomplete; {RESAVE}"
            )
        return [folder / name for name in shards]
    if (folder / SAFE_WEIGHTS_NAME).is_file():
        return [folder / SAFE_WEIGHTS_NAME]
    if any((folder / name).is_file() for name in LEGACY_WEIGHTS_NAMES):
        return []  # a PyTorch pickle: transformers checks it (weights_only loading)
    raise ModelFilesError(
        f"{folder} has no weights file ({SAFE_WEIGHTS_NAME}): it was saved or copied without its weights; {RESAVE}"
    )


def stored_shapes(folder: str | Path) -> dict[str, tuple[int, ...]]:
    """
    `{tensor name: shape}` of the weights of a saved model folder, read from the safetensors headers only.

    Raises:
        ModelFilesError: when the weights file is missing, or a file is truncated, empty or not safetensors.
    """
    shapes = {}
    for path in _safetensors_files(Path(folder)):
        try:
            with safe_open(str(path), framework="pt") as handle:
                shapes.update({name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()})
        except (SafetensorError, OSError) as error:
            raise ModelFilesError(
                f"{path} is not a readable safetensors file ({error}): it is probably truncated or corrupt, e.g. by "
                f"an interrupted download or copy; {RESAVE}"
            ) from error
    return shapes


def weights_problem(folder: str | Path) -> str | None:
    """The message of [`stored_shapes`]'s error for the model folder `folder`, or None when its weights are readable."""
    try:
        stored_shapes(folder)
    except ModelFilesError as error:
        return str(error)
    return None


def check_weights_fit(model_class, folder: str | Path, config) -> None:
    """
    Raise a [`ModelFilesError`] when the weights of `folder` are unreadable or do not have the shapes of a
    `model_class` built from `config` (built on the meta device: no memory, no pretrained backbone download).
    """
    stored = stored_shapes(folder)
    config = copy.deepcopy(config)
    if hasattr(config, "use_pretrained_backbone"):
        config.use_pretrained_backbone = False
    with torch.device("meta"):
        expected = {name: tuple(tensor.shape) for name, tensor in model_class(config).state_dict().items()}
    mismatched = [name for name in expected if name in stored and stored[name] != expected[name]]
    if mismatched:
        name = mismatched[0]
        raise ModelFilesError(
            f"the weights in {folder} do not fit its config.json: {len(mismatched)} tensor(s) have other shapes, "
            f"e.g. {name} is {list(stored[name])} in the file but {list(expected[name])} for the configured model; "
            "the weights and config.json come from different models (save them together with `save_pretrained`)"
        )


class CheckedLoadingMixin:
    """
    `from_pretrained` that checks a local model folder with [`check_weights_fit`] first and turns a safetensors error
    while loading (e.g. a corrupt file in the Hub cache) into a [`ModelFilesError`] naming the model.
    """

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        folder = Path(str(pretrained_model_name_or_path)) / kwargs.get("subfolder", "")
        if folder.is_dir() and not kwargs.get("ignore_mismatched_sizes"):
            config = kwargs.get("config")
            if not isinstance(config, cls.config_class):
                overrides = {key: kwargs[key] for key in kwargs.keys() & cls.config_class().to_dict().keys()}
                config = cls.config_class.from_pretrained(folder, **overrides)
            check_weights_fit(cls, folder, config)
        try:
            return super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        except SafetensorError as error:
            raise ModelFilesError(
                f"a weights file of {pretrained_model_name_or_path} is not readable ({error}): it is probably "
                f"truncated or corrupt, e.g. by an interrupted download; {RESAVE}"
            ) from error


__all__ = [
    "CheckedLoadingMixin",
    "ModelFilesError",
    "check_weights_fit",
    "stored_shapes",
    "weights_problem",
]
