"""Class sounds of the synthetic benchmark: one recognisable 5-s 16 kHz sound per object class.

Each class has its own harmonic structure, pitch range, modulation and rhythm (e.g. plucked decaying notes
for the guitar, a wailing sweep for the siren, short chirp trills for the bird); pitch, tempo and level are
jittered per video and background noise is added, so the class is recognisable from the audio alone but
no two clips are identical. All randomness comes from the `numpy.random.Generator` passed in.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.signal import lfilter

from .schema import CLIP_SAMPLES, SAMPLE_RATE

TIME = np.arange(CLIP_SAMPLES, dtype=np.float32) / np.float32(SAMPLE_RATE)
TABLE_SIZE = 2048
_TABLE_PHASE = 2 * np.pi * np.arange(TABLE_SIZE) / TABLE_SIZE
NOISE_BANK = np.random.default_rng(20240).standard_normal(16 * CLIP_SAMPLES, dtype=np.float32)


def _harmonics(frequency: np.ndarray | float, amplitudes: list[float], length: int = CLIP_SAMPLES) -> np.ndarray:
    """Harmonic tone `[length]` with partial k+1 of amplitude `amplitudes[k]` at instantaneous frequency
    `frequency` (Hz, `[length]` or scalar).

    One period is tabulated (Schroeder phases keep the crest factor low) and read at the running phase, so
    the cost does not grow with the number of partials; partials above the Nyquist frequency are dropped.
    """
    count = len(amplitudes)
    orders = np.arange(1, count + 1)
    peak = float(np.max(frequency))
    weights = np.where(orders * peak < SAMPLE_RATE / 2, np.asarray(amplitudes, dtype=np.float64), 0.0)
    table = (weights[:, None] * np.sin(orders[:, None] * _TABLE_PHASE + np.pi * orders[:, None] ** 2 / count)).sum(0)
    if np.ndim(frequency) == 0:
        steps = np.arange(length, dtype=np.float32) * np.float32(float(frequency) * TABLE_SIZE / SAMPLE_RATE)
    else:
        steps = np.cumsum(np.asarray(frequency, dtype=np.float32)[:length] * np.float32(TABLE_SIZE / SAMPLE_RATE))
    return table.astype(np.float32)[steps.astype(np.int64) & (TABLE_SIZE - 1)]


def _onsets(rng: np.random.Generator, rate: float, jitter: float = 0.3) -> np.ndarray:
    """Onset times (s) of events at about `rate` per second with relative timing jitter."""
    period = 1.0 / rate
    times = np.arange(rng.uniform(0, period), 5.0, period)
    return np.clip(times + rng.uniform(-jitter, jitter, times.shape) * period, 0, 4.95)


def _events(
    rng: np.random.Generator,
    onsets: np.ndarray,
    duration: float,
    render: Callable[[np.random.Generator, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Place `render(rng, t)` (t = local time `[n]` in s) at every onset, each lasting `duration` seconds."""
    signal = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    length = int(duration * SAMPLE_RATE)
    for onset in onsets:
        start = int(onset * SAMPLE_RATE)
        stop = min(start + length, CLIP_SAMPLES)
        signal[start:stop] += render(rng, TIME[: stop - start])
    return signal


def _formant_weights(f0: float, count: int, formants: tuple[float, ...]) -> list[float]:
    """Harmonic amplitudes `[count]` emphasising partials near the given formant frequencies (Hz)."""
    partials = f0 * np.arange(1, count + 1)
    weights = sum(np.exp(-(((partials - formant) / 250.0) ** 2)) for formant in formants) + 0.15 / np.arange(
        1, count + 1
    )
    return list(weights)


def _noise(rng: np.random.Generator, length: int = CLIP_SAMPLES) -> np.ndarray:
    """Unit-variance white Gaussian noise `[length]`: a random crop of a fixed noise bank (a crop is much cheaper
    than drawing fresh samples, and the bank is longer than any two crops compared here)."""
    start = int(rng.integers(NOISE_BANK.shape[0] - length))
    return NOISE_BANK[start : start + length]


