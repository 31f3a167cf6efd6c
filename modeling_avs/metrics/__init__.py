"""AVSBench-Robust metrics: per-frame statistics, scores, a streaming evaluator and an `evaluate` module. Names are
imported from their modules on first use."""

from ..lazy_module import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "evaluate_module": ["evaluate_module_path"],
        "evaluator": ["RobustAVSEvaluator", "flatten_results"],
        "frame_statistics": ["INPUT_TYPES", "NUM_THRESHOLDS", "FrameStatistics", "compute_frame_statistics"],
        "reference_masks": ["load_reference_masks"],
        "report": ["results_table", "results_to_markdown"],
        "scores": ["PROTOCOLS", "condition_scores", "g_score", "robust_scores"],
    },
)
