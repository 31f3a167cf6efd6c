"""`avs-robust reproduce`: the AVSBench-Robust experiment (the paper's Table 4 rows and our extensions) for both
architectures on the embedded synthetic S4 benchmark. Names are imported from their modules on first use."""

from ..lazy_module import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "paper": ["CLAIMS", "PAPER_ROWS", "verdicts"],
        "report": ["REQUIRED_CHECKS", "acceptance_checks"],
        "runner": ["DEFAULT_OUTPUT_DIR", "default_jobs", "reproduce"],
        "sizes": ["ARCHITECTURES", "SIZES", "ReproductionSize", "small_model_config"],
        "variants": ["HEADLINE", "PAPER_VARIANTS", "VARIANTS", "Variant", "variant_recipe"],
    },
)
