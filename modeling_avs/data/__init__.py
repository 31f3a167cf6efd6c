"""AVSBench-Robust data: schema, negative audio conditions, the builders (synthetic benchmark, real AVSBench) and
per-condition samples. Names are imported from their modules on first use (`import datasets` is slow)."""

from ..lazy_module import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "avsbench_layout": ["AVSBenchLayoutError", "ScanResult", "VideoSource", "scan_avsbench"],
        "avsbench_robust": ["BuildResult", "build_avsbench_robust", "published_offscreen_pairs"],
        "hub_upload": ["AVSBENCH_MEDIA_COLUMNS", "push_dataset_to_hub", "stage_for_hub"],
        "negative_audio": [
            "OffscreenChoice",
            "load_unseen_clips",
            "noise_waveform",
            "pick_offscreen_sources",
            "stable_seed",
        ],
        "loading": ["extra_audio_from_dataset", "load_avs_dataset", "undecoded_audio"],
        "samples": ["ConditionSamples"],
        "schema": [
            "AUDIO_COLUMNS",
            "CLIP_SAMPLES",
            "CONDITIONS",
            "CONFIG_NAMES",
            "LEAST_SUITABLE_CONTRAST",
            "MS3_OBJECT_GROUPS",
            "NEGATIVE_CONDITIONS",
            "POSITIVE_CONDITION",
            "S4_CATEGORY_GROUPS",
            "SAMPLE_RATE",
            "SEMANTIC_GROUPS",
            "SPLITS",
            "UNSEEN_PREFIX",
            "avs_features",
        ],
        "synthetic": ["make_synthetic_dataset"],
        "synthetic_unseen_audio": ["UNSEEN_SOUNDS", "unseen_sound_clips"],
    },
)
