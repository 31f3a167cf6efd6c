"""Held-out sound categories of the synthetic benchmark: sounds no model ever trains on.

The analogue of the 15 unseen real clips of AVSBench-Robust (its Tables 5/6): negative audio of categories that
none of the 12 object classes makes (`synthetic_audio.CLASS_SOUNDS`), so a model that keeps its masks empty for
them does so because the sound does not belong to the visible object, not because it learned these sounds as
negatives. Six categories, each from its own generator, in the cheap style of the class sounds (cached wavetables,
1 kHz control-rate envelopes, crops of the shared noise bank): a ticking clock, thunder, a croaking frog, a mooing
cow, hand clapping and ocean waves.

`unseen_sound_clips(seed)` makes one clip per category, at the level and background-noise conventions of the
benchmark's own audio (`synthetic_audio.mixture`), keyed `"unseen:<category>"` (`UNSEEN_PREFIX`) like
`negative_audio.load_unseen_clips`, ready for `ConditionSamples(..., extra_audio=...)`. Every clip draws from its
own generator seeded by `stable_seed(seed, "unseen", category)`, so the training classes' streams are untouched
and a clip does not depend on which other categories are asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .negative_audio import stable_seed
from .schema import UNSEEN_PREFIX
from .synthetic_audio import (
    CONTROL_TIME,
    _event_time,
    _events,
    _formant_weights,
    _lowpass_noise,
    _noise,
    _onsets,
    _upsample,
    _wave,
    mixture,
)

# Fixed shapes of the events, precomputed once.
_TICK_TIME = _event_time(0.1)
_TICK_ENVELOPE = np.exp(-_TICK_TIME / np.float32(0.025))
_CROAK_TIME = _event_time(0.35)
_CROAK_ENVELOPE = np.sin(np.pi * _CROAK_TIME / np.float32(0.35))
_MOO_TIME = _event_time(1.6)
_MOO_ENVELOPE = np.minimum(1, np.minimum(_MOO_TIME / 0.25, (1.6 - _MOO_TIME) / 0.4))
_MOO_SHAPE_PHASE = (1.6 / np.pi) * (1 - np.cos(np.pi * _MOO_TIME / 1.6))  # integral of sin(pi t / 1.6)
_CLAP_TIME = _event_time(0.06)
_CLAP_ENVELOPE = np.exp(-_CLAP_TIME / np.float32(0.015))


def _unit_lowpass_noise(rng: np.random.Generator, coefficient: float) -> np.ndarray:
    """`_lowpass_noise` scaled back to unit variance (the one-pole filter divides it by (1 + c) / (1 - c))."""
    return _lowpass_noise(rng, coefficient) * np.float32(np.sqrt((1 + coefficient) / (1 - coefficient)))


def clock(rng: np.random.Generator) -> np.ndarray:
    """A clockwork's tick-tock: ringing clicks at an exactly regular 5-6 per second (18,000-21,600 beats per
    hour), alternating between a high and a lower pitch."""
    tick = rng.uniform(1800, 2400)
    tock = tick * rng.uniform(0.7, 0.8)
    period = 1 / rng.uniform(5, 6)
    onsets = np.arange(rng.uniform(0, period), 4.95, period)

    def render(rng: np.random.Generator, count: int) -> np.ndarray:
        pitch = np.where(np.arange(count) % 2 == 0, tick, tock).astype(np.float32)
        click = _wave(pitch[:, None] * _TICK_TIME, [1, 0.3], tick)
        return _TICK_ENVELOPE * (click + 0.3 * _noise(rng, count * _TICK_TIME.shape[0]).reshape(count, -1))

    return _events(rng, onsets, render)


def thunder(rng: np.random.Generator) -> np.ndarray:
    """A broadband crack, then a deep rumble that swells irregularly and dies away over seconds."""
    strike = rng.uniform(0.2, 1.2)
    after = np.clip(CONTROL_TIME - strike, 0, None) * (CONTROL_TIME >= strike)
    swells = 1 + 0.6 * np.sin(2 * np.pi * rng.uniform(0.6, 1.4) * CONTROL_TIME + rng.uniform(0, 6.3))
    rumble = (1 - np.exp(-after / 0.15)) * np.exp(-after / rng.uniform(1.5, 2.5)) * swells
    crack = (CONTROL_TIME >= strike) * np.exp(-after / 0.08)
    return _upsample(rumble) * _unit_lowpass_noise(rng, 0.995) + 0.5 * _upsample(crack) * _noise(rng)


def frog(rng: np.random.Generator) -> np.ndarray:
    """Croaks: 0.35-s trains of 25-35 pulses per second of a 400-700 Hz tone, about 1.5 croaks a second."""
    pulses = np.clip(np.sin(2 * np.pi * rng.uniform(25, 35) * _CROAK_TIME), 0, None) * _CROAK_ENVELOPE
    carrier = rng.uniform(400, 700)

    def render(rng: np.random.Generator, count: int) -> np.ndarray:
        pitch = (carrier * rng.uniform(0.95, 1.05, count)).astype(np.float32)
        return pulses * _wave(pitch[:, None] * _CROAK_TIME, [1, 0.6, 0.3], float(pitch.max(initial=0)))

    return _events(rng, _onsets(rng, rng.uniform(1.2, 1.8), 0.25), render)


def cow(rng: np.random.Generator) -> np.ndarray:
    """Long, low moos: a dark 'ooo' (formants near 300 and 700 Hz) on 110-160 Hz, gliding up a fifth and back."""
    f0 = rng.uniform(110, 160)
    weights = _formant_weights(f0, 20, (300, 700))

    def render(rng: np.random.Generator, count: int) -> np.ndarray:
        start = (f0 * rng.uniform(0.97, 1.03, (count, 1))).astype(np.float32)
        cycles = start * (_MOO_TIME + 0.5 * _MOO_SHAPE_PHASE)  # the pitch rises to 1.5 x start and back
        return _MOO_ENVELOPE * _wave(cycles, weights, 1.5 * float(start.max(initial=0)))

    return _events(rng, _onsets(rng, rng.uniform(0.4, 0.55), 0.15), render)


def clapping(rng: np.random.Generator) -> np.ndarray:
    """A few people clapping: short bursts of high-passed noise (the first difference of white noise, clipped at
    twice its deviation), 3 clappers at 3-4 claps a second each."""

    def render(rng: np.random.Generator, count: int) -> np.ndarray:
        noise = np.clip(_noise(rng, count * (_CLAP_TIME.shape[0] + 1)), -1, 1).reshape(count, -1)
        return _CLAP_ENVELOPE * np.diff(noise, axis=1)

    onsets = np.concatenate([_onsets(rng, rng.uniform(3, 4), 0.1) for _ in range(3)])
    return _events(rng, onsets, render)


def waves(rng: np.random.Generator) -> np.ndarray:
    """Surf: dark and bright noise whose level swells and breaks every 3.5-6 s, never quite silent."""
    cycle = (CONTROL_TIME / rng.uniform(3.5, 6.0) + rng.uniform(0, 1)) % 1.0
    swell = 0.15 + np.sin(np.pi * cycle) ** 3
    return _upsample(swell) * (_unit_lowpass_noise(rng, 0.9) + 0.4 * _noise(rng))


UNSEEN_SOUNDS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "clock_ticking": clock,
    "thunder": thunder,
    "frog_croaking": frog,
    "cow_mooing": cow,
    "hand_clapping": clapping,
    "ocean_waves": waves,
}


def unseen_sound_clips(seed: int, categories: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """
    One clip of each held-out sound category, as unseen negative audio: `{"unseen:<category>": float32 [80000]}`,
    mono 16 kHz, 5 s in [-1, 1], at a random level between -26 and -16 dBFS with white background noise 15-30 dB
    below it (as the benchmark's own sounds, `synthetic_audio.mixture`). Deterministic in `seed`; each clip has its
    own generator, so it is the same whichever other categories are asked for.

    Args:
        seed (`int`): the generation seed.
        categories (`Sequence[str]`, *optional*): names from `UNSEEN_SOUNDS` (default: all six, in its order).
    """
    names = list(UNSEEN_SOUNDS) if categories is None else list(categories)
    unknown = [name for name in names if name not in UNSEEN_SOUNDS]
    if unknown:
        raise ValueError(f"unknown unseen sound categories {unknown}; known: {', '.join(UNSEEN_SOUNDS)}")
    return {
        f"{UNSEEN_PREFIX}{name}": mixture(
            np.random.default_rng(stable_seed(seed, "unseen", name)), [name], UNSEEN_SOUNDS
        )
        for name in names
    }


__all__ = ["UNSEEN_SOUNDS", "unseen_sound_clips"]
