"""Frames and masks of the synthetic benchmark: textured class shapes moving over cluttered backgrounds.

Every object class has a distinct shape, colour and texture (`SyntheticClass`). A video's background is a
smooth random colour field with random rectangles and bars (clutter) plus fixed pixel noise; each object
drifts a few pixels per frame and wobbles in size. Masks are 0/255 single-channel images.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from .schema import NUM_FRAMES


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


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates `(x, y)`, each float32 `[size, size]`."""
    axis = np.arange(size, dtype=np.float32) + 0.5
    return np.meshgrid(axis, axis)


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
    """Cluttered background, uint8 `[size, size, 3]`: smooth colour field, 6-10 rectangles/bars, pixel noise."""
    coarse = rng.integers(40, 216, (4, 4, 3), dtype=np.uint8)
    field = np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BILINEAR), dtype=np.int16)
    for _ in range(int(rng.integers(6, 11))):
        width, height = rng.integers(max(2, size // 24), max(3, size // 4), 2)
        left, top = rng.integers(0, size - min(width, height), 2)
        field[top : top + height, left : left + width] = rng.integers(30, 226, 3)
    field += rng.integers(-10, 11, field.shape, dtype=np.int16)
    return field


@dataclass(frozen=True)
class PlacedObject:
    """An object of class `cls` centred at `center` (pixels) with radius `radius`, moving by `velocity` per
    frame, rotated by `angle` (radians), with its colour shifted by `color_shift`."""

    cls: SyntheticClass
    center: tuple[float, float]
    radius: float
    velocity: tuple[float, float]
    angle: float
    color_shift: tuple[int, int, int]


def place_objects(
    rng: np.random.Generator, classes: list[SyntheticClass], size: int, radius_range: tuple[float, float]
) -> list[PlacedObject]:
    """Place the objects at random, non-overlapping positions (radius as a fraction of `size`)."""
    placed: list[PlacedObject] = []
    for cls in classes:
        radius = float(rng.uniform(*radius_range)) * size
        margin = radius * 1.15 + size * 0.04
        for _ in range(100):
            center = rng.uniform(margin, size - margin, 2)
            if all(np.hypot(*(center - other.center)) > 1.1 * (radius + other.radius) for other in placed):
                break
        velocity = rng.uniform(-0.025, 0.025, 2) * size
        angle = float(rng.uniform(-0.35, 0.35))
        color_shift = tuple(int(value) for value in rng.integers(-20, 21, 3))
        placed.append(
            PlacedObject(cls, (float(center[0]), float(center[1])), radius, tuple(velocity), angle, color_shift)
        )
    return placed


def render_video(
    rng: np.random.Generator, objects: list[PlacedObject], sounding: list[bool], size: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Render 5 frames (uint8 `[size, size, 3]`) and masks (uint8 `[size, size]`, 255 where a sounding object
    is) of the given objects over a fresh background."""
    x, y = _grid(size)
    base = background(rng, size)
    frames, masks = [], []
    for index in range(NUM_FRAMES):
        frame = base.copy()
        mask = np.zeros((size, size), dtype=bool)
        for placed, is_sounding in zip(objects, sounding):
            scale = placed.radius * (1 + 0.05 * np.sin(index * 1.3))
            dx = x - (placed.center[0] + placed.velocity[0] * index)
            dy = y - (placed.center[1] + placed.velocity[1] * index)
            cos, sin = np.cos(placed.angle + 0.05 * index), np.sin(placed.angle + 0.05 * index)
            u, v = (cos * dx + sin * dy) / scale, (cos * dy - sin * dx) / scale
            inside = shape_mask(placed.cls.shape, u, v)
            color = np.clip(np.add(placed.cls.color, placed.color_shift), 0, 255)
            frame[inside] = color
            frame[inside & texture_mask(placed.cls.texture, u, v)] = color // 3
            mask[inside] = is_sounding
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
        masks.append(mask.astype(np.uint8) * 255)
    return frames, masks


def png_bytes(array: np.ndarray) -> bytes:
    """PNG encoding (fast compression) of a uint8 `[H, W]` or `[H, W, 3]` array."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
