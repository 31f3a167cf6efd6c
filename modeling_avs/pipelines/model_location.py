"""Where inference finds its models: the folders `avs-robust reproduce` writes, how to explain a missing or broken
one, and the one way the CLI and the Space load a model into the pipeline."""

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
    Return None when `location` can be handed to `from_pretrained` (a model folder with readable weights, or
    something shaped like a Hub id), otherwise a message saying what is wrong and how to get a model.
    """
    path = Path(location).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            return f"{path} is not a model folder (it has no config.json). {HOW_TO_GET_A_MODEL}"
        from ..model_files import weights_problem

        return weights_problem(path)
    if path.exists():
        return f"{path} is a file, not a model folder. {HOW_TO_GET_A_MODEL}"
    if _HUB_ID.match(str(location)) and not str(location).startswith("."):
        return None
    return f"no model at {location}. {HOW_TO_GET_A_MODEL}"


def load_segmenter(location: str | Path, device: str | None = None, trust_remote_code: bool = False):
    """
    The `audio-visual-segmentation` pipeline of the model at `location` (folder or Hub id). The model is loaded with
    `AutoModel.from_pretrained` before the pipeline is built, so that a broken model is one `OSError` / `ValueError`
    naming its file (see `modeling_avs.model_files`), not the pipeline's report of every class it tried.
    """
    from transformers import AutoModel, AutoProcessor, pipeline

    from .audio_visual_segmentation import AUDIO_VISUAL_SEGMENTATION_TASK

    problem = model_location_problem(location)
    if problem:
        raise OSError(problem)
    model = AutoModel.from_pretrained(str(location), trust_remote_code=trust_remote_code)
    processor = AutoProcessor.from_pretrained(str(location), trust_remote_code=trust_remote_code)
    return pipeline(AUDIO_VISUAL_SEGMENTATION_TASK, model=model, processor=processor, device=device)


__all__ = [
    "DEFAULT_BASELINE_MODEL",
    "DEFAULT_MODEL",
    "HOW_TO_GET_A_MODEL",
    "REPRODUCE_MODELS_DIR",
    "REPRODUCE_OUTPUT_DIR",
    "load_segmenter",
    "model_location_problem",
]