def _lowpass_noise(rng: np.random.Generator, coefficient: float) -> np.ndarray:
    """White noise through a one-pole low-pass `y[n] = (1 - c) x[n] + c y[n-1]`, `[80000]`."""
    return lfilter([1 - coefficient], [1, -coefficient], _noise(rng)).astype(np.float32)


def _plucked(rng: np.random.Generator, scale: list[float], rate: float, decay: float, partials: list[float]):
    envelope = np.exp(-TIME[: int(4 * decay * SAMPLE_RATE)] / np.float32(decay))

    def render(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
        f0 = rng.choice(scale) * rng.uniform(0.99, 1.01)
        return envelope[: t.shape[0]] * _harmonics(f0, partials, t.shape[0])

    return _events(rng, _onsets(rng, rate), 4 * decay, render)


def guitar(rng: np.random.Generator) -> np.ndarray:
    base = rng.uniform(180, 230)
    return _plucked(
        rng,
        [base * r for r in (1, 9 / 8, 5 / 4, 3 / 2, 5 / 3)],
        rng.uniform(2.0, 2.8),
        0.25,
        [1, 0.6, 0.4, 0.25, 0.15, 0.1],
    )


def piano(rng: np.random.Generator) -> np.ndarray:
    base = rng.uniform(260, 330)
    scale = [base * 2 ** (step / 12) for step in (0, 2, 4, 5, 7, 9, 11, 12)]
    return _plucked(rng, scale, rng.uniform(3.5, 4.5), 0.3, [1, 0.8, 0.55, 0.4, 0.3, 0.2, 0.15, 0.1])


def violin(rng: np.random.Generator) -> np.ndarray:
    notes = rng.uniform(440, 700, 6)
    contour = notes[np.minimum((TIME / rng.uniform(0.7, 1.0)).astype(int), 5)]
    frequency = contour * (1 + 0.012 * np.sin(2 * np.pi * rng.uniform(5, 6.5) * TIME))
    bow = 0.6 + 0.4 * np.sin(np.pi * (TIME * 1.2 % 1.0))
    return bow * _harmonics(frequency, [1 / k for k in range(1, 9)])


def man(rng: np.random.Generator) -> np.ndarray:
    f0 = rng.uniform(100, 135)
    intonation = f0 * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.3, 0.6) * TIME + rng.uniform(0, 6.3)))
    syllables = np.clip(np.sin(2 * np.pi * rng.uniform(3.5, 4.5) * TIME), 0, None) ** 0.7
    pauses = (np.sin(2 * np.pi * rng.uniform(0.35, 0.5) * TIME + rng.uniform(0, 6.3)) > -0.6).astype(np.float32)
    return syllables * pauses * _harmonics(intonation, _formant_weights(f0, 24, (500, 1500, 2500)))


def woman(rng: np.random.Generator) -> np.ndarray:
    notes = rng.uniform(230, 350, 5)
    contour = notes[np.minimum(TIME.astype(int), 4)]
    frequency = contour * (1 + 0.025 * np.sin(2 * np.pi * rng.uniform(4.5, 5.5) * TIME))
    phrase = 0.5 + 0.5 * np.sin(np.pi * (TIME % 1.0)) ** 0.5
    return phrase * _harmonics(frequency, _formant_weights(float(notes.mean()), 12, (800, 1200, 2800)))


