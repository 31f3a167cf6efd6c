"""`avs-robust env`: print the versions and devices that matter for bug reports."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform

REPORTED_DISTRIBUTIONS = (
    "modeling-avs",
    "torch",
    "torchvision",
    "transformers",
    "datasets",
    "accelerate",
    "evaluate",
    "timm",
    "huggingface_hub",
    "gradio",
    "av",
    "soxr",
    "soundfile",
)


def environment_report() -> dict[str, str]:
    """Return `{name: version or "not installed"}` plus the platform, torch threads and accelerator."""
    import torch

    report = {"python": platform.python_version(), "platform": platform.platform()}
    for name in REPORTED_DISTRIBUTIONS:
        try:
            report[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            report[name] = "not installed"
    report["torch threads"] = str(torch.get_num_threads())
    report["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available"
    report["HF_HUB_OFFLINE"] = os.environ.get("HF_HUB_OFFLINE", "unset")
    return report


def run(args: argparse.Namespace) -> int:
    for key, value in environment_report().items():
        print(f"- {key}: {value}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments."""
