"""Mask overlays of audio-visual segmentation results, and their GIF / MP4 animations."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .atomic_files import atomic_path

MASK_COLOR = (255, 32, 96)


def overlay_mask(
    frame: np.ndarray,
    mask: np.ndarray,
    color: tuple[int, int, int] = MASK_COLOR,
    alpha: float = 0.5,
    caption: str | None = None,
) -> np.ndarray:
    """
    Tint the mask pixels of a frame and outline the mask.

    Args:
        frame: uint8 RGB `[H, W, 3]`.
        mask: `[H, W]`, non-zero = foreground.
        color: RGB colour of the tint and outline.
        alpha: opacity of the tint in [0, 1].
        caption: optional text drawn on a dark band at the top-left.

    Returns:
        uint8 RGB `[H, W, 3]`.
    """
    if frame.shape[:2] != mask.shape:
        raise ValueError(f"frame {frame.shape[:2]} and mask {mask.shape} must have the same height and width")
    foreground = mask.astype(bool)
    result = frame.astype(np.float32)
    tint = np.asarray(color, dtype=np.float32)
    result[foreground] = (1 - alpha) * result[foreground] + alpha * tint
    interior = foreground.copy()
    interior[1:, :] &= foreground[:-1, :]
    interior[:-1, :] &= foreground[1:, :]
    interior[:, 1:] &= foreground[:, :-1]
    interior[:, :-1] &= foreground[:, 1:]
    result[foreground & ~interior] = tint
    image = Image.fromarray(result.round().astype(np.uint8))
    if caption:
        draw = ImageDraw.Draw(image)
        left, top, right, bottom = draw.textbbox((2, 1), caption)
        draw.rectangle((0, 0, right + 2, bottom + 1), fill=(0, 0, 0))
        draw.text((2, 1), caption, fill=(255, 255, 255))
    return np.asarray(image)


def write_gif(frames: Sequence[np.ndarray], path: str | Path, seconds_per_frame: float = 1.0) -> Path:
    """Write uint8 RGB frames `[H, W, 3]` as a looping GIF (atomically: temporary file, then rename)."""
    path = Path(path)
    images = [Image.fromarray(frame) for frame in frames]
    with atomic_path(path) as temporary:
        images[0].save(
            temporary,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=int(seconds_per_frame * 1000),
            loop=0,
        )
    return path


def write_mp4(
    frames: Sequence[np.ndarray],
    path: str | Path,
    seconds_per_frame: float = 1.0,
    audio: np.ndarray | None = None,
    sampling_rate: int = 16000,
) -> Path:
    """
    Write uint8 RGB frames `[H, W, 3]` as an MP4 video (H.264 when FFmpeg has libx264, else MPEG-4 Part 2), each
    frame shown `seconds_per_frame`, with an optional mono float waveform `[samples]` in [-1, 1] as an AAC track.
    Written atomically (temporary file, then rename).
    """
    import av

    path = Path(path)
    height, width = frames[0].shape[:2]
    even_height, even_width = height + height % 2, width + width % 2  # yuv420p needs even sizes
    with atomic_path(path) as temporary, av.open(str(temporary), mode="w", format="mp4") as container:
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"  # H.264 plays in browsers
        stream = container.add_stream(codec, rate=1 / Fraction(seconds_per_frame).limit_denominator())
        stream.width, stream.height, stream.pix_fmt = even_width, even_height, "yuv420p"
        audio_stream = None
        if audio is not None:
            audio_stream = container.add_stream("aac", rate=sampling_rate)
            audio_stream.layout = "mono"
        for frame in frames:
            padded = np.pad(frame, ((0, even_height - height), (0, even_width - width), (0, 0)), mode="edge")
            for packet in stream.encode(av.VideoFrame.from_ndarray(padded, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio_stream is not None:
            samples = np.asarray(audio, dtype=np.float32)[None]
            for start in range(0, samples.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(samples[:, start : start + 1024]), format="fltp", layout="mono"
                )
                chunk.sample_rate, chunk.pts = sampling_rate, start
                for packet in audio_stream.encode(chunk):
                    container.mux(packet)
            for packet in audio_stream.encode():
                container.mux(packet)
    return path


__all__ = ["MASK_COLOR", "overlay_mask", "write_gif", "write_mp4"]
