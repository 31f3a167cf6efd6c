"""Class sounds of the synthetic benchmark: one recognisable 5-s 16 kHz sound per object class.

Each class has its own harmonic structure, pitch range, modulation and rhythm (e.g. plucked decaying notes
for the guitar, a wailing sweep for the siren, short chirp trills for the bird); pitch, tempo and level are
jittered per video and background noise is added, so the class is recognisable from the audio alone but
no two clips are identical. All randomness comes from the `numpy.random.Generator` passed in.

Synthesis is cheap by construction (it runs for every video of the benchmark): a harmonic tone is one lookup
of a cached single-period wavetable at a running phase. Slow contours (pitch glides, vibrato, amplitude
envelopes) are computed at a 1 kHz control rate and interpolated; the phase of a held-pitch event or of a glide
whose shape is fixed is written in closed form, with the fixed parts precomputed once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

import numpy as np
from scipy.signal import lfilter

from .schema import CLIP_SAMPLES, SAMPLE_RATE

TIME = np.arange(CLIP_SAMPLES, dtype=np.float32) / np.float32(SAMPLE_RATE)
CONTROL_STEP = 16  # samples per control-rate point (1 ms)
CONTROL_TIME = TIME[::CONTROL_STEP]  # [5000]
_BLOCK_OFFSET = np.tile(np.arange(CONTROL_STEP, dtype=np.float32), CLIP_SAMPLES // CONTROL_STEP)  # [80000]
TABLE_SIZE = 2048
NOISE_BANK = np.random.default_rng(20240).standard_normal(16 * CLIP_SAMPLES, dtype=np.float32)


@lru_cache(maxsize=256)
def _wavetable(amplitudes: tuple[float, ...]) -> np.ndarray:
    """One period (float32 `[TABLE_SIZE]`) of partials `k+1` with `amplitudes[k]`, i.e. the sum over k of
    `amplitudes[k] * sin(2 pi (k+1) n / TABLE_SIZE + pi (k+1)^2 / count)` (Schroeder phases keep the crest factor
    low), made by an inverse real FFT."""
    count = len(amplitudes)
    orders = np.arange(1, count + 1)
    spectrum = np.zeros(TABLE_SIZE // 2 + 1, dtype=np.complex128)
    # A bin value X gives (2 / TABLE_SIZE) |X| cos(. + arg X); -j shifts the cosine to a sine.
    spectrum[1 : count + 1] = -0.5j * TABLE_SIZE * np.asarray(amplitudes) * np.exp(1j * np.pi * orders**2 / count)
    return np.fft.irfft(spectrum, TABLE_SIZE).astype(np.float32)


def _wave(cycles: np.ndarray, amplitudes: Sequence[float], peak: float) -> np.ndarray:
    """Harmonic tone at the running phase `cycles` (float32, in periods of the fundamental, non-negative, any shape
    `[...]`), same shape: partial k+1 has amplitude `amplitudes[k]`, and partials above the Nyquist frequency at the
    highest fundamental `peak` (Hz) are dropped."""
    table = _wavetable(tuple(a if (k + 1) * peak < SAMPLE_RATE / 2 else 0.0 for k, a in enumerate(amplitudes)))
    index = (cycles * np.float32(TABLE_SIZE)).astype(np.intp)  # np.take works on intp indices
    index &= TABLE_SIZE - 1
    return np.take(table, index)


def _glide_phase(frequency: np.ndarray) -> np.ndarray:
    """Running phase (cycles, float32 `[80000]`) of a tone whose frequency (Hz) is given at the control rate
    (`[5000]`): the frequency is held for each 1-ms block and the phase is continuous. Each block starts from its
    phase modulo 1, so float32 keeps full precision over the 5 s."""
    per_sample = np.asarray(frequency, dtype=np.float64) / SAMPLE_RATE
    starts = np.cumsum(per_sample * CONTROL_STEP) - per_sample * CONTROL_STEP
    phase = np.repeat(per_sample.astype(np.float32), CONTROL_STEP)
    phase *= _BLOCK_OFFSET
    phase += np.repeat((starts % 1.0).astype(np.float32), CONTROL_STEP)
    return phase


def _upsample(control: np.ndarray) -> np.ndarray:
    """Linear interpolation of a control-rate envelope `[5000]` to the sample rate, float32 `[80000]`."""
    control = np.asarray(control, dtype=np.float32)
    slope = np.diff(control, append=control[-1]) / np.float32(CONTROL_STEP)
    signal = np.repeat(slope, CONTROL_STEP)
    signal *= _BLOCK_OFFSET
    signal += np.repeat(control, CONTROL_STEP)
    return signal


def _onsets(rng: np.random.Generator, rate: float, jitter: float = 0.3) -> np.ndarray:
    """Onset times (s) of events at about `rate` per second with relative timing jitter."""
    period = 1.0 / rate
    times = np.arange(rng.uniform(0, period), 5.0, period)
    return np.clip(times + rng.uniform(-jitter, jitter, times.shape) * period, 0, 4.95)


def _events(
    rng: np.random.Generator, onsets: np.ndarray, render: Callable[[np.random.Generator, int], np.ndarray]
) -> np.ndarray:
    """Add the events `render(rng, count)` (float32 `[count, n]`, all rendered at once) at the onsets (s, `[count]`),
    cut at the end of the clip; returns float32 `[80000]`."""
    signal = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    events = render(rng, len(onsets))
    for onset, event in zip(onsets, events):
        start = int(onset * SAMPLE_RATE)
        stop = min(start + event.shape[0], CLIP_SAMPLES)
        signal[start:stop] += event[: stop - start]
    return signal


def _formant_weights(f0: float, count: int, formants: tuple[float, ...]) -> list[float]:
    """Harmonic amplitudes `[count]` emphasising partials near the given formant frequencies (Hz); `f0` is rounded
    to 5 Hz so that the wavetables of nearby pitches are shared."""
    partials = round(f0 / 5) * 5 * np.arange(1, count + 1)
    weights = sum(np.exp(-(((partials - formant) / 250.0) ** 2)) for formant in formants) + 0.15 / np.arange(
        1, count + 1
    )
    return list(weights)


def _noise(rng: np.random.Generator, length: int = CLIP_SAMPLES) -> np.ndarray:
    """Unit-variance white Gaussian noise `[length]`: a random crop of a fixed noise bank (a crop is much cheaper
    than drawing fresh samples, and the bank is longer than any two crops compared here)."""
    start = int(rng.integers(NOISE_BANK.shape[0] - length))
    return NOISE_BANK[start : start + length]


@lru_cache(maxsize=4)
def _lowpass_bank(coefficient: float) -> np.ndarray:
    """The noise bank through a one-pole low-pass `y[n] = (1 - c) x[n] + c y[n-1]` (filtered once per process)."""
    return lfilter([1 - coefficient], [1, -coefficient], NOISE_BANK).astype(np.float32)


def _lowpass_noise(rng: np.random.Generator, coefficient: float) -> np.ndarray:
    """Low-passed white noise `[80000]`: a random crop of the filtered noise bank."""
    bank = _lowpass_bank(coefficient)
    start = int(rng.integers(bank.shape[0] - CLIP_SAMPLES))
    return bank[start : start + CLIP_SAMPLES]


def _event_time(seconds: float) -> np.ndarray:
    """Local time (s) of an event lasting `seconds`, float32 `[n]`."""
    return TIME[: int(round(seconds * SAMPLE_RATE))]


# Fixed shapes of the events, precomputed once: envelopes, and glide phases per Hz of the varying parameter.
_BABY_TIME = _event_time(0.9)
_BABY_GATE = np.clip(np.sin(2 * np.pi * 5.5 * _BABY_TIME), 0, None)
_BABY_GLIDE = _BABY_TIME * (1 + 0.15 * _BABY_TIME)  # phase (cycles) of a 1-Hz tone rising by 30 % per second
_DOG_TIME = _event_time(0.2)
_DOG_ENVELOPE = (1 - np.exp(-_DOG_TIME / 0.005)) * np.exp(-_DOG_TIME / 0.05)
_DOG_GLIDE = _DOG_TIME * (1 - 0.2 * _DOG_TIME)  # phase of a 1-Hz tone falling by 40 % per second
_CAT_TIME = _event_time(0.8)
_CAT_SHAPE = np.sin(np.pi * _CAT_TIME / 0.8)
_CAT_SHAPE_PHASE = (0.8 / np.pi) * (1 - np.cos(np.pi * _CAT_TIME / 0.8))  # integral of the shape
_BIRD_TIME = _event_time(0.5)
_BIRD_PERIOD = 1 / 12
_BIRD_CHIRP = _BIRD_TIME % _BIRD_PERIOD  # time since the start of the current chirp
_BIRD_GATE = (_BIRD_CHIRP < 0.05) * np.sin(np.pi * _BIRD_CHIRP / 0.05)
# Integral of the chirp time (whole chirps, then the current one): the phase of the falling 12 kHz/s sweep.
_BIRD_SWEEP_PHASE = np.floor(_BIRD_TIME / _BIRD_PERIOD) * (_BIRD_PERIOD**2 / 2) + _BIRD_CHIRP**2 / 2


@lru_cache(maxsize=8)
def _decay(seconds: float) -> np.ndarray:
    """Exponential decay envelope `exp(-t / seconds)` over `3 * seconds`, float32 `[n]`."""
    return np.exp(-_event_time(3 * seconds) / np.float32(seconds))


def _plucked(
    rng: np.random.Generator, scale: list[float], rate: float, decay: float, partials: list[float]
) -> np.ndarray:
    """Decaying notes of the given scale (Hz) at about `rate` per second, each lasting 3 decay times."""
    envelope = _decay(decay)
    time = TIME[: envelope.shape[0]]

    def render(rng: np.random.Generator, count: int) -> np.ndarray:
        f0 = np.asarray(scale)[rng.integers(len(scale), size=count)] * rng.uniform(0.99, 1.01, count)
        return envelope * _wave(f0.astype(np.float32)[:, None] * time, partials, float(f0.max(initial=0)))

    return _events(rng, _onsets(rng, rate), render)


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
    contour = notes[np.minimum((CONTROL_TIME / rng.uniform(0.7, 1.0)).astype(int), 5)]
    frequency = contour * (1 + 0.012 * np.sin(2 * np.pi * rng.uniform(5, 6.5) * CONTROL_TIME))
    bow = 0.6 + 0.4 * np.abs(np.sin(1.2 * np.pi * CONTROL_TIME))
    return _upsample(bow) * _wave(_glide_phase(frequency), [1 / k for k in range(1, 9)], float(frequency.max()))


def man(rng: np.random.Generator) -> np.ndarray:
    f0 = rng.uniform(100, 135)
    intonation = f0 * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.3, 0.6) * CONTROL_TIME + rng.uniform(0, 6.3)))
    syllables = np.maximum(np.sin(2 * np.pi * rng.uniform(3.5, 4.5) * CONTROL_TIME), 0)
    pauses = np.sin(2 * np.pi * rng.uniform(0.35, 0.5) * CONTROL_TIME + rng.uniform(0, 6.3)) > -0.6
    voice = _wave(_glide_phase(intonation), _formant_weights(f0, 24, (500, 1500, 2500)), float(intonation.max()))
    return _upsample(syllables * pauses) * voice


def woman(rng: np.random.Generator) -> np.ndarray:
    notes = rng.uniform(230, 350, 5)
    contour = notes[np.minimum(CONTROL_TIME.astype(int), 4)]
    frequency = contour * (1 + 0.025 * np.sin(2 * np.pi * rng.uniform(4.5, 5.5) * CONTROL_TIME))
    phrase = 0.5 + 0.5 * np.abs(np.sin(np.pi * CONTROL_TIME))
    weights = _formant_weights(float(notes.mean()), 12, (800, 1200, 2800))
    return _upsample(phrase) * _wave(_glide_phase(frequency), weights, float(frequency.max()))


def baby(rng: np.random.Generator) -> np.ndarray:
    def render(rng: np.random.Generator, count: int) -> np.ndarray:
        f0 = rng.uniform(380, 480, count).astype(np.float32)
        cry = _wave(f0[:, None] * _BABY_GLIDE, [1, 0.5, 0.4, 0.2], 1.27 * float(f0.max(initial=0)))
        breath = _noise(rng, count * _BABY_TIME.shape[0]).reshape(count, -1)
        return _BABY_GATE * (cry + 0.3 * breath)

    return _events(rng, _onsets(rng, rng.uniform(0.8, 1.1), 0.2), render)


def dog(rng: np.random.Generator) -> np.ndarray:
    def render(rng: np.random.Generator, count: int) -> np.ndarray:
        f0 = rng.uniform(260, 380, count).astype(np.float32)
        bark = _wave(f0[:, None] * _DOG_GLIDE, [1, 0.9, 0.7, 0.5, 0.4, 0.3], float(f0.max(initial=0)))
        noise = _noise(rng, count * _DOG_TIME.shape[0]).reshape(count, -1)
        return _DOG_ENVELOPE * (bark + 0.5 * noise)

    return _events(rng, _onsets(rng, rng.uniform(1.4, 2.2), 0.35), render)


def cat(rng: np.random.Generator) -> np.ndarray:
    def render(rng: np.random.Generator, count: int) -> np.ndarray:
        # The pitch glides from `start` up to `start + rise` and back.
        start, rise = (rng.uniform(low, high, (count, 1)).astype(np.float32) for low, high in ((430, 500), (250, 350)))
        cycles = start * _CAT_TIME + rise * _CAT_SHAPE_PHASE
        return _CAT_SHAPE * _wave(cycles, [1, 0.7, 0.45, 0.3, 0.2], float((start + rise).max(initial=0)))

    return _events(rng, _onsets(rng, rng.uniform(0.55, 0.75), 0.2), render)


def bird(rng: np.random.Generator) -> np.ndarray:
    top = rng.uniform(3000, 4000)
    # A trill of 1/12-s chirps, each sweeping down from `top` at 12 kHz/s; all trills of a clip are alike.
    trill = _BIRD_GATE * _wave(np.float32(top) * _BIRD_TIME - np.float32(12000) * _BIRD_SWEEP_PHASE, [1], top)

    def render(rng: np.random.Generator, count: int) -> np.ndarray:
        return np.broadcast_to(trill, (count, trill.shape[0]))

    return _events(rng, _onsets(rng, rng.uniform(0.9, 1.3), 0.3), render)


def car(rng: np.random.Generator) -> np.ndarray:
    rpm = rng.uniform(35, 55) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * CONTROL_TIME))
    rumble = _lowpass_noise(rng, 0.97)
    engine = _wave(_glide_phase(rpm), [1, 0.8, 0.7, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.08], float(rpm.max()))
    return engine + 3.0 * rumble


def siren(rng: np.random.Generator) -> np.ndarray:
    low, high = rng.uniform(600, 700), rng.uniform(1250, 1400)
    wail = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 0.8) * CONTROL_TIME + rng.uniform(0, 6.3))
    sweep = low + (high - low) * wail
    return _wave(_glide_phase(sweep), [1, 0.35, 0.15], float(sweep.max()))


def mower(rng: np.random.Generator) -> np.ndarray:
    f0 = rng.uniform(105, 140)
    pitch = f0 * (1 + 0.01 * np.sin(2 * np.pi * 0.4 * CONTROL_TIME))
    buzz = _wave(_glide_phase(pitch), [1 / k for k in range(1, 16)], float(pitch.max()))
    flutter = 1 + 0.35 * np.sin(2 * np.pi * rng.uniform(22, 28) * CONTROL_TIME)
    return _upsample(flutter) * buzz + 0.4 * _noise(rng)


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
    """Scale `signal` (float32 `[T]`) to the given root-mean-square level (silent input is returned unchanged)."""
    current = float(np.sqrt(np.dot(signal, signal) / signal.shape[0]))
    return signal if current == 0 else signal * np.float32(rms / current)


def mixture(
    rng: np.random.Generator,
    sources: list[str],
    sounds: Mapping[str, Callable[[np.random.Generator], np.ndarray]] = CLASS_SOUNDS,
) -> np.ndarray:
    """Mix the sounds of `sources` (names in `sounds`: the class sounds, or the held-out
    `synthetic_unseen_audio.UNSEEN_SOUNDS`; gains within +-3 dB), set a random level between -26 and -16 dBFS and
    add white background noise 15-30 dB below it; returns float32 `[80000]` in [-1, 1]."""
    signal = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    for name in sources:
        signal += normalise_rms(sounds[name](rng), 10 ** (rng.uniform(-3, 3) / 20))
    level = 10 ** (rng.uniform(-26, -16) / 20)
    signal = normalise_rms(signal, level)
    signal += _noise(rng) * np.float32(level * 10 ** (-rng.uniform(15, 30) / 20))
    return np.clip(signal, -1.0, 1.0, out=signal)
