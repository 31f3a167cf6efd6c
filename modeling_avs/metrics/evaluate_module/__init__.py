"""The `robust_avs` module for the `evaluate` library, shipped inside the package (also a ready-made Space)."""

from pathlib import Path


def evaluate_module_path() -> str:
    """Path of the module file, for `evaluate.load(evaluate_module_path())` (works offline)."""
    return str(Path(__file__).with_name("robust_avs.py"))
