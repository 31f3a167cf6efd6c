"""`avs-robust evaluate-masks`: score mask PNGs written by any AVS model on AVSBench-Robust.

Layout of `--predictions DIR`: `DIR/<condition>/<video_id>/<frame>.png`, where `<condition>` is `positive`,
`silence`, `noise`, `offscreen`, `unseen:<clip>` or a name given with `--extra-condition`, `<video_id>` is the
dataset's `video_id` and `<frame>` the frame index 0-4 (the position in the dataset's `masks` list; the original
AVSBench files `<name>_1.png ... <name>_5.png` are frames 0-4). With `--input-type probabilities` a PNG holds the
foreground probability as 8-bit grey (p = value / 255, foreground when p > 0.5, i.e. value >= 128); with
`--input-type binary` any non-zero value (palette index for palette PNGs) is foreground. Only frames with a
ground-truth mask are scored; they must all be present, at the size of the ground truth.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..atomic_files import write_json_atomic
from ..data.schema import CONDITIONS, UNSEEN_PREFIX
from ..metrics.evaluator import RobustAVSEvaluator
from ..metrics.reference_masks import load_reference_masks, mask_from_image
from ..metrics.scores import PROTOCOLS
from .main import CLIError


def _read_prediction(path: Path, input_type: str) -> np.ndarray:
    """`[H, W]` probabilities (float32) or foreground (bool) of one prediction PNG."""
    try:
        with Image.open(path) as image:
            if input_type == "binary":
                return mask_from_image(image)
            return np.asarray(image.convert("L"), dtype=np.float32) / 255
    except OSError as error:
        raise CLIError(f"cannot read prediction {path}: {error}") from error


def _condition_folders(predictions: Path, extra_conditions: list[str]) -> list[str]:
    if not predictions.is_dir():
        raise CLIError(f"--predictions {predictions} is not a directory")
    conditions = sorted(entry.name for entry in predictions.iterdir() if entry.is_dir())
    if not conditions:
        raise CLIError(f"--predictions {predictions} has no condition folders (expected <condition>/<video_id>/0.png)")
    known = set(CONDITIONS) | set(extra_conditions)
    unknown = [name for name in conditions if name not in known and not name.startswith(UNSEEN_PREFIX)]
    if unknown:
        raise CLIError(
            f"unknown condition folder(s) {unknown} in {predictions}; expected {list(CONDITIONS)}, "
            f"'{UNSEEN_PREFIX}<clip>', or names passed with --extra-condition"
        )
    return conditions


def evaluate_mask_folder(
    predictions: Path,
    references: dict[str, list[np.ndarray | None]],
    evaluator: RobustAVSEvaluator,
    extra_conditions: Sequence[str] = (),
) -> dict:
    """Feed every annotated frame of every condition folder to `evaluator` and return `evaluator.compute()`."""
    for condition in _condition_folders(predictions, list(extra_conditions)):
        folder = predictions / condition
        unknown_videos = sorted({entry.name for entry in folder.iterdir() if entry.is_dir()} - set(references))
        if unknown_videos:
            raise CLIError(
                f"{folder} has {len(unknown_videos)} video folder(s) not in the dataset split, e.g. "
                f"{unknown_videos[:3]} (wrong --split or --config?)"
            )
        missing = [
            folder / video_id / f"{frame}.png"
            for video_id, masks in references.items()
            for frame, mask in enumerate(masks)
            if mask is not None and not (folder / video_id / f"{frame}.png").is_file()
        ]
        if missing:
            raise CLIError(
                f"{len(missing)} prediction frame(s) missing for condition {condition!r}, e.g. "
                + ", ".join(str(path) for path in missing[:3])
            )
        for video_id, masks in references.items():
            frames = [frame for frame, mask in enumerate(masks) if mask is not None]
            if not frames:
                continue
            pixels = []
            for frame in frames:
                path = folder / video_id / f"{frame}.png"
                prediction = _read_prediction(path, evaluator.input_type)
                if prediction.shape != masks[frame].shape:
                    raise CLIError(
                        f"{path} is {prediction.shape[1]}x{prediction.shape[0]} but its ground truth is "
                        f"{masks[frame].shape[1]}x{masks[frame].shape[0]} (width x height)"
                    )
                pixels.append(prediction)
            evaluator.update(
                torch.from_numpy(np.stack(pixels)),
                torch.from_numpy(np.stack([masks[frame] for frame in frames])),
                condition,
                [video_id] * len(frames),
            )
    return evaluator.compute()


def run(args: argparse.Namespace) -> int:
    try:
        references = load_reference_masks(args.dataset, args.split, args.config)
    except ValueError as error:
        raise CLIError(str(error)) from error
    if args.legacy_batch_videos < 1:
        raise CLIError(f"--legacy-batch-videos must be >= 1, got {args.legacy_batch_videos}")
    evaluator = RobustAVSEvaluator(args.protocol, args.input_type, legacy_batch_videos=args.legacy_batch_videos)
    results = evaluate_mask_folder(args.predictions, references, evaluator, args.extra_condition)
    results["input_type"] = args.input_type
    results["dataset"] = {"path": args.dataset, "config": args.config, "split": args.split}
    if args.output is not None:
        write_json_atomic(args.output, results)
    if args.plot is not None:
        evaluator.plot(args.plot, results, args.method)
    print(evaluator.to_markdown(results, args.method) if args.markdown else json.dumps(results, indent=2))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--predictions", type=Path, required=True, help="folder <condition>/<video_id>/<frame>.png")
    parser.add_argument(
        "--dataset", required=True, help="AVSBench-Robust dataset: local folder of Parquet files or Hub id"
    )
    parser.add_argument("--config", default=None, help="dataset configuration, e.g. s4 or ms3")
    parser.add_argument("--split", default="test", help="dataset split (default: test)")
    parser.add_argument(
        "--input-type",
        choices=("probabilities", "binary"),
        required=True,
        help="PNG content: 8-bit grey probabilities (value / 255) or binary masks (non-zero is foreground)",
    )
    parser.add_argument("--protocol", choices=PROTOCOLS, default="dataset", help="score reduction (default: dataset)")
    parser.add_argument(
        "--legacy-batch-videos", type=int, default=1, help="videos per evaluation batch for --protocol legacy"
    )
    parser.add_argument(
        "--extra-condition", action="append", default=[], help="accept this condition folder name (repeatable)"
    )
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON to this file")
    parser.add_argument("--plot", type=Path, default=None, help="save a bar chart of the results (png, pdf, svg)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table instead of JSON")
    parser.add_argument("--method", default="model", help="name of the method in the Markdown table and the plot")
