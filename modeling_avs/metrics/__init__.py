"""AVSBench-Robust metrics: per-frame statistics, scores, a streaming evaluator and an `evaluate` module."""

from .evaluate_module import evaluate_module_path
from .evaluator import STANDARD_CONDITIONS, RobustAVSEvaluator, flatten_results
from .frame_statistics import INPUT_TYPES, NUM_THRESHOLDS, FrameStatistics, compute_frame_statistics
from .reference_masks import load_reference_masks
from .report import results_to_markdown
from .scores import POSITIVE_CONDITION, PROTOCOLS, condition_scores, g_score, robust_scores

__all__ = [
    "INPUT_TYPES",
    "NUM_THRESHOLDS",
    "POSITIVE_CONDITION",
    "PROTOCOLS",
    "STANDARD_CONDITIONS",
    "FrameStatistics",
    "RobustAVSEvaluator",
    "compute_frame_statistics",
    "condition_scores",
    "evaluate_module_path",
    "flatten_results",
    "g_score",
    "load_reference_masks",
    "results_to_markdown",
    "robust_scores",
]
