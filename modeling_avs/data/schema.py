"""Schema of AVSBench-Robust rows, shared by the real-data builder and the synthetic benchmark.

One row describes one 5-second video:

- `video_id` (str), `category` (str; for MS3 the underscore-joined names of the sounding objects),
  `semantic_groups` (list of str from `SEMANTIC_GROUPS`, in that order);
- `frames`: 5 RGB images; `masks`: 5 binary masks (`None` where a frame is not annotated: S4 train
  annotates only the first frame);
- `audio` (the video's own sound), `audio_silence`, `audio_noise`, `audio_offscreen`: mono 16 kHz clips
  stored as encoded bytes under `datasets.Audio(sampling_rate=16000)`; `offscreen_source` names the video
  whose sound was used for `audio_offscreen`; `seed` is the generation seed.

Audio columns are read by our loaders with `Audio(decode=False)` and decoded with `soundfile` (see
`modeling_avs.data.audio_io`), so neither torchcodec nor ffmpeg is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..audio_conversion import SAMPLING_RATE

if TYPE_CHECKING:
    import datasets

CONFIG_NAMES: tuple[str, ...] = ("s4", "ms3")
SPLITS: tuple[str, ...] = ("train", "validation", "test")
# The audio conditions of AVSBench-Robust: the video's own sound, then the negatives, whose correct mask is empty.
POSITIVE_CONDITION = "positive"
NEGATIVE_CONDITIONS: tuple[str, ...] = ("silence", "noise", "offscreen")
CONDITIONS: tuple[str, ...] = (POSITIVE_CONDITION, *NEGATIVE_CONDITIONS)
# Extra negative conditions made of arbitrary sounds are named `unseen:<clip name>`.
UNSEEN_PREFIX = "unseen:"
SEMANTIC_GROUPS: tuple[str, ...] = ("music", "human", "animal", "device")

SAMPLE_RATE = SAMPLING_RATE
NUM_FRAMES = 5
CLIP_SECONDS = 5
CLIP_SAMPLES = SAMPLE_RATE * CLIP_SECONDS

# Column holding the waveform of each condition.
CONDITION_AUDIO_COLUMNS: dict[str, str] = {
    POSITIVE_CONDITION: "audio",
    **{condition: f"audio_{condition}" for condition in NEGATIVE_CONDITIONS},
}
AUDIO_COLUMNS: tuple[str, ...] = tuple(CONDITION_AUDIO_COLUMNS.values())

# S4 category -> semantic group (AVSBench-Robust's `dataset_generation`, vehicles folded into "device").
S4_CATEGORY_GROUPS: dict[str, str] = {
    **dict.fromkeys(
        (
            "playing_acoustic_guitar",
            "playing_glockenspiel",
            "playing_piano",
            "playing_tabla",
            "playing_ukulele",
            "playing_violin",
        ),
        "music",
    ),
    **dict.fromkeys(("baby_laughter", "female_singing", "male_speech"), "human"),
    **dict.fromkeys(
        (
            "cat_meowing",
            "coyote_howling",
            "dog_barking",
            "horse_clip-clop",
            "lions_roaring",
            "mynah_bird_singing",
        ),
        "animal",
    ),
    **dict.fromkeys(
        (
            "driving_buses",
            "helicopter",
            "race_car",
            "ambulance_siren",
            "cap_gun_shooting",
            "chainsawing_trees",
            "lawn_mowing",
            "typing_on_computer_keyboard",
        ),
        "device",
    ),
}

# MS3 object name (AVSS `metadata.csv`, column `a_obj`) -> semantic group.
MS3_OBJECT_GROUPS: dict[str, str] = {
    **dict.fromkeys(("guitar", "tabla", "violin", "ukulele", "piano", "marimba"), "music"),
    **dict.fromkeys(("man", "woman", "baby"), "human"),
    **dict.fromkeys(("dog", "cat", "lion", "bird", "wolf"), "animal"),
    **dict.fromkeys(("mower", "background", "bus", "car", "gun", "saw", "emergency-car", "keyboard"), "device"),
}

# "Least suitable contrast": groups whose sound may plausibly come from the own group's objects and are
# therefore excluded (besides the own group) when drawing off-screen audio. S4's device -> vehicle rule
# points to an empty group, so S4 devices exclude nothing extra.
LEAST_SUITABLE_CONTRAST: dict[str, dict[str, frozenset[str]]] = {
    "s4": {
        "music": frozenset({"human"}),
        "human": frozenset({"music"}),
        "animal": frozenset({"human"}),
        "device": frozenset(),
    },
    "ms3": {
        "music": frozenset({"human"}),
        "human": frozenset({"music"}),
        "animal": frozenset({"human"}),
        "device": frozenset({"music"}),
    },
}


def check_config(config: str) -> str:
    """Return `config` if it names a known configuration, else raise a `ValueError` listing them."""
    if config not in CONFIG_NAMES:
        raise ValueError(f"unknown config {config!r}; expected one of {', '.join(CONFIG_NAMES)}")
    return config


def groups_of(config: str, names: list[str] | tuple[str, ...]) -> list[str]:
    """Semantic groups of S4 categories or MS3 object names, deduplicated, in `SEMANTIC_GROUPS` order."""
    table = S4_CATEGORY_GROUPS if check_config(config) == "s4" else MS3_OBJECT_GROUPS
    unknown = [name for name in names if name not in table]
    if unknown:
        kind = "category" if config == "s4" else "object name"
        raise ValueError(f"unknown {config} {kind}(s) {unknown}; known: {', '.join(sorted(table))}")
    present = {table[name] for name in names}
    return [group for group in SEMANTIC_GROUPS if group in present]


def excluded_groups(config: str, groups: list[str] | tuple[str, ...]) -> frozenset[str]:
    """Groups an off-screen source must not belong to: the own groups and their least suitable contrasts."""
    contrast = LEAST_SUITABLE_CONTRAST[check_config(config)]
    excluded = set(groups)
    for group in groups:
        excluded |= contrast[group]
    return frozenset(excluded)


def avs_features() -> datasets.Features:
    """The `datasets.Features` of one AVSBench-Robust row (identical for `s4`, `ms3` and the synthetic data)."""
    import datasets

    audio = datasets.Audio(sampling_rate=SAMPLE_RATE)
    return datasets.Features(
        {
            "video_id": datasets.Value("string"),
            "category": datasets.Value("string"),
            "semantic_groups": datasets.List(datasets.Value("string")),
            "frames": datasets.List(datasets.Image()),
            "masks": datasets.List(datasets.Image()),
            "audio": audio,
            "audio_silence": audio,
            "audio_noise": audio,
            "audio_offscreen": audio,
            "offscreen_source": datasets.Value("string"),
            "seed": datasets.Value("int64"),
        }
    )
