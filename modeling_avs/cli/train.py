"""`avs-robust train --recipe NAME`: robust AVS training with `transformers.Trainer` (also under torchrun)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .main import CLIError
from .output_paths import check_output_folder, reporting_full_disk


def _recipe_overrides(args: argparse.Namespace) -> dict:
    overrides = {}
    for field, value in (
        ("num_epochs", args.epochs),
        ("batch_size", args.batch_size),
        ("learning_rate", args.learning_rate),
        ("image_size", args.image_size),
        ("negative_ratio", args.negative_ratio),
        ("similarity_loss_weight", args.similarity_loss_weight),
        ("freeze_audio_encoder", args.freeze_audio_encoder),
    ):
        if value is not None:
            overrides[field] = value
    if args.train_negative_conditions is not None:
        overrides["train_negative_conditions"] = tuple(filter(None, args.train_negative_conditions.split(",")))
    for assignment in args.set or []:
        key, separator, text = assignment.partition("=")
        if not separator:
            raise CLIError(f"--set {assignment!r}: expected FIELD=VALUE")
        try:
            overrides[key] = json.loads(text)
        except json.JSONDecodeError:
            overrides[key] = text
    return overrides


def _load_model_config(path: str | None) -> dict | None:
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise CLIError(f"--model-config {path}: no such file") from error
    except json.JSONDecodeError as error:
        raise CLIError(f"--model-config {path}: not valid JSON ({error})") from error


def run(args: argparse.Namespace) -> int:
    from ..training.recipes import get_recipe

    try:
        recipe = get_recipe(args.recipe, **_recipe_overrides(args))
    except ValueError as error:
        raise CLIError(str(error)) from error
    model_config = _load_model_config(args.model_config)
    output_dir = check_output_folder(args.output_dir, "--output-dir")
    hub_model_id = None
    if args.push_to_hub:
        from ..hub import HubAccessError, check_hub_access

        hub_model_id = args.hub_model_id or output_dir.resolve().name
        try:
            check_hub_access(hub_model_id, args.hub_token)
        except HubAccessError as error:
            raise CLIError(str(error)) from error
    if args.resume and not output_dir.is_dir():
        raise CLIError(f"--resume: {output_dir} does not exist, nothing to resume")

    from ..training.train import train

    try:
        with reporting_full_disk("--output-dir", output_dir, "resume from the last complete checkpoint with --resume"):
            summary = train(
                recipe,
                output_dir=output_dir,
                dataset=args.dataset,
                model_config=model_config,
                pretrained_model=args.pretrained_model,
                unseen_audio=args.unseen_audio,
                synthetic_videos=args.synthetic_videos,
                seed=args.seed,
                resume=args.resume,
                max_steps=args.max_steps,
                evaluate_every_epoch=not args.no_eval,
                per_frame=args.per_frame,
                hub_model_id=hub_model_id,
                hub_token=args.hub_token,
            )
    except (ValueError, FileNotFoundError) as error:
        raise CLIError(str(error)) from error
    print(f"saved the trained model, its processor and model card to {output_dir}")
    if summary.get("test_results"):
        print(summary["test_markdown"])
    if summary.get("hub_commit"):
        print(f"pushed to the Hub: {summary['hub_commit']}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..training.recipes import RECIPES

    parser.description = (
        "Train with a named recipe; every recipe field can be overridden. Without --dataset, the embedded "
        "synthetic AVSBench-Robust benchmark is generated into OUTPUT_DIR/synthetic-data."
    )
    parser.add_argument("--recipe", required=True, choices=sorted(RECIPES), help="training preset")
    parser.add_argument("--dataset", default=None, help="AVSBench-Robust folder or Hub dataset id")
    parser.add_argument("--output-dir", default="avs-robust-model", help="checkpoints and the final model")
    parser.add_argument("--model-config", default=None, help="JSON file of architecture config fields")
    parser.add_argument("--pretrained-model", default=None, help="start from this model folder or Hub id")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="videos per device and step")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--negative-ratio", type=float, default=None, help="fraction of negative pairs (0: baseline)")
    parser.add_argument("--train-negative-conditions", default=None, help="comma-separated, e.g. silence,offscreen")
    parser.add_argument("--similarity-loss-weight", type=float, default=None, help="λ of the similarity BCE")
    parser.add_argument(
        "--freeze-audio-encoder", action=argparse.BooleanOptionalAction, default=None, help="freeze VGGish"
    )
    parser.add_argument("--set", action="append", metavar="FIELD=VALUE", help="override any recipe field (JSON value)")
    parser.add_argument("--per-frame", action="store_true", help="train only supervised frames (num_frames=1 models)")
    parser.add_argument("--synthetic-videos", type=int, default=None, help="train videos of the synthetic benchmark")
    parser.add_argument("--unseen-audio", default=None, help="folder of extra negative clips for evaluation")
    parser.add_argument("--no-eval", action="store_true", help="skip the per-epoch validation")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many optimiser steps")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in OUTPUT_DIR")
    parser.add_argument("--push-to-hub", action="store_true", help="upload the model with its card at the end")
    parser.add_argument("--hub-model-id", default=None, help="Hub repository (default: the output folder name)")
    parser.add_argument("--hub-token", default=None)
