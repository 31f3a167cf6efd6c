"""Frames and masks of the synthetic benchmark: textured class shapes moving over cluttered backgrounds.

Every object class has a distinct shape, colour and texture (`SyntheticClass`). A video's background is a
smooth random colour field with random rectangles and bars (clutter); each object
drifts by whole pixels from frame to frame. Masks are 0/255 single-channel images.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .schema import NUM_FRAMES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLACEMENT_TRIES = 100
PNG_UP_FILTER = 2  # each byte is stored as its difference to the byte above


@dataclass(frozen=True)
class SyntheticClass:
    """An object class: its S4 category name, MS3 object name, semantic group and appearance."""

    s4_category: str
    ms3_object: str
    group: str
    shape: str
    color: tuple[int, int, int]
    texture: str


SYNTHETIC_CLASSES: tuple[SyntheticClass, ...] = (
    SyntheticClass("playing_acoustic_guitar", "guitar", "music", "crescent", (230, 140, 30), "h_stripes"),
    SyntheticClass("playing_piano", "piano", "music", "square", (245, 245, 245), "v_stripes"),
    SyntheticClass("playing_violin", "violin", "music", "ellipse", (150, 60, 20), "solid"),
    SyntheticClass("male_speech", "man", "human", "cross", (40, 80, 230), "solid"),
    SyntheticClass("female_singing", "woman", "human", "triangle", (230, 40, 160), "dots"),
    SyntheticClass("baby_laughter", "baby", "human", "disk", (255, 200, 170), "rings"),
    SyntheticClass("dog_barking", "dog", "animal", "diamond", (120, 85, 50), "checker"),
    SyntheticClass("cat_meowing", "cat", "animal", "star", (130, 130, 140), "h_stripes"),
    SyntheticClass("mynah_bird_singing", "bird", "animal", "flower", (250, 230, 30), "solid"),
    SyntheticClass("race_car", "car", "device", "hexagon", (220, 20, 30), "checker"),
    SyntheticClass("ambulance_siren", "emergency-car", "device", "ring", (30, 200, 230), "solid"),
    SyntheticClass("lawn_mowing", "mower", "device", "dome", (40, 170, 50), "v_stripes"),
)


def shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside-test of a unit-radius shape at normalised coordinates `u, v` (`[H, W]` each) -> bool `[H, W]`."""
    radius2 = u * u + v * v
    if shape == "disk":
        return radius2 < 1
    if shape == "ring":
        return (radius2 < 1) & (radius2 > 0.3)
    if shape == "ellipse":
        return u * u + (v / 0.55) ** 2 < 1
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) < 0.8
    if shape == "diamond":
        return np.abs(u) + np.abs(v) < 1
    if shape == "cross":
        return ((np.abs(u) < 0.3) & (np.abs(v) < 1)) | ((np.abs(v) < 0.3) & (np.abs(u) < 1))
    if shape == "triangle":
        return (v < 0.5) & (0.866 * u - 0.5 * v < 0.5) & (-0.866 * u - 0.5 * v < 0.5)
    if shape == "hexagon":
        return (np.abs(v) < 0.87) & (np.abs(0.866 * u + 0.5 * v) < 0.87) & (np.abs(0.866 * u - 0.5 * v) < 0.87)
    if shape == "crescent":
        return (radius2 < 1) & ((u - 0.45) ** 2 + (v + 0.1) ** 2 > 0.6)
    if shape == "dome":
        return (radius2 < 1) & (v < 0.2)
    angle = np.arctan2(v, u)
    if shape == "star":
        return np.sqrt(radius2) < 0.55 + 0.45 * np.cos(5 * angle)
    if shape == "flower":
        return np.sqrt(radius2) < 0.5 + 0.5 * np.abs(np.cos(2 * angle))
    raise ValueError(f"unknown shape {shape!r}")


