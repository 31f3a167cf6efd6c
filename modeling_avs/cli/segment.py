"""`avs-robust segment`: segment the sounding object of one's own video (or image + audio).

Writes into `--output`:

- `masks/mask_<k>.png`: binary mask of frame k (0/255, at the input resolution);
- `overlay.gif` (or `overlay.mp4`): the frames with the mask tinted and the score written on them;
- `scores.json`: per frame the correspondence score `sigmoid(similarity)`, the foreground ratio (FPR under a
  negative condition), the gate decision, plus the settings and any input warnings.

The results are written into a temporary folder next to `--output` (`.<name>.<pid>-<random>.tmp`) that replaces
`--output` once complete: a run either leaves the complete results or, when interrupted (killed, disk full), the
previous content of `--output` and at most that temporary folder, which the next run deletes. So that nothing else
is replaced, an existing `--output` must be empty or hold only the results of an earlier run.
"""

from __future__ import annotations

import argparse
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic_files import atomic_directory, is_temporary, write_bytes_atomic, write_json_atomic
from ..audio_conditions import AudioCondition
from ..media import MediaError, MediaLimits, MediaWarning
from .main import CLIError
from .output_paths import check_output_folder, reporting_full_disk

OVERLAY_FORMATS = ("gif", "mp4", "none")
RESULT_ENTRIES = {"masks", "scores.json", *(f"overlay.{overlay}" for overlay in OVERLAY_FORMATS if overlay != "none")}


def _png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def save_results(
    results: list[dict], output_dir: Path, overlay_format: str, summary: dict, captions: bool = True
) -> dict:
    """
    Write masks, the overlay animation and `scores.json` for the per-frame `results` of the pipeline into a
    temporary folder that replaces `output_dir` when everything is written (see the module docstring).
    """
    with atomic_directory(output_dir) as folder:
        return _write_results(results, folder, overlay_format, summary, captions)


def _write_results(results: list[dict], folder: Path, overlay_format: str, summary: dict, captions: bool) -> dict:
    from ..visualization import overlay_mask, write_gif, write_mp4

    frames, mask_files = [], []
    for result in results:
        mask_path = folder / "masks" / f"mask_{result['index']:03d}.png"
        write_bytes_atomic(mask_path, _png_bytes(result["mask"] * np.uint8(255)))
        mask_files.append(mask_path.relative_to(folder).as_posix())
        caption = f"t={result['time']:.2f}s score={result['score']:.2f}" if captions else None
        frames.append(overlay_mask(result["frame"], result["mask"], caption=caption))
    overlay = None
    if overlay_format == "gif":
        overlay = write_gif(frames, folder / "overlay.gif")
    elif overlay_format == "mp4":
        overlay = write_mp4(frames, folder / "overlay.mp4")
    report = {
        **summary,
        "overlay": overlay.name if overlay else None,
        "mean_score": float(np.mean([result["score"] for result in results])),
        "fpr": float(np.mean([result["foreground_ratio"] for result in results])),
        "frames": [
            {
                "index": result["index"],
                "time": round(result["time"], 4),
                "score": result["score"],
                "foreground_ratio": result["foreground_ratio"],
                "sounding": result["sounding"],
                "mask": mask_file,
            }
            for result, mask_file in zip(results, mask_files)
        ],
    }
    write_json_atomic(folder / "scores.json", report)
    return report


def _check_output(path: str) -> Path:
    """
    `--output` as a `Path`: a writable folder that is new, empty or holds only the results of an earlier run (and
    temporaries of killed writes), and that is not the current folder or one above it.
    """
    output_dir = check_output_folder(path, "--output")
    current = Path.cwd().resolve()
    if output_dir.resolve() in (current, *current.parents):
        raise CLIError(f"--output {output_dir} is the current folder or holds it; the results replace the folder")
    if output_dir.is_dir():
        foreign = sorted(
            entry.name
            for entry in output_dir.iterdir()
            if entry.name not in RESULT_ENTRIES and not is_temporary(entry.name)
        )
        if foreign:
            raise CLIError(
                f"--output {output_dir} holds files that are not results of avs-robust segment (e.g. "
                f"{foreign[:3]}); the results replace the folder, so pass a new or empty folder"
            )
    return output_dir


