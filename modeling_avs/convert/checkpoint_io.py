"""Safe reading of original checkpoints and strict loading of converted state dicts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn


def load_original_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """
    Read an original `.pth` checkpoint with `torch.load(weights_only=True)` (no pickled code is executed) and
    return its tensor state dict. Wrappers such as `{"state_dict": ...}` / `{"model": ...}` and DataParallel's
    `module.` prefix are removed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for corrupt or unsafe files
        raise ValueError(f"checkpoint {path} could not be read as a weights-only PyTorch file: {error}") from error
    for wrapper in ("state_dict", "model", "model_state_dict"):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(wrapper), dict):
            checkpoint = checkpoint[wrapper]
    if not isinstance(checkpoint, dict) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise ValueError(f"checkpoint {path} does not hold a state dict of tensors")
    return {key.removeprefix("module."): value for key, value in checkpoint.items()}


Replacement = str | Callable[[re.Match], str]


def rename_keys(
    state_dict: dict[str, torch.Tensor], rules: Iterable[tuple[str, Replacement]], source: str
) -> dict[str, torch.Tensor]:
    """
    Apply the first `(pattern, replacement)` rule whose regex matches the whole key (`replacement` as in
    `re.sub`). A key no rule matches is an error naming `source`, so that an unexpected checkpoint never
    converts silently into a partial model.
    """
    compiled = [(re.compile(pattern), replacement) for pattern, replacement in rules]
    converted = {}
    for key, value in state_dict.items():
        for pattern, replacement in compiled:
            if pattern.fullmatch(key):
                converted[pattern.sub(replacement, key)] = value
                break
        else:
            raise ValueError(f"{source}: unexpected key {key!r} (not part of the expected original architecture)")
    return converted


def load_converted_state_dict(
    model: nn.Module, state_dict: dict[str, torch.Tensor], new_modules: tuple[str, ...] = ()
) -> None:
    """
    Load `state_dict` into `model` strictly: every model key must be provided except those under the prefixes
    `new_modules` (modules the original does not have, which keep their initialisation); no key may be left over
    and every shape must match.
    """
    expected = model.state_dict()
    unexpected = sorted(set(state_dict) - set(expected))
    missing = sorted(k for k in set(expected) - set(state_dict) if not k.startswith(new_modules))
    mismatched = sorted(k for k in set(state_dict) & set(expected) if state_dict[k].shape != expected[k].shape)
    if unexpected or missing or mismatched:
        raise ValueError(
            f"converted state dict does not fit {type(model).__name__}: missing {missing[:10]} "
            f"({len(missing)}), unexpected {unexpected[:10]} ({len(unexpected)}), shape mismatch "
            f"{[(k, tuple(state_dict[k].shape), tuple(expected[k].shape)) for k in mismatched[:10]]}"
        )
    model.load_state_dict(state_dict, strict=False)
