"""Decoding of user media for inference: videos (frames + audio track), images and audio files.

Frames are sampled as the AVSBench preprocessing did: for second `l` of a video at `fps` (rounded) frames per
second, the decoded frame `int(l * fps + 15/16 * fps)` (near the end of the second) is kept, clamped to the last
frame. A clip of D seconds gives `T = max(1, round(D))` frames (a second counts from its first half), capped at
`MediaLimits.max_seconds`: longer media are truncated to their first `max_seconds` seconds with a
[`MediaWarning`]. Audio is returned at its own rate as float32 `[samples, channels]`; the VGGish feature
extractor down-mixes and resamples it. Images are opened only in the formats of `IMAGE_FORMATS` (whatever their
extension: no other Pillow plugin runs) and converted to 8-bit RGB by `modeling_avs.image_conversion`.

Every error is a [`MediaError`] (a `ValueError`) whose message names the file by its name (never the folder it was
uploaded to) and says what is wrong in words (never a raw errno).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .image_conversion import pil_to_rgb

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")
# The Pillow formats of IMAGE_EXTENSIONS (JPEG includes the multi-picture JPEG of many cameras).
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "WEBP", "GIF", "TIFF")
VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".mov", ".avi", ".m4v")
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".opus", ".webm")


class MediaError(ValueError):
    """A user file that cannot be used: missing, unreadable, unsupported, without the needed stream, too large."""


class MediaWarning(UserWarning):
    """Input that was used after an adjustment the user should know about (truncated, padded, silence used)."""


@dataclass(frozen=True)
class MediaLimits:
    """
    Limits applied to user media before anything large is decoded.

    Args:
        max_seconds (`int`, defaults to 20): Longest clip used, in seconds (= frames T); longer media are
            truncated to their beginning with a warning.
        max_pixels (`int`, defaults to 1920·1080): Largest frame or image (width × height).
        max_file_bytes (`int`, defaults to 200 MiB): Largest file accepted.
    """

    max_seconds: int = 20
    max_pixels: int = 1920 * 1080
    max_file_bytes: int = 200 * 2**20

    def __post_init__(self):
        for name in ("max_seconds", "max_pixels", "max_file_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"MediaLimits.{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class DecodedVideo:
    """
    Frames sampled once per second and the audio track of a video.

    Attributes:
        frames: T frames, each uint8 `[H, W, 3]` RGB.
        frame_indices: index of each kept frame among the decoded frames.
        frame_times: presentation time of each kept frame in seconds.
        fps: average frame rate of the video stream.
        audio: the audio track, float32 `[samples, channels]`, or None when the file has none.
        sampling_rate: rate of `audio` (None without audio).
        truncated: whether the video was longer than `MediaLimits.max_seconds`.
    """

    frames: list[np.ndarray]
    frame_indices: list[int]
    frame_times: list[float]
    fps: float
    audio: np.ndarray | None
    sampling_rate: int | None
    truncated: bool


def clip_seconds(duration: float) -> int:
    """Number of one-second frames T of a clip of `duration` seconds: `max(1, round(duration))` (halves up)."""
    return max(1, int(math.floor(duration + 0.5)))


def second_end_frame_indices(num_seconds: int, fps: float) -> list[int]:
    """AVSBench frame sampling: index `int(l * fps + 15/16 * fps)` for each second `l` (fps rounded)."""
    fps = max(1, round(fps))
    return [int(second * fps + 15 / 16 * fps) for second in range(num_seconds)]


def file_name(path: str | Path) -> str:
    """How messages name a user file: by its name (the server folder of an upload is nobody's business)."""
    return Path(path).name


def reason(error: BaseException) -> str:
    """The words of an OS or FFmpeg error without its errno and file name (`strerror` when there is one)."""
    return getattr(error, "strerror", None) or str(error)


def check_file(path: str | Path, limits: MediaLimits, what: str) -> Path:
    """Return `path` as a `Path` after checking that it is an existing file within the size limit."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{what} file {file_name(path)} does not exist or is not a file")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{what} file {file_name(path)} is empty")
    if size > limits.max_file_bytes:
        raise MediaError(
            f"{what} file {file_name(path)} is {size / 2**20:.1f} MiB, more than the limit of "
            f"{limits.max_file_bytes / 2**20:.0f} MiB"
        )
    return path


def _check_pixels(path: Path, width: int, height: int, limits: MediaLimits) -> None:
    if width * height > limits.max_pixels:
        raise MediaError(
            f"{file_name(path)} has {width}x{height} pixels per frame, more than the limit of {limits.max_pixels} "
            "(resize it first)"
        )


def open_image(path: str | Path, what: str = "image") -> Image.Image:
    """
    Open (lazily, as `Image.open`) an image file of one of the `IMAGE_FORMATS`; any other content, e.g. an EPS or
    PDF file named `.png`, is a [`MediaError`] before a Pillow plugin for it runs.
    """
    Image.init()  # registers every format plugin (without running one), so that IMAGE_FORMATS are all known
    try:
        return Image.open(path, formats=IMAGE_FORMATS)
    except Image.UnidentifiedImageError as error:
        raise MediaError(
            f"{what} file {file_name(path)} is not an image in a supported format ({', '.join(IMAGE_FORMATS)}) or "
            "is corrupt"
        ) from error
    except (OSError, Image.DecompressionBombError) as error:
        raise MediaError(f"cannot read {what} file {file_name(path)}: {reason(error)}") from error


def read_image(path: str | Path, limits: MediaLimits | None = None) -> np.ndarray:
    """Read an image file as uint8 RGB `[H, W, 3]`; the pixel limit is checked before decoding."""
    limits = limits or MediaLimits()
    path = check_file(path, limits, "image")
    with open_image(path) as image:
        _check_pixels(path, image.width, image.height, limits)
        try:
            return pil_to_rgb(image, f"image file {file_name(path)}")
        except (OSError, SyntaxError, Image.DecompressionBombError) as error:  # decoding
            raise MediaError(f"cannot read image file {file_name(path)}: {reason(error)}") from error
        except ValueError as error:  # the conversion's checks (size, bit depth)
            raise MediaError(str(error)) from error


def _open_container(path: Path, what: str):
    import av

    try:
        return av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError) as error:
        raise MediaError(
            f"cannot open {what} file {file_name(path)} (unsupported or corrupt): {reason(error)}"
        ) from error


def read_audio(path: str | Path, limits: MediaLimits | None = None) -> tuple[np.ndarray, int]:
    """
    Decode the first audio stream of any file FFmpeg reads (WAV, FLAC, OGG, MP3, M4A, or a video's track).

    Returns:
        `(waveform, sampling_rate)`: float32 `[samples, channels]` at the file's rate, at most `limits.max_seconds`
        seconds plus one more sample when the file is longer: callers see that it was truncated (and warn about it,
        see [`MediaWarning`]) and cut it to their clip.
    """
    limits = limits or MediaLimits()
    path = check_file(path, limits, "audio")
    with _open_container(path, "audio") as container:
        waveform, sampling_rate = _decode_audio_stream(container, path, limits.max_seconds, extra_samples=1)
    if waveform is None:
        raise MediaError(f"{file_name(path)} has no audio stream")
    return waveform, sampling_rate


def _decode_audio_stream(
    container, path: Path, max_seconds: float, extra_samples: int = 0
) -> tuple[np.ndarray | None, int | None]:
    """Decode up to `max_seconds` (+ `extra_samples`) of the first audio stream of an open container →
    `[samples, channels]`."""
    import av

    if not container.streams.audio:
        return None, None
    stream = container.streams.audio[0]
    sampling_rate = stream.codec_context.sample_rate or stream.rate
    if not sampling_rate:
        raise MediaError(f"audio stream of {file_name(path)} has no sampling rate")
    max_samples = int(max_seconds * sampling_rate) + extra_samples
    resampler = av.AudioResampler(format="fltp", layout=stream.layout.name if stream.layout else None)
    chunks, total = [], 0
    try:
        for frame in container.decode(stream):
            for planar in resampler.resample(frame):
                chunk = planar.to_ndarray()  # [channels, samples]
                chunks.append(chunk)
                total += chunk.shape[1]
            if total >= max_samples:
                break
    except av.FFmpegError as error:
        raise MediaError(f"cannot decode the audio of {file_name(path)}: {reason(error)}") from error
    if not chunks:
        raise MediaError(f"the audio stream of {file_name(path)} holds no samples")
    waveform = np.concatenate(chunks, axis=1)[:, :max_samples].T
    return np.ascontiguousarray(waveform, dtype=np.float32), int(sampling_rate)


def read_video(path: str | Path, limits: MediaLimits | None = None, with_audio: bool = True) -> DecodedVideo:
    """
    Decode a video file: one frame per second (AVSBench sampling, see the module docstring) and the audio track.

    Raises:
        MediaError: when the file is missing, too large, not a video, has oversized frames or no frames.
    """
    import av

    limits = limits or MediaLimits()
    path = check_file(path, limits, "video")
    with _open_container(path, "video") as container:
        if not container.streams.video:
            raise MediaError(f"{file_name(path)} has no video stream")
        stream = container.streams.video[0]
        _check_pixels(path, stream.codec_context.width, stream.codec_context.height, limits)
        fps = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
        wanted = second_end_frame_indices(limits.max_seconds, fps)
        wanted_set = set(wanted)
        # Decoding stops once the clip would count more than `max_seconds` seconds (see `clip_seconds`).
        stop_count = math.ceil((limits.max_seconds + 0.5) * fps)
        kept: dict[int, tuple[np.ndarray, float]] = {}
        last = None
        count = 0
        try:
            for frame in container.decode(stream):
                _check_pixels(path, frame.width, frame.height, limits)
                time = float(frame.time) if frame.time is not None else count / fps
                if count in wanted_set:
                    kept[count] = (frame.to_ndarray(format="rgb24"), time)
                last = (count, frame, time)
                count += 1
                if count >= stop_count:
                    break
        except av.FFmpegError as error:
            raise MediaError(f"cannot decode the video stream of {file_name(path)}: {reason(error)}") from error
        if last is None:
            raise MediaError(f"the video stream of {file_name(path)} holds no frames")
    last_index, last_frame, last_time = last
    truncated = count >= stop_count
    duration = count / fps
    num_seconds = min(clip_seconds(duration), limits.max_seconds)
    frames, indices, times = [], [], []
    for index in wanted[:num_seconds]:
        if index not in kept:  # beyond the last frame: clamp, as AVSBench did
            index = last_index
            kept.setdefault(index, (last_frame.to_ndarray(format="rgb24"), last_time))
        frames.append(kept[index][0])
        indices.append(index)
        times.append(kept[index][1])
    audio = sampling_rate = None
    if with_audio:
        with _open_container(path, "video") as container:
            audio, sampling_rate = _decode_audio_stream(container, path, limits.max_seconds)
    return DecodedVideo(frames, indices, times, fps, audio, sampling_rate, truncated)


def media_kind(path: str | Path) -> str:
    """`"image"` or `"video"` from the file extension; other extensions are probed as videos."""
    return "image" if Path(path).suffix.lower() in IMAGE_EXTENSIONS else "video"


__all__ = [
    "AUDIO_EXTENSIONS",
    "DecodedVideo",
    "IMAGE_EXTENSIONS",
    "IMAGE_FORMATS",
    "MediaError",
    "MediaLimits",
    "MediaWarning",
    "VIDEO_EXTENSIONS",
    "clip_seconds",
    "check_file",
    "file_name",
    "media_kind",
    "open_image",
    "read_audio",
    "read_image",
    "read_video",
    "reason",
    "second_end_frame_indices",
]
