"""resampler figure: googlive.audio.Resampler (48 kHz -> 16 kHz, 20 ms frames) against references."""

from __future__ import annotations

import math
import time

import numpy as np
import soxr

from googlive.audio import Resampler
from tests.signals import periodic_noise_spectrum, render_periodic


def _snr_db(ref: np.ndarray, got: np.ndarray) -> float:
    err = got - ref
    p_sig = float(np.mean(ref**2))
    p_err = float(np.mean(err**2))
    return 200.0 if p_err == 0 else 10.0 * math.log10(p_sig / p_err)


def measure(seconds: int = 3, level_db: float = -20.0, timing_frames: int = 2000) -> dict:
    """SNR of the streaming resampler (int16 in, int16 out) against (a) the same band-limited
    signal rendered analytically at 16 kHz and (b) soxr 'VHQ' one-shot in float64 on the same
    int16 input; and the cost per 20 ms frame."""
    spec = periodic_noise_spectrum(7000, seed=11)
    x48 = render_periodic(spec, 48000, seconds, level_db)
    x16 = render_periodic(spec, 16000, seconds, level_db)
    pcm = np.clip(np.rint(x48 * 32768), -32768, 32767).astype(np.int16)
    rs = Resampler(16000)
    out = [rs.process(pcm[i : i + 960], 48000) for i in range(0, pcm.size, 960)]
    out.append(rs.flush())
    y = np.concatenate(out).astype(np.float64) / 32768
    n = min(y.size, x16.size)
    edge = 1600  # skip 0.1 s at each end (filter warm-up / flush)
    analytic = _snr_db(x16[edge : n - edge], y[edge : n - edge])
    vhq = soxr.resample(pcm.astype(np.float64) / 32768, 48000, 16000, quality="VHQ")
    m = min(y.size, vhq.size)
    vs_vhq = _snr_db(vhq[edge : m - edge], y[edge : m - edge])
    # int16 quantisation alone bounds the SNR at this level:
    q_floor = _snr_db(x16, np.rint(x16 * 32768) / 32768)
    # cost: 20 ms int16 frames through one stream
    rs2 = Resampler(16000)
    frames = [pcm[(i * 960) % (pcm.size - 960) :][:960] for i in range(timing_frames)]
    for f in frames[:50]:
        rs2.process(f, 48000)
    t0 = time.perf_counter()
    for f in frames:
        rs2.process(f, 48000)
    us = (time.perf_counter() - t0) / len(frames) * 1e6
    return {
        "snr_db_vs_analytic": round(analytic, 1),
        "snr_db_vs_soxr_vhq": round(vs_vhq, 1),
        "int16_quantisation_snr_db": round(q_floor, 1),
        "signal": f"band-limited noise 20-7000 Hz at {level_db:g} dBFS, int16 in/out",
        "us_per_20ms_frame": round(us, 2),
        "quality": rs.quality,
    }
