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


PREDICTION_INPUT_TYPES = ("probabilities", "binary")
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def prediction_from_image(image: Image.Image, input_type: str) -> np.ndarray:
    """
    Read a prediction image explicitly by its mode; whatever would be a guess is a `ValueError`:

    - `"binary"` → bool `[H, W]`, foreground where non-zero ([`mask_from_image`]: any integer mode, 8- or 16-bit);
      a floating-point image (`F`) must hold only 0 and 1.
    - `"probabilities"` → float32 `[H, W]` in [0, 1]: 8-bit grey (`L`) `value / 255`, 16-bit grey (`I;16`, or `I`
      within 0-65535) `value / 65535`, floating point (`F`) as is (it must lie in [0, 1]), 1-bit (`1`) 0 or 1, and
      RGB only when it is grey (R = G = B) as `value / 255`. Colour, palette and alpha images are an error.
    """
    if input_type not in PREDICTION_INPUT_TYPES:
        raise ValueError(f"input_type must be one of {PREDICTION_INPUT_TYPES}, got {input_type!r}")
    values = np.asarray(image) if image.mode in ("F", *_SIXTEEN_BIT_MODES) else None
    if image.mode == "F" and not np.all(np.isfinite(values)):
        raise ValueError("is a floating-point image with NaN or infinite values")
    if input_type == "binary":
        if image.mode == "F" and not np.isin(values, (0.0, 1.0)).all():
            raise ValueError(
                "is a floating-point image with values other than 0 and 1, not a binary mask (use --input-type "
                "probabilities for probability maps)"
            )
        return values != 0 if values is not None else mask_from_image(image)
    if image.mode == "L":
        return np.asarray(image, dtype=np.float32) / 255
    if image.mode == "1":
        return np.asarray(image, dtype=np.float32)
    if image.mode == "F":
        if values.min(initial=0.0) < 0 or values.max(initial=0.0) > 1:
            raise ValueError(
                f"is a floating-point image with values in [{values.min()}, {values.max()}]; probabilities must lie "
                "in [0, 1]"
            )
        return values.astype(np.float32)
    if image.mode in _SIXTEEN_BIT_MODES:
        if values.min(initial=0) < 0 or values.max(initial=0) > 65535:
            raise ValueError(
                "is a 32-bit integer image with values outside 0-65535; save probabilities as 8 or 16 bits"
            )
        return values.astype(np.float32) / 65535
    if image.mode == "RGB":
        rgb = np.asarray(image)
        if (rgb == rgb[..., :1]).all():
            return rgb[..., 0].astype(np.float32) / 255
    raise ValueError(
        f"is a {image.mode} image; probability maps must be greyscale (8-bit, 16-bit or floating point in [0, 1], or "
        "RGB with equal channels)"
    )


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
