"""Which Trainer checkpoint a run resumes from: the newest complete one, skipping one interrupted while being saved."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from ..model_files import weights_problem

logger = logging.getLogger(__name__)

TRAINER_STATE_NAME = "trainer_state.json"  # the file `Trainer._save_checkpoint` writes last
_CHECKPOINT_NAME = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")


def checkpoint_problem(checkpoint: str | Path) -> str | None:
    """Why the checkpoint folder is incomplete (no or a truncated `trainer_state.json`, unreadable weights), or None."""
    state = Path(checkpoint) / TRAINER_STATE_NAME
    if not state.is_file():
        return f"it has no {TRAINER_STATE_NAME}, which the Trainer writes last"
    try:
        json.loads(state.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return f"its {TRAINER_STATE_NAME} is truncated"
    return weights_problem(checkpoint)


def last_complete_checkpoint(folder: str | Path) -> str | None:
    """
    The newest `checkpoint-<step>` folder of `folder` that is complete (see `checkpoint_problem`), or None. Newer
    incomplete ones, left by a run killed while saving, are skipped with a warning; the Trainer overwrites them when
    the resumed run saves that step again.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    steps = {int(match[1]): path for path in folder.iterdir() if (match := _CHECKPOINT_NAME.match(path.name))}
    chosen, skipped = None, []
    for step in sorted(steps, reverse=True):
        if steps[step].is_dir():
            problem = checkpoint_problem(steps[step])
            if problem is None:
                chosen = steps[step]
                break
            skipped.append((steps[step], problem))
    for path, problem in skipped:
        logger.warning(
            "skipping the incomplete checkpoint %s (%s): the run was interrupted while saving it; %s",
            path,
            problem,
            f"resuming from {chosen}" if chosen else "no complete checkpoint is left",
        )
    return None if chosen is None else str(chosen)


__all__ = ["checkpoint_problem", "last_complete_checkpoint"]
