"""Conversion of any frame to what the models see: 8-bit RGB, with the checks every image input shares.

Rules (the one home of them; the media reader, the pipeline and the image processor use them):

- PIL images: 16-bit greyscale (`I;16*`, and `I` within 0-65535) is scaled to 8 bits (`value / 257`), float images
  (`F`) must hold values in [0, 1] (scaled by 255); every other mode is converted with Pillow (`convert("RGB")`).
- arrays and tensors, `[H, W]`, `[H, W, C]` or `[C, H, W]` with C in (1, 3, 4) (alpha is dropped): `uint8` as is,
  `bool` as 0/255, `uint16` scaled like 16-bit images, other integers within [0, 255] as is, floats in [0, 1]
  scaled by 255 and floats within [0, 255] rounded. Other values (negative, above 255, NaN, complex) are an error,
  never clipped.
- every frame has at least `MIN_IMAGE_SIDE` pixels per side.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

MIN_IMAGE_SIDE = 8
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
HIGH_BIT_DEPTH_MODES = (*SIXTEEN_BIT_MODES, "I", "F")  # what `convert("RGB")` clips instead of scaling
_CHANNEL_COUNTS = (1, 3, 4)


def check_image_size(height: int, width: int, what: str) -> None:
    """Raise a `ValueError` naming `what` when a side is shorter than `MIN_IMAGE_SIDE` pixels."""
    if min(height, width) < MIN_IMAGE_SIDE:
        raise ValueError(
            f"{what} is {width}x{height} pixels (width x height); frames need at least {MIN_IMAGE_SIDE} pixels "
            "per side"
        )


def _sixteen_bit_to_eight(values: np.ndarray) -> np.ndarray:
    return np.rint(values.astype(np.float32) / 257.0).astype(np.uint8)


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[..., None], 3, axis=-1)


def pil_to_rgb(image: Image.Image, what: str) -> np.ndarray:
    """A PIL image of any mode → uint8 RGB `[H, W, 3]` (see the module docstring for high bit depths)."""
    check_image_size(image.height, image.width, what)
    if image.mode in HIGH_BIT_DEPTH_MODES:
        values = np.asarray(image)
        if image.mode == "F":
            if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
                raise ValueError(
                    f"{what} is a floating-point image with values outside [0, 1] (or NaN); save it as 8- or 16-bit"
                )
            return _grey_to_rgb(np.rint(values * 255.0).astype(np.uint8))
        if values.min() < 0 or values.max() > 65535:
            raise ValueError(f"{what} is a 32-bit integer image with values outside 0-65535; save it as 8- or 16-bit")
        return _grey_to_rgb(_sixteen_bit_to_eight(values))
    try:
        return np.array(image.convert("RGB"))
    except ValueError as error:  # modes Pillow cannot convert, e.g. LAB
        raise ValueError(f"{what} has the image mode {image.mode}, which cannot be converted to RGB") from error


def channels_last(array: np.ndarray, what: str) -> np.ndarray:
    """`[H, W]`, `[H, W, C]` or `[C, H, W]` (C in 1, 3, 4; channels first when the first axis could be C, as
    transformers infers it) → `[H, W, C]`, after checking the size."""
    if array.ndim == 2:
        array = array[..., None]
    elif array.ndim != 3 or (array.shape[0] not in _CHANNEL_COUNTS and array.shape[-1] not in _CHANNEL_COUNTS):
        raise ValueError(f"{what} must be an image [H, W], [H, W, 3] or [3, H, W], got shape {list(array.shape)}")
    elif array.shape[0] in _CHANNEL_COUNTS:
        array = array.transpose(1, 2, 0)
    check_image_size(array.shape[0], array.shape[1], what)
    return array


def check_pixel_values(array: np.ndarray, what: str) -> None:
    """Reject complex, non-numeric and non-finite pixel arrays, naming `what`."""
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        raise ValueError(f"{what} has the dtype {array.dtype}; images hold real numbers (uint8 or float)")
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contains NaN or infinite values")


def to_uint8(array: np.ndarray, what: str) -> np.ndarray:
    """Pixel values of any supported dtype → uint8, by the rules of the module docstring."""
    check_pixel_values(array, what)
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if array.dtype == np.uint16:
        return _sixteen_bit_to_eight(array)
    low, high = (array.min(), array.max()) if array.size else (0, 0)
    if low < 0 or high > 255:
        raise ValueError(
            f"{what} has values in [{low}, {high}]; pass uint8 RGB, 16-bit, or floats in [0, 1] (values are not "
            "clipped)"
        )
    if np.issubdtype(array.dtype, np.floating) and high <= 1.0:
        array = array * 255.0
    return np.rint(array).astype(np.uint8)


def to_rgb_frame(frame: Any, what: str) -> np.ndarray:
    """A PIL image, array or tensor → uint8 RGB `[H, W, 3]`; every problem is a `ValueError` naming `what`."""
    if isinstance(frame, Image.Image):
        return pil_to_rgb(frame, what)
    if hasattr(frame, "detach"):  # a torch tensor, without importing torch here
        frame = frame.detach().cpu().numpy()
    array = channels_last(np.asarray(frame), what)
    array = to_uint8(array, what)
    if array.shape[-1] == 1:
        return np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[..., :3])


__all__ = [
    "HIGH_BIT_DEPTH_MODES",
    "MIN_IMAGE_SIDE",
    "channels_last",
    "check_image_size",
    "check_pixel_values",
    "pil_to_rgb",
    "to_rgb_frame",
    "to_uint8",
]
