"""Deterministic synthetic test signals (float64 in [-1, 1]), reusable by tests and benchmarks.

Levels are RMS dBFS (full-scale square wave = 0 dBFS), matching `googlive.media.audio.rms_dbfs`.
Every generator takes a seed where randomness is involved, so results are reproducible.
"""

from __future__ import annotations

import numpy as np

FRAME_MS = 20


def frame_len(rate: int, ms: int = FRAME_MS) -> int:
    """Samples in one frame of `ms` milliseconds at `rate`."""
    return rate * ms // 1000


def frames(x: np.ndarray, n: int) -> list[np.ndarray]:
    """Split `x` into consecutive chunks of `n` samples (the last may be shorter)."""
    return [x[i : i + n] for i in range(0, len(x), n)]


def scale_to_dbfs(x: np.ndarray, level_db: float) -> np.ndarray:
    """`x` scaled so its RMS is `level_db` dBFS (zeros stay zeros)."""
    r = float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0
    if r == 0.0:
        return x.astype(np.float64)
    return x * (10.0 ** (level_db / 20.0) / r)


def sine(freq: float, rate: int, seconds: float, amplitude: float = 0.5, phase: float = 0.0):
    """A sine of `amplitude` peak, sampled at `rate`."""
    t = np.arange(round(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t + phase)


def periodic_noise_spectrum(f_max: int, seed: int, f_min: int = 20) -> np.ndarray:
    """Random complex spectrum on 1 Hz bins f_min..f_max (bin k = k Hz), for `render_periodic`."""
    rng = np.random.default_rng(seed)
    spec = np.zeros(f_max + 1, dtype=np.complex128)
    k = np.arange(f_min, f_max + 1)
    spec[k] = np.exp(2j * np.pi * rng.random(k.size))
    return spec


def render_periodic(spec: np.ndarray, rate: int, seconds: int, level_db: float = -20.0):
    """Render a 1-s-periodic band-limited signal at `rate`: the *same* continuous signal at
    every rate (exact when spec's highest bin is below rate/2), so it is an analytic reference
    for resampling. `seconds` periods; scaled to `level_db`."""
    full = np.zeros(rate // 2 + 1, dtype=np.complex128)
    full[: spec.size] = spec
    one = np.fft.irfft(full, n=rate) * rate
    # scale from the spectrum so every rate gets the same factor
    power = float(np.sum(np.abs(spec[1:]) ** 2)) * 2.0  # mean square of one period
    one *= 10.0 ** (level_db / 20.0) / np.sqrt(power)
    return np.tile(one, seconds)


def _shaped_noise(rate: int, seconds: float, seed: int, exponent: float, hp_hz: float):
    rng = np.random.default_rng(seed)
    n = round(rate * seconds)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / rate)
    shape = np.zeros_like(f)
    ok = f >= hp_hz
    shape[ok] = f[ok] ** (-exponent / 2.0)
    return np.fft.irfft(spec * shape, n=n)


def pink_noise(rate: int, seconds: float, level_db: float = -30.0, seed: int = 1):
    """1/f noise (fan, room tone) above 20 Hz at `level_db`."""
    return scale_to_dbfs(_shaped_noise(rate, seconds, seed, 1.0, 20.0), level_db)


def brown_noise(rate: int, seconds: float, level_db: float = -30.0, seed: int = 2):
    """1/f^2 noise (fan rumble) above 60 Hz (as after a mic's high-pass) at `level_db`."""
    return scale_to_dbfs(_shaped_noise(rate, seconds, seed, 2.0, 60.0), level_db)


def white_noise(rate: int, seconds: float, level_db: float = -60.0, seed: int = 3):
    """White Gaussian noise at `level_db`."""
    rng = np.random.default_rng(seed)
    return scale_to_dbfs(rng.standard_normal(round(rate * seconds)), level_db)


def speech_like(rate: int, seconds: float, level_db: float = -20.0, seed: int = 4):
    """A voiced, speech-like utterance: harmonics of a wandering ~120 Hz pitch with a spectral
    tilt, amplitude-modulated at a ~4 Hz syllable rate (dips to -15 dB, never silent). It
    starts half-way up the first syllable's rise (-8 dB re. the syllable peak) with a 10 ms
    raised-cosine attack at sample 0, and ends with a 10 ms release; RMS is `level_db`."""
    rng = np.random.default_rng(seed)
    n = round(rate * seconds)
    t = np.arange(n) / rate
    f0 = 120.0 + 15.0 * np.sin(2 * np.pi * 0.7 * t + rng.random() * 6.28)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = np.zeros(n)
    for h in range(1, 30):
        if 120.0 * h * 1.2 > rate / 2:
            break
        x += np.sin(h * phase + rng.random() * 6.28) / h
    x += 0.05 * rng.standard_normal(n)
    syll = 4.0 + 0.5 * rng.random()
    env = 0.18 + 0.82 * (0.5 + 0.5 * np.sin(2 * np.pi * syll * t)) ** 2
    ramp = min(n // 2, round(0.010 * rate))
    win = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    env[:ramp] *= win
    env[n - ramp :] *= win[::-1]
    return scale_to_dbfs(x * env, level_db)


def keyboard_clicks(
    rate: int, seconds: float, peak_db: float = -20.0, seed: int = 5, mean_gap_s: float = 0.12
):
    """Typing: 3 ms decaying noise bursts with peak `peak_db` dBFS at random gaps (60 ms to
    2 * mean_gap_s), on silence. Clicks land anywhere, including across frame boundaries."""
    rng = np.random.default_rng(seed)
    n = round(rate * seconds)
    x = np.zeros(n)
    clen = round(0.003 * rate)
    decay = np.exp(-np.arange(clen) / (0.0008 * rate))
    pos = round(0.05 * rate)
    while pos + clen < n:
        burst = rng.standard_normal(clen) * decay
        burst *= 10.0 ** (peak_db / 20.0) / np.max(np.abs(burst))
        x[pos : pos + clen] += burst
        pos += round(rate * rng.uniform(0.06, 2 * mean_gap_s))
    return x


def music(rate: int, seconds: float, level_db: float = -30.0, seed: int = 6):
    """Piano-ish music: a sustained two-note pad plus a new plucked note (harmonic, 30 ms
    attack at most 5 ms, exponential decay) every 150-400 ms; RMS is `level_db`."""
    rng = np.random.default_rng(seed)
    n = round(rate * seconds)
    t = np.arange(n) / rate
    scale = 220.0 * 2.0 ** (np.array([0, 2, 4, 5, 7, 9, 11, 12, 14, 16]) / 12.0)
    x = 0.3 * (np.sin(2 * np.pi * scale[0] * t) + np.sin(2 * np.pi * scale[4] * t))
    pos = 0
    while pos < n:
        f = rng.choice(scale)
        m = n - pos
        tt = np.arange(m) / rate
        note = sum(np.sin(2 * np.pi * f * h * tt) / h**1.5 for h in range(1, 6))
        env = np.exp(-tt / 0.35) * np.minimum(1.0, tt / 0.005)
        x[pos:] += 0.8 * note * env
        pos += round(rate * rng.uniform(0.15, 0.4))
    return scale_to_dbfs(x, level_db)


def place(background: np.ndarray, burst: np.ndarray, at: int) -> np.ndarray:
    """`background` with `burst` added starting at sample `at` (clipped to the end)."""
    out = background.copy()
    m = min(len(burst), len(out) - at)
    out[at : at + m] += burst[:m]
    return out
