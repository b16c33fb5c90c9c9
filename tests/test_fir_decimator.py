"""The mic path's 48 → 16 kHz decimator: steady output per frame and a 3.75 ms delay only."""

from __future__ import annotations

import numpy as np

from googlive.media.audio import FirDecimator, Resampler, lowpass_taps


def test_every_48k_frame_yields_its_share_at_once():
    """After the first frame (which carries the filter's 3.75 ms delay), each 20 ms frame in
    gives exactly 20 ms out: nothing is held back for a block."""
    r = Resampler(16000)
    rng = np.random.default_rng(0)
    sizes = [r.process((rng.normal(0, 3000, 960)).astype(np.int16), 48000).size for _ in range(50)]
    assert sizes[0] == 320 - 60  # 180 input samples of filter delay
    assert set(sizes[1:]) == {320}


def test_output_is_time_aligned_with_the_input():
    """An impulse at input sample 4800 (100 ms) peaks at output sample 1600 (100 ms)."""
    d = FirDecimator(3)
    x = np.zeros(48000)
    x[4800] = 1.0
    y = np.concatenate([d.process(x[i : i + 960]) for i in range(0, x.size, 960)] + [d.flush()])
    assert y.size == 16000
    assert int(np.argmax(np.abs(y))) == 1600


def test_aliasing_is_suppressed():
    """A 10 kHz tone (above the 8 kHz Nyquist of 16 kHz) is attenuated by more than 80 dB."""
    d = FirDecimator(3)
    t = np.arange(48000) / 48000
    x = 0.5 * np.sin(2 * np.pi * 10000 * t)
    y = np.concatenate([d.process(x[i : i + 960]) for i in range(0, x.size, 960)])[500:]
    level = 20 * np.log10(np.sqrt(np.mean(y**2)) / (0.5 / np.sqrt(2)))
    assert level < -80, level


def test_flat_to_7_khz():
    """Fifty tones from 100 Hz to 6.9 kHz come out within -80 dB of the exact 16 kHz signal."""
    rng = np.random.default_rng(3)
    freqs = np.linspace(100, 6900, 50)
    phases = rng.uniform(0, 2 * np.pi, freqs.size)

    def tones(n: int, fs: int) -> np.ndarray:
        t = np.arange(n) / fs
        return 0.01 * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None]).sum(axis=0)

    x = tones(48000 * 2, 48000)
    d = FirDecimator(3)
    y = np.concatenate([d.process(x[i : i + 960]) for i in range(0, x.size, 960)] + [d.flush()])
    ref = tones(y.size, 16000)
    a, b = y[1000:-1000], ref[1000:-1000]
    snr = 10 * np.log10(np.sum(b**2) / np.sum((a - b) ** 2))
    assert snr > 80, snr


def test_taps_are_scipys_firwin():
    """The numpy design is scipy.signal.firwin's (Kaiser window, scaled to unity DC gain)."""
    from scipy import signal

    for n, cutoff, fs in ((361, 7500.0, 48000.0), (241, 7500.0, 32000.0), (31, 1000.0, 8000.0)):
        want = signal.firwin(n, cutoff, window=("kaiser", 9.0), fs=fs)
        np.testing.assert_allclose(lowpass_taps(n, cutoff, fs, 9.0), want, rtol=0, atol=1e-15)
