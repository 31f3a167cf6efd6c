"""`avs-robust export-space`: write a self-contained Gradio Space folder for a model (and optionally push it)."""

from __future__ import annotations

import argparse

from .main import CLIError


def run(args: argparse.Namespace) -> int:
    from ..space_export import SpaceExportError, export_space
    from .hub_push import hub_token, push_space

    space_id = args.space_id or args.push_to_hub
    token = hub_token(args.push_to_hub)
    try:
        folder = export_space(args.model, args.output, baseline_model=args.baseline_model, space_id=space_id)
    except SpaceExportError as error:
        raise CLIError(str(error)) from error
    print(f"wrote the Space folder {folder} (run it: cd {folder} && pip install -r requirements.txt && python app.py)")
    if space_id is None:
        print("requirements.txt names the wheel by its path: pass --space-id to deploy the folder as a Space")
    if args.push_to_hub:
        push_space(folder, args.push_to_hub, token, args.private, "export-space")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model folder (bundled into the Space) or Hub model id")
    parser.add_argument("--baseline-model", help="optional baseline model shown side by side (folder or Hub id)")
    parser.add_argument("--output", required=True, help="the Space folder to write (replaced)")
    parser.add_argument(
        "--space-id",
        metavar="REPO_ID",
        help="the Space's repository id, so that requirements.txt names the wheel by its URL there (as the Spaces "
        "build needs); implied by --push-to-hub",
    )
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="upload the folder to this Space repository")
    parser.add_argument("--private", action="store_true", help="create the Space private (with --push-to-hub)")