def run(args: argparse.Namespace) -> int:
    try:
        condition = AudioCondition.parse(args.audio_condition)
        limits = MediaLimits(max_seconds=args.max_seconds)
    except ValueError as error:
        raise CLIError(str(error)) from error
    if not Path(args.input).is_file():
        raise CLIError(f"input {args.input} does not exist or is not a file")
    if args.audio is not None and not Path(args.audio).is_file():
        raise CLIError(f"--audio {args.audio} does not exist or is not a file")
    if condition.source is not None and not condition.source.is_file():
        raise CLIError(f"off-screen audio file {condition.source} does not exist or is not a file")
    output_dir = _check_output(args.output)

    import torch

    from ..inference import check_precision, configure_cpu_allocator
    from ..pipelines import load_segmenter

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        check_precision(args.precision, device)
    except ValueError as error:
        raise CLIError(f"--precision: {error}") from error
    configure_cpu_allocator()
    try:
        segmenter = load_segmenter(
            args.model,
            device=device,
            trust_remote_code=args.trust_remote_code,
        )
    except (OSError, ValueError) as error:
        raise CLIError(f"cannot load the model {args.model}: {error}") from error

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MediaWarning)
        try:
            results = segmenter(
                args.input,
                audio=args.audio,
                audio_condition=condition,
                strict_audio=args.strict_audio,
                limits=limits,
                seed=args.seed,
                threshold=args.threshold,
                gate_threshold=args.gate_threshold,
                precision=args.precision,
            )
        except (MediaError, ValueError) as error:
            raise CLIError(str(error)) from error
    notes = [str(warning.message) for warning in caught if issubclass(warning.category, MediaWarning)]
    for note in notes:
        print(f"avs-robust segment: warning: {note}")

    summary = {
        "input": str(args.input),
        "audio": str(args.audio) if args.audio else None,
        "audio_condition": str(condition),
        "model": str(args.model),
        "threshold": args.threshold,
        "gate_threshold": args.gate_threshold,
        "precision": args.precision,
        "warnings": notes,
    }
    with reporting_full_disk("--output", output_dir, "the previous content of the folder is unchanged"):
        report = save_results(results, output_dir, args.overlay, summary)
    print(
        f"{len(results)} frames, mean correspondence score {report['mean_score']:.3f}, "
        f"foreground ratio (FPR) {report['fpr']:.4f} -> {output_dir}"
    )
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Segment the sounding object of VIDEO_OR_IMAGE: one frame per second (AVSBench sampling), the video's "
        "audio track or --audio. Writes masks/mask_<k>.png, an overlay GIF/MP4 and scores.json to --output."
    )
    parser.add_argument("input", metavar="VIDEO_OR_IMAGE", help="video (mp4/webm/mkv/...) or image file")
    parser.add_argument("--audio", metavar="FILE", help="audio file (replaces the video's audio track)")
    parser.add_argument("--model", required=True, metavar="DIR_OR_HUB_ID", help="model folder or Hub id")
    parser.add_argument("--output", required=True, metavar="DIR", help="folder for masks, overlay and scores.json")
    parser.add_argument(
        "--audio-condition",
        default="original",
        metavar="CONDITION",
        help="original (default), silence, noise or offscreen:FILE: replace the audio by a negative",
    )
    parser.add_argument("--threshold", type=float, default=0.5, help="mask threshold on sigmoid(logits)")
    parser.add_argument(
        "--gate-threshold",
        type=float,
        default=None,
        help="empty the masks of frames whose correspondence score is below it (default: the model config's)",
    )
    parser.add_argument("--max-seconds", type=int, default=MediaLimits.max_seconds, help="longest clip used (s)")
    parser.add_argument(
        "--strict-audio",
        action="store_true",
        help="fail on a missing or too short audio track instead of using silence / repeating the last second",
    )
    parser.add_argument("--overlay", choices=OVERLAY_FORMATS, default="gif", help="overlay animation format")
    parser.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cuda if available)")
    parser.add_argument(
        "--precision",
        default="fp32",
        help="fp32 (default, the model's exact function); int8: dynamic int8 Linear layers (CPU); bf16: bfloat16 "
        "autocast (CPU only with native bf16); the reduced precisions are faster and less exact",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise condition")
    parser.add_argument(
        "--trust-remote-code", action="store_true", help="allow model code stored with a Hub checkpoint"
    )
