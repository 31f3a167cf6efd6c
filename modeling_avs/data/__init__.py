"""AVSBench-Robust data: schema, negative audio conditions, the synthetic benchmark and per-condition samples."""

from .negative_audio import (
    NOISE_RMS,
    OffscreenChoice,
    load_unseen_clips,
    noise_waveform,
    pick_offscreen_sources,
    stable_seed,
)
from .samples import ConditionSamples, extra_audio_from_dataset, load_avs_dataset, undecoded_audio
from .schema import (
    AUDIO_COLUMNS,
    CLIP_SAMPLES,
    CONDITIONS,
    CONFIG_NAMES,
    LEAST_SUITABLE_CONTRAST,
    MS3_OBJECT_GROUPS,
    S4_CATEGORY_GROUPS,
    SAMPLE_RATE,
    SEMANTIC_GROUPS,
    SPLITS,
    avs_features,
)
from .synthetic import make_synthetic_dataset

__all__ = [
    "AUDIO_COLUMNS",
    "CLIP_SAMPLES",
    "CONDITIONS",
    "CONFIG_NAMES",
    "ConditionSamples",
    "LEAST_SUITABLE_CONTRAST",
    "MS3_OBJECT_GROUPS",
    "NOISE_RMS",
    "OffscreenChoice",
    "S4_CATEGORY_GROUPS",
    "SAMPLE_RATE",
    "SEMANTIC_GROUPS",
    "SPLITS",
    "avs_features",
    "extra_audio_from_dataset",
    "load_avs_dataset",
    "load_unseen_clips",
    "make_synthetic_dataset",
    "noise_waveform",
    "pick_offscreen_sources",
    "stable_seed",
    "undecoded_audio",
]
