"""Ground-truth masks of an AVSBench-Robust split, read from a dataset in the project's schema.

Schema: one row per video with `video_id` (`string`) and `masks` (a list of one `datasets.Image` per frame, `None`
where the frame has no annotation, e.g. frames 1-4 of S4 training videos).
"""

from __future__ import annotations

import datasets
import numpy as np
from PIL import Image


def mask_from_image(image: Image.Image) -> np.ndarray:
    """Boolean `[H, W]` foreground of a mask image: a non-zero palette index for palette (`P`) images, a non-zero
    value otherwise (after conversion to 8-bit grey), so 0/1, 0/255 and palette masks all work."""
    if image.mode == "P":
        return np.asarray(image) != 0
    return np.asarray(image.convert("L")) != 0


def load_reference_masks(
    dataset: str | datasets.Dataset, split: str = "test", config: str | None = None
) -> dict[str, list[np.ndarray | None]]:
    """Read `{video_id: [mask [H, W] bool, or None per frame]}` from a dataset in the AVSBench-Robust schema.

    Args:
        dataset (`str` or `datasets.Dataset`): a loaded split, or what `datasets.load_dataset` accepts: a local
            folder of Parquet files (as written by `Dataset.to_parquet`/`push_to_hub` layouts) or a Hub id.
        split (`str`, *optional*, defaults to `"test"`): split to load when `dataset` is a path or id.
        config (`str`, *optional*): configuration (e.g. `"s4"`, `"ms3"`) when `dataset` is a path or id.
    """
    if isinstance(dataset, str):
        try:
            dataset = datasets.load_dataset(dataset, config, split=split)
        except (FileNotFoundError, ValueError, ConnectionError) as error:  # missing path/id, split, config; offline
            raise ValueError(
                f"cannot load dataset {dataset!r} (config {config!r}, split {split!r}): {error}"
            ) from error
    missing = {"video_id", "masks"} - set(dataset.column_names)
    if missing:
        raise ValueError(f"dataset has no column(s) {sorted(missing)}; columns are {dataset.column_names}")
    references: dict[str, list[np.ndarray | None]] = {}
    for row in dataset.select_columns(["video_id", "masks"]):
        video_id = str(row["video_id"])
        if video_id in references:
            raise ValueError(f"video_id {video_id!r} appears more than once in the dataset")
        references[video_id] = [None if image is None else mask_from_image(image) for image in row["masks"]]
    return references
