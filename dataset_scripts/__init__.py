"""Builders of the AVSBench-Robust dataset from an AVSBench download, and its publication on the Hub."""

from .avsbench_layout import AVSBenchLayoutError, ScanResult, VideoSource, scan_avsbench
from .avsbench_robust import BuildResult, build_avsbench_robust
from .hub import AVSBENCH_MEDIA_COLUMNS, HubAccessError, check_hub_access, push_to_hub, stage_for_hub

__all__ = [
    "AVSBENCH_MEDIA_COLUMNS",
    "AVSBenchLayoutError",
    "BuildResult",
    "HubAccessError",
    "ScanResult",
    "VideoSource",
    "build_avsbench_robust",
    "check_hub_access",
    "push_to_hub",
    "scan_avsbench",
    "stage_for_hub",
]
