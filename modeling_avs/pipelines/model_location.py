"""Where inference finds its models: the folders `avs-robust reproduce` writes, and how to explain a missing one."""

from __future__ import annotations

import re
from pathlib import Path

REPRODUCE_OUTPUT_DIR = "avs-robust-reproduce"  # `avs-robust reproduce`'s default output folder
REPRODUCE_MODELS_DIR = Path(REPRODUCE_OUTPUT_DIR) / "models"
DEFAULT_MODEL = REPRODUCE_MODELS_DIR / "robust"
DEFAULT_BASELINE_MODEL = REPRODUCE_MODELS_DIR / "baseline"
HOW_TO_GET_A_MODEL = (
    f"Train the models with `avs-robust reproduce` (it writes ./{REPRODUCE_MODELS_DIR.as_posix()}/{{baseline,"
    "negatives_only,robust}), or point to any folder written by `save_pretrained` (model + processor) or a Hub id."
)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def model_location_problem(location: str | Path) -> str | None:
    """
    Return None when `location` can be handed to `from_pretrained` (an existing model folder, or something shaped
    like a Hub id), otherwise a message saying what is wrong and how to get a model.
    """
    path = Path(location).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            return f"{path} is not a model folder (it has no config.json). {HOW_TO_GET_A_MODEL}"
        return None
    if path.exists():
        return f"{path} is a file, not a model folder. {HOW_TO_GET_A_MODEL}"
    if _HUB_ID.match(str(location)) and not str(location).startswith("."):
        return None
    return f"no model at {location}. {HOW_TO_GET_A_MODEL}"


__all__ = [
    "DEFAULT_BASELINE_MODEL",
    "DEFAULT_MODEL",
    "HOW_TO_GET_A_MODEL",
    "REPRODUCE_MODELS_DIR",
    "REPRODUCE_OUTPUT_DIR",
    "model_location_problem",
]
