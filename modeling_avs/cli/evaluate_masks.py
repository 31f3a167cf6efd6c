"""`avs-robust evaluate-masks`: score mask PNGs written by any AVS model on AVSBench-Robust.

Layout of `--predictions DIR`: `DIR/<condition>/<video_id>/<frame>.png`, where `<condition>` is `positive`,
`silence`, `noise`, `offscreen`, `unseen:<clip>` or a name given with `--extra-condition`, `<video_id>` is the
dataset's `video_id` and `<frame>` the frame index 0-4 (the position in the dataset's `masks` list; the original
AVSBench files `<name>_1.png ... <name>_5.png` are frames 0-4). With `--input-type probabilities` a PNG holds the
foreground probability as greyscale: 8-bit (p = value / 255, foreground when p > 0.5, i.e. value >= 128), 16-bit
(p = value / 65535) or floating point (p = value, in [0, 1]; e.g. a TIFF); with `--input-type binary` any non-zero
value (palette index for palette PNGs, any bit depth) is foreground, and a floating-point image must hold only 0
and 1. A file whose reading would be a guess (colour or palette probabilities, floats outside [0, 1], fractional
binary masks) is an error. Only frames with a ground-truth mask are scored; they must all be present, at the size
of the ground truth.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..atomic_files import write_json_atomic
from ..data.schema import CONDITIONS, UNSEEN_PREFIX
from ..figures import FIGURE_SUFFIXES
from ..media import MediaError, open_image, reason
from ..metrics.evaluator import RobustAVSEvaluator
from ..metrics.reference_masks import PREDICTION_INPUT_TYPES, load_reference_masks, prediction_from_image
from ..metrics.scores import PROTOCOLS
from .main import CLIError
from .output_paths import check_output_file


def _read_prediction(path: Path, input_type: str) -> np.ndarray:
    """`[H, W]` probabilities (float32) or foreground (bool) of one prediction image (see the module docstring)."""
    try:
        with open_image(path, "prediction") as image:
            return prediction_from_image(image, input_type)
    except MediaError as error:  # not an image of a supported format
        raise CLIError(f"{path}: {error}") from error
    except (OSError, SyntaxError) as error:
        raise CLIError(f"cannot read prediction {path}: {reason(error)}") from error
    except ValueError as error:  # an image whose reading would be a guess
        raise CLIError(f"prediction {path} {error}") from error


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
    if args.legacy_batch_videos < 1:
        raise CLIError(f"--legacy-batch-videos must be >= 1, got {args.legacy_batch_videos}")
    if args.output is not None:
        check_output_file(args.output, "--output")
    if args.plot is not None:
        check_output_file(args.plot, "--plot", FIGURE_SUFFIXES)
    try:
        references = load_reference_masks(args.dataset, args.split, args.config)
    except ValueError as error:
        raise CLIError(str(error)) from error
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
        choices=PREDICTION_INPUT_TYPES,
        required=True,
        help="image content: grey probabilities (8-bit value / 255, 16-bit value / 65535, float) or binary masks "
        "(non-zero is foreground)",
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