def texture_mask(texture: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Where the texture shows its second colour, bool `[H, W]` (normalised coordinates as `shape_mask`)."""
    if texture == "solid":
        return np.zeros(u.shape, dtype=bool)
    if texture == "h_stripes":
        return (np.floor(v * 3) % 2).astype(bool)
    if texture == "v_stripes":
        return (np.floor(u * 3) % 2).astype(bool)
    if texture == "checker":
        return ((np.floor(u * 2.5) + np.floor(v * 2.5)) % 2).astype(bool)
    if texture == "dots":
        return ((u * 3 - np.round(u * 3)) ** 2 + (v * 3 - np.round(v * 3)) ** 2) < 0.09
    if texture == "rings":
        return (np.floor(np.sqrt(u * u + v * v) * 4) % 2).astype(bool)
    raise ValueError(f"unknown texture {texture!r}")


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Cluttered background, uint8 `[size, size, 3]`: a smooth random colour field with 6-10 flat rectangles and
    bars of random colours (no per-pixel noise, which would make PNG encoding several times slower)."""
    coarse = rng.integers(40, 216, (4, 4, 3), dtype=np.uint8)
    field = np.array(Image.fromarray(coarse).resize((size, size), Image.Resampling.BILINEAR))
    count = int(rng.integers(6, 11))
    extents = rng.integers(max(2, size // 24), max(3, size // 4), (count, 2))
    corners = rng.integers(0, size - extents.min(1, keepdims=True), (count, 2))
    colors = rng.integers(30, 226, (count, 3), dtype=np.uint8)
    for (width, height), (left, top), color in zip(extents.tolist(), corners.tolist(), colors):
        field[top : top + height, left : left + width] = color
    return field


@dataclass(frozen=True)
class PlacedObject:
    """An object of class `cls` centred at `center` (pixels, first frame) with radius `radius`, moving by
    `velocity` pixels per frame, rotated by `angle` (radians), with its colour shifted by `color_shift`."""

    cls: SyntheticClass
    center: tuple[float, float]
    radius: float
    velocity: tuple[float, float]
    angle: float
    color_shift: tuple[int, int, int]


def place_objects(
    rng: np.random.Generator, classes: list[SyntheticClass], size: int, radius_range: tuple[float, float]
) -> list[PlacedObject]:
    """Place the objects at random, non-overlapping positions (radius as a fraction of `size`): each object takes
    the first of `PLACEMENT_TRIES` random centres that keeps clear of the objects placed before it (the first
    centre if none does)."""
    placed: list[PlacedObject] = []
    for cls in classes:
        radius = float(rng.uniform(*radius_range)) * size
        margin = radius * 1.15 + size * 0.04
        candidates = rng.uniform(margin, size - margin, (PLACEMENT_TRIES, 2))
        clear = np.ones(PLACEMENT_TRIES, dtype=bool)
        for other in placed:
            distance = np.hypot(candidates[:, 0] - other.center[0], candidates[:, 1] - other.center[1])
            clear &= distance > 1.1 * (radius + other.radius)
        center = candidates[int(np.argmax(clear))]
        velocity = rng.uniform(-0.025, 0.025, 2) * size
        angle = float(rng.uniform(-0.35, 0.35))
        color_shift = tuple(int(value) for value in rng.integers(-20, 21, 3))
        placed.append(
            PlacedObject(cls, (float(center[0]), float(center[1])), radius, tuple(velocity), angle, color_shift)
        )
    return placed


def object_sprite(placed: PlacedObject) -> tuple[int, int, np.ndarray, np.ndarray]:
    """Rasterise an object once: `(top, left, rgb uint8 [h, w, 3], inside bool [h, w])` at its first position."""
    extent = 1.15 * placed.radius  # every shape lies within 1.15 radii of its centre
    top, left = int(placed.center[1] - extent), int(placed.center[0] - extent)
    side = int(2 * extent) + 2
    axis = np.arange(side, dtype=np.float32) + np.float32(0.5)
    dx = (axis + np.float32(left - placed.center[0]))[None, :]
    dy = (axis + np.float32(top - placed.center[1]))[:, None]
    cos, sin = np.float32(math.cos(placed.angle) / placed.radius), np.float32(math.sin(placed.angle) / placed.radius)
    u, v = cos * dx + sin * dy, cos * dy - sin * dx
    inside = shape_mask(placed.cls.shape, u, v)
    color = np.clip(np.add(placed.cls.color, placed.color_shift), 0, 255).astype(np.uint8)
    rgb = np.where(texture_mask(placed.cls.texture, u, v)[..., None], color // 3, color)
    return top, left, rgb, inside


def render_video(
    rng: np.random.Generator, objects: list[PlacedObject], sounding: list[bool], size: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Render 5 frames (uint8 `[size, size, 3]`) and masks (uint8 `[size, size]`, 255 where a sounding object
    is visible) of the objects over a fresh background; objects move by whole pixels from frame to frame."""
    base = background(rng, size)
    sprites = [object_sprite(placed) for placed in objects]
    # Per-channel copies of the inside masks: `np.copyto` with a full-shape `where` is much faster than boolean
    # indexing or a broadcast `where`.
    inside_rgb = [np.repeat(inside[..., None], 3, axis=2) for _, _, _, inside in sprites]
    frames, masks = [], []
    for index in range(NUM_FRAMES):
        frame = base.copy()
        mask = np.zeros((size, size), dtype=np.uint8)
        for placed, is_sounding, (top, left, rgb, inside), inside3 in zip(objects, sounding, sprites, inside_rgb):
            top += round(placed.velocity[1] * index)
            left += round(placed.velocity[0] * index)
            height, width = inside.shape
            rows = slice(max(0, top), min(size, top + height))
            cols = slice(max(0, left), min(size, left + width))
            sprite_rows = slice(rows.start - top, rows.stop - top)
            sprite_cols = slice(cols.start - left, cols.stop - left)
            np.copyto(frame[rows, cols], rgb[sprite_rows, sprite_cols], where=inside3[sprite_rows, sprite_cols])
            np.copyto(mask[rows, cols], 255 if is_sounding else 0, where=inside[sprite_rows, sprite_cols])
        frames.append(frame)
        masks.append(mask)
    return frames, masks


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data and the CRC-32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def png_bytes(array: np.ndarray) -> bytes:
    """Lossless PNG encoding of a uint8 `[H, W]` (greyscale) or `[H, W, 3]` (RGB) array.

    Written directly (every row with the "Up" filter, zlib level 1): on these flat-coloured images this is about
    as small as Pillow's adaptive filtering and several times faster. Any PNG reader decodes it to `array`.
    """
    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise ValueError(f"png_bytes expects uint8 [H, W] or [H, W, 3], got {array.dtype} {list(array.shape)}")
    height, width = array.shape[:2]
    rows = np.ascontiguousarray(array).reshape(height, -1)
    filtered = np.empty((height, rows.shape[1] + 1), dtype=np.uint8)
    filtered[:, 0] = PNG_UP_FILTER
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # uint8 arithmetic wraps modulo 256, as PNG requires
    color_type = 0 if array.ndim == 2 else 2  # greyscale or RGB, 8 bits per sample
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(filtered, 1))
        + _png_chunk(b"IEND", b"")
    )