def baby(rng: np.random.Generator) -> np.ndarray:
    def render(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
        f0 = rng.uniform(380, 480)
        gate = np.clip(np.sin(2 * np.pi * 5.5 * t), 0, None)
        glide = f0 * (1 + 0.3 * t)
        breath = 0.3 * _noise(rng, t.shape[0])
        return gate * (_harmonics(glide, [1, 0.5, 0.4, 0.2], t.shape[0]) + breath)

    return _events(rng, _onsets(rng, rng.uniform(0.8, 1.1), 0.2), 0.9, render)


def dog(rng: np.random.Generator) -> np.ndarray:
    def render(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
        f0 = rng.uniform(260, 380)
        envelope = (1 - np.exp(-t / 0.005)) * np.exp(-t / 0.05)
        return envelope * (
            _harmonics(f0 * (1 - 0.4 * t), [1, 0.9, 0.7, 0.5, 0.4, 0.3], t.shape[0]) + 0.5 * _noise(rng, t.shape[0])
        )

    return _events(rng, _onsets(rng, rng.uniform(1.4, 2.2), 0.35), 0.2, render)


def cat(rng: np.random.Generator) -> np.ndarray:
    def render(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
        duration = t.shape[0] / SAMPLE_RATE
        shape = np.sin(np.pi * t / duration)
        glide = rng.uniform(430, 500) + rng.uniform(250, 350) * shape
        return shape * _harmonics(glide, [1, 0.7, 0.45, 0.3, 0.2], t.shape[0])

    return _events(rng, _onsets(rng, rng.uniform(0.55, 0.75), 0.2), 0.8, render)


def bird(rng: np.random.Generator) -> np.ndarray:
    top = rng.uniform(3000, 4000)

    def render(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
        chirp = t % (1 / 12)
        frequency = top - 12000 * chirp
        return (chirp < 0.05) * np.sin(np.pi * chirp / 0.05) * _harmonics(frequency, [1], t.shape[0])

    return _events(rng, _onsets(rng, rng.uniform(0.9, 1.3), 0.3), 0.5, render)


def car(rng: np.random.Generator) -> np.ndarray:
    rpm = rng.uniform(35, 55) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * TIME))
    rumble = _lowpass_noise(rng, 0.97)
    return _harmonics(rpm, [1, 0.8, 0.7, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.08]) + 3.0 * rumble


def siren(rng: np.random.Generator) -> np.ndarray:
    low, high = rng.uniform(600, 700), rng.uniform(1250, 1400)
    sweep = low + (high - low) * (0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 0.8) * TIME + rng.uniform(0, 6.3)))
    return _harmonics(sweep, [1, 0.35, 0.15])


def mower(rng: np.random.Generator) -> np.ndarray:
    f0 = rng.uniform(105, 140)
    buzz = _harmonics(f0 * (1 + 0.01 * np.sin(2 * np.pi * 0.4 * TIME)), [1 / k for k in range(1, 16)])
    flutter = 1 + 0.35 * np.sin(2 * np.pi * rng.uniform(22, 28) * TIME)
    return flutter * buzz + 0.4 * _noise(rng)


CLASS_SOUNDS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "guitar": guitar,
    "piano": piano,
    "violin": violin,
    "man": man,
    "woman": woman,
    "baby": baby,
    "dog": dog,
    "cat": cat,
    "bird": bird,
    "car": car,
    "emergency-car": siren,
    "mower": mower,
}


def normalise_rms(signal: np.ndarray, rms: float) -> np.ndarray:
    """Scale `signal` to the given root-mean-square level (silent input is returned unchanged)."""
    current = float(np.sqrt(np.mean(signal**2)))
    return signal if current == 0 else signal * (rms / current)


def mixture(rng: np.random.Generator, sources: list[str]) -> np.ndarray:
    """Mix the class sounds of `sources` (gains within +-3 dB), set a random level between -26 and -16 dBFS and
    add white background noise 15-30 dB below it; returns float32 `[80000]` in [-1, 1]."""
    signal = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    for name in sources:
        signal += normalise_rms(CLASS_SOUNDS[name](rng), 10 ** (rng.uniform(-3, 3) / 20))
    level = 10 ** (rng.uniform(-26, -16) / 20)
    signal = normalise_rms(signal, level)
    signal += _noise(rng) * level * 10 ** (-rng.uniform(15, 30) / 20)
    return np.clip(signal, -1.0, 1.0).astype(np.float32)
